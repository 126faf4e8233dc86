//! Hostile characters in every string field of every tool, found by walking each tool's input
//! schema (so a new tool or field cannot be skipped): NUL (which PostgreSQL cannot store), C0
//! and C1 control characters and DEL are refused as `invalid_argument` naming the field, and
//! write nothing; bidirectional overrides, lone invisible characters and noncharacters never
//! cause an internal error. Titles and names refuse those too.

use serde_json::{Value, json};

use crate::retries::write_calls;
use crate::runbooks::{folder, runbook, sync};
use crate::support::{Client, TestDb, call, declare, failure, ok};

/// Refused in every string field.
const REFUSED: [&str; 5] = ["a\u{0}b", "\u{0}", "a\u{1b}[31mb", "a\u{85}b", "a\u{7f}b"];
/// Allowed in some fields (free text) and refused in others, but never an internal error.
const AWKWARD: [&str; 4] = ["\u{202e}evil", "\u{feff}", "\u{ffff}", "\u{200b}\u{2060}"];

/// A valid call of each read tool (the write tools' come from `retries::write_calls`).
fn read_calls() -> Vec<(&'static str, Value)> {
    vec![
        ("get_incident", json!({"incident": "INC-1"})),
        (
            "list_incidents",
            json!({"text": "latency", "service": "payments"}),
        ),
        ("get_timeline", json!({"incident": "INC-1"})),
        (
            "find_runbooks",
            json!({"text": "disk", "service": "postgres", "alert": "DiskFull"}),
        ),
        ("get_runbook", json!({"slug": "disk-full"})),
        ("get_postmortem", json!({"incident": "INC-2"})),
        (
            "list_action_items",
            json!({"incident": "INC-1", "owner": "dana"}),
        ),
        ("list_alerts", json!({"incident": "INC-1", "source": "am"})),
        ("list_changes", json!({"service": "checkout"})),
        (
            "find_similar_incidents",
            json!({"text": "checkout", "services": ["checkout"], "labels": {"alertname": "x"}}),
        ),
        (
            "incident_metrics",
            json!({"from": "-30d", "to": "now", "service": "checkout", "severity": ["SEV1"],
                "group_by": "week"}),
        ),
    ]
}

/// Every call, by tool.
fn base_calls() -> Vec<(&'static str, Value)> {
    let writes = write_calls()
        .into_iter()
        .map(|(tool, args, _)| (tool, args));
    read_calls().into_iter().chain(writes).collect()
}

/// One place a hostile string can go: a top-level field, an element of a string list, or a
/// value (or key) of a string map.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Field,
    ListElement,
    MapValue,
    MapKey,
}

/// The string slots of an input schema's properties.
fn string_slots(schema: &Value) -> Vec<(String, Slot)> {
    let mut slots = Vec::new();
    let Some(properties) = schema["properties"].as_object() else {
        return slots;
    };
    for (name, property) in properties {
        if has_type(property, "string") {
            slots.push((name.clone(), Slot::Field));
        }
        if has_type(property, "array") && has_type(&property["items"], "string") {
            slots.push((name.clone(), Slot::ListElement));
        }
        if has_type(property, "object") && has_type(&property["additionalProperties"], "string") {
            slots.push((name.clone(), Slot::MapValue));
            slots.push((name.clone(), Slot::MapKey));
        }
    }
    slots
}

/// Whether a JSON schema allows `kind` (`"type": "x"`, `["x", "null"]`, or an enum of strings).
fn has_type(schema: &Value, kind: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == kind,
        Value::Array(types) => types.iter().any(|t| t == kind),
        _ => kind == "string" && schema["enum"].is_array(),
    }
}

/// `base` with `value` put into `slot` of `field`.
fn mutated(base: &Value, field: &str, slot: Slot, value: &str) -> Value {
    let mut args = base.clone();
    args[field] = match slot {
        Slot::Field => json!(value),
        Slot::ListElement => json!([value]),
        Slot::MapValue => {
            let key = match field {
                "sections" => "lessons",
                _ => "team",
            };
            json!({ key: value })
        }
        Slot::MapKey => json!({ value: "x" }),
    };
    args
}

/// Two incidents (INC-1 live, INC-2 resolved with a drafted postmortem), an action item and the
/// `disk-full` runbook.
async fn seeded() -> (TestDb, Client) {
    let db = TestDb::new().await;
    let dir = folder(&[(
        "disk-full.md",
        &runbook(
            "disk-full",
            "Disk full",
            "services: [postgres]\nalerts: [DiskFull]\n",
        ),
    )]);
    sync(&db, dir.path()).await;
    crate::support::signals::seed_change(&db).await;
    let client = db.client().await;
    declare(&client, "Payments latency", "SEV3").await;
    let second = declare(&client, "Search is slow", "SEV4").await;
    for args in [
        json!({"incident": second, "to": "investigating"}),
        json!({"incident": second, "to": "resolved", "note": "Reindexed"}),
    ] {
        ok(call(&client, "change_status", args).await);
    }
    ok(call(&client, "draft_postmortem", json!({"incident": second})).await);
    let item = json!({"incident": "INC-1", "title": "Alert on latency", "priority": "P2", "kind": "detect"});
    ok(call(&client, "add_action_item", item).await);
    (db, client)
}

#[tokio::test]
async fn control_characters_in_any_string_field_are_refused_naming_the_field() {
    let (db, client) = seeded().await;
    let bases = base_calls();
    let mut problems = Vec::new();
    let mut calls = 0;
    for tool in client.list_all_tools().await.unwrap() {
        let name = tool.name.as_ref();
        let base = bases
            .iter()
            .find(|(t, _)| *t == name)
            .map(|(_, args)| args.clone())
            .unwrap_or_else(|| panic!("{name} has no valid call in hostile_text::base_calls"));
        let schema = Value::Object((*tool.input_schema).clone());
        for (field, slot) in string_slots(&schema) {
            for value in REFUSED {
                let args = mutated(&base, &field, slot, value);
                let before = db.fingerprint().await;
                let result = call(&client, name, args.clone()).await;
                calls += 1;
                if result.is_error != Some(true) {
                    problems.push(format!("{name}.{field} ({slot:?}) accepted {value:?}"));
                    continue;
                }
                let refused = failure(result);
                let named = refused.details["field"]
                    .as_str()
                    .is_some_and(|f| f.starts_with(field.as_str()))
                    || refused.message.contains(&format!("`{field}"));
                if refused.code != "invalid_argument" || !named {
                    problems.push(format!(
                        "{name}.{field} ({slot:?}) {value:?}: {} {} (field {})",
                        refused.code, refused.message, refused.details["field"]
                    ));
                }
                if db.fingerprint().await != before {
                    problems.push(format!(
                        "{name}.{field} ({slot:?}) {value:?} wrote something"
                    ));
                }
            }
        }
    }
    assert!(
        calls > 150,
        "only {calls} calls: the schema walk found too few fields"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[tokio::test]
async fn awkward_characters_in_any_string_field_never_cause_an_internal_error() {
    let (_db, client) = seeded().await;
    let bases = base_calls();
    let mut problems = Vec::new();
    for tool in client.list_all_tools().await.unwrap() {
        let name = tool.name.as_ref();
        let Some((_, base)) = bases.iter().find(|(t, _)| *t == name) else {
            panic!("{name} has no valid call in hostile_text::base_calls");
        };
        let schema = Value::Object((*tool.input_schema).clone());
        for (field, slot) in string_slots(&schema) {
            for value in AWKWARD {
                let args = mutated(base, &field, slot, value);
                let request = rmcp::model::CallToolRequestParams::new(name.to_owned())
                    .with_arguments(args.as_object().unwrap().clone());
                match client.call_tool(request).await {
                    Ok(result) if result.is_error == Some(true) => {
                        let refused = failure(result);
                        if refused.code == "internal" {
                            problems.push(format!("{name}.{field} {value:?}: internal"));
                        }
                    }
                    Ok(_) => {}
                    Err(err) => problems.push(format!("{name}.{field} {value:?}: {err}")),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn titles_and_names_refuse_bidi_overrides_and_invisible_only_text() {
    let (db, client) = seeded().await;
    let cases = [
        ("declare_incident", json!({"severity": "SEV3"}), "title"),
        (
            "declare_incident",
            json!({"title": "t", "severity": "SEV3"}),
            "commander",
        ),
        ("update_incident", json!({"incident": "INC-1"}), "title"),
        (
            "assign_role",
            json!({"incident": "INC-1", "role": "scribe"}),
            "assignee",
        ),
        (
            "add_action_item",
            json!({"incident": "INC-1", "priority": "P3", "kind": "process"}),
            "title",
        ),
        (
            "add_action_item",
            json!({"incident": "INC-1", "title": "t", "priority": "P3", "kind": "process"}),
            "owner",
        ),
    ];
    let before = db.fingerprint().await;
    for (tool, base, field) in cases {
        for value in [
            "Checkout \u{202e}nwod",
            "\u{feff}",
            "\u{200b}\u{200d}",
            "\u{ffff}x",
        ] {
            let mut args = base.clone();
            args[field] = json!(value);
            let refused = failure(call(&client, tool, args).await);
            assert_eq!(
                (refused.code.as_str(), refused.details["field"].as_str()),
                ("invalid_argument", Some(field)),
                "{tool}.{field} {value:?}: {}",
                refused.message
            );
        }
    }
    let labelled = json!({"title": "t", "severity": "SEV3", "labels": {"team": "\u{202e}x"}});
    let refused = failure(call(&client, "declare_incident", labelled).await);
    assert_eq!(
        refused.details["field"], "labels.team",
        "{}",
        refused.message
    );
    assert_eq!(db.fingerprint().await, before);
}

#[tokio::test]
async fn timestamps_outside_1970_to_9999_are_refused() {
    let (db, client) = seeded().await;
    let before = db.fingerprint().await;
    let cases = [
        (
            "declare_incident",
            json!({"title": "t", "severity": "SEV3", "detected_at": "0000-01-01T00:00:00Z"}),
            "detected_at",
        ),
        (
            "declare_incident",
            json!({"title": "t", "severity": "SEV3", "impact_started_at": "1969-12-31T23:59:59Z"}),
            "impact_started_at",
        ),
        (
            "add_timeline_entry",
            json!({"incident": "INC-1", "kind": "note", "body": "b", "occurred_at": "0001-01-01T00:00:00Z"}),
            "occurred_at",
        ),
        (
            "list_incidents",
            json!({"since": "0000-01-01T00:00:00Z"}),
            "since",
        ),
        (
            "add_action_item",
            json!({"incident": "INC-1", "title": "t", "priority": "P3", "kind": "process", "due_on": "+10000-01-01"}),
            "due_on",
        ),
    ];
    for (tool, args, field) in cases {
        let refused = failure(call(&client, tool, args).await);
        assert_eq!(
            (refused.code.as_str(), refused.details["field"].as_str()),
            ("invalid_argument", Some(field)),
            "{tool}: {}",
            refused.message
        );
    }
    assert_eq!(db.fingerprint().await, before);
}
