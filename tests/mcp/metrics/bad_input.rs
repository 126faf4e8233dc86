//! Bad arguments to `incident_metrics`: each is a tool error naming the field and what is
//! allowed, and nothing is written.

use serde_json::json;

use crate::support::TestDb;
use crate::support::refusals::{assert_refused, invalid, with};

#[tokio::test]
async fn incident_metrics_refuses_bad_input() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let base = json!({"from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"});
    let cases = vec![
        invalid(
            "from after to",
            json!({"from": "2025-03-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"}),
            "must be before `to`",
        )
        .field("from"),
        invalid("from equal to to", with(&base, "to", json!("2025-01-01T00:00:00Z")), "`from`")
            .field("from"),
        invalid("unknown grouping", with(&base, "group_by", json!("daily")), "`week`")
            .mentioning("`month`")
            .field("group_by"),
        invalid("unknown severity", with(&base, "severity", json!(["SEV1", "SEV9"])), "`SEV1`")
            .mentioning("severity"),
        invalid("service not a slug", with(&base, "service", json!("Payments API")), "service slug")
            .field("service"),
        invalid("a time that is no time", with(&base, "from", json!("yesterday")), "RFC 3339")
            .field("from"),
        invalid("a time without a zone", with(&base, "to", json!("2025-02-01T00:00:00")), "add `Z`")
            .field("to"),
        invalid("a time before 1970", with(&base, "from", json!("1969-12-01T00:00:00Z")), "1970")
            .field("from"),
        invalid("include_test as text", with(&base, "include_test", json!("yes")), "include_test"),
        invalid("an unknown field", with(&base, "period", json!("90d")), "unknown field `period`"),
        invalid(
            "too many weeks",
            json!({"from": "2000-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z", "group_by": "week"}),
            "group by `month`",
        )
        .field("group_by"),
    ];
    assert_refused(&db, &client, "incident_metrics", &cases).await;
}
