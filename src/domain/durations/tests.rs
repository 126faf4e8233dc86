//! Unit tests for `domain::durations`.

use super::*;
use crate::domain::incident::fixtures::{incident, now};
use crate::domain::status::Status;

/// (name, from anchor, to anchor, seconds, ongoing) for compact comparison.
fn spans(incident: &Incident) -> Vec<(&'static str, &'static str, &'static str, i64, bool)> {
    durations(incident, now())
        .into_iter()
        .map(|s| (s.name, s.from_anchor, s.to_anchor, s.seconds, s.is_ongoing))
        .collect()
}

// Fixture times: impact 09:50, detected 09:55, declared 10:00, acknowledged 10:05,
// mitigated 10:40, resolved 11:00; now is 13:00.
const MIN: i64 = 60;

#[test]
fn a_resolved_incident_measures_every_span_between_its_anchors() {
    assert_eq!(
        spans(&incident(Status::Resolved)),
        [
            (
                "time_to_acknowledge",
                "detected_at",
                "acknowledged_at",
                10 * MIN,
                false
            ),
            (
                "time_to_mitigate",
                "impact_started_at",
                "mitigated_at",
                50 * MIN,
                false
            ),
            (
                "time_to_resolve",
                "impact_started_at",
                "resolved_at",
                70 * MIN,
                false
            ),
        ]
    );
}

#[test]
fn spans_still_running_are_measured_to_now() {
    assert_eq!(
        spans(&incident(Status::Investigating)),
        [
            (
                "time_to_acknowledge",
                "detected_at",
                "acknowledged_at",
                10 * MIN,
                false
            ),
            (
                "time_to_mitigate",
                "impact_started_at",
                "mitigated_at",
                190 * MIN,
                true
            ),
            (
                "time_to_resolve",
                "impact_started_at",
                "resolved_at",
                190 * MIN,
                true
            ),
        ]
    );
    let triage = spans(&incident(Status::Triage));
    assert_eq!(
        triage[0],
        (
            "time_to_acknowledge",
            "detected_at",
            "acknowledged_at",
            185 * MIN,
            true
        )
    );
}

#[test]
fn a_reopened_incident_measures_resolution_to_now_again() {
    let mut reopened = incident(Status::Investigating);
    reopened.mitigated_at = incident(Status::Resolved).mitigated_at;
    let resolve = spans(&reopened)[2];
    assert_eq!(
        resolve,
        (
            "time_to_resolve",
            "impact_started_at",
            "resolved_at",
            190 * MIN,
            true
        )
    );
}

#[test]
fn start_anchors_fall_back_and_say_which_one_was_used() {
    let mut no_impact = incident(Status::Resolved);
    no_impact.impact_started_at = None;
    assert_eq!(
        spans(&no_impact),
        [
            (
                "time_to_acknowledge",
                "detected_at",
                "acknowledged_at",
                10 * MIN,
                false
            ),
            (
                "time_to_mitigate",
                "detected_at",
                "mitigated_at",
                45 * MIN,
                false
            ),
            (
                "time_to_resolve",
                "detected_at",
                "resolved_at",
                65 * MIN,
                false
            ),
        ]
    );

    let mut only_declared = no_impact;
    only_declared.detected_at = None;
    assert_eq!(
        spans(&only_declared),
        [
            (
                "time_to_acknowledge",
                "declared_at",
                "acknowledged_at",
                5 * MIN,
                false
            ),
            (
                "time_to_mitigate",
                "declared_at",
                "mitigated_at",
                40 * MIN,
                false
            ),
            (
                "time_to_resolve",
                "declared_at",
                "resolved_at",
                60 * MIN,
                false
            ),
        ]
    );
}

#[test]
fn a_terminal_incident_leaves_out_spans_that_never_ended() {
    // Declined straight from triage: never acknowledged, mitigated or resolved.
    assert_eq!(spans(&incident(Status::Declined)), []);
    // Merged after acknowledging: only time to acknowledge happened.
    let mut merged = incident(Status::Merged);
    merged.acknowledged_at = incident(Status::Investigating).acknowledged_at;
    assert_eq!(
        spans(&merged),
        [(
            "time_to_acknowledge",
            "detected_at",
            "acknowledged_at",
            10 * MIN,
            false
        )]
    );
}

#[test]
fn a_closed_incident_keeps_all_its_spans() {
    assert_eq!(
        spans(&incident(Status::Closed)),
        spans(&incident(Status::Resolved))
    );
}

#[test]
fn spans_are_never_negative() {
    let mut odd = incident(Status::Investigating);
    odd.acknowledged_at = odd.detected_at.map(|d| d - chrono::Duration::minutes(3));
    assert_eq!(spans(&odd)[0].3, 0);
}

#[test]
fn human_durations_switch_units_at_the_boundaries() {
    let cases = [
        (0, "0s"),
        (59, "59s"),
        (60, "1m 0s"),
        (61, "1m 1s"),
        (3_599, "59m 59s"),
        (3_600, "1h 0m"),
        (3_661, "1h 1m"),
        (86_399, "23h 59m"),
        (86_400, "1d 0h"),
        (90_061, "1d 1h"),
        (10 * 86_400 + 5 * 3_600, "10d 5h"),
    ];
    for (seconds, text) in cases {
        assert_eq!(human(seconds), text, "{seconds}s");
    }
}
