//! The real `firebreak` binary as a child process: a clean environment, its stderr captured for
//! failure messages, stdio and HTTP servers, a private embedded cluster, and raw JSON-RPC.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use crate::support::{Client, TestDb, client_config};

/// Generous bound for anything a child process must do (the first embedded start runs initdb).
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);
/// The bearer token HTTP children accept, and its name.
pub(crate) const TOKEN: &str = "0123456789abcdef0123";
pub(crate) const TOKEN_NAME: &str = "ops-bot";

/// `firebreak` with a clean environment: no inherited Firebreak settings, killed when dropped.
pub(crate) fn firebreak() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_firebreak"));
    for var in firebreak::config::environment_variables() {
        command.env_remove(var);
    }
    command.stdin(Stdio::null()).kill_on_drop(true);
    command
}

/// Everything a child wrote to stderr so far, shown when a test fails.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<String>>);

impl Captured {
    /// Collects `stream` in the background (so the child never blocks on a full pipe).
    pub(crate) fn collect(stream: impl AsyncRead + Unpin + Send + 'static) -> Captured {
        let captured = Captured::default();
        let sink = captured.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut text = sink.0.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        captured
    }

    /// What was captured so far.
    pub(crate) fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

/// Spawns a stdio server child through rmcp and connects a client to it.
pub(crate) async fn stdio_client(command: Command) -> (Client, Captured) {
    let (transport, stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn firebreak serve");
    let stderr = Captured::collect(stderr.expect("piped stderr"));
    let client = handshake(client_config().serve(transport), &stderr).await;
    (client, stderr)
}

/// Completes a client handshake with a child server, failing after `PATIENCE`.
pub(crate) async fn handshake<E: std::fmt::Display>(
    serving: impl Future<Output = Result<Client, E>>,
    stderr: &Captured,
) -> Client {
    let Ok(handshake) = tokio::time::timeout(PATIENCE, serving).await else {
        panic!(
            "no handshake within {PATIENCE:?}; stderr:\n{}",
            stderr.text()
        );
    };
    handshake.unwrap_or_else(|err| panic!("handshake failed: {err}; stderr:\n{}", stderr.text()))
}

/// Waits for `child` to exit, failing after `limit`.
pub(crate) async fn exit_within(
    child: &mut Child,
    limit: Duration,
    stderr: &Captured,
) -> ExitStatus {
    tokio::time::timeout(limit, child.wait())
        .await
        .unwrap_or_else(|_| panic!("still running after {limit:?}; stderr:\n{}", stderr.text()))
        .expect("wait for child")
}

/// A port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// An HTTP server child and how to reach it.
pub(crate) struct HttpServer {
    pub(crate) child: Child,
    pub(crate) stderr: Captured,
    pub(crate) base: String,
    pub(crate) port: u16,
}

impl HttpServer {
    /// `firebreak serve --http` on `db`, accepting [`TOKEN`].
    pub(crate) async fn start(db: &TestDb) -> HttpServer {
        HttpServer::start_with(&db.url(), |_| {}).await
    }

    /// `firebreak serve --http` on the database at `url`, accepting [`TOKEN`], with `configure`
    /// applied to the command (more arguments, environment) before it starts.
    pub(crate) async fn start_with(url: &str, configure: impl FnOnce(&mut Command)) -> HttpServer {
        HttpServer::start_on(url, free_port(), configure).await
    }

    /// The same on `port` (a replica restarted behind a load balancer keeps its port).
    pub(crate) async fn start_on(
        url: &str,
        port: u16,
        configure: impl FnOnce(&mut Command),
    ) -> HttpServer {
        let mut command = firebreak();
        command
            .args(["serve", "--http", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", url)
            .env("FIREBREAK_TOKENS", format!("{TOKEN_NAME}:{TOKEN}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        configure(&mut command);
        let mut child = command.spawn().expect("spawn firebreak serve --http");
        let stderr = Captured::collect(child.stderr.take().unwrap());
        let mut server = HttpServer {
            child,
            stderr,
            base: format!("http://127.0.0.1:{port}"),
            port,
        };
        server.wait_until_healthy().await;
        server
    }

    /// Polls `/healthz` until it answers 200.
    pub(crate) async fn wait_until_healthy(&mut self) {
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the server exited ({status}); stderr:\n{}",
                    self.stderr.text()
                );
            }
            let response = http.get(format!("{}/healthz", self.base)).send().await;
            if response.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "/healthz did not answer 200 within 30 s; stderr:\n{}",
                self.stderr.text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The MCP endpoint.
    pub(crate) fn mcp(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// An rmcp client with [`TOKEN`].
    pub(crate) async fn client(&self) -> Client {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(self.mcp()).auth_header(TOKEN),
        );
        handshake(client_config().serve(transport), &self.stderr).await
    }
}

/// A JSON-RPC request as a client that is not rmcp would send it: POST with the token, JSON
/// accepted and sent.
pub(crate) fn raw_post(http: &reqwest::Client, url: &str, body: String) -> reqwest::RequestBuilder {
    http.post(url)
        .bearer_auth(TOKEN)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        )
        .body(body)
}

/// A stateless `tools/call` over raw HTTP (protocol 2025-11-25 headers), answered as JSON.
pub(crate) async fn raw_tool_call(
    http: &reqwest::Client,
    url: &str,
    tool: &str,
    arguments: Value,
) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}});
    let response = raw_post(http, url, body.to_string())
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .expect("send");
    response.json().await.expect("a JSON answer")
}

/// An `initialize` request line for a raw stdio client named `client`.
pub(crate) fn initialize_line(client: &str) -> String {
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": client, "version": "1"}}});
    format!("{initialize}\n")
}

/// A fresh data directory whose cluster is stopped when the test ends, even on failure.
pub(crate) struct EmbeddedDir {
    pub(crate) data_dir: PathBuf,
    _root: tempfile::TempDir,
}

impl EmbeddedDir {
    /// A new, empty data directory (the cluster is created on first use).
    pub(crate) fn new() -> EmbeddedDir {
        use std::os::unix::fs::PermissionsExt;
        // Short (the socket path is limited) and enterable by `postgres`, which runs the
        // cluster when we are root.
        let root = tempfile::Builder::new()
            .prefix("fb")
            .tempdir_in(std::env::temp_dir())
            .unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        EmbeddedDir {
            data_dir: root.path().join("pg"),
            _root: root,
        }
    }

    /// `firebreak --data-dir DIR ...` without `DATABASE_URL`.
    pub(crate) fn command(&self) -> Command {
        firebreak().configure(|c| {
            c.env_remove("DATABASE_URL")
                .arg("--data-dir")
                .arg(&self.data_dir);
        })
    }

    /// A stdio server on this cluster, with `principal`.
    pub(crate) async fn stdio_client(&self, principal: &str) -> (Client, Captured) {
        let command = self.command().configure(|c| {
            c.arg("serve").env("FIREBREAK_PRINCIPAL", principal);
        });
        stdio_client(command).await
    }

    /// Runs `firebreak --data-dir DIR db <what>`; returns its stdout.
    pub(crate) async fn db(&self, what: &str) -> String {
        let output = self.command().args(["db", what]).output();
        let output = tokio::time::timeout(PATIENCE, output)
            .await
            .unwrap()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        assert!(
            output.status.success(),
            "db {what}: {}\n{stdout}\n{stderr}",
            output.status
        );
        stdout.into_owned()
    }

    /// Starts the cluster (creating it if needed) and returns a URL for its `firebreak` database.
    pub(crate) async fn start(&self) -> String {
        let cluster =
            firebreak::store::cluster::EmbeddedCluster::locate(self.data_dir.clone()).unwrap();
        let options = cluster.ensure_running("firebreak").await.unwrap();
        use sqlx::ConnectOptions;
        options.to_url_lossy().to_string()
    }

    /// The process ids of the cluster: the postmaster and every process it started.
    pub(crate) fn processes(&self) -> Vec<i32> {
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).unwrap();
        let postmaster: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // The parent pid is the fourth field, after the parenthesised command name.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<i32>().ok());
            if parent == Some(postmaster) {
                pids.push(pid);
            }
        }
        pids
    }
}

impl Drop for EmbeddedDir {
    fn drop(&mut self) {
        // A frozen cluster would not stop: wake it first.
        if self.data_dir.join("postmaster.pid").exists() {
            for pid in self.processes() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGCONT,
                );
            }
        }
        // Synchronous: the runtime may be gone. The temp dir is removed after this.
        let _ = std::process::Command::new(env!("CARGO_BIN_EXE_firebreak"))
            .env_remove("DATABASE_URL")
            .env_remove("FIREBREAK_DATA_DIR")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["db", "stop"])
            .stdin(Stdio::null())
            .output();
    }
}
