//! MCP sessions (`serve --http-sessions`) through nginx with the shipped config: every request
//! of a session, from its `initialize` on, reaches the replica that created it, so its calls
//! succeed and its subscription hears of changes made through the other replicas; agents with
//! their own tokens spread over the replicas. A replica that dies takes its sessions with it:
//! what a client then sees is pinned down at the end.
#![allow(
    deprecated,
    reason = "resources/subscribe is how session-based protocol revisions subscribe"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams, SubscribeRequestParams};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::REPLICAS;
use crate::support::children::{PATIENCE, TOKEN, TOKEN_NAME};
use crate::support::nginx::Mode;
use crate::support::replicas::Replicas;
use crate::support::watcher::{Watcher, Watching, wait_listening};
use crate::support::{TestDb, call, ok};

/// `n` replicas with `--http-sessions` on `db` behind nginx, accepting `tokens`
/// (`FIREBREAK_TOKENS`).
async fn session_replicas(db: &TestDb, n: usize, tokens: String) -> Replicas {
    Replicas::start_in(db, n, Mode::Sessions, move |command| {
        command.env("FIREBREAK_TOKENS", &tokens);
    })
    .await
}

/// An rmcp client with a session through nginx, sending `token`; with `reinit`, the client
/// starts a new session by itself when the server says it has none (rmcp's default).
async fn session(replicas: &Replicas, token: &str, reinit: bool) -> (Watching, Updates) {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(replicas.nginx.mcp())
            .auth_header(token)
            .reinit_on_expired_session(reinit),
    );
    let (sender, receiver) = mpsc::unbounded_channel();
    let watcher = Watcher { updates: sender };
    let Ok(handshake) = tokio::time::timeout(PATIENCE, watcher.serve(transport)).await else {
        panic!("no handshake through nginx; logs:\n{}", replicas.logs());
    };
    let client = handshake.unwrap_or_else(|err| {
        panic!(
            "handshake through nginx failed: {err}; access log:\n{}\n{}",
            replicas.nginx.access_log(),
            replicas.logs()
        )
    });
    (client, Updates(receiver))
}

/// A tool call in the session: its structured content, or what failed (a protocol or
/// transport error, or a tool error).
async fn tool(client: &Watching, name: &str, arguments: Value) -> Result<Value, String> {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    let result = client
        .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(arguments))
        .await
        .map_err(|err| format!("{name}: {err}"))?;
    if result.is_error == Some(true) {
        return Err(format!("{name}: tool error {result:?}"));
    }
    result
        .structured_content
        .ok_or_else(|| format!("{name}: no structured content"))
}

/// The URIs a session was told about, in order.
struct Updates(mpsc::UnboundedReceiver<String>);

impl Updates {
    /// Waits (up to `PATIENCE`) for an update of `uri`, skipping others.
    async fn until(&mut self, uri: &str, replicas: &Replicas) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.0.recv()).await {
                Ok(Some(next)) if next == uri => return,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the session is gone; logs:\n{}", replicas.logs()),
                Err(_) => panic!(
                    "no update for {uri} within {PATIENCE:?}; access log:\n{}\n{}",
                    replicas.nginx.access_log(),
                    replicas.logs()
                ),
            }
        }
    }
}

/// One line of nginx's access log (the harness's `replicas` format).
struct Logged {
    status: u16,
    /// The session the request belongs to: the id it carried, or the id its answer created.
    session: Option<String>,
    /// The replica that answered (the last one tried).
    upstream: String,
}

fn logged(replicas: &Replicas) -> Vec<Logged> {
    replicas
        .nginx
        .access_log()
        .lines()
        .map(|line| {
            let field = |name: &str| {
                line.split(' ')
                    .find_map(|f| f.strip_prefix(name))
                    .filter(|v| !v.is_empty() && *v != "-")
                    .map(str::to_owned)
            };
            Logged {
                status: line.split(' ').nth(2).unwrap().parse().unwrap(),
                session: field("sid=").or_else(|| field("new_sid=")),
                upstream: line
                    .rsplit(", ")
                    .next()
                    .unwrap()
                    .rsplit(' ')
                    .next()
                    .unwrap()
                    .to_owned(),
            }
        })
        .collect()
}

/// Asserts that nginx answered no request of a session with an error, and that every session
/// was served by one replica; returns which replica served each session.
fn assert_sessions_kept_their_replica(replicas: &Replicas) -> BTreeMap<String, String> {
    let lines = logged(replicas);
    let log = replicas.nginx.access_log();
    let failed: Vec<&Logged> = lines.iter().filter(|l| l.status >= 400).collect();
    assert!(
        failed.is_empty(),
        "{} requests failed; access log:\n{log}",
        failed.len()
    );
    let mut served = BTreeMap::new();
    for line in &lines {
        let session = line
            .session
            .clone()
            .unwrap_or_else(|| panic!("a request without a session; access log:\n{log}"));
        let first = served
            .entry(session)
            .or_insert_with(|| line.upstream.clone());
        assert_eq!(
            *first, line.upstream,
            "a session served by two replicas; access log:\n{log}"
        );
    }
    served
}

/// A call straight to replica `index`, bypassing nginx, in a session of its own (a replica
/// with sessions refuses requests outside one); its structured content.
async fn direct(replicas: &Replicas, index: usize, name: &str, arguments: Value) -> Value {
    let client = replicas.servers[index]
        .as_ref()
        .expect("running")
        .client()
        .await;
    let result = ok(call(&client, name, arguments).await);
    client.cancel().await.unwrap();
    result
}

/// Declares an incident straight on replica 0; its reference.
async fn declare_direct(replicas: &Replicas, title: &str) -> String {
    let declared = direct(
        replicas,
        0,
        "declare_incident",
        json!({"title": title, "severity": "SEV2"}),
    )
    .await;
    declared["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A few reads of `reference` in the session, each of which must succeed.
async fn reads(client: &Watching, reference: &str, replicas: &Replicas) {
    let outcomes = [
        client
            .list_all_tools()
            .await
            .map(drop)
            .map_err(|err| format!("tools/list: {err}")),
        tool(client, "get_incident", json!({"incident": reference}))
            .await
            .map(drop),
        tool(client, "list_incidents", json!({})).await.map(drop),
        client
            .read_resource(ReadResourceRequestParams::new(format!(
                "incident://{reference}"
            )))
            .await
            .map(drop)
            .map_err(|err| format!("resources/read: {err}")),
    ];
    for outcome in outcomes {
        if let Err(err) = outcome {
            panic!("{err}; access log:\n{}", replicas.nginx.access_log());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_through_nginx_stays_on_its_replica_and_hears_of_changes_through_the_others() {
    let db = TestDb::new().await;
    let replicas = session_replicas(&db, REPLICAS, format!("{TOKEN_NAME}:{TOKEN}")).await;
    let reference = declare_direct(&replicas, "Checkout errors").await;
    wait_listening(&db, i64::try_from(REPLICAS).unwrap(), || replicas.logs()).await;
    // Without re-initialization, a request that reached the wrong replica fails here instead
    // of being papered over with a new session (which would have lost the subscription).
    let (client, mut updates) = session(&replicas, TOKEN, false).await;
    for _ in 0..5 {
        reads(&client, &reference, &replicas).await;
    }
    let uri = format!("incident://{reference}");
    client
        .subscribe(SubscribeRequestParams::new(&uri))
        .await
        .unwrap_or_else(|err| panic!("subscribe: {err}\n{}", replicas.nginx.access_log()));
    // A change through each replica, the session's own and the others, reaches the session.
    for index in 0..REPLICAS {
        direct(
            &replicas,
            index,
            "add_timeline_entry",
            json!({"incident": reference, "kind": "note", "body": format!("via replica {index}")}),
        )
        .await;
        updates.until(&uri, &replicas).await;
    }
    reads(&client, &reference, &replicas).await;
    let served = assert_sessions_kept_their_replica(&replicas);
    assert_eq!(served.len(), 1, "one session: {served:?}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_with_their_own_tokens_spread_over_the_replicas_each_session_on_one() {
    const AGENTS: usize = 12;
    let db = TestDb::new().await;
    let tokens: Vec<String> = (0..AGENTS)
        .map(|i| format!("agent{i:02}-{TOKEN}"))
        .collect();
    let configured: Vec<String> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| format!("agent{i:02}:{token}"))
        .collect();
    // The direct calls (`declare_direct`) send TOKEN.
    let configured = format!("{TOKEN_NAME}:{TOKEN},{}", configured.join(","));
    let replicas = session_replicas(&db, REPLICAS, configured).await;
    let reference = declare_direct(&replicas, "Search slow").await;
    let replicas = std::sync::Arc::new(replicas);
    let agents = tokens.into_iter().map(|token| {
        let (replicas, reference) = (replicas.clone(), reference.clone());
        tokio::spawn(async move {
            let (client, _updates) = session(&replicas, &token, false).await;
            reads(&client, &reference, &replicas).await;
            reads(&client, &reference, &replicas).await;
            client.cancel().await.unwrap();
        })
    });
    for agent in join_all(agents).await {
        agent.unwrap();
    }
    let served = assert_sessions_kept_their_replica(&replicas);
    assert_eq!(served.len(), AGENTS, "one session per agent: {served:?}");
    let used: std::collections::BTreeSet<&String> = served.values().collect();
    // 12 tokens on one replica of three by chance: about 1 in 180,000.
    assert!(
        used.len() > 1,
        "every agent on one replica: {served:?}\n{}",
        replicas.nginx.access_log()
    );
}

/// The replica (index) that created the newest session nginx saw answered: the session just
/// opened, since a test opens its sessions one after another.
fn newest_session_replica(replicas: &Replicas) -> usize {
    let upstream = logged(replicas)
        .into_iter()
        .rev()
        .find(|l| l.status < 400 && l.session.is_some())
        .expect("a session in the access log")
        .upstream;
    replicas
        .ports
        .iter()
        .position(|port| upstream.ends_with(&format!(":{port}")))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_that_dies_takes_its_sessions_with_it_and_clients_must_start_new_ones() {
    let db = TestDb::new().await;
    let mut replicas = session_replicas(&db, REPLICAS, format!("{TOKEN_NAME}:{TOKEN}")).await;
    let reference = declare_direct(&replicas, "Queue backlog").await;
    wait_listening(&db, i64::try_from(REPLICAS).unwrap(), || replicas.logs()).await;
    let uri = format!("incident://{reference}");

    let (strict, _updates) = session(&replicas, TOKEN, false).await;
    reads(&strict, &reference, &replicas).await;
    strict
        .subscribe(SubscribeRequestParams::new(&uri))
        .await
        .unwrap();
    let home = newest_session_replica(&replicas);
    // rmcp's default client starts a new session by itself when told its own is gone.
    let (lenient, _lenient_updates) = session(&replicas, TOKEN, true).await;
    reads(&lenient, &reference, &replicas).await;
    lenient
        .subscribe(SubscribeRequestParams::new(&uri))
        .await
        .unwrap();
    assert_eq!(
        newest_session_replica(&replicas),
        home,
        "one token, one replica"
    );

    replicas.kill(home).await;
    // nginx passes the refused connection on to another replica, which has no such session.
    let gone = tool(&strict, "get_incident", json!({"incident": reference})).await;
    eprintln!("a session whose replica was killed: {gone:?}");
    assert!(gone.is_err(), "{gone:?}");
    let renewed = tool(&lenient, "get_incident", json!({"incident": reference})).await;
    eprintln!(
        "the same with rmcp's re-initialization: {}",
        renewed.is_ok()
    );
    // The call succeeds in a new session on a surviving replica. That session is not
    // subscribed to anything: rmcp's re-initialization sends `initialize` and
    // `notifications/initialized` only, so the client must subscribe again itself.
    assert!(renewed.is_ok(), "{renewed:?}");
    assert_ne!(newest_session_replica(&replicas), home);

    // A new session works at once, on a surviving replica.
    let (fresh, _fresh_updates) = session(&replicas, TOKEN, false).await;
    reads(&fresh, &reference, &replicas).await;
    let moved = newest_session_replica(&replicas);
    assert_ne!(moved, home);

    // Once the replica is back, nginx sends the token to it again: the session made
    // elsewhere meanwhile is unknown there.
    replicas.restart(home).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let error = loop {
        match tool(&fresh, "list_incidents", json!({})).await {
            Err(error) => break error,
            Ok(_) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the restarted replica took no request within {PATIENCE:?}:\n{}",
                    replicas.nginx.access_log()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    eprintln!("a session made while its replica was down, after the restart: {error}");
    let (again, _again_updates) = session(&replicas, TOKEN, false).await;
    reads(&again, &reference, &replicas).await;
    assert_eq!(newest_session_replica(&replicas), home);
    eprintln!("access log:\n{}", replicas.nginx.access_log());
    for client in [strict, lenient, fresh, again] {
        let _ = client.cancel().await;
    }
}
