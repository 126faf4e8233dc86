//! Tests of `notify`: each format's message for an event.

use chrono::{TimeZone, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::*;
use crate::domain::notification::{EventDetail, IncidentFacts};
use crate::domain::status_update::{
    AffectedService, Audience, PageStatus, ServiceState, StakeholderUpdate,
};
use crate::domain::{Severity, Status};

const URL: &str = "https://firebreak.example.com/incidents/INC-42";

fn target(kind: TargetKind) -> Target {
    Target {
        name: "t".into(),
        kind,
        url: Secret::from("https://hooks.example.com/x".to_owned()),
        secrets: vec![],
        subscription: Subscription::default(),
    }
}

fn event(detail: EventDetail, body: &str) -> Event {
    Event {
        id: Uuid::from_u128(42),
        occurred_at: Utc
            .with_ymd_and_hms(2026, 3, 1, 10, 0, 0)
            .single()
            .unwrap_or_default(),
        incident: IncidentFacts {
            number: 42,
            title: "Checkout <errors> & timeouts".into(),
            severity: Severity::Sev1,
            status: Status::Identified,
            services: vec!["checkout".into()],
            commander: Some("alice".into()),
        },
        detail,
        body: body.into(),
    }
}

fn status_update(message: &str) -> Event {
    let update = StakeholderUpdate {
        audience: Audience::Stakeholders,
        status: PageStatus::Identified,
        services: vec![AffectedService {
            service: "checkout".into(),
            state: ServiceState::PartialOutage,
        }],
        next_update_at: Utc.with_ymd_and_hms(2026, 3, 1, 10, 30, 0).single(),
        public_title: None,
    };
    event(
        EventDetail::StatusUpdate {
            update,
            message: message.into(),
        },
        message,
    )
}

fn json(target: &Target, event: &Event, url: Option<&str>) -> Value {
    serde_json::from_slice(&render(target, event, url)).unwrap()
}

#[test]
fn slack_gets_block_kit_with_a_fallback_escaped() {
    let message = json(
        &target(TargetKind::Slack),
        &status_update("Payments <fail> for 5% & rising"),
        Some(URL),
    );
    assert_eq!(
        message["text"],
        "[SEV1] INC-42 Checkout &lt;errors&gt; &amp; timeouts: Status update for stakeholders: identified"
    );
    let blocks = message["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50);
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(
        blocks[0]["text"]["text"],
        "[SEV1] INC-42 Checkout <errors> & timeouts"
    );
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields[..4],
        [
            "*Status*\nidentified",
            "*Severity*\nSEV1",
            "*Commander*\nalice",
            "*Services*\ncheckout"
        ]
    );
    assert_eq!(
        blocks[2]["text"]["text"],
        "*Status update for stakeholders: identified*\nPayments &lt;fail&gt; for 5% &amp; rising\n• checkout: partial outage"
    );
    let context = &blocks[3]["elements"];
    assert_eq!(context[0]["text"], format!("<{URL}|INC-42>"));
    assert_eq!(
        context[1]["text"],
        "Next update by <!date^1772361000^{date_short_pretty} at {time}|2026-03-01 10:30 UTC>"
    );
}

#[test]
fn slack_limits_are_kept_by_cutting() {
    let mut long = status_update(&"word & ".repeat(2000));
    long.incident.title = "t".repeat(300);
    let message = json(&target(TargetKind::Slack), &long, None);
    let blocks = &message["blocks"];
    let header = blocks[0]["text"]["text"].as_str().unwrap();
    assert_eq!(header.chars().count(), 150);
    assert!(header.ends_with('…'));
    let section = blocks[2]["text"]["text"].as_str().unwrap();
    assert!(
        section.chars().count() <= 3000,
        "{}",
        section.chars().count()
    );
    assert!(
        section.ends_with("&amp; …") || section.ends_with(" …") || section.ends_with("d…"),
        "{section:?}"
    );
    assert!(!section.contains("&am…"));
    assert!(message["text"].as_str().unwrap().chars().count() <= 3000);
    assert_eq!(blocks[3]["elements"][0]["text"], "INC-42");
}

#[test]
fn teams_gets_an_adaptive_card() {
    let declared = event(EventDetail::Declared, "Checkout is failing");
    let message = json(&target(TargetKind::Teams), &declared, Some(URL));
    assert_eq!(message["type"], "message");
    let attachment = &message["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(attachment["contentUrl"].is_null());
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(
        card["body"][0]["text"],
        "[SEV1] INC-42 Checkout <errors> & timeouts"
    );
    assert_eq!(card["body"][0]["weight"], "bolder");
    assert_eq!(card["body"][1]["type"], "FactSet");
    assert_eq!(card["body"][1]["facts"][2]["title"], "Commander");
    assert_eq!(
        card["body"][2]["text"], "**Declared as SEV1**",
        "the title already says what is wrong"
    );
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(card["actions"][0]["url"], URL);
    let without = json(&target(TargetKind::Teams), &declared, None);
    assert!(
        without["attachments"][0]["content"]
            .get("actions")
            .is_none()
    );
}

#[test]
fn webhooks_get_the_standard_envelope() {
    let changed = event(
        EventDetail::SeverityChanged {
            from: Severity::Sev3,
            to: Severity::Sev1,
        },
        "Severity raised",
    );
    let hook = target(TargetKind::Webhook);
    assert_eq!(
        render(&hook, &changed, Some(URL)),
        render(&hook, &changed, Some(URL))
    );
    let payload = json(&hook, &changed, Some(URL));
    assert_eq!(payload["type"], "incident.severity_changed");
    assert_eq!(payload["timestamp"], "2026-03-01T10:00:00Z");
    let data = &payload["data"];
    assert_eq!(data["incident"]["reference"], "INC-42");
    assert_eq!(data["incident"]["number"], 42);
    assert_eq!(data["incident"]["severity"], "SEV1");
    assert_eq!(data["incident"]["status"], "identified");
    assert_eq!(data["incident"]["services"][0], "checkout");
    assert_eq!(data["incident"]["commander"], "alice");
    assert_eq!(data["incident"]["url"], URL);
    assert_eq!(
        (&data["from"], &data["to"]),
        (&"SEV3".into(), &"SEV1".into())
    );
    assert_eq!(data["text"], "Severity raised");

    let update = json(&hook, &status_update("Fixing"), None);
    assert_eq!(update["type"], "incident.status_update");
    assert_eq!(update["data"]["audience"], "stakeholders");
    assert_eq!(update["data"]["services"][0]["state"], "partial_outage");
    assert_eq!(update["data"]["next_update_at"], "2026-03-01T10:30:00Z");
    assert!(update["data"]["incident"]["url"].is_null());

    let overdue = event(
        EventDetail::ActionItemOverdue {
            action_item: "AI-7".into(),
            title: "Add a canary".into(),
            owner: None,
            due_on: "2026-02-27".into(),
        },
        "",
    );
    let overdue = json(&hook, &overdue, None);
    assert_eq!(overdue["type"], "action_item.overdue");
    assert_eq!(overdue["data"]["action_item"]["reference"], "AI-7");
    assert_eq!(overdue["data"]["action_item"]["due_on"], "2026-02-27");
}

#[test]
fn webhook_payloads_stay_under_20_kb() {
    let hook = target(TargetKind::Webhook);
    for text in [
        "\u{1}".repeat(8000),
        "é".repeat(30_000),
        "x".repeat(100_000),
    ] {
        let body = render(&hook, &status_update(&text), Some(URL));
        assert!(body.len() <= 20 * 1024, "{}", body.len());
        let payload: Value = serde_json::from_slice(&body).unwrap();
        assert!(payload["data"]["text"].as_str().unwrap().ends_with('…'));
    }
}
