//! Incident metrics over a period, beside the same figures for the period before it: counts,
//! time to acknowledge, mitigate and resolve (median, p90, mean) with their anchors, what was
//! left out and why, and the follow-up owed (busiest services, noisiest alerts, overdue action
//! items, missing postmortems). One read-only transaction on one snapshot.

use chrono::{DateTime, NaiveDate, Utc};

use crate::app::{App, Result, commit};
use crate::domain::metrics::{
    AlertNoise, Breakdown, Figures, GroupFigures, OverdueItem, Period, Sample, ServiceCount, Tally,
    buckets, top_services,
};
use crate::domain::{Severity, ValidationError, validation};
use crate::store;
use crate::store::metrics::Scope;

pub use crate::domain::metrics::MetricsGrouping;

/// How many services, alerts, action items and incidents the lists of a report show at most.
pub const TOP: usize = 5;

/// What to measure. The default is the last 90 days ending now, every service and severity,
/// without `test` incidents.
#[derive(Debug, Clone, Default)]
pub struct MetricsRequest {
    /// Start of the period (declared at or after); default: 90 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End of the period (declared before); default: now.
    pub to: Option<DateTime<Utc>>,
    /// Only incidents affecting this service (a slug).
    pub service: Option<String>,
    /// Only these severities; all when empty.
    pub severities: Vec<Severity>,
    /// A breakdown of the period's counted incidents.
    pub group_by: Option<MetricsGrouping>,
    /// Count incidents labelled `test` like any other.
    pub include_test: bool,
}

/// What a period's incidents add up to, the trend, and the follow-up owed.
#[derive(Debug, Clone)]
pub struct MetricsReport {
    /// The figures of the period asked for.
    pub current: Figures,
    /// The same figures for the period of equal length just before it.
    pub previous: Figures,
    /// The service filter, as applied.
    pub service: Option<String>,
    /// The severity filter, as applied (empty: all).
    pub severities: Vec<Severity>,
    /// Whether `test` incidents were counted.
    pub include_test: bool,
    /// The services with the most counted incidents in the period (at most [`TOP`]).
    pub top_services: Vec<ServiceCount>,
    /// The alert names with the most deliveries among the alerts seen in the period.
    pub noisy_alerts: Vec<AlertNoise>,
    /// Open action items (of incidents in scope, declared at any time) due before today,
    /// longest overdue first.
    pub overdue_action_items: Sample<OverdueItem>,
    /// Major incidents of the period, resolved or closed, whose postmortem is missing or not
    /// published (their numbers, oldest first).
    pub owed_postmortems: Sample<i64>,
    /// The breakdown asked for.
    pub breakdown: Option<Breakdown>,
    /// The date (UTC) overdue is measured against.
    pub today: NaiveDate,
}

impl App {
    /// Measures the incidents declared in the requested period and the one before it.
    #[tracing::instrument(skip_all, fields(group_by = ?request.group_by))]
    pub async fn incident_metrics(&self, request: MetricsRequest) -> Result<MetricsReport> {
        let now = Utc::now();
        let period = Period::parse(request.from, request.to, now)?;
        let previous = period.previous();
        let service = checked_service(request.service)?;
        let mut severities = request.severities;
        severities.sort_by_key(|s| s.level());
        severities.dedup();
        let buckets = match request.group_by {
            Some(grouping) => buckets(&period, grouping)?,
            None => Vec::new(),
        };
        let scope = Scope {
            service: service.as_deref(),
            severities: &severities,
            include_test: request.include_test,
        };
        let today = now.date_naive();
        let top = TOP as i64;

        let mut tx = self.begin_reading().await?;
        store::metrics::snapshot(&mut tx).await?;
        // Consecutive periods for one scan: the previous period (tallies of bucket 0), then
        // the current one whole or in its weeks or months (buckets 1…).
        let mut periods = vec![previous];
        match buckets.is_empty() {
            true => periods.push(period),
            false => periods.extend(buckets.iter().map(|b| b.period)),
        }
        let tallies = store::metrics::tallies(&mut tx, &periods, &scope).await?;
        let service_tallies = match request.group_by {
            Some(MetricsGrouping::Service) => {
                Some(store::metrics::service_tallies(&mut tx, &period, &scope).await?)
            }
            _ => None,
        };
        let service_sets = store::metrics::service_sets(&mut tx, &period, &scope).await?;
        let noisy_alerts =
            store::metrics::noisy_alerts(&mut tx, &period, scope.service, top).await?;
        let overdue_action_items =
            store::metrics::overdue_action_items(&mut tx, today, &scope, top).await?;
        let owed_postmortems =
            store::metrics::owed_postmortems(&mut tx, &period, &scope, top).await?;
        commit(tx).await?;

        let (before, during): (Vec<Tally>, Vec<Tally>) =
            tallies.into_iter().partition(|t| t.bucket == 0);
        let breakdown = request.group_by.map(|grouping| Breakdown {
            grouping,
            groups: match grouping {
                MetricsGrouping::Week | MetricsGrouping::Month => buckets
                    .iter()
                    .enumerate()
                    .map(|(i, bucket)| {
                        let of_bucket = during.iter().filter(|t| t.bucket == i + 1);
                        GroupFigures::from_tallies(Some(bucket.label.clone()), of_bucket)
                    })
                    .filter(|group| group.incidents > 0)
                    .collect(),
                MetricsGrouping::Severity => GroupFigures::by_severity(&during),
                MetricsGrouping::Service => by_service(&service_tallies.unwrap_or_default()),
            },
        });
        Ok(MetricsReport {
            current: Figures::from_tallies(period, &during),
            previous: Figures::from_tallies(previous, &before),
            service,
            severities,
            include_test: request.include_test,
            top_services: top_services(&service_sets, TOP),
            noisy_alerts,
            overdue_action_items,
            owed_postmortems,
            breakdown,
            today,
        })
    }
}

fn checked_service(service: Option<String>) -> Result<Option<String>> {
    match service {
        Some(service) if !validation::is_slug(&service) => Err(ValidationError::new(
            "service",
            format!("`{service}` is not a service slug: lowercase letters, digits and `-`"),
        )
        .into()),
        other => Ok(other),
    }
}

/// One row per service with counted incidents, most first (then by name; no service last).
fn by_service(tallies: &[(Option<String>, Tally)]) -> Vec<GroupFigures> {
    let mut keys: Vec<Option<String>> = tallies.iter().map(|(key, _)| key.clone()).collect();
    keys.sort();
    keys.dedup();
    let mut groups: Vec<GroupFigures> = keys
        .into_iter()
        .map(|key| {
            let of_key = tallies.iter().filter(|(k, _)| *k == key).map(|(_, t)| t);
            GroupFigures::from_tallies(key.clone(), of_key)
        })
        .filter(|group| group.incidents > 0)
        .collect();
    groups.sort_by(|a, b| {
        b.incidents
            .cmp(&a.incidents)
            .then_with(|| a.key.is_none().cmp(&b.key.is_none()))
            .then_with(|| a.key.cmp(&b.key))
    });
    groups
}
