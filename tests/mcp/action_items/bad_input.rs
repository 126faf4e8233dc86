//! Bad input for `add_action_item`, `update_action_item` and `list_action_items`.

use serde_json::json;

use crate::support::refusals::{
    UNKNOWN_UUID, assert_refused, case, incident_reference_cases, invalid, with, without,
};
use crate::support::{Client, TestDb, call, declare, ok};

/// INC-1 with one action item, AI-1 (version 1).
async fn setup() -> (TestDb, Client) {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Checkout returns 502", "SEV2").await;
    ok(call(
        &client,
        "add_action_item",
        json!({"incident": incident, "title": "Resize the pool", "priority": "P2", "kind": "prevent"}),
    )
    .await);
    (db, client)
}

#[tokio::test]
async fn add_action_item_refuses_bad_input() {
    let (db, client) = setup().await;
    let base = json!({"incident": "INC-1", "title": "Alert on saturation", "priority": "P1", "kind": "detect"});
    let mut cases = vec![
        invalid("missing title", without(&base, "title"), "`title`"),
        invalid("missing priority", without(&base, "priority"), "`priority`"),
        invalid("missing kind", without(&base, "kind"), "`kind`"),
        invalid(
            "unknown field",
            with(&base, "assignee", json!("bob")),
            "`assignee`",
        ),
        invalid(
            "priority `high`",
            with(&base, "priority", json!("high")),
            "`P1`",
        )
        .mentioning("`P4`")
        .field("priority"),
        invalid("kind `fix`", with(&base, "kind", json!("fix")), "`prevent`")
            .mentioning("`process`"),
        invalid("blank title", with(&base, "title", json!("  ")), "`title`").field("title"),
        invalid(
            "title of 201 characters",
            with(&base, "title", json!("x".repeat(201))),
            "`title`",
        )
        .mentioning("1–200"),
        invalid("title a number", with(&base, "title", json!(5)), "`title`"),
        invalid("blank owner", with(&base, "owner", json!("  ")), "`owner`"),
        invalid(
            "due_on `next week`",
            with(&base, "due_on", json!("next week")),
            "`due_on`",
        )
        .mentioning("YYYY-MM-DD"),
        invalid(
            "due_on in the past",
            with(&base, "due_on", json!("2020-01-01")),
            "`due_on`",
        )
        .mentioning("in the past"),
        invalid(
            "due_on a number",
            with(&base, "due_on", json!(20261231)),
            "`due_on`",
        ),
        invalid(
            "external_url not a link",
            with(&base, "external_url", json!("OPS-12")),
            "`external_url`",
        )
        .mentioning("http"),
        invalid(
            "external_url too long",
            with(
                &base,
                "external_url",
                json!(format!("https://t.example/{}", "x".repeat(2048))),
            ),
            "`external_url`",
        ),
    ];
    cases.extend(incident_reference_cases(&base));
    assert_refused(&db, &client, "add_action_item", &cases).await;
}

#[tokio::test]
async fn update_action_item_refuses_bad_input() {
    let (db, client) = setup().await;
    let base = json!({"action_item": "AI-1", "status": "done"});
    let cases = vec![
        invalid(
            "missing action_item",
            without(&base, "action_item"),
            "`action_item`",
        ),
        invalid(
            "unknown field",
            with(&base, "state", json!("done")),
            "`state`",
        ),
        invalid(
            "an incident reference",
            with(&base, "action_item", json!("INC-1")),
            "`action_item`",
        )
        .mentioning("AI-7")
        .field("action_item"),
        invalid(
            "action_item a number",
            with(&base, "action_item", json!(1)),
            "`action_item`",
        ),
        case(
            "unknown AI-999",
            with(&base, "action_item", json!("AI-999")),
            "not_found",
            "AI-999",
        )
        .mentioning("list_action_items"),
        case(
            "unknown UUID",
            with(&base, "action_item", json!(UNKNOWN_UUID)),
            "not_found",
            UNKNOWN_UUID,
        ),
        invalid(
            "no field to change",
            json!({"action_item": "AI-1"}),
            "needs at least one field",
        ),
        invalid(
            "status `closed`",
            with(&base, "status", json!("closed")),
            "`wont_do`",
        )
        .field("status"),
        invalid(
            "priority `P0`",
            with(&base, "priority", json!("P0")),
            "`P1`",
        ),
        invalid(
            "title of 201 characters",
            with(&base, "title", json!("x".repeat(201))),
            "`title`",
        ),
        invalid(
            "due_on `31/12/2026`",
            with(&base, "due_on", json!("31/12/2026")),
            "`due_on`",
        ),
        invalid(
            "expected_version a string",
            with(&base, "expected_version", json!("1")),
            "`expected_version`",
        ),
        case(
            "stale expected_version",
            with(&base, "expected_version", json!(5)),
            "conflict",
            "AI-1 is at version 1, not 5",
        ),
    ];
    assert_refused(&db, &client, "update_action_item", &cases).await;
}

#[tokio::test]
async fn list_action_items_refuses_bad_input() {
    let (db, client) = setup().await;
    let base = json!({"incident": "INC-1"});
    let mut cases = vec![
        invalid(
            "unknown field",
            with(&base, "due_before", json!("2026-01-01")),
            "`due_before`",
        ),
        invalid(
            "status a number",
            with(&base, "status", json!(3)),
            "`status`",
        ),
        invalid(
            "status `finished`",
            with(&base, "status", json!(["finished"])),
            "`wont_do`",
        ),
        invalid(
            "overdue `yes`",
            with(&base, "overdue", json!("yes")),
            "`overdue`",
        ),
        invalid("limit 0", with(&base, "limit", json!(0)), "`limit`").mentioning("1 and 100"),
        invalid("limit 101", with(&base, "limit", json!(101)), "`limit`").mentioning("1 and 100"),
        invalid(
            "limit a string",
            with(&base, "limit", json!("10")),
            "`limit`",
        ),
        invalid("blank owner", with(&base, "owner", json!(" ")), "`owner`"),
        invalid(
            "cursor `zzz`",
            with(&base, "cursor", json!("zzz")),
            "`cursor`",
        )
        .field("cursor"),
        invalid(
            "cursor with a bad date",
            with(&base, "cursor", json!("a2026-13-01_1")),
            "`cursor`",
        ),
        invalid(
            "an incident cursor",
            with(&base, "cursor", json!("n5")),
            "`cursor`",
        ),
    ];
    cases.extend(incident_reference_cases(&base));
    assert_refused(&db, &client, "list_action_items", &cases).await;
}
