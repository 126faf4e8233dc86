//! PostgreSQL failover under a running Firebreak: a multi-host `DATABASE_URL` with
//! `target_session_attrs=read-write`, a synchronous standby, the primary crashed under a write
//! load and the standby promoted. Firebreak must find the new primary by itself (no restart),
//! answer `unavailable` meanwhile, and lose no write it acknowledged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::children::{HttpServer, firebreak};
use crate::support::pg_pair::PgPair;
use crate::support::{Client, call, declare, failure, ok};

/// Concurrent writers, and the writes each makes.
const WRITERS: usize = 4;
const WRITES_EACH: usize = 50;
/// Writes acknowledged before the primary is crashed.
const CRASH_AFTER: usize = 60;
/// How long one write may keep failing before the test gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the writers saw, shared between them.
#[derive(Default)]
struct Seen {
    /// Acknowledged writes: body → when.
    acknowledged: BTreeMap<String, Instant>,
    /// Failed attempts by error code.
    failures: BTreeMap<String, usize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failover_loses_no_acknowledged_write_and_writes_resume_without_a_restart() {
    let pair = PgPair::start(true).await;
    let mut server = HttpServer::start_with(&pair.url(), |_| {}).await;
    let client = Arc::new(server.client().await);
    let incident = declare(&client, "Failover drill", "sev2").await;

    let seen = Arc::new(Mutex::new(Seen::default()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (client, seen, incident) = (client.clone(), seen.clone(), incident.clone());
            tokio::spawn(async move {
                for n in 0..WRITES_EACH {
                    write_until_acknowledged(&client, &seen, &incident, &format!("w{w}-{n}")).await;
                }
            })
        })
        .collect();

    while acknowledged(&seen) < CRASH_AFTER {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    pair.crash_primary();
    // The old primary is down now: whatever was acknowledged so far, it acknowledged.
    let crashed_at = Instant::now();
    let acknowledged_before_crash: Vec<String> = {
        let seen = seen.lock().unwrap();
        seen.acknowledged.keys().cloned().collect()
    };
    let promote_started = Instant::now();
    pair.promote_standby();
    let promoted_in = promote_started.elapsed();

    for writer in writers {
        writer.await.expect("a writer panicked");
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "Firebreak kept running through the failover"
    );

    // On the new primary: every acknowledged write, exactly once.
    let mut new_primary = pair.connect(pair.standby_port).await;
    let present: Vec<(String, i64)> = sqlx::query_as(
        "select body, count(*) from timeline_entry where body ~ '^w[0-9]+-[0-9]+$' group by body",
    )
    .fetch_all(&mut new_primary)
    .await
    .unwrap();
    let present: BTreeMap<String, i64> = present.into_iter().collect();
    // Every writer is done: what they saw is final.
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    for body in &acknowledged_before_crash {
        assert_eq!(
            present.get(body),
            Some(&1),
            "`{body}` was acknowledged by the old primary and must be on the new one once"
        );
    }
    assert_eq!(seen.acknowledged.len(), WRITERS * WRITES_EACH);
    for body in seen.acknowledged.keys() {
        assert_eq!(present.get(body), Some(&1), "`{body}` present once");
    }
    assert_eq!(
        present.len(),
        WRITERS * WRITES_EACH,
        "no write that was not asked for"
    );

    // Meanwhile the answers were `unavailable`, nothing else.
    let other: Vec<_> = seen
        .failures
        .iter()
        .filter(|(code, _)| code.as_str() != "unavailable")
        .collect();
    assert!(
        other.is_empty(),
        "only `unavailable` during the failover: {other:?}"
    );
    let refused: usize = seen.failures.values().sum();
    assert!(refused > 0, "the crash was felt: some writes were refused");
    let resumed = seen
        .acknowledged
        .values()
        .filter(|at| **at > crashed_at)
        .min()
        .expect("writes resumed after the crash");
    eprintln!(
        "failover: {} writes acknowledged before the crash, all present once on the new \
         primary; {} of {} in all; {refused} `unavailable` answers; promote took {} ms; the \
         first write succeeded {} ms after the primary was down",
        acknowledged_before_crash.len(),
        present.len(),
        WRITERS * WRITES_EACH,
        promoted_in.as_millis(),
        resumed.duration_since(crashed_at).as_millis()
    );

    // A server started now, with the old primary still down, finds the new one.
    let late = HttpServer::start_with(&pair.url(), |_| {}).await;
    let late_client = late.client().await;
    declare(&late_client, "After the failover", "sev3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_writable_host_is_refused_at_start_naming_each_host() {
    let pair = PgPair::start(false).await;
    let url = format!(
        "postgres://firebreak@127.0.0.1:{}/postgres?target_session_attrs=read-write",
        pair.standby_port
    );
    let output = firebreak()
        .arg("migrate")
        .env("DATABASE_URL", url)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no host of the database URL is writable")
            && stderr.contains(&format!("127.0.0.1:{} is a standby", pair.standby_port)),
        "{stderr}"
    );
    let bad = firebreak()
        .arg("migrate")
        .env(
            "DATABASE_URL",
            "postgres://firebreak@h1:1,h2/db?target_session_attrs=leader",
        )
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("target_session_attrs `leader`") && stderr.contains("read-write"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("h1:1,h2"),
        "the URL is not echoed: {stderr}"
    );
}

fn acknowledged(seen: &Mutex<Seen>) -> usize {
    seen.lock().unwrap().acknowledged.len()
}

/// Writes one timeline entry, retrying with the same idempotency key until it is acknowledged.
async fn write_until_acknowledged(client: &Client, seen: &Mutex<Seen>, incident: &str, body: &str) {
    let started = Instant::now();
    let arguments = json!({
        "incident": incident,
        "kind": "finding",
        "body": body,
        "idempotency_key": format!("failover-{body}"),
    });
    loop {
        let result = call(client, "add_timeline_entry", arguments.clone()).await;
        if result.is_error != Some(true) {
            seen.lock()
                .unwrap()
                .acknowledged
                .insert(body.to_owned(), Instant::now());
            return;
        }
        let code = failure(result).code;
        *seen.lock().unwrap().failures.entry(code).or_default() += 1;
        assert!(
            started.elapsed() < PATIENCE,
            "`{body}` still refused after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_synchronous_standby_has_not_confirmed_is_not_acknowledged() {
    let pair = PgPair::start(true).await;
    let server = HttpServer::start_with(&pair.url(), |c| {
        c.env("FIREBREAK_CALL_TIMEOUT", "1s");
    })
    .await;
    let client = server.client().await;
    let incident = declare(&client, "Standby away", "sev3").await;
    pair.stop_standby();
    let arguments = json!({
        "incident": incident,
        "kind": "finding",
        "body": "written while the standby was away",
        "idempotency_key": "standby-away-1",
    });
    let refused = failure(call(&client, "add_timeline_entry", arguments.clone()).await);
    assert_eq!(refused.code, "unavailable", "{}", refused.message);
    // Past the statement timeout (1 s, the call timeout) the commit still waits for the
    // standby: not visible yet. Had the timeout cut the wait short, PostgreSQL would have
    // committed it locally, with only a warning, and a failover then would lose it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let visible = || async {
        let (n,): (i64,) = sqlx::query_as(
            "select count(*) from timeline_entry where body = 'written while the standby was away'",
        )
        .fetch_one(&mut pair.connect(pair.primary_port).await)
        .await
        .unwrap();
        n
    };
    assert_eq!(
        visible().await,
        0,
        "not committed before the standby has it"
    );

    // The standby back, the waiting commit completes and the retry replays it.
    pair.start_standby();
    let started = Instant::now();
    loop {
        let result = call(&client, "add_timeline_entry", arguments.clone()).await;
        if result.is_error != Some(true) {
            ok(result);
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "never acknowledged after the standby returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(visible().await, 1, "written once");
    let mut standby = pair.connect(pair.standby_port).await;
    let (on_standby,): (i64,) = sqlx::query_as(
        "select count(*) from timeline_entry where body = 'written while the standby was away'",
    )
    .fetch_one(&mut standby)
    .await
    .unwrap();
    assert_eq!(on_standby, 1, "and replicated");
}
