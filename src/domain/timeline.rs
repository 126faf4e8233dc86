//! Timeline entries: the append-only record of an incident.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::actor::Actor;
use crate::domain::error::ValidationError;
use crate::domain::validation;

/// What kind of thing a timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A free note.
    Note,
    /// A status change (written by Firebreak).
    StatusChange,
    /// A severity change (written by Firebreak).
    SeverityChange,
    /// A role change (written by Firebreak).
    RoleChange,
    /// A field change (written by Firebreak).
    FieldChange,
    /// Something observed to be true.
    Finding,
    /// A suspected cause, to be confirmed or ruled out.
    Hypothesis,
    /// A decision taken.
    Decision,
    /// An action taken.
    Action,
    /// A runbook step taken.
    RunbookStep,
    /// A message sent to stakeholders.
    StakeholderUpdate,
    /// An alert or repeat signal.
    Alert,
    /// A change (deploy, config) related to the incident.
    Change,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [EntryKind; 13] = [
        EntryKind::Note,
        EntryKind::StatusChange,
        EntryKind::SeverityChange,
        EntryKind::RoleChange,
        EntryKind::FieldChange,
        EntryKind::Finding,
        EntryKind::Hypothesis,
        EntryKind::Decision,
        EntryKind::Action,
        EntryKind::RunbookStep,
        EntryKind::StakeholderUpdate,
        EntryKind::Alert,
        EntryKind::Change,
    ];

    /// The wire spelling, e.g. `status_change`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Note => "note",
            EntryKind::StatusChange => "status_change",
            EntryKind::SeverityChange => "severity_change",
            EntryKind::RoleChange => "role_change",
            EntryKind::FieldChange => "field_change",
            EntryKind::Finding => "finding",
            EntryKind::Hypothesis => "hypothesis",
            EntryKind::Decision => "decision",
            EntryKind::Action => "action",
            EntryKind::RunbookStep => "runbook_step",
            EntryKind::StakeholderUpdate => "stakeholder_update",
            EntryKind::Alert => "alert",
            EntryKind::Change => "change",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntryKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown timeline entry kind `{s}`"))
    }
}

/// Who may see an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Visibility {
    /// Responders only (the default).
    #[default]
    Internal,
    /// Fit for a status page or customers.
    Public,
}

impl Visibility {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Internal => "internal",
            Visibility::Public => "public",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "internal" => Some(Visibility::Internal),
            "public" => Some(Visibility::Public),
            _ => None,
        }
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
    /// Structured details (e.g. `{"from": "triage", "to": "investigating"}`), as JSON text.
    pub data: Option<String>,
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
    /// Structured details as JSON text.
    pub data: Option<String>,
}

impl NewEntry {
    /// An internal entry written by Firebreak itself at `now`.
    pub fn system(kind: EntryKind, body: String, data: Option<String>, now: DateTime<Utc>) -> Self {
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
