//! The follow-up parts of `incident_metrics`: busiest services, noisiest alerts, overdue action
//! items and the postmortems owed, each within the filters, and left out when empty.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;

use super::history::{Row, insert};
use super::{at, metrics};
use crate::support::TestDb;

const FROM: &str = "2025-02-01T00:00:00Z";
const TO: &str = "2025-03-01T00:00:00Z";

fn major(title: &str, severity: i16, status: &'static str, services: &[&str]) -> Row {
    let mut row = Row::resolved(title, at("2025-02-10T12:00:00Z"));
    row.severity = severity;
    row.status = status;
    row.services = services.iter().map(|s| (*s).to_owned()).collect();
    if status == "investigating" {
        row.resolved_at = None;
    }
    row
}

async fn id(db: &TestDb, title: &str) -> uuid::Uuid {
    let (id,): (uuid::Uuid,) = sqlx::query_as("select id from incident where title = $1")
        .bind(title)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    id
}

async fn postmortem(db: &TestDb, title: &str, status: &str) {
    sqlx::query(
        "insert into postmortem (incident_id, status, facts_as_of, facts_incident_status, \
         created_by_principal, created_by_channel, created_at, updated_at, published_at) \
         values ($1, $2, now(), 'resolved', 'fixture', 'mcp', now(), now(), \
         case when $2 = 'published' then now() end)",
    )
    .bind(id(db, title).await)
    .bind(status)
    .execute(&db.pool)
    .await
    .unwrap();
}

async fn action_item(
    db: &TestDb,
    title: &str,
    incident: &str,
    status: &str,
    due_on: Option<NaiveDate>,
) {
    sqlx::query(
        "insert into action_item (id, incident_id, title, owner, due_on, priority, kind, status, \
         created_by_principal, created_by_channel, created_at, updated_at, completed_at) \
         values (gen_random_uuid(), $1, $2, 'dana', $3, 'P2', 'prevent', $4, 'fixture', 'mcp', \
         now(), now(), case when $4 in ('done', 'wont_do') then now() end)",
    )
    .bind(id(db, incident).await)
    .bind(title)
    .bind(due_on)
    .bind(status)
    .execute(&db.pool)
    .await
    .unwrap();
}

async fn alert(
    db: &TestDb,
    source: &str,
    alertname: Option<&str>,
    seen: i32,
    last_seen: DateTime<Utc>,
    incident: Option<&str>,
) {
    let incident_id = match incident {
        Some(title) => Some(id(db, title).await),
        None => None,
    };
    let labels = alertname.map_or_else(|| json!({}), |name| json!({"alertname": name}));
    sqlx::query(
        "insert into alert (id, source, alert_key, status, title, services, labels, group_key, \
         incident_id, starts_at, ends_at, first_seen, last_seen, seen_count) \
         values (gen_random_uuid(), $1, gen_random_uuid()::text, 'resolved', 'Alert', '{api}', $2, \
         'g', $3, $4, $4, $4, $4, $5)",
    )
    .bind(source)
    .bind(labels)
    .bind(incident_id)
    .bind(last_seen)
    .bind(seen)
    .execute(&db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn follow_up_lists_services_alerts_overdue_items_and_owed_postmortems() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let mut drill = major("Drill", 1, "resolved", &["api"]);
    drill.test_label = Some("true");
    let mut earlier = major("Earlier SEV1", 1, "resolved", &["api"]);
    earlier.declared_at = at("2025-01-10T00:00:00Z");
    insert(
        &db,
        &[
            major("SEV1 without postmortem", 1, "resolved", &["api"]),
            major("SEV2 published", 2, "closed", &["api", "db"]),
            major("SEV2 draft", 2, "resolved", &["db"]),
            major("SEV3", 3, "resolved", &["web"]),
            major("SEV1 open", 1, "investigating", &["api"]),
            drill,
            earlier,
        ],
    )
    .await;
    postmortem(&db, "SEV2 published", "published").await;
    postmortem(&db, "SEV2 draft", "in_review").await;
    let today = Utc::now().date_naive();
    let day = |days: i64| Some(today + Duration::days(days));
    action_item(
        &db,
        "Add an alert",
        "SEV1 without postmortem",
        "open",
        day(-10),
    )
    .await;
    action_item(&db, "Fix the retry", "SEV3", "in_progress", day(-1)).await;
    action_item(&db, "Already done", "SEV3", "done", day(-30)).await;
    action_item(&db, "Due tomorrow", "SEV3", "open", day(1)).await;
    action_item(&db, "No date", "SEV3", "open", None).await;
    action_item(&db, "Drill follow-up", "Drill", "open", day(-5)).await;
    // Earlier incidents' items are still overdue: overdue is about today, not the period.
    action_item(&db, "Old one", "Earlier SEV1", "open", day(-100)).await;
    let in_period = at("2025-02-11T00:00:00Z");
    for seen in [5, 2] {
        alert(
            &db,
            "am",
            Some("HighLatency"),
            seen,
            in_period,
            Some("SEV1 without postmortem"),
        )
        .await;
    }
    alert(&db, "am", Some("HighLatency"), 1, in_period, Some("SEV3")).await;
    alert(&db, "am", Some("DiskFull"), 20, in_period, None).await;
    alert(&db, "grafana", None, 1, in_period, None).await;
    alert(
        &db,
        "am",
        Some("Before"),
        99,
        at("2025-01-05T00:00:00Z"),
        None,
    )
    .await;

    let answer = metrics(&client, json!({"from": FROM, "to": TO})).await;
    assert_eq!(
        answer["top_services"],
        json!([{"service": "api", "incidents": 2}, {"service": "db", "incidents": 2},
               {"service": "web", "incidents": 1}])
    );
    assert_eq!(
        answer["noisy_alerts"],
        json!([
            {"source": "am", "alertname": "DiskFull", "alerts": 1, "deliveries": 20, "incidents": 0},
            {"source": "am", "alertname": "HighLatency", "alerts": 3, "deliveries": 8, "incidents": 2},
            {"source": "grafana", "alerts": 1, "deliveries": 1, "incidents": 0}
        ])
    );
    let overdue = &answer["overdue_action_items"];
    assert_eq!(overdue["count"], 3, "{overdue}");
    let items: Vec<&str> = overdue["oldest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["Old one", "Add an alert", "Fix the retry"]);
    let first = &overdue["oldest"][0];
    assert_eq!(first["owner"], "dana");
    assert_eq!(first["incident"], "INC-8");
    assert!(first["item"].as_str().unwrap().starts_with("AI-"));
    assert_eq!(first["due_on"], json!(today - Duration::days(100)));
    // INC-2 (SEV1, no postmortem) and INC-4 (SEV2, only in review); not the published one,
    // the SEV3, the open SEV1, the drill or the SEV1 declared before the period.
    assert_eq!(
        answer["postmortems_owed"],
        json!({"count": 2, "incidents": ["INC-2", "INC-4"]})
    );

    let with_tests = metrics(
        &client,
        json!({"from": FROM, "to": TO, "include_test": true}),
    )
    .await;
    assert_eq!(with_tests["overdue_action_items"]["count"], 4);
    assert_eq!(with_tests["postmortems_owed"]["count"], 3);
    let db_only = metrics(&client, json!({"from": FROM, "to": TO, "service": "db"})).await;
    assert_eq!(
        db_only["postmortems_owed"],
        json!({"count": 1, "incidents": ["INC-4"]})
    );
    assert!(db_only.get("overdue_action_items").is_none(), "{db_only}");
    assert!(
        db_only.get("noisy_alerts").is_none(),
        "alerts are about api: {db_only}"
    );
}

#[tokio::test]
async fn an_empty_period_answers_zeros_and_leaves_the_rest_out() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let answer = metrics(
        &client,
        json!({"from": FROM, "to": TO, "group_by": "month"}),
    )
    .await;
    for period in ["current", "previous"] {
        let figures = &answer[period];
        assert_eq!(figures["incidents"], 0);
        assert_eq!(
            figures["time_to_resolve"],
            json!({"from": "impact_started_at", "to": "resolved_at", "n": 0})
        );
        assert!(figures.get("by_severity").is_none() && figures.get("excluded").is_none());
    }
    for part in [
        "top_services",
        "noisy_alerts",
        "overdue_action_items",
        "postmortems_owed",
    ] {
        assert!(answer.get(part).is_none(), "{part}: {answer}");
    }
    assert_eq!(answer["breakdown"], json!({"by": "month", "groups": []}));
}
