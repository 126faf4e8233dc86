//! Tests of `notification`: event types, events from timeline entries, subscriptions.

use chrono::TimeZone;

use super::*;
use crate::domain::postmortem::PostmortemStatus;
use crate::domain::status_update::{AffectedService, Audience, PageStatus, ServiceState};
use crate::domain::timeline::data::{
    Declaration, EditAction, EditedObject, FieldChanged, PostmortemUpdated, StatusMoved, StatusStep,
};

fn facts() -> IncidentFacts {
    IncidentFacts {
        number: 42,
        title: "Checkout errors".into(),
        severity: Severity::Sev2,
        status: Status::Investigating,
        services: vec!["checkout".into(), "payments".into()],
        commander: Some("alice".into()),
    }
}

fn update(audience: Audience) -> StakeholderUpdate {
    StakeholderUpdate {
        audience,
        status: PageStatus::Identified,
        services: vec![AffectedService {
            service: "checkout".into(),
            state: ServiceState::PartialOutage,
        }],
        next_update_at: None,
        public_title: None,
    }
}

fn event(detail: EventDetail) -> Event {
    Event {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_002a),
        occurred_at: Utc
            .with_ymd_and_hms(2026, 3, 1, 10, 0, 0)
            .single()
            .unwrap_or_default(),
        incident: facts(),
        detail,
        body: "Card payments fail".into(),
    }
}

#[test]
fn event_types_have_wire_names() {
    let wire: Vec<&str> = EventType::ALL.iter().map(|t| t.wire_type()).collect();
    assert_eq!(
        wire,
        [
            "incident.declared",
            "incident.severity_changed",
            "incident.status_changed",
            "incident.resolved",
            "incident.status_update",
            "incident.postmortem_published",
            "action_item.overdue",
        ]
    );
    assert_eq!(
        "action_item_overdue".parse(),
        Ok(EventType::ActionItemOverdue)
    );
    assert_eq!("msteams".parse::<TargetKind>().ok(), None);
    assert_eq!(
        <TargetKind as crate::domain::vocabulary::Vocabulary>::parse_loose("MSTeams"),
        Some(TargetKind::Teams)
    );
}

#[test]
fn an_event_has_a_reference_a_webhook_id_and_words() {
    let declared = event(EventDetail::Declared);
    assert_eq!(declared.incident.reference(), "INC-42");
    assert_eq!(
        declared.webhook_id(),
        "msg_0190000000007000800000000000002a"
    );
    assert_eq!(declared.headline(), "Declared as SEV2");
    assert_eq!(declared.words(), "", "the headline and title say it");
    let posted = event(EventDetail::StatusUpdate {
        update: update(Audience::Public),
        message: "We are fixing it".into(),
    });
    assert_eq!(posted.event_type(), EventType::StatusUpdate);
    assert_eq!(posted.headline(), "Status update for public: identified");
    assert_eq!(posted.words(), "We are fixing it");
}

#[test]
fn incident_facts_decode_from_the_outbox_shape() {
    let facts: IncidentFacts = serde_saphyr::from_str(
        "{number: 42, title: Checkout errors, severity: SEV2, status: investigating, \
         services: [checkout, payments], commander: alice}",
    )
    .unwrap();
    assert_eq!(facts, self::facts());
}

#[test]
fn timeline_entries_become_events() {
    let moved = |from, to| {
        EntryData::StatusMoved(StatusMoved {
            from,
            to,
            stamped: vec![],
            reopen: false,
            merged_into: None,
        })
    };
    let severity = |from: &str, to: &str| {
        EntryData::FieldChanged(FieldChanged {
            field: "severity".into(),
            from: from.into(),
            to: to.into(),
        })
    };
    let postmortem = |to: Option<PostmortemStatus>| {
        EntryData::PostmortemUpdated(PostmortemUpdated {
            object: EditedObject::Postmortem,
            action: EditAction::Updated,
            version: 3,
            sections: vec![],
            status: to.map(|to| StatusStep {
                from: PostmortemStatus::InReview,
                to,
            }),
        })
    };
    let declared = EntryData::Declared(Declaration {
        to: Status::Triage,
        severity: Severity::Sev1,
    });
    let posted = EntryData::StakeholderUpdate(update(Audience::Internal));
    let cases = [
        (
            EntryKind::StatusChange,
            Some(declared),
            Some(EventDetail::Declared),
        ),
        (
            EntryKind::StatusChange,
            Some(moved(Status::Triage, Status::Investigating)),
            Some(EventDetail::StatusChanged {
                from: Status::Triage,
                to: Status::Investigating,
            }),
        ),
        (
            EntryKind::StatusChange,
            Some(moved(Status::Monitoring, Status::Resolved)),
            Some(EventDetail::Resolved {
                from: Status::Monitoring,
            }),
        ),
        (
            EntryKind::SeverityChange,
            Some(severity("SEV3", "SEV1")),
            Some(EventDetail::SeverityChanged {
                from: Severity::Sev3,
                to: Severity::Sev1,
            }),
        ),
        (
            EntryKind::SeverityChange,
            Some(severity("SEV3", "huge")),
            None,
        ),
        (
            EntryKind::StakeholderUpdate,
            Some(posted),
            Some(EventDetail::StatusUpdate {
                update: update(Audience::Internal),
                message: "the body".into(),
            }),
        ),
        (
            EntryKind::FieldChange,
            Some(postmortem(Some(PostmortemStatus::Published))),
            Some(EventDetail::PostmortemPublished),
        ),
        (
            EntryKind::FieldChange,
            Some(postmortem(Some(PostmortemStatus::Draft))),
            None,
        ),
        (EntryKind::FieldChange, Some(postmortem(None)), None),
        (EntryKind::FieldChange, Some(severity("SEV3", "SEV1")), None),
        (EntryKind::Note, None, None),
        (EntryKind::StatusChange, None, None),
    ];
    for (kind, data, expected) in cases {
        assert_eq!(
            detail_of_entry(kind, data.as_ref(), "the body"),
            expected,
            "{kind} {data:?}"
        );
    }
}

#[test]
fn an_empty_subscription_wants_everything() {
    let all = Subscription::default();
    assert!(all.wants(&event(EventDetail::Declared)));
    assert!(all.wants(&event(EventDetail::PostmortemPublished)));
}

#[test]
fn subscriptions_filter_by_type_and_status_changed_includes_resolved() {
    let status = Subscription {
        events: vec![EventType::StatusChanged],
        ..Subscription::default()
    };
    let resolved = event(EventDetail::Resolved {
        from: Status::Monitoring,
    });
    assert!(status.wants(&resolved));
    assert!(!status.wants(&event(EventDetail::Declared)));
    let only_resolved = Subscription {
        events: vec![EventType::Resolved],
        ..Subscription::default()
    };
    assert!(only_resolved.wants(&resolved));
    assert!(!only_resolved.wants(&event(EventDetail::StatusChanged {
        from: Status::Triage,
        to: Status::Investigating,
    })));
}

#[test]
fn audiences_filter_status_updates_only() {
    let public = Subscription {
        audiences: vec![Audience::Public],
        ..Subscription::default()
    };
    let posted = |audience| {
        event(EventDetail::StatusUpdate {
            update: update(audience),
            message: "m".into(),
        })
    };
    assert!(public.wants(&posted(Audience::Public)));
    assert!(!public.wants(&posted(Audience::Internal)));
    assert!(public.wants(&event(EventDetail::Declared)));
}

#[test]
fn severities_and_services_filter_the_incident() {
    let major = Subscription {
        severities: vec![Severity::Sev1],
        ..Subscription::default()
    };
    assert!(!major.wants(&event(EventDetail::Declared)));
    assert!(major.wants(&event(EventDetail::SeverityChanged {
        from: Severity::Sev1,
        to: Severity::Sev2,
    })));
    assert!(!major.wants(&event(EventDetail::SeverityChanged {
        from: Severity::Sev3,
        to: Severity::Sev2,
    })));
    let payments = Subscription {
        services: vec!["payments".into(), "search".into()],
        ..Subscription::default()
    };
    assert!(payments.wants(&event(EventDetail::Declared)));
    let search = Subscription {
        services: vec!["search".into()],
        ..Subscription::default()
    };
    assert!(!search.wants(&event(EventDetail::Declared)));
}
