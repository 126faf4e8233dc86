//! Replicas failing under load: `kill -9` costs only the calls in flight on the killed
//! replica, which the client's retry with the same idempotency key completes exactly once; a
//! rolling restart (SIGTERM, wait, start, wait healthy, each in turn) costs no call at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{REPLICAS, declare};
use crate::support::TestDb;
use crate::support::replicas::{Replicas, call_through, content, http_client};

/// Concurrent callers of the load.
const CALLERS: usize = 12;

/// What one caller saw.
#[derive(Debug, Default)]
struct Caller {
    /// Calls that succeeded (after retries, if any).
    succeeded: usize,
    /// Calls that needed at least one retry, and how many attempts each took.
    retried: Vec<usize>,
    /// Answers replayed for a retry: the failed attempt had committed.
    replayed: usize,
    /// Calls that failed (without retries), with why.
    failures: Vec<String>,
}

/// One caller's loop: `add_timeline_entry` with an idempotency key per call, until `stop`
/// (or `calls` calls); with `retry`, a failed call is sent again with the same key.
async fn caller(
    url: String,
    reference: String,
    index: usize,
    retry: bool,
    stop: CancellationToken,
    completed: Arc<AtomicUsize>,
) -> Caller {
    let http = http_client();
    let mut seen = Caller::default();
    let mut call = 0;
    while !stop.is_cancelled() {
        let key = format!("c{index}-{call}");
        let arguments = json!({"incident": reference, "kind": "note", "body": key,
            "idempotency_key": key});
        let mut attempts = 0;
        loop {
            attempts += 1;
            match call_through(&http, &url, "add_timeline_entry", arguments.clone()).await {
                Ok(result) => {
                    if content(&result)["replayed"] == true {
                        seen.replayed += 1;
                    }
                    seen.succeeded += 1;
                    if attempts > 1 {
                        seen.retried.push(attempts);
                    }
                    break;
                }
                Err(_) if retry && attempts < 10 => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => {
                    seen.failures.push(format!("{key}: {err}"));
                    break;
                }
            }
        }
        completed.fetch_add(1, Ordering::Relaxed);
        call += 1;
    }
    seen
}

/// Starts the callers; returns their handles and the count of calls completed so far.
fn load(
    url: &str,
    reference: &str,
    retry: bool,
    stop: &CancellationToken,
) -> (Vec<tokio::task::JoinHandle<Caller>>, Arc<AtomicUsize>) {
    let completed = Arc::new(AtomicUsize::new(0));
    let tasks = (0..CALLERS)
        .map(|index| {
            tokio::spawn(caller(
                url.to_owned(),
                reference.to_owned(),
                index,
                retry,
                stop.clone(),
                completed.clone(),
            ))
        })
        .collect();
    (tasks, completed)
}

/// Waits until `completed` has grown by `more` calls (the load is running), within 60 s.
async fn until_more_calls(completed: &AtomicUsize, more: usize) {
    let target = completed.load(Ordering::Relaxed) + more;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while completed.load(Ordering::Relaxed) < target {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the load stalled at {} calls",
            completed.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The notes in the database: how many, and how many distinct bodies.
async fn notes(db: &TestDb) -> (i64, i64) {
    sqlx::query_as("select count(*), count(distinct body) from timeline_entry where kind = 'note'")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_under_load_costs_only_its_calls_in_flight_which_a_retry_completes_once() {
    let db = TestDb::new().await;
    let mut replicas = Replicas::start(&db, REPLICAS).await;
    let url = replicas.nginx.mcp();
    let reference = declare(&url, "Load").await;
    let stop = CancellationToken::new();
    let (tasks, completed) = load(&url, &reference, true, &stop);
    until_more_calls(&completed, 150).await;
    replicas.kill(1).await;
    until_more_calls(&completed, 150).await;
    stop.cancel();
    let mut callers = Vec::new();
    for task in tasks {
        callers.push(task.await.unwrap());
    }
    let calls: usize = callers.iter().map(|c| c.succeeded).sum();
    let retried: Vec<usize> = callers.iter().flat_map(|c| c.retried.clone()).collect();
    let replayed: usize = callers.iter().map(|c| c.replayed).sum();
    let failures: Vec<&String> = callers.iter().flat_map(|c| &c.failures).collect();
    eprintln!(
        "kill -9 under load: {calls} calls, {} retried (attempts {retried:?}), {replayed} of \
         them had committed before the kill (answered `replayed`)",
        retried.len()
    );
    assert!(failures.is_empty(), "{failures:?}\n{}", replicas.logs());
    // Every call is in the database exactly once.
    let (rows, distinct) = notes(&db).await;
    assert_eq!(rows, i64::try_from(calls).unwrap(), "rows = calls");
    assert_eq!(distinct, rows, "no call twice");
    // A caller has one call in flight at a time, so at most one per caller was on the killed
    // replica; nginx passed everything that had not reached it (refused connects) on by
    // itself, and each retried call succeeded on its first retry.
    assert!(
        retried.len() <= CALLERS,
        "{} calls needed a retry, more than were in flight ({CALLERS}): {retried:?}",
        retried.len()
    );
    assert!(retried.iter().all(|&a| a == 2), "attempts: {retried:?}");
    assert!(replayed <= retried.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_under_load_loses_no_call() {
    let db = TestDb::new().await;
    let mut replicas = Replicas::start(&db, REPLICAS).await;
    let url = replicas.nginx.mcp();
    let reference = declare(&url, "Rolling").await;
    let stop = CancellationToken::new();
    // No retries: a call that fails is lost, and counted.
    let (tasks, completed) = load(&url, &reference, false, &stop);
    until_more_calls(&completed, 100).await;
    for index in 0..REPLICAS {
        replicas.stop(index).await;
        until_more_calls(&completed, 50).await;
        replicas.restart(index).await;
        // As an operator's script would: the next replica stops only once nginx sends
        // requests to this one again (it waits `fail_timeout` after the refused connects).
        // Stopping them faster can leave nginx with every replica marked down at once.
        until_serving_again(&replicas, index, &completed).await;
    }
    // Every replica serves again once restarted (nginx tries a replica it saw fail again
    // after `fail_timeout`).
    let before = replicas.served_by_replica();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut after = before.clone();
    while !before.iter().zip(&after).all(|(b, a)| a > b) && tokio::time::Instant::now() < deadline {
        until_more_calls(&completed, 10).await;
        after = replicas.served_by_replica();
    }
    stop.cancel();
    let mut callers = Vec::new();
    for task in tasks {
        callers.push(task.await.unwrap());
    }
    let calls: usize = callers.iter().map(|c| c.succeeded).sum();
    let failures: Vec<&String> = callers.iter().flat_map(|c| &c.failures).collect();
    eprintln!(
        "rolling restart under load: {calls} calls, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} calls failed: {failures:#?}\n{}",
        failures.len(),
        calls + failures.len(),
        replicas.logs()
    );
    let (rows, distinct) = notes(&db).await;
    assert_eq!(rows, i64::try_from(calls).unwrap());
    assert_eq!(distinct, rows);
    assert!(
        before.iter().zip(&after).all(|(b, a)| a > b),
        "requests per replica before {before:?}, after {after:?}"
    );
}

/// Waits (with the load running) until nginx has passed requests to replica `index` again.
async fn until_serving_again(replicas: &Replicas, index: usize, completed: &AtomicUsize) {
    let before = replicas.served_by_replica()[index];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while replicas.served_by_replica()[index] <= before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nginx sent replica {index} nothing within 30 s of its restart:\n{}",
            replicas.logs()
        );
        until_more_calls(completed, 10).await;
    }
}
