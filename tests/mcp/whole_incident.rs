//! One whole incident through the client, as an agent would work it: declare → find the
//! runbook → record steps → hypotheses and findings → resolve → draft the postmortem →
//! edit → publish → close.

use std::path::Path;

use firebreak::app::App;
use serde_json::{Value, json};

use crate::support::{Client, TestDb, call, failure, ok};

async fn write(client: &Client, tool: &str, arguments: Value) -> Value {
    ok(call(client, tool, arguments).await)
}

#[tokio::test]
async fn an_incident_goes_from_declaration_to_a_published_postmortem() {
    let db = TestDb::new().await;
    let app = App::from_pool(db.pool.clone());
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    app.sync_runbooks(&shipped).await.unwrap();
    let client = db.client().await;

    // Declare from an alert.
    let declared = write(
        &client,
        "declare_incident",
        json!({
            "title": "Checkout API returning 5xx",
            "severity": "SEV2",
            "services": ["api-gateway"],
            "labels": {"alertname": "HighErrorRate"},
            "impact": "About 12% of checkouts fail",
            "commander": "alice",
            "dedup_key": "alert:HighErrorRate:api-gateway",
        }),
    )
    .await;
    let incident = declared["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    write(
        &client,
        "change_status",
        json!({"incident": incident, "to": "investigating"}),
    )
    .await;

    // Find the runbook for it and follow two of its steps.
    let found = write(&client, "find_runbooks", json!({"incident": incident})).await;
    let best = &found["runbooks"][0];
    assert_eq!(best["slug"], "high-error-rate", "{found}");
    let runbook = write(&client, "get_runbook", json!({"slug": "high-error-rate"})).await;
    let steps = runbook["steps"].as_array().unwrap();
    let diagnostic = steps.iter().find(|s| s["risky"] == false).unwrap()["number"].clone();
    let risky = steps.iter().find(|s| s["risky"] == true).unwrap()["number"].clone();
    write(
        &client,
        "record_runbook_step",
        json!({"incident": incident, "runbook": "high-error-rate",
        "step": diagnostic, "outcome": "succeeded", "output": "5xx on /checkout only"}),
    )
    .await;

    // Hypothesis, finding, decision, action.
    for (kind, body) in [
        (
            "hypothesis",
            "Deploy 4312 exhausted the DB pool. Evidence: errors began 2 min after rollout. Confidence: medium",
        ),
        (
            "finding",
            "Pool saturation at 100% on all checkout pods since 14:02",
        ),
        ("decision", "Roll back deploy 4312"),
    ] {
        write(
            &client,
            "add_timeline_entry",
            json!({"incident": incident, "kind": kind, "body": body}),
        )
        .await;
    }
    write(
        &client,
        "record_runbook_step",
        json!({"incident": incident, "runbook": "high-error-rate",
        "step": risky, "outcome": "succeeded", "output": "rolled back to 4311"}),
    )
    .await;
    write(
        &client,
        "change_status",
        json!({"incident": incident, "to": "monitoring"}),
    )
    .await;
    let brief = write(&client, "get_incident", json!({"incident": incident})).await;
    assert_eq!(
        brief["runbook_steps"].as_array().unwrap().len(),
        2,
        "{brief}"
    );
    write(
        &client,
        "resolve_incident",
        json!({"incident": incident,
        "resolution": "Rolled back deploy 4312; error rate back under 0.1%"}),
    )
    .await;

    // A major incident cannot close before its postmortem is published.
    let early = failure(
        call(
            &client,
            "change_status",
            json!({"incident": incident, "to": "closed"}),
        )
        .await,
    );
    assert_eq!(early.code, "invalid_transition");
    assert!(early.message.contains("postmortem"), "{}", early.message);

    // Draft: the facts are there, the narrative is left to the writer.
    write(
        &client,
        "add_action_item",
        json!({"incident": incident, "title": "Alert on DB pool saturation",
        "priority": "P2", "kind": "detect", "owner": "bob"}),
    )
    .await;
    let drafted = write(&client, "draft_postmortem", json!({"incident": incident})).await;
    let markdown = write(
        &client,
        "get_postmortem",
        json!({"incident": incident, "format": "markdown"}),
    )
    .await;
    let text = markdown["markdown"]
        .as_str()
        .unwrap_or_else(|| panic!("markdown in {markdown}"));
    for expected in [
        "Checkout API returning 5xx",
        "time to mitigate",
        "SEV2",
        "alice",
        "Deploy 4312 exhausted the DB pool",
        "Pool saturation at 100%",
        "high-error-rate",
        "Alert on DB pool saturation",
        "To write:",
    ] {
        assert!(
            text.to_lowercase().contains(&expected.to_lowercase()),
            "postmortem lacks {expected:?}:\n{text}"
        );
    }

    // Edit, review, publish, close.
    let version = drafted["postmortem"]["version"].clone();
    let sections = json!({
        "root_causes": "Deploy 4312 doubled connections per pod; the pool was sized for the old count.",
        "trigger": "Deploy 4312 of checkout.",
        "detection": "HighErrorRate fired five minutes after impact began.",
        "resolution": "Rolled back to 4311.",
        "what_went_well": "The runbook's rollback step took two minutes.",
        "what_went_wrong": "Nothing alerted on pool saturation.",
        "where_we_got_lucky": "It happened off-peak.",
        "lessons": "Load-test connection counts before rollout.",
    });
    let reviewed = write(
        &client,
        "update_postmortem",
        json!({"incident": incident,
        "expected_version": version, "sections": sections, "status": "in_review"}),
    )
    .await;
    let version = reviewed["postmortem"]["version"].clone();
    write(
        &client,
        "update_postmortem",
        json!({"incident": incident, "expected_version": version,
        "status": "published"}),
    )
    .await;
    let closed = write(
        &client,
        "change_status",
        json!({"incident": incident, "to": "closed"}),
    )
    .await;
    assert_eq!(closed["status"], "closed");

    let published = write(
        &client,
        "get_postmortem",
        json!({"incident": incident, "format": "markdown"}),
    )
    .await;
    let text = published["markdown"].as_str().unwrap();
    assert!(
        text.contains("The runbook's rollback step took two minutes."),
        "{text}"
    );
    assert!(
        !text.contains("To write:"),
        "every prompt was written:\n{text}"
    );
}
