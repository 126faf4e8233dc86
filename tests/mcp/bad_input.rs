//! Bad input for every tool: missing, unknown and wrong-typed fields, bad enum values, oversized
//! text, unknown incidents and malformed references each give a clear tool error (a stable code
//! and a message naming the field or the allowed values), and leave the database unchanged.
//!
//! Each tool has a table of cases; every case is checked for its code, its message and its
//! structured details, and the database fingerprint is compared after every call.

use chrono::{Duration, Utc};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use serde_json::{Map, Value, json};

use crate::support::{Client, TestDb, call, ok};

/// One byte over the 64 KiB text limit.
const OVERSIZED_TEXT_BYTES: usize = 64 * 1024 + 1;
/// A UUID no incident has.
const UNKNOWN_UUID: &str = "3f2c8a1e-9b7d-4c6e-8f1a-2b3c4d5e6f70";
/// The statuses reachable from triage, as the error lists them.
const FROM_TRIAGE: &str = "`investigating`, `identified`, `monitoring`, `declined`, `merged`";

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

/// An `invalid_argument` case.
fn invalid(what: impl Into<String>, args: Value, needle: impl Into<String>) -> Case {
    case(what, args, "invalid_argument", needle)
}

/// An `invalid_transition` case.
fn transition(what: impl Into<String>, args: Value, needle: impl Into<String>) -> Case {
    case(what, args, "invalid_transition", needle)
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

    /// The structured error must name `field` in `error.field`.
    fn field(self, field: &str) -> Case {
        self.with_detail("field", json!(field))
    }
}

/// `base` (an object) with `key` set to `value`.
fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut args = base.clone();
    args[key] = value;
    args
}

/// A string of `n` bytes.
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

/// Unknown and malformed references in the `incident` field of otherwise valid `base`.
fn reference_cases(base: &Value) -> Vec<Case> {
    let mut cases = vec![
        case(
            "unknown INC-999",
            with(base, "incident", json!("INC-999")),
            "not_found",
            "INC-999",
        ),
        case(
            "unknown 999",
            with(base, "incident", json!("999")),
            "not_found",
            "INC-999",
        ),
        case(
            "unknown UUID",
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
        let args = with(base, "incident", json!(raw));
        let what = format!("malformed reference `{raw}`");
        cases.push(
            invalid(what, args, "`incident`")
                .mentioning("INC-42")
                .field("incident"),
        );
    }
    cases
}

/// Cursors obtained from real pages, to misuse.
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
    let declarations = [
        json!({"title": "Checkout API returning 5xx", "severity": "SEV2",
               "summary": "checkout errors at 12%", "services": ["checkout-api"]}),
        json!({"title": "Checkout latency", "severity": "SEV3", "services": ["checkout-api"]}),
        json!({"title": "Disk full on db-3", "severity": "SEV4"}),
        json!({"title": "Queue backlog", "severity": "SEV3"}),
        json!({"title": "Flapping alert", "severity": "SEV5"}),
    ];
    for declaration in declarations {
        ok(call(client, "declare_incident", declaration).await);
    }
    let moves = [
        (
            "change_status",
            json!({"incident": "INC-3", "to": "investigating"}),
        ),
        (
            "resolve_incident",
            json!({"incident": "INC-3", "resolution": "freed space"}),
        ),
        (
            "change_status",
            json!({"incident": "INC-4", "to": "investigating"}),
        ),
        (
            "change_status",
            json!({"incident": "INC-5", "to": "declined", "note": "false alarm"}),
        ),
    ];
    for (tool, args) in moves {
        ok(call(client, tool, args).await);
    }
    let next = async |tool: &str, args: Value| -> String {
        let page = ok(call(client, tool, args).await);
        page["next_cursor"].as_str().unwrap_or_default().to_owned()
    };
    let seeded = Seeded {
        text_cursor: next("list_incidents", json!({"text": "checkout", "limit": 1})).await,
        number_cursor: next("list_incidents", json!({"limit": 1})).await,
        timeline_cursor: next("get_timeline", json!({"incident": "INC-3", "limit": 1})).await,
    };
    assert!(
        seeded.text_cursor.starts_with('r'),
        "{}",
        seeded.text_cursor
    );
    assert!(
        seeded.number_cursor.starts_with('n'),
        "{}",
        seeded.number_cursor
    );
    assert!(
        seeded.timeline_cursor.starts_with('t'),
        "{}",
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
        .map_or(Value::Null, |content| content["error"].clone());
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
            problems.push(format!("message does not mention {needle}"));
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

/// Runs the cases against `tool` and describes every case that did not give the expected
/// tool error or that changed the database.
async fn failures(db: &TestDb, client: &Client, tool: &str, cases: &[Case]) -> Vec<String> {
    let start = db.fingerprint().await;
    let mut before = start.clone();
    let mut failures = Vec::new();
    for case in cases {
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
    if db.fingerprint().await != start {
        failures.push(format!("{tool}: the database changed"));
    }
    failures
}

/// Asserts that every case gives its tool error and that the database is unchanged afterwards.
async fn assert_refused(tool: &str, cases: impl FnOnce(&Seeded) -> Vec<Case>) {
    let (db, client, seeded) = setup().await;
    let cases = cases(&seeded);
    let failed = failures(&db, &client, tool, &cases).await;
    assert!(
        failed.is_empty(),
        "{} of {} bad-input cases for {tool} failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}

/// A fresh database with the seeded incidents and a client on it.
async fn setup() -> (TestDb, Client, Seeded) {
    let db = TestDb::new().await;
    let client = db.client().await;
    let seeded = seed(&client).await;
    (db, client, seeded)
}

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
            "services a string",
            with(&base, "services", json!("api")),
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
    cases.extend(reference_cases(&base));
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
            "services a string",
            with(&base, "services", json!("api")),
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
    cases.extend(reference_cases(&base));
    cases
}

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
    cases.extend(reference_cases(&base));
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
    cases.extend(reference_cases(&base));
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
    cases.extend(reference_cases(&base));
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
    cases.extend(reference_cases(&base));
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
    cases.extend(reference_cases(&base));
    cases
}

/// Builds a tool's table of bad calls.
type Table = fn(&Seeded) -> Vec<Case>;

/// Tools whose bad-input tests live next to their other tests (runbooks, postmortems, action
/// items), each refusing bad input with a tool error and leaving the database unchanged.
const COVERED_ELSEWHERE: [&str; 9] = [
    "find_runbooks",
    "get_runbook",
    "record_runbook_step",
    "draft_postmortem",
    "get_postmortem",
    "update_postmortem",
    "add_action_item",
    "update_action_item",
    "list_action_items",
];

/// Every tool with its table.
const TABLES: [(&str, Table); 9] = [
    ("declare_incident", declare_incident_cases),
    ("get_incident", get_incident_cases),
    ("list_incidents", list_incidents_cases),
    ("update_incident", update_incident_cases),
    ("change_status", change_status_cases),
    ("resolve_incident", resolve_incident_cases),
    ("assign_role", assign_role_cases),
    ("add_timeline_entry", add_timeline_entry_cases),
    ("get_timeline", get_timeline_cases),
];

#[tokio::test]
async fn declare_incident_refuses_bad_input() {
    assert_refused("declare_incident", declare_incident_cases).await;
}

#[tokio::test]
async fn get_incident_refuses_bad_input() {
    assert_refused("get_incident", get_incident_cases).await;
}

#[tokio::test]
async fn list_incidents_refuses_bad_input() {
    assert_refused("list_incidents", list_incidents_cases).await;
}

#[tokio::test]
async fn update_incident_refuses_bad_input() {
    assert_refused("update_incident", update_incident_cases).await;
}

#[tokio::test]
async fn change_status_refuses_bad_input() {
    assert_refused("change_status", change_status_cases).await;
}

#[tokio::test]
async fn resolve_incident_refuses_bad_input() {
    assert_refused("resolve_incident", resolve_incident_cases).await;
}

#[tokio::test]
async fn assign_role_refuses_bad_input() {
    assert_refused("assign_role", assign_role_cases).await;
}

#[tokio::test]
async fn add_timeline_entry_refuses_bad_input() {
    assert_refused("add_timeline_entry", add_timeline_entry_cases).await;
}

#[tokio::test]
async fn get_timeline_refuses_bad_input() {
    assert_refused("get_timeline", get_timeline_cases).await;
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
    let mut covered: Vec<String> = TABLES
        .iter()
        .map(|(tool, _)| *tool)
        .chain(COVERED_ELSEWHERE)
        .map(str::to_owned)
        .collect();
    covered.sort();
    assert_eq!(
        listed, covered,
        "every tool in tools/list needs a bad-input table here or in its own test file"
    );
    for (tool, table) in TABLES {
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
