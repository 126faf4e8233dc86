//! The issuer's signing keys (its JWKS), fetched and cached.
//!
//! - Where: the configured URL, or the `jwks_uri` of the issuer's metadata (RFC 8414, then
//!   OIDC discovery), whose `issuer` must be the configured one.
//! - How: within the limits of [`fetch`] (https, no redirects, 5 s, 256 KiB).
//! - Kept: RSA keys for RS256 and P-256 keys for ES256, by `kid`, for 10 minutes or the
//!   answer's `Cache-Control: max-age` held within [1 min, 24 h]. An aged set keeps serving
//!   while it is fetched again in the background, so a token whose key is held never waits
//!   on the network. A token naming an unknown key fetches again, at most once per 30 s (5 s
//!   after a failure); a failed fetch keeps the keys held: stale is better than down.

mod fetch;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Url;
use serde::Deserialize;

use fetch::Fetcher;

/// How long keys are kept and how often they may be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timing {
    /// How long a set is fresh when its answer gives no `max-age`.
    pub(super) default_ttl: Duration,
    /// The shortest freshness a `max-age` may ask for.
    pub(super) min_ttl: Duration,
    /// The longest freshness a `max-age` may ask for.
    pub(super) max_ttl: Duration,
    /// Shortest time between two fetches after one that worked.
    pub(super) refetch_interval: Duration,
    /// Shortest time between two fetches after one that failed.
    pub(super) retry_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            default_ttl: Duration::from_secs(600),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            refetch_interval: Duration::from_secs(30),
            retry_interval: Duration::from_secs(5),
        }
    }
}

/// A key tokens may be verified with, and the one algorithm it serves.
pub(super) struct VerifyingKey {
    /// RS256 for an RSA key, ES256 for a P-256 key.
    pub(super) algorithm: Algorithm,
    /// The public key.
    pub(super) key: DecodingKey,
}

/// Why no key verifies a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyError {
    /// The keys are known, and none is the one the token names.
    Unknown,
    /// The token's `kid` names a key of another type than its `alg`.
    AlgorithmMismatch,
    /// No keys could be fetched yet.
    Unavailable,
}

/// A key and its `kid`, if it has one.
type NamedKey = (Option<String>, Arc<VerifyingKey>);

/// The keys one fetch brought, and until when they are fresh.
struct KeySet {
    keys: Vec<NamedKey>,
    fresh_until: Instant,
}

impl KeySet {
    /// The key named `kid` for `algorithm`; without a `kid`, the only key for `algorithm`.
    fn find(&self, kid: Option<&str>, algorithm: Algorithm) -> Result<Arc<VerifyingKey>, KeyError> {
        let Some(kid) = kid else {
            let mut fitting = self.keys.iter().filter(|(_, k)| k.algorithm == algorithm);
            return match (fitting.next(), fitting.next()) {
                (Some((_, key)), None) => Ok(key.clone()),
                _ => Err(KeyError::Unknown),
            };
        };
        let mut named = self
            .keys
            .iter()
            .filter(|(id, _)| id.as_deref() == Some(kid));
        let first = named.next().ok_or(KeyError::Unknown)?;
        std::iter::once(first)
            .chain(named)
            .find(|(_, key)| key.algorithm == algorithm)
            .map(|(_, key)| key.clone())
            .ok_or(KeyError::AlgorithmMismatch)
    }
}

/// What is held: the keys, and when the last fetch ended and whether it worked.
#[derive(Default)]
struct State {
    keys: Option<KeySet>,
    last_fetch: Option<(Instant, bool)>,
}

/// Where the keys are published.
enum Source {
    /// Configured.
    Url(Url),
    /// The `jwks_uri` of this issuer's metadata.
    Issuer(String),
}

/// The issuer's keys: a cache shared by every request.
pub(super) struct Jwks {
    source: Source,
    fetcher: Fetcher,
    timing: Timing,
    state: RwLock<State>,
    /// Held while fetching, so concurrent requests fetch once; holds the discovered JWKS URL.
    fetching: tokio::sync::Mutex<Option<Url>>,
    is_refreshing: AtomicBool,
}

impl Jwks {
    /// Keys from `jwks_url`, or else discovered from `issuer`'s metadata; nothing is fetched yet.
    pub(super) fn new(
        issuer: &str,
        jwks_url: Option<&str>,
        timing: Timing,
    ) -> Result<Jwks, String> {
        let source = match jwks_url {
            Some(url) => Source::Url(super::check_url("--oauth-jwks-url", url)?),
            None => Source::Issuer(issuer.to_owned()),
        };
        Ok(Jwks {
            source,
            fetcher: Fetcher::new()?,
            timing,
            state: RwLock::default(),
            fetching: tokio::sync::Mutex::new(None),
            is_refreshing: AtomicBool::new(false),
        })
    }

    /// The key that verifies a token naming `kid` and `algorithm`: from the cache when it is
    /// there, else after fetching the keys again (if allowed yet).
    pub(super) async fn key(
        self: &Arc<Self>,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<Arc<VerifyingKey>, KeyError> {
        match self.lookup(kid, algorithm) {
            (Ok(key), is_stale) => {
                if is_stale {
                    self.refresh_in_background();
                }
                return Ok(key);
            }
            (Err(KeyError::AlgorithmMismatch), _) => return Err(KeyError::AlgorithmMismatch),
            (Err(_), _) => {}
        }
        self.refresh().await;
        self.lookup(kid, algorithm).0
    }

    /// Fetches the keys in the background unless they are held or a fetch is under way.
    pub(super) fn prefetch(self: &Arc<Self>) {
        if self.read().keys.is_none() {
            self.refresh_in_background();
        }
    }

    /// The cached key, and whether the set has aged past its freshness.
    fn lookup(
        &self,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> (Result<Arc<VerifyingKey>, KeyError>, bool) {
        match &self.read().keys {
            None => (Err(KeyError::Unavailable), true),
            Some(set) => (set.find(kid, algorithm), set.fresh_until <= Instant::now()),
        }
    }

    fn refresh_in_background(self: &Arc<Self>) {
        if !self.may_fetch(Instant::now()) || self.is_refreshing.swap(true, Ordering::SeqCst) {
            return;
        }
        let jwks = self.clone();
        tokio::spawn(async move {
            jwks.refresh().await;
            jwks.is_refreshing.store(false, Ordering::SeqCst);
        });
    }

    /// Fetches the keys again unless a fetch ended too recently (or while this one waited its
    /// turn); a failure keeps the keys held.
    async fn refresh(&self) {
        let requested = Instant::now();
        let mut discovered = self.fetching.lock().await;
        if !self.may_fetch(requested) {
            return;
        }
        let fetched = self.fetch(&mut discovered).await;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.last_fetch = Some((Instant::now(), fetched.is_ok()));
        match fetched {
            Ok(set) => {
                tracing::debug!(keys = set.keys.len(), "fetched the OAuth issuer's keys");
                state.keys = Some(set);
            }
            Err(reason) => {
                let is_holding = state.keys.is_some();
                tracing::warn!(%reason, keeping_old_keys = is_holding, "cannot fetch the OAuth issuer's keys");
            }
        }
    }

    /// Whether a fetch asked for at `requested` should go ahead.
    fn may_fetch(&self, requested: Instant) -> bool {
        match self.read().last_fetch {
            None => true,
            Some((ended, _)) if ended >= requested => false, // its answer is what we would get
            Some((ended, worked)) => {
                let wait = if worked {
                    self.timing.refetch_interval
                } else {
                    self.timing.retry_interval
                };
                ended.elapsed() >= wait
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    async fn fetch(&self, discovered: &mut Option<Url>) -> Result<KeySet, String> {
        let url = match (&self.source, discovered.as_ref()) {
            (Source::Url(url), _) | (Source::Issuer(_), Some(url)) => url.clone(),
            (Source::Issuer(issuer), None) => {
                let url = self.fetcher.discover(issuer).await?;
                *discovered = Some(url.clone());
                url
            }
        };
        let (body, max_age) = self.fetcher.get(&url).await?;
        let keys = parse_keys(&body).map_err(|reason| format!("{url}: {reason}"))?;
        if keys.is_empty() {
            return Err(format!(
                "{url} holds no RS256 (RSA) or ES256 (P-256) signing key"
            ));
        }
        let ttl = max_age.map_or(self.timing.default_ttl, |age| {
            age.clamp(self.timing.min_ttl, self.timing.max_ttl)
        });
        Ok(KeySet {
            keys,
            fresh_until: Instant::now() + ttl,
        })
    }
}

/// The verification keys of a JWKS document; keys of other types, uses or algorithms (and
/// malformed ones) are skipped.
fn parse_keys(body: &[u8]) -> Result<Vec<NamedKey>, String> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document =
        serde_json::from_slice(body).map_err(|err| format!("not a JSON key set: {err}"))?;
    let keys = document
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter_map(|jwk| {
            let key = verifying_key(&jwk)?;
            Some((jwk.common.key_id, Arc::new(key)))
        })
        .collect();
    Ok(keys)
}

/// The key `jwk` stands for, if it is a signature key for RS256 or ES256.
fn verifying_key(jwk: &Jwk) -> Option<VerifyingKey> {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    if let Some(operations) = &jwk.common.key_operations
        && !operations.contains(&KeyOperations::Verify)
    {
        return None;
    }
    let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
            if ec.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        _ => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerifyingKey { algorithm, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rs256_and_es256_signature_keys_are_kept() {
        let document = serde_json::json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "enc", "use": "enc"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "ps", "alg": "PS256"},
            {"kty": "EC", "crv": "P-384", "x": "AQAB", "y": "AQAB", "kid": "p384"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa"},
            {"kty": "EC", "crv": "P-256", "x": "AQAB", "y": "AQAB", "kid": "ec", "alg": "ES256"},
            {"kty": "unknown"}, 42,
        ]});
        let keys = parse_keys(document.to_string().as_bytes()).unwrap();
        let kept: Vec<(Option<&str>, Algorithm)> = keys
            .iter()
            .map(|(kid, key)| (kid.as_deref(), key.algorithm))
            .collect();
        assert_eq!(
            kept,
            [
                (Some("rsa"), Algorithm::RS256),
                (Some("ec"), Algorithm::ES256)
            ]
        );
    }
}
