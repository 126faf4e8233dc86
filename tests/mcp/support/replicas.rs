//! Several `firebreak serve --http` children on one test database, with nginx in front: each
//! replica keeps its port for the whole test, so it can be killed, stopped and started again
//! behind the same upstream line.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;

use crate::support::TestDb;
use crate::support::children::{HttpServer, PATIENCE, exit_within, free_port, raw_post};
use crate::support::nginx::{Mode, Nginx};

/// How each replica's command is completed (arguments, environment) before it starts.
type Configure = Box<dyn Fn(&mut Command) + Send + Sync>;

/// Replicas behind nginx.
pub(crate) struct Replicas {
    url: String,
    configure: Configure,
    /// The ports, one per replica, fixed for the test.
    pub(crate) ports: Vec<u16>,
    /// The running replicas (`None`: stopped).
    pub(crate) servers: Vec<Option<HttpServer>>,
    /// The load balancer.
    pub(crate) nginx: Nginx,
}

impl Replicas {
    /// `n` replicas on `db` behind nginx.
    pub(crate) async fn start(db: &TestDb, n: usize) -> Replicas {
        Replicas::start_with(db, n, |_| {}).await
    }

    /// `n` stateless replicas on `db`, each command completed by `configure`, behind nginx.
    pub(crate) async fn start_with(
        db: &TestDb,
        n: usize,
        configure: impl Fn(&mut Command) + Send + Sync + 'static,
    ) -> Replicas {
        Replicas::start_in(db, n, Mode::Stateless, configure).await
    }

    /// `n` replicas on `db` serving MCP as `mode` says (`--http-sessions` for
    /// [`Mode::Sessions`]), each command completed by `configure`, behind nginx configured for
    /// `mode`.
    pub(crate) async fn start_in(
        db: &TestDb,
        n: usize,
        mode: Mode,
        configure: impl Fn(&mut Command) + Send + Sync + 'static,
    ) -> Replicas {
        let configure = move |command: &mut Command| {
            if mode == Mode::Sessions {
                command.arg("--http-sessions");
            }
            configure(command);
        };
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let nginx = Nginx::start(&ports, mode).await;
        let mut replicas = Replicas {
            url: db.url(),
            configure: Box::new(configure),
            servers: (0..n).map(|_| None).collect(),
            ports,
            nginx,
        };
        for index in 0..n {
            replicas.restart(index).await;
        }
        replicas
    }

    /// Starts replica `index` (stopped) on its port and waits until `/healthz` answers.
    pub(crate) async fn restart(&mut self, index: usize) {
        assert!(self.servers[index].is_none(), "replica {index} is running");
        let port = self.ports[index];
        let server =
            HttpServer::start_on(&self.url, port, |command| (self.configure)(command)).await;
        self.servers[index] = Some(server);
    }

    /// `kill -9` replica `index`: it gets no chance to answer what it holds.
    pub(crate) async fn kill(&mut self, index: usize) {
        let mut server = self.servers[index].take().expect("a running replica");
        signal(&server, nix::sys::signal::Signal::SIGKILL);
        exit_within(&mut server.child, PATIENCE, &server.stderr).await;
    }

    /// SIGTERM replica `index` and wait for its exit, which must be clean.
    pub(crate) async fn stop(&mut self, index: usize) {
        let mut server = self.servers[index].take().expect("a running replica");
        signal(&server, nix::sys::signal::Signal::SIGTERM);
        let status = exit_within(&mut server.child, PATIENCE, &server.stderr).await;
        assert!(
            status.success(),
            "replica {index} exited with {status} after SIGTERM; stderr:\n{}",
            server.stderr.text()
        );
    }

    /// Every replica's stderr and nginx's logs, for failure messages.
    pub(crate) fn logs(&self) -> String {
        let mut text = self.nginx.logs();
        for (index, server) in self.servers.iter().enumerate() {
            if let Some(server) = server {
                text.push_str(&format!(
                    "\nreplica {index} (port {}):\n{}",
                    self.ports[index],
                    server.stderr.text()
                ));
            }
        }
        text
    }

    /// How many requests each replica served, from nginx's access log (a request nginx
    /// passed on after a failed attempt counts for the replica that answered).
    pub(crate) fn served_by_replica(&self) -> Vec<usize> {
        let log = self.nginx.access_log();
        self.ports
            .iter()
            .map(|port| {
                let address = format!("127.0.0.1:{port}");
                log.lines()
                    .filter(|line| {
                        line.rsplit(", ")
                            .next()
                            .is_some_and(|last| last.ends_with(&address))
                    })
                    .count()
            })
            .collect()
    }
}

fn signal(server: &HttpServer, signal: nix::sys::signal::Signal) {
    let pid = i32::try_from(server.child.id().expect("running")).unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
}

/// One stateless `tools/call` sent (POST) to `url`: the JSON-RPC `result` (a tool error included),
/// or what went wrong on the way (a transport error, a status other than 200, a JSON-RPC
/// error), which a client would retry.
pub(crate) async fn call_through(
    http: &reqwest::Client,
    url: &str,
    tool: &str,
    arguments: Value,
) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}});
    let response = raw_post(http, url, body.to_string())
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .map_err(|err| format!("transport: {err}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| format!("reading the answer: {err}"))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!("HTTP {status}: {text}"));
    }
    let message: Value =
        serde_json::from_str(&text).map_err(|err| format!("not JSON ({err}): {text}"))?;
    match message.get("result") {
        Some(result) => Ok(result.clone()),
        None => Err(format!("JSON-RPC error: {message}")),
    }
}

/// The structured content of a successful tool result; panics on a tool error.
pub(crate) fn content(result: &Value) -> &Value {
    assert_ne!(result["isError"], true, "a tool error: {result}");
    &result["structuredContent"]
}

/// A reqwest client as a load-test caller uses one: its own connection pool, and a timeout
/// after which a call counts as failed.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}
