//! The `firebreak` server under test, as child processes: `firebreak serve` over stdio and
//! `firebreak serve --http` with a bearer token, each driven by a real rmcp client; and the
//! server's memory, read from `/proc/<pid>/status`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use crate::measure::Caller;
use crate::workload::{Observed, Op};

/// A connected MCP client.
pub(crate) type Client = RunningService<RoleClient, ClientConfig>;

/// How long a child may take to answer its first request.
const PATIENCE: Duration = Duration::from_secs(60);
/// The principal the HTTP token names.
const TOKEN_NAME: &str = "bench";

/// The identity the benchmark announces.
fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("firebreak-bench", env!("CARGO_PKG_VERSION")),
    )
}

/// Settings every server child gets (`--server-db-pooler`), set once at start.
static SERVER_ENV: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();

/// Gives every server started from now on these environment variables.
pub(crate) fn set_server_env(envs: Vec<(String, String)>) {
    let _ = SERVER_ENV.set(envs);
}

/// `firebreak serve …` on `database_url`, with no inherited Firebreak settings (every variable
/// its command line reads is cleared, then the bench's own server settings applied) and the
/// product's default log filter.
pub(crate) fn command(firebreak: &Path, database_url: &str) -> Command {
    let mut command = Command::new(firebreak);
    for var in firebreak::config::environment_variables() {
        command.env_remove(var);
    }
    command
        .envs(SERVER_ENV.get().into_iter().flatten().map(|(k, v)| (k, v)))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("FIREBREAK_PRINCIPAL", TOKEN_NAME)
        .kill_on_drop(true);
    command
}

/// The server's stderr: a log file next to the report.
pub(crate) fn log_file(log: &Path) -> anyhow::Result<Stdio> {
    let file = std::fs::File::create(log)
        .with_context(|| format!("creating the server log {}", log.display()))?;
    Ok(Stdio::from(file))
}

/// Starts `firebreak serve` (stdio) and connects a client; returns it with the server's pid.
pub(crate) async fn stdio(
    firebreak: &Path,
    database_url: &str,
    log: &Path,
) -> anyhow::Result<(Client, u32)> {
    let (transport, _) = TokioChildProcess::builder(command(firebreak, database_url))
        .stderr(log_file(log)?)
        .spawn()
        .context("spawning firebreak serve")?;
    let pid = transport.id().context("the stdio server has no pid")?;
    let client = tokio::time::timeout(PATIENCE, client_config().serve(transport))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "no MCP handshake within {PATIENCE:?}; see {}",
                log.display()
            )
        })?
        .with_context(|| format!("MCP handshake over stdio; see {}", log.display()))?;
    Ok((client, pid))
}

/// A `firebreak serve --http` child.
pub(crate) struct HttpServer {
    child: Child,
    pub(crate) pid: u32,
    pub(crate) port: u16,
    pub(crate) url: String,
    pub(crate) token: String,
    log: PathBuf,
}

impl HttpServer {
    /// Starts the server on a free loopback port with one bearer token and waits for `/healthz`.
    pub(crate) async fn start(
        firebreak: &Path,
        database_url: &str,
        log: &Path,
    ) -> anyhow::Result<HttpServer> {
        HttpServer::start_with(firebreak, database_url, log, &[], &[]).await
    }

    /// The same, with more arguments to `serve` and more environment variables (the alert
    /// storm's `--alerting FILE` and the variable holding its source's secret).
    pub(crate) async fn start_with(
        firebreak: &Path,
        database_url: &str,
        log: &Path,
        args: &[&std::ffi::OsStr],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<HttpServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        HttpServer::start_on(firebreak, database_url, log, port, token(), args, envs).await
    }

    /// The same on `port` with the bearer `token` (replicas behind one load balancer share
    /// one token).
    pub(crate) async fn start_on(
        firebreak: &Path,
        database_url: &str,
        log: &Path,
        port: u16,
        token: String,
        args: &[&std::ffi::OsStr],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<HttpServer> {
        let mut command = command(firebreak, database_url);
        command
            .args(["--http", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(envs.iter().copied())
            .stderr(log_file(log)?)
            .env("FIREBREAK_TOKENS", format!("{TOKEN_NAME}:{token}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let child = command.spawn().context("spawning firebreak serve --http")?;
        let pid = child.id().context("the HTTP server has no pid")?;
        let mut server = HttpServer {
            child,
            pid,
            port,
            url: format!("http://127.0.0.1:{port}/mcp"),
            token,
            log: log.to_owned(),
        };
        server.wait_until_healthy(port).await?;
        Ok(server)
    }

    async fn wait_until_healthy(&mut self, port: u16) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the HTTP server exited ({status}); see {}",
                    self.log.display()
                );
            }
            let health = http
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "/healthz did not answer within {PATIENCE:?}; see {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new client with its own HTTP connection pool.
    pub(crate) async fn client(&self) -> anyhow::Result<Client> {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(self.url.clone())
                .auth_header(self.token.clone()),
        );
        client_config()
            .serve(transport)
            .await
            .with_context(|| format!("MCP handshake over HTTP; see {}", self.log.display()))
    }

    /// SIGTERM, then wait for a clean exit.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid)?);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        let status = tokio::time::timeout(Duration::from_secs(40), self.child.wait()).await??;
        if !status.success() {
            bail!(
                "the HTTP server exited with {status}; see {}",
                self.log.display()
            );
        }
        Ok(())
    }
}

/// A bearer secret that differs per run (it only has to be long enough for the server).
pub(crate) fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("bench{nanos:x}{:x}", std::process::id())
}

/// A process's resident memory now and at its peak, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    pub(crate) rss_kib: u64,
    pub(crate) hwm_kib: u64,
}

/// Reads `VmRSS` and `VmHWM` from `/proc/<pid>/status`.
pub(crate) fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or_default()
    };
    Ok(Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    })
}

/// Calls through an MCP client: the arguments are built before the clock starts; the timed
/// part is the request, the server's work and the parsed response.
pub(crate) struct McpCaller<'a>(pub(crate) &'a Client);

impl Caller for McpCaller<'_> {
    type Prepared = CallToolRequestParams;

    fn prepare(&self, op: &Op) -> CallToolRequestParams {
        let arguments = match op.arguments() {
            Value::Object(arguments) => arguments,
            _ => serde_json::Map::new(),
        };
        CallToolRequestParams::new(op.tool_name()).with_arguments(arguments)
    }

    async fn call(&self, request: CallToolRequestParams) -> Result<Observed, String> {
        let result = self
            .0
            .call_tool(request)
            .await
            .map_err(|err| format!("protocol error: {err}"))?;
        if result.is_error == Some(true) {
            let text = result
                .content
                .iter()
                .find_map(|c| c.as_text().map(|t| t.text.clone()))
                .unwrap_or_default();
            return Err(format!("tool error: {text}"));
        }
        let content = result
            .structured_content
            .ok_or_else(|| "no structured content".to_owned())?;
        Ok(Observed {
            version: content["version"].as_i64(),
            status: content["status"].as_str().map(str::to_owned),
        })
    }
}

/// How often the server's `VmRSS` is read during a concurrent run.
const RSS_INTERVAL: Duration = Duration::from_millis(50);

/// KiB to MiB, one decimal.
pub(crate) fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

/// The largest `VmRSS` of `pid` until `stop` (0 without a server).
pub(crate) async fn sample_rss(pid: Option<u32>, stop: CancellationToken) -> u64 {
    let mut max = 0;
    loop {
        if let Some(memory) = pid.and_then(|pid| memory(pid).ok()) {
            max = max.max(memory.rss_kib);
        }
        tokio::select! {
            () = stop.cancelled() => return max,
            () = tokio::time::sleep(RSS_INTERVAL) => {}
        }
    }
}
