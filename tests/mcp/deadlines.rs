//! A hung database. Every process of a private PostgreSQL cluster is frozen with SIGSTOP while
//! agents keep calling `firebreak serve --http`: each call is answered `unavailable` when its
//! deadline passes (it does not hang), `/healthz` answers 503, and once the database thaws
//! none of the writes the callers gave up on is committed late (the deadline guard refuses
//! them), while a keyed retry applies exactly once.

use std::time::Duration;

use futures::future::join_all;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::support::children::{EmbeddedDir, HttpServer, PATIENCE};
use crate::support::{Client, call, failure, ok};

/// The deadline the server is given (short, so the test is quick).
const DEADLINE: &str = "2s";
/// How long the database stays frozen: well past the deadline.
const FROZEN: Duration = Duration::from_secs(5);

fn signal_all(pids: &[i32], signal: Signal) {
    for pid in pids {
        // A process may have exited meanwhile (a backend whose client left).
        let _ = kill(Pid::from_raw(*pid), signal);
    }
}

/// Calls `tool`, failing the test if no answer comes within `PATIENCE` (a hang).
async fn answered(client: &Client, tool: &str, args: Value) -> rmcp::model::CallToolResult {
    tokio::time::timeout(PATIENCE, call(client, tool, args))
        .await
        .unwrap_or_else(|_| panic!("{tool} hung on a frozen database"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_database_answers_unavailable_and_late_writes_never_commit() {
    let dir = EmbeddedDir::new();
    let url = dir.start().await;
    let server = HttpServer::start_with(&url, |command| {
        command.env("FIREBREAK_CALL_TIMEOUT", DEADLINE);
    })
    .await;
    let client = server.client().await;
    let declared = ok(answered(
        &client,
        "declare_incident",
        json!({"title": "Checkout errors", "severity": "SEV2", "summary": "before"}),
    )
    .await);
    assert_eq!(declared["incident"]["reference"], "INC-1");
    // Warm the pool: the calls below then find idle connections that have their statements
    // prepared already, so they send them straight into the frozen database's sockets (rather
    // than waiting for a connection, or for a statement to be parsed).
    let warm = (0..8).map(|n| {
        let args = json!({"incident": "INC-1", "kind": "note", "body": format!("warm-{n}")});
        answered(&client, "add_timeline_entry", args)
    });
    for result in join_all(warm).await {
        ok(result);
    }

    let frozen = dir.processes();
    signal_all(&frozen, Signal::SIGSTOP);
    let thaw_at = tokio::time::Instant::now() + FROZEN;

    let unkeyed = (0..4).map(|n| {
        let args =
            json!({"incident": "INC-1", "kind": "note", "body": format!("late-unkeyed-{n}")});
        answered(&client, "add_timeline_entry", args)
    });
    let keyed = (0..2).map(|n| {
        let args = json!({"incident": "INC-1", "kind": "note", "body": format!("late-keyed-{n}"),
            "idempotency_key": format!("late-{n}")});
        answered(&client, "add_timeline_entry", args)
    });
    let update = answered(
        &client,
        "update_incident",
        json!({"incident": "INC-1", "summary": "late summary"}),
    );
    let read = answered(&client, "get_incident", json!({"incident": "INC-1"}));
    let health = reqwest::Client::new()
        .get(format!("{}/healthz", server.base))
        .timeout(PATIENCE)
        .send();
    let (writes, (update, read, health)) = tokio::join!(join_all(unkeyed.chain(keyed)), async {
        tokio::join!(update, read, health)
    });
    for result in writes.into_iter().chain([update, read]) {
        let refused = failure(result);
        assert_eq!(refused.code, "unavailable", "{}", refused.message);
        assert_eq!(refused.details["deadline_ms"], 2000, "{}", refused.details);
    }
    let health = health.expect("/healthz answers while the database is frozen");
    assert_eq!(health.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);

    tokio::time::sleep_until(thaw_at).await;
    signal_all(&frozen, Signal::SIGCONT);
    let mut server = server;
    server.wait_until_healthy().await;

    // What the database received while frozen ran when it woke, and was refused at commit.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let (late,): (i64,) =
        sqlx::query_as("select count(*) from timeline_entry where body like 'late-%'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        late, 0,
        "a write answered `unavailable` was committed later"
    );
    let (summary,): (String,) = sqlx::query_as("select summary from incident where number = 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(summary, "before");

    // The callers retry with their keys: each write applies once, and once only.
    for n in 0..2 {
        let args = json!({"incident": "INC-1", "kind": "note", "body": format!("late-keyed-{n}"),
            "idempotency_key": format!("late-{n}")});
        let applied = ok(answered(&client, "add_timeline_entry", args.clone()).await);
        assert!(applied.get("replayed").is_none(), "{applied}");
        let replayed = ok(answered(&client, "add_timeline_entry", args).await);
        assert_eq!(replayed["replayed"], true);
    }
    let (keyed,): (i64,) =
        sqlx::query_as("select count(*) from timeline_entry where body like 'late-keyed-%'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(keyed, 2);
    conn.close().await.unwrap();
}
