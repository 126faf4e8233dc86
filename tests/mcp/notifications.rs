//! Notifications out, through the real server: `firebreak serve --http --notifications FILE`
//! delivering to local receivers (never a real Slack). Signatures are verified by the Standard
//! Webhooks reference library; receivers fail, refuse for good, hang, and the server is killed
//! mid-delivery; two servers share the outbox.

mod formats;
mod operators;
mod processes;
mod retries;
mod routing;
mod signed;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::children::HttpServer;
use crate::support::{Client, TestDb, call, ok};

/// How long a delivery the tests wait for may take.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// A `whsec_` secret (24 random-looking bytes).
pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The secret being rotated out.
pub(crate) const OLD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A notifications file in its own folder.
pub(crate) struct NotificationsFile {
    _dir: tempfile::TempDir,
    pub(crate) path: PathBuf,
}

impl NotificationsFile {
    /// Writes `yaml`.
    pub(crate) fn new(yaml: &str) -> NotificationsFile {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notifications.yaml");
        std::fs::write(&path, yaml).unwrap();
        NotificationsFile { _dir: dir, path }
    }

    /// One signed webhook target `hook` posting to `url`, retrying quickly.
    pub(crate) fn webhook(url: &str, extra: &str) -> NotificationsFile {
        NotificationsFile::new(&format!(
            "delivery: {{timeout: 1s, first_retry: 100ms}}\n\
             targets:\n  - name: hook\n    kind: webhook\n    url: {url}\n    secret_env: HOOK_SECRET\n{extra}"
        ))
    }
}

/// `serve --http` with the notifications file and the secrets it names.
pub(crate) async fn serve(db: &TestDb, file: &NotificationsFile) -> HttpServer {
    let path = file.path.clone();
    HttpServer::start_with(&db.url(), move |command| {
        command
            .arg("--notifications")
            .arg(&path)
            .env("HOOK_SECRET", SECRET)
            .env("HOOK_SECRET_OLD", OLD_SECRET)
            .env("RUST_LOG", "firebreak=debug");
    })
    .await
}

/// The deliveries stored, oldest first: `{id, target, event_type, state, attempts,
/// last_status, last_error}`.
pub(crate) async fn deliveries(db: &TestDb) -> Vec<Value> {
    let rows: Vec<(sqlx::types::Json<Value>,)> = sqlx::query_as(
        "select json_build_object('id', id, 'target', target, 'event_type', event_type, \
           'state', state, 'attempts', attempts, 'last_status', last_status, \
           'last_error', last_error, 'event_id', event_id) \
         from notification_delivery order by id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.into_iter().map(|(j,)| j.0).collect()
}

/// The ledger of one delivery, in attempt order: `(attempt, status, error, worker)`.
pub(crate) async fn ledger(
    db: &TestDb,
    delivery: i64,
) -> Vec<(i32, Option<i32>, Option<String>, String)> {
    sqlx::query_as(
        "select attempt, status, error, worker from notification_attempt \
         where delivery_id = $1 order by attempt",
    )
    .bind(delivery)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

/// Waits until `check` holds for the stored deliveries, and returns them.
pub(crate) async fn wait_for_deliveries(
    db: &TestDb,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let rows = deliveries(db).await;
        if check(&rows) {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {PATIENCE:?}; deliveries: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Declares an incident over `client` and returns its reference.
pub(crate) async fn declare_with(
    client: &Client,
    title: &str,
    severity: &str,
    services: &[&str],
) -> String {
    let declared = ok(call(
        client,
        "declare_incident",
        json!({"title": title, "severity": severity, "services": services}),
    )
    .await);
    declared["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned()
}
