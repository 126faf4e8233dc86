//! Action items through `tools/call`: adding, editing, listing with filters and cursors, and
//! where they show up (the incident brief, the postmortem, the timeline).

mod bad_input;

use chrono::{Days, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::postmortems::draft;
use crate::support::{Client, TestDb, call, declare, failure, ok};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn day(offset: i64) -> String {
    let today = today();
    let date = if offset >= 0 {
        today.checked_add_days(Days::new(offset.unsigned_abs()))
    } else {
        today.checked_sub_days(Days::new(offset.unsigned_abs()))
    };
    date.unwrap().to_string()
}

async fn add(client: &Client, args: Value) -> Value {
    ok(call(client, "add_action_item", args).await)
}

async fn list(client: &Client, args: Value) -> Value {
    ok(call(client, "list_action_items", args).await)
}

fn references(page: &Value) -> Vec<String> {
    page["action_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["reference"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_added_item_gets_a_reference_and_is_recorded_on_the_timeline() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Checkout returns 502", "SEV2").await;
    let item = add(
        &client,
        json!({"incident": incident, "title": " Alert on DB pool saturation ", "owner": "bob",
               "due_on": day(14), "priority": "P2", "kind": "detect",
               "external_url": "https://tracker.example.com/OPS-12"}),
    )
    .await;
    assert_eq!(item["reference"], "AI-1");
    assert_eq!(item["incident"], "INC-1");
    assert_eq!(item["title"], "Alert on DB pool saturation");
    assert_eq!(
        (item["status"].as_str(), item["version"].as_i64()),
        (Some("open"), Some(1))
    );
    assert_eq!(
        (item["priority"].as_str(), item["kind"].as_str()),
        (Some("P2"), Some("detect"))
    );
    assert_eq!(item["due_on"], day(14));
    assert_eq!(item["overdue"], false);
    assert_eq!(item["created_by"]["principal"], "tester");

    let timeline = ok(call(
        &client,
        "get_timeline",
        json!({"incident": incident, "kinds": ["field_change"]}),
    )
    .await);
    let entry = &timeline["entries"][0];
    let expected = format!(
        "Action item AI-1 added: Alert on DB pool saturation [detect, P2, owner bob, due {}]",
        day(14)
    );
    assert_eq!(entry["body"], expected);
    assert_eq!(entry["data"]["action_item"], "AI-1");

    let id = item["id"].as_str().unwrap().to_owned();
    for reference in ["AI-1", "ai-1", "1", "#1", id.as_str()] {
        let updated = ok(call(
            &client,
            "update_action_item",
            json!({"action_item": reference, "priority": "P2"}),
        )
        .await);
        assert_eq!(
            updated["version"], 1,
            "{reference}: same value, nothing written"
        );
    }
}

#[tokio::test]
async fn updating_records_the_changes_and_stamps_completion() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Checkout returns 502", "SEV2").await;
    add(&client, json!({"incident": incident, "title": "Resize the pool", "priority": "P1", "kind": "prevent"})).await;
    let update = json!({"action_item": "AI-1", "expected_version": 1, "status": "done",
        "owner": "carol", "idempotency_key": "close-ai-1"});
    let done = ok(call(&client, "update_action_item", update.clone()).await);
    assert_eq!(
        (
            done["status"].as_str(),
            done["owner"].as_str(),
            done["version"].as_i64()
        ),
        (Some("done"), Some("carol"), Some(2))
    );
    assert!(done["completed_at"].is_string());
    let retried = ok(call(&client, "update_action_item", update.clone()).await);
    assert_eq!(
        (retried["version"].as_i64(), &retried["replayed"]),
        (Some(2), &json!(true)),
        "a retry with the same key replays the first answer and writes nothing"
    );
    let mut unkeyed = update;
    unkeyed.as_object_mut().unwrap().remove("idempotency_key");
    let no_op = failure(call(&client, "update_action_item", unkeyed).await);
    assert_eq!(
        (no_op.code.as_str(), &no_op.details["current_version"]),
        ("conflict", &json!(2)),
        "without a key, a stale version is a conflict even when nothing would change"
    );

    let before = db.fingerprint().await;
    let stale = failure(
        call(
            &client,
            "update_action_item",
            json!({"action_item": "AI-1", "expected_version": 1, "status": "open"}),
        )
        .await,
    );
    assert_eq!(stale.code, "conflict");
    assert!(
        stale.message.contains("AI-1 is at version 2, not 1"),
        "{}",
        stale.message
    );
    assert!(stale.message.contains("list_action_items"));
    assert_eq!(stale.details["current_version"], 2);
    assert_eq!(db.fingerprint().await, before);

    let reopened = ok(call(
        &client,
        "update_action_item",
        json!({"action_item": "AI-1", "status": "in_progress", "owner": "", "due_on": day(3)}),
    )
    .await);
    assert!(reopened["completed_at"].is_null());
    assert!(reopened["owner"].is_null());
    assert_eq!(reopened["due_on"], day(3));

    let timeline = ok(call(
        &client,
        "get_timeline",
        json!({"incident": incident, "kinds": ["field_change"]}),
    )
    .await);
    let bodies: Vec<&str> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies[1],
        "Action item AI-1: status open → done; owner — → carol"
    );
    assert_eq!(
        bodies[2],
        format!(
            "Action item AI-1: status done → in_progress; owner carol → —; due_on — → {}",
            day(3)
        )
    );
    assert_eq!(bodies.len(), 3);
}

#[tokio::test]
async fn listing_filters_by_incident_owner_status_and_overdue() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let first = declare(&client, "Checkout returns 502", "SEV2").await;
    let second = declare(&client, "Search slow", "SEV3").await;
    let items = [
        (
            &first,
            "Alert on saturation",
            "bob",
            Some(day(-1)),
            "detect",
        ),
        (&first, "Resize the pool", "Bob", Some(day(7)), "prevent"),
        (&first, "Write the runbook", "carol", None, "process"),
        (
            &second,
            "Add a search cache",
            "carol",
            Some(day(-1)),
            "mitigate",
        ),
    ];
    for (incident, title, owner, due_on, kind) in items {
        add(&client, json!({"incident": incident, "title": title, "owner": owner, "due_on": due_on, "priority": "P3", "kind": kind})).await;
    }
    ok(call(
        &client,
        "update_action_item",
        json!({"action_item": "AI-4", "status": "wont_do"}),
    )
    .await);

    let all = list(&client, json!({})).await;
    assert_eq!(
        references(&all),
        ["AI-1", "AI-4", "AI-2", "AI-3"],
        "soonest due first, undated last"
    );
    assert!(all["now"].is_string());
    assert_eq!(all["truncated"], false);
    assert_eq!(all["action_items"][0]["overdue"], true);
    assert_eq!(
        all["action_items"][1]["overdue"], false,
        "wont_do is never overdue"
    );
    assert_eq!(
        references(&list(&client, json!({"incident": "INC-1"})).await),
        ["AI-1", "AI-2", "AI-3"]
    );
    assert_eq!(
        references(&list(&client, json!({"owner": "BOB"})).await),
        ["AI-1", "AI-2"]
    );
    assert_eq!(
        references(&list(&client, json!({"status": ["wont_do", "done"]})).await),
        ["AI-4"]
    );
    assert_eq!(
        references(&list(&client, json!({"overdue": true})).await),
        ["AI-1"]
    );
    assert_eq!(
        references(&list(&client, json!({"overdue": false, "owner": "carol"})).await),
        ["AI-4", "AI-3"]
    );
    assert_eq!(
        references(&list(&client, json!({"incident": "2", "status": ["open"]})).await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn pages_follow_the_cursor_without_gaps_or_repeats() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Checkout returns 502", "SEV2").await;
    for due_on in [Some(day(5)), None, Some(day(1)), None, Some(day(5))] {
        add(&client, json!({"incident": incident, "title": "Do a thing", "due_on": due_on, "priority": "P4", "kind": "process"})).await;
    }
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let mut args = json!({"limit": 2});
        if !cursor.is_null() {
            args["cursor"] = cursor.clone();
        }
        let page = list(&client, args).await;
        pages += 1;
        seen.extend(references(&page));
        assert_eq!(page["truncated"], !page["next_cursor"].is_null());
        cursor = page["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["AI-3", "AI-1", "AI-5", "AI-2", "AI-4"]);
}

#[tokio::test]
async fn open_items_show_in_the_brief_and_every_item_in_the_postmortem() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Checkout returns 502", "SEV2").await;
    add(&client, json!({"incident": incident, "title": "Alert on saturation", "owner": "bob", "due_on": day(-1), "priority": "P1", "kind": "detect", "external_url": "https://tracker.example.com/OPS-1"})).await;
    add(&client, json!({"incident": incident, "title": "Resize the pool", "priority": "P2", "kind": "prevent"})).await;
    ok(call(
        &client,
        "update_action_item",
        json!({"action_item": "AI-2", "status": "done"}),
    )
    .await);

    let brief = ok(call(&client, "get_incident", json!({"incident": incident})).await);
    let open = brief["open_action_items"].as_array().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0]["reference"].as_str(), open[0]["overdue"].as_bool()),
        (Some("AI-1"), Some(true))
    );

    let drafted = draft(&client, &incident).await;
    let markdown = drafted["postmortem"]["markdown"].as_str().unwrap();
    let row = format!(
        "| AI-1 | [Alert on saturation](https://tracker.example.com/OPS-1) | detect | P1 | bob | {} | open (overdue) |",
        day(-1)
    );
    assert!(markdown.contains(&row), "{markdown}");
    assert!(markdown.contains("| AI-2 | Resize the pool | prevent | P2 | — | — | done |"));

    add(&client, json!({"incident": incident, "title": "Load-test connection counts", "priority": "P3", "kind": "process"})).await;
    let refreshed = draft(&client, &incident).await;
    assert!(
        refreshed["refreshed_sections"]
            .as_array()
            .unwrap()
            .contains(&json!("action_items"))
    );
    assert!(
        refreshed["postmortem"]["markdown"]
            .as_str()
            .unwrap()
            .contains("| AI-3 | Load-test connection counts |")
    );
}
