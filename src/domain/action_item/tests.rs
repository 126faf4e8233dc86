//! Unit tests for `domain::action_item`.

use chrono::NaiveDate;

use super::*;
use crate::domain::actor::Channel;
use crate::domain::incident::fixtures::at;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 5, 1).unwrap()
}

fn request() -> ActionItemRequest {
    ActionItemRequest {
        title: "  Alert on pool saturation  ".into(),
        owner: Some(" bob ".into()),
        due_on: Some("2024-05-15".into()),
        priority: Priority::P2,
        kind: ActionItemKind::Detect,
        external_url: Some("https://tracker.example.com/OPS-12".into()),
    }
}

fn item(status: ActionItemStatus, due_on: Option<&str>) -> ActionItem {
    ActionItem {
        id: Uuid::nil(),
        number: 7,
        incident_id: Uuid::nil(),
        incident_number: 42,
        title: "Alert on pool saturation".into(),
        owner: None,
        due_on: due_on.map(|d| d.parse().unwrap()),
        priority: Priority::P2,
        kind: ActionItemKind::Detect,
        status,
        external_url: None,
        version: 1,
        created_by: Actor {
            principal: "alice".into(),
            client: None,
            channel: Channel::Mcp,
        },
        created_at: at("2024-05-01T10:00:00Z"),
        updated_at: at("2024-05-01T10:00:00Z"),
        completed_at: None,
    }
}

#[test]
fn references_are_accepted_as_ai_number_plain_number_hash_or_uuid() {
    for raw in ["AI-7", "ai-7", " 7 ", "#7"] {
        assert_eq!(
            ActionItemRef::parse("action_item", raw),
            Ok(ActionItemRef::Number(7))
        );
    }
    let id = "0190a000-0000-7000-8000-000000000007";
    assert_eq!(
        ActionItemRef::parse("action_item", id),
        Ok(ActionItemRef::Id(id.parse().unwrap()))
    );
    for raw in [
        "AI-",
        "AI-x",
        "INC-7",
        "0",
        "-1",
        "",
        "99999999999999999999",
    ] {
        let err = ActionItemRef::parse("action_item", raw).unwrap_err();
        assert_eq!(err.field, "action_item");
        assert!(err.reason.contains("AI-7"), "{raw}: {}", err.reason);
    }
    assert_eq!(ActionItemRef::Number(3).to_string(), "AI-3");
}

#[test]
fn a_new_item_is_trimmed_and_checked_field_by_field() {
    let new = NewActionItem::parse(request(), today()).unwrap();
    assert_eq!(new.title, "Alert on pool saturation");
    assert_eq!(new.owner.as_deref(), Some("bob"));
    assert_eq!(new.due_on, NaiveDate::from_ymd_opt(2024, 5, 15));
    let cases = [
        (
            "title",
            ActionItemRequest {
                title: " ".into(),
                ..request()
            },
        ),
        (
            "owner",
            ActionItemRequest {
                owner: Some("".into()),
                ..request()
            },
        ),
        (
            "due_on",
            ActionItemRequest {
                due_on: Some("15/05/2024".into()),
                ..request()
            },
        ),
        (
            "due_on",
            ActionItemRequest {
                due_on: Some("2024-02-30".into()),
                ..request()
            },
        ),
        (
            "due_on",
            ActionItemRequest {
                due_on: Some("2024-04-29".into()),
                ..request()
            },
        ),
        (
            "external_url",
            ActionItemRequest {
                external_url: Some("ftp://x.example".into()),
                ..request()
            },
        ),
        (
            "external_url",
            ActionItemRequest {
                external_url: Some("https://".into()),
                ..request()
            },
        ),
        (
            "external_url",
            ActionItemRequest {
                external_url: Some("https://a b".into()),
                ..request()
            },
        ),
    ];
    for (field, bad) in cases {
        let err = NewActionItem::parse(bad, today()).unwrap_err();
        assert_eq!(err.field, field, "{err}");
    }
    let yesterday = ActionItemRequest {
        due_on: Some("2024-04-30".into()),
        ..request()
    };
    assert!(
        NewActionItem::parse(yesterday, today()).is_ok(),
        "one day of slack for callers west of UTC"
    );
    let past = NewActionItem::parse(
        ActionItemRequest {
            due_on: Some("2023-05-01".into()),
            ..request()
        },
        today(),
    )
    .unwrap_err();
    assert!(
        past.reason.contains("today is 2024-05-01"),
        "{}",
        past.reason
    );
}

#[test]
fn overdue_means_outstanding_and_due_before_today() {
    assert!(item(ActionItemStatus::Open, Some("2024-04-30")).is_overdue(today()));
    assert!(item(ActionItemStatus::InProgress, Some("2024-04-30")).is_overdue(today()));
    assert!(!item(ActionItemStatus::Open, Some("2024-05-01")).is_overdue(today()));
    assert!(!item(ActionItemStatus::Done, Some("2024-04-30")).is_overdue(today()));
    assert!(!item(ActionItemStatus::WontDo, Some("2024-04-30")).is_overdue(today()));
    assert!(!item(ActionItemStatus::Open, None).is_overdue(today()));
}

#[test]
fn applying_changes_reports_what_changed_and_stamps_completion() {
    let mut ai = item(ActionItemStatus::Open, None);
    let changes = ActionItemChanges {
        status: Some(ActionItemStatus::Done),
        owner: Some("carol".into()),
        title: Some("Alert on pool saturation".into()),
        ..ActionItemChanges::default()
    };
    let now = at("2024-05-02T09:00:00Z");
    let changed = ai.apply(changes.parse(today()).unwrap(), now);
    let fields: Vec<(&str, &str, &str)> = changed
        .iter()
        .map(|c| (c.field, c.from.as_str(), c.to.as_str()))
        .collect();
    assert_eq!(
        fields,
        [("status", "open", "done"), ("owner", "—", "carol")]
    );
    assert_eq!(ai.completed_at, Some(now));
    let reopen = ActionItemChanges {
        status: Some(ActionItemStatus::InProgress),
        owner: Some("".into()),
        ..ActionItemChanges::default()
    };
    let changed = ai.apply(reopen.parse(today()).unwrap(), now);
    assert_eq!(changed.len(), 2);
    assert_eq!((ai.completed_at, ai.owner.clone()), (None, None));
}

#[test]
fn an_edit_needs_at_least_one_field_and_valid_values() {
    let none = ActionItemChanges::default().parse(today()).unwrap_err();
    assert_eq!(none.field, "action_item");
    assert!(
        none.reason
            .contains("title, owner, due_on, priority, status or external_url")
    );
    let bad_date = ActionItemChanges {
        due_on: Some("tomorrow".into()),
        ..ActionItemChanges::default()
    };
    assert_eq!(bad_date.parse(today()).unwrap_err().field, "due_on");
}

#[test]
fn wire_names_round_trip() {
    for priority in Priority::ALL {
        assert_eq!(priority.as_str().parse::<Priority>(), Ok(priority));
    }
    for kind in ActionItemKind::ALL {
        assert_eq!(kind.as_str().parse::<ActionItemKind>(), Ok(kind));
    }
    for status in ActionItemStatus::ALL {
        assert_eq!(status.as_str().parse::<ActionItemStatus>(), Ok(status));
    }
    assert!("P0".parse::<Priority>().is_err());
}
