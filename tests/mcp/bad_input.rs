//! Bad input for every tool: missing, unknown and wrong-typed fields, bad enum values, oversized
//! text, unknown incidents and malformed references each give a clear tool error (a stable code
//! and a message naming the field or the allowed values), and leave the database unchanged.

use chrono::{Duration, Utc};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use serde_json::{Map, Value, json};

use crate::support::{Client, TestDb, call, ok};

/// One byte over the 64 KiB text limit.
const OVERSIZED_TEXT_BYTES: usize = 64 * 1024 + 1;
/// A UUID no incident has.
const UNKNOWN_UUID: &str = "3f2c8a1e-9b7d-4c6e-8f1a-2b3c4d5e6f70";

/// One bad call and the tool error it must produce.
struct Case {
    /// What is wrong with the arguments.
    what: String,
    /// The arguments (an object).
    args: Value,
    /// The expected error code.
    code: &'static str,
    /// Substrings the message must contain (the field, the allowed values, the reference).
    needles: Vec<String>,
    /// Fields of the structured `error` object and their expected values.
    details: Vec<(&'static str, Value)>,
}

/// A case expecting `code` with a message that contains `needle`.
fn case(
    what: impl Into<String>,
    args: Value,
    code: &'static str,
    needle: impl Into<String>,
) -> Case {
    Case {
        what: what.into(),
        args,
        code,
        needles: vec![needle.into()],
        details: Vec::new(),
    }
}

impl Case {
    /// The message must also contain `needle`.
    fn mentioning(mut self, needle: impl Into<String>) -> Case {
        self.needles.push(needle.into());
        self
    }

    /// The structured error must carry `key: value`.
    fn with_detail(mut self, key: &'static str, value: Value) -> Case {
        self.details.push((key, value));
        self
    }
}

/// `base` (an object) with `key` set to `value`.
fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut args = base.clone();
    args[key] = value;
    args
}

/// A string of `n` copies of `x`.
fn long(n: usize) -> String {
    "x".repeat(n)
}

/// An RFC 3339 timestamp `hours` from now.
fn hours_from_now(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours)).to_rfc3339()
}

/// `n` distinct valid labels.
fn many_labels(n: usize) -> Value {
    let labels: Map<String, Value> = (0..n)
        .map(|i| (format!("k{i}"), Value::String(format!("v{i}"))))
        .collect();
    Value::Object(labels)
}

/// Unknown and malformed incident references in the `incident` field of otherwise valid `base`
/// arguments.
fn reference_cases(base: &Value) -> Vec<Case> {
    let mut cases = vec![
        case(
            "unknown incident INC-999",
            with(base, "incident", json!("INC-999")),
            "not_found",
            "INC-999",
        ),
        case(
            "unknown incident 999",
            with(base, "incident", json!("999")),
            "not_found",
            "INC-999",
        ),
        case(
            "unknown incident by UUID",
            with(base, "incident", json!(UNKNOWN_UUID)),
            "not_found",
            UNKNOWN_UUID,
        ),
    ];
    for raw in [
        "INC-",
        "INC-abc",
        "abc",
        "0",
        "-3",
        "",
        "INC-99999999999999999999",
    ] {
        cases.push(
            case(
                format!("malformed reference `{raw}`"),
                with(base, "incident", json!(raw)),
                "invalid_argument",
                "`incident`",
            )
            .mentioning("INC-42")
            .with_detail("field", json!("incident")),
        );
    }
    cases
}

/// The incidents the bad calls run against.
struct Seeded {
    /// A text-search cursor from `list_incidents`.
    text_cursor: String,
    /// A newest-first cursor from `list_incidents`.
    number_cursor: String,
    /// A cursor from `get_timeline`.
    timeline_cursor: String,
}

/// Seeds INC-1 and INC-2 (triage), INC-3 (resolved), INC-4 (investigating) and INC-5 (declined).
async fn seed(client: &Client) -> Seeded {
    ok(call(
        client,
        "declare_incident",
        json!({"title": "Checkout API returning 5xx", "severity": "SEV2",
               "summary": "checkout errors at 12%", "services": ["checkout-api"]}),
    )
    .await);
    ok(call(
        client,
        "declare_incident",
        json!({"title": "Checkout latency", "severity": "SEV3", "services": ["checkout-api"]}),
    )
    .await);
    for (title, severity) in [
        ("Disk full on db-3", "SEV4"),
        ("Queue backlog", "SEV3"),
        ("Flapping alert", "SEV5"),
    ] {
        ok(call(
            client,
            "declare_incident",
            json!({"title": title, "severity": severity}),
        )
        .await);
    }
    ok(call(
        client,
        "change_status",
        json!({"incident": "INC-3", "to": "investigating"}),
    )
    .await);
    ok(call(
        client,
        "resolve_incident",
        json!({"incident": "INC-3", "resolution": "freed space"}),
    )
    .await);
    ok(call(
        client,
        "change_status",
        json!({"incident": "INC-4", "to": "investigating"}),
    )
    .await);
    ok(call(
        client,
        "change_status",
        json!({"incident": "INC-5", "to": "declined", "note": "false alarm"}),
    )
    .await);
    let text_page = ok(call(
        client,
        "list_incidents",
        json!({"text": "checkout", "limit": 1}),
    )
    .await);
    let number_page = ok(call(client, "list_incidents", json!({"limit": 1})).await);
    let timeline_page = ok(call(
        client,
        "get_timeline",
        json!({"incident": "INC-3", "limit": 1}),
    )
    .await);
    let cursor = |page: &Value| page["next_cursor"].as_str().unwrap_or_default().to_owned();
    let seeded = Seeded {
        text_cursor: cursor(&text_page),
        number_cursor: cursor(&number_page),
        timeline_cursor: cursor(&timeline_page),
    };
    assert!(
        seeded.text_cursor.starts_with('r'),
        "text cursor {}",
        seeded.text_cursor
    );
    assert!(
        seeded.number_cursor.starts_with('n'),
        "number cursor {}",
        seeded.number_cursor
    );
    assert!(
        seeded.timeline_cursor.starts_with('t'),
        "timeline cursor {}",
        seeded.timeline_cursor
    );
    seeded
}

/// Checks one answer against its case; returns what is wrong with it.
fn check(case: &Case, result: &CallToolResult) -> Vec<String> {
    let text = result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap_or_default();
    if result.is_error != Some(true) {
        return vec![format!("expected a tool error, got success: {text}")];
    }
    let error = result
        .structured_content
        .as_ref()
        .map(|content| content["error"].clone())
        .unwrap_or(Value::Null);
    let (Some(code), Some(message)) = (error["code"].as_str(), error["message"].as_str()) else {
        return vec![format!(
            "no structured error with code and message; text: {text}"
        )];
    };
    let mut problems = Vec::new();
    if code != case.code {
        problems.push(format!("code `{code}`, expected `{}`", case.code));
    }
    if !text.starts_with(&format!("{code}: ")) {
        problems.push(format!("text does not start with `{code}: `"));
    }
    for needle in &case.needles {
        if !message.contains(needle.as_str()) {
            problems.push(format!("message does not mention `{needle}`"));
        }
    }
    for (key, value) in &case.details {
        if error[*key] != *value {
            problems.push(format!("error.{key} is {}, expected {value}", error[*key]));
        }
    }
    if !problems.is_empty() {
        problems.push(format!("full text: {text}"));
    }
    problems
}

/// Runs every case against `tool`, then asserts that each gave the expected tool error and
/// that none changed the database.
async fn run(db: &TestDb, client: &Client, tool: &str, cases: Vec<Case>) {
    let start = db.fingerprint().await;
    let mut before = start.clone();
    let mut failures = Vec::new();
    for case in &cases {
        let Value::Object(arguments) = case.args.clone() else {
            panic!("{tool} / {}: arguments must be an object", case.what);
        };
        let request = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let mut problems = match client.call_tool(request).await {
            Ok(result) => check(case, &result),
            Err(err) => vec![format!("protocol error instead of a tool error: {err}")],
        };
        let after = db.fingerprint().await;
        if after != before {
            problems.push("the database changed".to_owned());
            before = after;
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{tool} / {}:\n    {}",
                case.what,
                problems.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases for {tool} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        db.fingerprint().await,
        start,
        "{tool}: the database changed"
    );
}

/// A fresh database with the seeded incidents and a client on it.
async fn setup() -> (TestDb, Client, Seeded) {
    let db = TestDb::new().await;
    let client = db.client().await;
    let seeded = seed(&client).await;
    (db, client, seeded)
}

#[tokio::test]
async fn declare_incident_refuses_bad_input() {
    let (db, client, _) = setup().await;
    let base = json!({"title": "Search down", "severity": "SEV2"});
    let severities = "`SEV1`, `SEV2`, `SEV3`, `SEV4`, `SEV5`";
    let cases = vec![
        case("no arguments", json!({}), "invalid_argument", "`title`"),
        case(
            "missing title",
            json!({"severity": "SEV2"}),
            "invalid_argument",
            "`title`",
        ),
        case(
            "missing severity",
            json!({"title": "Search down"}),
            "invalid_argument",
            "`severity`",
        ),
        case(
            "unknown field sevrity",
            with(&base, "sevrity", json!("SEV1")),
            "invalid_argument",
            "`sevrity`",
        ),
        case(
            "unknown field status",
            with(&base, "status", json!("investigating")),
            "invalid_argument",
            "`status`",
        ),
        case(
            "title null",
            with(&base, "title", Value::Null),
            "invalid_argument",
            "title",
        ),
        case(
            "title a number",
            with(&base, "title", json!(42)),
            "invalid_argument",
            "title",
        ),
        case(
            "severity a number",
            with(&base, "severity", json!(2)),
            "invalid_argument",
            "severity",
        ),
        case(
            "services a string",
            with(&base, "services", json!("checkout-api")),
            "invalid_argument",
            "services",
        ),
        case(
            "labels an array",
            with(&base, "labels", json!(["a", "b"])),
            "invalid_argument",
            "labels",
        ),
        case(
            "a label value a number",
            with(&base, "labels", json!({"region": 1})),
            "invalid_argument",
            "labels",
        ),
        case(
            "severity SEV9",
            with(&base, "severity", json!("SEV9")),
            "invalid_argument",
            severities,
        )
        .mentioning("SEV9"),
        case(
            "severity lowercase sev2",
            with(&base, "severity", json!("sev2")),
            "invalid_argument",
            severities,
        ),
        case(
            "title of 201 characters",
            with(&base, "title", json!(long(201))),
            "invalid_argument",
            "`title`",
        )
        .mentioning("200")
        .with_detail("field", json!("title")),
        case(
            "empty title",
            with(&base, "title", json!("")),
            "invalid_argument",
            "`title`",
        )
        .with_detail("field", json!("title")),
        case(
            "whitespace-only title",
            with(&base, "title", json!("   ")),
            "invalid_argument",
            "`title`",
        ),
        case(
            "two-line title",
            with(&base, "title", json!("Search\ndown")),
            "invalid_argument",
            "`title`",
        )
        .mentioning("single line"),
        case(
            "summary of 64 KiB + 1 bytes",
            with(&base, "summary", json!(long(OVERSIZED_TEXT_BYTES))),
            "invalid_argument",
            "`summary`",
        )
        .mentioning("65536")
        .with_detail("field", json!("summary")),
        case(
            "impact of 64 KiB + 1 bytes",
            with(&base, "impact", json!(long(OVERSIZED_TEXT_BYTES))),
            "invalid_argument",
            "`impact`",
        )
        .with_detail("field", json!("impact")),
        case(
            "service `Checkout API`",
            with(&base, "services", json!(["Checkout API"])),
            "invalid_argument",
            "`services`",
        )
        .mentioning("Checkout API"),
        case(
            "21 services",
            with(
                &base,
                "services",
                json!((0..21).map(|i| format!("svc-{i}")).collect::<Vec<_>>()),
            ),
            "invalid_argument",
            "`services`",
        )
        .mentioning("20"),
        case(
            "33 labels",
            with(&base, "labels", many_labels(33)),
            "invalid_argument",
            "`labels`",
        )
        .mentioning("32"),
        case(
            "label key with a space",
            with(&base, "labels", json!({"alert name": "x"})),
            "invalid_argument",
            "`labels.alert name`",
        ),
        case(
            "label value of 257 characters",
            with(&base, "labels", json!({"k": long(257)})),
            "invalid_argument",
            "`labels.k`",
        ),
        case(
            "commander of 201 characters",
            with(&base, "commander", json!(long(201))),
            "invalid_argument",
            "`commander`",
        ),
        case(
            "empty commander",
            with(&base, "commander", json!("  ")),
            "invalid_argument",
            "`commander`",
        ),
        case(
            "empty idempotency_key",
            with(&base, "idempotency_key", json!("")),
            "invalid_argument",
            "`idempotency_key`",
        ),
        case(
            "empty dedup_key",
            with(&base, "dedup_key", json!("")),
            "invalid_argument",
            "`dedup_key`",
        ),
        case(
            "detected_at one hour ahead",
            with(&base, "detected_at", json!(hours_from_now(1))),
            "invalid_argument",
            "`detected_at`",
        )
        .mentioning("future"),
        case(
            "impact_started_at one hour ahead",
            with(&base, "impact_started_at", json!(hours_from_now(1))),
            "invalid_argument",
            "`impact_started_at`",
        ),
        case(
            "impact_started_at after detected_at",
            with(
                &with(&base, "detected_at", json!(hours_from_now(-2))),
                "impact_started_at",
                json!(hours_from_now(-1)),
            ),
            "invalid_argument",
            "`impact_started_at`",
        )
        .mentioning("`detected_at`"),
        case(
            "detected_at `yesterday`",
            with(&base, "detected_at", json!("yesterday")),
            "invalid_argument",
            "detected_at",
        ),
    ];
    run(&db, &client, "declare_incident", cases).await;
}

#[tokio::test]
async fn get_incident_refuses_bad_input() {
    let (db, client, _) = setup().await;
    let base = json!({"incident": "INC-1"});
    let mut cases = vec![
        case(
            "missing incident",
            json!({}),
            "invalid_argument",
            "`incident`",
        ),
        case(
            "unknown field",
            with(&base, "verbose", json!(true)),
            "invalid_argument",
            "`verbose`",
        ),
        case(
            "incident a number",
            json!({"incident": 1}),
            "invalid_argument",
            "incident",
        ),
        case(
            "incident an array",
            json!({"incident": ["INC-1"]}),
            "invalid_argument",
            "incident",
        ),
    ];
    cases.extend(reference_cases(&base));
    run(&db, &client, "get_incident", cases).await;
}

#[tokio::test]
async fn list_incidents_refuses_bad_input() {
    let (db, client, seeded) = setup().await;
    let statuses = "`open`, `triage`, `investigating`";
    let cases = vec![
        case(
            "unknown field",
            json!({"state": "open"}),
            "invalid_argument",
            "`state`",
        ),
        case(
            "limit a string",
            json!({"limit": "10"}),
            "invalid_argument",
            "limit",
        ),
        case(
            "limit a fraction",
            json!({"limit": 2.5}),
            "invalid_argument",
            "limit",
        ),
        case(
            "status a string, not a list",
            json!({"status": "open"}),
            "invalid_argument",
            "status",
        ),
        case(
            "status `fixed`",
            json!({"status": ["fixed"]}),
            "invalid_argument",
            statuses,
        )
        .mentioning("fixed"),
        case(
            "severity SEV9",
            json!({"severity": ["SEV9"]}),
            "invalid_argument",
            "`SEV1`",
        ),
        case(
            "limit 0",
            json!({"limit": 0}),
            "invalid_argument",
            "`limit`",
        )
        .mentioning("1 and 100")
        .with_detail("field", json!("limit")),
        case(
            "limit 101",
            json!({"limit": 101}),
            "invalid_argument",
            "`limit`",
        )
        .mentioning("1 and 100"),
        case(
            "limit -1",
            json!({"limit": -1}),
            "invalid_argument",
            "`limit`",
        ),
        case(
            "cursor `zzz`",
            json!({"cursor": "zzz"}),
            "invalid_argument",
            "`cursor`",
        )
        .with_detail("field", json!("cursor")),
        case(
            "cursor `n`",
            json!({"cursor": "n"}),
            "invalid_argument",
            "`cursor`",
        ),
        case(
            "cursor `nabc`",
            json!({"cursor": "nabc"}),
            "invalid_argument",
            "`cursor`",
        ),
        case(
            "text-search cursor without text",
            json!({"cursor": seeded.text_cursor}),
            "invalid_argument",
            "`cursor`",
        ),
        case(
            "newest-first cursor with text",
            json!({"text": "checkout", "cursor": seeded.number_cursor}),
            "invalid_argument",
            "`cursor`",
        ),
        case(
            "timeline cursor",
            json!({"cursor": seeded.timeline_cursor}),
            "invalid_argument",
            "`cursor`",
        ),
        case(
            "service `Checkout API`",
            json!({"service": "Checkout API"}),
            "invalid_argument",
            "`service`",
        )
        .mentioning("Checkout API"),
        case(
            "text over 1000 bytes",
            json!({"text": long(1001)}),
            "invalid_argument",
            "`text`",
        ),
        case(
            "since after until",
            json!({"since": hours_from_now(-1), "until": hours_from_now(-2)}),
            "invalid_argument",
            "`since`",
        )
        .mentioning("`until`"),
        case(
            "since `yesterday`",
            json!({"since": "yesterday"}),
            "invalid_argument",
            "since",
        ),
    ];
    run(&db, &client, "list_incidents", cases).await;
}

#[tokio::test]
async fn update_incident_refuses_bad_input() {
    let (db, client, _) = setup().await;
    let base = json!({"incident": "INC-1", "summary": "new summary"});
    let mut cases = vec![
        case(
            "missing incident",
            json!({"summary": "x"}),
            "invalid_argument",
            "`incident`",
        ),
        case(
            "no changes",
            json!({"incident": "INC-1"}),
            "invalid_argument",
            "at least one field",
        )
        .mentioning("title"),
        case(
            "no changes with expected_version",
            json!({"incident": "INC-1", "expected_version": 1}),
            "invalid_argument",
            "at least one field",
        ),
        case(
            "unknown field sevrity",
            with(&base, "sevrity", json!("SEV1")),
            "invalid_argument",
            "`sevrity`",
        ),
        case(
            "status is not a field of update_incident",
            with(&base, "status", json!("resolved")),
            "invalid_argument",
            "`status`",
        ),
        case(
            "expected_version a string",
            with(&base, "expected_version", json!("1")),
            "invalid_argument",
            "expected_version",
        ),
        case(
            "severity a number",
            with(&base, "severity", json!(2)),
            "invalid_argument",
            "severity",
        ),
        case(
            "services a string",
            with(&base, "services", json!("checkout-api")),
            "invalid_argument",
            "services",
        ),
        case(
            "labels an array",
            with(&base, "labels", json!(["a"])),
            "invalid_argument",
            "labels",
        ),
        case(
            "severity SEV9",
            with(&base, "severity", json!("SEV9")),
            "invalid_argument",
            "`SEV1`",
        )
        .mentioning("SEV9"),
        case(
            "title of 201 characters",
            with(&base, "title", json!(long(201))),
            "invalid_argument",
            "`title`",
        )
        .with_detail("field", json!("title")),
        case(
            "empty title",
            with(&base, "title", json!("")),
            "invalid_argument",
            "`title`",
        ),
        case(
            "summary of 64 KiB + 1 bytes",
            with(&base, "summary", json!(long(OVERSIZED_TEXT_BYTES))),
            "invalid_argument",
            "`summary`",
        ),
        case(
            "impact of 64 KiB + 1 bytes",
            with(&base, "impact", json!(long(OVERSIZED_TEXT_BYTES))),
            "invalid_argument",
            "`impact`",
        ),
        case(
            "service `Checkout API`",
            with(&base, "services", json!(["Checkout API"])),
            "invalid_argument",
            "`services`",
        ),
        case(
            "33 labels",
            with(&base, "labels", many_labels(33)),
            "invalid_argument",
            "`labels`",
        ),
        case(
            "label key with a space",
            with(&base, "labels", json!({"alert name": "x"})),
            "invalid_argument",
            "`labels.alert name`",
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
    cases.extend(reference_cases(&base));
    run(&db, &client, "update_incident", cases).await;
}

#[tokio::test]
async fn change_status_refuses_bad_input() {
    let (db, client, _) = setup().await;
    let base = json!({"incident": "INC-1", "to": "investigating"});
    let from_triage = json!([
        "investigating",
        "identified",
        "monitoring",
        "declined",
        "merged"
    ]);
    let mut cases = vec![
        case(
            "missing to",
            json!({"incident": "INC-1"}),
            "invalid_argument",
            "`to`",
        ),
        case(
            "missing incident",
            json!({"to": "investigating"}),
            "invalid_argument",
            "`incident`",
        ),
        case(
            "unknown field status",
            with(&base, "status", json!("identified")),
            "invalid_argument",
            "`status`",
        ),
        case(
            "to a number",
            with(&base, "to", json!(2)),
            "invalid_argument",
            "to",
        ),
        case(
            "expected_version a string",
            with(&base, "expected_version", json!("1")),
            "invalid_argument",
            "expected_version",
        ),
        case(
            "to `fixed`",
            with(&base, "to", json!("fixed")),
            "invalid_argument",
            "`investigating`",
        )
        .mentioning("`merged`")
        .mentioning("fixed"),
        case(
            "to `open` (a filter, not a status)",
            with(&base, "to", json!("open")),
            "invalid_argument",
            "`triage`",
        ),
        case(
            "note of 64 KiB + 1 bytes",
            with(&base, "note", json!(long(OVERSIZED_TEXT_BYTES))),
            "invalid_argument",
            "`note`",
        )
        .with_detail("field", json!("note")),
        case(
            "whitespace-only note",
            with(&base, "note", json!("  \n ")),
            "invalid_argument",
            "`note`",
        ),
        case(
            "triage to resolved",
            json!({"incident": "INC-1", "to": "resolved", "note": "done"}),
            "invalid_transition",
            "`investigating`, `identified`, `monitoring`, `declined`, `merged`",
        )
        .mentioning("INC-1")
        .with_detail("allowed", from_triage)
        .with_detail("current_status", json!("triage")),
        case(
            "triage to closed",
            json!({"incident": "INC-1", "to": "closed"}),
            "invalid_transition",
            "`closed`",
        ),
        case(
            "to the same status",
            json!({"incident": "INC-1", "to": "triage"}),
            "invalid_transition",
            "already `triage`",
        ),
        case(
            "resolved to monitoring",
            json!({"incident": "INC-3", "to": "monitoring"}),
            "invalid_transition",
            "`investigating`, `closed`",
        )
        .with_detail("allowed", json!(["investigating", "closed"])),
        case(
            "a terminal incident",
            json!({"incident": "INC-5", "to": "investigating"}),
            "invalid_transition",
            "terminal",
        )
        .with_detail("allowed", json!([])),
        case(
            "reopen without note",
            json!({"incident": "INC-3", "to": "investigating"}),
            "invalid_transition",
            "`note`",
        ),
        case(
            "resolve without note",
            json!({"incident": "INC-4", "to": "resolved"}),
            "invalid_transition",
            "resolution",
        ),
        case(
            "merged without merged_into",
            json!({"incident": "INC-1", "to": "merged"}),
            "invalid_transition",
            "`merged_into`",
        ),
        case(
            "merged into itself",
            json!({"incident": "INC-1", "to": "merged", "merged_into": "INC-1"}),
            "invalid_transition",
            "itself",
        )
        .mentioning("`merged_into`"),
        case(
            "merged into itself by number",
            json!({"incident": "INC-1", "to": "merged", "merged_into": "1"}),
            "invalid_transition",
            "itself",
        ),
        case(
            "merged into a non-existent incident",
            json!({"incident": "INC-1", "to": "merged", "merged_into": "INC-999"}),
            "invalid_argument",
            "`merged_into`",
        )
        .mentioning("INC-999"),
        case(
            "merged into a declined incident",
            json!({"incident": "INC-1", "to": "merged", "merged_into": "INC-5"}),
            "invalid_transition",
            "INC-5",
        )
        .mentioning("declined"),
        case(
            "merged_into malformed",
            json!({"incident": "INC-1", "to": "merged", "merged_into": "INC-abc"}),
            "invalid_argument",
            "`merged_into`",
        )
        .with_detail("field", json!("merged_into")),
        case(
            "merged_into with to investigating",
            json!({"incident": "INC-1", "to": "investigating", "merged_into": "INC-2"}),
            "invalid_transition",
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
    cases.extend(reference_cases(&base));
    run(&db, &client, "change_status", cases).await;
}

#[tokio::test]
async fn resolve_incident_refuses_bad_input() {
    let (db, client, _) = setup().await;
    let base = json!({"incident": "INC-4", "resolution": "rolled back"});
    let mut cases = vec![
        case(
            "missing resolution",
            json!({"incident": "INC-4"}),
            "invalid_argument",
            "`resolution`",
        ),
        case(
            "missing incident",
            json!({"resolution": "done"}),
            "invalid_argument",
            "`incident`",
        ),
        case(
            "unknown field note",
            with(&base, "note", json!("x")),
            "invalid_argument",
            "`note`",
        ),
        case(
            "resolution a number",
            with(&base, "resolution", json!(1)),
            "invalid_argument",
            "resolution",
        ),
        case(
            "expected_version a string",
            with(&base, "expected_version", json!("2")),
            "invalid_argument",
            "expected_version",
        ),
        case(
            "empty resolution",
            with(&base, "resolution", json!("")),
            "invalid_argument",
            "`resolution`",
        )
        .with_detail("field", json!("resolution")),
        case(
            "whitespace-only resolution",
            with(&base, "resolution", json!(" \t ")),
            "invalid_argument",
            "`resolution`",
        ),
        case(
            "resolution of 64 KiB + 1 bytes",
            with(&base, "resolution", json!(long(OVERSIZED_TEXT_BYTES))),
            "invalid_argument",
            "`resolution`",
        ),
        case(
            "from triage",
            json!({"incident": "INC-1", "resolution": "done"}),
            "invalid_transition",
            "`investigating`, `identified`, `monitoring`, `declined`, `merged`",
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
        case(
            "already resolved",
            json!({"incident": "INC-3", "resolution": "again"}),
            "invalid_transition",
            "already `resolved`",
        ),
        case(
            "a declined incident",
            json!({"incident": "INC-5", "resolution": "done"}),
            "invalid_transition",
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
    cases.extend(reference_cases(&base));
    run(&db, &client, "resolve_incident", cases).await;
}

#[tokio::test]
async fn assign_role_refuses_bad_input() {
    let (db, client, _) = setup().await;
    let base = json!({"incident": "INC-1", "role": "commander", "assignee": "alice"});
    let roles = "`commander`, `tech_lead`, `comms_lead`, `scribe`, `responder`";
    let mut cases = vec![
        case(
            "missing role",
            json!({"incident": "INC-1", "assignee": "alice"}),
            "invalid_argument",
            "`role`",
        ),
        case(
            "missing assignee",
            json!({"incident": "INC-1", "role": "commander"}),
            "invalid_argument",
            "`assignee`",
        ),
        case(
            "unknown field",
            with(&base, "assignees", json!(["bob"])),
            "invalid_argument",
            "`assignees`",
        ),
        case(
            "assignee an array",
            with(&base, "assignee", json!(["bob"])),
            "invalid_argument",
            "assignee",
        ),
        case(
            "role `boss`",
            with(&base, "role", json!("boss")),
            "invalid_argument",
            roles,
        )
        .mentioning("boss"),
        case(
            "role `Commander`",
            with(&base, "role", json!("Commander")),
            "invalid_argument",
            roles,
        ),
        case(
            "empty assignee",
            with(&base, "assignee", json!("")),
            "invalid_argument",
            "`assignee`",
        )
        .with_detail("field", json!("assignee")),
        case(
            "whitespace-only assignee",
            with(&base, "assignee", json!("   ")),
            "invalid_argument",
            "`assignee`",
        ),
        case(
            "assignee of 201 characters",
            with(&base, "assignee", json!(long(201))),
            "invalid_argument",
            "`assignee`",
        )
        .mentioning("200"),
    ];
    cases.extend(reference_cases(&base));
    run(&db, &client, "assign_role", cases).await;
}

#[tokio::test]
async fn add_timeline_entry_refuses_bad_input() {
    let (db, client, _) = setup().await;
    let base = json!({"incident": "INC-1", "kind": "note", "body": "looking at dashboards"});
    let kinds = "`note`, `finding`, `hypothesis`, `decision`, `action`";
    let mut cases = vec![
        case(
            "missing body",
            json!({"incident": "INC-1", "kind": "note"}),
            "invalid_argument",
            "`body`",
        ),
        case(
            "missing kind",
            json!({"incident": "INC-1", "body": "x"}),
            "invalid_argument",
            "`kind`",
        ),
        case(
            "unknown field",
            with(&base, "author", json!("eve")),
            "invalid_argument",
            "`author`",
        ),
        case(
            "body a number",
            with(&base, "body", json!(5)),
            "invalid_argument",
            "body",
        ),
        case(
            "kind `status_change`",
            with(&base, "kind", json!("status_change")),
            "invalid_argument",
            kinds,
        )
        .mentioning("status_change"),
        case(
            "kind `alert`",
            with(&base, "kind", json!("alert")),
            "invalid_argument",
            kinds,
        ),
        case(
            "kind `remark`",
            with(&base, "kind", json!("remark")),
            "invalid_argument",
            kinds,
        ),
        case(
            "visibility `secret`",
            with(&base, "visibility", json!("secret")),
            "invalid_argument",
            "`internal`",
        )
        .mentioning("`public`"),
        case(
            "empty body",
            with(&base, "body", json!("")),
            "invalid_argument",
            "`body`",
        )
        .with_detail("field", json!("body")),
        case(
            "whitespace-only body",
            with(&base, "body", json!(" \n\t ")),
            "invalid_argument",
            "`body`",
        ),
        case(
            "body of 64 KiB + 1 bytes",
            with(&base, "body", json!(long(OVERSIZED_TEXT_BYTES))),
            "invalid_argument",
            "`body`",
        )
        .mentioning("65536"),
        case(
            "occurred_at one hour ahead",
            with(&base, "occurred_at", json!(hours_from_now(1))),
            "invalid_argument",
            "`occurred_at`",
        )
        .mentioning("future"),
        case(
            "occurred_at `yesterday`",
            with(&base, "occurred_at", json!("yesterday")),
            "invalid_argument",
            "occurred_at",
        ),
    ];
    cases.extend(reference_cases(&base));
    run(&db, &client, "add_timeline_entry", cases).await;
}

#[tokio::test]
async fn get_timeline_refuses_bad_input() {
    let (db, client, seeded) = setup().await;
    let base = json!({"incident": "INC-3"});
    let mut cases = vec![
        case(
            "missing incident",
            json!({"limit": 5}),
            "invalid_argument",
            "`incident`",
        ),
        case(
            "unknown field",
            with(&base, "kind", json!("note")),
            "invalid_argument",
            "`kind`",
        ),
        case(
            "limit a string",
            with(&base, "limit", json!("10")),
            "invalid_argument",
            "limit",
        ),
        case(
            "kinds a string",
            with(&base, "kinds", json!("note")),
            "invalid_argument",
            "kinds",
        ),
        case(
            "kind `gossip`",
            with(&base, "kinds", json!(["gossip"])),
            "invalid_argument",
            "`status_change`",
        )
        .mentioning("gossip"),
        case(
            "limit 0",
            with(&base, "limit", json!(0)),
            "invalid_argument",
            "`limit`",
        )
        .mentioning("1 and 200"),
        case(
            "limit 201",
            with(&base, "limit", json!(201)),
            "invalid_argument",
            "`limit`",
        )
        .mentioning("1 and 200"),
        case(
            "cursor `zzz`",
            with(&base, "cursor", json!("zzz")),
            "invalid_argument",
            "`cursor`",
        )
        .with_detail("field", json!("cursor")),
        case(
            "cursor `t1_x`",
            with(&base, "cursor", json!("t1_x")),
            "invalid_argument",
            "`cursor`",
        ),
        case(
            "a list_incidents cursor",
            with(&base, "cursor", json!(seeded.number_cursor)),
            "invalid_argument",
            "`cursor`",
        ),
        case(
            "cursor out of the time range",
            with(&base, "cursor", json!("t9223372036854775807_1")),
            "invalid_argument",
            "`cursor`",
        ),
    ];
    cases.extend(reference_cases(&base));
    run(&db, &client, "get_timeline", cases).await;
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
