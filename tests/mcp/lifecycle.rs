//! Status changes through `tools/call`: transitions, timestamps, reopen, decline and merge.

pub(crate) mod bad_input;

use serde_json::{Value, json};

use crate::support::{Client, TestDb, call, declare, failure, ok};

async fn move_to(client: &Client, incident: &str, to: &str) -> Value {
    ok(call(
        client,
        "change_status",
        json!({"incident": incident, "to": to}),
    )
    .await)
}

#[tokio::test]
async fn each_status_change_stamps_its_timestamp_once_and_records_the_move() {
    let db = TestDb::new().await;
    let client = db.client().await;
    // SEV3: a SEV1 or SEV2 incident would also need a published postmortem to close.
    let reference = declare(&client, "API latency", "SEV3").await;
    let investigating = move_to(&client, &reference, "investigating").await;
    assert!(investigating["times"]["acknowledged_at"].is_string());
    assert_eq!(investigating["version"], 2);
    let identified = move_to(&client, &reference, "identified").await;
    let first_identified = identified["times"]["identified_at"].clone();
    assert!(first_identified.is_string());
    move_to(&client, &reference, "investigating").await;
    let again = move_to(&client, &reference, "identified").await;
    assert_eq!(
        again["times"]["identified_at"], first_identified,
        "only the first entry stamps"
    );
    let monitoring = move_to(&client, &reference, "monitoring").await;
    assert!(monitoring["times"]["mitigated_at"].is_string());
    let resolved = ok(call(
        &client,
        "resolve_incident",
        json!({"incident": reference, "resolution": "Scaled the pool", "expected_version": 6}),
    )
    .await);
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolution"], "Scaled the pool");
    assert_eq!(
        resolved["times"]["mitigated_at"],
        monitoring["times"]["mitigated_at"]
    );
    let closed = move_to(&client, &reference, "closed").await;
    assert!(closed["times"]["closed_at"].is_string());
    assert!(
        closed.get("allowed_next_statuses").is_none(),
        "terminal: no next statuses"
    );

    let changes = ok(call(
        &client,
        "get_timeline",
        json!({"incident": reference, "kinds": ["status_change"]}),
    )
    .await);
    let moves: Vec<String> = changes["entries"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1) // the declaration
        .map(|e| {
            format!(
                "{}>{}",
                e["data"]["from"].as_str().unwrap(),
                e["data"]["to"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            "triage>investigating",
            "investigating>identified",
            "identified>investigating",
            "investigating>identified",
            "identified>monitoring",
            "monitoring>resolved",
            "resolved>closed"
        ]
    );
    assert_eq!(
        changes["entries"][1]["data"]["stamped"],
        json!(["acknowledged_at"])
    );
}

#[tokio::test]
async fn resolving_straight_from_investigating_also_stamps_mitigation() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let reference = declare(&client, "Bad deploy", "SEV3").await;
    move_to(&client, &reference, "investigating").await;
    let resolved = ok(call(
        &client,
        "resolve_incident",
        json!({"incident": reference, "resolution": "Rolled back"}),
    )
    .await);
    assert!(resolved["times"]["mitigated_at"].is_string());
    assert_eq!(
        resolved["times"]["mitigated_at"],
        resolved["times"]["resolved_at"]
    );
    let brief = ok(call(&client, "get_incident", json!({"incident": reference})).await);
    let names: Vec<(&str, bool)> = brief["durations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["ongoing"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("time_to_acknowledge", false),
            ("time_to_mitigate", false),
            ("time_to_resolve", false)
        ]
    );
}

#[tokio::test]
async fn a_refused_transition_lists_the_allowed_ones_and_writes_nothing() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let reference = declare(&client, "Flapping alert", "SEV4").await;
    let before = db.fingerprint().await;
    let refused = failure(
        call(
            &client,
            "change_status",
            json!({"incident": reference, "to": "closed"}),
        )
        .await,
    );
    assert_eq!(refused.code, "invalid_transition");
    assert_eq!(
        refused.details["allowed"],
        json!([
            "investigating",
            "identified",
            "monitoring",
            "declined",
            "merged"
        ])
    );
    assert!(
        refused
            .message
            .contains("`investigating`, `identified`, `monitoring`, `declined`, `merged`"),
        "{}",
        refused.message
    );
    assert_eq!(db.fingerprint().await, before);
}

#[tokio::test]
async fn reopening_needs_a_reason_and_clears_the_resolution_time() {
    let db = TestDb::new().await;
    let client = db.client().await;
    // SEV3: a SEV1 or SEV2 incident would also need a published postmortem to close.
    let reference = declare(&client, "Errors on login", "SEV3").await;
    move_to(&client, &reference, "investigating").await;
    ok(call(
        &client,
        "resolve_incident",
        json!({"incident": reference, "resolution": "Restarted"}),
    )
    .await);
    let refused = failure(
        call(
            &client,
            "change_status",
            json!({"incident": reference, "to": "investigating"}),
        )
        .await,
    );
    assert_eq!(refused.code, "invalid_transition");
    assert!(refused.message.contains("note"), "{}", refused.message);
    let reopened = ok(call(
        &client,
        "change_status",
        json!({"incident": reference, "to": "investigating", "note": "Errors are back"}),
    )
    .await);
    assert_eq!(reopened["status"], "investigating");
    assert!(reopened["times"]["resolved_at"].is_null());
    let timeline = ok(call(
        &client,
        "get_timeline",
        json!({"incident": reference, "kinds": ["status_change"]}),
    )
    .await);
    let last = timeline["entries"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["body"],
        "Reopened: resolved → investigating: Errors are back"
    );
    // Terminal states stay terminal.
    ok(call(
        &client,
        "resolve_incident",
        json!({"incident": reference, "resolution": "Fixed the config"}),
    )
    .await);
    move_to(&client, &reference, "closed").await;
    let terminal = failure(
        call(
            &client,
            "change_status",
            json!({"incident": reference, "to": "investigating", "note": "again"}),
        )
        .await,
    );
    assert!(
        terminal.message.contains("terminal"),
        "{}",
        terminal.message
    );
}

#[tokio::test]
async fn merging_points_at_a_live_target_and_notes_it_on_both_timelines() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let target = declare(&client, "Checkout down", "SEV1").await;
    let duplicate = declare(&client, "Cannot pay", "SEV2").await;
    let merged = ok(call(
        &client,
        "change_status",
        json!({"incident": duplicate, "to": "merged", "merged_into": target}),
    )
    .await);
    assert_eq!(merged["status"], "merged");
    assert_eq!(merged["merged_into"], target.as_str());
    let brief = ok(call(&client, "get_incident", json!({"incident": target})).await);
    assert_eq!(brief["merged_from"], json!([duplicate]));
    assert!(
        brief["recent_timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["body"]
                .as_str()
                .unwrap()
                .contains("was merged into this incident"))
    );
    let merged_brief = ok(call(&client, "get_incident", json!({"incident": duplicate})).await);
    assert_eq!(merged_brief["incident"]["merged_into"], target.as_str());
    // A terminal incident cannot absorb another.
    let third = declare(&client, "Another report", "SEV3").await;
    let refused = failure(
        call(
            &client,
            "change_status",
            json!({"incident": third, "to": "merged", "merged_into": duplicate}),
        )
        .await,
    );
    assert_eq!(refused.code, "invalid_transition");
    assert!(refused.message.contains("merged"), "{}", refused.message);
}

#[tokio::test]
async fn declining_from_triage_is_terminal() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let reference = declare(&client, "False alarm", "SEV5").await;
    let declined = ok(call(
        &client,
        "change_status",
        json!({"incident": reference, "to": "declined", "note": "synthetic check misconfigured"}),
    )
    .await);
    assert_eq!(declined["status"], "declined");
    assert!(declined["times"]["acknowledged_at"].is_null());
    let brief = ok(call(&client, "get_incident", json!({"incident": reference})).await);
    assert!(
        brief.get("durations").is_none(),
        "a declined incident has no running clocks: {brief}"
    );
}
