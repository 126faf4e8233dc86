//! Three `serve --http` replicas on one PostgreSQL behind nginx, configured by the shipped
//! `deploy/nginx.conf`: the races of `races.rs` hold across replicas (the database, not a
//! process, decides), and nginx's access log shows that every replica took part.
//! `replicas/failures.rs`: kill -9 under load and a rolling restart. `replicas/sessions.rs`:
//! MCP sessions (`--http-sessions`) through nginx.

mod failures;
mod sessions;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::support::TestDb;
use crate::support::nginx::{Mode, Nginx};
use crate::support::replicas::{Replicas, call_through, content, http_client};
use crate::support::signals::{alertmanager, secret};

/// Replicas in every test.
const REPLICAS: usize = 3;

/// Asserts that nginx spread the requests over every replica, so the race really was
/// between processes.
fn assert_every_replica_served(replicas: &Replicas) {
    let served = replicas.served_by_replica();
    assert!(
        served.iter().all(|&n| n > 0),
        "requests per replica {served:?}; access log:\n{}",
        replicas.nginx.access_log()
    );
}

/// `n` concurrent calls of `tool` through nginx, each with its own connection pool; the
/// results in order.
async fn concurrently(url: &str, tool: &str, arguments: Vec<Value>) -> Vec<Value> {
    let calls = arguments.into_iter().map(|arguments| {
        let (url, tool) = (url.to_owned(), tool.to_owned());
        tokio::spawn(async move { call_through(&http_client(), &url, &tool, arguments).await })
    });
    join_all(calls)
        .await
        .into_iter()
        .map(|joined| joined.unwrap().unwrap_or_else(|err| panic!("{err}")))
        .collect()
}

/// Declares an incident through nginx; its reference.
async fn declare(url: &str, title: &str) -> String {
    let result = call_through(
        &http_client(),
        url,
        "declare_incident",
        json!({"title": title, "severity": "SEV3"}),
    )
    .await
    .unwrap();
    content(&result)["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_shipped_nginx_config_passes_nginx_t_stateless_and_with_sessions() {
    for mode in [Mode::Stateless, Mode::Sessions] {
        let (ok, output) = Nginx::test_config(&[18081, 18082, 18083], mode).await;
        assert!(ok, "nginx -t failed ({mode:?}):\n{output}");
        assert!(output.contains("test is successful"), "{mode:?}: {output}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_alert_delivered_through_three_replicas_at_once_makes_one_alert_and_one_incident() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let alerting = dir.path().join("alerting.yaml");
    std::fs::write(
        &alerting,
        "sources:\n  - {name: am, kind: alertmanager, secret_env: AM_SECRET}\n\
         routes:\n  - name: default\n    title: \"{{ labels.alertname }}\"\n",
    )
    .unwrap();
    let replicas = Replicas::start_with(&db, REPLICAS, move |command| {
        command
            .arg("--alerting")
            .arg(&alerting)
            .env("AM_SECRET", secret("AM_SECRET"));
    })
    .await;
    let body = alertmanager(&[(
        "firing",
        "fp-one",
        &[("alertname", "DiskFull"), ("severity", "critical")],
    )]);
    let url = format!("{}/hooks/alertmanager/am", replicas.nginx.base());
    let deliveries = (0..30).map(|_| {
        let (url, body) = (url.clone(), body.clone());
        tokio::spawn(async move {
            let response = http_client()
                .post(url)
                .bearer_auth(secret("AM_SECRET"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        })
    });
    for delivery in join_all(deliveries).await {
        let (status, text) = delivery.unwrap();
        assert_eq!(status, 200, "{text}\n{}", replicas.logs());
    }
    assert_eq!(db.count("alert").await, 1, "one fingerprint, one alert");
    assert_eq!(db.count("incident").await, 1);
    assert_eq!(db.count("timeline_entry where kind = 'alert'").await, 1);
    assert_every_replica_served(&replicas);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_sent_to_three_replicas_at_once_makes_one_incident() {
    let db = TestDb::new().await;
    let replicas = Replicas::start(&db, REPLICAS).await;
    let arguments = json!({"title": "Payments failing", "severity": "SEV1",
        "idempotency_key": "req-7f3a"});
    let results = concurrently(
        &replicas.nginx.mcp(),
        "declare_incident",
        vec![arguments; 30],
    )
    .await;
    let incidents: std::collections::BTreeSet<String> = results
        .iter()
        .map(|r| content(r)["incident"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(incidents.len(), 1, "every caller got the same answer");
    let replayed = results
        .iter()
        .filter(|r| content(r)["replayed"] == true)
        .count();
    assert_eq!(
        replayed, 29,
        "one call wrote, the others were answered with it"
    );
    assert_eq!(db.count("incident").await, 1);
    assert_eq!(db.count("idempotency_key").await, 1);
    assert_every_replica_served(&replicas);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_on_one_version_through_different_replicas_let_exactly_one_through() {
    let db = TestDb::new().await;
    let replicas = Replicas::start(&db, REPLICAS).await;
    let url = replicas.nginx.mcp();
    // Ten rounds, so that the two writers of most rounds land on different replicas.
    for round in 0..10 {
        let reference = declare(&url, &format!("Race {round}")).await;
        let updates = ["from agent A", "from agent B"]
            .map(
                |summary| json!({"incident": reference, "expected_version": 1, "summary": summary}),
            )
            .to_vec();
        let results = concurrently(&url, "update_incident", updates).await;
        let winners = results.iter().filter(|r| r["isError"] != true).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        let loser = results.iter().find(|r| r["isError"] == true).unwrap();
        let error = &loser["structuredContent"]["error"];
        assert_eq!(error["code"], "conflict", "{loser}");
        assert_eq!(error["current_version"], 2, "{loser}");
    }
    assert_eq!(
        db.count("timeline_entry where kind = 'field_change'").await,
        10,
        "one change per round"
    );
    assert_every_replica_served(&replicas);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn timeline_entries_written_through_three_replicas_are_all_kept_in_order() {
    let db = TestDb::new().await;
    let replicas = Replicas::start(&db, REPLICAS).await;
    let url = replicas.nginx.mcp();
    let reference = declare(&url, "Busy timeline").await;
    const WRITERS: usize = 8;
    const ENTRIES: usize = 10;
    // Each writer adds its entries one after another; the writers run at once.
    let writers = (0..WRITERS).map(|writer| {
        let (url, reference) = (url.clone(), reference.clone());
        tokio::spawn(async move {
            let http = http_client();
            for entry in 0..ENTRIES {
                let arguments = json!({"incident": reference, "kind": "note",
                    "body": format!("w{writer}-{entry}")});
                let result = call_through(&http, &url, "add_timeline_entry", arguments)
                    .await
                    .unwrap();
                content(&result);
            }
        })
    });
    for writer in join_all(writers).await {
        writer.unwrap();
    }
    let notes: Vec<(String, i64)> =
        sqlx::query_as("select body, seq from timeline_entry where kind = 'note' order by seq")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(notes.len(), WRITERS * ENTRIES, "none lost: {notes:?}");
    let bodies: std::collections::BTreeSet<&str> = notes.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(bodies.len(), WRITERS * ENTRIES, "none twice: {notes:?}");
    // Each writer's entries are in the order it wrote them, whichever replica took each.
    for writer in 0..WRITERS {
        let order: Vec<&str> = notes
            .iter()
            .map(|(body, _)| body.as_str())
            .filter(|body| body.starts_with(&format!("w{writer}-")))
            .collect();
        let written: Vec<String> = (0..ENTRIES).map(|e| format!("w{writer}-{e}")).collect();
        assert_eq!(order, written, "writer {writer}");
    }
    // The timeline an agent reads through any replica is in the order of the database:
    // when each entry happened, then its sequence number (entries from different replicas
    // may take their clock readings and their sequence numbers in different orders).
    let by_time: Vec<(String,)> = sqlx::query_as(
        "select body from timeline_entry where kind = 'note' order by occurred_at, seq",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let timeline = call_through(
        &http_client(),
        &url,
        "get_timeline",
        json!({"incident": reference, "kinds": "note", "limit": 200}),
    )
    .await
    .unwrap();
    let read: Vec<&str> = content(&timeline)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    let stored: Vec<&str> = by_time.iter().map(|(b,)| b.as_str()).collect();
    assert_eq!(read, stored);
    for writer in 0..WRITERS {
        let prefix = format!("w{writer}-");
        let order: Vec<&str> = read
            .iter()
            .copied()
            .filter(|b| b.starts_with(&prefix))
            .collect();
        let written: Vec<String> = (0..ENTRIES).map(|e| format!("{prefix}{e}")).collect();
        assert_eq!(order, written, "writer {writer}, as read");
    }
    assert_every_replica_served(&replicas);
}
