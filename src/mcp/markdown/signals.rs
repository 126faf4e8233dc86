//! The signal parts of the markdown: an incident's alerts and suspected changes in its brief,
//! and the `incident://INC-42/alerts` resource.

use std::fmt::{self, Formatter};

use crate::app::IncidentBrief;
use crate::app::signals::AlertPage;
use crate::mcp::markdown::time;

/// The `## Alerts` and `## Suspected changes` sections of a brief (nothing when empty).
pub(super) fn brief_sections(f: &mut Formatter<'_>, brief: &IncidentBrief) -> fmt::Result {
    let counts = &brief.alert_counts;
    if counts.firing + counts.resolved > 0 {
        writeln!(
            f,
            "\n## Alerts\n\n{} firing, {} resolved (all: `list_alerts` with this incident, or \
             `incident://{}/alerts`)\n",
            counts.firing,
            counts.resolved,
            brief.incident.reference()
        )?;
        for alert in &brief.newest_alerts {
            writeln!(
                f,
                "- {} [{}] from {}, last seen {}, {}×",
                alert.title,
                alert.status,
                alert.source,
                time(alert.last_seen),
                alert.seen_count
            )?;
        }
    }
    if !brief.suspects.is_empty() {
        writeln!(
            f,
            "\n## Suspected changes\n\nSuggestions to check, not causes; record a verdict with \
             `link_change`.\n"
        )?;
        for suspect in &brief.suspects {
            writeln!(
                f,
                "- {} ({}, score {:.2}): {} — {}",
                suspect.change.reference(),
                suspect.change.change.kind,
                suspect.scored.score,
                suspect.change.change.summary,
                suspect.scored.reasons.join("; ")
            )?;
        }
    }
    Ok(())
}

/// An incident's alerts as markdown, newest first, each with the ledger's reason.
pub(crate) fn alerts(reference: &str, page: &AlertPage) -> String {
    let mut out = format!("# Alerts of {reference}\n\n");
    if page.alerts.is_empty() {
        out.push_str("_No alerts are attached to this incident._\n");
    }
    for alert in &page.alerts {
        out.push_str(&format!(
            "- **{}** [{}] from {} (`{}`), started {}, last seen {}, {}×",
            alert.title,
            alert.status,
            alert.source,
            alert.key,
            time(alert.starts_at),
            time(alert.last_seen),
            alert.seen_count
        ));
        if let Some(url) = &alert.runbook_url {
            out.push_str(&format!(", runbook {url}"));
        }
        if let Some(reason) = &alert.last_reason {
            out.push_str(&format!("\n  - {reason}"));
        }
        out.push('\n');
    }
    if page.next_cursor.is_some() {
        out.push_str(
            "\nOlder alerts are left out: `list_alerts` with this incident pages through all.\n",
        );
    }
    out
}
