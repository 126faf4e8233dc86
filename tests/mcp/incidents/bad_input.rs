//! Bad input for the incident tools (`declare_incident`, `get_incident`, `list_incidents`,
//! `update_incident`) and for the tool surface as a whole: every tool has a table of bad calls.

use rmcp::model::CallToolRequestParams;
use serde_json::{Map, Value, json};

use crate::support::refusals::{
    Case, OVERSIZED_TEXT_BYTES, Seeded, Table, assert_table_refused, case, hours_from_now,
    incident_reference_cases, invalid, long, many_labels, setup, with,
};
use crate::support::{call, ok};

fn declare_incident_cases(_: &Seeded) -> Vec<Case> {
    let base = json!({"title": "Search down", "severity": "SEV2"});
    let severities = "`SEV1`, `SEV2`, `SEV3`, `SEV4`, `SEV5`";
    let services_21: Vec<String> = (0..21).map(|i| format!("svc-{i}")).collect();
    let impact_after_detection = with(
        &with(&base, "detected_at", json!(hours_from_now(-2))),
        "impact_started_at",
        json!(hours_from_now(-1)),
    );
    vec![
        invalid("no arguments", json!({}), "`title`"),
        invalid("missing title", json!({"severity": "SEV2"}), "`title`"),
        invalid(
            "missing severity",
            json!({"title": "Search down"}),
            "`severity`",
        ),
        invalid(
            "unknown field sevrity",
            with(&base, "sevrity", json!("SEV1")),
            "`sevrity`",
        ),
        invalid(
            "unknown field status",
            with(&base, "status", json!("triage")),
            "`status`",
        ),
        invalid("title null", with(&base, "title", Value::Null), "`title`"),
        invalid("title a number", with(&base, "title", json!(42)), "`title`"),
        invalid(
            "severity a number",
            with(&base, "severity", json!(2)),
            "`severity`",
        ),
        invalid(
            "services a number",
            with(&base, "services", json!(7)),
            "`services`",
        ),
        invalid(
            "labels an array",
            with(&base, "labels", json!(["a"])),
            "`labels`",
        ),
        invalid(
            "label value a number",
            with(&base, "labels", json!({"region": 1})),
            "`labels.region`",
        ),
        invalid(
            "severity SEV9",
            with(&base, "severity", json!("SEV9")),
            severities,
        )
        .mentioning("SEV9"),
        invalid(
            "severity sev 9",
            with(&base, "severity", json!("sev 9")),
            severities,
        ),
        invalid(
            "title of 201 characters",
            with(&base, "title", json!(long(201))),
            "`title`",
        )
        .mentioning("200")
        .field("title"),
        invalid("empty title", with(&base, "title", json!("")), "`title`").field("title"),
        invalid(
            "whitespace-only title",
            with(&base, "title", json!("   ")),
            "`title`",
        ),
        invalid(
            "two-line title",
            with(&base, "title", json!("a\nb")),
            "`title`",
        )
        .mentioning("single line"),
        invalid(
            "summary of 64 KiB + 1",
            with(&base, "summary", json!(long(OVERSIZED_TEXT_BYTES))),
            "`summary`",
        )
        .mentioning("65536")
        .field("summary"),
        invalid(
            "impact of 64 KiB + 1",
            with(&base, "impact", json!(long(OVERSIZED_TEXT_BYTES))),
            "`impact`",
        )
        .field("impact"),
        invalid(
            "service `Checkout API`",
            with(&base, "services", json!(["Checkout API"])),
            "`services`",
        )
        .mentioning("Checkout API"),
        invalid(
            "21 services",
            with(&base, "services", json!(services_21)),
            "`services`",
        )
        .mentioning("20"),
        invalid(
            "33 labels",
            with(&base, "labels", many_labels(33)),
            "`labels`",
        )
        .mentioning("32"),
        invalid(
            "label key with a space",
            with(&base, "labels", json!({"a b": "x"})),
            "`labels.a b`",
        ),
        invalid(
            "label value of 257 characters",
            with(&base, "labels", json!({"k": long(257)})),
            "`labels.k`",
        ),
        invalid(
            "commander of 201 characters",
            with(&base, "commander", json!(long(201))),
            "`commander`",
        ),
        invalid(
            "whitespace-only commander",
            with(&base, "commander", json!("  ")),
            "`commander`",
        ),
        invalid(
            "empty idempotency_key",
            with(&base, "idempotency_key", json!("")),
            "`idempotency_key`",
        ),
        invalid(
            "empty dedup_key",
            with(&base, "dedup_key", json!("")),
            "`dedup_key`",
        ),
        invalid(
            "detected_at an hour ahead",
            with(&base, "detected_at", json!(hours_from_now(1))),
            "`detected_at`",
        )
        .mentioning("future"),
        invalid(
            "impact_started_at an hour ahead",
            with(&base, "impact_started_at", json!(hours_from_now(1))),
            "`impact_started_at`",
        ),
        invalid(
            "impact_started_at after detected_at",
            impact_after_detection,
            "`impact_started_at`",
        )
        .mentioning("`detected_at`"),
        invalid(
            "detected_at `yesterday`",
            with(&base, "detected_at", json!("yesterday")),
            "`detected_at`",
        ),
    ]
}

fn get_incident_cases(_: &Seeded) -> Vec<Case> {
    let base = json!({"incident": "INC-1"});
    let mut cases = vec![
        invalid("missing incident", json!({}), "`incident`"),
        invalid(
            "unknown field",
            with(&base, "verbose", json!(true)),
            "`verbose`",
        ),
        invalid("incident a number", json!({"incident": 1}), "`incident`"),
        invalid(
            "incident an array",
            json!({"incident": ["INC-1"]}),
            "`incident`",
        ),
    ];
    cases.extend(incident_reference_cases(&base));
    cases
}

fn list_incidents_cases(seeded: &Seeded) -> Vec<Case> {
    let statuses = "`open`, `triage`, `investigating`";
    let since_after_until = json!({"since": hours_from_now(-1), "until": hours_from_now(-2)});
    vec![
        invalid("unknown field", json!({"state": "open"}), "`state`"),
        invalid("limit a string", json!({"limit": "10"}), "`limit`"),
        invalid("limit a fraction", json!({"limit": 2.5}), "`limit`"),
        invalid("status a number", json!({"status": 5}), "`status`"),
        invalid("status `fixed`", json!({"status": ["fixed"]}), statuses).mentioning("fixed"),
        invalid("severity SEV9", json!({"severity": ["SEV9"]}), "`SEV1`"),
        invalid("limit 0", json!({"limit": 0}), "`limit`")
            .mentioning("1 and 100")
            .field("limit"),
        invalid("limit 101", json!({"limit": 101}), "`limit`").mentioning("1 and 100"),
        invalid("limit -1", json!({"limit": -1}), "`limit`"),
        invalid("cursor `zzz`", json!({"cursor": "zzz"}), "`cursor`").field("cursor"),
        invalid("cursor `n`", json!({"cursor": "n"}), "`cursor`"),
        invalid("cursor `nabc`", json!({"cursor": "nabc"}), "`cursor`"),
        invalid(
            "text cursor without text",
            json!({"cursor": seeded.text_cursor}),
            "`cursor`",
        ),
        invalid(
            "newest-first cursor with text",
            json!({"text": "checkout", "cursor": seeded.number_cursor}),
            "`cursor`",
        ),
        invalid(
            "timeline cursor",
            json!({"cursor": seeded.timeline_cursor}),
            "`cursor`",
        ),
        invalid(
            "service `Checkout API`",
            json!({"service": "Checkout API"}),
            "`service`",
        )
        .mentioning("Checkout API"),
        invalid(
            "text over 1000 bytes",
            json!({"text": long(1001)}),
            "`text`",
        ),
        invalid("since after until", since_after_until, "`since`").mentioning("`until`"),
        invalid(
            "since `yesterday`",
            json!({"since": "yesterday"}),
            "`since`",
        ),
    ]
}

fn update_incident_cases(_: &Seeded) -> Vec<Case> {
    let base = json!({"incident": "INC-1", "summary": "new summary"});
    let oversized = json!(long(OVERSIZED_TEXT_BYTES));
    let mut cases = vec![
        invalid("missing incident", json!({"summary": "x"}), "`incident`"),
        invalid(
            "no changes",
            json!({"incident": "INC-1"}),
            "at least one field",
        )
        .mentioning("title"),
        invalid(
            "no changes but expected_version",
            json!({"incident": "INC-1", "expected_version": 1}),
            "at least one field",
        ),
        invalid(
            "unknown field sevrity",
            with(&base, "sevrity", json!("SEV1")),
            "`sevrity`",
        ),
        invalid(
            "unknown field status",
            with(&base, "status", json!("resolved")),
            "`status`",
        ),
        invalid(
            "expected_version a string",
            with(&base, "expected_version", json!("1")),
            "`expected_version`",
        ),
        invalid(
            "severity a number",
            with(&base, "severity", json!(2)),
            "`severity`",
        ),
        invalid(
            "services a number",
            with(&base, "services", json!(7)),
            "`services`",
        ),
        invalid(
            "labels an array",
            with(&base, "labels", json!(["a"])),
            "`labels`",
        ),
        invalid(
            "severity SEV9",
            with(&base, "severity", json!("SEV9")),
            "`SEV1`",
        )
        .mentioning("SEV9"),
        invalid(
            "title of 201 characters",
            with(&base, "title", json!(long(201))),
            "`title`",
        )
        .field("title"),
        invalid("empty title", with(&base, "title", json!("")), "`title`"),
        invalid(
            "summary of 64 KiB + 1",
            with(&base, "summary", oversized.clone()),
            "`summary`",
        ),
        invalid(
            "impact of 64 KiB + 1",
            with(&base, "impact", oversized),
            "`impact`",
        ),
        invalid(
            "service `Checkout API`",
            with(&base, "services", json!(["Checkout API"])),
            "`services`",
        ),
        invalid(
            "33 labels",
            with(&base, "labels", many_labels(33)),
            "`labels`",
        ),
        invalid(
            "label key with a space",
            with(&base, "labels", json!({"a b": "x"})),
            "`labels.a b`",
        ),
        case(
            "stale expected_version",
            with(&base, "expected_version", json!(7)),
            "conflict",
            "expected_version 1",
        )
        .with_detail("current_version", json!(1))
        .with_detail("current_status", json!("triage")),
        case(
            "stale expected_version on a resolved incident",
            json!({"incident": "INC-3", "expected_version": 1, "summary": "x"}),
            "conflict",
            "expected_version 3",
        )
        .with_detail("current_version", json!(3))
        .with_detail("current_status", json!("resolved")),
    ];
    cases.extend(incident_reference_cases(&base));
    cases
}

/// The incident tools with their tables.
pub(crate) const TABLES: [(&str, Table); 4] = [
    ("declare_incident", declare_incident_cases),
    ("get_incident", get_incident_cases),
    ("list_incidents", list_incidents_cases),
    ("update_incident", update_incident_cases),
];

/// Tools whose bad-input tests pass cases to `assert_refused` directly (runbooks, postmortems,
/// action items), each refusing bad input with a tool error and leaving the database unchanged.
const COVERED_ELSEWHERE: [&str; 15] = [
    "find_runbooks",
    "get_runbook",
    "record_runbook_step",
    "draft_postmortem",
    "get_postmortem",
    "update_postmortem",
    "add_action_item",
    "update_action_item",
    "list_action_items",
    "list_alerts",
    "list_changes",
    "link_change",
    "incident_metrics",
    "find_similar_incidents",
    "post_status_update",
];

#[tokio::test]
async fn declare_incident_refuses_bad_input() {
    assert_table_refused("declare_incident", declare_incident_cases).await;
}

#[tokio::test]
async fn get_incident_refuses_bad_input() {
    assert_table_refused("get_incident", get_incident_cases).await;
}

#[tokio::test]
async fn list_incidents_refuses_bad_input() {
    assert_table_refused("list_incidents", list_incidents_cases).await;
}

#[tokio::test]
async fn update_incident_refuses_bad_input() {
    assert_table_refused("update_incident", update_incident_cases).await;
}

#[tokio::test]
async fn every_tool_has_a_bad_input_table() {
    let (_db, client, seeded) = setup().await;
    let mut listed: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|tool| tool.name.to_string())
        .collect();
    listed.sort();
    let tables = TABLES
        .iter()
        .chain(crate::lifecycle::bad_input::TABLES.iter());
    let mut covered: Vec<String> = tables
        .clone()
        .map(|(tool, _)| *tool)
        .chain(COVERED_ELSEWHERE)
        .map(str::to_owned)
        .collect();
    covered.sort();
    assert_eq!(
        listed, covered,
        "every tool in tools/list needs a bad-input table here or in its own test file"
    );
    for (tool, table) in tables {
        assert!(
            table(&seeded).len() >= 5,
            "{tool} has too few bad-input cases"
        );
    }
}

#[tokio::test]
async fn an_unknown_tool_is_a_protocol_error_and_changes_nothing() {
    let (db, client, _) = setup().await;
    let before = db.fingerprint().await;
    let request = CallToolRequestParams::new("delete_everything".to_owned())
        .with_arguments(Map::from_iter([("incident".to_owned(), json!("INC-1"))]));
    let outcome = client.call_tool(request).await;
    let Err(rmcp::ServiceError::McpError(error)) = outcome else {
        panic!("expected a JSON-RPC error for an unknown tool, got {outcome:?}");
    };
    assert_eq!(
        error.code,
        rmcp::model::ErrorCode::INVALID_PARAMS,
        "{error:?}"
    );
    assert!(error.message.contains("tool not found"), "{error:?}");
    assert_eq!(db.fingerprint().await, before);
    // The session survives the bad call.
    ok(call(&client, "get_incident", json!({"incident": "INC-1"})).await);
}
