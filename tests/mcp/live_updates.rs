//! Live updates across processes: a session subscribed to `incident://INC-n` hears of changes
//! made through another process on the same database (`LISTEN/NOTIFY`), only for its URIs,
//! until it unsubscribes; after the listening connection is killed, subscribers are told to
//! re-read. Stdio always keeps its session; HTTP only with `--http-sessions`.
#![allow(
    deprecated,
    reason = "resources/subscribe is how session-based protocol revisions subscribe"
)]

mod in_process;

use std::process::Stdio;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{SubscribeRequestParams, UnsubscribeRequestParams};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use serde_json::json;
use tokio::sync::mpsc;

use crate::support::children::{Captured, HttpServer, PATIENCE, TOKEN, TOKEN_NAME, firebreak};
use crate::support::watcher::{LISTENING, Watcher, Watching, wait_listening};
use crate::support::{Client, TestDb, call, declare, ok};

/// How long to keep watching for an update that must not come, once a later one has come.
const QUIET: Duration = Duration::from_millis(500);
/// A token without `incidents:read`.
const AUDITOR: &str = "fedcba9876543210fedc";

/// The URIs a watcher was told about, in order.
struct Updates(mpsc::UnboundedReceiver<String>);

impl Updates {
    /// Every update up to and including the first for `uri`, failing after `PATIENCE`.
    async fn until(&mut self, uri: &str, stderr: &Captured) -> Vec<String> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let Ok(next) = tokio::time::timeout_at(deadline, self.0.recv()).await else {
                panic!(
                    "no update for {uri} within {PATIENCE:?} (saw {seen:?}); stderr:\n{}",
                    stderr.text()
                );
            };
            let next = next.expect("the watcher is gone");
            let done = next == uri;
            seen.push(next);
            if done {
                return seen;
            }
        }
    }

    /// The updates arriving within [`QUIET`].
    async fn within_quiet(&mut self) -> Vec<String> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + QUIET;
        while let Ok(Some(next)) = tokio::time::timeout_at(deadline, self.0.recv()).await {
            seen.push(next);
        }
        seen
    }
}

/// `firebreak serve` over stdio on `db`, with a watching client.
async fn stdio_watcher(db: &TestDb) -> (Watching, Updates, Captured) {
    let command = firebreak().configure(|c| {
        c.arg("serve").env("DATABASE_URL", db.url());
    });
    let (transport, stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn firebreak serve");
    let stderr = Captured::collect(stderr.expect("piped stderr"));
    let (sender, receiver) = mpsc::unbounded_channel();
    let watcher = Watcher { updates: sender };
    let Ok(handshake) = tokio::time::timeout(PATIENCE, watcher.serve(transport)).await else {
        panic!("no handshake; stderr:\n{}", stderr.text());
    };
    let client = handshake
        .unwrap_or_else(|err| panic!("handshake failed: {err}; stderr:\n{}", stderr.text()));
    (client, Updates(receiver), stderr)
}

/// A watching rmcp client of `server` over Streamable HTTP, with `token`.
async fn http_watcher(server: &HttpServer, token: &str) -> (Watching, Updates) {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(server.mcp()).auth_header(token),
    );
    let (sender, receiver) = mpsc::unbounded_channel();
    let watcher = Watcher { updates: sender };
    let stderr = &server.stderr;
    let Ok(handshake) = tokio::time::timeout(PATIENCE, watcher.serve(transport)).await else {
        panic!("no handshake; stderr:\n{}", stderr.text());
    };
    let client = handshake
        .unwrap_or_else(|err| panic!("handshake failed: {err}; stderr:\n{}", stderr.text()));
    (client, Updates(receiver))
}

async fn subscribe(client: &Watching, uri: &str) -> Result<(), String> {
    client
        .peer()
        .subscribe(SubscribeRequestParams::new(uri))
        .await
        .map_err(|err| err.to_string())
}

async fn note(client: &Client, incident: &str, body: &str) {
    ok(call(
        client,
        "add_timeline_entry",
        json!({"incident": incident, "kind": "note", "body": body}),
    )
    .await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_subscriber_hears_of_its_incident_changing_through_another_replica_only() {
    let db = TestDb::new().await;
    let replica = HttpServer::start(&db).await;
    let writer = replica.client().await;
    let one = declare(&writer, "Checkout errors", "SEV2").await;
    let two = declare(&writer, "Search slow", "SEV3").await;
    let (watcher, mut updates, stderr) = stdio_watcher(&db).await;
    let caps = watcher.peer_info().unwrap().capabilities.resources.clone();
    assert_eq!(
        caps.and_then(|r| r.subscribe),
        Some(true),
        "stdio advertises subscribe"
    );
    wait_listening(&db, 1, || stderr.text()).await;
    let brief_one = format!("incident://{one}");
    let timeline_two = format!("incident://{two}/timeline");
    subscribe(&watcher, &brief_one).await.unwrap();
    subscribe(&watcher, &timeline_two).await.unwrap();

    // Notices arrive in commit order: once INC-2's has come, INC-1 must not have been named.
    note(&writer, &two, "index rebuilt").await;
    assert_eq!(
        updates.until(&timeline_two, &stderr).await,
        [timeline_two.as_str()]
    );
    ok(call(
        &writer,
        "update_incident",
        json!({"incident": one, "severity": "SEV1"}),
    )
    .await);
    assert_eq!(
        updates.until(&brief_one, &stderr).await,
        [brief_one.as_str()]
    );
    assert_eq!(
        updates.within_quiet().await,
        Vec::<String>::new(),
        "one update per change"
    );

    watcher
        .peer()
        .unsubscribe(UnsubscribeRequestParams::new(&brief_one))
        .await
        .unwrap();
    note(&writer, &one, "rolled back").await;
    note(&writer, &two, "still slow").await;
    assert_eq!(
        updates.until(&timeline_two, &stderr).await,
        [timeline_two.as_str()],
        "no update for an unsubscribed URI"
    );
    watcher.cancel().await.unwrap();
    writer.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_session_subscriber_hears_of_changes_made_through_another_replica() {
    let db = TestDb::new().await;
    let sessions = HttpServer::start_with(&db.url(), |c| {
        c.arg("--http-sessions");
    })
    .await;
    let stateless = HttpServer::start(&db).await;
    let writer = stateless.client().await;
    let incident = declare(&writer, "Payments failing", "SEV1").await;
    // Stateless HTTP cannot deliver updates: it does not offer them, and refuses them.
    let offered = writer.peer_info().unwrap().capabilities.resources.clone();
    assert_eq!(offered.and_then(|r| r.subscribe), None);
    let uri = format!("incident://{incident}");
    let refused = writer
        .peer()
        .subscribe(SubscribeRequestParams::new(&uri))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("--http-sessions"), "{refused}");

    let (watcher, mut updates) = http_watcher(&sessions, TOKEN).await;
    let caps = watcher.peer_info().unwrap().capabilities.resources.clone();
    assert_eq!(caps.and_then(|r| r.subscribe), Some(true));
    wait_listening(&db, 1, || sessions.stderr.text()).await;
    subscribe(&watcher, &uri).await.unwrap();
    note(&writer, &incident, "failing over the gateway").await;
    assert_eq!(updates.until(&uri, &sessions.stderr).await, [uri.as_str()]);
    watcher.cancel().await.unwrap();
    writer.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_listener_reconnects_subscribers_are_told_to_re_read() {
    let db = TestDb::new().await;
    let writer = db.client().await;
    let incident = declare(&writer, "Queue backlog", "SEV2").await;
    let (watcher, mut updates, stderr) = stdio_watcher(&db).await;
    wait_listening(&db, 1, || stderr.text()).await;
    let uri = format!("incident://{incident}");
    subscribe(&watcher, &uri).await.unwrap();

    let (terminated,): (i64,) = sqlx::query_as(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity \
         where query ilike $1 and datname = current_database()) t",
    )
    .bind(LISTENING)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(terminated, 1);
    // Nothing changed, but what changed while nobody listened is unknown: re-read.
    assert_eq!(updates.until(&uri, &stderr).await, [uri.as_str()]);
    // And the new connection relays again.
    wait_listening(&db, 1, || stderr.text()).await;
    note(&writer, &incident, "consumers scaled up").await;
    assert_eq!(updates.until(&uri, &stderr).await, [uri.as_str()]);
    watcher.cancel().await.unwrap();
    writer.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_to_what_is_not_an_existing_incident_or_without_read_scope_is_refused() {
    let db = TestDb::new().await;
    let writer = db.client().await;
    let incident = declare(&writer, "DNS flapping", "SEV3").await;
    let (watcher, _updates, _stderr) = stdio_watcher(&db).await;
    for (uri, needle) in [
        (
            "runbook://disk-full",
            "cannot subscribe to `runbook://disk-full`",
        ),
        ("incident://INC-x", "cannot subscribe to `incident://INC-x`"),
        ("audit://log", "cannot subscribe to `audit://log`"),
        ("incident://INC-999", "INC-999"),
    ] {
        let refused = subscribe(&watcher, uri).await.unwrap_err();
        assert!(refused.contains(needle), "{uri}: {refused}");
    }
    let missing = subscribe(&watcher, "incident://INC-999").await.unwrap_err();
    assert!(missing.contains("does not exist"), "{missing}");
    subscribe(&watcher, &format!("postmortem://{incident}"))
        .await
        .unwrap();
    watcher.cancel().await.unwrap();

    let sessions = HttpServer::start_with(&db.url(), |c| {
        c.arg("--http-sessions").env(
            "FIREBREAK_TOKENS",
            format!("{TOKEN_NAME}:{TOKEN},auditor[admin]:{AUDITOR}"),
        );
    })
    .await;
    let (auditor, _updates) = http_watcher(&sessions, AUDITOR).await;
    let refused = subscribe(&auditor, &format!("incident://{incident}"))
        .await
        .unwrap_err();
    // The HTTP layer answers 403 with the `insufficient_scope` challenge before rmcp runs.
    let lowered = refused.to_lowercase();
    assert!(lowered.contains("insufficient scope"), "{refused}");
    auditor.cancel().await.unwrap();
    writer.cancel().await.unwrap();
}
