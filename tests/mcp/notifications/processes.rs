//! Several processes: a server killed with SIGKILL mid-delivery loses nothing (the next one
//! delivers once the lease runs out), and two servers sharing the outbox deliver each event
//! once.

use std::collections::BTreeMap;

use super::{NotificationsFile, PATIENCE, declare_with, serve, wait_for_deliveries};
use crate::support::TestDb;
use crate::support::receiver::{Receiver, Reply};

#[tokio::test]
async fn a_server_killed_mid_delivery_loses_nothing() {
    let db = TestDb::new().await;
    // The first request hangs: the server is killed while it waits for the answer.
    let receiver = Receiver::start(|n| {
        if n == 0 {
            Reply::Hang
        } else {
            Reply::status(204)
        }
    })
    .await;
    let file = NotificationsFile::new(&format!(
        "delivery: {{timeout: 3s, first_retry: 100ms}}\n\
         targets:\n  - name: hook\n    kind: webhook\n    url: {}\n    secret_env: HOOK_SECRET\n    events: [declared]\n",
        receiver.url
    ));
    let mut first = serve(&db, &file).await;
    let client = first.client().await;
    declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    receiver.wait_for(1, PATIENCE).await;
    let pid = nix::unistd::Pid::from_raw(first.child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    first.child.wait().await.unwrap();
    drop(client);

    let _second = serve(&db, &file).await;
    let rows = wait_for_deliveries(&db, "delivery by the next process", |rows| {
        rows.first().is_some_and(|d| d["state"] == "delivered")
    })
    .await;
    assert_eq!(rows.len(), 1);
    let got = receiver.received();
    assert_eq!(got.len(), 2, "sent again by the second process");
    assert_eq!(
        got[0].header("webhook-id"),
        got[1].header("webhook-id"),
        "the same webhook-id, so the receiver can deduplicate"
    );
}

#[tokio::test]
async fn two_servers_share_the_outbox_and_deliver_each_event_once() {
    let db = TestDb::new().await;
    let receiver = Receiver::accepting().await;
    let file = NotificationsFile::webhook(&receiver.url, "    events: [declared]\n");
    let one = serve(&db, &file).await;
    let two = serve(&db, &file).await;
    let clients = [one.client().await, two.client().await];
    const EVENTS: usize = 40;
    for n in 0..EVENTS {
        declare_with(&clients[n % 2], &format!("Incident {n}"), "SEV3", &[]).await;
    }
    wait_for_deliveries(&db, "every delivery", |rows| {
        rows.len() == EVENTS && rows.iter().all(|d| d["state"] == "delivered")
    })
    .await;
    // A moment for any duplicate to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let got = receiver.received();
    let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
    for request in &got {
        *per_id
            .entry(request.header("webhook-id").unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_id.len(), EVENTS);
    assert!(
        per_id.values().all(|n| *n == 1),
        "no event twice: {per_id:?}"
    );
    let (attempts,): (i64,) = sqlx::query_as("select count(*) from notification_attempt")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        attempts, EVENTS as i64,
        "one attempt per event, whichever server made it"
    );
}
