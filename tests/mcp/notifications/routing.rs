//! Where deliveries go when things change: a target pointed at a new URL never receives what
//! was meant for the old one; a hung target does not hold up a healthy one; a receiver cannot
//! pause a target for ever; a delivery being sent cannot be resent.

use std::time::Duration;

use super::{
    NotificationsFile, PATIENCE, SECRET, declare_with, deliveries, serve, wait_for_deliveries,
};
use crate::support::TestDb;
use crate::support::children::firebreak;
use crate::support::receiver::{Receiver, Reply};

#[tokio::test]
async fn a_target_pointed_elsewhere_gets_only_what_comes_after() {
    let db = TestDb::new().await;
    let old = Receiver::start(|_| Reply::status(503)).await;
    let file = NotificationsFile::webhook(&old.url, "    events: [declared]\n");
    let mut first = serve(&db, &file).await;
    let client = first.client().await;
    declare_with(&client, "Internal only", "SEV3", &[]).await;
    wait_for_deliveries(&db, "a failed attempt", |rows| {
        rows.first()
            .is_some_and(|d| d["attempts"].as_i64() >= Some(1))
    })
    .await;
    first.child.kill().await.unwrap();
    drop(client);

    let new = Receiver::accepting().await;
    let moved = NotificationsFile::webhook(&new.url, "    events: [declared]\n");
    let second = serve(&db, &moved).await;
    let client = second.client().await;
    declare_with(&client, "After the move", "SEV3", &[]).await;
    let rows = wait_for_deliveries(&db, "the new event's delivery", |rows| {
        rows.len() == 2 && rows[1]["state"] == "delivered"
    })
    .await;
    assert_eq!(rows[0]["state"], "failed");
    assert!(
        rows[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("another URL"),
        "{rows:?}"
    );
    let got = new.received();
    assert_eq!(got.len(), 1, "only the event after the move");
    assert!(got[0].json().to_string().contains("After the move"));
}

#[tokio::test]
async fn a_hung_target_does_not_hold_up_a_healthy_one() {
    let db = TestDb::new().await;
    let hung = Receiver::start(|_| Reply::Hang).await;
    let healthy = Receiver::accepting().await;
    let file = NotificationsFile::new(&format!(
        "delivery: {{timeout: 10s, first_retry: 100ms}}\n\
         targets:\n\
         \x20 - name: hung\n    kind: webhook\n    url: {}\n    secret_env: HOOK_SECRET\n\
         \x20 - name: healthy\n    kind: webhook\n    url: {}\n    secret_env: HOOK_SECRET\n",
        hung.url, healthy.url
    ));
    let server = serve(&db, &file).await;
    let client = server.client().await;
    const EVENTS: usize = 40;
    for n in 0..EVENTS {
        declare_with(&client, &format!("Incident {n}"), "SEV4", &[]).await;
    }
    // Everything reaches the healthy receiver while the hung one holds its sends (at most
    // 16 at a time) for its 10 s timeout.
    healthy.wait_for(EVENTS, Duration::from_secs(8)).await;
    assert!(
        hung.received().len() <= 16,
        "{} sends to the hung target",
        hung.received().len()
    );
}

#[tokio::test]
async fn a_receiver_cannot_pause_a_target_for_ever() {
    let db = TestDb::new().await;
    let receiver = Receiver::start(|n| match n {
        0 => Reply::Status(429, vec![("retry-after", "99999999999".to_owned())]),
        _ => Reply::status(204),
    })
    .await;
    let file = NotificationsFile::webhook(&receiver.url, "    events: [declared]\n");
    let _server = serve(&db, &file).await;
    let client = db.client().await;
    declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    receiver.wait_for(1, PATIENCE).await;
    let rows = wait_for_deliveries(&db, "the 429 recorded", |rows| {
        rows.first().is_some_and(|d| d["last_status"] == 429)
    })
    .await;
    assert_eq!(rows[0]["state"], "pending");
    let (wait, paused): (f64, f64) = sqlx::query_as(
        "select extract(epoch from d.next_attempt_at - now())::float8, \
           extract(epoch from t.paused_until - now())::float8 \
         from notification_delivery d join notification_target t on t.name = d.target",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        wait <= 3600.0 && paused <= 3600.0,
        "waits at most an hour: {wait} s, {paused} s"
    );
}

#[tokio::test]
async fn a_delivery_being_sent_cannot_be_resent() {
    let db = TestDb::new().await;
    let receiver = Receiver::start(|_| Reply::Hang).await;
    let file = NotificationsFile::new(&format!(
        "delivery: {{timeout: 10s}}\n\
         targets:\n  - name: hook\n    kind: webhook\n    url: {}\n    secret_env: HOOK_SECRET\n",
        receiver.url
    ));
    let _server = serve(&db, &file).await;
    let client = db.client().await;
    declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    receiver.wait_for(1, PATIENCE).await;
    let id = deliveries(&db).await[0]["id"].as_i64().unwrap().to_string();
    let output = firebreak()
        .args(["notifications", "redeliver", &id])
        .env("DATABASE_URL", db.url())
        .env("HOOK_SECRET", SECRET)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("being sent right now"), "{stderr}");
    assert_eq!(receiver.received().len(), 1);
}
