//! The generated text of each section, built from the recorded facts. Pure: the caller gathers
//! the facts and passes `now` (ongoing durations are measured up to it).

use chrono::{DateTime, Utc};

use crate::domain::action_item::ActionItem;
use crate::domain::durations::{SpanMeasure, durations, human};
use crate::domain::incident::{Incident, Severity};
use crate::domain::postmortem::section::SectionName;
use crate::domain::role::{Role, RoleAssignment};
use crate::domain::timeline::{EntryKind, TimelineEntry};

mod markdown;
mod seeded;

use markdown::{cell, fit, listed, minute, or_note};
use seeded::{detection, prompt, resolution, root_causes, trigger};

/// The timeline kinds the key timeline shows.
pub const KEY_KINDS: [EntryKind; 7] = [
    EntryKind::StatusChange,
    EntryKind::SeverityChange,
    EntryKind::Finding,
    EntryKind::Hypothesis,
    EntryKind::Decision,
    EntryKind::Action,
    EntryKind::RunbookStep,
];
/// The timeline kinds that seed trigger (changes) and detection (alerts).
pub const SIGNAL_KINDS: [EntryKind; 2] = [EntryKind::Change, EntryKind::Alert];
/// Most key entries the timeline section lists.
pub const KEY_ENTRIES_MAX: usize = 150;
/// Most changes or alerts the trigger and detection sections list.
const SIGNALS_MAX: usize = 20;
/// Longest entry text in a table cell or list item, in characters.
const PREVIEW_CHARS: usize = 300;

/// A severity the incident had from `at` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityStep {
    /// Since when.
    pub at: DateTime<Utc>,
    /// The severity.
    pub severity: Severity,
    /// Who set it (principal).
    pub by: String,
}

/// Everything recorded about an incident that the draft is built from.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// Its severities, oldest first, starting with the one it was declared with.
    pub severity_history: &'a [SeverityStep],
    /// Every role assignment, current and past.
    pub roles: &'a [RoleAssignment],
    /// Entries of the [`KEY_KINDS`], oldest first, at most [`KEY_ENTRIES_MAX`].
    pub key_entries: &'a [TimelineEntry],
    /// True when more key entries exist than `key_entries` holds.
    pub has_more_key_entries: bool,
    /// Entries of the [`SIGNAL_KINDS`] (changes and alerts), oldest first.
    pub signals: &'a [TimelineEntry],
    /// The incident's action items.
    pub action_items: &'a [ActionItem],
}

/// The generated text of every section, in document order.
pub fn generate(facts: &Facts<'_>, now: DateTime<Utc>) -> Vec<(SectionName, String)> {
    let spans = durations(facts.incident, now);
    SectionName::ALL
        .into_iter()
        .map(|name| {
            let body = match name {
                SectionName::Summary => summary(facts.incident),
                SectionName::Impact => impact(facts, &spans),
                SectionName::Durations => durations_table(facts.incident, &spans, now),
                SectionName::SeverityHistory => severity_history(facts),
                SectionName::Roles => roles(facts.roles),
                SectionName::Timeline => timeline(facts),
                SectionName::RootCauses => root_causes(facts.key_entries),
                SectionName::Trigger => trigger(facts.signals),
                SectionName::Detection => detection(facts),
                SectionName::Resolution => resolution(facts.incident),
                SectionName::WhatWentWell => prompt(
                    "What went well? The detection, tooling, coordination and runbooks that helped: what should we keep doing?",
                ),
                SectionName::WhatWentWrong => prompt(
                    "What went wrong or made it worse? Gaps in tooling, alerting, documentation or process; describe systems and decisions in context, not people to blame.",
                ),
                SectionName::WhereWeGotLucky => prompt(
                    "Where did we get lucky? What limited the damage by chance and must not be relied on next time?",
                ),
                SectionName::Lessons => prompt(
                    "What did we learn? Turn each lesson that needs work into an action item (add_action_item).",
                ),
                SectionName::ActionItems => action_items(facts.action_items, now),
            };
            (name, fit(body))
        })
        .collect()
}

fn summary(incident: &Incident) -> String {
    let state = if incident.status.is_open() {
        format!("**not resolved** (still `{}`)", incident.status)
    } else {
        format!("`{}`", incident.status)
    };
    let mut out = format!(
        "**{}**: {}, {state}.\n\n",
        incident.title, incident.severity
    );
    out.push_str(or_note(
        &incident.summary,
        "_No summary was recorded on the incident (update_incident sets one)._",
    ));
    out.push_str("\n\n");
    out.push_str(&format!("- Services: {}\n", listed(&incident.services)));
    out.push_str(&format!(
        "- Declared: {} by {}\n",
        minute(incident.declared_at),
        incident.created_by.principal
    ));
    match incident.resolved_at {
        Some(at) => out.push_str(&format!("- Resolved: {}\n", minute(at))),
        None => out.push_str("- Resolved: not yet\n"),
    }
    out
}

fn impact(facts: &Facts<'_>, spans: &[SpanMeasure]) -> String {
    let incident = facts.incident;
    let mut out = or_note(
        &incident.impact,
        "_No impact statement was recorded. Say who was affected, how, and how many (users, requests, revenue, error budget)._",
    )
    .to_owned();
    out.push_str("\n\n");
    let started = incident.impact_started_at.map_or_else(
        || "not recorded (durations start at detection)".to_owned(),
        minute,
    );
    out.push_str(&format!("- Impact started: {started}\n"));
    let mitigated = incident
        .mitigated_at
        .map_or_else(|| "not yet".to_owned(), minute);
    out.push_str(&format!("- Mitigated: {mitigated}\n"));
    if let Some(span) = spans.iter().find(|s| s.name == "time_to_mitigate") {
        let ongoing = if span.is_ongoing {
            " so far (ongoing)"
        } else {
            ""
        };
        out.push_str(&format!(
            "- Customer impact lasted: {}{ongoing} (from `{}` to `{}`)\n",
            human(span.seconds),
            span.from_anchor,
            span.to_anchor
        ));
    }
    let worst = facts
        .severity_history
        .iter()
        .map(|step| step.severity)
        .chain([incident.severity])
        .min()
        .unwrap_or(incident.severity);
    out.push_str(&format!("- Highest severity: {worst}\n"));
    out
}

fn durations_table(incident: &Incident, spans: &[SpanMeasure], now: DateTime<Utc>) -> String {
    if spans.is_empty() {
        return "_No durations can be measured for this incident._\n".to_owned();
    }
    let mut out = String::from("| Measure | Duration | From | To |\n|---|---|---|---|\n");
    for span in spans {
        let from = anchored(span.from_anchor, anchor(incident, span.from_anchor));
        let (length, to) = if span.is_ongoing {
            (
                format!("{} (ongoing)", human(span.seconds)),
                format!("`{}` not yet (measured to {})", span.to_anchor, minute(now)),
            )
        } else {
            (
                human(span.seconds),
                anchored(span.to_anchor, anchor(incident, span.to_anchor)),
            )
        };
        out.push_str(&format!(
            "| {} | {length} | {from} | {to} |\n",
            measure_title(span.name)
        ));
    }
    out
}

fn measure_title(name: &str) -> &str {
    match name {
        "time_to_acknowledge" => "Time to acknowledge",
        "time_to_mitigate" => "Time to mitigate",
        "time_to_resolve" => "Time to resolve",
        other => other,
    }
}

fn anchored(name: &str, at: Option<DateTime<Utc>>) -> String {
    match at {
        Some(at) => format!("`{name}` {}", minute(at)),
        None => format!("`{name}`"),
    }
}

/// The timestamp an anchor names.
fn anchor(incident: &Incident, name: &str) -> Option<DateTime<Utc>> {
    match name {
        "impact_started_at" => incident.impact_started_at,
        "detected_at" => incident.detected_at,
        "declared_at" => Some(incident.declared_at),
        "acknowledged_at" => incident.acknowledged_at,
        "mitigated_at" => incident.mitigated_at,
        "resolved_at" => incident.resolved_at,
        _ => None,
    }
}

fn severity_history(facts: &Facts<'_>) -> String {
    let mut out = String::from("| Since (UTC) | Severity | Set by |\n|---|---|---|\n");
    if facts.severity_history.is_empty() {
        out.push_str(&format!(
            "| {} | {} | {} (declared) |\n",
            minute(facts.incident.declared_at),
            facts.incident.severity,
            cell(&facts.incident.created_by.principal)
        ));
    }
    for (i, step) in facts.severity_history.iter().enumerate() {
        let how = if i == 0 { " (declared)" } else { "" };
        out.push_str(&format!(
            "| {} | {} | {}{how} |\n",
            minute(step.at),
            step.severity,
            cell(&step.by)
        ));
    }
    out
}

fn roles(assignments: &[RoleAssignment]) -> String {
    if assignments.is_empty() {
        return "_No roles were assigned (assign_role records them; every major incident needs a commander)._\n".to_owned();
    }
    let mut sorted: Vec<&RoleAssignment> = assignments.iter().collect();
    sorted.sort_by_key(|a| {
        let order = Role::ALL.iter().position(|r| *r == a.role);
        (order, a.assigned_at)
    });
    let mut out = String::from("| Role | Who | From (UTC) | Until (UTC) |\n|---|---|---|---|\n");
    for a in sorted {
        let until = a.unassigned_at.map_or_else(|| "current".to_owned(), minute);
        out.push_str(&format!(
            "| {} | {} | {} | {until} |\n",
            a.role,
            cell(&a.assignee),
            minute(a.assigned_at)
        ));
    }
    out
}

fn timeline(facts: &Facts<'_>) -> String {
    if facts.key_entries.is_empty() {
        return "_No key entries were recorded._\n".to_owned();
    }
    let mut out = String::from(
        "Key entries, oldest first: status and severity changes, findings, hypotheses, decisions, actions and runbook steps. The full record: get_timeline.\n\n\
         | Time (UTC) | Kind | Entry | By |\n|---|---|---|---|\n",
    );
    for entry in facts.key_entries.iter().take(KEY_ENTRIES_MAX) {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            entry.occurred_at.format("%Y-%m-%d %H:%M:%S"),
            entry.kind.as_str().replace('_', " "),
            cell(&entry.body),
            cell(&entry.actor.principal)
        ));
    }
    if facts.has_more_key_entries || facts.key_entries.len() > KEY_ENTRIES_MAX {
        out.push_str(&format!(
            "\n_Only the first {KEY_ENTRIES_MAX} key entries are shown; read the rest with get_timeline._\n"
        ));
    }
    out
}

fn action_items(items: &[ActionItem], now: DateTime<Utc>) -> String {
    if items.is_empty() {
        return "No action items yet: add them with add_action_item (kinds: prevent, detect, mitigate, process), then run draft_postmortem again to list them here.\n".to_owned();
    }
    let today = now.date_naive();
    let mut out = String::from(
        "| Ref | Action item | Kind | Priority | Owner | Due | Status |\n|---|---|---|---|---|---|---|\n",
    );
    for item in items {
        let status = if item.is_overdue(today) {
            format!("{} (overdue)", item.status)
        } else {
            item.status.to_string()
        };
        let title = match &item.external_url {
            Some(url) => format!("[{}]({})", cell(&item.title), url),
            None => cell(&item.title),
        };
        out.push_str(&format!(
            "| {} | {title} | {} | {} | {} | {} | {status} |\n",
            item.reference(),
            item.kind,
            item.priority,
            item.owner.as_deref().map_or_else(|| "—".to_owned(), cell),
            item.due_on
                .map_or_else(|| "—".to_owned(), |d| d.to_string()),
        ));
    }
    out
}
