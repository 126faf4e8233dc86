//! Streamable HTTP transport: `/mcp` (stateless, so replicas need no sticky sessions),
//! `GET /healthz` (checks the database), bearer tokens compared in constant time, Host and
//! Origin allow-lists, TCP_NODELAY and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::NamedToken;
use crate::mcp::{FirebreakServer, Principal, Transport};

/// How the HTTP server is exposed.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to bind.
    pub addr: SocketAddr,
    /// Accepted `Host` values; loopback names and the bound address are always added.
    pub allowed_hosts: Vec<String>,
    /// Accepted browser `Origin` values; empty means requests with an Origin are not checked.
    pub allowed_origins: Vec<String>,
    /// Bearer tokens; empty means no authentication (loopback only).
    pub tokens: Vec<NamedToken>,
}

impl HttpOptions {
    /// Refuses to expose an unauthenticated server beyond this machine.
    pub fn check_exposure(&self) -> Result<(), String> {
        if self.tokens.is_empty() && !self.addr.ip().is_loopback() {
            return Err(format!(
                "refusing to serve {} without bearer tokens: anyone who can reach it could change incidents. \
                 Set FIREBREAK_TOKENS=name:secret[,name:secret...] (or --tokens-file FILE), or bind a loopback address such as 127.0.0.1:{}",
                self.addr,
                self.addr.port()
            ));
        }
        Ok(())
    }

    fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        if !self.addr.ip().is_unspecified() {
            hosts.push(self.addr.ip().to_string());
        }
        hosts.extend(self.allowed_hosts.iter().cloned());
        hosts
    }
}

/// The axum router: `/mcp` behind authentication, `/healthz` open.
pub fn router(app: App, options: &HttpOptions) -> Router {
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(options.hosts());
    if !options.allowed_origins.is_empty() {
        config = config.with_allowed_origins(options.allowed_origins.clone());
    }
    // Stateless mode builds a server per request: build it once and clone it (the tool
    // router's schemas are generated only here).
    let server = FirebreakServer::new(app.clone(), Transport::Http);
    let mcp = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let tokens = Arc::new(options.tokens.clone());
    Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(tokens, authenticate))
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
    // Without TCP_NODELAY, small responses wait ~40 ms for delayed ACKs.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(error = %err, "could not set TCP_NODELAY");
        }
    });
    tracing::info!(address = %local, "serving MCP over Streamable HTTP at /mcp");
    axum::serve(listener, router(app, &options))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// Checks the bearer token and records its name as the request's principal.
async fn authenticate(
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
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    match presented.and_then(|secret| principal_for(&tokens, secret)) {
        Some(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        None => unauthorized(presented.is_some()),
    }
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

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn health(State(app): State<App>) -> Response {
    match app.check_health().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            let body = json!({"status": "unavailable", "error": err.code()});
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}
