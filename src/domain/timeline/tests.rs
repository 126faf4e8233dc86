//! Unit tests for `domain::timeline`.

#![allow(clippy::unwrap_used, reason = "a failing test should panic")]

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
    DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn manual(
    kind: EntryKind,
    body: &str,
    occurred_at: Option<DateTime<Utc>>,
) -> Result<NewEntry, ValidationError> {
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
    let system = EntryKind::ALL
        .into_iter()
        .filter(|k| !PEOPLE_WRITE.contains(k));
    let mut refused = 0;
    for kind in system {
        let error = manual(kind, "body", None).unwrap_err();
        assert_eq!(error.field, "kind");
        assert!(error.reason.contains(&format!("`{kind}`")), "{error}");
        assert!(
            error
                .reason
                .contains("note, finding, hypothesis, decision, action"),
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
    assert_eq!(
        manual(EntryKind::Note, "n", Some(skewed))
            .unwrap()
            .occurred_at,
        skewed
    );
    let error = manual(EntryKind::Note, "n", Some(now() + Duration::minutes(6))).unwrap_err();
    assert_eq!(error.field, "occurred_at");
    assert!(error.reason.contains("5 minutes"), "{error}");
}

#[test]
fn the_requested_visibility_is_kept() {
    let entry =
        NewEntry::parse_manual(EntryKind::Note, "n".into(), None, Visibility::Public, now())
            .unwrap();
    assert_eq!(entry.visibility, Visibility::Public);
}

#[test]
fn system_entries_are_internal_and_happen_now() {
    let entry = NewEntry::system(
        EntryKind::StatusChange,
        "triage → investigating".into(),
        Some(EntryData::MergedFrom(data::MergedFrom { merged_from: 3 })),
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
    assert_eq!(
        "memo".parse::<EntryKind>().unwrap_err(),
        "unknown timeline entry kind `memo`: use one of `note`, `status_change`, \
         `severity_change`, `role_change`, `field_change`, `finding`, `hypothesis`, `decision`, \
         `action`, `runbook_step`, `stakeholder_update`, `alert`, `change`"
    );
    for visibility in [Visibility::Internal, Visibility::Public] {
        assert_eq!(visibility.as_str().parse(), Ok(visibility));
    }
    assert!("private".parse::<Visibility>().is_err());
    assert_eq!(Visibility::default(), Visibility::Internal);
}
