//! The public status page: `GET /status` (HTML), `GET /status.json` (shaped like Statuspage's
//! summary) and `GET /status/feed.atom`. Open to anyone, without a bearer token, but behind the
//! same `Host` allow-list as `/mcp`, a token bucket per client (429 with `Retry-After` when it
//! is empty) and a cache of a few seconds, so a crowd of visitors during an outage costs the
//! database one read per [`CACHE_FOR`]. One request at a time reads the database, for at most
//! [`READ_TIMEOUT`]; meanwhile (and when the read fails or is slow) the last page read is served
//! (it says when it was last updated). Only the very first visitors wait for a read.

mod rate_limit;
mod render;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::App;
use crate::domain::status_page::{Page, PageConfig};

use rate_limit::{Client, RateLimiter};
use render::Templates;

/// How long a page read from the database is served before it is read again (also the
/// answers' `max-age`).
pub const CACHE_FOR: Duration = Duration::from_secs(5);
/// Requests a client may make at once.
pub const BURST: u32 = 120;
/// Requests a client regains per second.
pub const REFILL_PER_SECOND: f64 = 2.0;
/// Longest a read of the page may take; then the last page is served (or a 503).
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Most renderings kept per read of the page (by format and host).
const MAX_RENDERED: usize = 16;

/// The routes, for `app`'s updates and `config`'s components, answering only requests whose
/// `Host` is one of `hosts` (as `/mcp` does).
pub(super) fn router(app: App, config: Arc<PageConfig>, hosts: Vec<String>) -> Router {
    let state = StatusPage(Arc::new(Inner {
        app,
        config,
        hosts,
        limiter: RateLimiter::new(BURST, REFILL_PER_SECOND),
        templates: Templates::new(),
        cache: Mutex::new(Cached::default()),
        refresh: Arc::new(tokio::sync::Mutex::new(())),
    }));
    Router::new()
        .route("/status", get(html))
        .route("/status.json", get(json))
        .route("/status/feed.atom", get(atom))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

#[derive(Clone)]
struct StatusPage(Arc<Inner>);

struct Inner {
    app: App,
    config: Arc<PageConfig>,
    hosts: Vec<String>,
    limiter: RateLimiter,
    templates: Templates,
    /// The last read (held only to copy or replace it, never across an await).
    cache: Mutex<Cached>,
    /// Held by the one request (or background task) reading the database.
    refresh: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct Cached {
    snapshot: Option<Arc<Snapshot>>,
    /// When the database was last read (or tried).
    read_at: Option<Instant>,
}

/// One read of the page and its renderings, made on first demand.
struct Snapshot {
    page: Page,
    /// Rendered bodies, oldest first: at most [`MAX_RENDERED`].
    rendered: Mutex<VecDeque<Rendered>>,
}

/// One rendering of a snapshot.
struct Rendered {
    format: Format,
    /// The host it was rendered for (normalised, without port; empty with a public URL).
    host: String,
    /// The origin its links use.
    origin: String,
    body: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Format {
    Html,
    Json,
    Atom,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Json => "application/json",
            Format::Atom => "application/atom+xml",
        }
    }
}

/// Middleware: the `Host` check, then the client's token bucket.
async fn guard(State(state): State<StatusPage>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    if !host.is_some_and(|host| host_is_allowed(host, &state.0.hosts)) {
        return plain(
            StatusCode::FORBIDDEN,
            "Forbidden: Host header is not allowed",
        );
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Err(wait) = state.0.limiter.take(Client::of(peer), Instant::now()) {
        let seconds = wait.as_secs_f64().ceil().max(1.0);
        let mut response = plain(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many requests: retry in {seconds} s"),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds as u64));
        return response;
    }
    next.run(request).await
}

async fn html(State(state): State<StatusPage>, headers: HeaderMap) -> Response {
    state.answer(Format::Html, &headers).await
}

async fn json(State(state): State<StatusPage>, headers: HeaderMap) -> Response {
    state.answer(Format::Json, &headers).await
}

async fn atom(State(state): State<StatusPage>, headers: HeaderMap) -> Response {
    state.answer(Format::Atom, &headers).await
}

impl StatusPage {
    async fn answer(&self, format: Format, headers: &HeaderMap) -> Response {
        let Some(snapshot) = self.snapshot().await else {
            let mut response = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "The status page is unavailable for a moment; retry shortly",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(CACHE_FOR.as_secs()));
            return response;
        };
        let (host, origin) = self.origin(headers);
        let cached = snapshot
            .rendered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|r| r.format == format && r.host == host && r.origin == origin)
            .map(|r| r.body.clone());
        let body = match cached {
            Some(body) => body,
            None => match self.render(&snapshot.page, format, &origin) {
                Ok(body) => {
                    let body = Bytes::from(body);
                    let mut rendered = snapshot.rendered.lock().unwrap_or_else(|e| e.into_inner());
                    // One rendering per format and host: another port replaces it.
                    rendered.retain(|r| !(r.format == format && r.host == host));
                    while rendered.len() >= MAX_RENDERED {
                        rendered.pop_front();
                    }
                    rendered.push_back(Rendered {
                        format,
                        host,
                        origin,
                        body: body.clone(),
                    });
                    body
                }
                Err(err) => {
                    tracing::error!(error = %err, "status page did not render");
                    return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error");
                }
            },
        };
        respond(format, body)
    }

    fn render(&self, page: &Page, format: Format, base: &str) -> Result<String, String> {
        let templates = &self.0.templates;
        match format {
            Format::Html => templates.html(page).map_err(|e| format!("{e:#}")),
            Format::Atom => templates.atom(page, base).map_err(|e| format!("{e:#}")),
            Format::Json => {
                serde_json::to_string(&render::json(page, base)).map_err(|e| e.to_string())
            }
        }
    }

    /// The page to serve: the last one read, reading it again (once, in the background) when it
    /// is older than [`CACHE_FOR`]. Only when no page was ever read do requests wait for a read.
    /// `None` when none could be read.
    async fn snapshot(&self) -> Option<Arc<Snapshot>> {
        let (current, fresh) = self.cached();
        if fresh {
            return current;
        }
        match self.0.refresh.clone().try_lock_owned() {
            Ok(guard) => {
                // A read may have ended between the look and the lock.
                let (current, fresh) = self.cached();
                if fresh {
                    return current;
                }
                if current.is_some() {
                    let page = self.clone();
                    tokio::spawn(async move {
                        let _reading = guard;
                        page.read().await;
                    });
                    return current;
                }
                let _reading = guard;
                self.read().await
            }
            // Another request is reading: serve the last page, or wait for the first one.
            Err(_) if current.is_some() => current,
            Err(_) => {
                let _waited = self.0.refresh.lock().await;
                self.cached().0
            }
        }
    }

    /// The last page read, and whether the database was read (or tried) less than
    /// [`CACHE_FOR`] ago (a database that is down is not asked again on every request).
    fn cached(&self) -> (Option<Arc<Snapshot>>, bool) {
        let cached = self.0.cache.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = cached.read_at.is_some_and(|at| at.elapsed() < CACHE_FOR);
        (cached.snapshot.clone(), fresh)
    }

    /// Reads the page from the database (for at most [`READ_TIMEOUT`]) and keeps it; the last
    /// page read when that fails.
    async fn read(&self) -> Option<Arc<Snapshot>> {
        let read = tokio::time::timeout(READ_TIMEOUT, self.0.app.status_page(&self.0.config)).await;
        let mut cached = self.0.cache.lock().unwrap_or_else(|e| e.into_inner());
        cached.read_at = Some(Instant::now());
        match read {
            Ok(Ok(page)) => {
                cached.snapshot = Some(Arc::new(Snapshot {
                    page,
                    rendered: Mutex::new(VecDeque::new()),
                }));
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "status page: the updates could not be read; serving the last page read");
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = READ_TIMEOUT.as_millis() as u64,
                    "status page: reading the updates took too long; serving the last page read"
                );
            }
        }
        cached.snapshot.clone()
    }

    /// The request's host and the page's origin (see [`origin_of`]).
    fn origin(&self, headers: &HeaderMap) -> (String, String) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        origin_of(self.0.config.public_url.as_deref(), host)
    }
}

/// The request's host (normalised: lower case, without port; empty when a public URL is
/// configured), which renderings are kept by, and the page's origin for absolute links: the
/// configured public URL, or the request's host and port.
fn origin_of(public_url: Option<&str>, host: Option<&str>) -> (String, String) {
    if let Some(url) = public_url {
        return (String::new(), url.trim_end_matches('/').to_owned());
    }
    let (host, port) = host
        .and_then(authority)
        .unwrap_or_else(|| ("localhost".to_owned(), None));
    let name = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let origin = match port {
        Some(port) => format!("http://{name}:{port}"),
        None => format!("http://{name}"),
    };
    (host, origin)
}

fn respond(format: Format, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={}", CACHE_FOR.as_secs())) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if format == Format::Html {
        // No scripts at all; the page's only style is inline.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                 form-action 'none'; frame-ancestors 'none'",
            ),
        );
    }
    response
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut response = (status, text.to_owned()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether a `Host` value names an allowed host (an allowed entry without a port allows any
/// port), compared as rmcp compares them for `/mcp`.
fn host_is_allowed(host: &str, allowed: &[String]) -> bool {
    let Some(host) = authority(host) else {
        return false;
    };
    allowed
        .iter()
        .filter_map(|entry| authority(entry))
        .any(|entry| entry.0 == host.0 && entry.1.is_none_or(|port| host.1 == Some(port)))
}

/// A host (lower case, without IPv6 brackets) and its port, if any.
fn authority(text: &str) -> Option<(String, Option<u16>)> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let (host, port) = match text.parse::<http::uri::Authority>() {
        Ok(authority) => (authority.host().to_owned(), authority.port_u16()),
        Err(_) => (text.to_owned(), None),
    };
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    Some((host, port))
}

#[cfg(test)]
mod tests;
