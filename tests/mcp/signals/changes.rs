//! Changes: stored once per source and id, scored against an incident as suspects with
//! reasons (same service, a dependency, time, failure), linked by responders, and a confirmed
//! link seeds the postmortem's trigger.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::signals::{Signals, alertmanager, secret};
use crate::support::{TestDb, call, failure, ok};

fn change(id: &str, service: &str, minutes_before: i64, status: &str) -> Value {
    let at = (Utc::now() - Duration::minutes(minutes_before)).to_rfc3339();
    json!({"id": id, "kind": "deploy", "service": service, "environment": "production",
        "summary": format!("Deploy {service} {id}"), "actor": "ci-bot", "actor_kind": "automation",
        "sha": "abc1234", "status": status, "occurred_at": at})
}

#[tokio::test]
async fn a_changes_redelivery_is_the_same_change() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let body = json!({"changes": [change("d-1", "checkout", 5, "success"), change("d-2", "web", 3, "success")]});
    let (status, answer) = signals
        .hook("generic/gen", "GENERIC_SECRET", body.to_string())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["changes"][0],
        json!({"change": "CHG-1", "id": "d-1", "new": true})
    );
    let (_, again) = signals
        .hook("generic/gen", "GENERIC_SECRET", body.to_string())
        .await;
    assert_eq!(
        again["changes"][0],
        json!({"change": "CHG-1", "id": "d-1", "new": false})
    );
    assert_eq!(db.count("change").await, 2);
    // Events v2 change events: the same event retried is one change.
    let pd = json!({"routing_key": secret("PD_ROUTING_KEY"), "payload": {"summary": "Flag checkout-v2 on",
        "source": "launchdarkly", "custom_details": {"kind": "feature_flag", "service": "checkout"}}});
    for _ in 0..2 {
        let (status, answer) = signals
            .post("/v2/change/enqueue", &[], pd.to_string())
            .await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["status"], "success");
    }
    assert_eq!(db.count("change").await, 3);
    let listed = ok(call(
        &signals.client,
        "list_changes",
        json!({"service": "checkout"}),
    )
    .await);
    let kinds: Vec<&str> = listed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["feature_flag", "deploy"], "newest first: {listed}");
    assert_eq!(listed["changes"][1]["actor"], "ci-bot (automation)");
}

#[tokio::test]
async fn suspects_are_scored_with_reasons_and_linking_is_recorded() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let changes = json!({"changes": [
        change("near-failed", "checkout", 4, "failed"),
        change("far", "checkout", 100, "success"),
        change("dependency", "postgres", 10, "success"),
        change("other-service", "web", 4, "success"),
        change("too-old", "checkout", 180, "success"),
    ]});
    signals
        .hook("generic/gen", "GENERIC_SECRET", changes.to_string())
        .await;
    let firing = &[
        ("alertname", "HighErrorRate"),
        ("service", "checkout"),
        ("severity", "critical"),
    ];
    let mut body: Value = serde_json::from_str(&alertmanager(&[("firing", "fp", firing)])).unwrap();
    body["alerts"][0]["startsAt"] = json!(Utc::now().to_rfc3339());
    signals
        .hook("alertmanager/am", "AM_SECRET", body.to_string())
        .await;

    let suspects = ok(call(
        &signals.client,
        "list_changes",
        json!({"incident": "INC-1"}),
    )
    .await);
    let order: Vec<&str> = suspects["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["summary"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "Deploy checkout near-failed",
            "Deploy postgres dependency",
            "Deploy checkout far"
        ],
        "other services and changes outside the window are not suspects: {suspects}"
    );
    let best = &suspects["changes"][0];
    let reasons: Vec<&str> = best["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "deploy 4 min before impact started",
            "same service checkout",
            "it failed"
        ]
    );
    assert!(
        suspects["changes"][1]["reasons"][1]
            .as_str()
            .unwrap()
            .contains("postgres, which an affected service depends on")
    );
    assert!(suspects["window"].is_array());
    // The brief names the top suspects.
    let brief = ok(call(
        &signals.client,
        "get_incident",
        json!({"incident": "INC-1"}),
    )
    .await);
    assert_eq!(
        brief["suspected_changes"][0]["change"], best["change"],
        "{brief}"
    );

    // A responder rules the dependency out and confirms the deploy.
    let dependency = suspects["changes"][1]["change"]
        .as_str()
        .unwrap()
        .to_owned();
    let ruled = ok(call(&signals.client, "link_change", json!({"incident": "INC-1", "change": dependency, "relation": "ruled out", "note": "postgres was healthy"})).await);
    assert_eq!(ruled["change"]["relation"], "ruled_out");
    let confirmed_ref = best["change"].as_str().unwrap().to_owned();
    let confirmed = ok(call(
        &signals.client,
        "link_change",
        json!({"incident": "INC-1", "change": confirmed_ref, "relation": "suspected"}),
    )
    .await);
    assert!(confirmed.get("previous").is_none());
    let confirmed = ok(call(&signals.client, "link_change", json!({"incident": "INC-1", "change": confirmed_ref, "relation": "confirmed", "note": "error rate rose with the rollout"})).await);
    assert_eq!(confirmed["previous"], "suspected");
    let suspects = ok(call(
        &signals.client,
        "list_changes",
        json!({"incident": "INC-1"}),
    )
    .await);
    assert_eq!(suspects["changes"][0]["relation"], "confirmed");
    assert_eq!(suspects["changes"][0]["score"], 1.0);
    let last = suspects["changes"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["relation"], "ruled_out",
        "ruled out sinks to the bottom: {suspects}"
    );
    let timeline = ok(call(
        &signals.client,
        "get_timeline",
        json!({"incident": "INC-1", "kinds": ["change"]}),
    )
    .await);
    assert_eq!(timeline["entries"].as_array().unwrap().len(), 3);

    // The postmortem's trigger names the confirmed change, not the ruled-out one.
    ok(call(
        &signals.client,
        "change_status",
        json!({"incident": "INC-1", "to": "investigating"}),
    )
    .await);
    ok(call(
        &signals.client,
        "resolve_incident",
        json!({"incident": "INC-1", "resolution": "Rolled back"}),
    )
    .await);
    let drafted = ok(call(
        &signals.client,
        "draft_postmortem",
        json!({"incident": "INC-1"}),
    )
    .await);
    let text = drafted.to_string();
    assert!(
        text.contains(&format!(
            "{confirmed_ref} (deploy): Deploy checkout near-failed"
        )),
        "{text}"
    );
    assert!(
        !text.contains(&dependency),
        "the ruled-out change is not in the draft: {text}"
    );
}

#[tokio::test]
async fn link_change_refuses_what_does_not_exist() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    crate::support::declare(&signals.client, "Checkout down", "SEV2").await;
    let cases = [
        (
            json!({"incident": "INC-1", "change": "CHG-9", "relation": "confirmed"}),
            "invalid_argument",
            "CHG-9",
        ),
        (
            json!({"incident": "INC-1", "change": "deploy-7", "relation": "confirmed"}),
            "invalid_argument",
            "change",
        ),
        (
            json!({"incident": "INC-9", "change": "CHG-1", "relation": "confirmed"}),
            "not_found",
            "INC-9",
        ),
        (
            json!({"incident": "INC-1", "change": "CHG-1", "relation": "caused"}),
            "invalid_argument",
            "relation",
        ),
    ];
    for (arguments, code, needle) in cases {
        let refused = failure(call(&signals.client, "link_change", arguments.clone()).await);
        assert_eq!(refused.code, code, "{arguments}: {}", refused.message);
        assert!(refused.message.contains(needle), "{}", refused.message);
    }
}
