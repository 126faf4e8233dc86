//! Bad input for `draft_postmortem`, `get_postmortem` and `update_postmortem`.

use serde_json::{Value, json};

use crate::postmortems::draft;
use crate::support::refusals::{
    Case, OVERSIZED_TEXT_BYTES, assert_refused, case, incident_reference_cases, invalid, with,
    without,
};
use crate::support::{Client, TestDb, declare};

/// INC-1 has a drafted postmortem (version 1); INC-2 has none.
async fn setup() -> (TestDb, Client) {
    let db = TestDb::new().await;
    let client = db.client().await;
    let first = declare(&client, "Checkout returns 502", "SEV3").await;
    declare(&client, "Disk full", "SEV3").await;
    draft(&client, &first).await;
    (db, client)
}

fn sections(name: &str, body: &Value) -> Value {
    json!({"incident": "INC-1", "expected_version": 1, "sections": {name: body}})
}

#[tokio::test]
async fn draft_postmortem_refuses_bad_input() {
    let (db, client) = setup().await;
    let base = json!({"incident": "INC-1"});
    let mut cases = vec![
        invalid("missing incident", json!({}), "`incident`"),
        invalid(
            "unknown field",
            with(&base, "force", json!(true)),
            "`force`",
        ),
        invalid(
            "incident null",
            with(&base, "incident", Value::Null),
            "`incident`",
        ),
    ];
    cases.extend(incident_reference_cases(&base));
    assert_refused(&db, &client, "draft_postmortem", &cases).await;
}

#[tokio::test]
async fn get_postmortem_refuses_bad_input() {
    let (db, client) = setup().await;
    let base = json!({"incident": "INC-1"});
    let mut cases = vec![
        invalid("missing incident", json!({"format": "json"}), "`incident`"),
        invalid(
            "unknown field",
            with(&base, "section", json!("summary")),
            "`section`",
        ),
        invalid(
            "format `pdf`",
            with(&base, "format", json!("pdf")),
            "`markdown`",
        )
        .mentioning("`json`")
        .field("format"),
        invalid(
            "format a number",
            with(&base, "format", json!(1)),
            "`format`",
        ),
        case(
            "not drafted yet",
            json!({"incident": "INC-2"}),
            "not_found",
            "INC-2 has no postmortem yet",
        )
        .mentioning("draft_postmortem"),
    ];
    cases.extend(incident_reference_cases(&base));
    assert_refused(&db, &client, "get_postmortem", &cases).await;
}

#[tokio::test]
async fn update_postmortem_refuses_bad_input() {
    let (db, client) = setup().await;
    let base = json!({"incident": "INC-1", "expected_version": 1, "sections": {"lessons": "Alert sooner."}});
    let oversized = json!("x".repeat(OVERSIZED_TEXT_BYTES));
    let mut cases: Vec<Case> = vec![
        invalid("missing incident", without(&base, "incident"), "`incident`"),
        invalid(
            "missing expected_version",
            without(&base, "expected_version"),
            "`expected_version`",
        ),
        invalid(
            "unknown field",
            with(&base, "section", json!({})),
            "`section`",
        ),
        invalid(
            "sections a string",
            with(&base, "sections", json!("text")),
            "`sections`",
        )
        .field("sections"),
        invalid(
            "a section body a number",
            sections("lessons", &json!(5)),
            "`sections.lessons`",
        ),
        invalid(
            "unknown section",
            sections("conclusions", &json!("x")),
            "`sections.conclusions`",
        )
        .mentioning("what_went_well")
        .mentioning("where_we_got_lucky")
        .field("sections.conclusions"),
        invalid(
            "blank section",
            sections("lessons", &json!("  ")),
            "`sections.lessons`",
        )
        .mentioning("must not be empty"),
        invalid(
            "oversized section",
            sections("lessons", &oversized),
            "`sections.lessons`",
        )
        .mentioning("65536"),
        invalid(
            "the prompt left in",
            sections("lessons", &json!("> **To write:** What did we learn?")),
            "`sections.lessons`",
        )
        .mentioning("writer prompt"),
        invalid(
            "status `approved`",
            with(&base, "status", json!("approved")),
            "`in_review`",
        )
        .mentioning("approved")
        .field("status"),
        invalid(
            "status a list",
            with(&base, "status", json!(["draft"])),
            "`status`",
        ),
        invalid(
            "expected_version a string",
            with(&base, "expected_version", json!("1")),
            "`expected_version`",
        ),
        invalid(
            "neither sections nor status",
            json!({"incident": "INC-1", "expected_version": 1}),
            "`sections`",
        )
        .mentioning("status"),
        case(
            "stale expected_version",
            with(&base, "expected_version", json!(7)),
            "conflict",
            "at version 1, not 7",
        ),
        case(
            "publish a draft",
            json!({"incident": "INC-1", "expected_version": 1, "status": "published"}),
            "invalid_transition",
            "`in_review` first",
        ),
        case(
            "not drafted yet",
            with(&base, "incident", json!("INC-2")),
            "not_found",
            "draft_postmortem",
        ),
    ];
    cases.extend(incident_reference_cases(&base));
    assert_refused(&db, &client, "update_postmortem", &cases).await;
}
