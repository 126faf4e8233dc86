//! What operators see and do: a file that does not check names its line (at start and with
//! `notifications check`), `notifications status|test|redeliver`, events only while targets
//! are configured and only for writes that commit, and overdue action items.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::{NotificationsFile, SECRET, declare_with, deliveries, serve, wait_for_deliveries};
use crate::support::children::firebreak;
use crate::support::receiver::{Receiver, Reply};
use crate::support::{TestDb, call, failure, ok};

async fn run(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    let output = firebreak()
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("HOOK_SECRET", SECRET)
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_file_that_does_not_check_names_its_line() {
    let db = TestDb::new().await;
    let file = NotificationsFile::new(
        "targets:\n  - name: hook\n    kind: webhook\n    url: http://127.0.0.1:9/hook\n    secret_env: HOOK_SECRET\n    events: [declared, exploded]\n",
    );
    let path = file.path.to_str().unwrap().to_owned();
    let (ok_, _, stderr) = run(&db, &["notifications", "check", &path]).await;
    assert!(!ok_);
    assert!(
        stderr.contains("line 6") && stderr.contains("exploded"),
        "{stderr}"
    );
    let (started, _, stderr) = run(
        &db,
        &["serve", "--http", "127.0.0.1:0", "--notifications", &path],
    )
    .await;
    assert!(!started, "serve refuses a bad file");
    assert!(stderr.contains("line 6"), "{stderr}");
    let missing = NotificationsFile::new(
        "targets:\n  - name: ops\n    kind: slack\n    url_env: NOT_SET_ANYWHERE\n",
    );
    let (ok_, _, stderr) = run(
        &db,
        &["notifications", "check", missing.path.to_str().unwrap()],
    )
    .await;
    assert!(!ok_ && stderr.contains("NOT_SET_ANYWHERE"), "{stderr}");
}

#[tokio::test]
async fn status_test_and_redeliver() {
    let db = TestDb::new().await;
    let accept = Arc::new(AtomicBool::new(false));
    let switch = accept.clone();
    let receiver = Receiver::start(move |_| {
        Reply::status(if switch.load(Ordering::SeqCst) {
            204
        } else {
            410
        })
    })
    .await;
    let file = NotificationsFile::webhook(&receiver.url, "    events: [declared]\n");
    let server = serve(&db, &file).await;
    let client = server.client().await;
    declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    let rows = wait_for_deliveries(&db, "a 410", |rows| {
        rows.first().is_some_and(|d| d["state"] == "gone")
    })
    .await;
    let (ok_, stdout, stderr) = run(&db, &["notifications", "status"]).await;
    assert!(ok_, "{stderr}");
    assert!(
        stdout.contains("hook (webhook)") && stdout.contains("1 gone"),
        "{stdout}"
    );
    assert!(stdout.contains("DISABLED"), "{stdout}");
    let id = rows[0]["id"].as_i64().unwrap().to_string();
    assert!(
        stdout.contains(&format!("  {id}: incident.declared")),
        "{stdout}"
    );

    // The receiver is fixed; the operator tests it, then resends the delivery.
    accept.store(true, Ordering::SeqCst);
    let path = file.path.to_str().unwrap().to_owned();
    let (ok_, stdout, stderr) = run(
        &db,
        &["notifications", "test", "--notifications", &path, "hook"],
    )
    .await;
    assert!(ok_, "{stdout}{stderr}");
    assert!(stdout.contains("HTTP 204"), "{stdout}");
    let test_request = receiver.received().last().cloned().unwrap();
    assert!(
        test_request
            .header("webhook-signature")
            .is_some_and(|s| s.starts_with("v1,"))
    );
    let (ok_, stdout, stderr) = run(&db, &["notifications", "redeliver", &id]).await;
    assert!(ok_, "{stderr}");
    assert!(stdout.contains("due now"), "{stdout}");
    wait_for_deliveries(&db, "the resent delivery", |rows| {
        rows[0]["state"] == "delivered"
    })
    .await;
    let (ok_, _, stderr) = run(&db, &["notifications", "redeliver", "999999"]).await;
    assert!(!ok_ && stderr.contains("no delivery 999999"), "{stderr}");
}

#[tokio::test]
async fn events_are_recorded_only_for_writes_that_commit_and_only_while_targets_exist() {
    let db = TestDb::new().await;
    // No target registered yet: changes record no event.
    let client = db.client().await;
    let incident = declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    assert_eq!(db.count("notification_event").await, 0);

    let receiver = Receiver::accepting().await;
    let file = NotificationsFile::webhook(&receiver.url, "");
    let server = serve(&db, &file).await;
    let http = server.client().await;
    // A refused write records nothing.
    let refused = failure(
        call(
            &http,
            "change_status",
            json!({"incident": incident, "to": "resolved"}),
        )
        .await,
    );
    assert_eq!(refused.code, "invalid_transition");
    assert_eq!(db.count("notification_event").await, 0);
    ok(call(
        &http,
        "change_status",
        json!({"incident": incident, "to": "investigating"}),
    )
    .await);
    wait_for_deliveries(&db, "the status change", |rows| {
        rows.len() == 1
            && rows[0]["event_type"] == "incident.status_changed"
            && rows[0]["state"] == "delivered"
    })
    .await;
    // Notes are not events.
    ok(call(
        &http,
        "add_timeline_entry",
        json!({"incident": incident, "kind": "note", "body": "x"}),
    )
    .await);
    assert_eq!(db.count("notification_event").await, 1);
}

#[tokio::test]
async fn an_overdue_action_item_is_notified_once() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare_with(&client, "Checkout errors", "SEV2", &[]).await;
    ok(call(
        &client,
        "add_action_item",
        json!({"incident": incident, "title": "Add a pool saturation alert", "kind": "detect",
               "priority": "P2", "owner": "dana", "due_on": chrono::Utc::now().date_naive().to_string()}),
    )
    .await);
    // Time passes: the item was due two days ago.
    sqlx::query("update action_item set due_on = current_date - 2")
        .execute(&db.pool)
        .await
        .unwrap();
    let receiver = Receiver::accepting().await;
    let file = NotificationsFile::webhook(&receiver.url, "    events: [action_item_overdue]\n");
    let _server = serve(&db, &file).await;
    let rows = wait_for_deliveries(&db, "the overdue notice", |rows| {
        rows.len() == 1 && rows[0]["state"] == "delivered"
    })
    .await;
    assert_eq!(rows[0]["event_type"], "action_item.overdue");
    let body = receiver.received()[0].json();
    assert_eq!(body["type"], "action_item.overdue");
    assert!(body.to_string().contains("Add a pool saturation alert"));
    // A second server's housekeeping does not notify it again.
    let _again = serve(&db, &file).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(deliveries(&db).await.len(), 1);
}
