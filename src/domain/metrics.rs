//! Incident metrics over a period: which incidents count, what each duration runs between, and
//! how medians and 90th percentiles are taken.
//!
//! - The period is `[from, to)` by `declared_at`; its trend partner is the period of the same
//!   length just before it.
//! - Counted: incidents that ended (`resolved` or `closed`), reopened ones only once resolved
//!   again (a reopen clears `resolved_at`). Left out, each under the first reason that applies:
//!   labelled `test` (unless asked for), `declined`, `merged`, still open.
//! - Durations use the anchors of [`crate::domain::durations`]: time to acknowledge runs from
//!   `detected_at` (else `declared_at`) to `acknowledged_at`; time to mitigate and to resolve
//!   from `impact_started_at` (else `detected_at`, else `declared_at`) to `mitigated_at` and
//!   `resolved_at`. Each incident's span is whole seconds, never negative; an incident without
//!   the end stamp is not in that metric.
//! - Percentiles interpolate linearly between the closest ranks, as PostgreSQL's
//!   `percentile_cont` does: see [`percentile_cont`].

mod figures;
mod period;

pub use figures::{
    Breakdown, DurationStats, Exclusions, Figures, GroupFigures, IncidentClass, Tally, top_services,
};
pub use period::{Bucket, DEFAULT_DAYS, MAX_BUCKETS, Period, buckets};

use chrono::NaiveDate;

use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// How a metrics breakdown groups incidents.
    pub enum MetricsGrouping ("grouping") {
        /// ISO weeks, starting Monday 00:00 UTC.
        Week = "week" | "weekly" | "weeks",
        /// Calendar months in UTC.
        Month = "month" | "monthly" | "months",
        /// Each service the incident affected (an incident with two counts in both).
        Service = "service" | "services",
        /// Severity.
        Severity = "severity" | "sev" | "severities",
    }
}

/// One of the three measured durations, with the anchors it runs between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Detection (or declaration) to acknowledgement.
    Acknowledge,
    /// Impact start (or detection, or declaration) to mitigation.
    Mitigate,
    /// Impact start (or detection, or declaration) to resolution.
    Resolve,
}

impl Measure {
    /// Every measure, in lifecycle order.
    pub const ALL: [Measure; 3] = [Measure::Acknowledge, Measure::Mitigate, Measure::Resolve];

    /// `time_to_acknowledge`, `time_to_mitigate` or `time_to_resolve` (as in an incident's
    /// durations).
    pub fn name(self) -> &'static str {
        match self {
            Measure::Acknowledge => "time_to_acknowledge",
            Measure::Mitigate => "time_to_mitigate",
            Measure::Resolve => "time_to_resolve",
        }
    }

    /// The preferred start anchor.
    pub fn from_anchor(self) -> &'static str {
        match self {
            Measure::Acknowledge => "detected_at",
            Measure::Mitigate | Measure::Resolve => "impact_started_at",
        }
    }

    /// The end anchor.
    pub fn to_anchor(self) -> &'static str {
        match self {
            Measure::Acknowledge => "acknowledged_at",
            Measure::Mitigate => "mitigated_at",
            Measure::Resolve => "resolved_at",
        }
    }

    /// The start anchors used instead, in order, when the preferred one is unknown.
    pub fn fallbacks(self) -> &'static [&'static str] {
        match self {
            Measure::Acknowledge => &["declared_at"],
            Measure::Mitigate | Measure::Resolve => &["detected_at", "declared_at"],
        }
    }
}

/// How percentiles are taken, said in every answer.
pub const PERCENTILE_METHOD: &str = "linear interpolation between closest ranks, as PostgreSQL percentile_cont; whole seconds per incident, results rounded to the second";

/// The `p`-quantile (0 ≤ p ≤ 1) of `values` by linear interpolation between the closest ranks,
/// exactly as PostgreSQL's `percentile_cont` computes it: with the values sorted, the position
/// `p × (n − 1)` falls between ranks `lo` and `hi`, and the answer is
/// `v[lo] + (v[hi] − v[lo]) × (position − lo)`. `None` for no values. Reorders `values`.
pub fn percentile_cont(values: &mut [i32], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let position = p.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = position.floor() as usize;
    let hi = position.ceil() as usize;
    let (_, low, above) = values.select_nth_unstable(lo);
    let low = f64::from(*low);
    let high = match hi - lo {
        0 => low,
        // The next rank is the smallest value above the lower one.
        _ => above.iter().copied().min().map_or(low, f64::from),
    };
    Some(low + (high - low) * (position - lo as f64))
}

/// Seconds as answers show them: rounded to the nearest whole second (halves away from zero).
pub fn whole_seconds(seconds: f64) -> i64 {
    seconds.round() as i64
}

/// Incidents counted per service, most first (then by name), at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCount {
    /// The service.
    pub service: String,
    /// Counted incidents that affected it.
    pub incidents: i64,
}

/// Alerts of one name from one source in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertNoise {
    /// The source (`alertmanager`, `grafana` …).
    pub source: String,
    /// The `alertname` label, when the alerts have one.
    pub alertname: Option<String>,
    /// Alerts (firing identities) seen in the period.
    pub alerts: i64,
    /// Deliveries counted on them (`seen_count`).
    pub deliveries: i64,
    /// Distinct incidents they were attached to.
    pub incidents: i64,
}

/// An open or in-progress action item past its due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueItem {
    /// `AI-<n>`.
    pub number: i64,
    /// What to do.
    pub title: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// When it was due.
    pub due_on: NaiveDate,
    /// The incident it follows up (`INC-<n>`).
    pub incident_number: i64,
}

/// A count with the first few of what was counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sample<T> {
    /// How many there are in all.
    pub count: i64,
    /// The first few (see each use for the order).
    pub first: Vec<T>,
}

#[cfg(test)]
mod tests;
