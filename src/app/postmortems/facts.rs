//! Gathers what a postmortem draft is built from, inside the drafting transaction.

use sqlx::PgConnection;

use crate::app::Result;
use crate::domain::action_item::ActionItem;
use crate::domain::postmortem::{Facts, KEY_ENTRIES_MAX, KEY_KINDS, SIGNAL_KINDS, SeverityStep};
use crate::domain::{EntryData, EntryKind, Incident, RoleAssignment, Severity, TimelineEntry};
use crate::store;

/// Most severity changes the history lists.
const SEVERITY_CHANGES_MAX: i64 = 100;
/// Most changes and alerts read to seed trigger and detection.
const SIGNALS_READ_MAX: i64 = 200;

/// The recorded facts about one incident, owned.
pub(super) struct Gathered {
    severity_history: Vec<SeverityStep>,
    roles: Vec<RoleAssignment>,
    key_entries: Vec<TimelineEntry>,
    has_more_key_entries: bool,
    signals: Vec<TimelineEntry>,
    action_items: Vec<ActionItem>,
}

impl Gathered {
    /// The facts, as the domain reads them.
    pub(super) fn facts<'a>(&'a self, incident: &'a Incident) -> Facts<'a> {
        Facts {
            incident,
            severity_history: &self.severity_history,
            roles: &self.roles,
            key_entries: &self.key_entries,
            has_more_key_entries: self.has_more_key_entries,
            signals: &self.signals,
            action_items: &self.action_items,
        }
    }
}

/// Reads roles (with history), the key timeline, changes and alerts, severity changes and the
/// action items of `incident`.
pub(super) async fn gather(conn: &mut PgConnection, incident: &Incident) -> Result<Gathered> {
    let id = incident.id;
    let roles = store::roles::history(conn, id).await?;
    let key_max = KEY_ENTRIES_MAX as i64;
    let mut key_entries =
        store::timeline::page(conn, id, Some(&KEY_KINDS), None, key_max + 1).await?;
    let has_more_key_entries = key_entries.len() > KEY_ENTRIES_MAX;
    key_entries.truncate(KEY_ENTRIES_MAX);
    let signals =
        store::timeline::page(conn, id, Some(&SIGNAL_KINDS), None, SIGNALS_READ_MAX).await?;
    let severity_changes = store::timeline::page(
        conn,
        id,
        Some(&[EntryKind::SeverityChange]),
        None,
        SEVERITY_CHANGES_MAX,
    )
    .await?;
    let action_items = store::action_items::for_incident(conn, id).await?;
    Ok(Gathered {
        severity_history: severity_history(incident, &severity_changes),
        roles,
        key_entries,
        has_more_key_entries,
        signals,
        action_items,
    })
}

/// The severity the incident was declared with, then each change. The declared severity is the
/// `from` of the first change (or the current severity when it never changed).
fn severity_history(incident: &Incident, changes: &[TimelineEntry]) -> Vec<SeverityStep> {
    let parsed: Vec<(Option<Severity>, SeverityStep)> = changes
        .iter()
        .filter_map(|entry| {
            let Some(EntryData::FieldChanged(change)) = &entry.data else {
                return None;
            };
            let to = change.to.parse::<Severity>().ok()?;
            let from = change.from.parse::<Severity>().ok();
            let step = SeverityStep {
                at: entry.occurred_at,
                severity: to,
                by: entry.actor.principal.clone(),
            };
            Some((from, step))
        })
        .collect();
    let declared = parsed
        .first()
        .and_then(|(from, _)| *from)
        .unwrap_or(incident.severity);
    let first = SeverityStep {
        at: incident.declared_at,
        severity: declared,
        by: incident.created_by.principal.clone(),
    };
    std::iter::once(first)
        .chain(parsed.into_iter().map(|(_, step)| step))
        .collect()
}
