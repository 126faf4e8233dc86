//! Forgiving input, as agents guess formats: vocabulary values in any case and spelling, one
//! value where a list is expected, timestamps with an offset or relative to now. Unknown fields
//! stay errors that name the field and list the allowed ones.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::support::{TestDb, call, declare, failure, ok};

fn time(value: &serde_json::Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn severities_statuses_and_roles_are_read_in_any_spelling() {
    let db = TestDb::new().await;
    let client = db.client().await;
    for (n, severity) in ["sev2", "SEV-2", "Sev 2", "sev_2"].iter().enumerate() {
        let declared = ok(call(
            &client,
            "declare_incident",
            json!({"title": format!("Checkout errors {n}"), "severity": severity}),
        )
        .await);
        assert_eq!(declared["incident"]["severity"], "SEV2", "{severity}");
    }
    let moved = ok(call(
        &client,
        "change_status",
        json!({"incident": "INC-1", "to": "Mitigated"}),
    )
    .await);
    assert_eq!(moved["status"], "monitoring");
    let roles = ok(call(
        &client,
        "assign_role",
        json!({"incident": "INC-1", "role": "Tech Lead", "assignee": "dana"}),
    )
    .await);
    assert_eq!(roles["roles"][0]["role"], "tech_lead");
    let listed = ok(call(
        &client,
        "list_incidents",
        json!({"severity": "sev2", "status": "MONITORING"}),
    )
    .await);
    let references: Vec<&str> = listed["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap())
        .collect();
    assert_eq!(references, ["INC-1"], "one value where a list is expected");
}

#[tokio::test]
async fn one_service_may_be_sent_where_a_list_is_expected() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let declared = ok(call(
        &client,
        "declare_incident",
        json!({"title": "Checkout errors", "severity": "SEV3", "services": "checkout"}),
    )
    .await);
    assert_eq!(declared["incident"]["services"], json!(["checkout"]));
    let updated = ok(call(
        &client,
        "update_incident",
        json!({"incident": "INC-1", "services": "payments"}),
    )
    .await);
    assert_eq!(updated["services"], json!(["payments"]));
    let refused = failure(
        call(
            &client,
            "update_incident",
            json!({"incident": "INC-1", "services": 7}),
        )
        .await,
    );
    assert_eq!(refused.code, "invalid_argument");
    assert_eq!(refused.details["field"], "services", "{}", refused.message);
}

#[tokio::test]
async fn times_may_carry_an_offset_or_be_relative_to_now() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let before = Utc::now();
    let declared = ok(call(
        &client,
        "declare_incident",
        json!({"title": "Payments latency", "severity": "SEV3",
            "impact_started_at": "2026-01-01T12:00:00+02:00", "detected_at": "-2h"}),
    )
    .await);
    let times = &declared["incident"]["times"];
    let detected = time(&times["detected_at"]);
    assert!(
        (detected - (before - Duration::hours(2)))
            .num_seconds()
            .abs()
            < 60,
        "{detected}"
    );
    assert_eq!(
        time(&times["impact_started_at"]).to_rfc3339(),
        "2026-01-01T10:00:00+00:00"
    );
    let entry = ok(call(
        &client,
        "add_timeline_entry",
        json!({"incident": "INC-1", "kind": "Finding", "body": "p99 doubled", "occurred_at": "-15m"}),
    )
    .await);
    let occurred = time(&entry["entry"]["occurred_at"]);
    assert!(
        (before - Duration::minutes(15) - occurred)
            .num_seconds()
            .abs()
            < 60
    );
    let recent = ok(call(&client, "list_incidents", json!({"since": "-1h"})).await);
    assert_eq!(recent["incidents"].as_array().unwrap().len(), 1);
    let naive = failure(
        call(
            &client,
            "add_timeline_entry",
            json!({"incident": "INC-1", "kind": "note", "body": "x", "occurred_at": "2026-01-01T10:00:00"}),
        )
        .await,
    );
    assert_eq!(naive.details["field"], "occurred_at");
    assert!(naive.message.contains("add `Z`"), "{}", naive.message);
}

#[tokio::test]
async fn unknown_fields_are_refused_naming_them_and_listing_the_allowed_ones() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let reference = declare(&client, "Search is slow", "SEV4").await;
    let refused = failure(
        call(
            &client,
            "update_incident",
            json!({"incident": reference, "priority": "high"}),
        )
        .await,
    );
    assert_eq!(refused.code, "invalid_argument");
    for needle in ["`priority`", "`severity`", "`summary`"] {
        assert!(
            refused.message.contains(needle),
            "{needle}: {}",
            refused.message
        );
    }
}
