//! The read replica (`FIREBREAK_READ_DATABASE_URL`): searches go to a streaming standby while
//! its data is at most `FIREBREAK_READ_MAX_LAG` old, and to the primary otherwise; `/healthz` reports
//! the lag.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::children::HttpServer;
use crate::support::pg_pair::PgPair;
use crate::support::{Client, call, declare, ok};

/// The most lag the server under test accepts.
const MAX_LAG_SECONDS: u64 = 4;
/// How long the test waits for a state it expects.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_use_a_fresh_replica_and_fall_back_to_the_primary_when_it_lags() {
    let pair = PgPair::start(false).await;
    let primary = format!(
        "postgres://firebreak@127.0.0.1:{}/postgres",
        pair.primary_port
    );
    let replica = format!(
        "postgres://firebreak@127.0.0.1:{}/postgres",
        pair.standby_port
    );
    let server = HttpServer::start_with(&primary, |c| {
        c.env("FIREBREAK_READ_DATABASE_URL", &replica)
            .env("FIREBREAK_READ_MAX_LAG", format!("{MAX_LAG_SECONDS}s"));
    })
    .await;
    let client = server.client().await;
    let health = wait_for_health(&server, |h| h["read_replica"]["in_use"] == true).await;
    assert_eq!(
        health["read_replica"]["max_lag_ms"],
        MAX_LAG_SECONDS * 1000,
        "{health}"
    );

    // A fresh replica answers searches (its data arrives within moments).
    declare(&client, "Replica drill alpha", "sev3").await;
    wait_until_found(&client, "alpha").await;

    // Replay paused: the replica is served while its lag is within bounds, so a search made
    // right after a declaration misses it: the answer came from the replica.
    let mut standby = pair.connect(pair.standby_port).await;
    sqlx::query("select pg_wal_replay_pause()")
        .execute(&mut standby)
        .await
        .unwrap();
    declare(&client, "Replica drill bravo", "sev3").await;
    assert!(
        titles(&client, "bravo").await.is_empty(),
        "a search within the lag bound is answered by the (paused) replica"
    );

    // Once the lag passes the bound, the primary answers, and `/healthz` says why.
    let health = wait_for_health(&server, |h| h["read_replica"]["in_use"] == false).await;
    let lag = health["read_replica"]["lag_ms"].as_u64().unwrap();
    assert!(lag > MAX_LAG_SECONDS * 1000, "{health}");
    assert_eq!(titles(&client, "bravo").await, ["Replica drill bravo"]);

    // Replay resumed: the replica catches up and is used again.
    sqlx::query("select pg_wal_replay_resume()")
        .execute(&mut standby)
        .await
        .unwrap();
    let health = wait_for_health(&server, |h| h["read_replica"]["in_use"] == true).await;
    assert!(
        health["read_replica"]["lag_ms"].as_u64().unwrap() <= MAX_LAG_SECONDS * 1000,
        "{health}"
    );
    assert_eq!(titles(&client, "bravo").await, ["Replica drill bravo"]);
}

/// The titles a text search finds.
async fn titles(client: &Client, text: &str) -> Vec<String> {
    let page = ok(call(client, "list_incidents", json!({"text": text})).await);
    page["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn wait_until_found(client: &Client, text: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while titles(client, text).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{text}` never found"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `/healthz` until `wanted` holds; answers that body.
async fn wait_for_health(server: &HttpServer, wanted: impl Fn(&Value) -> bool) -> Value {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let body: Value = http
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if wanted(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz never reached the expected state: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
