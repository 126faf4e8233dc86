//! Checking an OAuth access token (a JWT): its header (RS256 or ES256, never `none` or HMAC),
//! its signature against the issuer's keys, its claims (`iss` exactly, `aud` naming this
//! resource, `exp` and `nbf` within the leeway), then what it grants: the principal from the
//! configured claim and the scopes mapped to Firebreak's.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::OAuthConfig;
use super::claims;
use super::jwks::{Jwks, KeyError, Timing};
use crate::domain::{AuthMethod, Grant, Scopes};

/// Longest token looked at, in bytes.
const TOKEN_MAX_BYTES: usize = 16 * 1024;

/// Why an access token was refused. The text suits an `error_description`: it never quotes
/// the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthRejection {
    /// Not three base64url parts with a JSON header, or a claim of the wrong type.
    #[error("the bearer token is not a well-formed JWT: {0}")]
    Malformed(String),
    /// `exp` has passed, leeway included.
    #[error("the access token has expired; get a new one from the authorization server")]
    Expired,
    /// `nbf` is still ahead, leeway included.
    #[error("the access token is not valid yet (its nbf is in the future)")]
    NotYetValid,
    /// `aud` does not name this resource: the token was minted for another server.
    #[error("the access token was issued for another resource; request one for {expected}")]
    WrongAudience {
        /// This resource.
        expected: String,
    },
    /// `iss` is not the configured issuer.
    #[error("the access token was not issued by {expected}")]
    WrongIssuer {
        /// The configured issuer.
        expected: String,
    },
    /// The signature does not verify with the key the token names.
    #[error("the access token's signature does not verify")]
    BadSignature,
    /// The token names a key the issuer does not publish (or names none, and several fit).
    #[error("the access token is signed with a key the authorization server does not publish")]
    UnknownKey,
    /// An algorithm other than RS256 and ES256.
    #[error("the access token is signed with {0}; only RS256 and ES256 are accepted")]
    UnsupportedAlgorithm(String),
    /// The header's `alg` does not fit the type of the key it names.
    #[error("the access token's alg does not match the type of the key it names")]
    AlgorithmMismatch,
    /// A claim that must be there is not (`exp`).
    #[error("the access token has no `{0}` claim")]
    MissingClaim(String),
    /// The configured principal claim is absent or not a usable string.
    #[error("the access token has no usable `{0}` claim to name its principal")]
    MissingPrincipal(String),
    /// No scope of the token maps to a Firebreak scope.
    #[error(
        "the access token grants no Firebreak scope; request incidents:read, incidents:write or admin"
    )]
    NoFirebreakScope,
    /// The issuer's keys have never been fetched.
    #[error("the authorization server's keys cannot be fetched right now; try again shortly")]
    JwksUnavailable,
}

impl OAuthRejection {
    /// The text for `WWW-Authenticate: Bearer error="invalid_token", error_description="…"`.
    pub fn description(&self) -> String {
        self.to_string()
    }
}

/// Validates OAuth access tokens; cheap to clone (the key cache is shared).
#[derive(Clone)]
pub struct JwtValidator {
    inner: Arc<Inner>,
}

struct Inner {
    config: OAuthConfig,
    jwks: Arc<Jwks>,
    rs256: Validation,
    es256: Validation,
}

impl fmt::Debug for JwtValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtValidator")
            .field("issuer", &self.inner.config.issuer)
            .field("resource", &self.inner.config.resource)
            .finish_non_exhaustive()
    }
}

impl JwtValidator {
    /// A validator for `config`. The keys are fetched in the background and on first need,
    /// so an authorization server that is down at start only delays OAuth requests; the error
    /// is a configuration that cannot work (a malformed JWKS URL).
    pub async fn new(config: OAuthConfig) -> Result<JwtValidator, String> {
        let validator = JwtValidator::with_timing(config, Timing::default())?;
        validator.inner.jwks.prefetch();
        Ok(validator)
    }

    /// A validator with its own cache timings, fetching nothing until asked.
    pub(super) fn with_timing(config: OAuthConfig, timing: Timing) -> Result<JwtValidator, String> {
        let jwks = Jwks::new(&config.issuer, config.jwks_url.as_deref(), timing)?;
        let validation = |algorithm| {
            let mut validation = Validation::new(algorithm);
            validation.leeway = config.leeway.as_secs();
            validation.validate_nbf = true;
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            validation.set_issuer(&[&config.issuer]);
            // The resource with or without a trailing slash is the same resource.
            let bare = config.resource.trim_end_matches('/');
            validation.set_audience(&[bare.to_owned(), format!("{bare}/")]);
            validation
        };
        let (rs256, es256) = (validation(Algorithm::RS256), validation(Algorithm::ES256));
        Ok(JwtValidator {
            inner: Arc::new(Inner {
                config,
                jwks: Arc::new(jwks),
                rs256,
                es256,
            }),
        })
    }

    /// The settings this validator enforces.
    pub fn config(&self) -> &OAuthConfig {
        &self.inner.config
    }

    /// True when `token` has the shape of a JWT: three base64url parts, the first two
    /// non-empty. Other bearer credentials (Firebreak's own tokens) never have it.
    pub fn is_jwt_shaped(token: &str) -> bool {
        let parts: Vec<&str> = token.split('.').collect();
        let is_base64url = |part: &&str| {
            part.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        parts.len() == 3
            && !parts[0].is_empty()
            && !parts[1].is_empty()
            && parts.iter().all(is_base64url)
    }

    /// The grant `token` carries, or why it is refused. Touches the network only when the
    /// token names a key not held yet.
    pub async fn validate(&self, token: &str) -> Result<Grant, OAuthRejection> {
        let config = &self.inner.config;
        let (algorithm, kid) = header(token)?;
        let key = self
            .inner
            .jwks
            .key(kid.as_deref(), algorithm)
            .await
            .map_err(|err| match err {
                KeyError::Unknown => OAuthRejection::UnknownKey,
                KeyError::AlgorithmMismatch => OAuthRejection::AlgorithmMismatch,
                KeyError::Unavailable => OAuthRejection::JwksUnavailable,
            })?;
        let validation = match key.algorithm {
            Algorithm::ES256 => &self.inner.es256,
            _ => &self.inner.rs256,
        };
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, validation)
            .map_err(|err| self.rejection(err.kind()))?
            .claims;
        let principal = claims::principal(&claims, &config.principal_claim)
            .ok_or_else(|| OAuthRejection::MissingPrincipal(config.principal_claim.clone()))?;
        let scopes = config.scope_map.map(claims::scope_names(&claims));
        if scopes == Scopes::NONE {
            return Err(OAuthRejection::NoFirebreakScope);
        }
        Ok(Grant {
            principal,
            scopes,
            method: AuthMethod::OAuth,
        })
    }

    /// What a failure of `jsonwebtoken::decode` means for the client.
    fn rejection(&self, kind: &ErrorKind) -> OAuthRejection {
        let config = &self.inner.config;
        let wrong_audience = || OAuthRejection::WrongAudience {
            expected: config.resource.clone(),
        };
        let wrong_issuer = || OAuthRejection::WrongIssuer {
            expected: config.issuer.clone(),
        };
        match kind {
            ErrorKind::ExpiredSignature => OAuthRejection::Expired,
            ErrorKind::ImmatureSignature => OAuthRejection::NotYetValid,
            ErrorKind::InvalidAudience => wrong_audience(),
            ErrorKind::InvalidIssuer => wrong_issuer(),
            ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
                "aud" => wrong_audience(),
                "iss" => wrong_issuer(),
                other => OAuthRejection::MissingClaim(other.to_owned()),
            },
            ErrorKind::InvalidClaimFormat(claim) => {
                OAuthRejection::Malformed(format!("its `{claim}` claim has the wrong type"))
            }
            ErrorKind::InvalidAlgorithm => OAuthRejection::AlgorithmMismatch,
            ErrorKind::InvalidToken
            | ErrorKind::Base64(_)
            | ErrorKind::Json(_)
            | ErrorKind::Utf8(_) => {
                OAuthRejection::Malformed("its parts are not base64url JSON".into())
            }
            _ => OAuthRejection::BadSignature,
        }
    }
}

/// The header's algorithm (RS256 or ES256) and `kid`, read before anything is verified.
fn header(token: &str) -> Result<(Algorithm, Option<String>), OAuthRejection> {
    #[derive(Deserialize)]
    struct Head {
        alg: Option<String>,
        kid: Option<String>,
    }
    let malformed = |why: &str| OAuthRejection::Malformed(why.to_owned());
    if token.len() > TOKEN_MAX_BYTES {
        return Err(malformed("it is longer than 16 KiB"));
    }
    if !JwtValidator::is_jwt_shaped(token) {
        return Err(malformed("it is not three base64url parts"));
    }
    let encoded = token.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| malformed("its header is not base64url"))?;
    let head: Head =
        serde_json::from_slice(&bytes).map_err(|_| malformed("its header is not a JWT header"))?;
    let algorithm = match head.alg.as_deref() {
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        Some(other) => return Err(OAuthRejection::UnsupportedAlgorithm(shown_alg(other))),
        None => return Err(malformed("its header has no alg")),
    };
    Ok((algorithm, head.kid))
}

/// An algorithm name as it may appear in a message: `none`, `HS256`; anything longer or
/// stranger is not repeated.
fn shown_alg(alg: &str) -> String {
    let is_plain = alg.len() <= 16 && alg.bytes().all(|b| b.is_ascii_alphanumeric());
    if is_plain {
        format!("`{alg}`")
    } else {
        "an unknown algorithm".to_owned()
    }
}

#[cfg(test)]
mod tests;
