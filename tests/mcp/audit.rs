//! The audit trail: records written in a write's transaction or through the batch queue, the
//! `firebreak audit` filters, the `audit://log` resource, ingestion records, and pruning.

use std::time::Duration;

use chrono::{DateTime, Utc};
use firebreak::app::audit::{self, AuditFilter, AuditKind, AuditRecord};
use firebreak::app::signals::RoutingHandle;
use firebreak::app::{App, Settings};
use firebreak::domain::{AuthMethod, Channel, Grant, Scope, Scopes};
use firebreak::http::hooks::SourcesHandle;
use firebreak::http::{self, HttpOptions};
use firebreak::ingest::config;
use rmcp::model::{ReadResourceRequestParams, ResourceContents};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::children::{firebreak, free_port};
use crate::support::signals::{ALERTING, alertmanager, secret};
use crate::support::{TestDb, call, connect_granted, local_grant};

fn grant(principal: &str, method: AuthMethod) -> Grant {
    Grant {
        principal: principal.to_owned(),
        scopes: Scopes::ALL,
        method,
    }
}

/// A finished tool-call record by `principal` at `at`.
fn record(
    principal: &str,
    tool: &str,
    args: &Value,
    outcome: &str,
    at: DateTime<Utc>,
) -> AuditRecord {
    let mut record = AuditRecord::for_call(
        &grant(principal, AuthMethod::StaticToken),
        Some("test-client 1.0"),
        Channel::Http,
        AuditKind::Tool,
        tool,
        args,
    )
    .finished(outcome, Duration::from_micros(1250));
    record.at = at;
    record
}

async fn insert(db: &TestDb, records: &[AuditRecord]) {
    let mut conn = db.pool.acquire().await.unwrap();
    for record in records {
        audit::record_in(&mut conn, record).await.unwrap();
    }
}

fn ago(hours: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::hours(hours)
}

/// Runs `firebreak audit ARGS --json` on `db`: the records printed, in order.
async fn cli(db: &TestDb, args: &[&str]) -> Vec<Value> {
    let output = firebreak()
        .arg("audit")
        .args(args)
        .arg("--json")
        .env("DATABASE_URL", db.url())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn names(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["principal"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn the_cli_lists_newest_first_and_filters_by_principal_tool_incident_outcome_and_time() {
    let db = TestDb::new().await;
    insert(
        &db,
        &[
            record(
                "alice",
                "declare_incident",
                &json!({"title": "db down"}),
                "ok",
                ago(50),
            ),
            record(
                "alice",
                "get_incident",
                &json!({"incident": "INC-1"}),
                "ok",
                ago(30),
            ),
            record(
                "bob",
                "change_status",
                &json!({"incident": "INC-1", "token": "hunter2"}),
                "invalid_argument",
                ago(10),
            ),
            record(
                "bob",
                "get_incident",
                &json!({"incident": "INC-2"}),
                "not_found",
                ago(1),
            ),
        ],
    )
    .await;
    let all = cli(&db, &[]).await;
    assert_eq!(
        names(&all),
        [
            "bob get_incident",
            "bob change_status",
            "alice get_incident",
            "alice declare_incident"
        ]
    );
    assert_eq!(all[1]["args_preview"]["token"], "[redacted]");
    assert!(!all[1].to_string().contains("hunter2"));
    assert_eq!(all[1]["auth_method"], "static_token");
    assert_eq!(all[1]["duration_ms"], 1.25);

    assert_eq!(
        names(&cli(&db, &["--principal", "alice"]).await),
        ["alice get_incident", "alice declare_incident"]
    );
    assert_eq!(
        names(&cli(&db, &["--tool", "get_incident"]).await),
        ["bob get_incident", "alice get_incident"]
    );
    assert_eq!(
        names(&cli(&db, &["--incident", "INC-1"]).await),
        ["bob change_status", "alice get_incident"]
    );
    assert_eq!(
        names(&cli(&db, &["--outcome", "not_found"]).await),
        ["bob get_incident"]
    );
    assert_eq!(
        names(&cli(&db, &["--since", "24h"]).await),
        ["bob get_incident", "bob change_status"]
    );
    let until = ago(20).to_rfc3339();
    assert_eq!(
        names(&cli(&db, &["--until", &until, "--since", "-2d", "--limit", "1"]).await),
        ["alice get_incident"]
    );
    let before = all[1]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        names(&cli(&db, &["--before", &before, "--limit", "1"]).await),
        ["alice get_incident"]
    );

    // Without --json: one line per record, saying who, how, what and how it went.
    let output = firebreak()
        .args(["audit", "--principal", "bob", "--limit", "1"])
        .env("DATABASE_URL", db.url())
        .output()
        .await
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    for part in [
        "bob via static_token",
        "http tool get_incident",
        "INC-2",
        "not_found",
        "1.2ms",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    let refused = firebreak()
        .args(["audit", "--since", "yesterday"])
        .env("DATABASE_URL", db.url())
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--since"));
}

#[tokio::test]
async fn a_record_written_in_a_transaction_rolls_back_with_it() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap();
    audit::record_in(
        &mut tx,
        &record("alice", "declare_incident", &json!({}), "ok", Utc::now()),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(db.count("audit_record").await, 0);
    let mut tx = db.pool.begin().await.unwrap();
    audit::record_in(
        &mut tx,
        &record("alice", "declare_incident", &json!({}), "ok", Utc::now()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.count("audit_record").await, 1);
}

#[tokio::test]
async fn the_queue_writes_in_batches_and_drains_at_close() {
    let db = TestDb::new().await;
    let app = App::from_pool(db.pool.clone());
    let log = app.audit_log().clone();
    // More than one batch, so both the full-batch write and the drain run.
    let n = audit::BATCH_SIZE + 44;
    for i in 0..n {
        log.record(record(
            "reader",
            "get_incident",
            &json!({"incident": i}),
            "ok",
            Utc::now(),
        ));
    }
    log.close().await;
    assert_eq!(db.count("audit_record").await, n as i64);
    assert_eq!(app.audit_log().dropped(), 0);
    let page = app
        .query_audit(AuditFilter {
            incident: Some(firebreak::domain::IncidentRef::Number(7)),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].record.principal, "reader");
}

#[tokio::test]
async fn pruning_removes_only_records_older_than_the_retention() {
    let db = TestDb::new().await;
    let settings = Settings {
        audit_retention: chrono::Duration::days(30),
        ..Settings::default()
    };
    let app = App::new(db.pool.clone(), settings);
    insert(
        &db,
        &[
            record("old", "get_incident", &json!({}), "ok", ago(31 * 24)),
            record("kept", "get_incident", &json!({}), "ok", ago(29 * 24)),
            record("new", "get_incident", &json!({}), "ok", Utc::now()),
        ],
    )
    .await;
    assert_eq!(app.prune_audit().await.unwrap(), 1);
    let left = app.query_audit(AuditFilter::default()).await.unwrap();
    let principals: Vec<&str> = left.iter().map(|e| e.record.principal.as_str()).collect();
    assert_eq!(principals, ["new", "kept"]);
    assert_eq!(app.prune_audit().await.unwrap(), 0);
}

#[tokio::test]
async fn an_admin_reads_the_trail_as_a_resource_with_filters() {
    let db = TestDb::new().await;
    insert(
        &db,
        &[
            record(
                "alice",
                "get_incident",
                &json!({"incident": "INC-3"}),
                "ok",
                ago(3),
            ),
            record(
                "bob",
                "get_incident",
                &json!({"incident": "INC-4"}),
                "ok",
                ago(2),
            ),
            record("alice", "list_incidents", &json!({}), "ok", ago(1)),
        ],
    )
    .await;
    let admin = connect_granted(
        App::from_pool(db.pool.clone()),
        local_grant("auditor", Scopes::of(&[Scope::Admin])),
    )
    .await;
    let read = |uri: &str| {
        let admin = &admin;
        let uri = uri.to_owned();
        async move {
            let result = admin
                .read_resource(ReadResourceRequestParams::new(uri))
                .await
                .unwrap();
            match &result.contents[0] {
                ResourceContents::TextResourceContents {
                    text, mime_type, ..
                } => {
                    assert_eq!(mime_type.as_deref(), Some("application/json"));
                    serde_json::from_str::<Value>(text).unwrap()
                }
                other => panic!("{other:?}"),
            }
        }
    };
    let all = read("audit://log").await;
    assert_eq!(all["records"].as_array().unwrap().len(), 3);
    assert_eq!(all["records"][0]["name"], "list_incidents");
    assert_eq!(all["next_before"], Value::Null);
    let page = read("audit://log?principal=alice&limit=1").await;
    assert_eq!(page["records"][0]["name"], "list_incidents");
    let next = page["next_before"].as_i64().unwrap();
    let rest = read(&format!(
        "audit://log?principal=alice&limit=1&before={next}"
    ))
    .await;
    assert_eq!(rest["records"][0]["incident"], "INC-3");
    let incident = read("audit://log?incident=INC-4&since=-1d").await;
    assert_eq!(incident["records"][0]["principal"], "bob");
    let refused = admin
        .read_resource(ReadResourceRequestParams::new("audit://log?who=me"))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("who"), "{refused}");
}

/// The ingestion endpoints of [`ALERTING`] served in process on `db`; the app (to flush its
/// audit queue), the base URL, and the token that stops it.
async fn serve_hooks(db: &TestDb) -> (App, String, CancellationToken) {
    let env = |name: &str| Some(secret(name).to_owned());
    let alerting = config::parse(ALERTING, &env).unwrap();
    let settings = Settings {
        routing: RoutingHandle::new(alerting.routing.clone()),
        ..Settings::default()
    };
    let app = App::new(db.pool.clone(), settings);
    let port = free_port();
    let mut options = HttpOptions::new(format!("127.0.0.1:{port}").parse().unwrap());
    options.sources = SourcesHandle::new(alerting);
    let shutdown = CancellationToken::new();
    tokio::spawn(http::serve(app.clone(), options, shutdown.clone()));
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (app, base, shutdown)
}

#[tokio::test]
async fn every_ingestion_request_leaves_a_record_accepted_or_refused() {
    let db = TestDb::new().await;
    let (app, base, shutdown) = serve_hooks(&db).await;
    let http = reqwest::Client::new();
    let labels: &[(&str, &str)] = &[("alertname", "HighErrorRate"), ("service", "checkout")];
    let accepted = http
        .post(format!("{base}/hooks/alertmanager/am"))
        .bearer_auth(secret("AM_SECRET"))
        .header("user-agent", "Alertmanager/0.28.1")
        .body(alertmanager(&[("firing", "fp-a", labels)]))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let forged = http
        .post(format!("{base}/hooks/github/gh"))
        .header("x-github-event", "push")
        .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
        .body(r#"{"ref": "refs/heads/main", "secret": "leaked"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    app.audit_log().flush().await;
    shutdown.cancel();

    let records = app.query_audit(AuditFilter::default()).await.unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    let refused = &records[0].record;
    assert_eq!(refused.name, "POST /hooks/github/gh");
    assert_eq!(refused.principal, "unauthenticated");
    assert_eq!(refused.outcome, "unauthorized");
    assert_eq!(refused.args_preview["secret"], "[redacted]");
    let delivered = &records[1].record;
    assert_eq!(delivered.name, "POST /hooks/alertmanager/am");
    assert_eq!(delivered.principal, "am");
    assert_eq!(delivered.kind, AuditKind::Ingest);
    assert_eq!(delivered.auth_method, AuthMethod::SourceSecret);
    assert_eq!(delivered.channel, Channel::Webhook);
    assert_eq!(delivered.client.as_deref(), Some("Alertmanager/0.28.1"));
    assert_eq!(delivered.incident, Some(1));
    assert_eq!(delivered.outcome, "ok");
    assert_eq!(delivered.args_preview["receiver"], "firebreak");
}

#[tokio::test]
async fn a_tool_call_leaves_a_record_with_its_principal_and_incident() {
    let db = TestDb::new().await;
    let app = App::from_pool(db.pool.clone());
    let client = connect_granted(app.clone(), local_grant("alice", Scopes::ALL)).await;
    call(
        &client,
        "declare_incident",
        json!({"title": "db down", "severity": "SEV2"}),
    )
    .await;
    call(&client, "get_incident", json!({"incident": "INC-1"})).await;
    app.audit_log().flush().await;
    let records = app.query_audit(AuditFilter::default()).await.unwrap();
    let names: Vec<&str> = records.iter().map(|e| e.record.name.as_str()).collect();
    assert_eq!(names, ["get_incident", "declare_incident"]);
    assert!(records.iter().all(|e| e.record.principal == "alice"));
    assert_eq!(records[0].record.incident, Some(1));
}
