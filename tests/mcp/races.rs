//! Concurrency: optimistic versions, dedup keys and idempotency keys under parallel calls.

use std::sync::Arc;

use futures::future::join_all;
use serde_json::json;

use crate::support::{TestDb, call, declare};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_updates_with_one_expected_version_let_exactly_one_through() {
    let db = TestDb::new().await;
    let client = Arc::new(db.client().await);
    let reference = declare(&client, "Race", "SEV3").await;
    let updates = ["from agent A", "from agent B"].map(|summary| {
        let client = client.clone();
        let reference = reference.clone();
        tokio::spawn(async move {
            call(
                &client,
                "update_incident",
                json!({"incident": reference, "expected_version": 1, "summary": summary}),
            )
            .await
        })
    });
    let results: Vec<_> = join_all(updates)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let succeeded = results.iter().filter(|r| r.is_error != Some(true)).count();
    assert_eq!(succeeded, 1, "{results:?}");
    let loser = results.iter().find(|r| r.is_error == Some(true)).unwrap();
    let error = &loser.structured_content.as_ref().unwrap()["error"];
    assert_eq!(error["code"], "conflict");
    assert_eq!(error["current_version"], 2);
    assert_eq!(
        db.count("timeline_entry where kind = 'field_change'").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_of_different_fields_without_a_version_all_land() {
    let db = TestDb::new().await;
    let clients = db.clients(5).await;
    let reference = declare(&clients[0], "Lost updates?", "SEV3").await;
    let edits = [
        json!({"title": "Checkout errors"}),
        json!({"summary": "5xx from checkout-api"}),
        json!({"impact": "Some customers cannot pay"}),
        json!({"severity": "SEV2"}),
        json!({"services": ["checkout-api"]}),
    ];
    let updates = clients.iter().zip(edits).map(|(client, mut edit)| {
        let client = client.clone();
        edit["incident"] = json!(reference);
        tokio::spawn(async move { call(&client, "update_incident", edit).await })
    });
    for result in join_all(updates).await {
        let result = result.unwrap();
        assert_ne!(result.is_error, Some(true), "{result:?}");
    }
    let got = call(&clients[0], "get_incident", json!({"incident": reference})).await;
    let incident = &got.structured_content.as_ref().unwrap()["incident"];
    // Every edit was applied to what the others left: none overwrote another.
    assert_eq!(incident["title"], "Checkout errors");
    assert_eq!(incident["summary"], "5xx from checkout-api");
    assert_eq!(incident["impact"], "Some customers cannot pay");
    assert_eq!(incident["severity"], "SEV2");
    assert_eq!(incident["services"], json!(["checkout-api"]));
    assert_eq!(incident["version"], 6);
    assert_eq!(
        db.count("timeline_entry where kind in ('field_change', 'severity_change')")
            .await,
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_declares_with_one_dedup_key_make_one_incident() {
    let db = TestDb::new().await;
    let clients = db.clients(5).await;
    let declares = (0..50).map(|n| {
        let client = clients[n % clients.len()].clone();
        tokio::spawn(async move {
            call(&client, "declare_incident",
                json!({"title": format!("Alert fired #{n}"), "severity": "SEV3", "dedup_key": "fp-storm"})).await
        })
    });
    let results: Vec<_> = join_all(declares)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        results.iter().all(|r| r.is_error != Some(true)),
        "{results:?}"
    );
    let new = results
        .iter()
        .filter(|r| r.structured_content.as_ref().unwrap()["deduplicated"] == false)
        .count();
    assert_eq!(new, 1);
    assert_eq!(db.count("incident").await, 1);
    assert_eq!(db.count("timeline_entry where kind = 'alert'").await, 49);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_idempotency_key_make_one_incident() {
    let db = TestDb::new().await;
    let clients = db.clients(4).await;
    let retries = (0..20).map(|n| {
        let client = clients[n % clients.len()].clone();
        tokio::spawn(async move {
            call(&client, "declare_incident",
                json!({"title": "Payments failing", "severity": "SEV1", "idempotency_key": "req-7f3a"})).await
        })
    });
    let results: Vec<_> = join_all(retries)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ids: std::collections::BTreeSet<String> = results
        .iter()
        .map(|r| {
            r.structured_content.as_ref().unwrap()["incident"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    assert_eq!(db.count("incident").await, 1);
    assert_eq!(db.count("idempotency_key").await, 1);
    let replays = results
        .iter()
        .filter(|r| r.structured_content.as_ref().unwrap()["replayed"] == true)
        .count();
    assert_eq!(replays, 19);
}
