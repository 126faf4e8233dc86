//! The one refusal harness: a bad call is refused with a clear tool error (a stable code, a
//! message naming the field or the allowed values, structured details) and changes nothing
//! (`TestDb::fingerprint` covers every table a tool writes). Each tool's table of cases lives
//! beside its other tests.

use chrono::{Duration, Utc};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use serde_json::{Map, Value, json};

use crate::support::{Client, TestDb, call, ok};

/// One byte over the 64 KiB text limit.
pub(crate) const OVERSIZED_TEXT_BYTES: usize = 64 * 1024 + 1;
/// A UUID no incident has.
pub(crate) const UNKNOWN_UUID: &str = "3f2c8a1e-9b7d-4c6e-8f1a-2b3c4d5e6f70";

/// One bad call and the tool error it must produce.
pub(crate) struct Case {
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
pub(crate) fn case(
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
pub(crate) fn invalid(what: impl Into<String>, args: Value, needle: impl Into<String>) -> Case {
    case(what, args, "invalid_argument", needle)
}

/// An `invalid_transition` case.
pub(crate) fn transition(what: impl Into<String>, args: Value, needle: impl Into<String>) -> Case {
    case(what, args, "invalid_transition", needle)
}

impl Case {
    /// The message must also contain `needle`.
    pub(crate) fn mentioning(mut self, needle: impl Into<String>) -> Case {
        self.needles.push(needle.into());
        self
    }

    /// The structured error must carry `key: value`.
    pub(crate) fn with_detail(mut self, key: &'static str, value: Value) -> Case {
        self.details.push((key, value));
        self
    }

    /// The structured error must name `field` in `error.field`.
    pub(crate) fn field(self, field: &str) -> Case {
        self.with_detail("field", json!(field))
    }
}

/// `base` (an object) with `key` set to `value`.
pub(crate) fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut args = base.clone();
    args[key] = value;
    args
}

/// A string of `n` bytes.
pub(crate) fn long(n: usize) -> String {
    "x".repeat(n)
}

/// An RFC 3339 timestamp `hours` from now.
pub(crate) fn hours_from_now(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours)).to_rfc3339()
}

/// `n` distinct valid labels.
pub(crate) fn many_labels(n: usize) -> Value {
    let labels: Map<String, Value> = (0..n)
        .map(|i| (format!("k{i}"), Value::String(format!("v{i}"))))
        .collect();
    Value::Object(labels)
}

/// Unknown and malformed references in the `incident` field of otherwise valid `base`.
pub(crate) fn incident_reference_cases(base: &Value) -> Vec<Case> {
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
pub(crate) struct Seeded {
    /// A text-search cursor from `list_incidents`.
    pub(crate) text_cursor: String,
    /// A newest-first cursor from `list_incidents`.
    pub(crate) number_cursor: String,
    /// A cursor from `get_timeline`.
    pub(crate) timeline_cursor: String,
}

/// Seeds INC-1 and INC-2 (triage), INC-3 (resolved), INC-4 (investigating) and INC-5 (declined).
pub(crate) async fn seed(client: &Client) -> Seeded {
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
pub(crate) fn check(case: &Case, result: &CallToolResult) -> Vec<String> {
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
pub(crate) async fn failures(
    db: &TestDb,
    client: &Client,
    tool: &str,
    cases: &[Case],
) -> Vec<String> {
    let mut before = db.fingerprint().await;
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
    // Every case was compared with the state before it, so no end-to-end comparison is needed.
    failures
}

/// Asserts that every case of `table` (over the [`seed`]ed incidents) gives its tool error and
/// that the database is unchanged afterwards.
pub(crate) async fn assert_table_refused(tool: &str, table: Table) {
    let (db, client, seeded) = setup().await;
    assert_refused(&db, &client, tool, &table(&seeded)).await;
}

/// Calls `tool` with each case and asserts it gives its tool error, changing nothing.
pub(crate) async fn assert_refused(db: &TestDb, client: &Client, tool: &str, cases: &[Case]) {
    assert!(
        cases.len() >= 5,
        "{tool} needs at least five bad-input cases"
    );
    let failed = failures(db, client, tool, cases).await;
    assert!(
        failed.is_empty(),
        "{} of {} bad-input cases for {tool} failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}

/// A fresh database with the seeded incidents and a client on it.
pub(crate) async fn setup() -> (TestDb, Client, Seeded) {
    let db = TestDb::new().await;
    let client = db.client().await;
    let seeded = seed(&client).await;
    (db, client, seeded)
}

/// `base` without `key`.
pub(crate) fn without(base: &Value, key: &str) -> Value {
    let mut args = base.clone();
    args.as_object_mut().unwrap().remove(key);
    args
}

/// Builds a tool's table of bad calls over the [`seed`]ed incidents.
pub(crate) type Table = fn(&Seeded) -> Vec<Case>;
