//! Declaring, reading, listing and editing incidents through `tools/call`.

mod bad_input;

use serde_json::json;

use crate::support::{TestDb, call, declare, failure, ok};

#[tokio::test]
async fn declaring_returns_the_incident_in_triage_with_its_actor() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let declared = ok(call(
        &client,
        "declare_incident",
        json!({
            "title": "  Checkout API returning 5xx  ",
            "severity": "SEV2",
            "summary": "Error rate 12% since 14:02",
            "services": ["checkout-api", "payments", "checkout-api"],
            "labels": {"alertname": "HighErrorRate"},
            "commander": "alice",
        }),
    )
    .await);
    let incident = &declared["incident"];
    assert_eq!(incident["reference"], "INC-1");
    assert_eq!(incident["title"], "Checkout API returning 5xx");
    assert_eq!(incident["status"], "triage");
    assert_eq!(incident["severity"], "SEV2");
    assert_eq!(incident["version"], 1);
    assert_eq!(incident["services"], json!(["checkout-api", "payments"]));
    assert_eq!(incident["created_by"]["principal"], "tester");
    assert_eq!(incident["created_by"]["client"], "firebreak-tests 1.0.0");
    assert_eq!(incident["created_by"]["channel"], "mcp");
    assert_eq!(declared["deduplicated"], false);

    let brief = ok(call(&client, "get_incident", json!({"incident": "INC-1"})).await);
    assert_eq!(brief["roles"][0]["role"], "commander");
    assert_eq!(brief["roles"][0]["assignee"], "alice");
    let kinds: Vec<&str> = brief["recent_timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["status_change", "role_change"]);
    assert_eq!(
        brief["recent_timeline"][0]["body"],
        "Declared INC-1 SEV2: Checkout API returning 5xx"
    );
    assert_eq!(brief["recent_timeline"][0]["actor"]["principal"], "tester");
    let plain = ok(call(
        &client,
        "declare_incident",
        json!({"title": "No commander", "severity": "SEV4"}),
    )
    .await);
    assert_eq!(plain["incident"]["reference"], "INC-2");
    let brief = ok(call(&client, "get_incident", json!({"incident": "INC-2"})).await);
    assert!(
        brief.get("roles").is_none(),
        "no roles: the field is left out"
    );
    assert_eq!(brief["timeline_total"], 1);
}

#[tokio::test]
async fn an_incident_is_found_by_number_reference_and_uuid() {
    let db = TestDb::new().await;
    let client = db.client().await;
    declare(&client, "Disk full on db-3", "SEV3").await;
    let by_ref = ok(call(&client, "get_incident", json!({"incident": "INC-1"})).await);
    let id = by_ref["incident"]["id"].as_str().unwrap().to_owned();
    for reference in ["1", "inc-1", "#1", id.as_str()] {
        let brief = ok(call(&client, "get_incident", json!({"incident": reference})).await);
        assert_eq!(
            brief["incident"]["id"],
            id.as_str(),
            "reference {reference}"
        );
    }
    let added = ok(call(
        &client,
        "add_timeline_entry",
        json!({"incident": id, "kind": "note", "body": "by uuid"}),
    )
    .await);
    assert_eq!(
        added["incident"], "INC-1",
        "answers name the incident canonically"
    );
    let roles = ok(call(
        &client,
        "assign_role",
        json!({"incident": id, "role": "scribe", "assignee": "sam"}),
    )
    .await);
    assert_eq!(roles["incident"], "INC-1");
}

#[tokio::test]
async fn the_brief_shows_the_last_twenty_entries_and_durations_so_far() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let reference = declare(&client, "Queue backlog", "SEV3").await;
    for n in 0..25 {
        let body = format!("note {n}");
        ok(call(
            &client,
            "add_timeline_entry",
            json!({"incident": reference, "kind": "note", "body": body}),
        )
        .await);
    }
    let brief = ok(call(&client, "get_incident", json!({"incident": reference})).await);
    let timeline = brief["recent_timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 20);
    assert_eq!(timeline[19]["body"], "note 24");
    assert_eq!(timeline[0]["body"], "note 5");
    assert_eq!(brief["timeline_total"], 26);
    assert_eq!(brief["timeline_truncated"], true);
    let ack = brief["durations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "time_to_acknowledge")
        .unwrap();
    assert_eq!(ack["ongoing"], true);
    assert_eq!(ack["from"], "detected_at");
}

#[tokio::test]
async fn updating_records_each_change_and_bumps_the_version() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let reference = declare(&client, "Login slow", "SEV4").await;
    let updated = ok(call(
        &client,
        "update_incident",
        json!({"incident": reference, "expected_version": 1, "severity": "SEV2",
               "summary": "p99 at 9s", "title": "Login slow"}),
    )
    .await);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["severity"], "SEV2");
    let timeline = ok(call(
        &client,
        "get_timeline",
        json!({"incident": reference, "kinds": ["severity_change", "field_change"]}),
    )
    .await);
    let entries = timeline["entries"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        2,
        "the unchanged title is not recorded: {entries:?}"
    );
    assert_eq!(entries[0]["kind"], "severity_change");
    assert_eq!(entries[0]["data"]["from"], "SEV4");
    assert_eq!(entries[0]["data"]["to"], "SEV2");
    assert_eq!(entries[1]["data"]["field"], "summary");
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_carrying_the_current_state() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let reference = declare(&client, "Cache misses", "SEV3").await;
    ok(call(
        &client,
        "update_incident",
        json!({"incident": reference, "summary": "a"}),
    )
    .await);
    let before = db.fingerprint().await;
    let stale = failure(
        call(
            &client,
            "update_incident",
            json!({"incident": reference, "expected_version": 1, "summary": "b"}),
        )
        .await,
    );
    assert_eq!(stale.code, "conflict");
    assert_eq!(stale.details["current_version"], 2);
    assert_eq!(stale.details["current_status"], "triage");
    assert!(
        stale.message.contains("expected_version 2"),
        "{}",
        stale.message
    );
    assert_eq!(db.fingerprint().await, before);
}

#[tokio::test]
async fn listing_filters_and_pages_with_a_stable_cursor() {
    let db = TestDb::new().await;
    let client = db.client().await;
    for n in 1..=5 {
        let severity = if n % 2 == 0 { "SEV2" } else { "SEV4" };
        ok(call(
            &client,
            "declare_incident",
            json!({"title": format!("incident {n}"), "severity": severity, "services": ["api"]}),
        )
        .await);
    }
    let first = ok(call(&client, "list_incidents", json!({"limit": 2})).await);
    let refs = |page: &serde_json::Value| -> Vec<String> {
        page["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["reference"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(refs(&first), ["INC-5", "INC-4"]);
    assert_eq!(first["truncated"], true);
    assert!(first["now"].is_string());
    // New incidents arriving between pages do not shift the next page.
    declare(&client, "incident 6", "SEV1").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = ok(call(
        &client,
        "list_incidents",
        json!({"limit": 2, "cursor": cursor}),
    )
    .await);
    assert_eq!(refs(&second), ["INC-3", "INC-2"]);
    let third = ok(call(
        &client,
        "list_incidents",
        json!({"limit": 2, "cursor": second["next_cursor"]}),
    )
    .await);
    assert_eq!(refs(&third), ["INC-1"]);
    assert_eq!(third["truncated"], false);
    assert!(third["next_cursor"].is_null());

    let major = ok(call(
        &client,
        "list_incidents",
        json!({"severity": ["SEV2"], "status": ["open"]}),
    )
    .await);
    assert_eq!(refs(&major), ["INC-4", "INC-2"]);
    let other_service = ok(call(&client, "list_incidents", json!({"service": "web"})).await);
    assert!(refs(&other_service).is_empty());
    let api = ok(call(&client, "list_incidents", json!({"service": "api"})).await);
    assert_eq!(refs(&api), ["INC-5", "INC-4", "INC-3", "INC-2", "INC-1"]);
}

#[tokio::test]
async fn text_search_ranks_matches_over_title_summary_and_impact() {
    let db = TestDb::new().await;
    let client = db.client().await;
    ok(call(
        &client,
        "declare_incident",
        json!({"title": "Database connections exhausted", "severity": "SEV2",
        "summary": "The database pool is saturated; database replicas lag"}),
    )
    .await);
    ok(call(
        &client,
        "declare_incident",
        json!({"title": "Slow checkout", "severity": "SEV3",
        "impact": "Checkout waits on the database"}),
    )
    .await);
    ok(call(
        &client,
        "declare_incident",
        json!({"title": "Certificate expiry", "severity": "SEV3"}),
    )
    .await);
    let found = ok(call(&client, "list_incidents", json!({"text": "database"})).await);
    let titles: Vec<&str> = found["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Database connections exhausted", "Slow checkout"]);
    let paged = ok(call(
        &client,
        "list_incidents",
        json!({"text": "database", "limit": 1}),
    )
    .await);
    let next = ok(call(
        &client,
        "list_incidents",
        json!({"text": "database", "limit": 1, "cursor": paged["next_cursor"]}),
    )
    .await);
    assert_eq!(next["incidents"][0]["title"], "Slow checkout");
    assert_eq!(next["truncated"], false);
}

#[tokio::test]
async fn the_same_dedup_key_folds_repeat_signals_into_the_open_incident() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let args =
        json!({"title": "HighErrorRate checkout", "severity": "SEV3", "dedup_key": "fp-123"});
    let first = ok(call(&client, "declare_incident", args.clone()).await);
    let again = ok(call(&client, "declare_incident", args.clone()).await);
    assert_eq!(again["deduplicated"], true);
    assert_eq!(
        again["incident"]["reference"],
        first["incident"]["reference"]
    );
    assert_eq!(db.count("incident").await, 1);
    let alerts = ok(call(
        &client,
        "get_timeline",
        json!({"incident": "INC-1", "kinds": ["alert"]}),
    )
    .await);
    assert!(
        alerts["entries"][0]["body"]
            .as_str()
            .unwrap()
            .contains("Repeat signal")
    );
    // Once resolved, the same key opens a new incident.
    ok(call(
        &client,
        "change_status",
        json!({"incident": "INC-1", "to": "investigating"}),
    )
    .await);
    ok(call(
        &client,
        "resolve_incident",
        json!({"incident": "INC-1", "resolution": "rolled back"}),
    )
    .await);
    let fresh = ok(call(&client, "declare_incident", args).await);
    assert_eq!(fresh["deduplicated"], false);
    assert_eq!(fresh["incident"]["reference"], "INC-2");
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_incident_and_another_payload_conflicts() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let args = json!({"title": "Payments timeouts", "severity": "SEV2", "idempotency_key": "k-1"});
    let first = ok(call(&client, "declare_incident", args.clone()).await);
    let retry = ok(call(&client, "declare_incident", args).await);
    assert_eq!(retry["incident"]["id"], first["incident"]["id"]);
    assert_eq!(retry["replayed"], true);
    assert_eq!(db.count("incident").await, 1);
    let before = db.fingerprint().await;
    let reused = failure(
        call(
            &client,
            "declare_incident",
            json!({"title": "Something else", "severity": "SEV2", "idempotency_key": "k-1"}),
        )
        .await,
    );
    assert_eq!(reused.code, "conflict");
    assert!(
        reused.message.contains("idempotency_key"),
        "{}",
        reused.message
    );
    assert_eq!(db.fingerprint().await, before);
}

#[tokio::test]
async fn assigning_a_role_relieves_the_previous_holder_and_keeps_history() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let reference = declare(&client, "DNS failures", "SEV2").await;
    ok(call(
        &client,
        "assign_role",
        json!({"incident": reference, "role": "commander", "assignee": "alice"}),
    )
    .await);
    let roles = ok(call(
        &client,
        "assign_role",
        json!({"incident": reference, "role": "commander", "assignee": "bob"}),
    )
    .await);
    let commanders: Vec<&str> = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == "commander")
        .map(|r| r["assignee"].as_str().unwrap())
        .collect();
    assert_eq!(commanders, ["bob"]);
    ok(call(
        &client,
        "assign_role",
        json!({"incident": reference, "role": "responder", "assignee": "carol"}),
    )
    .await);
    let roles = ok(call(
        &client,
        "assign_role",
        json!({"incident": reference, "role": "responder", "assignee": "dan"}),
    )
    .await);
    assert_eq!(roles["roles"].as_array().unwrap().len(), 3);
    // Assigning the current holder again changes nothing.
    let before = db.fingerprint().await;
    ok(call(
        &client,
        "assign_role",
        json!({"incident": reference, "role": "commander", "assignee": "bob"}),
    )
    .await);
    assert_eq!(db.fingerprint().await, before);
    let (history,): (i64,) = sqlx::query_as(
        "select count(*) from role_assignment where role = 'commander' and unassigned_at is not null",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(history, 1);
    let changes = ok(call(
        &client,
        "get_timeline",
        json!({"incident": reference, "kinds": ["role_change"]}),
    )
    .await);
    assert_eq!(changes["entries"][1]["body"], "commander: alice → bob");
}

#[tokio::test]
async fn timeline_entries_can_be_back_dated_filtered_and_paged() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let reference = declare(&client, "Memory leak", "SEV3").await;
    let earlier = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    ok(call(
        &client,
        "add_timeline_entry",
        json!({"incident": reference, "kind": "finding",
        "body": "RSS grows 50MB/h since the 12:00 deploy", "occurred_at": earlier}),
    )
    .await);
    ok(call(
        &client,
        "add_timeline_entry",
        json!({"incident": reference, "kind": "hypothesis",
        "body": "The new cache never evicts (confidence: medium)", "visibility": "public"}),
    )
    .await);
    let page = ok(call(
        &client,
        "get_timeline",
        json!({"incident": reference, "limit": 1}),
    )
    .await);
    assert_eq!(
        page["entries"][0]["kind"], "finding",
        "back-dated entries sort first"
    );
    let rest = ok(call(
        &client,
        "get_timeline",
        json!({"incident": reference, "limit": 5, "cursor": page["next_cursor"]}),
    )
    .await);
    let kinds: Vec<&str> = rest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["status_change", "hypothesis"]);
    assert_eq!(rest["entries"][1]["visibility"], "public");
}
