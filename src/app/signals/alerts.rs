//! Applying an alert delivery: every alert of one payload in one transaction, each decision
//! written to the ledger with its reason. The delivery's group and identity scopes are locked
//! first (in one fixed order), so concurrent deliveries of one group declare one incident and
//! a payload delivered twice at once applies once.

use chrono::{DateTime, Utc};

use crate::app::audit::{self, AuditRecord};
use crate::app::signals::AlertOutcome;
use crate::app::signals::SignalSource;
use crate::app::signals::delivery::Delivery;
use crate::app::{App, Result, commit, page};
use crate::domain::signals::{Alert, AlertEvent};
use crate::domain::{IncidentRef, validation};
use crate::store;
use crate::store::alerts::{AlertFilter, TimePosition};

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Alerts of this incident.
    pub incident: Option<IncidentRef>,
    /// From this source.
    pub source: Option<String>,
    /// `firing` or `resolved`.
    pub status: Option<crate::domain::signals::AlertStatus>,
    /// Last seen at or after.
    pub since: Option<DateTime<Utc>>,
    /// Last seen before.
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: Option<i64>,
    /// The cursor from the previous page.
    pub cursor: Option<String>,
}

/// A page of alerts.
#[derive(Debug, Clone)]
pub struct AlertPage {
    /// Newest first.
    pub alerts: Vec<Alert>,
    /// The cursor for the next page, if there is one.
    pub next_cursor: Option<String>,
}

impl App {
    /// Applies a delivery of alert events from `source` in one transaction.
    #[tracing::instrument(skip_all, fields(source = source.name, alerts = events.len()))]
    pub async fn ingest_alerts(
        &self,
        source: SignalSource<'_>,
        events: Vec<AlertEvent>,
        audit: Option<&AuditRecord>,
    ) -> Result<Vec<AlertOutcome>> {
        let now = Utc::now();
        let events = checked(events, now)?;
        let routing = self.settings().routing.current();
        let mut tx = self.begin().await?;
        let outcomes = Delivery::new(source, &routing, now, false)
            .apply(&mut tx, &events)
            .await?;
        if let Some(record) = audit {
            let mut record = record.clone();
            record.incident = outcomes.iter().find_map(|o| o.incident);
            audit::record_in(&mut tx, &record).await?;
        }
        commit(tx).await?;
        Ok(outcomes)
    }

    /// What a delivery would do, read against the database but written nowhere.
    pub async fn plan_alerts(
        &self,
        source: SignalSource<'_>,
        events: Vec<AlertEvent>,
    ) -> Result<Vec<AlertOutcome>> {
        let now = Utc::now();
        let events = checked(events, now)?;
        let routing = self.settings().routing.current();
        let mut conn = self.autocommit().await?;
        Delivery::new(source, &routing, now, true)
            .apply(&mut conn, &events)
            .await
    }

    /// Records a refused delivery (bad credentials, a payload not in the source's format) in
    /// the ledger.
    pub async fn record_refusal(&self, source: &str, reason: &str) -> Result<()> {
        let mut conn = self.autocommit().await?;
        store::alerts::record_refusal(&mut conn, source, reason, Utc::now()).await?;
        conn.commit().await?;
        Ok(())
    }

    /// Alerts newest first, filtered, keyset-paged.
    pub async fn list_alerts(&self, query: AlertQuery) -> Result<AlertPage> {
        let limit = validation::limit("limit", query.limit, 20, 100)?;
        let after: Option<TimePosition> = page::position(query.cursor.as_deref())?;
        let mut conn = self.autocommit().await?;
        let incident_id = match query.incident {
            Some(reference) => Some(
                crate::app::load(&mut conn, reference, store::Lock::None)
                    .await?
                    .id,
            ),
            None => None,
        };
        let source = validation::optional_name("source", query.source)?;
        let filter = AlertFilter {
            incident_id,
            source,
            status: query.status.map(|s| s.as_str()),
            since: query.since,
            until: query.until,
        };
        let alerts =
            store::alerts::list(&mut conn, &filter, after, page::fetch_limit(limit)).await?;
        let page = page::cut(alerts, limit, |a| TimePosition {
            at: a.last_seen,
            id: a.id,
        });
        Ok(AlertPage {
            alerts: page.rows,
            next_cursor: page.next_cursor,
        })
    }
}

/// Checks every event, naming the one at fault (`alerts[3].key`).
fn checked(events: Vec<AlertEvent>, now: DateTime<Utc>) -> Result<Vec<AlertEvent>> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| e.checked(&format!("alerts[{i}]"), now).map_err(Into::into))
        .collect()
}
