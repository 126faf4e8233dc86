//! Limits on HTTP connections, before any authentication, against the real binary: under a
//! low open-files limit, hundreds of idle connections neither exhaust descriptors nor lock out
//! `/healthz` or an authenticated caller; slowloris and slow-body connections are closed; the
//! soft open-files limit is raised to the hard one at start. Bounded in count and time,
//! loopback only.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestDb;
use crate::support::children::{HttpServer, PATIENCE, TOKEN, raw_tool_call};

/// A server whose open-files limit is `soft` (hard `hard`) when it starts, with a 1 s header
/// and body timeout so the test does not wait long.
async fn limited_server(db: &TestDb, soft: u32, hard: u32) -> HttpServer {
    let binary = env!("CARGO_BIN_EXE_firebreak");
    HttpServer::start_with(&db.url(), |command| {
        // `exec` keeps the pid, so the test can read the server's own limits.
        let script = format!("ulimit -Sn {soft} && ulimit -Hn {hard} && exec \"$0\" \"$@\"");
        let args: Vec<String> = command
            .as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut shell = tokio::process::Command::new("sh");
        shell.arg("-c").arg(script).arg(binary).args(args);
        for (key, value) in command.as_std().get_envs() {
            match value {
                Some(value) => shell.env(key, value),
                None => shell.env_remove(key),
            };
        }
        shell
            .env("FIREBREAK_HEADER_TIMEOUT", "1s")
            .env("FIREBREAK_BODY_TIMEOUT", "1s")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        *command = shell;
    })
    .await
}

/// Lets this test process open many sockets.
fn raise_own_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
}

fn open_files(pid: u32) -> (u64, usize) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (soft, open)
}

/// Reads until the peer closes; `true` if it did within `PATIENCE`.
async fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_under_a_low_descriptor_limit_lock_out_neither_health_nor_callers() {
    raise_own_limit();
    let db = TestDb::new().await;
    let server = limited_server(&db, 128, 256).await;
    let pid = server.child.id().unwrap();
    let (soft, _) = open_files(pid);
    assert_eq!(soft, 256, "the soft limit was raised to the hard one");

    let mut idle = Vec::new();
    for _ in 0..400 {
        idle.push(
            TcpStream::connect(("127.0.0.1", server.port))
                .await
                .unwrap(),
        );
    }
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", server.base))
        .timeout(PATIENCE)
        .send()
        .await
        .expect("/healthz answers with 400 idle connections open");
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    let listed = raw_tool_call(&http, &server.mcp(), "list_incidents", json!({})).await;
    assert!(
        listed["result"]["structuredContent"]["incidents"].is_array(),
        "{listed}"
    );
    let (_, open) = open_files(pid);
    assert!(open < 256, "{open} descriptors open, the limit is 256");

    // Connections that never send a request are closed after the header timeout.
    let mut closed = 0;
    for stream in &mut idle {
        if closed_by_peer(stream).await {
            closed += 1;
        }
    }
    assert_eq!(
        closed,
        idle.len(),
        "every idle connection was closed by the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_and_slow_body_connections_are_closed() {
    raise_own_limit();
    let db = TestDb::new().await;
    let server = limited_server(&db, 1024, 1024).await;

    let mut slow_heads = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow_heads.push(stream);
    }
    let mut slow_bodies = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        let head = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
             Content-Length: 1000\r\n\r\n{{\"jsonrpc\""
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        slow_bodies.push(stream);
    }
    // The slowloris keeps trickling header bytes; it must be cut off anyway.
    let trickle = async {
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_millis(400)).await;
            for stream in &mut slow_heads {
                let _ = stream.write_all(b"x").await;
            }
        }
    };
    trickle.await;
    for (n, stream) in slow_heads.iter_mut().enumerate() {
        assert!(closed_by_peer(stream).await, "slowloris {n} still open");
    }
    for (n, stream) in slow_bodies.iter_mut().enumerate() {
        let mut answer = String::new();
        let read = tokio::time::timeout(PATIENCE, stream.read_to_string(&mut answer)).await;
        assert!(read.is_ok(), "slow body {n} still open");
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "slow body {n} got: {answer}"
        );
    }
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);
}
