//! Unit tests for `domain::metrics`.

use super::*;
use crate::domain::durations::durations;
use crate::domain::incident::Severity;
use crate::domain::incident::fixtures::{at, incident, now};
use crate::domain::status::Status;

/// The textbook definition, on a sorted copy: what `percentile_cont` must agree with.
fn by_sorting(values: &[i32], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let position = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
    let (low, high) = (f64::from(sorted[lo]), f64::from(sorted[hi]));
    low + (high - low) * (position - lo as f64)
}

#[test]
fn percentiles_interpolate_between_the_closest_ranks() {
    assert_eq!(percentile_cont(&mut [], 0.5), None);
    assert_eq!(percentile_cont(&mut [7], 0.9), Some(7.0));
    assert_eq!(percentile_cont(&mut [10, 1, 4, 3], 0.5), Some(3.5));
    // 0.9 × 9 = 8.1: a tenth of the way from the 9th value (9) to the 10th (100).
    let mut ten = [100, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    let p90 = percentile_cont(&mut ten, 0.9).unwrap();
    assert!((p90 - 18.1).abs() < 1e-9, "{p90}");
    let mut state = 12345u64;
    for n in 1..300 {
        let values: Vec<i32> = (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 40) as i32 % 5000
            })
            .collect();
        for p in [0.0, 0.5, 0.9, 1.0] {
            let mut copy = values.clone();
            assert_eq!(
                percentile_cont(&mut copy, p),
                Some(by_sorting(&values, p)),
                "n={n} p={p}"
            );
        }
    }
}

#[test]
fn seconds_round_to_the_nearest_whole_second() {
    assert_eq!(whole_seconds(2.5), 3);
    assert_eq!(whole_seconds(2.49), 2);
    assert_eq!(whole_seconds(0.0), 0);
}

/// The metrics' anchors are the incident durations' anchors, fallbacks included.
#[test]
fn measures_name_the_same_anchors_as_an_incidents_durations() {
    let resolved = incident(Status::Resolved);
    let spans = durations(&resolved, now());
    for (measure, span) in Measure::ALL.iter().zip(&spans) {
        assert_eq!(measure.name(), span.name);
        assert_eq!(measure.from_anchor(), span.from_anchor);
        assert_eq!(measure.to_anchor(), span.to_anchor);
    }
    let mut no_impact = resolved;
    no_impact.impact_started_at = None;
    let spans = durations(&no_impact, now());
    assert_eq!(spans[1].from_anchor, Measure::Mitigate.fallbacks()[0]);
    no_impact.detected_at = None;
    let spans = durations(&no_impact, now());
    assert_eq!(spans[0].from_anchor, Measure::Acknowledge.fallbacks()[0]);
    assert_eq!(spans[2].from_anchor, Measure::Resolve.fallbacks()[1]);
}

#[test]
fn a_period_defaults_to_ninety_days_ending_now() {
    let period = Period::parse(None, None, now()).unwrap();
    assert_eq!(period.to, now());
    assert_eq!((period.to - period.from).num_days(), 90);
    let to = at("2024-03-01T00:00:00Z");
    let period = Period::parse(None, Some(to), now()).unwrap();
    assert_eq!(period.from, at("2023-12-02T00:00:00Z"));
    let previous = period.previous();
    assert_eq!(previous.to, period.from);
    assert_eq!(previous.to - previous.from, period.to - period.from);
}

#[test]
fn a_period_must_run_forwards_and_stay_in_range() {
    let err = Period::parse(Some(now()), Some(now()), now()).unwrap_err();
    assert_eq!(err.field, "from");
    assert!(err.reason.contains("before `to`"), "{err}");
    let err = Period::parse(Some(at("1969-01-01T00:00:00Z")), None, now()).unwrap_err();
    assert_eq!(err.field, "from");
}

#[test]
fn weeks_start_on_monday_utc_and_are_cut_to_the_period() {
    // 2024-05-01 is a Wednesday.
    let period = Period {
        from: at("2024-05-01T12:00:00Z"),
        to: at("2024-05-15T00:00:00Z"),
    };
    let weeks = buckets(&period, MetricsGrouping::Week).unwrap();
    let labels: Vec<&str> = weeks.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, ["2024-W18", "2024-W19", "2024-W20"]);
    assert_eq!(weeks[0].period.from, period.from);
    assert_eq!(weeks[0].period.to, at("2024-05-06T00:00:00Z"));
    assert_eq!(weeks[2].period.from, at("2024-05-13T00:00:00Z"));
    assert_eq!(weeks[2].period.to, period.to);
    // ISO weeks belong to the year of their Thursday.
    let new_year = Period {
        from: at("2024-12-30T00:00:00Z"),
        to: at("2024-12-31T00:00:00Z"),
    };
    assert_eq!(
        buckets(&new_year, MetricsGrouping::Week).unwrap()[0].label,
        "2025-W01"
    );
}

#[test]
fn months_are_calendar_months_in_utc() {
    let period = Period {
        from: at("2024-01-31T23:00:00Z"),
        to: at("2024-03-01T00:00:00Z"),
    };
    let months = buckets(&period, MetricsGrouping::Month).unwrap();
    let labels: Vec<&str> = months.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, ["2024-01", "2024-02"]);
    assert_eq!(months[1].period.from, at("2024-02-01T00:00:00Z"));
    assert_eq!(months[1].period.to, period.to);
    assert!(
        buckets(&period, MetricsGrouping::Severity)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn too_many_weeks_are_refused_naming_group_by() {
    let period = Period {
        from: at("2004-01-01T00:00:00Z"),
        to: at("2024-01-01T00:00:00Z"),
    };
    let err = buckets(&period, MetricsGrouping::Week).unwrap_err();
    assert_eq!(err.field, "group_by");
    assert!(err.reason.contains("`month`"), "{err}");
    assert_eq!(buckets(&period, MetricsGrouping::Month).unwrap().len(), 240);
    let five_years = Period {
        from: at("2019-01-01T00:00:00Z"),
        to: at("2024-01-01T00:00:00Z"),
    };
    assert_eq!(
        buckets(&five_years, MetricsGrouping::Week).unwrap().len(),
        261
    );
}

fn tally(
    class: IncidentClass,
    has_detected_at: bool,
    has_impact_start: bool,
    seconds: &[i32],
) -> Tally {
    Tally {
        bucket: 0,
        severity: Severity::Sev2,
        class,
        has_detected_at,
        has_impact_start,
        incidents: seconds.len() as i64,
        acknowledge: seconds.to_vec(),
        mitigate: seconds.to_vec(),
        resolve: seconds.to_vec(),
    }
}

#[test]
fn figures_count_exclusions_apart_and_say_which_spans_fell_back() {
    let tallies = [
        tally(IncidentClass::Counted, true, true, &[10, 20]),
        tally(IncidentClass::Counted, true, false, &[30]),
        tally(IncidentClass::Counted, false, false, &[40, 50]),
        tally(IncidentClass::Open, true, true, &[1000]),
        tally(IncidentClass::Test, true, true, &[1000, 1000]),
    ];
    let period = Period::parse(None, None, now()).unwrap();
    let figures = Figures::from_tallies(period, &tallies);
    assert_eq!(figures.incidents, 5);
    assert_eq!(figures.by_severity[1], (Severity::Sev2, 5));
    assert_eq!(
        figures.excluded,
        Exclusions {
            test: 2,
            declined: 0,
            merged: 0,
            open: 1
        }
    );
    let [acknowledge, mitigate, resolve] = &figures.durations[..] else {
        panic!("three measures");
    };
    assert_eq!(acknowledge.n, 5);
    assert_eq!(acknowledge.median, Some(30.0));
    assert_eq!(acknowledge.mean, Some(30.0));
    assert_eq!(acknowledge.fallbacks, [("declared_at", 2)]);
    assert_eq!(mitigate.fallbacks, [("detected_at", 1), ("declared_at", 2)]);
    assert_eq!(resolve.p90, Some(46.0));
}

#[test]
fn top_services_count_each_service_of_an_incident_once() {
    let sets = vec![
        (vec!["api".to_owned(), "db".to_owned()], 3),
        (vec!["db".to_owned(), "db".to_owned()], 2),
        (vec!["web".to_owned()], 3),
    ];
    let top = top_services(&sets, 2);
    let names: Vec<(&str, i64)> = top
        .iter()
        .map(|s| (s.service.as_str(), s.incidents))
        .collect();
    assert_eq!(names, [("db", 5), ("api", 3)]);
}
