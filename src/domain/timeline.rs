//! Timeline entries: the append-only record of an incident.

pub mod data;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::actor::Actor;
use crate::domain::error::ValidationError;
use crate::domain::validation;

use crate::domain::vocabulary::vocabulary;
pub use data::EntryData;

vocabulary! {
    /// What kind of thing a timeline entry records.
    pub enum EntryKind ("timeline entry kind") {
        /// A free note.
        Note = "note",
        /// A status change (written by Firebreak).
        StatusChange = "status_change",
        /// A severity change (written by Firebreak).
        SeverityChange = "severity_change",
        /// A role change (written by Firebreak).
        RoleChange = "role_change",
        /// A field change (written by Firebreak).
        FieldChange = "field_change",
        /// Something observed to be true.
        Finding = "finding",
        /// A suspected cause, to be confirmed or ruled out.
        Hypothesis = "hypothesis",
        /// A decision taken.
        Decision = "decision",
        /// An action taken.
        Action = "action",
        /// A runbook step taken.
        RunbookStep = "runbook_step",
        /// A message sent to stakeholders.
        StakeholderUpdate = "stakeholder_update",
        /// An alert or repeat signal.
        Alert = "alert",
        /// A change (deploy, config) related to the incident.
        Change = "change",
    }
}

vocabulary! {
    /// Who may see an entry.
    #[derive(Default)]
    pub enum Visibility ("visibility") {
        /// Responders only (the default).
        #[default]
        Internal = "internal" | "private",
        /// Fit for a status page or customers.
        Public = "public" | "external",
    }
}

/// A stored timeline entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// Entry id.
    pub id: Uuid,
    /// Monotonic position, for stable ordering and cursors.
    pub seq: i64,
    /// Kind.
    pub kind: EntryKind,
    /// Text.
    pub body: String,
    /// When it happened (may be back-dated).
    pub occurred_at: DateTime<Utc>,
    /// When it was written down.
    pub recorded_at: DateTime<Utc>,
    /// Who may see it.
    pub visibility: Visibility,
    /// Who wrote it.
    pub actor: Actor,
    /// Structured details (e.g. the statuses of a status change).
    pub data: Option<EntryData>,
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Kind.
    pub kind: EntryKind,
    /// Text.
    pub body: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Who may see it.
    pub visibility: Visibility,
    /// Structured details.
    pub data: Option<EntryData>,
}

impl NewEntry {
    /// An internal entry written by Firebreak itself at `now`.
    pub fn system(
        kind: EntryKind,
        body: String,
        data: Option<EntryData>,
        now: DateTime<Utc>,
    ) -> Self {
        NewEntry {
            kind,
            body,
            occurred_at: now,
            visibility: Visibility::Internal,
            data,
        }
    }

    /// An entry written by a responder: only the kinds people write are allowed
    /// (note, finding, hypothesis, decision, action); `occurred_at` may be back-dated.
    pub fn parse_manual(
        kind: EntryKind,
        body: String,
        occurred_at: Option<DateTime<Utc>>,
        visibility: Visibility,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        const MANUAL: [EntryKind; 5] = [
            EntryKind::Note,
            EntryKind::Finding,
            EntryKind::Hypothesis,
            EntryKind::Decision,
            EntryKind::Action,
        ];
        if !MANUAL.contains(&kind) {
            return Err(ValidationError::new(
                "kind",
                format!(
                    "`{kind}` is written by Firebreak itself; use one of note, finding, hypothesis, decision, action"
                ),
            ));
        }
        Ok(NewEntry {
            kind,
            body: validation::required_text("body", body)?,
            occurred_at: validation::timestamp("occurred_at", occurred_at, now)?.unwrap_or(now),
            visibility,
            data: None,
        })
    }
}

#[cfg(test)]
mod tests;
