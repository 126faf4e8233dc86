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
                format!("`{kind}` is written by Firebreak itself; use one of note, finding, hypothesis, decision, action"),
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
#[allow(clippy::unwrap_used, reason = "a failing test should panic")]
mod tests {
    use super::*;

    use chrono::Duration;

    const PEOPLE_WRITE: [EntryKind; 5] = [
        EntryKind::Note,
        EntryKind::Finding,
        EntryKind::Hypothesis,
        EntryKind::Decision,
        EntryKind::Action,
    ];

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn manual(kind: EntryKind, body: &str, occurred_at: Option<DateTime<Utc>>) -> Result<NewEntry, ValidationError> {
        NewEntry::parse_manual(kind, body.into(), occurred_at, Visibility::Internal, now())
    }

    #[test]
    fn people_may_write_notes_findings_hypotheses_decisions_and_actions() {
        for kind in PEOPLE_WRITE {
            let entry = manual(kind, "Error rate back to normal", None).unwrap();
            assert_eq!(entry.kind, kind);
            assert_eq!(entry.body, "Error rate back to normal");
            assert_eq!(entry.occurred_at, now());
            assert_eq!(entry.data, None);
        }
    }

    #[test]
    fn kinds_firebreak_writes_are_refused_under_kind() {
        let system = EntryKind::ALL.into_iter().filter(|k| !PEOPLE_WRITE.contains(k));
        let mut refused = 0;
        for kind in system {
            let error = manual(kind, "body", None).unwrap_err();
            assert_eq!(error.field, "kind");
            assert!(error.reason.contains(&format!("`{kind}`")), "{error}");
            assert!(
                error.reason.contains("note, finding, hypothesis, decision, action"),
                "{error}"
            );
            refused += 1;
        }
        assert_eq!(refused, 8);
    }

    #[test]
    fn the_body_must_say_something() {
        for body in ["", "   ", "\n"] {
            let error = manual(EntryKind::Note, body, None).unwrap_err();
            assert_eq!(error.field, "body");
            assert!(error.reason.contains("must not be empty"), "{error}");
        }
        let huge = "x".repeat(64 * 1024 + 1);
        let error = manual(EntryKind::Note, &huge, None).unwrap_err();
        assert_eq!(error.field, "body");
        assert!(error.reason.contains("64 KiB"), "{error}");
    }

    #[test]
    fn entries_may_be_back_dated() {
        let yesterday = now() - Duration::days(1);
        let entry = manual(EntryKind::Decision, "Roll back", Some(yesterday)).unwrap();
        assert_eq!(entry.occurred_at, yesterday);
    }

    #[test]
    fn entries_may_be_dated_within_the_clock_skew_but_not_beyond() {
        let skewed = now() + Duration::minutes(5);
        assert_eq!(manual(EntryKind::Note, "n", Some(skewed)).unwrap().occurred_at, skewed);
        let error = manual(EntryKind::Note, "n", Some(now() + Duration::minutes(6))).unwrap_err();
        assert_eq!(error.field, "occurred_at");
        assert!(error.reason.contains("5 minutes"), "{error}");
    }

    #[test]
    fn the_requested_visibility_is_kept() {
        let entry =
            NewEntry::parse_manual(EntryKind::Note, "n".into(), None, Visibility::Public, now()).unwrap();
        assert_eq!(entry.visibility, Visibility::Public);
    }

    #[test]
    fn system_entries_are_internal_and_happen_now() {
        let entry = NewEntry::system(
            EntryKind::StatusChange,
            "triage → investigating".into(),
            Some(r#"{"from":"triage","to":"investigating"}"#.into()),
            now(),
        );
        assert_eq!(entry.visibility, Visibility::Internal);
        assert_eq!(entry.occurred_at, now());
        assert!(entry.data.is_some());
    }

    #[test]
    fn kinds_and_visibilities_round_trip_through_their_wire_spelling() {
        for kind in EntryKind::ALL {
            assert_eq!(kind.to_string().parse::<EntryKind>(), Ok(kind));
        }
        assert_eq!("memo".parse::<EntryKind>().unwrap_err(), "unknown timeline entry kind `memo`");
        for visibility in [Visibility::Internal, Visibility::Public] {
            assert_eq!(Visibility::parse(visibility.as_str()), Some(visibility));
        }
        assert_eq!(Visibility::parse("private"), None);
        assert_eq!(Visibility::default(), Visibility::Internal);
    }
}
