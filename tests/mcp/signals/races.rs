//! Concurrent deliveries: fifty senders of one new alert group declare one incident, and one
//! payload delivered twice at once is applied once.

use futures::future::join_all;

use crate::support::TestDb;
use crate::support::signals::{Signals, alertmanager};

const LABELS: &[(&str, &str)] = &[
    ("alertname", "Storm"),
    ("service", "payments"),
    ("severity", "critical"),
];

#[tokio::test]
async fn fifty_concurrent_deliveries_of_one_new_group_declare_one_incident() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let fingerprints: Vec<String> = (0..50).map(|i| format!("storm-{i}")).collect();
    let deliveries = fingerprints.iter().map(|fp| {
        let body = alertmanager(&[("firing", fp.as_str(), LABELS)]);
        signals.hook("alertmanager/am", "AM_SECRET", body)
    });
    let answers = join_all(deliveries).await;
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
    }
    let declared = answers
        .iter()
        .filter(|(_, a)| a["alerts"][0]["decision"] == "declared")
        .count();
    assert_eq!(declared, 1, "exactly one delivery declares");
    assert_eq!(db.count("incident").await, 1);
    let (attached,): (i64,) =
        sqlx::query_as("select count(*) from alert where incident_id is not null")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(attached, 50, "every alert is on the one incident");
}

#[tokio::test]
async fn one_payload_delivered_twice_at_once_is_applied_once() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    for round in 0..5 {
        let body = alertmanager(&[
            ("firing", &format!("r{round}-a"), LABELS),
            ("firing", &format!("r{round}-b"), LABELS),
        ]);
        let (first, second) = tokio::join!(
            signals.hook("alertmanager/am", "AM_SECRET", body.clone()),
            signals.hook("alertmanager/am", "AM_SECRET", body)
        );
        assert_eq!(
            (first.0.as_u16(), second.0.as_u16()),
            (200, 200),
            "{} {}",
            first.1,
            second.1
        );
    }
    assert_eq!(db.count("incident").await, 1);
    assert_eq!(
        db.count("alert").await,
        10,
        "two alerts per round, none twice"
    );
    let (entries,): (i64,) =
        sqlx::query_as("select count(*) from timeline_entry where kind = 'alert'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        entries, 10,
        "one timeline entry per alert, none for the duplicate delivery"
    );
    let (deduplicated,): (i64,) =
        sqlx::query_as("select count(*) from alert_decision where decision = 'deduplicated'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        deduplicated, 10,
        "the second delivery of each payload deduplicated both alerts"
    );
}
