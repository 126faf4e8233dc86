//! The trail read back: stored records, the filters of `firebreak audit` and `audit://log`,
//! and pruning past the retention.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::app::audit::AuditRecord;
use crate::app::{App, Result};
use crate::domain::{IncidentRef, validation};
use crate::store;
use crate::store::audit::StoredAudit;

/// Most records one query answers.
pub const MAX_LIMIT: i64 = 500;
/// Records a query answers when it names no limit.
pub const DEFAULT_LIMIT: i64 = 50;
/// Most expired records deleted per statement, so pruning never holds locks for long.
const PRUNE_BATCH: i64 = 5000;

/// A stored record and its number (the keyset of the next page).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Its number, in insertion order.
    pub id: i64,
    /// The record.
    pub record: AuditRecord,
}

impl AuditEntry {
    /// The entry as JSON, as `firebreak audit --json` prints it and `audit://log` answers it:
    /// `incident` as `INC-n`, the duration in milliseconds (microsecond precision).
    pub fn to_json(&self) -> Value {
        let r = &self.record;
        json!({
            "id": self.id,
            "at": r.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "principal": r.principal,
            "auth_method": r.auth_method,
            "client": r.client,
            "channel": r.channel,
            "kind": r.kind,
            "name": r.name,
            "incident": r.incident.map(|n| format!("INC-{n}")),
            "outcome": r.outcome,
            "duration_ms": duration_ms(r.duration),
            "args_digest": r.args_digest,
            "args_preview": r.args_preview,
        })
    }
}

/// A duration in milliseconds, to the microsecond.
pub fn duration_ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

impl TryFrom<StoredAudit> for AuditEntry {
    type Error = store::Error;

    fn try_from(row: StoredAudit) -> std::result::Result<Self, store::Error> {
        Ok(AuditEntry {
            id: row.id,
            record: AuditRecord {
                at: row.at,
                principal: row.principal,
                auth_method: row.auth_method.parse().map_err(store::Error::Corrupt)?,
                client: row.client,
                channel: row.channel.parse().map_err(store::Error::Corrupt)?,
                kind: row.kind.parse().map_err(store::Error::Corrupt)?,
                name: row.name,
                incident: row.incident_number,
                outcome: row.outcome,
                duration: Duration::from_micros(u64::try_from(row.duration_us).unwrap_or(0)),
                args_digest: row.args_digest,
                args_preview: row.args_preview.0,
            },
        })
    }
}

/// Which records [`App::query_audit`] answers; every field narrows, `None` does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this principal's (exactly).
    pub principal: Option<String>,
    /// Only calls of this tool, prompt, resource URI or endpoint (exactly).
    pub name: Option<String>,
    /// Only those that touched this incident.
    pub incident: Option<IncidentRef>,
    /// Only this outcome (`ok`, or an error code).
    pub outcome: Option<String>,
    /// Only those that began at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only those that began before this.
    pub until: Option<DateTime<Utc>>,
    /// How many: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
    pub limit: Option<i64>,
    /// Only those after this record in the listing (the last `id` of the previous page).
    pub before_id: Option<i64>,
}

impl App {
    /// The records `filter` selects, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn query_audit(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>> {
        let limit = validation::limit("limit", filter.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        let since = validation::instant("since", filter.since)?;
        let until = validation::instant("until", filter.until)?;
        let text = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let (principal, name, outcome) = (
            text(&filter.principal),
            text(&filter.name),
            text(&filter.outcome),
        );
        let mut conn = self.autocommit().await?;
        let incident_number = match filter.incident {
            None => None,
            Some(IncidentRef::Number(number)) => Some(number),
            Some(reference @ IncidentRef::Id(_)) => Some(
                crate::app::load(&mut conn, reference, store::Lock::None)
                    .await?
                    .number,
            ),
        };
        let query = store::audit::AuditFilter {
            principal: principal.as_deref(),
            name: name.as_deref(),
            incident_number,
            outcome: outcome.as_deref(),
            since,
            until,
            before_id: filter.before_id,
        };
        let rows = store::audit::list(&mut conn, &query, limit).await?;
        let entries = rows
            .into_iter()
            .map(AuditEntry::try_from)
            .collect::<std::result::Result<_, _>>()?;
        Ok(entries)
    }

    /// Deletes the records older than [`audit_retention`](crate::app::Settings::audit_retention), a batch at a time;
    /// returns how many went. Safe to run on every replica at once.
    pub async fn prune_audit(&self) -> Result<u64> {
        let before = Utc::now() - self.settings.audit_retention;
        let mut pruned = 0;
        loop {
            // Each batch commits by itself, so its locks go with it (also behind a pooler).
            let mut conn = self.autocommit().await?;
            let done = store::audit::prune(&mut conn, before, PRUNE_BATCH).await?;
            conn.commit().await?;
            pruned += done;
            if done < PRUNE_BATCH as u64 {
                return Ok(pruned);
            }
        }
    }
}
