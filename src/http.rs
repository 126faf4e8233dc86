//! Streamable HTTP transport: `/mcp` (stateless, so replicas need no sticky sessions, unless
//! `--http-sessions` asks for sessions to deliver live updates) behind
//! bearer tokens, `GET /healthz` (checks the database within a second), Host and Origin
//! allow-lists, limits on connections and on reading requests, and graceful shutdown.

mod auth;
mod body;
pub mod hooks;
pub mod listener;
pub mod oauth;
pub mod status_page;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::NamedToken;
use crate::mcp::{FirebreakServer, Transport};

pub use auth::Authenticator;
pub use body::BodyLimits;
pub use listener::ConnectionLimits;

/// Largest MCP request body.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How the HTTP server is exposed.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to bind.
    pub addr: SocketAddr,
    /// Accepted `Host` values; loopback names and the bound address are always added.
    pub allowed_hosts: Vec<String>,
    /// Accepted browser `Origin` values (`scheme://host:port`, or `:*` for any port); empty
    /// means an Origin must name one of the allowed hosts.
    pub allowed_origins: Vec<String>,
    /// Bearer tokens; empty means no authentication (loopback only).
    pub tokens: Vec<NamedToken>,
    /// Reads only, whatever a credential allows (`serve --read-only`).
    pub read_only: bool,
    /// Tokens made with `firebreak tokens create` (none: only the static ones).
    pub database_tokens: Option<crate::app::tokens::TokenRegistry>,
    /// OAuth 2.1 access tokens from an identity provider (none: OAuth is off).
    pub oauth: Option<oauth::JwtValidator>,
    /// Limits on connections.
    pub connections: ConnectionLimits,
    /// Limits on request bodies.
    pub body: BodyLimits,
    /// The ingestion sources (`/hooks/…`, `/v2/enqueue`); none configured answers 404.
    pub sources: hooks::SourcesHandle,
    /// The public status page (`/status`, `/status.json`, `/status/feed.atom`).
    pub status_page: std::sync::Arc<crate::domain::status_page::PageConfig>,
    /// MCP sessions (`serve --http-sessions`), delivering these changes to the resources a
    /// session subscribes to; `None` serves statelessly (any replica answers any request).
    pub sessions: Option<crate::app::live::LiveUpdates>,
}

impl HttpOptions {
    /// Options for `addr` with the default limits and no tokens.
    pub fn new(addr: SocketAddr) -> Self {
        HttpOptions {
            addr,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            tokens: Vec::new(),
            read_only: false,
            database_tokens: None,
            oauth: None,
            connections: ConnectionLimits {
                max_connections: 1024,
                header_timeout: Duration::from_secs(10),
            },
            body: BodyLimits {
                max_bytes: MAX_BODY_BYTES,
                timeout: Duration::from_secs(10),
            },
            sources: hooks::SourcesHandle::default(),
            status_page: Arc::default(),
            sessions: None,
        }
    }

    /// Refuses to expose an unauthenticated server beyond this machine.
    pub fn check_exposure(&self) -> Result<(), String> {
        if !self.authenticator().requires_credentials() && !self.addr.ip().is_loopback() {
            return Err(format!(
                "refusing to serve {} without credentials: anyone who can reach it could change incidents. \
                 Make a token with `firebreak tokens create NAME --scopes incidents:write`, set FIREBREAK_TOKENS=name:secret[,name:secret...] \
                 (or --tokens-file FILE), configure OAuth (--oauth-issuer), or bind a loopback address such as 127.0.0.1:{}",
                self.addr,
                self.addr.port()
            ));
        }
        Ok(())
    }

    /// What vouches for the credentials of `/mcp` requests.
    pub fn authenticator(&self) -> Authenticator {
        let authenticator = Authenticator::new(
            self.tokens.clone(),
            self.database_tokens.clone(),
            self.read_only,
        );
        match &self.oauth {
            Some(validator) => authenticator.with_oauth(validator.clone()),
            None => authenticator,
        }
    }

    fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        if !self.addr.ip().is_unspecified() {
            hosts.push(self.addr.ip().to_string());
        }
        hosts.extend(self.allowed_hosts.iter().cloned());
        hosts
    }

    /// The Origins accepted: the configured ones, or else pages served from an allowed host
    /// (any port). A request without Origin (every non-browser client) is not checked.
    fn origins(&self) -> Vec<String> {
        if !self.allowed_origins.is_empty() {
            return self.allowed_origins.clone();
        }
        let mut origins = Vec::new();
        for host in self.hosts() {
            let name = origin_host(&host);
            for scheme in ["http", "https"] {
                origins.push(format!("{scheme}://{name}:*"));
            }
        }
        origins
    }
}

/// An allowed `Host` entry (`name`, `name:port`, `[v6]:port` or a bare IPv6 address) as the
/// host part of an origin: without its port, IPv6 in brackets.
fn origin_host(entry: &str) -> String {
    if let Some(rest) = entry.strip_prefix('[') {
        let v6 = rest.split(']').next().unwrap_or(rest);
        return format!("[{v6}]");
    }
    match entry.matches(':').count() {
        0 => entry.to_owned(),
        1 => entry.split(':').next().unwrap_or(entry).to_owned(),
        _ => format!("[{entry}]"),
    }
}

/// The axum router: `/mcp` behind authentication and the body guard; `/healthz` and the
/// status page open.
pub fn router(app: App, options: &HttpOptions) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(options.sessions.is_some())
        .with_json_response(true)
        .with_allowed_hosts(options.hosts())
        .with_allowed_origins(options.origins())
        .enforce_origin_validation()
        .with_max_request_body_bytes(options.body.max_bytes);
    // Stateless mode builds a server per request, sessions one per session: build it once and
    // clone it (the tool router's schemas are generated only here).
    let server = FirebreakServer::new(app.clone(), Transport::Http);
    let mcp = match &options.sessions {
        None => {
            let serving = server.clone();
            Router::new().nest_service(
                "/mcp",
                StreamableHttpService::new(
                    move || Ok(serving.clone()),
                    Arc::new(NeverSessionManager::default()),
                    config,
                ),
            )
        }
        Some(live) => {
            let serving = server.clone().with_live_updates(live.clone());
            // Sessions hold an open stream (GET /mcp): end them at shutdown, or the graceful
            // drain would wait for them.
            let config = config.with_cancellation_token(live.stopped().child_token());
            Router::new().nest_service(
                "/mcp",
                StreamableHttpService::new(
                    move || Ok(serving.for_new_session()),
                    Arc::new(LocalSessionManager::default()),
                    config,
                ),
            )
        }
    };
    let authenticator = options.authenticator();
    let gate = auth::ScopeGate {
        server,
        authenticator: authenticator.clone(),
    };
    // Layers run outside in: authentication first (an unauthenticated body is never read),
    // then the body guard, then the scope gate, then rmcp.
    let mcp = mcp
        .layer(middleware::from_fn_with_state(gate, auth::scope_gate))
        .layer(middleware::from_fn_with_state(options.body, body::guard))
        .layer(middleware::from_fn_with_state(
            authenticator,
            auth::authenticate,
        ));
    let hooks = hooks::router(app.clone(), options.sources.clone(), options.body.timeout);
    // The status page is public: it sits outside the authentication layer.
    let status_page =
        status_page::router(app.clone(), options.status_page.clone(), options.hosts());
    let mcp = match &options.oauth {
        // The metadata is public: it tells a client where to get a token.
        Some(validator) => mcp.merge(oauth::metadata_router(Arc::new(validator.config().clone()))),
        None => mcp,
    };
    mcp.merge(hooks)
        .merge(status_page)
        .route("/healthz", get(health).with_state(app))
}

/// Serves until `shutdown` fires, then lets calls in flight finish.
pub async fn serve(
    app: App,
    options: HttpOptions,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    options.check_exposure().map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(
        address = %local,
        max_connections = options.connections.max_connections,
        "serving MCP over Streamable HTTP at /mcp"
    );
    listener::serve(
        listener,
        router(app, &options),
        options.connections,
        shutdown,
    )
    .await;
    Ok(())
}

/// `GET /healthz`: 200 when the database answers within a second, 503 otherwise; with a read
/// replica, also its lag.
async fn health(State(app): State<App>) -> Response {
    match app.check_health().await {
        Ok(()) => {
            let mut body = json!({"status": "ok"});
            if let Some(replica) = app.read_replica() {
                // A stale replica does not make the server unhealthy: the primary answers.
                let status = replica.status();
                body["read_replica"] = json!({
                    "lag_ms": status.lag.map(|lag| lag.as_millis() as u64),
                    "max_lag_ms": status.max_lag.as_millis() as u64,
                    "in_use": status.in_use,
                });
            }
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            let body = json!({"status": "unavailable", "error": err.code()});
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}
