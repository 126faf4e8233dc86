//! Standard Webhooks payloads: `{"type", "timestamp", "data"}`, where `data` holds the incident
//! (with its reference and URL), the entry's text and the event's own fields. A payload stays
//! under [`PAYLOAD_MAX_BYTES`]: long text is cut.

use serde_json::{Value, json};

use super::message::cut_bytes;
use crate::domain::notification::{Event, EventDetail};

/// Largest payload.
pub(super) const PAYLOAD_MAX_BYTES: usize = 20 * 1024;
/// Longest text before any cut for size.
const TEXT_MAX_BYTES: usize = 8 * 1024;
/// Longest title.
const TITLE_MAX_BYTES: usize = 1024;
/// Most services listed.
const SERVICES_MAX: usize = 50;

/// The payload for `event`, as bytes.
pub(super) fn render(event: &Event, incident_url: Option<&str>) -> Vec<u8> {
    let mut text_max = TEXT_MAX_BYTES;
    loop {
        let body = payload(event, incident_url, text_max).to_string();
        if body.len() <= PAYLOAD_MAX_BYTES || text_max == 0 {
            return body.into_bytes();
        }
        text_max /= 2;
    }
}

fn payload(event: &Event, incident_url: Option<&str>, text_max: usize) -> Value {
    let incident = &event.incident;
    let mut data = json!({
        "incident": {
            "reference": incident.reference(),
            "number": incident.number,
            "title": cut_bytes(&incident.title, TITLE_MAX_BYTES),
            "severity": incident.severity,
            "status": incident.status,
            "services": incident.services.iter().take(SERVICES_MAX).collect::<Vec<_>>(),
            "commander": incident.commander,
            "url": incident_url,
        },
        "text": cut_bytes(event.text(), text_max),
    });
    let detail = match &event.detail {
        EventDetail::Declared | EventDetail::PostmortemPublished => json!({}),
        EventDetail::SeverityChanged { from, to } => json!({"from": from, "to": to}),
        EventDetail::StatusChanged { from, to } => json!({"from": from, "to": to}),
        EventDetail::Resolved { from } => json!({"from": from}),
        EventDetail::StatusUpdate { update, .. } => json!({
            "audience": update.audience,
            "status": update.status,
            "services": update.services.iter().take(SERVICES_MAX).map(|s| json!({
                "service": s.service,
                "state": s.state,
            })).collect::<Vec<_>>(),
            "next_update_at": update.next_update_at.map(rfc3339),
            "public_title": update.public_title,
        }),
        EventDetail::ActionItemOverdue {
            action_item,
            title,
            owner,
            due_on,
        } => json!({
            "action_item": {
                "reference": action_item,
                "title": cut_bytes(title, TITLE_MAX_BYTES),
                "owner": owner,
                "due_on": due_on,
            },
        }),
    };
    if let (Some(data), Value::Object(detail)) = (data.as_object_mut(), detail) {
        data.extend(detail);
    }
    json!({
        "type": event.event_type().wire_type(),
        "timestamp": rfc3339(event.occurred_at),
        "data": data,
    })
}

/// `2026-03-01T10:30:00Z` (fractions of a second only when there are some).
fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
