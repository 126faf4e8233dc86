//! Adding up what the store counted: tallies of incidents (per bucket, severity, class and
//! known anchors, with each counted incident's durations) become a period's figures or a
//! breakdown's rows.

use std::collections::BTreeMap;

use crate::domain::incident::Severity;
use crate::domain::metrics::{Measure, MetricsGrouping, Period, ServiceCount, percentile_cont};
use crate::domain::status::Status;

/// Whether an incident counts in metrics, or why it is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentClass {
    /// Resolved or closed: counted.
    Counted,
    /// Labelled `test` (and test incidents were not asked for).
    Test,
    /// Declined: not an incident.
    Declined,
    /// Merged into another incident.
    Merged,
    /// Still open (triage or a live state; a reopened incident is open until resolved again).
    Open,
}

impl IncidentClass {
    /// The class of an incident in `status`: each left-out incident under the first reason
    /// that applies, a `test` label first.
    pub fn of(status: Status, is_test: bool, include_test: bool) -> IncidentClass {
        match status {
            _ if is_test && !include_test => IncidentClass::Test,
            Status::Resolved | Status::Closed => IncidentClass::Counted,
            Status::Declined => IncidentClass::Declined,
            Status::Merged => IncidentClass::Merged,
            Status::Triage | Status::Investigating | Status::Identified | Status::Monitoring => {
                IncidentClass::Open
            }
        }
    }
}

/// Incidents of one kind in one bucket, as the store counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Which of the store's periods (by position) they were declared in.
    pub bucket: usize,
    /// Their severity.
    pub severity: Severity,
    /// Counted, or why not.
    pub class: IncidentClass,
    /// Whether `detected_at` is known (else durations start from `declared_at`).
    pub has_detected_at: bool,
    /// Whether `impact_started_at` is known (else they start from a fallback).
    pub has_impact_start: bool,
    /// How many.
    pub incidents: i64,
    /// Time to acknowledge, in seconds, of each counted one that was acknowledged.
    pub acknowledge: Vec<i32>,
    /// Time to mitigate of each counted one that was mitigated.
    pub mitigate: Vec<i32>,
    /// Time to resolve of each counted one.
    pub resolve: Vec<i32>,
}

/// Median, 90th percentile and mean of one duration, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationStats {
    /// Which duration, with its anchors.
    pub measure: Measure,
    /// How many incidents had both ends.
    pub n: usize,
    /// The median (`None` when `n` is 0).
    pub median: Option<f64>,
    /// The 90th percentile.
    pub p90: Option<f64>,
    /// The mean.
    pub mean: Option<f64>,
    /// How many started from each fallback anchor instead of the preferred one, in
    /// [`Measure::fallbacks`] order (zeros included).
    pub fallbacks: Vec<(&'static str, usize)>,
}

impl DurationStats {
    fn of(measure: Measure, mut seconds: Vec<i32>, fallbacks: [usize; 2]) -> DurationStats {
        let n = seconds.len();
        let total: i64 = seconds.iter().map(|&s| i64::from(s)).sum();
        DurationStats {
            measure,
            n,
            median: percentile_cont(&mut seconds, 0.5),
            p90: percentile_cont(&mut seconds, 0.9),
            mean: (n > 0).then(|| total as f64 / n as f64),
            fallbacks: measure.fallbacks().iter().copied().zip(fallbacks).collect(),
        }
    }
}

/// Incidents left out of the figures, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exclusions {
    /// Labelled `test`.
    pub test: i64,
    /// Declined.
    pub declined: i64,
    /// Merged into another incident.
    pub merged: i64,
    /// Still open.
    pub open: i64,
}

impl Exclusions {
    /// All of them.
    pub fn total(&self) -> i64 {
        self.test + self.declined + self.merged + self.open
    }
}

/// What one period's incidents add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The period.
    pub period: Period,
    /// Counted incidents.
    pub incidents: i64,
    /// Counted incidents by severity, every severity in order.
    pub by_severity: Vec<(Severity, i64)>,
    /// Time to acknowledge, mitigate and resolve, in [`Measure::ALL`] order.
    pub durations: Vec<DurationStats>,
    /// What was left out, and why.
    pub excluded: Exclusions,
}

impl Figures {
    /// Adds up the tallies of `period` (the caller picks the ones declared in it).
    pub fn from_tallies<'a>(period: Period, tallies: impl IntoIterator<Item = &'a Tally>) -> Self {
        let mut sum = Sum::default();
        for tally in tallies {
            sum.add(tally);
        }
        sum.figures(period)
    }
}

/// One row of a breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFigures {
    /// The week (`2026-W05`), month (`2026-01`), service or severity (`SEV2`); `None` for
    /// the incidents with no service.
    pub key: Option<String>,
    /// Counted incidents.
    pub incidents: i64,
    /// Time to acknowledge, mitigate and resolve, in [`Measure::ALL`] order.
    pub durations: Vec<DurationStats>,
}

impl GroupFigures {
    /// Adds up the (counted) tallies of one group.
    pub fn from_tallies<'a>(
        key: Option<String>,
        tallies: impl IntoIterator<Item = &'a Tally>,
    ) -> Self {
        let mut sum = Sum::default();
        for tally in tallies {
            sum.add(tally);
        }
        GroupFigures {
            key,
            incidents: sum.incidents,
            durations: sum.durations(),
        }
    }

    /// The rows of a breakdown by severity: one per severity with counted incidents.
    pub fn by_severity(tallies: &[Tally]) -> Vec<Self> {
        Severity::ALL
            .into_iter()
            .map(|severity| {
                let of_severity = tallies.iter().filter(|t| t.severity == severity);
                GroupFigures::from_tallies(Some(severity.to_string()), of_severity)
            })
            .filter(|group| group.incidents > 0)
            .collect()
    }
}

/// A breakdown of the period's counted incidents.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    /// How they are grouped.
    pub grouping: MetricsGrouping,
    /// One row per group with counted incidents: in time order for weeks and months, most
    /// incidents first for services, by severity for severities.
    pub groups: Vec<GroupFigures>,
}

/// Running totals of tallies.
#[derive(Default)]
struct Sum {
    incidents: i64,
    by_severity: BTreeMap<i16, i64>,
    excluded: Exclusions,
    seconds: [Vec<i32>; 3],
    /// Per measure: how many started from its first and its second fallback anchor.
    fallbacks: [[usize; 2]; 3],
}

impl Sum {
    fn add(&mut self, tally: &Tally) {
        let counter = match tally.class {
            IncidentClass::Counted => {
                self.count(tally);
                return;
            }
            IncidentClass::Test => &mut self.excluded.test,
            IncidentClass::Declined => &mut self.excluded.declined,
            IncidentClass::Merged => &mut self.excluded.merged,
            IncidentClass::Open => &mut self.excluded.open,
        };
        *counter += tally.incidents;
    }

    fn count(&mut self, tally: &Tally) {
        self.incidents += tally.incidents;
        *self.by_severity.entry(tally.severity.level()).or_default() += tally.incidents;
        let values = [&tally.acknowledge, &tally.mitigate, &tally.resolve];
        for (i, (measure, values)) in Measure::ALL.into_iter().zip(values).enumerate() {
            self.seconds[i].extend_from_slice(values);
            // Which anchor these spans started from: the preferred one, or a fallback.
            let fallback = match measure {
                Measure::Acknowledge => (!tally.has_detected_at).then_some(0),
                Measure::Mitigate | Measure::Resolve => {
                    match (tally.has_impact_start, tally.has_detected_at) {
                        (true, _) => None,
                        (false, true) => Some(0),
                        (false, false) => Some(1),
                    }
                }
            };
            if let Some(fallback) = fallback {
                self.fallbacks[i][fallback] += values.len();
            }
        }
    }

    fn figures(self, period: Period) -> Figures {
        let by_severity = Severity::ALL
            .into_iter()
            .map(|s| (s, self.by_severity.get(&s.level()).copied().unwrap_or(0)))
            .collect();
        Figures {
            period,
            incidents: self.incidents,
            by_severity,
            excluded: self.excluded,
            durations: self.durations(),
        }
    }

    fn durations(self) -> Vec<DurationStats> {
        Measure::ALL
            .into_iter()
            .zip(self.seconds)
            .zip(self.fallbacks)
            .map(|((measure, seconds), fallbacks)| DurationStats::of(measure, seconds, fallbacks))
            .collect()
    }
}

/// The `limit` services with the most counted incidents (ties by name), from counts per set
/// of services (an incident counts once for each service it affected).
pub fn top_services(sets: &[(Vec<String>, i64)], limit: usize) -> Vec<ServiceCount> {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for (services, incidents) in sets {
        let mut seen: Vec<&str> = Vec::with_capacity(services.len());
        for service in services {
            if !seen.contains(&service.as_str()) {
                seen.push(service);
                *counts.entry(service).or_default() += incidents;
            }
        }
    }
    let mut ranked: Vec<ServiceCount> = counts
        .into_iter()
        .map(|(service, incidents)| ServiceCount {
            service: service.to_owned(),
            incidents,
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.incidents
            .cmp(&a.incidents)
            .then_with(|| a.service.cmp(&b.service))
    });
    ranked.truncate(limit);
    ranked
}
