//! The seeded sections: facts to start from plus a prompt for the writer (root causes, trigger,
//! detection, resolution).

use crate::domain::durations::human;
use crate::domain::incident::Incident;
use crate::domain::postmortem::facts::Facts;
use crate::domain::postmortem::facts::markdown::{listing, minute, preview};
use crate::domain::postmortem::section::PROMPT_MARKER;
use crate::domain::signals::ChangeRelation;
use crate::domain::timeline::data::ChangeLinked;
use crate::domain::timeline::{EntryData, EntryKind, TimelineEntry};

/// A section body that is only the writer prompt.
pub(super) fn prompt(text: &str) -> String {
    format!("{PROMPT_MARKER} {text}\n")
}

/// Hypotheses and findings from the timeline, under a prompt to confirm them.
pub(super) fn root_causes(entries: &[TimelineEntry]) -> String {
    let mut out = prompt(
        "Confirm which hypotheses held and name the root causes and contributing factors: usually several, in systems and processes, never a person. Replace this section with your analysis.",
    );
    let hypotheses = listing(entries, EntryKind::Hypothesis);
    let findings = listing(entries, EntryKind::Finding);
    if hypotheses.is_empty() && findings.is_empty() {
        out.push_str("\nNo hypotheses or findings were recorded on the timeline.\n");
        return out;
    }
    if !hypotheses.is_empty() {
        out.push_str("\n**Hypotheses recorded during the response**\n\n");
        out.push_str(&hypotheses);
    }
    if !findings.is_empty() {
        out.push_str("\n**Findings**\n\n");
        out.push_str(&findings);
    }
    out
}

/// Changes recorded on the timeline, under a prompt to name the trigger.
pub(super) fn trigger(signals: &[TimelineEntry]) -> String {
    let mut out = prompt(
        "What set the incident off: a deploy, a configuration change, load, a dependency? Name the change or condition, not a person.",
    );
    let confirmed = confirmed_changes(signals);
    if !confirmed.is_empty() {
        out.push_str("\n**Confirmed by responders** (`link_change`)\n\n");
        for change in &confirmed {
            let mut line = format!("- {} ({}): {}", change.change, change.kind, change.summary);
            if let Some(note) = &change.note {
                line.push_str(&format!(" — {}", preview(note)));
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    // Suspected and ruled-out links are deliberation, not facts: only other change entries.
    let recorded: Vec<TimelineEntry> = signals
        .iter()
        .filter(|e| !matches!(e.data, Some(EntryData::ChangeLinked(_))))
        .cloned()
        .collect();
    let changes = listing(&recorded, EntryKind::Change);
    if changes.is_empty() && confirmed.is_empty() {
        out.push_str("\nNo changes (deploys, configuration) were recorded on the timeline.\n");
    } else if !changes.is_empty() {
        out.push_str("\n**Changes recorded on the timeline**\n\n");
        out.push_str(&changes);
    }
    out
}

/// The changes whose latest link on the timeline is `confirmed`, in the order first linked.
fn confirmed_changes(signals: &[TimelineEntry]) -> Vec<&ChangeLinked> {
    let mut latest: Vec<&ChangeLinked> = Vec::new();
    for entry in signals {
        if let Some(EntryData::ChangeLinked(link)) = &entry.data {
            match latest.iter_mut().find(|l| l.change_id == link.change_id) {
                Some(slot) => *slot = link,
                None => latest.push(link),
            }
        }
    }
    latest.retain(|l| l.relation == ChangeRelation::Confirmed);
    latest
}

/// Detection time, time to detect and the alerts, under a prompt.
pub(super) fn detection(facts: &Facts<'_>) -> String {
    let incident = facts.incident;
    let mut out = prompt(
        "How was the incident noticed (an alert, a customer, a person)? How could it have been noticed sooner?",
    );
    out.push('\n');
    let detected = incident.detected_at.unwrap_or(incident.declared_at);
    out.push_str(&format!("- Detected: {}\n", minute(detected)));
    if let Some(started) = incident.impact_started_at {
        let seconds = (detected - started).num_seconds().max(0);
        out.push_str(&format!(
            "- Time to detect: {} (from `impact_started_at` to `detected_at`)\n",
            human(seconds)
        ));
    }
    let alerts: Vec<&TimelineEntry> = facts
        .signals
        .iter()
        .filter(|e| e.kind == EntryKind::Alert)
        .collect();
    match alerts.first() {
        Some(first) => out.push_str(&format!(
            "- Alerts recorded: {}; the first at {}: {}\n",
            alerts.len(),
            minute(first.occurred_at),
            preview(&first.body)
        )),
        None => out.push_str("- Alerts recorded: none\n"),
    }
    out
}

/// The recorded resolution and its times, under a prompt.
pub(super) fn resolution(incident: &Incident) -> String {
    let mut out = prompt(
        "What mitigated the impact, and what fixed it for good? Separate the temporary fix from the lasting one.",
    );
    out.push('\n');
    let mitigated = incident
        .mitigated_at
        .map_or_else(|| "not yet".to_owned(), minute);
    let resolved = incident
        .resolved_at
        .map_or_else(|| "not yet".to_owned(), minute);
    out.push_str(&format!(
        "- Mitigated: {mitigated}\n- Resolved: {resolved}\n"
    ));
    match &incident.resolution {
        Some(text) => out.push_str(&format!("\n**Resolution recorded**\n\n{}\n", text.trim())),
        None => out.push_str("- Resolution recorded: none yet (the incident is not resolved)\n"),
    }
    out
}
