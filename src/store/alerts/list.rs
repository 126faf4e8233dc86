//! Listing alerts, newest (last seen) first, keyset-paged, each with the ledger's latest
//! reason.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::signals::Alert;
use crate::store::incidents::severity;
use crate::store::{Error, Result};

/// Filters for [`list`]; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Alerts of this incident.
    pub incident_id: Option<Uuid>,
    /// From this source.
    pub source: Option<String>,
    /// Firing or resolved.
    pub status: Option<&'static str>,
    /// Last seen at or after.
    pub since: Option<DateTime<Utc>>,
    /// Last seen before.
    pub until: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct AlertRow {
    id: Uuid,
    source: String,
    alert_key: String,
    status: String,
    title: String,
    severity: Option<i16>,
    services: Vec<String>,
    labels: Json<BTreeMap<String, String>>,
    source_url: Option<String>,
    runbook_url: Option<String>,
    route: Option<String>,
    group_key: String,
    incident_number: Option<i64>,
    starts_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    seen_count: i32,
    acknowledged_at: Option<DateTime<Utc>>,
    last_reason: Option<String>,
}

impl TryFrom<AlertRow> for Alert {
    type Error = Error;

    fn try_from(r: AlertRow) -> Result<Alert> {
        Ok(Alert {
            id: r.id,
            source: r.source,
            key: r.alert_key,
            status: r.status.parse().map_err(Error::Corrupt)?,
            title: r.title,
            severity: r.severity.map(severity).transpose()?,
            services: r.services,
            labels: r.labels.0,
            source_url: r.source_url,
            runbook_url: r.runbook_url,
            route: r.route,
            group_key: r.group_key,
            incident: r.incident_number,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            seen_count: i64::from(r.seen_count),
            acknowledged_at: r.acknowledged_at,
            last_reason: r.last_reason,
        })
    }
}

/// Alerts newest (last seen) first, after the keyset `after` (last seen, id), at most `limit`.
pub async fn list(
    conn: &mut PgConnection,
    filter: &AlertFilter,
    after: Option<TimePosition>,
    limit: i64,
) -> Result<Vec<Alert>> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "select a.id, a.source, a.alert_key, a.status, a.title, a.severity, a.services, \
         a.labels, a.source_url, a.runbook_url, a.route, a.group_key, \
         i.number as incident_number, a.starts_at, a.ends_at, a.first_seen, a.last_seen, \
         a.seen_count, a.acknowledged_at, \
         (select d.reason from alert_decision d where d.alert_id = a.id \
          order by d.seq desc limit 1) as last_reason \
         from alert a left join incident i on i.id = a.incident_id where true",
    );
    if let Some(id) = filter.incident_id {
        q.push(" and a.incident_id = ").push_bind(id);
    }
    if let Some(source) = &filter.source {
        q.push(" and a.source = ").push_bind(source.clone());
    }
    if let Some(status) = filter.status {
        q.push(" and a.status = ").push_bind(status);
    }
    if let Some(since) = filter.since {
        q.push(" and a.last_seen >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        q.push(" and a.last_seen < ").push_bind(until);
    }
    if let Some(after) = after {
        q.push(" and (a.last_seen, a.id) < (")
            .push_bind(after.at)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    q.push(" order by a.last_seen desc, a.id desc limit ")
        .push_bind(limit);
    let rows: Vec<AlertRow> = q.build_query_as().fetch_all(conn).await?;
    rows.into_iter().map(Alert::try_from).collect()
}

/// Where a page of alerts or changes ends: the last row's time (microseconds) and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimePosition {
    /// Its time (last seen, or occurred at).
    pub at: DateTime<Utc>,
    /// Its id.
    pub id: Uuid,
}

/// As a cursor: `t<microseconds>_<uuid>`.
impl std::fmt::Display for TimePosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "t{}_{}", self.at.timestamp_micros(), self.id.simple())
    }
}

impl std::str::FromStr for TimePosition {
    type Err = ();

    fn from_str(cursor: &str) -> std::result::Result<Self, ()> {
        let (micros, id) = cursor
            .strip_prefix('t')
            .and_then(|rest| rest.split_once('_'))
            .ok_or(())?;
        let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| ())?).ok_or(())?;
        Ok(TimePosition {
            at,
            id: Uuid::parse_str(id).map_err(|_| ())?,
        })
    }
}
