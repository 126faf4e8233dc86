//! PagerDuty Events API v2, unchanged: alert events (`/v2/enqueue`: trigger, acknowledge,
//! resolve by `dedup_key`) and change events (`/v2/change/enqueue`). The `routing_key` is the
//! source's secret. A trigger without `dedup_key` gets one derived from the event itself (and
//! returned), so a sender's retry of the same event is the same alert.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::signals::change::is_failure;
use crate::domain::signals::{ActorKind, AlertEvent, ChangeKind, EventAction, NewChange};
use crate::domain::vocabulary::Vocabulary;
use crate::ingest::formats::{FormatError, Parsed, digest, json, scalar_text};

/// Most `custom_details` entries copied into labels.
const DETAILS_MAX: usize = 40;

/// An Events v2 body: its routing key (which names the source) and what it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct EventsV2 {
    /// The routing key.
    pub routing_key: String,
    /// The event.
    pub parsed: Parsed,
}

#[derive(Deserialize)]
struct AlertBody {
    routing_key: String,
    event_action: String,
    #[serde(default)]
    dedup_key: Option<String>,
    #[serde(default)]
    payload: Option<Payload>,
    #[serde(default)]
    client_url: Option<String>,
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Deserialize)]
struct Payload {
    summary: String,
    source: String,
    severity: String,
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    custom_details: Option<Value>,
}

#[derive(Deserialize)]
struct Link {
    href: String,
}

#[derive(Deserialize)]
struct ChangeBody {
    routing_key: String,
    payload: ChangePayload,
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Deserialize)]
struct ChangePayload {
    summary: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    custom_details: Option<Value>,
}

impl EventsV2 {
    /// An alert event.
    pub fn parse(body: &[u8]) -> Result<EventsV2, FormatError> {
        let event: AlertBody = json(body)?;
        let routing_key = event.routing_key.clone();
        let action = match event.event_action.as_str() {
            "trigger" => EventAction::Trigger,
            "acknowledge" => EventAction::Acknowledge,
            "resolve" => EventAction::Resolve,
            other => {
                return Err(FormatError::new(
                    "event_action",
                    format!("is \"{other}\"; expected \"trigger\", \"acknowledge\" or \"resolve\""),
                ));
            }
        };
        if let Some(key) = &event.dedup_key
            && key.chars().count() > 255
        {
            return Err(FormatError::new(
                "dedup_key",
                "is longer than 255 characters",
            ));
        }
        let parsed = if action == EventAction::Trigger {
            trigger(event, body)?
        } else {
            let key = event
                .dedup_key
                .filter(|k| !k.trim().is_empty())
                .ok_or_else(|| {
                    FormatError::new("dedup_key", format!("is required to {}", action.as_str()))
                })?;
            AlertEvent::new(action, key.clone(), key)
        };
        Ok(EventsV2 {
            routing_key,
            parsed: Parsed::Alerts(vec![parsed]),
        })
    }

    /// A change event.
    pub fn parse_change(body: &[u8]) -> Result<EventsV2, FormatError> {
        let event: ChangeBody = json(body)?;
        let details = event.payload.custom_details.unwrap_or(Value::Null);
        let text = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| details.get(*n).and_then(scalar_text))
        };
        let kind = text(&["kind", "type", "change_type"])
            .and_then(|k| ChangeKind::parse_loose(&k))
            .unwrap_or(ChangeKind::Deploy);
        // The event has no id of its own: its content is its identity (routing key aside).
        let mut identity = serde_json::json!({"payload": {
            "summary": event.payload.summary, "source": event.payload.source,
            "timestamp": event.payload.timestamp, "custom_details": details}});
        identity["links"] = Value::from(
            event
                .links
                .iter()
                .map(|l| l.href.clone())
                .collect::<Vec<_>>(),
        );
        let mut change = NewChange::new(
            format!("pd:{}", digest(identity.to_string().as_bytes())),
            kind,
            event.payload.summary,
        );
        change.services = match details.get("services") {
            Some(Value::Array(list)) => list.iter().filter_map(scalar_text).collect(),
            _ => text(&["service"]).into_iter().collect(),
        };
        change.environment = text(&["environment", "env"]);
        change.sha = text(&["sha", "commit", "revision"]);
        change.git_ref = text(&["ref", "branch", "tag"]);
        change.actor = text(&["actor", "user", "author"]).or(event.payload.source);
        change.actor_kind = text(&["actor_kind"]).and_then(|k| ActorKind::parse_loose(&k));
        change.status = text(&["status", "result"]);
        change.failed = change.status.as_deref().is_some_and(is_failure);
        change.url = event.links.into_iter().next().map(|l| l.href);
        change.occurred_at = event.payload.timestamp;
        Ok(EventsV2 {
            routing_key: event.routing_key,
            parsed: Parsed::Changes(vec![change]),
        })
    }

    /// What the event carries.
    pub fn into_parsed(self) -> Parsed {
        self.parsed
    }
}

/// The routing key of an Events v2 body, if it has one (read before anything else, so an
/// unauthenticated sender learns nothing about what else is wrong).
pub fn routing_key_of(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Key {
        routing_key: String,
    }
    serde_json::from_slice::<Key>(body)
        .ok()
        .map(|k| k.routing_key)
}

fn trigger(event: AlertBody, body: &[u8]) -> Result<AlertEvent, FormatError> {
    let payload = event.payload.ok_or_else(|| {
        FormatError::new(
            "payload",
            "is required to trigger (summary, source, severity)",
        )
    })?;
    if payload.summary.trim().is_empty() {
        return Err(FormatError::new("payload.summary", "is empty"));
    }
    if payload.summary.chars().count() > 1024 {
        return Err(FormatError::new(
            "payload.summary",
            "is longer than 1024 characters",
        ));
    }
    if !matches!(
        payload.severity.as_str(),
        "critical" | "error" | "warning" | "info"
    ) {
        return Err(FormatError::new(
            "payload.severity",
            format!(
                "is \"{}\"; expected \"critical\", \"error\", \"warning\" or \"info\"",
                payload.severity
            ),
        ));
    }
    let key = match event.dedup_key.filter(|k| !k.trim().is_empty()) {
        Some(key) => key,
        None => format!("fb-{}", digest(&without_routing_key(body))),
    };
    let mut labels = BTreeMap::new();
    if let Some(Value::Object(details)) = &payload.custom_details {
        for (name, value) in details.iter().take(DETAILS_MAX) {
            if let Some(text) = scalar_text(value) {
                labels.insert(name.clone(), text);
            }
        }
    }
    labels.insert("source".into(), payload.source.clone());
    labels.insert("severity".into(), payload.severity.clone());
    let alertname = payload
        .class
        .clone()
        .unwrap_or_else(|| payload.summary.clone());
    labels.insert("alertname".into(), alertname);
    for (name, value) in [
        ("component", &payload.component),
        ("group", &payload.group),
        ("class", &payload.class),
    ] {
        if let Some(value) = value {
            labels.insert(name.into(), value.clone());
        }
    }
    let mut alert = AlertEvent::new(EventAction::Trigger, key, payload.summary);
    alert.severity = Some(payload.severity);
    alert.starts_at = payload.timestamp;
    alert.source_url = event
        .client_url
        .or_else(|| event.links.into_iter().next().map(|l| l.href));
    alert.services = labels.get("service").cloned().into_iter().collect();
    alert.description = payload.custom_details.filter(|d| !d.is_null()).map(|d| {
        if let Value::String(s) = d {
            s
        } else {
            d.to_string()
        }
    });
    alert.labels = labels;
    Ok(alert)
}

/// The body re-serialised without `routing_key`, for a derived identity that does not leak
/// (or depend on) the secret.
fn without_routing_key(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            map.remove("routing_key");
            Value::Object(map).to_string().into_bytes()
        }
        _ => body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIGGER: &str = r#"{"routing_key":"<key>","event_action":"trigger","dedup_key":"checkout-5xx-prod",
 "payload":{"summary":"Checkout 5xx > 5%","source":"checkout.prod","severity":"critical",
  "component":"api","group":"checkout","class":"http_5xx","custom_details":{"rate":0.07}},
 "links":[{"href":"https://grafana.example/d/abc","text":"Dashboard"}]}"#;

    fn alert(parsed: EventsV2) -> AlertEvent {
        match parsed.parsed {
            Parsed::Alerts(mut events) => events.remove(0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_trigger_carries_its_fields_as_labels() {
        let parsed = EventsV2::parse(TRIGGER.as_bytes()).unwrap();
        assert_eq!(parsed.routing_key, "<key>");
        let e = alert(parsed);
        assert_eq!(e.key, "checkout-5xx-prod");
        assert_eq!(e.labels["alertname"], "http_5xx");
        assert_eq!(e.labels["rate"], "0.07");
        assert_eq!(e.severity.as_deref(), Some("critical"));
        assert_eq!(
            e.source_url.as_deref(),
            Some("https://grafana.example/d/abc")
        );
    }

    #[test]
    fn a_missing_dedup_key_is_derived_from_the_event_not_the_secret() {
        let without = TRIGGER.replace("\"dedup_key\":\"checkout-5xx-prod\",", "");
        let a = alert(EventsV2::parse(without.as_bytes()).unwrap());
        let again = alert(EventsV2::parse(without.replace("<key>", "<other>").as_bytes()).unwrap());
        assert!(a.key.starts_with("fb-"));
        assert_eq!(a.key, again.key);
    }

    #[test]
    fn invalid_events_name_the_field() {
        let cases = [
            (TRIGGER.replace("\"trigger\"", "\"page\""), "event_action"),
            (
                TRIGGER.replace("\"critical\"", "\"sev1\""),
                "payload.severity",
            ),
            (
                r#"{"routing_key":"k","event_action":"resolve"}"#.to_owned(),
                "dedup_key",
            ),
            (
                r#"{"routing_key":"k","event_action":"trigger"}"#.to_owned(),
                "payload",
            ),
            (TRIGGER.replace("\"routing_key\":\"<key>\",", ""), ""),
        ];
        for (body, field) in cases {
            let err = EventsV2::parse(body.as_bytes()).unwrap_err();
            assert!(
                err.field == field || err.reason.contains("routing_key"),
                "{body}: {err}"
            );
        }
    }

    #[test]
    fn a_change_event_is_identified_by_its_content() {
        let body = r#"{"routing_key":"k","payload":{"summary":"Deploy checkout v2.3.1","timestamp":"2026-11-20T09:01:00Z",
 "source":"github-actions","custom_details":{"sha":"abc1234","env":"production","actor":"alice","service":"checkout"}},
 "links":[{"href":"https://github.com/acme/checkout/actions/runs/42","text":"Run 42"}]}"#;
        let Parsed::Changes(changes) = EventsV2::parse_change(body.as_bytes()).unwrap().parsed
        else {
            panic!()
        };
        let c = &changes[0];
        assert_eq!(
            (c.kind, c.sha.as_deref(), c.actor.as_deref()),
            (ChangeKind::Deploy, Some("abc1234"), Some("alice"))
        );
        assert_eq!(c.services, vec!["checkout"]);
        let other_key = body.replace("\"routing_key\":\"k\"", "\"routing_key\":\"j\"");
        let Parsed::Changes(again) = EventsV2::parse_change(other_key.as_bytes()).unwrap().parsed
        else {
            panic!()
        };
        assert_eq!(again[0].external_id, c.external_id);
    }
}
