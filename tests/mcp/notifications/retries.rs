//! Failing receivers: retried with backoff under the same `webhook-id`, `Retry-After`
//! honoured, 410 stops for good (and says why), a hung receiver times out, redirects are not
//! followed. Every attempt is in the ledger.

use std::time::Duration;

use super::{NotificationsFile, declare_with, ledger, serve, wait_for_deliveries};
use crate::support::TestDb;
use crate::support::receiver::{Receiver, Reply};

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt() {
    let db = TestDb::new().await;
    let receiver = Receiver::start(|n| Reply::status(if n < 3 { 500 } else { 204 })).await;
    let file = NotificationsFile::webhook(&receiver.url, "    events: [declared]\n");
    let server = serve(&db, &file).await;
    let client = server.client().await;
    declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    let rows = wait_for_deliveries(&db, "delivery after three failures", |rows| {
        rows.first().is_some_and(|d| d["state"] == "delivered")
    })
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["attempts"], 4);
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    let ids: Vec<&str> = got
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one webhook-id across retries: {ids:?}"
    );
    // Each retry waits longer than the one before (100 ms, then ~600 ms, then ~3.6 s, ±20 %).
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(60), "{gaps:?}");
    assert!(gaps[1] > gaps[0] && gaps[2] > gaps[1], "{gaps:?}");
    let attempts = ledger(&db, rows[0]["id"].as_i64().unwrap()).await;
    let statuses: Vec<Option<i32>> = attempts.iter().map(|a| a.1).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(500), Some(204)]);
    assert!(attempts[0].2.as_deref().unwrap_or("").contains("500"));
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let db = TestDb::new().await;
    let receiver = Receiver::start(|n| match n {
        0 => Reply::Status(429, vec![("retry-after", "2".to_owned())]),
        _ => Reply::status(200),
    })
    .await;
    let file = NotificationsFile::webhook(&receiver.url, "    events: [declared]\n");
    let server = serve(&db, &file).await;
    let client = server.client().await;
    declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    wait_for_deliveries(&db, "delivery after 429", |rows| {
        rows.first().is_some_and(|d| d["state"] == "delivered")
    })
    .await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(1900),
        "waited {:?} though the receiver asked for 2 s",
        got[1].at - got[0].at
    );
}

#[tokio::test]
async fn gone_stops_the_target_for_good_and_says_why() {
    let db = TestDb::new().await;
    let receiver = Receiver::start(|_| Reply::status(410)).await;
    let file = NotificationsFile::webhook(&receiver.url, "");
    let server = serve(&db, &file).await;
    let client = server.client().await;
    let incident = declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    let rows = wait_for_deliveries(&db, "a 410", |rows| {
        rows.first().is_some_and(|d| d["state"] == "gone")
    })
    .await;
    assert!(
        rows[0]["last_error"].as_str().unwrap().contains("410"),
        "{rows:?}"
    );
    let (reason,): (Option<String>,) =
        sqlx::query_as("select disabled_reason from notification_target where name = 'hook'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(reason.unwrap_or_default().contains("410"));
    // Later events are kept for the target but not sent while it is disabled.
    crate::support::call(
        &client,
        "update_incident",
        serde_json::json!({"incident": incident, "severity": "SEV1"}),
    )
    .await;
    wait_for_deliveries(&db, "the second event's delivery", |rows| rows.len() == 2).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing more is sent to a gone target"
    );
    // The brief tells the agent.
    let brief = crate::support::ok(
        crate::support::call(
            &client,
            "get_incident",
            serde_json::json!({"incident": incident}),
        )
        .await,
    );
    let failed = brief["failed_notifications"].as_array().unwrap();
    assert!(
        failed.iter().any(|line| {
            let line = line.as_str().unwrap();
            line.contains("incident.declared")
                && line.contains("hook")
                && line.contains("redeliver")
        }),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_hung_receiver_times_out_and_is_retried() {
    let db = TestDb::new().await;
    let receiver = Receiver::start(|n| {
        if n == 0 {
            Reply::Hang
        } else {
            Reply::status(204)
        }
    })
    .await;
    let file = NotificationsFile::webhook(&receiver.url, "    events: [declared]\n");
    let server = serve(&db, &file).await;
    let client = server.client().await;
    declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    let rows = wait_for_deliveries(&db, "delivery after a timeout", |rows| {
        rows.first().is_some_and(|d| d["state"] == "delivered")
    })
    .await;
    let attempts = ledger(&db, rows[0]["id"].as_i64().unwrap()).await;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].1, None, "no answer came");
    assert!(
        attempts[0]
            .2
            .as_deref()
            .unwrap_or("")
            .contains("no answer within 1s"),
        "{attempts:?}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let db = TestDb::new().await;
    let elsewhere = Receiver::accepting().await;
    let location = elsewhere.url.clone();
    let receiver =
        Receiver::start(move |_| Reply::Status(307, vec![("location", location.clone())])).await;
    let file = NotificationsFile::webhook(&receiver.url, "    events: [declared]\n");
    let server = serve(&db, &file).await;
    let client = server.client().await;
    declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    let rows = wait_for_deliveries(&db, "a failed attempt", |rows| {
        rows.first()
            .is_some_and(|d| d["attempts"].as_i64() >= Some(1) && d["last_status"] == 307)
    })
    .await;
    assert!(
        rows[0]["last_error"].as_str().unwrap().contains("redirect"),
        "{rows:?}"
    );
    assert!(
        elsewhere.received().is_empty(),
        "the redirect's target got nothing"
    );
}
