//! The real `firebreak` binary over its transports: stdio child processes, Streamable HTTP with
//! bearer tokens and the Host guard, the embedded cluster shared between processes, and a
//! database outage seen through a TCP proxy the test controls.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport};
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::task::JoinHandle;

use crate::support::children::{
    Captured, EmbeddedDir, HttpServer, PATIENCE, TOKEN, TOKEN_NAME, exit_within, firebreak,
    free_port, handshake, initialize_line, stdio_client,
};
use crate::support::{TestDb, call, client_config, connect_in_process, declare, failure, ok};

/// Every tool the server offers.
const TOOL_COUNT: usize = 24;

// ---------------------------------------------------------------------------------------------
// stdio
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_child_records_the_configured_principal_and_the_client() {
    let db = TestDb::new().await;
    let command = firebreak().configure(|c| {
        c.arg("serve")
            .env("DATABASE_URL", db.url())
            .env("FIREBREAK_PRINCIPAL", "ci-bot");
    });
    let (client, stderr) = stdio_client(command).await;

    let reference = declare(&client, "Payments latency", "SEV2").await;
    let brief = ok(call(&client, "get_incident", json!({"incident": reference})).await);
    let created_by = &brief["incident"]["created_by"];
    assert_eq!(
        created_by["principal"],
        "ci-bot",
        "stderr:\n{}",
        stderr.text()
    );
    assert_eq!(created_by["channel"], "mcp");
    let announced = client_config().client_info;
    let client_name = format!("{} {}", announced.name, announced.version);
    assert_eq!(created_by["client"], client_name.as_str());
    assert_eq!(db.count("incident").await, 1);
    client.cancel().await.unwrap();
}

/// The rmcp client silently skips stdout lines that are not JSON, so a stray log line would not
/// fail the test above: here every byte the child writes to stdout is checked on its way to the
/// client, with debug logging on to give logs every chance to leak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_stdout_carries_only_json_rpc_and_eof_ends_the_server() {
    let db = TestDb::new().await;
    let mut child = firebreak()
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn firebreak serve");
    let stderr = Captured::collect(child.stderr.take().unwrap());
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (mut to_client, client_side) = tokio::io::duplex(1 << 20);
    let tee: JoinHandle<Vec<String>> = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            // The client may be gone already; the line is still checked.
            let _ = to_client.write_all(format!("{line}\n").as_bytes()).await;
            seen.push(line);
        }
        seen
    });

    let client = handshake(client_config().serve((client_side, stdin)), &stderr).await;
    let reference = declare(&client, "Checkout errors", "SEV3").await;
    ok(call(&client, "get_incident", json!({"incident": reference})).await);
    let missing = failure(call(&client, "get_incident", json!({"incident": "INC-999"})).await);
    assert_eq!(missing.code, "not_found");
    // Closing the client closes the child's stdin: the server must finish and exit cleanly.
    client.cancel().await.unwrap();
    let status = exit_within(&mut child, Duration::from_secs(30), &stderr).await;
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        stderr.text()
    );

    let lines = tee.await.unwrap();
    // initialize, tools/call × 3
    assert!(lines.len() >= 4, "stdout lines: {lines:#?}");
    for line in &lines {
        let message: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("stdout line is not JSON ({err}): {line:?}"));
        assert_eq!(
            message["jsonrpc"], "2.0",
            "stdout line is not JSON-RPC: {line}"
        );
    }
    assert!(
        !stderr.text().is_empty(),
        "debug logs go to stderr, so stderr should not be empty"
    );
}

/// Waits until the file holds a JSON-RPC response with `id` and returns it.
async fn response_in(path: &Path, id: u64, stderr: &Captured) -> Value {
    for _ in 0..300 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|message| message["id"] == id);
        if let Some(message) = found {
            return message;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no response {id} on stdout; stderr:\n{}", stderr.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_answers_lines_that_are_not_messages_and_keeps_serving() {
    let db = TestDb::new().await;
    let mut child = firebreak()
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn firebreak serve");
    let stderr = Captured::collect(child.stderr.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_answer = async || -> Value {
        let line = tokio::time::timeout(PATIENCE, stdout.next_line())
            .await
            .unwrap_or_else(|_| panic!("no answer; stderr:\n{}", stderr.text()))
            .unwrap()
            .expect("stdout open");
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"))
    };
    let too_long = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(17 * 1024 * 1024));
    let cases: [(String, i64, Value); 4] = [
        ("this is not json\n".to_owned(), -32700, Value::Null),
        (
            "{\"jsonrpc\": \"2.0\", \"id\": 4,\n".to_owned(),
            -32700,
            Value::Null,
        ),
        (
            "{\"jsonrpc\": \"2.0\", \"id\": 5}\n".to_owned(),
            -32600,
            json!(5),
        ),
        (too_long, -32600, Value::Null),
    ];
    for (line, code, id) in cases {
        stdin.write_all(line.as_bytes()).await.unwrap();
        let answer = next_answer().await;
        assert_eq!(answer["error"]["code"], code, "{answer}");
        assert_eq!(answer["id"], id, "{answer}");
    }
    stdin
        .write_all(initialize_line("garbage-test").as_bytes())
        .await
        .unwrap();
    let initialized = next_answer().await;
    assert_eq!(initialized["result"]["serverInfo"]["name"], "firebreak");
    drop(stdin);
    let status = exit_within(&mut child, Duration::from_secs(30), &stderr).await;
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        stderr.text()
    );
}

#[tokio::test]
async fn stdio_works_when_stdout_is_a_file_rather_than_a_pipe() {
    let db = TestDb::new().await;
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut child = firebreak()
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .stdin(Stdio::piped())
        .stdout(out.reopen().unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn firebreak serve");
    let stderr = Captured::collect(child.stderr.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(initialize_line("file-test").as_bytes())
        .await
        .unwrap();
    let initialized = response_in(out.path(), 1, &stderr).await;
    assert_eq!(initialized["result"]["serverInfo"]["name"], "firebreak");
    let notification = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    stdin
        .write_all(format!("{notification}\n{list}\n").as_bytes())
        .await
        .unwrap();
    let tools = response_in(out.path(), 2, &stderr).await;
    assert_eq!(
        tools["result"]["tools"].as_array().map(Vec::len),
        Some(TOOL_COUNT)
    );
    drop(stdin);
    let status = exit_within(&mut child, Duration::from_secs(30), &stderr).await;
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        stderr.text()
    );
}

// ---------------------------------------------------------------------------------------------
// Streamable HTTP
// ---------------------------------------------------------------------------------------------

/// A raw `initialize` request, as a client that is not rmcp would send it.
fn raw_initialize(http: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
    let body = json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw-http", "version": "0"},
        },
    });
    http.post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        )
        .body(body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_serves_token_holders_refuses_others_and_stops_on_sigterm() {
    let db = TestDb::new().await;
    let mut server = HttpServer::start(&db).await;
    let http = reqwest::Client::new();

    // An rmcp client with the token: the token's name is the principal.
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(server.mcp()).auth_header(TOKEN),
    );
    let client = client_config()
        .serve(transport)
        .await
        .unwrap_or_else(|err| panic!("handshake: {err}; stderr:\n{}", server.stderr.text()));
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(tools.len(), TOOL_COUNT, "tools: {names:?}");
    let declared = ok(call(
        &client,
        "declare_incident",
        json!({"title": "Login failures", "severity": "SEV1"}),
    )
    .await);
    let created_by = &declared["incident"]["created_by"];
    assert_eq!(created_by["principal"], TOKEN_NAME);
    assert_eq!(created_by["channel"], "http");
    let reference = declared["incident"]["reference"].as_str().unwrap();
    let brief = ok(call(&client, "get_incident", json!({"incident": reference})).await);
    assert_eq!(brief["incident"]["created_by"]["principal"], TOKEN_NAME);
    client.cancel().await.unwrap();

    // The same raw request, first as it should be: proves the refusals below are about auth/Host.
    let accepted = raw_initialize(&http, &server.mcp())
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), reqwest::StatusCode::OK);

    // No token: 401 with a Bearer challenge.
    let anonymous = raw_initialize(&http, &server.mcp()).send().await.unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);
    let challenge = anonymous.headers()[reqwest::header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer "),
        "WWW-Authenticate: {challenge}"
    );

    // A wrong token: 401 too, saying the token is invalid.
    let wrong = raw_initialize(&http, &server.mcp())
        .bearer_auth("0123456789abcdef0124")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), reqwest::StatusCode::UNAUTHORIZED);
    let challenge = wrong.headers()[reqwest::header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer "),
        "WWW-Authenticate: {challenge}"
    );
    assert!(
        challenge.contains("invalid_token"),
        "WWW-Authenticate: {challenge}"
    );

    // A foreign Host (DNS rebinding), even with the right token: rmcp answers 403.
    let rebound = raw_initialize(&http, &server.mcp())
        .bearer_auth(TOKEN)
        .header(reqwest::header::HOST, "evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), reqwest::StatusCode::FORBIDDEN);
    assert!(rebound.text().await.unwrap().contains("Host"));

    // Health needs no token.
    let health = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );

    // SIGTERM: a clean exit, well before the 30 s drain deadline would force one.
    let pid = i32::try_from(server.child.id().expect("running")).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = exit_within(&mut server.child, Duration::from_secs(20), &server.stderr).await;
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        server.stderr.text()
    );
}

#[tokio::test]
async fn http_refuses_a_public_address_without_credentials_and_serves_one_with_database_tokens() {
    let db = TestDb::new().await;
    let serve_public = || {
        let mut command = firebreak();
        command
            .args(["serve", "--http", &format!("0.0.0.0:{}", free_port())])
            .env("DATABASE_URL", db.url());
        command
    };
    let output = tokio::time::timeout(Duration::from_secs(30), serve_public().output())
        .await
        .expect("firebreak should refuse at once")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it served; stderr:\n{stderr}");
    assert!(
        stderr.contains("firebreak tokens create") && stderr.contains("FIREBREAK_TOKENS"),
        "stderr:\n{stderr}"
    );
    // A database token alone is a credential: the same server now starts.
    let made = firebreak()
        .args(["tokens", "create", "edge", "--scopes", "incidents:read"])
        .env("DATABASE_URL", db.url())
        .output()
        .await
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut server = serve_public().stderr(Stdio::piped()).spawn().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(server.try_wait().unwrap().is_none(), "it exited");
    server.kill().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Embedded cluster (no DATABASE_URL)
// ---------------------------------------------------------------------------------------------

fn data_dir_mentioned(status: &str, data_dir: &Path) -> bool {
    status.contains(data_dir.to_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_database_url_the_embedded_cluster_keeps_incidents_between_processes() {
    let dir = EmbeddedDir::new();

    let (first, stderr) = dir.stdio_client("first").await;
    let reference = declare(&first, "Embedded incident", "SEV4").await;
    assert_eq!(reference, "INC-1", "stderr:\n{}", stderr.text());
    first.cancel().await.unwrap();

    let (second, _stderr) = dir.stdio_client("second").await;
    let brief = ok(call(&second, "get_incident", json!({"incident": reference})).await);
    assert_eq!(brief["incident"]["title"], "Embedded incident");
    assert_eq!(brief["incident"]["created_by"]["principal"], "first");
    second.cancel().await.unwrap();

    // The cluster outlives the servers, and `db` manages it.
    let status = dir.db("status").await;
    assert!(status.contains("running"), "db status:\n{status}");
    assert!(
        data_dir_mentioned(&status, &dir.data_dir),
        "db status:\n{status}"
    );
    let stopped = dir.db("stop").await;
    assert!(stopped.contains("stopped"), "db stop:\n{stopped}");
    let status = dir.db("status").await;
    assert!(status.contains(": stopped"), "db status:\n{status}");
    assert!(!status.contains("running"), "db status:\n{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_embedded_cluster_is_started_again_while_serving() {
    let dir = EmbeddedDir::new();
    let (client, stderr) = dir.stdio_client("ops").await;
    let reference = declare(&client, "Before the stop", "SEV4").await;
    let stopped = dir.db("stop").await;
    assert!(stopped.contains("stopped"), "db stop:\n{stopped}");
    // Calls fail with `unavailable` until the server has started the cluster again.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut outage_calls = 0;
    loop {
        let result = call(&client, "get_incident", json!({"incident": reference})).await;
        if result.is_error != Some(true) {
            assert_eq!(ok(result)["incident"]["title"], "Before the stop");
            break;
        }
        assert_eq!(failure(result).code, "unavailable");
        outage_calls += 1;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cluster was not started again; stderr:\n{}",
            stderr.text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The revive check runs every two seconds, so the call right after the stop sees the outage.
    assert!(outage_calls > 0, "no call saw the outage");
    assert!(dir.db("status").await.contains("running"));
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_starting_together_on_a_fresh_data_dir_both_work() {
    let dir = EmbeddedDir::new();
    let serve_one = |principal: &'static str| {
        let dir = &dir;
        async move {
            let (client, stderr) = dir.stdio_client(principal).await;
            let declared = call(
                &client,
                "declare_incident",
                json!({"title": format!("Declared by {principal}"), "severity": "SEV3"}),
            )
            .await;
            assert_ne!(
                declared.is_error,
                Some(true),
                "{declared:?}; stderr:\n{}",
                stderr.text()
            );
            let reference = ok(declared)["incident"]["reference"]
                .as_str()
                .unwrap()
                .to_owned();
            client.cancel().await.unwrap();
            reference
        }
    };
    let (a, b) = tokio::join!(serve_one("alpha"), serve_one("beta"));
    let mut references = [a, b];
    references.sort();
    assert_eq!(references, ["INC-1", "INC-2"]);
}

// ---------------------------------------------------------------------------------------------
// Database outage
// ---------------------------------------------------------------------------------------------

/// Where the proxy forwards to.
#[derive(Clone)]
enum Upstream {
    Unix(PathBuf),
    Tcp(String),
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore on the same port.
struct Proxy {
    port: u16,
    upstream: Upstream,
    accepting: Option<JoinHandle<()>>,
    forwarding: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(options: &PgConnectOptions) -> Proxy {
        let upstream = match options.get_socket() {
            Some(dir) => Upstream::Unix(dir.join(format!(".s.PGSQL.{}", options.get_port()))),
            None => Upstream::Tcp(format!("{}:{}", options.get_host(), options.get_port())),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut proxy = Proxy {
            port: listener.local_addr().unwrap().port(),
            upstream,
            accepting: None,
            forwarding: Arc::default(),
        };
        proxy.accept(listener);
        proxy
    }

    fn accept(&mut self, listener: TcpListener) {
        let (upstream, forwarding) = (self.upstream.clone(), self.forwarding.clone());
        self.accepting = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    let _ = match upstream {
                        Upstream::Unix(path) => match UnixStream::connect(path).await {
                            Ok(mut server) => {
                                tokio::io::copy_bidirectional(&mut client, &mut server).await
                            }
                            Err(err) => Err(err),
                        },
                        Upstream::Tcp(addr) => match TcpStream::connect(addr).await {
                            Ok(mut server) => {
                                tokio::io::copy_bidirectional(&mut client, &mut server).await
                            }
                            Err(err) => Err(err),
                        },
                    };
                });
                forwarding.lock().unwrap().push(task);
            }
        }));
    }

    /// Options to reach `db` through the proxy.
    fn options(&self, db: &TestDb) -> PgConnectOptions {
        let mut url = reqwest::Url::parse(&db.url()).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.port)).unwrap();
        url.as_str().parse().unwrap()
    }

    /// The database goes away: nothing listens on the port and open connections drop.
    async fn cut(&mut self) {
        let accepting = self.accepting.take().expect("proxy is up");
        accepting.abort();
        let _ = accepting.await;
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *self.forwarding.lock().unwrap());
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        let refused = TcpStream::connect(("127.0.0.1", self.port)).await;
        assert!(refused.is_err(), "the proxy still accepts connections");
    }

    /// The database comes back on the same address.
    async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.accept(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_fail_with_unavailable_while_the_database_is_down_and_recover_without_restart() {
    let db = TestDb::new().await;
    let mut proxy = Proxy::start(&db.options).await;
    let pool = firebreak::store::connect(proxy.options(&db), 5, None);
    let client = connect_in_process(pool, "outage-tester").await;
    let reference = declare(&client, "Before the outage", "SEV2").await;
    ok(call(&client, "get_incident", json!({"incident": reference})).await);

    proxy.cut().await;
    let read = failure(call(&client, "get_incident", json!({"incident": reference})).await);
    assert_eq!(
        read.code, "unavailable",
        "{}: {}",
        read.message, read.details
    );
    let write = failure(
        call(
            &client,
            "declare_incident",
            json!({"title": "During the outage", "severity": "SEV2"}),
        )
        .await,
    );
    assert_eq!(
        write.code, "unavailable",
        "{}: {}",
        write.message, write.details
    );
    assert_eq!(db.count("incident").await, 1);

    proxy.restore().await;
    let brief = ok(call(&client, "get_incident", json!({"incident": reference})).await);
    assert_eq!(brief["incident"]["title"], "Before the outage");
    let after = declare(&client, "After the outage", "SEV3").await;
    assert_eq!(after, "INC-2");
    assert_eq!(db.count("incident").await, 2);
    client.cancel().await.unwrap();
}
