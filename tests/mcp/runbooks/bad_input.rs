//! Bad input for `find_runbooks`, `get_runbook` and `record_runbook_step`: each case gives a tool
//! error with a stable code and a message naming the field or what exists, and changes
//! nothing (the database fingerprint stays the same). The compact tuple tables are turned
//! into the shared harness's cases.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::runbooks::{folder, runbook, sync};
use crate::support::{Client, TestDb, refusals};

/// One bad call: what is wrong, the arguments, the code, message needles, and the field the
/// structured error must name (if any); see [`refusals::Case`].
struct Case(
    &'static str,
    Value,
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
);

/// A database with INC-1 and the `disk-full` runbook (3 steps), and a client.
async fn setup() -> (TestDb, Client) {
    let db = TestDb::new().await;
    let dir = folder(&[("disk-full.md", &runbook("disk-full", "Disk full", ""))]);
    sync(&db, dir.path()).await;
    let client = db.client().await;
    crate::support::declare(&client, "Disk full on db-3", "SEV3").await;
    (db, client)
}

/// Runs the cases through the shared harness (`support::refusals`).
async fn assert_refused(tool: &str, cases: Vec<Case>) {
    let (db, client) = setup().await;
    let cases: Vec<refusals::Case> = cases
        .into_iter()
        .map(|Case(what, args, code, needles, field)| {
            let mut case = refusals::case(what, args, code, "");
            for needle in needles {
                case = case.mentioning(*needle);
            }
            match field {
                Some(field) => case.field(field),
                None => case,
            }
        })
        .collect();
    refusals::assert_refused(&db, &client, tool, &cases).await;
}

const INVALID: &str = "invalid_argument";

#[tokio::test]
async fn find_runbooks_refuses_bad_input() {
    let cases = vec![
        Case(
            "unknown field",
            json!({"query": "disk"}),
            INVALID,
            &["query"],
            None,
        ),
        Case(
            "limit as text",
            json!({"limit": "ten"}),
            INVALID,
            &["limit"],
            Some("limit"),
        ),
        Case(
            "limit 0",
            json!({"limit": 0}),
            INVALID,
            &["`limit`", "1 and 50"],
            Some("limit"),
        ),
        Case(
            "limit 51",
            json!({"limit": 51}),
            INVALID,
            &["1 and 50"],
            Some("limit"),
        ),
        Case(
            "text as number",
            json!({"text": 5}),
            INVALID,
            &["text"],
            Some("text"),
        ),
        Case(
            "blank text",
            json!({"text": "  "}),
            INVALID,
            &["`text`"],
            Some("text"),
        ),
        Case(
            "text without words",
            json!({"text": "a 1 - 42"}),
            INVALID,
            &["no words"],
            Some("text"),
        ),
        Case(
            "long text",
            json!({"text": "x".repeat(501)}),
            INVALID,
            &["1–500"],
            Some("text"),
        ),
        Case(
            "bad service",
            json!({"service": "Checkout API"}),
            INVALID,
            &["`service`"],
            Some("service"),
        ),
        Case(
            "blank alert",
            json!({"alert": ""}),
            INVALID,
            &["`alert`"],
            Some("alert"),
        ),
        Case(
            "unknown incident",
            json!({"incident": "INC-999"}),
            "not_found",
            &["INC-999"],
            None,
        ),
        Case(
            "bad incident",
            json!({"incident": "abc"}),
            INVALID,
            &["INC-42"],
            Some("incident"),
        ),
    ];
    assert_refused("find_runbooks", cases).await;
}

#[tokio::test]
async fn get_runbook_refuses_bad_input() {
    let cases = vec![
        Case(
            "neither slug nor url",
            json!({}),
            INVALID,
            &["`slug` or `url`"],
            Some("slug"),
        ),
        Case(
            "both slug and url",
            json!({"slug": "disk-full", "url": "https://example.com/r.md"}),
            INVALID,
            &["exactly one"],
            Some("slug"),
        ),
        Case(
            "malformed slug",
            json!({"slug": "Disk Full"}),
            INVALID,
            &["`slug`"],
            Some("slug"),
        ),
        Case(
            "slug as number",
            json!({"slug": 5}),
            INVALID,
            &["slug"],
            Some("slug"),
        ),
        Case(
            "unknown slug",
            json!({"slug": "no-such"}),
            "not_found",
            &["no-such", "find_runbooks"],
            None,
        ),
        Case(
            "unknown version",
            json!({"slug": "disk-full", "version": 9}),
            "not_found",
            &["no version 9", "1–1"],
            None,
        ),
        Case(
            "version as text",
            json!({"slug": "disk-full", "version": "one"}),
            INVALID,
            &["version"],
            Some("version"),
        ),
        Case(
            "version with url",
            json!({"url": "https://example.com/r.md", "version": 1}),
            INVALID,
            &["`version`"],
            Some("version"),
        ),
        Case(
            "remote runbooks off",
            json!({"url": "https://example.com/r.md"}),
            INVALID,
            &["example.com", "FIREBREAK_RUNBOOK_HOSTS"],
            Some("url"),
        ),
        Case(
            "not a url",
            json!({"url": "runbook please"}),
            INVALID,
            &["not an absolute URL"],
            Some("url"),
        ),
        Case(
            "unknown field",
            json!({"slug": "disk-full", "name": "x"}),
            INVALID,
            &["name"],
            None,
        ),
    ];
    assert_refused("get_runbook", cases).await;
}

#[tokio::test]
async fn record_runbook_step_refuses_bad_input() {
    let base =
        json!({"incident": "INC-1", "runbook": "disk-full", "step": 1, "outcome": "succeeded"});
    let with = |key: &str, value: Value| {
        let mut args = base.clone();
        args[key] = value;
        args
    };
    let without = |key: &str| {
        let mut args = base.clone();
        args.as_object_mut().unwrap().remove(key);
        args
    };
    let tomorrow = (Utc::now() + Duration::days(1)).to_rfc3339();
    let cases = vec![
        Case(
            "missing incident",
            without("incident"),
            INVALID,
            &["incident"],
            None,
        ),
        Case(
            "missing runbook",
            without("runbook"),
            INVALID,
            &["runbook"],
            None,
        ),
        Case("missing step", without("step"), INVALID, &["step"], None),
        Case(
            "missing outcome",
            without("outcome"),
            INVALID,
            &["outcome"],
            None,
        ),
        Case(
            "unknown outcome",
            with("outcome", json!("maybe")),
            INVALID,
            &["succeeded", "skipped"],
            Some("outcome"),
        ),
        Case(
            "step as text",
            with("step", json!("three")),
            INVALID,
            &["step"],
            Some("step"),
        ),
        Case(
            "step 0",
            with("step", json!(0)),
            INVALID,
            &["`step`", "1–3"],
            Some("step"),
        ),
        Case(
            "step out of range",
            with("step", json!(4)),
            INVALID,
            &["`step`", "1–3", "get_runbook"],
            Some("step"),
        ),
        Case(
            "unknown runbook",
            with("runbook", json!("no-such")),
            "not_found",
            &["no-such"],
            None,
        ),
        Case(
            "malformed runbook",
            with("runbook", json!("Disk Full")),
            INVALID,
            &["`runbook`"],
            Some("runbook"),
        ),
        Case(
            "unknown version",
            with("version", json!(7)),
            "not_found",
            &["no version 7"],
            None,
        ),
        Case(
            "unknown incident",
            with("incident", json!("INC-999")),
            "not_found",
            &["INC-999"],
            None,
        ),
        Case(
            "bad incident",
            with("incident", json!("abc")),
            INVALID,
            &["INC-42"],
            Some("incident"),
        ),
        Case(
            "oversized output",
            with("output", json!("x".repeat(64 * 1024 + 1))),
            INVALID,
            &["`output`", "64 KiB"],
            Some("output"),
        ),
        Case(
            "future occurred_at",
            with("occurred_at", json!(tomorrow)),
            INVALID,
            &["`occurred_at`"],
            Some("occurred_at"),
        ),
        Case(
            "unknown field",
            with("note", json!("x")),
            INVALID,
            &["note"],
            None,
        ),
    ];
    assert_refused("record_runbook_step", cases).await;
}
