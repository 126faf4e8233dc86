//! Fetching remote runbooks over HTTP, from allow-listed hosts only.
//!
//! - The URL's host and port must match an entry of the allow-list (`FIREBREAK_RUNBOOK_HOSTS`):
//!   `host` allows that host on the scheme's default port only (443, or 80 for plain http),
//!   `host:port` that port only; hosts compare without regard to case. No other host or port is
//!   ever contacted, not even through a redirect.
//! - `https` only; plain `http` is accepted for loopback hosts (`localhost`, `127.0.0.0/8`,
//!   `::1`) alone. URLs with credentials are refused.
//! - Redirects are followed by hand, at most [`FetchLimits::max_redirects`] hops, each hop
//!   checked against the same rules. No proxy is used, so the allow-listed host is the peer.
//! - A connect timeout, a total timeout over the whole exchange (redirects and body included),
//!   and a size cap counted while the body streams in, whatever `Content-Length` claims.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{ACCEPT, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION};
use reqwest::{StatusCode, Url, redirect};

/// Longest URL accepted, in bytes.
const URL_MAX_BYTES: usize = 2048;

/// The limits of one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// Longest wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Longest time for the whole fetch, redirects and body included.
    pub total_timeout: Duration,
    /// Largest document, in bytes.
    pub max_bytes: usize,
    /// Most redirects followed.
    pub max_redirects: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            connect_timeout: Duration::from_secs(3),
            total_timeout: Duration::from_secs(10),
            max_bytes: 1024 * 1024,
            max_redirects: 5,
        }
    }
}

/// What we already hold, for a conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` of the cached copy.
    pub etag: Option<String>,
    /// The `Last-Modified` of the cached copy.
    pub last_modified: Option<String>,
}

/// What the host answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The cached copy is still current (HTTP 304).
    NotModified,
    /// A full document.
    Document {
        /// The text.
        markdown: String,
        /// Its `ETag`, if any.
        etag: Option<String>,
        /// Its `Last-Modified`, if any.
        last_modified: Option<String>,
    },
}

/// Why a fetch did not happen or failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is malformed or breaks a rule (scheme, credentials, length).
    #[error("{0}")]
    InvalidUrl(String),
    /// The URL's host is not on the allow-list.
    #[error(
        "host `{host}` is not on the runbook allow-list ({allowed}); ask the operator to add it to FIREBREAK_RUNBOOK_HOSTS"
    )]
    HostNotAllowed {
        /// The refused host.
        host: String,
        /// The allow-list, for the message.
        allowed: String,
    },
    /// A redirect pointed somewhere the rules do not allow.
    #[error("refused a redirect to {to}: {reason}")]
    RedirectRefused {
        /// Where it pointed.
        to: String,
        /// Which rule it broke.
        reason: String,
    },
    /// More redirects than allowed.
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// The host did not answer in time.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed.
    #[error("could not reach the host: {0}")]
    Network(String),
    /// The host answered with an error status.
    #[error("the host answered HTTP {0}")]
    Status(u16),
    /// The document exceeds the size cap.
    #[error("the document is larger than {0} bytes")]
    TooLarge(usize),
    /// The document is not UTF-8 text.
    #[error("the document is not UTF-8 text")]
    NotText,
    /// The document holds a NUL byte, so it is binary, not a runbook (and cannot be stored).
    #[error("the document contains a NUL byte on line {0}: it is not a text runbook")]
    Binary(u64),
}

impl FetchError {
    /// True when the URL itself was refused before any request: the caller must fix it.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            FetchError::InvalidUrl(_) | FetchError::HostNotAllowed { .. }
        )
    }
}

/// Checks allow-list entries (`host`, `host:port`, `[v6]:port`), naming the first that is not one.
pub fn check_allow_list(hosts: &[String]) -> Result<(), String> {
    match hosts.iter().find(|h| AllowedHost::parse(h).is_none()) {
        Some(bad) => Err(format!(
            "`{bad}` is not a host or host:port (e.g. wiki.example.com or 127.0.0.1:8080)"
        )),
        None => Ok(()),
    }
}

/// An HTTP client that only talks to allow-listed hosts.
#[derive(Debug, Clone)]
pub struct RunbookFetcher {
    client: reqwest::Client,
    hosts: Vec<AllowedHost>,
    limits: FetchLimits,
}

/// One allow-list entry: a host, and the one port it may be reached on (`None`: the scheme's
/// default port).
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedHost {
    host: String,
    port: Option<u16>,
}

impl AllowedHost {
    /// Parses `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
    fn parse(entry: &str) -> Option<AllowedHost> {
        let entry = entry.trim();
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            let (host, after) = rest.split_once(']')?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port.parse().ok()?)),
                None if after.is_empty() => (host, None),
                None => return None,
            }
        } else if entry.matches(':').count() > 1 {
            (entry, None) // a bare IPv6 address cannot carry a port
        } else {
            match entry.rsplit_once(':') {
                Some((host, port)) => (host, Some(port.parse().ok()?)),
                None => (entry, None),
            }
        };
        let host = normalize_host(host);
        (!host.is_empty()).then_some(AllowedHost { host, port })
    }

    /// Whether `url` (host normalized) is what this entry allows.
    fn allows(&self, host: &str, url: &Url) -> bool {
        // `Url::port` is `None` when the URL names no port or the scheme's default one.
        self.host == host && self.port == url.port()
    }
}

impl std::fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(port) => write!(f, "{host}:{port}"),
            None => f.write_str(&host),
        }
    }
}

impl RunbookFetcher {
    /// A fetcher for `hosts` (`host` or `host:port` entries; see the module rules) with
    /// `limits`. Entries that cannot be parsed are ignored.
    pub fn new(hosts: &[String], limits: FetchLimits) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .no_proxy()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.total_timeout)
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        let hosts = hosts.iter().filter_map(|h| AllowedHost::parse(h)).collect();
        Ok(RunbookFetcher {
            client,
            hosts,
            limits,
        })
    }

    /// Parses `raw` and checks it against the rules; the fragment is dropped.
    pub fn check_url(&self, raw: &str) -> Result<Url, FetchError> {
        if raw.len() > URL_MAX_BYTES {
            return Err(FetchError::InvalidUrl(format!(
                "is {} bytes; at most {URL_MAX_BYTES} are allowed",
                raw.len()
            )));
        }
        let mut url = Url::parse(raw.trim()).map_err(|err| {
            FetchError::InvalidUrl(format!(
                "`{raw}` is not an absolute URL ({err}); use https://host/path"
            ))
        })?;
        url.set_fragment(None);
        self.allows(&url).map_err(FetchError::InvalidUrl)?;
        let host = url.host_str().map(normalize_host).unwrap_or_default();
        if !self.hosts.iter().any(|allowed| allowed.allows(&host, &url)) {
            let allowed = if self.hosts.is_empty() {
                "the list is empty, so remote runbooks are off".to_owned()
            } else {
                let entries: Vec<String> = self.hosts.iter().map(ToString::to_string).collect();
                format!(
                    "{}; a host without a port allows only the default port",
                    entries.join(", ")
                )
            };
            let host = match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            };
            return Err(FetchError::HostNotAllowed { host, allowed });
        }
        Ok(url)
    }

    /// Fetches `url` (already checked), sending `validators` for a conditional request.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        let limit = self.limits.total_timeout;
        tokio::time::timeout(limit, self.follow(url.clone(), validators))
            .await
            .map_err(|_| FetchError::Timeout(limit))?
    }

    async fn follow(&self, mut url: Url, validators: &Validators) -> Result<Fetched, FetchError> {
        for _hop in 0..=self.limits.max_redirects {
            let mut request = self
                .client
                .get(url.clone())
                .header(ACCEPT, "text/markdown, text/plain;q=0.9, */*;q=0.1");
            if let Some(etag) = &validators.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &validators.last_modified {
                request = request.header(IF_MODIFIED_SINCE, modified);
            }
            let response = request.send().await.map_err(|err| self.network(&err))?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                url = self.redirect_target(&url, &response)?;
                continue;
            }
            if status == StatusCode::NOT_MODIFIED && validators != &Validators::default() {
                return Ok(Fetched::NotModified);
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            return self.read(response).await;
        }
        Err(FetchError::TooManyRedirects(self.limits.max_redirects))
    }

    /// Where a redirect points, if the rules allow going there.
    fn redirect_target(&self, from: &Url, response: &reqwest::Response) -> Result<Url, FetchError> {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| {
                FetchError::Network(format!(
                    "HTTP {} without a usable Location header",
                    response.status().as_u16()
                ))
            })?;
        let refused = |to: String, reason: String| FetchError::RedirectRefused { to, reason };
        let target = from
            .join(location)
            .map_err(|err| refused(location.to_owned(), err.to_string()))?;
        self.check_url(target.as_str())
            .map_err(|err| refused(target.to_string(), err.to_string()))
    }

    /// Reads the body, stopping as soon as it exceeds the size cap.
    async fn read(&self, mut response: reqwest::Response) -> Result<Fetched, FetchError> {
        let max = self.limits.max_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > max as u64)
        {
            return Err(FetchError::TooLarge(max));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header(ETAG);
        let last_modified = header(LAST_MODIFIED);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| self.network(&err))? {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        let markdown = String::from_utf8(body).map_err(|_| FetchError::NotText)?;
        if let Some(at) = markdown.find('\0') {
            let line = markdown[..at].matches('\n').count() as u64 + 1;
            return Err(FetchError::Binary(line));
        }
        Ok(Fetched::Document {
            markdown,
            etag,
            last_modified,
        })
    }

    /// Allows `https`, and `http` for loopback hosts only; refuses credentials in the URL.
    fn allows(&self, url: &Url) -> Result<(), String> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials (user:password@)".to_owned());
        }
        let host = url.host_str().map(normalize_host).unwrap_or_default();
        if host.is_empty() {
            return Err(format!("`{url}` has no host"));
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if is_loopback(&host) => Ok(()),
            "http" => Err(format!(
                "`{url}` uses plain http; use https (http is allowed for loopback hosts only)"
            )),
            other => Err(format!(
                "`{url}` uses `{other}`; only https URLs are fetched"
            )),
        }
    }

    fn network(&self, err: &reqwest::Error) -> FetchError {
        if err.is_timeout() {
            return FetchError::Timeout(self.limits.total_timeout);
        }
        let mut message = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        FetchError::Network(message)
    }
}

/// Lowercase, without IPv6 brackets or a trailing dot.
fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
