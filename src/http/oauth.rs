//! Firebreak as an OAuth 2.1 resource server (MCP authorization, protocol revision 2025-11-25).
//!
//! - [`OAuthConfig`]: which authorization server issues the access tokens, which resource
//!   (this server's `/mcp` URL) they must be minted for, and how their claims become a
//!   [`Grant`](crate::domain::Grant).
//! - [`metadata_router`]: the protected resource metadata (RFC 9728) that tells a client where
//!   to get a token; [`OAuthConfig::metadata_url`] is what the `401` challenge points at.
//! - [`JwtValidator`]: checks a JWT access token against the issuer's published keys (JWKS,
//!   fetched and cached in `jwks`), RS256 and ES256 only.

mod claims;
mod jwks;
#[cfg(test)]
mod test_keys;
mod validator;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use reqwest::Url;
use serde_json::json;

use crate::config::OAuthArgs;
use crate::domain::Scope;

pub use claims::ScopeMap;
pub use validator::{JwtValidator, OAuthRejection};

/// Where the protected resource metadata lives, before the resource's path (RFC 9728 §3.1).
const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// How Firebreak accepts OAuth access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The authorization server's issuer identifier; a token's `iss` must equal it exactly.
    pub issuer: String,
    /// This server's public URL for `/mcp` (e.g. `https://firebreak.example.com/mcp`); a
    /// token's `aud` must contain it (RFC 8707).
    pub resource: String,
    /// Where the issuer publishes its keys; `None` discovers its metadata's `jwks_uri`.
    pub jwks_url: Option<String>,
    /// The authorization servers the metadata names (usually just the issuer).
    pub authorization_servers: Vec<String>,
    /// The claim naming the principal recorded on writes (`sub`, `email`, …); a token
    /// without it is refused.
    pub principal_claim: String,
    /// How the token's scopes become Firebreak's.
    pub scope_map: ScopeMap,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
}

impl OAuthConfig {
    /// Settings for tokens from `issuer` minted for `resource`, with the defaults: keys
    /// discovered from the issuer's metadata, principal from `sub`, scopes named as
    /// Firebreak's, one minute of leeway.
    pub fn new(issuer: impl Into<String>, resource: impl Into<String>) -> OAuthConfig {
        let issuer = issuer.into();
        OAuthConfig {
            authorization_servers: vec![issuer.clone()],
            issuer,
            resource: resource.into(),
            jwks_url: None,
            principal_claim: "sub".into(),
            scope_map: ScopeMap::default(),
            leeway: Duration::from_secs(60),
        }
    }

    /// The settings the `--oauth-*` options ask for: `None` when OAuth is off (no
    /// `--oauth-issuer`), and an error naming the option at fault otherwise.
    pub fn from_args(args: &OAuthArgs) -> Result<Option<OAuthConfig>, String> {
        let Some(issuer) = args.oauth_issuer.as_deref().map(str::trim) else {
            let stray = [
                ("--oauth-resource", args.oauth_resource.is_some()),
                ("--oauth-jwks-url", args.oauth_jwks_url.is_some()),
                (
                    "--oauth-principal-claim",
                    args.oauth_principal_claim.is_some(),
                ),
                ("--oauth-scope-map", !args.oauth_scope_map.is_empty()),
            ];
            if let Some((flag, _)) = stray.iter().find(|(_, is_set)| *is_set) {
                return Err(format!(
                    "{flag} has no effect without --oauth-issuer (FIREBREAK_OAUTH_ISSUER), the \
                     authorization server whose tokens to accept"
                ));
            }
            return Ok(None);
        };
        check_url("--oauth-issuer", issuer)?;
        let Some(resource) = args.oauth_resource.as_deref().map(str::trim) else {
            return Err(
                "--oauth-issuer needs --oauth-resource (FIREBREAK_OAUTH_RESOURCE): this server's \
                 public URL for /mcp, e.g. https://firebreak.example.com/mcp, which tokens must \
                 name in `aud`"
                    .into(),
            );
        };
        check_url("--oauth-resource", resource)?;
        let mut config = OAuthConfig::new(issuer, resource);
        if let Some(jwks_url) = args.oauth_jwks_url.as_deref().map(str::trim) {
            check_url("--oauth-jwks-url", jwks_url)?;
            config.jwks_url = Some(jwks_url.to_owned());
        }
        if let Some(claim) = args.oauth_principal_claim.as_deref().map(str::trim) {
            if claim.is_empty() {
                return Err(
                    "--oauth-principal-claim names no claim: use e.g. sub, email or \
                            preferred_username"
                        .into(),
                );
            }
            config.principal_claim = claim.to_owned();
        }
        config.scope_map = ScopeMap::parse(&args.oauth_scope_map)
            .map_err(|reason| format!("--oauth-scope-map: {reason}"))?;
        Ok(Some(config))
    }

    /// The URL of this resource's metadata, for `WWW-Authenticate: Bearer resource_metadata=…`:
    /// the resource's origin, the well-known path, then the resource's path (RFC 9728 §3.1),
    /// e.g. `https://firebreak.example.com/.well-known/oauth-protected-resource/mcp`.
    pub fn metadata_url(&self) -> String {
        match Url::parse(&self.resource) {
            Ok(url) => {
                let origin = url.origin().ascii_serialization();
                format!("{origin}{METADATA_PATH}{}", resource_path(&url))
            }
            Err(_) => format!("{}{METADATA_PATH}", self.resource.trim_end_matches('/')),
        }
    }

    /// The protected resource metadata document (RFC 9728 §2).
    fn metadata(&self) -> serde_json::Value {
        let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "scopes_supported": scopes,
            "bearer_methods_supported": ["header"],
            "resource_name": "Firebreak",
        })
    }
}

/// `GET /.well-known/oauth-protected-resource`, and the same document at the path-suffixed
/// form for `/mcp` (and for the resource's own path, if another): public, cacheable for an
/// hour, readable from any origin (it holds nothing secret).
pub fn metadata_router(config: Arc<OAuthConfig>) -> Router {
    let mut paths = vec![METADATA_PATH.to_owned(), format!("{METADATA_PATH}/mcp")];
    if let Ok(url) = Url::parse(&config.resource) {
        let own = format!("{METADATA_PATH}{}", resource_path(&url));
        let is_plain = own
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-._~".contains(c));
        if is_plain && !paths.contains(&own) {
            paths.push(own);
        }
    }
    let router = paths.iter().fold(Router::new(), |router, path| {
        router.route(path, get(metadata))
    });
    router.with_state(config)
}

/// The metadata document, with its caching and cross-origin headers.
async fn metadata(State(config): State<Arc<OAuthConfig>>) -> Response {
    let headers = [
        (header::CACHE_CONTROL, "public, max-age=3600"),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    ];
    (headers, axum::Json(config.metadata())).into_response()
}

/// The resource's path without a trailing slash (empty for the origin itself).
fn resource_path(url: &Url) -> &str {
    url.path().trim_end_matches('/')
}

/// Checks a URL option: absolute, `https` (or `http` on a loopback host), no credentials, no
/// fragment.
fn check_url(flag: &str, raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|err| {
        format!(
            "{flag}: `{raw}` is not an absolute URL ({err}); use e.g. https://login.example.com"
        )
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{flag}: the URL must not carry credentials (user:password@)"
        ));
    }
    if url.fragment().is_some() {
        return Err(format!("{flag}: `{raw}` must not have a #fragment"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "{flag}: `{raw}` uses plain http; use https (http is allowed for loopback hosts only)"
        )),
        other => Err(format!("{flag}: `{raw}` uses `{other}`; use an https URL")),
    }
}

/// True when the URL's host is `localhost`, in `127.0.0.0/8` or `::1`.
fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(issuer: Option<&str>, resource: Option<&str>) -> OAuthArgs {
        OAuthArgs {
            oauth_issuer: issuer.map(str::to_owned),
            oauth_resource: resource.map(str::to_owned),
            ..OAuthArgs::default()
        }
    }

    #[test]
    fn the_options_make_a_config_with_defaults() {
        let mut given = args(
            Some("https://login.example.com/realms/ops"),
            Some("https://firebreak.example.com/mcp"),
        );
        given.oauth_scope_map = vec!["firebreak.read=incidents:read".into()];
        given.oauth_principal_claim = Some("email".into());
        let config = OAuthConfig::from_args(&given).unwrap().unwrap();
        assert_eq!(
            config.authorization_servers,
            ["https://login.example.com/realms/ops"]
        );
        assert_eq!(config.principal_claim, "email");
        assert_eq!(config.leeway, Duration::from_secs(60));
        assert_eq!(config.jwks_url, None);
        assert_eq!(OAuthConfig::from_args(&OAuthArgs::default()), Ok(None));
    }

    #[test]
    fn bad_options_are_refused_naming_the_option() {
        let cases = [
            (
                args(Some("https://idp.example.com"), None),
                "--oauth-resource",
            ),
            (
                args(None, Some("https://fb.example.com/mcp")),
                "--oauth-resource has no effect",
            ),
            (
                args(Some("http://idp.example.com"), Some("https://fb/mcp")),
                "plain http",
            ),
            (
                args(Some("https://idp.example.com"), Some("ftp://fb/mcp")),
                "`ftp`",
            ),
            (
                args(Some("idp.example.com"), Some("https://fb/mcp")),
                "--oauth-issuer",
            ),
            (
                args(Some("https://u:p@idp.example.com"), Some("https://fb/mcp")),
                "credentials",
            ),
        ];
        for (given, expected) in cases {
            let err = OAuthConfig::from_args(&given).unwrap_err();
            assert!(err.contains(expected), "{err} should say {expected}");
        }
        let mut unknown = args(Some("https://idp.example.com"), Some("https://fb/mcp"));
        unknown.oauth_scope_map = vec!["fb.write=incidents:delete".into()];
        let err = OAuthConfig::from_args(&unknown).unwrap_err();
        assert!(
            err.starts_with("--oauth-scope-map") && err.contains("`incidents:delete`"),
            "{err}"
        );
        let loopback = args(
            Some("http://127.0.0.1:9000"),
            Some("http://localhost:8787/mcp"),
        );
        assert!(OAuthConfig::from_args(&loopback).unwrap().is_some());
    }

    #[test]
    fn the_metadata_url_inserts_the_well_known_path_before_the_resource_path() {
        let config = OAuthConfig::new("https://idp", "https://fb.example.com:8443/mcp");
        assert_eq!(
            config.metadata_url(),
            "https://fb.example.com:8443/.well-known/oauth-protected-resource/mcp"
        );
        let root = OAuthConfig::new("https://idp", "https://fb.example.com/");
        assert_eq!(
            root.metadata_url(),
            "https://fb.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn the_metadata_names_the_servers_and_every_scope() {
        let document = OAuthConfig::new("https://idp", "https://fb/mcp").metadata();
        assert_eq!(document["resource"], "https://fb/mcp");
        assert_eq!(document["authorization_servers"], json!(["https://idp"]));
        assert_eq!(
            document["scopes_supported"],
            json!(["incidents:read", "incidents:write", "admin"])
        );
        assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    }
}
