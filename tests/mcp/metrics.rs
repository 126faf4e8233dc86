//! `incident_metrics` through a real MCP client on a real PostgreSQL: exact figures over a
//! generated history (counts, exclusions, anchors, percentiles, means, breakdowns, the trend),
//! the exclusions through the real lifecycle, the follow-up sections, bad input, and
//! `firebreak report`.

mod bad_input;
mod follow_up;
mod history;
mod report;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::support::{Client, TestDb, call, declare, ok};
use history::{Row, figures, groups, history, insert, top_services};

/// An RFC 3339 literal.
pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// Eight weeks from a Monday; the period before it is the eight weeks before.
const FROM: &str = "2025-01-06T00:00:00Z";
const TO: &str = "2025-03-03T00:00:00Z";
const PREVIOUS_FROM: &str = "2024-11-11T00:00:00Z";

/// The generated history (and three incidents on the boundaries), stored.
async fn seeded() -> (TestDb, Client, Vec<Row>) {
    let db = TestDb::new().await;
    let client = db.client().await;
    let mut rng = history::Rng::new(0x5eed_1e55);
    // A week on either side of the two periods, so some incidents are in neither.
    let mut rows = history(
        &mut rng,
        200,
        at("2024-11-04T00:00:00Z"),
        at("2025-03-10T00:00:00Z"),
    );
    let mut on_start = Row::resolved("Declared as the period starts", at(FROM));
    on_start.detected_at = Some(at(FROM) - Duration::minutes(3));
    rows.push(on_start);
    rows.push(Row::resolved("Declared as the period ends", at(TO)));
    rows.push(Row::resolved(
        "Declared as the period before starts",
        at(PREVIOUS_FROM),
    ));
    insert(&db, &rows).await;
    (db, client, rows)
}

async fn metrics(client: &Client, arguments: Value) -> Value {
    ok(call(client, "incident_metrics", arguments).await)
}

#[tokio::test]
async fn figures_match_the_history_exactly_beside_the_period_before() {
    let (_db, client, rows) = seeded().await;
    for include_test in [false, true] {
        let answer = metrics(
            &client,
            json!({"from": FROM, "to": TO, "include_test": include_test}),
        )
        .await;
        assert_eq!(
            answer["current"],
            figures(&rows, at(FROM), at(TO), include_test),
            "include_test {include_test}"
        );
        assert_eq!(
            answer["previous"],
            figures(&rows, at(PREVIOUS_FROM), at(FROM), include_test),
            "include_test {include_test}"
        );
        assert!(answer.get("breakdown").is_none(), "{answer}");
        assert_eq!(
            answer["include_test"].as_bool().unwrap_or(false),
            include_test
        );
    }
    let answer = metrics(&client, json!({"from": FROM, "to": TO})).await;
    assert_eq!(
        answer["top_services"],
        top_services(&rows, at(FROM), at(TO))
    );
    let method = answer["method"].as_str().unwrap();
    assert!(method.contains("linear interpolation"), "{method}");
    // The history exercises every part of the answer.
    let current = &answer["current"];
    for reason in ["test", "declined", "merged", "open"] {
        assert!(
            current["excluded"][reason].as_i64().unwrap() > 0,
            "{current}"
        );
    }
    assert!(
        current["time_to_resolve"]["fallback"]["detected_at"]
            .as_i64()
            .unwrap()
            > 0
    );
    assert!(
        current["time_to_resolve"]["fallback"]["declared_at"]
            .as_i64()
            .unwrap()
            > 0
    );
    assert!(
        current["time_to_acknowledge"]["fallback"]["declared_at"]
            .as_i64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn breakdowns_by_week_month_severity_and_service_match_the_history() {
    let (_db, client, rows) = seeded().await;
    for by in ["week", "month", "severity", "service"] {
        let answer = metrics(&client, json!({"from": FROM, "to": TO, "group_by": by})).await;
        assert_eq!(answer["breakdown"]["by"], by);
        assert_eq!(
            answer["breakdown"]["groups"],
            groups(&rows, at(FROM), at(TO), by, false),
            "group_by {by}"
        );
        // Grouping changes nothing about the period's own figures.
        assert_eq!(
            answer["current"],
            figures(&rows, at(FROM), at(TO), false),
            "{by}"
        );
    }
    let weekly = metrics(
        &client,
        json!({"from": FROM, "to": TO, "group_by": "Weekly"}),
    )
    .await;
    let weeks: Vec<&str> = weekly["breakdown"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(weeks.first(), Some(&"2025-W02"));
    assert_eq!(weeks.last(), Some(&"2025-W09"));
}

#[tokio::test]
async fn filters_by_service_and_severity_narrow_every_figure() {
    let (_db, client, rows) = seeded().await;
    let answer = metrics(
        &client,
        json!({"from": FROM, "to": TO, "service": "db", "severity": ["sev1", "SEV-2"], "group_by": "severity"}),
    )
    .await;
    let kept: Vec<Row> = rows
        .iter()
        .filter(|r| r.services.iter().any(|s| s == "db") && r.severity <= 2)
        .cloned()
        .collect();
    assert_eq!(answer["current"], figures(&kept, at(FROM), at(TO), false));
    assert_eq!(
        answer["previous"],
        figures(&kept, at(PREVIOUS_FROM), at(FROM), false)
    );
    assert_eq!(
        answer["breakdown"]["groups"],
        groups(&kept, at(FROM), at(TO), "severity", false)
    );
    assert_eq!(answer["service"], "db");
    assert_eq!(answer["severities"], json!(["SEV1", "SEV2"]));
}

#[tokio::test]
async fn the_default_period_is_the_last_ninety_days() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let now = Utc::now();
    insert(
        &db,
        &[
            Row::resolved("Ten days ago", now - Duration::days(10)),
            Row::resolved("A hundred days ago", now - Duration::days(100)),
            Row::resolved("Two hundred days ago", now - Duration::days(200)),
        ],
    )
    .await;
    let answer = metrics(&client, json!({})).await;
    assert_eq!(answer["current"]["incidents"], 1);
    assert_eq!(answer["previous"]["incidents"], 1);
    let from = at(answer["current"]["from"].as_str().unwrap());
    let to = at(answer["current"]["to"].as_str().unwrap());
    assert_eq!(to - from, Duration::days(90));
    assert!((Utc::now() - to).num_seconds().abs() < 60, "{to}");
    let relative = metrics(&client, json!({"from": "-15d", "to": "now"})).await;
    assert_eq!(relative["current"]["incidents"], 1);
    assert_eq!(relative["previous"]["incidents"], 0);
}

/// Through the real lifecycle: each left-out incident is counted once under its reason, and
/// a reopened incident counts again only once resolved again.
#[tokio::test]
async fn exclusions_follow_the_lifecycle_and_a_reopened_incident_counts_once() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let resolve = |reference: String| {
        let client = &client;
        async move {
            ok(call(
                client,
                "change_status",
                json!({"incident": reference, "to": "investigating"}),
            )
            .await);
            ok(call(
                client,
                "resolve_incident",
                json!({"incident": reference, "resolution": "Fixed"}),
            )
            .await);
        }
    };
    let counted = declare(&client, "Counted", "SEV3").await;
    resolve(counted.clone()).await;
    let declined = declare(&client, "False alarm", "SEV4").await;
    ok(call(
        &client,
        "change_status",
        json!({"incident": declined, "to": "declined", "note": "noise"}),
    )
    .await);
    let target = declare(&client, "Still open", "SEV3").await;
    let merged = declare(&client, "Duplicate", "SEV3").await;
    ok(call(
        &client,
        "change_status",
        json!({"incident": merged, "to": "merged", "merged_into": target}),
    )
    .await);
    let drill = ok(call(
        &client,
        "declare_incident",
        json!({"title": "Game day", "severity": "SEV2", "labels": {"test": "true"}}),
    )
    .await)["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    resolve(drill).await;
    let reopened = declare(&client, "Came back", "SEV3").await;
    resolve(reopened.clone()).await;
    ok(call(
        &client,
        "change_status",
        json!({"incident": reopened, "to": "investigating", "note": "back"}),
    )
    .await);

    let answer = metrics(&client, json!({})).await;
    let current = &answer["current"];
    assert_eq!(current["incidents"], 1, "{current}");
    assert_eq!(
        current["excluded"],
        json!({"test": 1, "declined": 1, "merged": 1, "open": 2})
    );
    assert_eq!(current["time_to_resolve"]["n"], 1);
    let with_tests = metrics(&client, json!({"include_test": true})).await;
    assert_eq!(with_tests["current"]["incidents"], 2);
    assert_eq!(
        with_tests["current"]["by_severity"],
        json!({"SEV2": 1, "SEV3": 1})
    );
    assert!(with_tests["current"]["excluded"].get("test").is_none());

    ok(call(
        &client,
        "resolve_incident",
        json!({"incident": reopened, "resolution": "Fixed again"}),
    )
    .await);
    let answer = metrics(&client, json!({})).await;
    assert_eq!(answer["current"]["incidents"], 2);
    assert_eq!(answer["current"]["time_to_resolve"]["n"], 2);
    assert_eq!(answer["current"]["excluded"]["open"], 1);
}

/// Known timestamps: each metric names its anchors, falls back to detection and then to
/// declaration, says how many did, and leaves out incidents without the end stamp.
#[tokio::test]
async fn durations_name_their_anchors_and_count_the_fallbacks() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let declared = at("2025-02-03T10:00:00Z");
    let minutes = Duration::minutes;
    let mut full = Row::resolved("Every anchor", declared);
    full.impact_started_at = Some(declared - minutes(30));
    full.detected_at = Some(declared - minutes(10));
    full.acknowledged_at = Some(declared + minutes(5));
    full.mitigated_at = Some(declared + minutes(20));
    full.resolved_at = Some(declared + minutes(50));
    let mut detected_only = full.clone();
    detected_only.title = "No impact start".into();
    detected_only.impact_started_at = None;
    let mut declared_only = detected_only.clone();
    declared_only.title = "Only declared".into();
    declared_only.detected_at = None;
    declared_only.mitigated_at = None;
    insert(&db, &[full, detected_only, declared_only]).await;

    let answer = metrics(
        &client,
        json!({"from": "2025-02-01T00:00:00Z", "to": "2025-03-01T00:00:00Z"}),
    )
    .await;
    let current = &answer["current"];
    // Acknowledge: 15 min from detection twice, 5 min from declaration once.
    assert_eq!(
        current["time_to_acknowledge"],
        json!({"from": "detected_at", "to": "acknowledged_at", "n": 3,
               "median": 900, "p90": 900, "mean": 700, "fallback": {"declared_at": 1}})
    );
    // Mitigate: 50 min from impact, 30 from detection; the third was never mitigated.
    assert_eq!(
        current["time_to_mitigate"],
        json!({"from": "impact_started_at", "to": "mitigated_at", "n": 2,
               "median": 2400, "p90": 2880, "mean": 2400, "fallback": {"detected_at": 1}})
    );
    // Resolve: 80, 60 and 50 minutes.
    assert_eq!(
        current["time_to_resolve"],
        json!({"from": "impact_started_at", "to": "resolved_at", "n": 3,
               "median": 3600, "p90": 4560, "mean": 3800,
               "fallback": {"detected_at": 1, "declared_at": 1}})
    );
}
