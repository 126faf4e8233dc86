//! Postmortems through `tools/call`: drafting on live and resolved incidents, refreshing without
//! touching edited sections, templates, both formats, concurrency, the review flow and the
//! close gate for major incidents.

mod bad_input;
mod review;

use firebreak::app::{App, Settings};
use serde_json::{Value, json};

use crate::support::{Client, TestDb, call, connect_app, declare, failure, ok};

/// The writer sections, each with a sentence: enough to publish.
pub(crate) fn writer_sections() -> Value {
    json!({
        "root_causes": "The pool was sized for last year's traffic; the deploy doubled connections per pod.",
        "trigger": "Deploy 4312 of checkout-api.",
        "detection": "The 5xx alert fired five minutes after impact began.",
        "resolution": "Rolled back, then resized the pool.",
        "what_went_well": "The rollback took two minutes.",
        "what_went_wrong": "Nothing alerted on pool saturation.",
        "where_we_got_lucky": "It happened off-peak.",
        "lessons": "Load-test connection counts before rollout.",
    })
}

pub(crate) async fn move_to(client: &Client, incident: &str, to: &str) -> Value {
    ok(call(
        client,
        "change_status",
        json!({"incident": incident, "to": to}),
    )
    .await)
}

pub(crate) async fn resolve(client: &Client, incident: &str) {
    move_to(client, incident, "investigating").await;
    ok(call(
        client,
        "resolve_incident",
        json!({"incident": incident, "resolution": "Rolled back deploy 4312"}),
    )
    .await);
}

pub(crate) async fn draft(client: &Client, incident: &str) -> Value {
    ok(call(client, "draft_postmortem", json!({"incident": incident})).await)
}

async fn note(client: &Client, incident: &str, kind: &str, body: &str) {
    ok(call(
        client,
        "add_timeline_entry",
        json!({"incident": incident, "kind": kind, "body": body}),
    )
    .await);
}

async fn get_json(client: &Client, incident: &str) -> Value {
    ok(call(
        client,
        "get_postmortem",
        json!({"incident": incident, "format": "json"}),
    )
    .await)
}

fn section<'a>(postmortem: &'a Value, name: &str) -> &'a Value {
    postmortem["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

/// Writes every writer section, then moves the postmortem to `in_review` and `published`.
pub(crate) async fn publish(client: &Client, incident: &str) {
    let version = get_json(client, incident).await["version"].clone();
    let written = ok(call(
        client,
        "update_postmortem",
        json!({"incident": incident, "expected_version": version, "sections": writer_sections(), "status": "in_review"}),
    )
    .await);
    let version = written["postmortem"]["version"].clone();
    let published = ok(call(
        client,
        "update_postmortem",
        json!({"incident": incident, "expected_version": version, "status": "published"}),
    )
    .await);
    assert_eq!(published["postmortem"]["status"], "published");
}

#[tokio::test]
async fn drafting_a_live_incident_works_and_says_it_is_not_resolved() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Checkout returns 502", "SEV2").await;
    move_to(&client, &incident, "investigating").await;
    note(
        &client,
        &incident,
        "hypothesis",
        "DB pool exhausted after deploy 4312",
    )
    .await;
    let drafted = draft(&client, &incident).await;
    assert_eq!(drafted["created"], true);
    let postmortem = &drafted["postmortem"];
    assert_eq!(
        (
            postmortem["status"].as_str(),
            postmortem["version"].as_i64()
        ),
        (Some("draft"), Some(1))
    );
    assert!(
        postmortem["notice"]
            .as_str()
            .unwrap()
            .contains("INC-1 was `investigating`")
    );
    let markdown = postmortem["markdown"].as_str().unwrap();
    assert!(
        markdown.contains("> **Not resolved.** INC-1 was `investigating`"),
        "{markdown}"
    );
    assert!(markdown.contains("**not resolved** (still `investigating`)"));
    assert!(markdown.contains("DB pool exhausted after deploy 4312"));
    assert!(markdown.contains("| Time to acknowledge |"));
    assert!(markdown.contains("(ongoing)"));
    assert_eq!(
        postmortem["unwritten_sections"].as_array().unwrap().len(),
        8
    );
    assert_eq!(section(postmortem, "what_went_well")["needs_writing"], true);
    assert!(
        section(postmortem, "summary")["body"].is_null(),
        "bodies only in json format"
    );

    let timeline = ok(call(
        &client,
        "get_timeline",
        json!({"incident": incident, "kinds": ["field_change"]}),
    )
    .await);
    let entry = &timeline["entries"][0];
    assert!(
        entry["body"]
            .as_str()
            .unwrap()
            .starts_with("Postmortem drafted (version 1)")
    );
    assert_eq!(entry["data"]["object"], "postmortem");
    assert_eq!(entry["actor"]["principal"], "tester");
}

#[tokio::test]
async fn refreshing_keeps_edited_sections_and_refreshes_the_facts() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Checkout returns 502", "SEV2").await;
    move_to(&client, &incident, "investigating").await;
    note(&client, &incident, "hypothesis", "DB pool exhausted").await;
    draft(&client, &incident).await;
    let edited = ok(call(
        &client,
        "update_postmortem",
        json!({"incident": incident, "expected_version": 1, "sections": {
            "what_went_well": "Paging worked.", "timeline": "Our own timeline."}}),
    )
    .await);
    assert_eq!(
        edited["changed_sections"],
        json!(["timeline", "what_went_well"])
    );
    assert_eq!(edited["postmortem"]["version"], 2);

    note(
        &client,
        &incident,
        "finding",
        "Pool at 100% on db-1 since 09:46",
    )
    .await;
    ok(call(
        &client,
        "update_incident",
        json!({"incident": incident, "severity": "SEV1"}),
    )
    .await);
    let refreshed = draft(&client, &incident).await;
    assert_eq!(refreshed["created"], false);
    let changed: Vec<&str> = refreshed["refreshed_sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for name in ["severity_history", "root_causes", "impact", "summary"] {
        assert!(changed.contains(&name), "{name} in {changed:?}");
    }
    assert_eq!(
        refreshed["kept_edited_sections"],
        json!(["timeline", "what_went_well"])
    );

    let postmortem = get_json(&client, &incident).await;
    assert_eq!(postmortem["version"], 3);
    let roots = section(&postmortem, "root_causes");
    assert!(
        roots["body"]
            .as_str()
            .unwrap()
            .contains("Pool at 100% on db-1")
    );
    assert_eq!(roots["origin"], "generated");
    let history = section(&postmortem, "severity_history")["body"]
        .as_str()
        .unwrap();
    assert!(
        history.contains("| SEV2 | tester (declared) |") && history.contains("| SEV1 | tester |"),
        "{history}"
    );
    let well = section(&postmortem, "what_went_well");
    assert_eq!(
        (well["body"].as_str(), well["origin"].as_str()),
        (Some("Paging worked."), Some("edited"))
    );
    assert_eq!(
        section(&postmortem, "timeline")["body"],
        "Our own timeline."
    );
}

#[tokio::test]
async fn drafting_again_with_nothing_new_writes_nothing() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Disk full on db-3", "SEV3").await;
    resolve(&client, &incident).await;
    draft(&client, &incident).await;
    let before = db.fingerprint().await;
    let again = draft(&client, &incident).await;
    assert!(again.get("refreshed_sections").is_none(), "{again}");
    assert_eq!(again["postmortem"]["version"], 1);
    assert_eq!(db.fingerprint().await, before);
}

#[tokio::test]
async fn a_template_from_the_settings_replaces_the_default_and_a_broken_one_names_its_line() {
    let db = TestDb::new().await;
    let template = "Postmortem {{ incident.reference }} ({{ postmortem.status }})\n\
        {% for s in sections %}* {{ s.title }}: {{ s.origin }}\n{% endfor %}";
    let settings = Settings {
        postmortem_template: Some(template.into()),
        ..Default::default()
    };
    let client = connect_app(App::new(db.pool.clone(), settings), "tester").await;
    let incident = declare(&client, "Checkout returns 502", "SEV3").await;
    let drafted = draft(&client, &incident).await;
    let markdown = drafted["postmortem"]["markdown"].as_str().unwrap();
    assert!(
        markdown.starts_with("Postmortem INC-1 (draft)\n* Summary: generated\n"),
        "{markdown}"
    );
    assert_eq!(markdown.lines().count(), 16);

    let broken = Settings {
        postmortem_template: Some("# {{ incident.reference }}\n{{ incident.titel }}\n".into()),
        ..Default::default()
    };
    let client = connect_app(App::new(db.pool.clone(), broken), "tester").await;
    let refused = failure(call(&client, "get_postmortem", json!({"incident": incident})).await);
    assert_eq!(refused.code, "invalid_template");
    assert!(
        refused
            .message
            .contains("at line 2 (`{{ incident.titel }}`)"),
        "{}",
        refused.message
    );
    assert_eq!(refused.details["template_line"], 2);
    let as_json = get_json(&client, &incident).await;
    assert_eq!(as_json["version"], 1, "json needs no template");
    let second = declare(&client, "Second", "SEV3").await;
    let before = db.fingerprint().await;
    let failed = failure(call(&client, "draft_postmortem", json!({"incident": second})).await);
    assert_eq!(failed.code, "invalid_template");
    assert_eq!(
        db.fingerprint().await,
        before,
        "a failed render stores nothing"
    );
}

#[tokio::test]
async fn get_postmortem_answers_in_markdown_or_json() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Checkout returns 502", "SEV3").await;
    let missing = failure(call(&client, "get_postmortem", json!({"incident": incident})).await);
    assert_eq!(missing.code, "not_found");
    assert!(
        missing
            .message
            .contains("INC-1 has no postmortem yet; create it with draft_postmortem")
    );
    draft(&client, &incident).await;
    let markdown = ok(call(
        &client,
        "get_postmortem",
        json!({"incident": incident, "format": "markdown"}),
    )
    .await);
    assert!(
        markdown["markdown"]
            .as_str()
            .unwrap()
            .starts_with("# Postmortem: INC-1 — Checkout returns 502")
    );
    assert!(section(&markdown, "impact")["body"].is_null());
    let default = ok(call(&client, "get_postmortem", json!({"incident": "1"})).await);
    assert_eq!(default["markdown"], markdown["markdown"]);
    let as_json = get_json(&client, &incident).await;
    assert!(as_json["markdown"].is_null());
    assert_eq!(as_json["sections"].as_array().unwrap().len(), 15);
    let lucky = section(&as_json, "where_we_got_lucky");
    assert_eq!(
        (lucky["kind"].as_str(), lucky["origin"].as_str()),
        (Some("narrative"), Some("generated"))
    );
    assert!(
        lucky["body"]
            .as_str()
            .unwrap()
            .starts_with("> **To write:**")
    );
    assert_eq!(as_json["allowed_next_statuses"], json!(["in_review"]));
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_and_a_keyed_retry_replays_the_first_answer() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Checkout returns 502", "SEV3").await;
    draft(&client, &incident).await;
    let update = json!({"incident": incident, "expected_version": 1,
        "sections": {"lessons": "Alert on saturation."}, "idempotency_key": "pm-lessons"});
    let first = ok(call(&client, "update_postmortem", update.clone()).await);
    assert_eq!(first["postmortem"]["version"], 2);
    let retried = ok(call(&client, "update_postmortem", update.clone()).await);
    assert_eq!(
        (
            retried["postmortem"]["version"].as_i64(),
            retried["changed_sections"].clone(),
            retried["replayed"].clone()
        ),
        (Some(2), first["changed_sections"].clone(), json!(true)),
        "the first answer, replayed"
    );
    let mut unkeyed = update;
    unkeyed.as_object_mut().unwrap().remove("idempotency_key");
    let no_op = failure(call(&client, "update_postmortem", unkeyed).await);
    assert_eq!(
        no_op.code, "conflict",
        "a stale version is a conflict even for a no-op"
    );
    let before = db.fingerprint().await;
    let stale = failure(call(
        &client,
        "update_postmortem",
        json!({"incident": incident, "expected_version": 1, "sections": {"lessons": "Something else."}}),
    )
    .await);
    assert_eq!(stale.code, "conflict");
    assert!(
        stale
            .message
            .contains("the postmortem of INC-1 is at version 2, not 1"),
        "{}",
        stale.message
    );
    assert!(stale.message.contains("get_postmortem"));
    assert_eq!(stale.details["current_version"], 2);
    assert_eq!(db.fingerprint().await, before);
}
