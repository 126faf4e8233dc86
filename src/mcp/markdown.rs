//! Markdown renderings of incidents for resources and prompts: the facts of an incident, its
//! brief (facts plus recent timeline), its timeline, and the public view a status-page update
//! may draw on. Presentation only: takes what `app` returns, gives text back.

mod metrics;
mod signals;

pub(crate) use metrics::metrics_report;
pub(crate) use signals::alerts;

use std::fmt::{self, Display, Formatter};

use chrono::{DateTime, Utc};

use crate::app::{IncidentBrief, RecentTimeline};
use crate::domain::action_item::ActionItem;
use crate::domain::durations::human;
use crate::domain::runbook::StepTaken;
use crate::domain::{Incident, IncidentRef, SpanMeasure, TimelineEntry, Visibility};

/// The brief of an incident: its facts, then its newest timeline entries.
pub(crate) fn incident_brief(brief: &IncidentBrief) -> String {
    let reference = brief.incident.reference();
    format!(
        "{}\n## Recent timeline\n\n{}\n{}",
        Facts(brief),
        shown_of(
            brief.recent_timeline.len(),
            brief.timeline_total,
            &format!("the whole timeline is `incident://{reference}/timeline`, or `get_timeline`"),
        ),
        Entries {
            entries: &brief.recent_timeline,
            with_actors: true,
        }
    )
}

/// The facts of an incident without its timeline: fields, summary, impact, roles, durations,
/// runbook steps taken and open action items.
pub(crate) fn incident_facts(brief: &IncidentBrief) -> String {
    Facts(brief).to_string()
}

/// Timeline entries as a markdown list, oldest first; `with_actors` names who wrote each one.
pub(crate) fn entries(entries: &[TimelineEntry], with_actors: bool) -> String {
    Entries {
        entries,
        with_actors,
    }
    .to_string()
}

/// The newest entries of an incident's timeline, saying when older ones are left out.
pub(crate) fn timeline(recent: &RecentTimeline) -> String {
    let incident = &recent.incident;
    format!(
        "# {} timeline: {}\n\n{} · {}. {}\n{}",
        incident.reference(),
        incident.title,
        incident.severity,
        incident.status,
        shown_of(
            recent.entries.len(),
            recent.total,
            "read the older ones with `get_timeline`, which pages from the start",
        ),
        Entries {
            entries: &recent.entries,
            with_actors: true,
        }
    )
}

/// What a public update may draw on: status, times, impact and the public entries, with no
/// people, severity, summary or internal entries.
pub(crate) fn public_facts(brief: &IncidentBrief, public_entries: &[TimelineEntry]) -> String {
    let incident = &brief.incident;
    let started = incident
        .impact_started_at
        .or(incident.detected_at)
        .unwrap_or(incident.declared_at);
    let mut lines = vec![
        format!(
            "- **Status:** {} (status-page words: investigating, identified, monitoring, resolved)",
            incident.status
        ),
        format!("- **Started:** {}", time(started)),
    ];
    if let Some(resolved) = incident.resolved_at {
        lines.push(format!("- **Resolved:** {}", time(resolved)));
    }
    if let Some(span) = brief.durations.iter().find(|s| s.name == "time_to_resolve") {
        let so_far = if span.is_ongoing { " so far" } else { "" };
        lines.push(format!("- **Duration:** {}{so_far}", human(span.seconds)));
    }
    if !incident.services.is_empty() {
        lines.push(format!(
            "- **Affected services (internal names):** {}",
            incident.services.join(", ")
        ));
    }
    let updates = if public_entries.is_empty() {
        "_No public updates yet: this would be the first._\n".to_owned()
    } else {
        entries(public_entries, false)
    };
    format!(
        "{}\n\n- **Internal title:** {}\n\n### Impact (internal wording)\n\n{}\n\n### Public updates so far\n\n{updates}",
        lines.join("\n"),
        incident.title,
        or_placeholder(&incident.impact, "_Not described yet._"),
    )
}

/// `document` inside a fenced block whose fence is longer than any backtick run in it, so its
/// own headings and code blocks stay inside.
pub(crate) fn quoted(document: &str) -> String {
    let longest_run = document
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    format!("{fence}markdown\n{}\n{fence}\n", document.trim_end())
}

/// "Last 20 of 57 entries, oldest first; {more}." or "All 12 entries, oldest first."
fn shown_of(shown: usize, total: i64, more: &str) -> String {
    if total > shown as i64 {
        format!("The last {shown} of {total} entries, oldest first; {more}.\n")
    } else if total == 0 {
        "No entries yet.\n".to_owned()
    } else {
        format!("All {total} entries, oldest first.\n")
    }
}

/// A time for people and models alike: `2026-11-27 14:02:11 UTC`.
pub(super) fn time(at: DateTime<Utc>) -> impl Display {
    at.format("%Y-%m-%d %H:%M:%S UTC")
}

fn or_placeholder<'a>(text: &'a str, placeholder: &'a str) -> &'a str {
    if text.trim().is_empty() {
        placeholder
    } else {
        text
    }
}

/// The facts section of a brief.
struct Facts<'a>(&'a IncidentBrief);

impl Display for Facts<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let brief = self.0;
        let incident = &brief.incident;
        writeln!(f, "# {}: {}\n", incident.reference(), incident.title)?;
        fields(f, brief)?;
        writeln!(
            f,
            "\n## Summary\n\n{}\n",
            or_placeholder(&incident.summary, "_No summary yet._")
        )?;
        writeln!(
            f,
            "## Impact\n\n{}\n",
            or_placeholder(&incident.impact, "_Not described yet._")
        )?;
        if let Some(resolution) = &incident.resolution {
            writeln!(f, "## Resolution\n\n{resolution}\n")?;
        }
        writeln!(f, "## Roles\n")?;
        if brief.roles.is_empty() {
            writeln!(
                f,
                "_No roles assigned: assign a commander with `assign_role`._"
            )?;
        }
        for role in &brief.roles {
            writeln!(
                f,
                "- **{}:** {} (since {}, assigned by {})",
                role.role,
                role.assignee,
                time(role.assigned_at),
                role.assigned_by.principal
            )?;
        }
        writeln!(f, "\n## Durations (as of {})\n", time(brief.now))?;
        if brief.durations.is_empty() {
            writeln!(f, "_None measured._")?;
        }
        for span in &brief.durations {
            writeln!(f, "{}", Duration(span))?;
        }
        signals::brief_sections(f, brief)?;
        if !brief.runbook_steps.is_empty() {
            writeln!(f, "\n## Runbook steps taken\n")?;
            for step in &brief.runbook_steps {
                writeln!(f, "{}", Step(step))?;
            }
        }
        if !brief.open_action_items.is_empty() {
            writeln!(f, "\n## Open action items\n")?;
            for item in &brief.open_action_items {
                writeln!(f, "{}", Item(item))?;
            }
        }
        Ok(())
    }
}

/// `- 2026-11-27 14:20:00 UTC · disk-full v3 step 2 (risky): succeeded, by alice: Rotate logs`.
struct Step<'a>(&'a StepTaken);

impl Display for Step<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let step = self.0;
        write!(
            f,
            "- {} · `{}` v{} step {} ({}): **{}**, by {}: {}",
            time(step.at),
            step.runbook,
            step.version,
            step.step,
            step.kind.as_str(),
            step.outcome,
            step.actor.principal,
            step.text.lines().next().unwrap_or_default()
        )
    }
}

/// `- AI-3 [P1 prevent, open] Alert on pool wait (owner bob, due 2026-12-04)`.
struct Item<'a>(&'a ActionItem);

impl Display for Item<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let item = self.0;
        write!(
            f,
            "- {} [{} {}, {}] {}",
            item.reference(),
            item.priority,
            item.kind,
            item.status,
            item.title
        )?;
        let mut notes = Vec::new();
        if let Some(owner) = &item.owner {
            notes.push(format!("owner {owner}"));
        }
        if let Some(due) = item.due_on {
            notes.push(format!("due {due}"));
        }
        if let Some(url) = &item.external_url {
            notes.push(url.clone());
        }
        if !notes.is_empty() {
            write!(f, " ({})", notes.join(", "))?;
        }
        Ok(())
    }
}

/// The bullet list of an incident's fields and lifecycle timestamps.
fn fields(f: &mut Formatter<'_>, brief: &IncidentBrief) -> fmt::Result {
    let incident = &brief.incident;
    let major = if incident.severity.is_major() {
        " (major)"
    } else {
        ""
    };
    writeln!(f, "- **Severity:** {}{major}", incident.severity)?;
    let next: Vec<&str> = incident
        .status
        .allowed_next()
        .iter()
        .map(|s| s.as_str())
        .collect();
    if next.is_empty() {
        writeln!(f, "- **Status:** {} (final)", incident.status)?;
    } else {
        writeln!(
            f,
            "- **Status:** {} (`change_status` can move it to: {})",
            incident.status,
            next.join(", ")
        )?;
    }
    writeln!(
        f,
        "- **Version:** {} (pass it as `expected_version` when you change the incident)",
        incident.version
    )?;
    if !incident.services.is_empty() {
        writeln!(f, "- **Services:** {}", incident.services.join(", "))?;
    }
    if !incident.labels.is_empty() {
        let labels: Vec<String> = incident
            .labels
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        writeln!(f, "- **Labels:** {}", labels.join(", "))?;
    }
    if let Some(key) = &incident.dedup_key {
        writeln!(f, "- **Dedup key:** {key}")?;
    }
    writeln!(
        f,
        "- **Declared:** {} by {}",
        time(incident.declared_at),
        incident.created_by
    )?;
    timestamps(f, incident)?;
    if let Some(number) = brief.merged_into_number {
        writeln!(f, "- **Merged into:** {}", IncidentRef::Number(number))?;
    }
    if !brief.merged_from.is_empty() {
        let merged: Vec<String> = brief
            .merged_from
            .iter()
            .map(|n| IncidentRef::Number(*n).to_string())
            .collect();
        writeln!(f, "- **Merged from:** {}", merged.join(", "))?;
    }
    writeln!(f, "- **Id:** {}", incident.id)
}

fn timestamps(f: &mut Formatter<'_>, incident: &Incident) -> fmt::Result {
    let stamps = [
        ("Impact started", incident.impact_started_at),
        ("Detected", incident.detected_at),
        ("Acknowledged", incident.acknowledged_at),
        ("Identified", incident.identified_at),
        ("Mitigated", incident.mitigated_at),
        ("Resolved", incident.resolved_at),
        ("Closed", incident.closed_at),
    ];
    for (label, at) in stamps {
        if let Some(at) = at {
            writeln!(f, "- **{label}:** {}", time(at))?;
        }
    }
    Ok(())
}

/// `- **Time to acknowledge:** 4m 10s (detected_at → acknowledged_at)`.
struct Duration<'a>(&'a SpanMeasure);

impl Display for Duration<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let span = self.0;
        let name = span.name.replacen("time_to_", "Time to ", 1);
        if span.is_ongoing {
            write!(
                f,
                "- **{name}:** {} so far ({} → now; `{}` not reached yet)",
                human(span.seconds),
                span.from_anchor,
                span.to_anchor
            )
        } else {
            write!(
                f,
                "- **{name}:** {} ({} → {})",
                human(span.seconds),
                span.from_anchor,
                span.to_anchor
            )
        }
    }
}

/// Timeline entries as a markdown list; multi-line bodies stay inside their item.
struct Entries<'a> {
    entries: &'a [TimelineEntry],
    with_actors: bool,
}

impl Display for Entries<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for entry in self.entries {
            write!(f, "- {} · **{}**", time(entry.occurred_at), entry.kind)?;
            if self.with_actors {
                write!(f, " · {}", entry.actor.principal)?;
                if entry.visibility == Visibility::Public {
                    write!(f, " · _public_")?;
                }
            }
            let mut lines = entry.body.lines();
            writeln!(f, ": {}", lines.next().unwrap_or_default())?;
            for line in lines {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}
