//! Incident metrics as agents see them: the period beside the one before it, each duration
//! naming its anchors, seconds rounded to whole ones, and only the parts that have something
//! in them. Also read back by `firebreak report`, which renders it as markdown.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::app::metrics::MetricsReport;
use crate::domain::metrics::{
    DurationStats, Figures, GroupFigures, PERCENTILE_METHOD, whole_seconds,
};

/// What the group of incidents without a service is called in a breakdown by service.
pub const NO_SERVICE: &str = "(no service)";

/// The answer of `incident_metrics`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MetricsView {
    /// How medians and p90s are taken.
    pub method: String,
    /// Only incidents of this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Only these severities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severities: Vec<String>,
    /// Whether `test` incidents were counted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_test: bool,
    /// The period asked for.
    pub current: FiguresView,
    /// The period of equal length just before it.
    pub previous: FiguresView,
    /// Services with the most counted incidents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_services: Vec<ServiceCountView>,
    /// Alert names with the most deliveries among the alerts seen in the period.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noisy_alerts: Vec<AlertNoiseView>,
    /// Open action items past their due date, longest overdue first.
    #[serde(default, skip_serializing_if = "OverdueView::is_empty")]
    pub overdue_action_items: OverdueView,
    /// SEV1–SEV2 incidents of the period, resolved or closed, without a published postmortem.
    #[serde(default, skip_serializing_if = "OwedView::is_empty")]
    pub postmortems_owed: OwedView,
    /// The breakdown asked for.
    #[serde(default, skip_serializing_if = "BreakdownView::is_empty")]
    pub breakdown: BreakdownView,
}

/// What one period's incidents add up to.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FiguresView {
    /// Declared at or after.
    pub from: DateTime<Utc>,
    /// Declared before.
    pub to: DateTime<Utc>,
    /// Counted incidents (resolved or closed).
    pub incidents: i64,
    /// Counted incidents by severity.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_severity: BTreeMap<String, i64>,
    /// Detection to acknowledgement.
    pub time_to_acknowledge: MeasureView,
    /// Impact start to mitigation.
    pub time_to_mitigate: MeasureView,
    /// Impact start to resolution.
    pub time_to_resolve: MeasureView,
    /// Left out, by reason: `test`, `declined`, `merged`, `open` (each incident once).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub excluded: BTreeMap<String, i64>,
}

/// One duration over a set of incidents, in whole seconds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MeasureView {
    /// Start anchor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// End anchor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Incidents with both ends.
    pub n: i64,
    /// Median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<i64>,
    /// 90th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<i64>,
    /// Mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<i64>,
    /// How many started from this anchor instead, the preferred one being unknown.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fallback: BTreeMap<String, i64>,
}

impl MeasureView {
    fn new(stats: &DurationStats, with_anchors: bool) -> Self {
        MeasureView {
            from: with_anchors.then(|| stats.measure.from_anchor().to_owned()),
            to: with_anchors.then(|| stats.measure.to_anchor().to_owned()),
            n: stats.n as i64,
            median: stats.median.map(whole_seconds),
            p90: stats.p90.map(whole_seconds),
            mean: stats.mean.map(whole_seconds),
            fallback: match with_anchors {
                true => stats
                    .fallbacks
                    .iter()
                    .filter(|(_, count)| *count > 0)
                    .map(|(anchor, count)| ((*anchor).to_owned(), *count as i64))
                    .collect(),
                false => BTreeMap::new(),
            },
        }
    }
}

/// The three durations, in order.
fn measures(durations: &[DurationStats], with_anchors: bool) -> [MeasureView; 3] {
    let view = |i: usize| {
        durations.get(i).map_or(
            MeasureView {
                from: None,
                to: None,
                n: 0,
                median: None,
                p90: None,
                mean: None,
                fallback: BTreeMap::new(),
            },
            |stats| MeasureView::new(stats, with_anchors),
        )
    };
    [view(0), view(1), view(2)]
}

impl From<&Figures> for FiguresView {
    fn from(f: &Figures) -> Self {
        let [time_to_acknowledge, time_to_mitigate, time_to_resolve] = measures(&f.durations, true);
        let excluded = [
            ("test", f.excluded.test),
            ("declined", f.excluded.declined),
            ("merged", f.excluded.merged),
            ("open", f.excluded.open),
        ];
        FiguresView {
            from: f.period.from,
            to: f.period.to,
            incidents: f.incidents,
            by_severity: f
                .by_severity
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(severity, n)| (severity.to_string(), *n))
                .collect(),
            time_to_acknowledge,
            time_to_mitigate,
            time_to_resolve,
            excluded: excluded
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(reason, n)| (reason.to_owned(), n))
                .collect(),
        }
    }
}

/// A service and its counted incidents.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ServiceCountView {
    /// The service.
    pub service: String,
    /// Counted incidents that affected it.
    pub incidents: i64,
}

/// Alerts of one name from one source.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AlertNoiseView {
    /// The source.
    pub source: String,
    /// The `alertname` label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertname: Option<String>,
    /// Alerts seen in the period.
    pub alerts: i64,
    /// Deliveries counted on them.
    pub deliveries: i64,
    /// Incidents they were attached to.
    pub incidents: i64,
}

/// Overdue action items: how many, and the oldest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct OverdueView {
    /// How many in all.
    pub count: i64,
    /// The longest overdue (at most five).
    pub oldest: Vec<OverdueItemView>,
}

/// One overdue action item.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OverdueItemView {
    /// `AI-<n>`.
    pub item: String,
    /// What to do.
    pub title: String,
    /// Who owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When it was due.
    pub due_on: NaiveDate,
    /// The incident (`INC-<n>`).
    pub incident: String,
}

/// Postmortems owed: how many, and the oldest incidents.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct OwedView {
    /// How many in all.
    pub count: i64,
    /// The oldest (at most five), `INC-<n>`.
    pub incidents: Vec<String>,
}

/// A breakdown of the period's counted incidents.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct BreakdownView {
    /// `week` (ISO, from Monday, UTC), `month` (UTC), `service` or `severity`.
    pub by: String,
    /// One row per group with counted incidents.
    pub groups: Vec<GroupView>,
}

impl OverdueView {
    /// True when nothing is overdue.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl OwedView {
    /// True when no postmortem is owed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl BreakdownView {
    /// True when no breakdown was asked for.
    pub fn is_empty(&self) -> bool {
        self.by.is_empty()
    }
}

/// One row of a breakdown.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GroupView {
    /// `2026-W05`, `2026-01`, the service, or `SEV2`.
    pub group: String,
    /// Counted incidents.
    pub incidents: i64,
    /// Time to acknowledge (anchors as in the period's figures).
    pub time_to_acknowledge: MeasureView,
    /// Time to mitigate.
    pub time_to_mitigate: MeasureView,
    /// Time to resolve.
    pub time_to_resolve: MeasureView,
}

impl From<&GroupFigures> for GroupView {
    fn from(g: &GroupFigures) -> Self {
        let [time_to_acknowledge, time_to_mitigate, time_to_resolve] =
            measures(&g.durations, false);
        GroupView {
            group: g.key.clone().unwrap_or_else(|| NO_SERVICE.to_owned()),
            incidents: g.incidents,
            time_to_acknowledge,
            time_to_mitigate,
            time_to_resolve,
        }
    }
}

impl From<&MetricsReport> for MetricsView {
    fn from(r: &MetricsReport) -> Self {
        let overdue = &r.overdue_action_items;
        let owed = &r.owed_postmortems;
        MetricsView {
            method: PERCENTILE_METHOD.to_owned(),
            service: r.service.clone(),
            severities: r.severities.iter().map(ToString::to_string).collect(),
            include_test: r.include_test,
            current: FiguresView::from(&r.current),
            previous: FiguresView::from(&r.previous),
            top_services: r
                .top_services
                .iter()
                .map(|s| ServiceCountView {
                    service: s.service.clone(),
                    incidents: s.incidents,
                })
                .collect(),
            noisy_alerts: r
                .noisy_alerts
                .iter()
                .map(|a| AlertNoiseView {
                    source: a.source.clone(),
                    alertname: a.alertname.clone(),
                    alerts: a.alerts,
                    deliveries: a.deliveries,
                    incidents: a.incidents,
                })
                .collect(),
            overdue_action_items: OverdueView {
                count: overdue.count,
                oldest: overdue
                    .first
                    .iter()
                    .map(|item| OverdueItemView {
                        item: format!("AI-{}", item.number),
                        title: item.title.clone(),
                        owner: item.owner.clone(),
                        due_on: item.due_on,
                        incident: format!("INC-{}", item.incident_number),
                    })
                    .collect(),
            },
            postmortems_owed: OwedView {
                count: owed.count,
                incidents: owed.first.iter().map(|n| format!("INC-{n}")).collect(),
            },
            breakdown: r
                .breakdown
                .as_ref()
                .map(|b| BreakdownView {
                    by: b.grouping.to_string(),
                    groups: b.groups.iter().map(GroupView::from).collect(),
                })
                .unwrap_or_default(),
        }
    }
}

impl MetricsView {
    /// The report as markdown, for people (`firebreak report`).
    pub fn markdown(&self) -> String {
        crate::mcp::markdown::metrics_report(self)
    }
}
