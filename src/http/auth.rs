//! Bearer tokens: the `Authorization` scheme is matched without regard to case (RFC 9110
//! §11.1), secrets are compared in constant time, and the token's name becomes the principal.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::config::NamedToken;
use crate::mcp::Principal;

/// Middleware: checks the bearer token and records its name as the request's principal.
pub(super) async fn authenticate(
    State(tokens): State<Arc<Vec<NamedToken>>>,
    mut request: Request,
    next: Next,
) -> Response {
    if tokens.is_empty() {
        request
            .extensions_mut()
            .insert(Principal("anonymous".into()));
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer);
    match presented.and_then(|secret| principal_for(&tokens, secret)) {
        Some(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        None => unauthorized(presented.is_some()),
    }
}

/// The credentials of a `Bearer` (any case) authorization value.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

/// The token whose secret equals `presented`. Every token is compared, each in constant time,
/// so the answer's timing does not reveal how much of a secret matched.
fn principal_for(tokens: &[NamedToken], presented: &str) -> Option<Principal> {
    let mut found = None;
    for token in tokens {
        let is_match: bool = token
            .secret
            .expose()
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into();
        if is_match {
            found = Some(Principal(token.name.clone()));
        }
    }
    found
}

fn unauthorized(had_token: bool) -> Response {
    let (error, message) = if had_token {
        ("invalid_token", "the bearer token is not valid")
    } else {
        (
            "invalid_request",
            "send `Authorization: Bearer <token>`; tokens are configured with FIREBREAK_TOKENS",
        )
    };
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": error, "message": message})),
    )
        .into_response();
    let challenge = format!("Bearer realm=\"firebreak\", error=\"{error}\"");
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
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
}
