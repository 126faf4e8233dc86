//! Who a request to `/mcp` is, and whether it may do what it asks.
//!
//! [`authenticate`] turns the bearer credential into a [`Grant`]: a static token from
//! `FIREBREAK_TOKENS` (secrets compared in constant time), a token made with `firebreak tokens
//! create`, or an OAuth access token; `--read-only` then narrows every grant to reads. The
//! `Authorization` scheme is matched without regard to case (RFC 9110 §11.1).
//!
//! [`scope_gate`] reads what the JSON-RPC request asks for and answers `403` with
//! `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (MCP authorization,
//! 2025-11-25) when the grant lacks the scope. The MCP server checks every call again, so the
//! gate is the HTTP form of a refusal, not the only boundary.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::app::tokens::TokenRegistry;
use crate::config::NamedToken;
use crate::domain::{AuthMethod, Grant, MissingScope, Scopes};
use crate::http::oauth::JwtValidator;
use crate::mcp::FirebreakServer;

/// Everything that can vouch for a bearer credential, shared by every request.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Credentials>,
}

/// The credentials a server accepts.
struct Credentials {
    static_tokens: Vec<NamedToken>,
    /// Tokens made with `firebreak tokens create`, kept current by their registry.
    database: Option<TokenRegistry>,
    read_only: bool,
    /// OAuth access tokens (JWTs), when an issuer is configured.
    oauth: Option<JwtValidator>,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A credential that nothing vouches for; the text says why, without echoing it.
    Invalid(String),
}

impl Authenticator {
    /// Accepts `static_tokens` (and, once added, database tokens and OAuth access tokens);
    /// `read_only` narrows every grant to reads.
    pub fn new(
        static_tokens: Vec<NamedToken>,
        database: Option<TokenRegistry>,
        read_only: bool,
    ) -> Self {
        Authenticator {
            inner: Arc::new(Credentials {
                static_tokens,
                database,
                read_only,
                oauth: None,
            }),
        }
    }

    /// Also accepts OAuth access tokens (JWTs) that `validator` vouches for.
    pub fn with_oauth(self, validator: JwtValidator) -> Self {
        let credentials = Credentials {
            static_tokens: self.inner.static_tokens.clone(),
            database: self.inner.database.clone(),
            read_only: self.inner.read_only,
            oauth: Some(validator),
        };
        Authenticator {
            inner: Arc::new(credentials),
        }
    }

    /// True when some credential is configured, so requests without one are refused; with
    /// none (a loopback server for one user), every request is `anonymous` with every scope.
    /// Making the first database token ends anonymous access on every replica.
    pub fn requires_credentials(&self) -> bool {
        !self.inner.static_tokens.is_empty()
            || self.inner.oauth.is_some()
            || self
                .inner
                .database
                .as_ref()
                .is_some_and(TokenRegistry::requires_credentials)
    }

    /// The grant for a request carrying `presented` (the bearer credential, if any).
    pub async fn grant_for(&self, presented: Option<&str>) -> Result<Grant, Refusal> {
        let read_only = self.inner.read_only;
        if !self.requires_credentials() {
            let anonymous = Grant {
                principal: "anonymous".into(),
                scopes: Scopes::ALL,
                method: AuthMethod::Anonymous,
            };
            return Ok(anonymous.limited(read_only));
        }
        let presented = presented.ok_or(Refusal::Missing)?;
        if let Some(grant) = static_grant(&self.inner.static_tokens, presented) {
            return Ok(grant.limited(read_only));
        }
        if let Some(grant) = self
            .inner
            .database
            .as_ref()
            .and_then(|db| db.grant_for(presented, chrono::Utc::now()))
        {
            return Ok(grant.limited(read_only));
        }
        if let Some(oauth) = &self.inner.oauth
            && JwtValidator::is_jwt_shaped(presented)
        {
            return match oauth.validate(presented).await {
                Ok(grant) => Ok(grant.limited(read_only)),
                Err(rejection) => {
                    tracing::debug!(%rejection, "refused an OAuth access token");
                    Err(Refusal::Invalid(rejection.description()))
                }
            };
        }
        Err(Refusal::Invalid("the bearer token is not valid".into()))
    }

    /// The `WWW-Authenticate` challenge's extra parameters (the OAuth resource metadata URL,
    /// when OAuth is configured).
    fn challenge_extras(&self) -> String {
        match &self.inner.oauth {
            Some(oauth) => format!(
                ", resource_metadata=\"{}\"",
                quoted(&oauth.config().metadata_url())
            ),
            None => String::new(),
        }
    }
}

/// Middleware: turns the bearer credential into the request's [`Grant`], or answers 401.
pub(super) async fn authenticate(
    State(authenticator): State<Authenticator>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer)
        .map(str::to_owned);
    match authenticator.grant_for(presented.as_deref()).await {
        Ok(grant) => {
            request.extensions_mut().insert(grant);
            next.run(request).await
        }
        Err(refusal) => unauthorized(&refusal, &authenticator.challenge_extras()),
    }
}

/// What the scope gate needs: the MCP server (to know which tools write) and the challenge's
/// extra parameters.
#[derive(Clone)]
pub(super) struct ScopeGate {
    pub(super) server: FirebreakServer,
    pub(super) authenticator: Authenticator,
}

/// The parts of a JSON-RPC request that decide the scope it needs.
#[derive(Deserialize)]
struct RequestHead {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Option<Value>,
}

/// Middleware (inside the body guard, so the body is whole and bounded): answers `403
/// insufficient_scope` to a request whose grant lacks the scope it needs.
pub(super) async fn scope_gate(
    State(gate): State<ScopeGate>,
    request: Request,
    next: Next,
) -> Response {
    let Some(grant) = request.extensions().get::<Grant>().cloned() else {
        return next.run(request).await;
    };
    if grant.scopes == Scopes::ALL {
        return next.run(request).await; // nothing to refuse: skip reading the body again
    }
    let (parts, body) = request.into_parts();
    let Ok(collected) = body.collect().await else {
        return next.run(Request::from_parts(parts, Body::empty())).await;
    };
    let bytes = collected.to_bytes();
    if let Ok(head) = serde_json::from_slice::<RequestHead>(&bytes)
        && let Some(method) = head.method.as_deref()
        && let Some(missing) = gate
            .server
            .missing_scope(&grant, method, head.params.as_ref())
    {
        let client = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|ua| ua.to_str().ok());
        gate.server
            .audit_refusal(&grant, client, method, head.params.as_ref());
        return forbidden(&head.id, &missing, &gate.authenticator.challenge_extras());
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The credentials of a `Bearer` (any case) authorization value.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

/// The static token whose secret equals `presented`. Every token is compared, each in constant
/// time, so the answer's timing does not reveal how much of a secret matched.
fn static_grant(tokens: &[NamedToken], presented: &str) -> Option<Grant> {
    let mut found = None;
    for token in tokens {
        let is_match: bool = token
            .secret
            .expose()
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into();
        if is_match {
            found = Some(Grant {
                principal: token.name.clone(),
                scopes: token.scopes,
                method: AuthMethod::StaticToken,
            });
        }
    }
    found
}

/// `401` with a `WWW-Authenticate` challenge (RFC 6750 §3).
fn unauthorized(refusal: &Refusal, extras: &str) -> Response {
    let (error, message) = match refusal {
        Refusal::Invalid(why) => ("invalid_token", why.as_str()),
        Refusal::Missing => (
            "invalid_request",
            "send `Authorization: Bearer <token>`; make one with `firebreak tokens create NAME --scopes incidents:read`",
        ),
    };
    let body = json!({"error": error, "message": message});
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    // RFC 6750 §3.1: a request that carried no credential gets a challenge without an error.
    let challenge = match refusal {
        Refusal::Missing => format!("Bearer realm=\"firebreak\"{extras}"),
        Refusal::Invalid(_) => format!(
            "Bearer realm=\"firebreak\", error=\"{error}\", error_description=\"{}\"{extras}",
            quoted(message)
        ),
    };
    set_challenge(&mut response, &challenge);
    response
}

/// `403 insufficient_scope`: a JSON-RPC error naming the scope, and the challenge a client
/// that can step up (OAuth) acts on.
fn forbidden(id: &Value, missing: &MissingScope, extras: &str) -> Response {
    let message = format!("insufficient_scope: {missing}");
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": -32003,
            "message": message,
            "data": {"error": {"code": "insufficient_scope", "needed_scope": missing.needed.as_str()}},
        },
    });
    let mut response = (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    let challenge = format!(
        "Bearer realm=\"firebreak\", error=\"insufficient_scope\", scope=\"{}\"{extras}",
        missing.needed
    );
    set_challenge(&mut response, &challenge);
    response
}

fn set_challenge(response: &mut Response, challenge: &str) {
    if let Ok(value) = HeaderValue::from_str(challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
}

/// `text` made safe inside a quoted-string: no quotes, backslashes or control characters.
fn quoted(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control() && c.is_ascii())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_matched_in_any_case() {
        for value in ["Bearer abc", "bearer abc", "BEARER  abc ", " Bearer abc"] {
            assert_eq!(bearer(value), Some("abc"), "{value:?}");
        }
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearerabc"), None);
    }

    #[test]
    fn a_quoted_string_cannot_be_broken_out_of() {
        assert_eq!(quoted("a \"b\" \\ c\n"), "a b  c");
    }
}
