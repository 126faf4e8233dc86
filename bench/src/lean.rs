//! Lean MCP clients: raw JSON-RPC, so that what is timed is the server. Over stdio, request
//! lines are written to the child's stdin and answer lines read from its stdout; over HTTP,
//! each client owns one keep-alive HTTP/1.1 connection (hyper, no pool) and POSTs stateless
//! requests. Arguments are serialized before the clock starts; answers are parsed as plain JSON
//! (no schema types, no validation) just far enough to see errors and read a version.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Mutex;

use crate::measure::Caller;
use crate::servers::{HttpServer, command, log_file};
use crate::workload::{Observed, Op};

/// How long the lean stdio client waits for its handshake.
const PATIENCE: Duration = Duration::from_secs(60);

/// The `params` of a `tools/call`, serialized before the clock starts, and whether the
/// answer's version and status are needed (writes that pass `expected_version` next time).
pub(crate) struct Prepared {
    params: String,
    reads_version: bool,
}

fn prepare(op: &Op) -> Prepared {
    let params = json!({"name": op.tool_name(), "arguments": op.arguments()});
    Prepared {
        params: params.to_string(),
        reads_version: matches!(op, Op::Update { .. } | Op::ChangeStatus { .. }),
    }
}

/// One request line, with its newline, so it is written in one go.
fn request(id: u64, params: &str) -> String {
    format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{params}}}\n")
}

/// How much of an answer's head and tail are looked at to see that it succeeded.
const PEEK: usize = 64;

/// Reads an answer: a JSON-RPC error or a tool error is an `Err`, else the version and status
/// (parsed only when asked for). A success is recognised without parsing: rmcp writes
/// `"result":` first and `"isError":false` last, so the head and tail of the line suffice;
/// anything else is parsed to say what went wrong.
fn observe(answer: &[u8], reads_version: bool) -> Result<Observed, String> {
    let trimmed = answer.trim_ascii_end();
    let head = &trimmed[..trimmed.len().min(PEEK)];
    let tail = &trimmed[trimmed.len().saturating_sub(PEEK)..];
    let succeeded = contains(head, b"\"result\":") && contains(tail, b"\"isError\":false");
    if succeeded && !reads_version {
        return Ok(Observed::default());
    }
    let message: Value =
        serde_json::from_slice(answer).map_err(|err| format!("not JSON ({err})"))?;
    if let Some(error) = message.get("error") {
        return Err(format!("protocol error: {error}"));
    }
    let result = &message["result"];
    if result["isError"] == true {
        return Err(format!("tool error: {}", result["content"][0]["text"]));
    }
    let content = &result["structuredContent"];
    Ok(Observed {
        version: content["version"].as_i64(),
        status: content["status"].as_str().map(str::to_owned),
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// `firebreak serve` over its stdio, spoken to line by line.
pub(crate) struct LeanStdio {
    pipes: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    next_id: AtomicU64,
    _child: Child,
}

impl LeanStdio {
    /// Starts the server and completes the `initialize` handshake; returns it with its pid.
    pub(crate) async fn start(
        firebreak: &Path,
        database_url: &str,
        log: &Path,
    ) -> anyhow::Result<(LeanStdio, u32)> {
        let mut command = command(firebreak, database_url);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file(log)?);
        let mut child = command.spawn().context("spawning firebreak serve")?;
        let pid = child.id().context("the stdio server has no pid")?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        let client = LeanStdio {
            pipes: Mutex::new((stdin, stdout)),
            next_id: AtomicU64::new(1),
            _child: child,
        };
        let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "firebreak-bench-lean", "version": env!("CARGO_PKG_VERSION")}}});
        let answer = tokio::time::timeout(PATIENCE, client.exchange(&format!("{initialize}\n")))
            .await
            .context("no answer to initialize")??;
        if !String::from_utf8_lossy(&answer).contains("serverInfo") {
            bail!("unexpected answer to initialize; see {}", log.display());
        }
        client
            .send("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
            .await?;
        Ok((client, pid))
    }

    /// Writes `line` (which ends with its newline) in one write.
    async fn send(&self, line: &str) -> anyhow::Result<()> {
        let mut pipes = self.pipes.lock().await;
        pipes.0.write_all(line.as_bytes()).await?;
        pipes.0.flush().await?;
        Ok(())
    }

    /// Writes one request line (ending with its newline, one write, so the server wakes once)
    /// and reads lines until its answer (one at a time: the lock is held for the whole
    /// exchange).
    async fn exchange(&self, line: &str) -> anyhow::Result<Vec<u8>> {
        let mut pipes = self.pipes.lock().await;
        let (stdin, stdout) = &mut *pipes;
        stdin.write_all(line.as_bytes()).await?;
        stdin.flush().await?;
        let mut answer = Vec::new();
        loop {
            answer.clear();
            if stdout.read_until(b'\n', &mut answer).await? == 0 {
                bail!("the stdio server closed its stdout");
            }
            // Notifications (no id) are skipped; the one request in flight is answered next.
            if answer.windows(5).any(|w| w == b"\"id\":") {
                return Ok(answer);
            }
        }
    }
}

impl Caller for LeanStdio {
    type Prepared = Prepared;

    fn prepare(&self, op: &Op) -> Prepared {
        prepare(op)
    }

    async fn call(&self, prepared: Prepared) -> Result<Observed, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .exchange(&request(id, &prepared.params))
            .await
            .map_err(|err| format!("transport: {err}"))?;
        observe(&answer, prepared.reads_version)
    }
}

/// One HTTP/1.1 connection to `firebreak serve --http`, with the bearer token.
pub(crate) struct LeanHttp {
    sender: Mutex<SendRequest<Full<Bytes>>>,
    port: u16,
    authority: String,
    authorization: String,
    next_id: AtomicU64,
}

/// One HTTP/1.1 connection to the server on `port`, driven by its own task.
pub(crate) async fn open(port: u16) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake")?;
    tokio::spawn(connection);
    Ok(sender)
}

impl LeanHttp {
    /// Opens a connection to `server`.
    pub(crate) async fn connect(server: &HttpServer) -> anyhow::Result<LeanHttp> {
        LeanHttp::connect_to(server.port, &server.token).await
    }

    /// Opens a connection to whatever serves `/mcp` on `port` with `token` (a load balancer).
    pub(crate) async fn connect_to(port: u16, token: &str) -> anyhow::Result<LeanHttp> {
        Ok(LeanHttp {
            sender: Mutex::new(open(port).await?),
            port,
            authority: format!("127.0.0.1:{port}"),
            authorization: format!("Bearer {token}"),
            next_id: AtomicU64::new(1),
        })
    }

    async fn post(&self, body: String) -> anyhow::Result<Bytes> {
        let request = hyper::Request::post("/mcp")
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::AUTHORIZATION, &self.authorization)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::ACCEPT, "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(Full::new(Bytes::from(body)))?;
        let mut sender = self.sender.lock().await;
        // The server closes a keep-alive connection left idle past its header timeout (between
        // phases): open a new one, as any HTTP client would. Nothing was sent on the old one.
        if sender.is_closed() || sender.ready().await.is_err() {
            *sender = open(self.port).await?;
            sender.ready().await?;
        }
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(body)
    }
}

impl Caller for LeanHttp {
    type Prepared = Prepared;

    fn prepare(&self, op: &Op) -> Prepared {
        prepare(op)
    }

    async fn call(&self, prepared: Prepared) -> Result<Observed, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .post(request(id, &prepared.params))
            .await
            .map_err(|err| format!("transport: {err}"))?;
        observe(&answer, prepared.reads_version)
    }
}
