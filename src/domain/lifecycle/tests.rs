//! Unit tests for `domain::lifecycle`.

#![allow(clippy::unwrap_used, reason = "a failing test should panic")]

use super::*;
use crate::domain::incident::fixtures::{ACKNOWLEDGED, MITIGATED, at, incident, now, other_id};

const Y: bool = true;
const N: bool = false;

/// Every (from, to) pair of the lifecycle, written out. Columns follow `Status::ALL`.
#[rustfmt::skip]
const EXPECTED: [(Status, [bool; 8]); 8] = [
    //                      triage inv  ident  monit  resol  closed decl   merged
    (Status::Triage,        [N,    Y,   Y,     Y,     N,     N,     Y,     Y]),
    (Status::Investigating, [N,    N,   Y,     Y,     Y,     N,     Y,     Y]),
    (Status::Identified,    [N,    Y,   N,     Y,     Y,     N,     Y,     Y]),
    (Status::Monitoring,    [N,    Y,   Y,     N,     Y,     N,     Y,     Y]),
    (Status::Resolved,      [N,    Y,   N,     N,     N,     Y,     N,     N]),
    (Status::Closed,        [N,    N,   N,     N,     N,     N,     N,     N]),
    (Status::Declined,      [N,    N,   N,     N,     N,     N,     N,     N]),
    (Status::Merged,        [N,    N,   N,     N,     N,     N,     N,     N]),
];

fn expected(from: Status, to: Status) -> bool {
    let (_, row) = EXPECTED.iter().find(|(s, _)| *s == from).unwrap();
    row[Status::ALL.iter().position(|s| *s == to).unwrap()]
}

fn to(status: Status) -> Transition {
    Transition {
        to: status,
        note: None,
        merged_into: None,
    }
}

fn with_note(status: Status, note: &str) -> Transition {
    Transition {
        to: status,
        note: Some(note.into()),
        merged_into: None,
    }
}

fn target(status: Status) -> MergeTarget {
    MergeTarget {
        id: other_id(),
        number: 7,
        status,
    }
}

fn merge_into(target: MergeTarget) -> Transition {
    Transition {
        to: Status::Merged,
        note: None,
        merged_into: Some(target),
    }
}

/// A transition that carries whatever `to` needs, so only the lifecycle rule can refuse it.
fn complete(status: Status) -> Transition {
    Transition {
        to: status,
        note: Some("because".into()),
        merged_into: (status == Status::Merged).then(|| target(Status::Investigating)),
    }
}

/// Asserts that a refused change left the incident exactly as it was.
fn refused(status: Status, transition: Transition) -> TransitionError {
    let before = incident(status);
    let mut after = before.clone();
    let error = after.change_status(transition, now()).unwrap_err();
    assert_eq!(
        after, before,
        "a refused change must not touch the incident"
    );
    error
}

// ── The table ───────────────────────────────────────────────────────────

#[test]
fn the_expected_table_lists_statuses_in_all_order() {
    let rows: Vec<Status> = EXPECTED.iter().map(|(s, _)| *s).collect();
    assert_eq!(rows, Status::ALL);
}

#[test]
fn can_move_to_matches_the_table_for_every_ordered_pair() {
    let mut wrong = Vec::new();
    for from in Status::ALL {
        for to in Status::ALL {
            if from.can_move_to(to) != expected(from, to) {
                wrong.push(format!("{from} → {to}: expected {}", expected(from, to)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "lifecycle differs from the table:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn allowed_next_is_the_table_row_in_lifecycle_order() {
    for from in Status::ALL {
        let row: Vec<Status> = Status::ALL
            .into_iter()
            .filter(|&to| expected(from, to))
            .collect();
        assert_eq!(from.allowed_next(), row, "from {from}");
    }
}

#[test]
fn change_status_agrees_with_the_table_for_every_ordered_pair() {
    for from in Status::ALL {
        for to in Status::ALL {
            let mut incident = incident(from);
            let result = incident.change_status(complete(to), now());
            match result {
                Ok(change) => {
                    assert!(expected(from, to), "{from} → {to} should be refused");
                    assert_eq!((change.from, change.to), (from, to));
                    assert_eq!(incident.status, to);
                }
                Err(TransitionError::AlreadyThere(s)) => assert_eq!((s, from), (to, to)),
                Err(TransitionError::NotAllowed { .. }) => {
                    assert!(!expected(from, to), "{from} → {to} should be allowed");
                }
                Err(other) => panic!("{from} → {to}: unexpected {other}"),
            }
        }
    }
}

#[test]
fn nothing_moves_back_to_triage() {
    assert!(Status::ALL.iter().all(|s| !s.can_move_to(Status::Triage)));
}

#[test]
fn triage_cannot_jump_straight_to_resolved() {
    assert!(!Status::Triage.can_move_to(Status::Resolved));
}

#[test]
fn terminal_statuses_allow_nothing() {
    for status in [Status::Closed, Status::Declined, Status::Merged] {
        assert!(status.is_terminal());
        assert_eq!(status.allowed_next(), []);
    }
}

#[test]
fn status_classes_match_the_design() {
    // (status, live, open, terminal)
    let table = [
        (Status::Triage, N, Y, N),
        (Status::Investigating, Y, Y, N),
        (Status::Identified, Y, Y, N),
        (Status::Monitoring, Y, Y, N),
        (Status::Resolved, N, N, N),
        (Status::Closed, N, N, Y),
        (Status::Declined, N, N, Y),
        (Status::Merged, N, N, Y),
    ];
    for (status, live, open, terminal) in table {
        assert_eq!(
            (status.is_live(), status.is_open(), status.is_terminal()),
            (live, open, terminal),
            "{status}"
        );
    }
}

#[test]
fn statuses_round_trip_through_their_wire_spelling() {
    for status in Status::ALL {
        assert_eq!(status.to_string().parse::<Status>(), Ok(status));
    }
    assert_eq!(
        "resolving".parse::<Status>().unwrap_err(),
        "unknown incident status `resolving`: use one of `triage`, `investigating`, \
         `identified`, `monitoring`, `resolved`, `closed`, `declined`, `merged`"
    );
}

// ── Refusals ────────────────────────────────────────────────────────────

#[test]
fn a_refused_move_lists_exactly_the_allowed_next_statuses() {
    for from in Status::ALL {
        for to in Status::ALL
            .into_iter()
            .filter(|&to| to != from && !expected(from, to))
        {
            match refused(from, complete(to)) {
                TransitionError::NotAllowed {
                    from: f,
                    to: t,
                    allowed,
                } => {
                    assert_eq!((f, t), (from, to));
                    assert_eq!(allowed, from.allowed_next());
                }
                other => panic!("{from} → {to}: expected NotAllowed, got {other:?}"),
            }
        }
    }
}

#[test]
fn a_refused_move_says_from_to_and_what_is_allowed() {
    let error = refused(Status::Triage, complete(Status::Resolved));
    assert_eq!(
        error.to_string(),
        "cannot move from `triage` to `resolved`; allowed from `triage`: \
         `investigating`, `identified`, `monitoring`, `declined`, `merged`"
    );
}

#[test]
fn a_move_out_of_a_terminal_status_says_it_is_terminal() {
    let error = refused(Status::Closed, complete(Status::Investigating));
    assert_eq!(
        error.to_string(),
        "cannot move from `closed` to `investigating`; \
         `closed` is terminal: no further status changes are possible"
    );
}

#[test]
fn moving_to_the_current_status_is_already_there() {
    for status in Status::ALL {
        let error = refused(status, complete(status));
        assert_eq!(error, TransitionError::AlreadyThere(status));
        assert_eq!(
            error.to_string(),
            format!("the incident is already `{status}`; nothing to change")
        );
    }
}

// ── Reopen ──────────────────────────────────────────────────────────────

#[test]
fn reopening_needs_a_note() {
    let error = refused(Status::Resolved, to(Status::Investigating));
    let TransitionError::Requires(message) = error else {
        panic!("{error:?}")
    };
    assert!(
        message.contains("`note`") && message.contains("reopen"),
        "{message}"
    );
}

#[test]
fn reopening_clears_resolved_at_and_keeps_the_other_stamps() {
    let mut incident = incident(Status::Resolved);
    incident.resolution = Some("restarted".into());
    let change = incident
        .change_status(with_note(Status::Investigating, "errors are back"), now())
        .unwrap();
    assert_eq!(
        change,
        StatusChange {
            from: Status::Resolved,
            to: Status::Investigating,
            stamped: vec![],
            is_reopen: true,
        }
    );
    assert_eq!(incident.status, Status::Investigating);
    assert_eq!(incident.resolved_at, None);
    assert_eq!(
        incident.resolution, None,
        "the old resolution no longer holds"
    );
    assert_eq!(incident.acknowledged_at, Some(at(ACKNOWLEDGED)));
    assert_eq!(incident.mitigated_at, Some(at(MITIGATED)));
}

#[test]
fn resolving_again_after_a_reopen_stamps_a_new_resolved_at() {
    let mut incident = incident(Status::Resolved);
    incident
        .change_status(with_note(Status::Investigating, "back"), now())
        .unwrap();
    let later = now() + chrono::Duration::hours(1);
    let change = incident
        .change_status(with_note(Status::Resolved, "fixed for real"), later)
        .unwrap();
    assert_eq!(change.stamped, ["resolved_at"]);
    assert!(!change.is_reopen);
    assert_eq!(incident.resolved_at, Some(later));
    assert_eq!(incident.resolution.as_deref(), Some("fixed for real"));
}

#[test]
fn only_resolved_to_investigating_is_a_reopen() {
    for from in Status::ALL {
        for to in from.allowed_next() {
            let change = incident(from).change_status(complete(to), now()).unwrap();
            let reopen = from == Status::Resolved && to == Status::Investigating;
            assert_eq!(change.is_reopen, reopen, "{from} → {to}");
        }
    }
}

// ── Resolve ─────────────────────────────────────────────────────────────

#[test]
fn resolving_needs_a_resolution_note() {
    for from in [
        Status::Investigating,
        Status::Identified,
        Status::Monitoring,
    ] {
        let error = refused(from, to(Status::Resolved));
        let TransitionError::Requires(message) = error else {
            panic!("{error:?}")
        };
        assert!(message.contains("resolution"), "{message}");
    }
}

#[test]
fn resolving_without_monitoring_stamps_mitigated_and_resolved_and_sets_the_resolution() {
    let mut incident = incident(Status::Investigating);
    let change = incident
        .change_status(with_note(Status::Resolved, "restarted pods"), now())
        .unwrap();
    assert_eq!(change.stamped, ["mitigated_at", "resolved_at"]);
    assert_eq!(incident.mitigated_at, Some(now()));
    assert_eq!(incident.resolved_at, Some(now()));
    assert_eq!(incident.resolution.as_deref(), Some("restarted pods"));
    assert_eq!(incident.status, Status::Resolved);
}

#[test]
fn resolving_keeps_an_earlier_mitigated_at() {
    let mut incident = incident(Status::Monitoring);
    let change = incident
        .change_status(with_note(Status::Resolved, "stable for 1h"), now())
        .unwrap();
    assert_eq!(change.stamped, ["resolved_at"]);
    assert_eq!(incident.mitigated_at, Some(at(MITIGATED)));
    assert_eq!(incident.resolved_at, Some(now()));
}

// ── First-entry stamps ──────────────────────────────────────────────────

#[test]
fn leaving_triage_stamps_acknowledged_at_plus_the_entered_state() {
    let cases: [(Status, &[&str]); 3] = [
        (Status::Investigating, &["acknowledged_at"]),
        (Status::Identified, &["acknowledged_at", "identified_at"]),
        (Status::Monitoring, &["acknowledged_at", "mitigated_at"]),
    ];
    for (target, stamps) in cases {
        let mut incident = incident(Status::Triage);
        let change = incident.change_status(to(target), now()).unwrap();
        assert_eq!(change.stamped, stamps, "triage → {target}");
        assert_eq!(incident.acknowledged_at, Some(now()));
    }
}

#[test]
fn declining_or_merging_from_triage_does_not_acknowledge() {
    for transition in [
        to(Status::Declined),
        merge_into(target(Status::Investigating)),
    ] {
        let mut incident = incident(Status::Triage);
        let change = incident.change_status(transition, now()).unwrap();
        assert_eq!(change.stamped, Vec::<&str>::new());
        assert_eq!(incident.acknowledged_at, None);
    }
}

#[test]
fn entering_identified_stamps_identified_at_only_the_first_time() {
    let mut incident = incident(Status::Investigating);
    let first = incident
        .change_status(to(Status::Identified), now())
        .unwrap();
    assert_eq!(first.stamped, ["identified_at"]);
    assert_eq!(incident.identified_at, Some(now()));

    let later = now() + chrono::Duration::minutes(30);
    incident
        .change_status(to(Status::Investigating), later)
        .unwrap();
    let second = incident
        .change_status(to(Status::Identified), later)
        .unwrap();
    assert_eq!(second.stamped, Vec::<&str>::new());
    assert_eq!(incident.identified_at, Some(now()));
}

#[test]
fn entering_monitoring_stamps_mitigated_at_only_the_first_time() {
    let mut incident = incident(Status::Identified);
    let first = incident
        .change_status(to(Status::Monitoring), now())
        .unwrap();
    assert_eq!(first.stamped, ["mitigated_at"]);
    assert_eq!(incident.mitigated_at, Some(now()));

    let later = now() + chrono::Duration::minutes(30);
    incident
        .change_status(to(Status::Identified), later)
        .unwrap();
    let second = incident
        .change_status(to(Status::Monitoring), later)
        .unwrap();
    assert_eq!(second.stamped, Vec::<&str>::new());
    assert_eq!(incident.mitigated_at, Some(now()));
}

#[test]
fn closing_stamps_closed_at() {
    let mut incident = incident(Status::Resolved);
    let change = incident.change_status(to(Status::Closed), now()).unwrap();
    assert_eq!(change.stamped, ["closed_at"]);
    assert_eq!(incident.closed_at, Some(now()));
}

#[test]
fn moves_between_live_states_already_visited_stamp_nothing() {
    // The fixture for `monitoring` has been through investigating and identified.
    for target in [Status::Investigating, Status::Identified] {
        let before = incident(Status::Monitoring);
        let mut after = before.clone();
        let change = after.change_status(to(target), now()).unwrap();
        assert_eq!(change.stamped, Vec::<&str>::new(), "monitoring → {target}");
        assert_eq!(
            after,
            Incident {
                status: target,
                ..before
            }
        );
    }
}

#[test]
fn stamped_lists_exactly_the_timestamps_that_changed() {
    let stamp = |i: &Incident, name: &str| match name {
        "acknowledged_at" => i.acknowledged_at,
        "identified_at" => i.identified_at,
        "mitigated_at" => i.mitigated_at,
        "resolved_at" => i.resolved_at,
        "closed_at" => i.closed_at,
        other => panic!("unknown stamp {other}"),
    };
    let names = [
        "acknowledged_at",
        "identified_at",
        "mitigated_at",
        "resolved_at",
        "closed_at",
    ];
    for from in Status::ALL {
        for to in from.allowed_next() {
            let before = incident(from);
            let mut after = before.clone();
            let change = after.change_status(complete(to), now()).unwrap();
            for name in names {
                let newly_set =
                    stamp(&before, name).is_none() && stamp(&after, name) == Some(now());
                assert_eq!(
                    change.stamped.contains(&name),
                    newly_set,
                    "{from} → {to}: {name} (stamped {:?})",
                    change.stamped
                );
            }
        }
    }
}

// ── Merge ───────────────────────────────────────────────────────────────

#[test]
fn merging_needs_merged_into() {
    let error = refused(Status::Investigating, to(Status::Merged));
    let TransitionError::Requires(message) = error else {
        panic!("{error:?}")
    };
    assert!(message.contains("`merged_into`"), "{message}");
}

#[test]
fn an_incident_cannot_be_merged_into_itself() {
    let me = incident(Status::Investigating);
    let error = refused(
        Status::Investigating,
        merge_into(MergeTarget {
            id: me.id,
            number: me.number,
            status: me.status,
        }),
    );
    let TransitionError::Requires(message) = error else {
        panic!("{error:?}")
    };
    assert!(message.contains("itself"), "{message}");
}

#[test]
fn merging_into_a_terminal_incident_is_refused_naming_it_and_its_status() {
    for status in [Status::Closed, Status::Declined, Status::Merged] {
        let error = refused(Status::Triage, merge_into(target(status)));
        let TransitionError::Requires(message) = error else {
            panic!("{error:?}")
        };
        assert!(message.contains("INC-7"), "{message}");
        assert!(message.contains(&format!("`{status}`")), "{message}");
    }
}

#[test]
fn merging_into_an_incident_that_is_not_terminal_sets_merged_into() {
    let targets = [
        Status::Triage,
        Status::Investigating,
        Status::Identified,
        Status::Monitoring,
        Status::Resolved,
    ];
    for status in targets {
        let mut incident = incident(Status::Identified);
        let change = incident
            .change_status(merge_into(target(status)), now())
            .unwrap();
        assert_eq!(incident.status, Status::Merged);
        assert_eq!(incident.merged_into, Some(other_id()));
        assert_eq!(change.stamped, Vec::<&str>::new());
    }
}

#[test]
fn merged_into_is_refused_for_any_other_target_status() {
    for from in [Status::Triage, Status::Investigating, Status::Resolved] {
        for to in from
            .allowed_next()
            .into_iter()
            .filter(|&s| s != Status::Merged)
        {
            let transition = Transition {
                merged_into: Some(target(Status::Investigating)),
                ..complete(to)
            };
            let error = refused(from, transition);
            let TransitionError::Requires(message) = error else {
                panic!("{error:?}")
            };
            assert!(
                message.contains("`merged_into`"),
                "{from} → {to}: {message}"
            );
        }
    }
}
