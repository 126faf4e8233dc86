//! Response durations with named anchors (time to acknowledge, mitigate, resolve).

use chrono::{DateTime, Utc};

use crate::domain::incident::Incident;

/// One measured span, saying which timestamps it runs between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanMeasure {
    /// `time_to_acknowledge`, `time_to_mitigate` or `time_to_resolve`.
    pub name: &'static str,
    /// The start anchor actually used (falls back when the preferred one is unknown).
    pub from_anchor: &'static str,
    /// The end anchor.
    pub to_anchor: &'static str,
    /// Length in whole seconds (up to `now` when still ongoing).
    pub seconds: i64,
    /// True when the end has not happened yet and the span runs to `now`.
    pub is_ongoing: bool,
}

/// The durations so far. Spans that never ended on a terminal incident are left out.
pub fn durations(incident: &Incident, now: DateTime<Utc>) -> Vec<SpanMeasure> {
    let detected = first_known(&[
        ("detected_at", incident.detected_at),
        ("declared_at", Some(incident.declared_at)),
    ]);
    let impact = first_known(&[
        ("impact_started_at", incident.impact_started_at),
        ("detected_at", incident.detected_at),
        ("declared_at", Some(incident.declared_at)),
    ]);
    let spans = [
        ("time_to_acknowledge", detected, "acknowledged_at", incident.acknowledged_at),
        ("time_to_mitigate", impact, "mitigated_at", incident.mitigated_at),
        ("time_to_resolve", impact, "resolved_at", incident.resolved_at),
    ];
    let can_still_end = !incident.status.is_terminal();
    spans
        .into_iter()
        .filter_map(|(name, (from_anchor, from), to_anchor, to)| {
            let (end, is_ongoing) = match to {
                Some(end) => (end, false),
                None if can_still_end => (now, true),
                None => return None,
            };
            Some(SpanMeasure {
                name,
                from_anchor,
                to_anchor,
                seconds: (end - from).num_seconds().max(0),
                is_ongoing,
            })
        })
        .collect()
}

fn first_known(
    candidates: &[(&'static str, Option<DateTime<Utc>>)],
) -> (&'static str, DateTime<Utc>) {
    candidates
        .iter()
        .find_map(|(name, at)| at.map(|at| (*name, at)))
        .unwrap_or((candidates[candidates.len() - 1].0, DateTime::<Utc>::MIN_UTC))
}

/// Renders seconds for people: `45s`, `12m 5s`, `3h 20m`, `2d 4h`.
pub fn human(seconds: i64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::incident::fixtures::{incident, now};
    use crate::domain::lifecycle::Status;

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
                ("time_to_acknowledge", "detected_at", "acknowledged_at", 10 * MIN, false),
                ("time_to_mitigate", "impact_started_at", "mitigated_at", 50 * MIN, false),
                ("time_to_resolve", "impact_started_at", "resolved_at", 70 * MIN, false),
            ]
        );
    }

    #[test]
    fn spans_still_running_are_measured_to_now() {
        assert_eq!(
            spans(&incident(Status::Investigating)),
            [
                ("time_to_acknowledge", "detected_at", "acknowledged_at", 10 * MIN, false),
                ("time_to_mitigate", "impact_started_at", "mitigated_at", 190 * MIN, true),
                ("time_to_resolve", "impact_started_at", "resolved_at", 190 * MIN, true),
            ]
        );
        let triage = spans(&incident(Status::Triage));
        assert_eq!(triage[0], ("time_to_acknowledge", "detected_at", "acknowledged_at", 185 * MIN, true));
    }

    #[test]
    fn a_reopened_incident_measures_resolution_to_now_again() {
        let mut reopened = incident(Status::Investigating);
        reopened.mitigated_at = incident(Status::Resolved).mitigated_at;
        let resolve = spans(&reopened)[2];
        assert_eq!(resolve, ("time_to_resolve", "impact_started_at", "resolved_at", 190 * MIN, true));
    }

    #[test]
    fn start_anchors_fall_back_and_say_which_one_was_used() {
        let mut no_impact = incident(Status::Resolved);
        no_impact.impact_started_at = None;
        assert_eq!(
            spans(&no_impact),
            [
                ("time_to_acknowledge", "detected_at", "acknowledged_at", 10 * MIN, false),
                ("time_to_mitigate", "detected_at", "mitigated_at", 45 * MIN, false),
                ("time_to_resolve", "detected_at", "resolved_at", 65 * MIN, false),
            ]
        );

        let mut only_declared = no_impact;
        only_declared.detected_at = None;
        assert_eq!(
            spans(&only_declared),
            [
                ("time_to_acknowledge", "declared_at", "acknowledged_at", 5 * MIN, false),
                ("time_to_mitigate", "declared_at", "mitigated_at", 40 * MIN, false),
                ("time_to_resolve", "declared_at", "resolved_at", 60 * MIN, false),
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
            [("time_to_acknowledge", "detected_at", "acknowledged_at", 10 * MIN, false)]
        );
    }

    #[test]
    fn a_closed_incident_keeps_all_its_spans() {
        assert_eq!(spans(&incident(Status::Closed)), spans(&incident(Status::Resolved)));
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
}
