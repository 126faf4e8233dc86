//! Incidents with fixed timestamps for the domain tests.

#![allow(
    clippy::unwrap_used,
    reason = "a malformed fixture literal should panic"
)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::actor::{Actor, Channel};
use crate::domain::incident::{Incident, Severity};
use crate::domain::status::Status;

/// When impact began.
pub(crate) const IMPACT_STARTED: &str = "2024-05-01T09:50:00Z";
/// When a monitor noticed.
pub(crate) const DETECTED: &str = "2024-05-01T09:55:00Z";
/// When it was declared.
pub(crate) const DECLARED: &str = "2024-05-01T10:00:00Z";
/// First move out of triage.
pub(crate) const ACKNOWLEDGED: &str = "2024-05-01T10:05:00Z";
/// First entry into `identified`.
pub(crate) const IDENTIFIED: &str = "2024-05-01T10:20:00Z";
/// First entry into `monitoring`.
pub(crate) const MITIGATED: &str = "2024-05-01T10:40:00Z";
/// Entry into `resolved`.
pub(crate) const RESOLVED: &str = "2024-05-01T11:00:00Z";
/// Entry into `closed`.
pub(crate) const CLOSED: &str = "2024-05-01T12:00:00Z";
/// The server's clock in the tests: after every fixture timestamp.
pub(crate) const NOW: &str = "2024-05-01T13:00:00Z";

/// Parses an RFC 3339 literal.
pub(crate) fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

/// [`NOW`], parsed.
pub(crate) fn now() -> DateTime<Utc> {
    at(NOW)
}

/// The id of the incident that [`incident`]`(Status::Merged)` was merged into.
pub(crate) fn other_id() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0007)
}

/// INC-42 in `status`, stamped as if it took the shortest path there:
/// triage → investigating → identified → monitoring → resolved → closed.
/// `declined` and `merged` left straight from triage, so they carry no lifecycle stamps.
pub(crate) fn incident(status: Status) -> Incident {
    let path = [
        Status::Triage,
        Status::Investigating,
        Status::Identified,
        Status::Monitoring,
        Status::Resolved,
        Status::Closed,
    ];
    let reached = path.iter().position(|s| *s == status).unwrap_or(0);
    let stamp = |step: usize, when: &str| (reached >= step).then(|| at(when));
    Incident {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0042),
        number: 42,
        title: "Checkout returns 502".into(),
        summary: "Errors since the 09:45 deploy".into(),
        impact: "Customers cannot pay".into(),
        resolution: stamp(4, RESOLVED).map(|_| "Rolled back the deploy".to_owned()),
        severity: Severity::Sev3,
        status,
        services: vec!["checkout-api".into(), "payments".into()],
        labels: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
        dedup_key: Some("alert:checkout-5xx".into()),
        merged_into: (status == Status::Merged).then(other_id),
        version: 1,
        created_by: Actor {
            principal: "alice".into(),
            client: Some("claude-code 2.1.0".into()),
            channel: Channel::Mcp,
        },
        impact_started_at: Some(at(IMPACT_STARTED)),
        detected_at: Some(at(DETECTED)),
        declared_at: at(DECLARED),
        acknowledged_at: stamp(1, ACKNOWLEDGED),
        identified_at: stamp(2, IDENTIFIED),
        mitigated_at: stamp(3, MITIGATED),
        resolved_at: stamp(4, RESOLVED),
        closed_at: stamp(5, CLOSED),
        updated_at: at(DECLARED),
    }
}
