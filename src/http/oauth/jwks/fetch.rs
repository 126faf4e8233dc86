//! Fetching the issuer's metadata and keys: `https` only (plain `http` on loopback), no
//! redirects, no proxy, [`FETCH_TIMEOUT`] for the whole exchange, at most
//! [`MAX_DOCUMENT_BYTES`] counted while the body streams in.

use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, HeaderMap};
use reqwest::{Url, redirect};
use serde::Deserialize;

/// Largest JWKS or metadata document, in bytes.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Longest wait for one document, connecting included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// An HTTP client held to the limits.
pub(super) struct Fetcher {
    client: reqwest::Client,
}

impl Fetcher {
    /// A client that follows no redirect and uses no proxy.
    pub(super) fn new() -> Result<Fetcher, String> {
        let client = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .no_proxy()
            .connect_timeout(FETCH_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|err| format!("cannot build the HTTP client for the JWKS: {err}"))?;
        Ok(Fetcher { client })
    }

    /// The `jwks_uri` of the first metadata document `issuer` publishes.
    pub(super) async fn discover(&self, issuer: &str) -> Result<Url, String> {
        let mut failures = Vec::new();
        for candidate in metadata_urls(issuer)? {
            let found = self
                .get(&candidate)
                .await
                .and_then(|(body, _)| jwks_uri(&body, issuer));
            match found {
                Ok(url) => return Ok(url),
                Err(reason) => failures.push(format!("{candidate}: {reason}")),
            }
        }
        Err(format!(
            "no metadata of `{issuer}` names its keys ({})",
            failures.join("; ")
        ))
    }

    /// GETs a JSON document within the limits: its body and `Cache-Control: max-age`.
    pub(super) async fn get(&self, url: &Url) -> Result<(Vec<u8>, Option<Duration>), String> {
        let exchange = async {
            let mut response = self
                .client
                .get(url.clone())
                .header(ACCEPT, "application/json")
                .send()
                .await
                .map_err(|err| describe(&err))?;
            let status = response.status();
            if status.is_redirection() {
                return Err(format!(
                    "answered HTTP {}; redirects are not followed",
                    status.as_u16()
                ));
            }
            if !status.is_success() {
                return Err(format!("answered HTTP {}", status.as_u16()));
            }
            let too_large = || format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes");
            if response
                .content_length()
                .is_some_and(|len| len > MAX_DOCUMENT_BYTES as u64)
            {
                return Err(too_large());
            }
            let max_age = max_age(response.headers());
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|err| describe(&err))? {
                if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok((body, max_age))
        };
        tokio::time::timeout(FETCH_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no complete answer within {FETCH_TIMEOUT:?}"))?
    }
}

/// Where `issuer`'s metadata may be: RFC 8414 (well-known path before the issuer's path, then
/// after it), then OIDC discovery (the same two forms).
fn metadata_urls(issuer: &str) -> Result<Vec<Url>, String> {
    let base = Url::parse(issuer).map_err(|err| format!("`{issuer}` is not a URL: {err}"))?;
    let origin = base.origin().ascii_serialization();
    let path = base.path().trim_end_matches('/');
    let mut urls: Vec<Url> = Vec::new();
    for name in ["oauth-authorization-server", "openid-configuration"] {
        for raw in [
            format!("{origin}/.well-known/{name}{path}"),
            format!("{origin}{path}/.well-known/{name}"),
        ] {
            let url = Url::parse(&raw).map_err(|err| format!("`{raw}`: {err}"))?;
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
    }
    Ok(urls)
}

/// The `jwks_uri` of a metadata document, which must name `issuer` as its issuer.
fn jwks_uri(body: &[u8], issuer: &str) -> Result<Url, String> {
    #[derive(Deserialize)]
    struct Metadata {
        issuer: Option<String>,
        jwks_uri: Option<String>,
    }
    let metadata: Metadata =
        serde_json::from_slice(body).map_err(|err| format!("not a metadata document: {err}"))?;
    if metadata.issuer.as_deref() != Some(issuer) {
        let named = metadata.issuer.unwrap_or_default();
        return Err(format!("names issuer `{named}`, not `{issuer}`"));
    }
    let raw = metadata.jwks_uri.ok_or("has no `jwks_uri`")?;
    super::super::check_url("jwks_uri", &raw)
}

/// The `max-age` of a `Cache-Control` header; `no-cache` and `no-store` count as zero.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(CACHE_CONTROL)?.to_str().ok()?;
    let mut age = None;
    for directive in value.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-cache" || directive == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            age = seconds
                .trim_matches('"')
                .parse()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age
}

/// A reqwest error with its causes, for the log.
fn describe(err: &reqwest::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_looked_for_before_and_after_the_issuer_path() {
        let urls: Vec<String> = metadata_urls("https://idp.example.com/realms/ops/")
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            urls,
            [
                "https://idp.example.com/.well-known/oauth-authorization-server/realms/ops",
                "https://idp.example.com/realms/ops/.well-known/oauth-authorization-server",
                "https://idp.example.com/.well-known/openid-configuration/realms/ops",
                "https://idp.example.com/realms/ops/.well-known/openid-configuration",
            ]
        );
        assert_eq!(metadata_urls("https://idp.example.com").unwrap().len(), 2);
    }

    #[test]
    fn the_metadata_must_name_the_issuer_and_an_https_jwks_uri() {
        let good = br#"{"issuer": "https://idp", "jwks_uri": "https://idp/keys"}"#;
        assert_eq!(
            jwks_uri(good, "https://idp").unwrap().as_str(),
            "https://idp/keys"
        );
        assert!(
            jwks_uri(good, "https://other")
                .unwrap_err()
                .contains("names issuer")
        );
        let plain = br#"{"issuer": "https://idp", "jwks_uri": "http://idp/keys"}"#;
        assert!(
            jwks_uri(plain, "https://idp")
                .unwrap_err()
                .contains("plain http")
        );
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        let mut headers = HeaderMap::new();
        assert_eq!(max_age(&headers), None);
        headers.insert(CACHE_CONTROL, "public, max-age=3600".parse().unwrap());
        assert_eq!(max_age(&headers), Some(Duration::from_secs(3600)));
        headers.insert(CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(max_age(&headers), Some(Duration::ZERO));
    }
}
