//! Bad input for the lifecycle and timeline tools (`change_status`, `resolve_incident`,
//! `assign_role`, `add_timeline_entry`, `get_timeline`).

use serde_json::json;

use crate::support::refusals::{
    Case, OVERSIZED_TEXT_BYTES, Seeded, Table, assert_table_refused, case, hours_from_now,
    incident_reference_cases, invalid, long, transition, with,
};

/// The statuses reachable from triage, as the error lists them.
const FROM_TRIAGE: &str = "`investigating`, `identified`, `monitoring`, `declined`, `merged`";

fn change_status_cases(_: &Seeded) -> Vec<Case> {
    let base = json!({"incident": "INC-1", "to": "investigating"});
    let merge = |into: &str| json!({"incident": "INC-1", "to": "merged", "merged_into": into});
    let mut cases = vec![
        invalid("missing to", json!({"incident": "INC-1"}), "`to`"),
        invalid(
            "missing incident",
            json!({"to": "investigating"}),
            "`incident`",
        ),
        invalid(
            "unknown field status",
            with(&base, "status", json!("identified")),
            "`status`",
        ),
        invalid("to a number", with(&base, "to", json!(2)), "`to`"),
        invalid(
            "expected_version a string",
            with(&base, "expected_version", json!("1")),
            "`expected_version`",
        ),
        invalid(
            "to `fixed`",
            with(&base, "to", json!("fixed")),
            "`investigating`",
        )
        .mentioning("`merged`")
        .mentioning("fixed"),
        invalid("to `open`", with(&base, "to", json!("open")), "`triage`"),
        invalid(
            "note of 64 KiB + 1",
            with(&base, "note", json!(long(OVERSIZED_TEXT_BYTES))),
            "`note`",
        )
        .field("note"),
        invalid(
            "whitespace-only note",
            with(&base, "note", json!("  \n ")),
            "`note`",
        ),
        transition(
            "triage to resolved",
            json!({"incident": "INC-1", "to": "resolved", "note": "done"}),
            FROM_TRIAGE,
        )
        .mentioning("INC-1")
        .with_detail(
            "allowed",
            json!([
                "investigating",
                "identified",
                "monitoring",
                "declined",
                "merged"
            ]),
        )
        .with_detail("current_status", json!("triage")),
        transition(
            "triage to closed",
            json!({"incident": "INC-1", "to": "closed"}),
            FROM_TRIAGE,
        ),
        transition(
            "to the same status",
            json!({"incident": "INC-1", "to": "triage"}),
            "already `triage`",
        ),
        transition(
            "resolved to monitoring",
            json!({"incident": "INC-3", "to": "monitoring"}),
            "`investigating`, `closed`",
        )
        .with_detail("allowed", json!(["investigating", "closed"])),
        transition(
            "from a terminal status",
            json!({"incident": "INC-5", "to": "investigating"}),
            "terminal",
        )
        .with_detail("allowed", json!([])),
        transition(
            "reopen without note",
            json!({"incident": "INC-3", "to": "investigating"}),
            "`note`",
        ),
        transition(
            "resolve without note",
            json!({"incident": "INC-4", "to": "resolved"}),
            "resolution",
        ),
        transition(
            "merged without merged_into",
            json!({"incident": "INC-1", "to": "merged"}),
            "`merged_into`",
        ),
        transition("merged into itself", merge("INC-1"), "itself").mentioning("`merged_into`"),
        transition("merged into itself by number", merge("1"), "itself"),
        invalid(
            "merged into a non-existent incident",
            merge("INC-999"),
            "`merged_into`",
        )
        .mentioning("INC-999")
        .field("merged_into"),
        transition("merged into a declined incident", merge("INC-5"), "INC-5")
            .mentioning("declined"),
        invalid("merged_into malformed", merge("INC-abc"), "`merged_into`").field("merged_into"),
        transition(
            "merged_into with to investigating",
            json!({"incident": "INC-1", "to": "investigating", "merged_into": "INC-2"}),
            "`merged_into`",
        ),
        case(
            "stale expected_version",
            with(&base, "expected_version", json!(7)),
            "conflict",
            "expected_version 1",
        )
        .with_detail("current_version", json!(1)),
    ];
    cases.extend(incident_reference_cases(&base));
    cases
}

fn resolve_incident_cases(_: &Seeded) -> Vec<Case> {
    let base = json!({"incident": "INC-4", "resolution": "rolled back"});
    let mut cases = vec![
        invalid(
            "missing resolution",
            json!({"incident": "INC-4"}),
            "`resolution`",
        ),
        invalid(
            "missing incident",
            json!({"resolution": "done"}),
            "`incident`",
        ),
        invalid(
            "unknown field note",
            with(&base, "note", json!("x")),
            "`note`",
        ),
        invalid(
            "resolution a number",
            with(&base, "resolution", json!(1)),
            "`resolution`",
        ),
        invalid(
            "expected_version a string",
            with(&base, "expected_version", json!("2")),
            "`expected_version`",
        ),
        invalid(
            "empty resolution",
            with(&base, "resolution", json!("")),
            "`resolution`",
        )
        .field("resolution"),
        invalid(
            "whitespace-only resolution",
            with(&base, "resolution", json!(" \t ")),
            "`resolution`",
        ),
        invalid(
            "resolution of 64 KiB + 1",
            with(&base, "resolution", json!(long(OVERSIZED_TEXT_BYTES))),
            "`resolution`",
        ),
        transition(
            "from triage",
            json!({"incident": "INC-1", "resolution": "done"}),
            FROM_TRIAGE,
        )
        .with_detail(
            "allowed",
            json!([
                "investigating",
                "identified",
                "monitoring",
                "declined",
                "merged"
            ]),
        ),
        transition(
            "already resolved",
            json!({"incident": "INC-3", "resolution": "again"}),
            "already `resolved`",
        ),
        transition(
            "a declined incident",
            json!({"incident": "INC-5", "resolution": "done"}),
            "terminal",
        ),
        case(
            "stale expected_version",
            with(&base, "expected_version", json!(1)),
            "conflict",
            "expected_version 2",
        )
        .with_detail("current_version", json!(2)),
    ];
    cases.extend(incident_reference_cases(&base));
    cases
}

fn assign_role_cases(_: &Seeded) -> Vec<Case> {
    let base = json!({"incident": "INC-1", "role": "commander", "assignee": "alice"});
    let roles = "`commander`, `tech_lead`, `comms_lead`, `scribe`, `responder`";
    let mut cases = vec![
        invalid(
            "missing role",
            json!({"incident": "INC-1", "assignee": "alice"}),
            "`role`",
        ),
        invalid(
            "missing assignee",
            json!({"incident": "INC-1", "role": "commander"}),
            "`assignee`",
        ),
        invalid(
            "unknown field",
            with(&base, "assignees", json!(["bob"])),
            "`assignees`",
        ),
        invalid(
            "assignee an array",
            with(&base, "assignee", json!(["bob"])),
            "`assignee`",
        ),
        invalid("role `boss`", with(&base, "role", json!("boss")), roles).mentioning("boss"),
        invalid("role `chief`", with(&base, "role", json!("chief")), roles),
        invalid(
            "empty assignee",
            with(&base, "assignee", json!("")),
            "`assignee`",
        )
        .field("assignee"),
        invalid(
            "whitespace-only assignee",
            with(&base, "assignee", json!("   ")),
            "`assignee`",
        ),
        invalid(
            "assignee of 201 characters",
            with(&base, "assignee", json!(long(201))),
            "`assignee`",
        )
        .mentioning("200"),
    ];
    cases.extend(incident_reference_cases(&base));
    cases
}

fn add_timeline_entry_cases(_: &Seeded) -> Vec<Case> {
    let base = json!({"incident": "INC-1", "kind": "note", "body": "looking at dashboards"});
    let kinds = "`note`, `finding`, `hypothesis`, `decision`, `action`";
    let mut cases = vec![
        invalid(
            "missing body",
            json!({"incident": "INC-1", "kind": "note"}),
            "`body`",
        ),
        invalid(
            "missing kind",
            json!({"incident": "INC-1", "body": "x"}),
            "`kind`",
        ),
        invalid(
            "unknown field",
            with(&base, "author", json!("eve")),
            "`author`",
        ),
        invalid("body a number", with(&base, "body", json!(5)), "`body`"),
        invalid(
            "kind `status_change`",
            with(&base, "kind", json!("status_change")),
            kinds,
        )
        .mentioning("status_change"),
        invalid("kind `alert`", with(&base, "kind", json!("alert")), kinds),
        invalid("kind `remark`", with(&base, "kind", json!("remark")), kinds),
        invalid(
            "visibility `secret`",
            with(&base, "visibility", json!("secret")),
            "`internal`",
        )
        .mentioning("`public`"),
        invalid("empty body", with(&base, "body", json!("")), "`body`").field("body"),
        invalid(
            "whitespace-only body",
            with(&base, "body", json!(" \n\t ")),
            "`body`",
        ),
        invalid(
            "body of 64 KiB + 1",
            with(&base, "body", json!(long(OVERSIZED_TEXT_BYTES))),
            "`body`",
        )
        .mentioning("65536"),
        invalid(
            "occurred_at an hour ahead",
            with(&base, "occurred_at", json!(hours_from_now(1))),
            "`occurred_at`",
        )
        .mentioning("future"),
        invalid(
            "occurred_at `yesterday`",
            with(&base, "occurred_at", json!("yesterday")),
            "`occurred_at`",
        ),
    ];
    cases.extend(incident_reference_cases(&base));
    cases
}

fn get_timeline_cases(seeded: &Seeded) -> Vec<Case> {
    let base = json!({"incident": "INC-3"});
    let mut cases = vec![
        invalid("missing incident", json!({"limit": 5}), "`incident`"),
        invalid(
            "unknown field",
            with(&base, "kind", json!("note")),
            "`kind`",
        ),
        invalid(
            "limit a string",
            with(&base, "limit", json!("10")),
            "`limit`",
        ),
        invalid(
            "kinds an object",
            with(&base, "kinds", json!({"note": true})),
            "`kinds`",
        ),
        invalid(
            "kind `gossip`",
            with(&base, "kinds", json!(["gossip"])),
            "`status_change`",
        )
        .mentioning("gossip"),
        invalid("limit 0", with(&base, "limit", json!(0)), "`limit`").mentioning("1 and 200"),
        invalid("limit 201", with(&base, "limit", json!(201)), "`limit`").mentioning("1 and 200"),
        invalid(
            "cursor `zzz`",
            with(&base, "cursor", json!("zzz")),
            "`cursor`",
        )
        .field("cursor"),
        invalid(
            "cursor `t1_x`",
            with(&base, "cursor", json!("t1_x")),
            "`cursor`",
        ),
        invalid(
            "a list_incidents cursor",
            with(&base, "cursor", json!(seeded.number_cursor)),
            "`cursor`",
        ),
        invalid(
            "cursor beyond the time range",
            with(&base, "cursor", json!("t9223372036854775807_1")),
            "`cursor`",
        ),
    ];
    cases.extend(incident_reference_cases(&base));
    cases
}

/// The lifecycle and timeline tools with their tables.
pub(crate) const TABLES: [(&str, Table); 5] = [
    ("change_status", change_status_cases),
    ("resolve_incident", resolve_incident_cases),
    ("assign_role", assign_role_cases),
    ("add_timeline_entry", add_timeline_entry_cases),
    ("get_timeline", get_timeline_cases),
];

#[tokio::test]
async fn change_status_refuses_bad_input() {
    assert_table_refused("change_status", change_status_cases).await;
}

#[tokio::test]
async fn resolve_incident_refuses_bad_input() {
    assert_table_refused("resolve_incident", resolve_incident_cases).await;
}

#[tokio::test]
async fn assign_role_refuses_bad_input() {
    assert_table_refused("assign_role", assign_role_cases).await;
}

#[tokio::test]
async fn add_timeline_entry_refuses_bad_input() {
    assert_table_refused("add_timeline_entry", add_timeline_entry_cases).await;
}

#[tokio::test]
async fn get_timeline_refuses_bad_input() {
    assert_table_refused("get_timeline", get_timeline_cases).await;
}
