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
        (
            "time_to_acknowledge",
            detected,
            "acknowledged_at",
            incident.acknowledged_at,
        ),
        (
            "time_to_mitigate",
            impact,
            "mitigated_at",
            incident.mitigated_at,
        ),
        (
            "time_to_resolve",
            impact,
            "resolved_at",
            incident.resolved_at,
        ),
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
mod tests;
