//! Retry-safe writes: every write tool takes an `idempotency_key`. A retry with the same key and
//! arguments (after an answer that was lost on the way) gets the first answer back, marked
//! `replayed`, and writes nothing; the same key with other arguments is a `conflict` and writes
//! nothing; concurrent retries apply once; keys are scoped by principal.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::runbooks::{folder, runbook, sync};
use crate::support::signals::seed_change;
use crate::support::{Client, TestDb, call, connect_in_process, declare, failure, ok};

/// A valid call of each write tool, in an order where each finds what it needs (INC-1 exists
/// and is live, INC-2 can be resolved, runbook `disk-full` is synced), and a changed argument
/// that makes it a different request.
pub(crate) fn write_calls() -> Vec<(&'static str, Value, (&'static str, Value))> {
    vec![
        (
            "declare_incident",
            json!({"title": "Checkout errors", "severity": "SEV2"}),
            ("title", json!("Checkout errors again")),
        ),
        (
            "update_incident",
            json!({"incident": "INC-1", "summary": "Pool exhausted"}),
            ("summary", json!("Something else")),
        ),
        (
            "change_status",
            json!({"incident": "INC-1", "to": "investigating"}),
            ("to", json!("identified")),
        ),
        (
            "assign_role",
            json!({"incident": "INC-1", "role": "scribe", "assignee": "dana"}),
            ("assignee", json!("erin")),
        ),
        (
            "add_timeline_entry",
            json!({"incident": "INC-1", "kind": "finding", "body": "p99 is 4 s"}),
            ("body", json!("p99 is 5 s")),
        ),
        (
            "record_runbook_step",
            json!({"incident": "INC-1", "runbook": "disk-full", "step": 1, "outcome": "succeeded"}),
            ("outcome", json!("failed")),
        ),
        (
            "add_action_item",
            json!({"incident": "INC-1", "title": "Alert on pool saturation", "priority": "P2", "kind": "detect"}),
            ("priority", json!("P1")),
        ),
        (
            "update_action_item",
            json!({"action_item": "AI-1", "status": "in_progress"}),
            ("status", json!("done")),
        ),
        (
            "resolve_incident",
            json!({"incident": "INC-2", "resolution": "Rolled back"}),
            ("resolution", json!("Restarted")),
        ),
        (
            "draft_postmortem",
            json!({"incident": "INC-2"}),
            ("incident", json!("INC-1")),
        ),
        (
            "update_postmortem",
            json!({"incident": "INC-2", "expected_version": 1, "sections": {"lessons": "Alert sooner."}}),
            ("sections", json!({"lessons": "Alert much sooner."})),
        ),
        (
            "link_change",
            json!({"incident": "INC-1", "change": "CHG-1", "relation": "suspected", "note": "deployed a minute before"}),
            ("relation", json!("confirmed")),
        ),
        (
            "post_status_update",
            json!({"incident": "INC-1", "audience": "stakeholders", "status": "investigating",
                   "message": "Payments are slow; we are on it.", "next_update_at": "+30m"}),
            (
                "message",
                json!("Payments are slow; a fix is being tested."),
            ),
        ),
    ]
}

/// `args` with `key` set to `value`.
fn with(args: &Value, key: &str, value: Value) -> Value {
    let mut args = args.clone();
    args[key] = value;
    args
}

/// Two incidents (INC-1 to work on, INC-2 to resolve) and the `disk-full` runbook.
async fn seeded() -> (TestDb, Client) {
    let db = TestDb::new().await;
    let dir = folder(&[(
        "disk-full.md",
        &runbook("disk-full", "Disk full", "services: [postgres]\n"),
    )]);
    sync(&db, dir.path()).await;
    seed_change(&db).await;
    let client = db.client().await;
    declare(&client, "Payments latency", "SEV3").await;
    let second = declare(&client, "Search is slow", "SEV4").await;
    ok(call(
        &client,
        "change_status",
        json!({"incident": second, "to": "investigating"}),
    )
    .await);
    (db, client)
}

#[tokio::test]
async fn every_write_tool_replays_its_first_answer_and_refuses_the_key_with_other_arguments() {
    let (db, client) = seeded().await;
    for (n, (tool, args, (field, changed))) in write_calls().into_iter().enumerate() {
        let key = format!("retry-{n}");
        let keyed = with(&args, "idempotency_key", json!(key));
        let first = ok(call(&client, tool, keyed.clone()).await);
        assert!(first.get("replayed").is_none(), "{tool}: {first}");
        let written = db.fingerprint().await;

        // The answer was lost on the way: the client sends the call again.
        let retry = ok(call(&client, tool, keyed.clone()).await);
        assert_eq!(retry["replayed"], true, "{tool}: {retry}");
        let mut replayed = retry.clone();
        replayed.as_object_mut().unwrap().remove("replayed");
        assert_eq!(replayed, first, "{tool}: the first answer, unchanged");
        assert_eq!(
            db.fingerprint().await,
            written,
            "{tool}: nothing written again"
        );

        let reused = failure(call(&client, tool, with(&keyed, field, changed)).await);
        assert_eq!(reused.code, "conflict", "{tool}: {}", reused.message);
        assert!(
            reused.message.contains(&format!("`{key}`")) && reused.message.contains(tool),
            "{tool}: {}",
            reused.message
        );
        assert_eq!(db.fingerprint().await, written, "{tool}: nothing written");
    }
}

#[tokio::test]
async fn every_write_tool_takes_an_idempotency_key_and_is_covered_here() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let covered: Vec<&str> = write_calls().iter().map(|(tool, ..)| *tool).collect();
    for tool in client.list_all_tools().await.unwrap() {
        let annotations = tool.annotations.as_ref().unwrap();
        if annotations.read_only_hint == Some(true) {
            continue;
        }
        assert!(
            tool.input_schema
                .get("properties")
                .and_then(|p| p.get("idempotency_key"))
                .is_some(),
            "{} writes but takes no idempotency_key",
            tool.name
        );
        assert!(
            covered.contains(&tool.name.as_ref()),
            "{} writes but has no case in retries::write_calls",
            tool.name
        );
    }
}

#[tokio::test]
async fn a_failed_write_keeps_no_key_so_its_retry_runs_again() {
    let (db, client) = seeded().await;
    let args = json!({"incident": "INC-9", "kind": "note", "body": "x", "idempotency_key": "k"});
    let missing = failure(call(&client, "add_timeline_entry", args.clone()).await);
    assert_eq!(missing.code, "not_found");
    assert_eq!(db.count("idempotency_key").await, 0);
    let again = failure(call(&client, "add_timeline_entry", args).await);
    assert_eq!(again.code, "not_found", "not a replay of the failure");
}

#[tokio::test]
async fn keys_are_scoped_by_principal() {
    let (db, alice) = seeded().await;
    let bob = connect_in_process(db.pool.clone(), "bob").await;
    let args = json!({"incident": "INC-1", "kind": "note", "body": "from one of us", "idempotency_key": "shared"});
    ok(call(&alice, "add_timeline_entry", args.clone()).await);
    let theirs = ok(call(&bob, "add_timeline_entry", args).await);
    assert!(theirs.get("replayed").is_none(), "{theirs}");
    assert_eq!(
        db.count("timeline_entry where body = 'from one of us'")
            .await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_timeline_entry_append_it_once() {
    let (db, _) = seeded().await;
    let clients = db.clients(4).await;
    let retries = (0..20).map(|n| {
        let client = clients[n % clients.len()].clone();
        tokio::spawn(async move {
            call(&client, "add_timeline_entry",
                json!({"incident": "INC-1", "kind": "action", "body": "Failed over", "idempotency_key": "failover-1"})).await
        })
    });
    let results: Vec<Value> = join_all(retries)
        .await
        .into_iter()
        .map(|r| ok(r.unwrap()))
        .collect();
    let entry_ids: std::collections::BTreeSet<&str> = results
        .iter()
        .map(|r| r["entry"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(entry_ids.len(), 1, "{results:?}");
    assert_eq!(results.iter().filter(|r| r["replayed"] == true).count(), 19);
    assert_eq!(
        db.count("timeline_entry where body = 'Failed over'").await,
        1
    );
}

#[tokio::test]
async fn an_expired_key_may_be_used_again() {
    let (db, client) = seeded().await;
    let args = json!({"incident": "INC-1", "kind": "note", "body": "daily check", "idempotency_key": "daily"});
    ok(call(&client, "add_timeline_entry", args.clone()).await);
    sqlx::query("update idempotency_key set created_at = created_at - interval '25 hours'")
        .execute(&db.pool)
        .await
        .unwrap();
    let fresh = ok(call(&client, "add_timeline_entry", args).await);
    assert!(fresh.get("replayed").is_none(), "{fresh}");
    assert_eq!(
        db.count("timeline_entry where body = 'daily check'").await,
        2
    );
}

#[tokio::test]
async fn pruning_deletes_only_expired_keys() {
    let (db, client) = seeded().await;
    for key in ["old", "new"] {
        let args =
            json!({"incident": "INC-1", "kind": "note", "body": key, "idempotency_key": key});
        ok(call(&client, "add_timeline_entry", args).await);
    }
    sqlx::query("update idempotency_key set created_at = created_at - interval '25 hours' where key = 'old'")
        .execute(&db.pool)
        .await
        .unwrap();
    let pruned = firebreak::app::App::from_pool(db.pool.clone())
        .prune_idempotency_keys()
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(db.count("idempotency_key where key = 'new'").await, 1);
    assert_eq!(db.count("idempotency_key").await, 1);
}
