//! The audit trail of real calls: every call of a scripted session leaves one record (writes
//! committed with the write, reads queued), a write that rolls back leaves only its refusal,
//! and HTTP and the command line record who called and how.

use firebreak::app::App;
use rmcp::model::{GetPromptRequestParams, ReadResourceRequestParams};
use serde_json::{Value, json};

use crate::support::children::{HttpServer, TOKEN_NAME, firebreak};
use crate::support::{TestDb, call, connect_app, declare, failure, ok};

/// Every record, oldest first: (kind, name, outcome, incident, principal, channel, method).
async fn records(
    db: &TestDb,
) -> Vec<(String, String, String, Option<i64>, String, String, String)> {
    sqlx::query_as(
        "select kind, name, outcome, incident_number, principal, channel, auth_method \
         from audit_record order by id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

async fn count_named(db: &TestDb, name: &str) -> i64 {
    sqlx::query_scalar("select count(*) from audit_record where name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

fn number(reference: &str) -> i64 {
    reference.trim_start_matches("INC-").parse().unwrap()
}

#[tokio::test]
async fn every_call_of_a_session_leaves_one_record_and_a_rolled_back_write_none_of_a_write() {
    let db = TestDb::new().await;
    let app = App::from_pool(db.pool.clone());
    let client = connect_app(app.clone(), "alice").await;

    let incident = declare(&client, "Checkout errors", "SEV2").await;
    // A write's record commits with it: it is there before any batch is written.
    assert_eq!(count_named(&db, "declare_incident").await, 1);
    ok(call(&client, "get_incident", json!({"incident": incident})).await);
    ok(call(
        &client,
        "add_timeline_entry",
        json!({"incident": incident, "kind": "note", "body": "looking at the pool"}),
    )
    .await);
    client
        .read_resource(ReadResourceRequestParams::new(format!(
            "incident://{incident}"
        )))
        .await
        .unwrap();
    client
        .get_prompt(
            GetPromptRequestParams::new("respond_to_incident")
                .with_arguments(json!({"incident": incident}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    // A write that is refused inside its transaction (a stale version) rolls back.
    let before = db.fingerprint().await;
    let refused = failure(
        call(
            &client,
            "update_incident",
            json!({"incident": incident, "summary": "pool exhausted", "expected_version": 99}),
        )
        .await,
    );
    assert_eq!(refused.code, "conflict");
    assert_eq!(
        db.fingerprint().await,
        before,
        "nothing of the write stayed"
    );
    app.audit_log().flush().await;

    let n = number(&incident);
    let got: Vec<(String, String, String, Option<i64>)> = records(&db)
        .await
        .into_iter()
        .map(
            |(kind, name, outcome, incident, principal, channel, method)| {
                assert_eq!(
                    (principal.as_str(), channel.as_str(), method.as_str()),
                    ("alice", "mcp", "local")
                );
                (kind, name, outcome, incident)
            },
        )
        .collect();
    let expected = [
        ("tool", "declare_incident", "ok"),
        ("tool", "get_incident", "ok"),
        ("tool", "add_timeline_entry", "ok"),
        (
            "resource",
            format!("incident://{incident}").leak() as &str,
            "ok",
        ),
        ("prompt", "respond_to_incident", "ok"),
        ("tool", "update_incident", "conflict"),
    ];
    let mut expected: Vec<(String, String, String, Option<i64>)> = expected
        .iter()
        .map(|(k, name, o)| {
            (
                (*k).to_owned(),
                (*name).to_owned(),
                (*o).to_owned(),
                Some(n),
            )
        })
        .collect();
    // Reads are queued, so they may land in another order than the writes; compare as sets.
    let mut sorted = got.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "one record per call: {got:?}");
}

#[tokio::test]
async fn http_and_the_command_line_record_who_called_and_how() {
    let db = TestDb::new().await;
    let reader = "reader-0123456789abcdef";
    let server = HttpServer::start_with(&db.url(), |c| {
        c.env(
            "FIREBREAK_TOKENS",
            format!(
                "{TOKEN_NAME}:{},reader[incidents:read]:{reader}",
                crate::support::children::TOKEN
            ),
        );
    })
    .await;
    let client = server.client().await;
    let incident = declare(&client, "Queue backlog", "SEV3").await;
    // A refusal at the HTTP door (403) is recorded too.
    let status = reqwest::Client::new()
        .post(server.mcp())
        .bearer_auth(reader)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "change_status", "arguments": {"incident": incident, "to": "resolved"}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
    let output = firebreak()
        .args(["tool", "get_incident"])
        .arg(json!({"incident": incident}).to_string())
        .env("DATABASE_URL", db.url())
        .env("FIREBREAK_PRINCIPAL", "bob")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The refusal is queued in the server: wait for its batch.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let rows = loop {
        let rows = records(&db).await;
        if rows.iter().any(|r| r.2 == "insufficient_scope")
            || tokio::time::Instant::now() > deadline
        {
            break rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let summary: Vec<Value> = rows
        .iter()
        .map(|(kind, name, outcome, _, principal, channel, method)| {
            json!([kind, name, outcome, principal, channel, method])
        })
        .collect();
    assert!(
        summary.contains(&json!([
            "tool",
            "declare_incident",
            "ok",
            TOKEN_NAME,
            "http",
            "static_token"
        ])),
        "{summary:?}"
    );
    assert!(
        summary.contains(&json!([
            "tool",
            "change_status",
            "insufficient_scope",
            "reader",
            "http",
            "static_token"
        ])),
        "{summary:?}"
    );
    assert!(
        summary.contains(&json!([
            "tool",
            "get_incident",
            "ok",
            "bob",
            "cli",
            "local"
        ])),
        "{summary:?}"
    );
}
