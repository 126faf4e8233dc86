//! Which events a target wants.

use crate::domain::incident::Severity;
use crate::domain::status_update::Audience;

use super::{Event, EventDetail, EventType};

/// A target's filters. Every list left empty lets everything through; an event must pass them all.
///
/// - `events`: the event types wanted. `status_changed` includes `resolved` (resolving is a
///   status change; a subscriber that wants only the end names `resolved` alone).
/// - `audiences`: which stakeholder updates (`status_update` events) are wanted; other events
///   pass.
/// - `severities`: the incident's severity must be one of them; a severity change passes when
///   either side is one of them, so a SEV1 subscriber hears that SEV1 was lowered.
/// - `services`: the incident must affect at least one of them.
///
/// Stored with its target (as JSON with these keys), so that every process fans events out by
/// the same rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Subscription {
    /// The event types wanted (empty: all).
    pub events: Vec<EventType>,
    /// The audiences of the status updates wanted (empty: all).
    pub audiences: Vec<Audience>,
    /// The incident severities wanted (empty: all).
    pub severities: Vec<Severity>,
    /// The services wanted (empty: all).
    pub services: Vec<String>,
}

impl Subscription {
    /// Whether `event` passes every filter.
    pub fn wants(&self, event: &Event) -> bool {
        self.wants_type(event.event_type())
            && self.wants_audience(&event.detail)
            && self.wants_severity(event)
            && (self.services.is_empty()
                || event
                    .incident
                    .services
                    .iter()
                    .any(|s| self.services.contains(s)))
    }

    fn wants_type(&self, event_type: EventType) -> bool {
        self.events.is_empty()
            || self.events.contains(&event_type)
            || (event_type == EventType::Resolved
                && self.events.contains(&EventType::StatusChanged))
    }

    fn wants_audience(&self, detail: &EventDetail) -> bool {
        match detail {
            EventDetail::StatusUpdate { update, .. } => {
                self.audiences.is_empty() || self.audiences.contains(&update.audience)
            }
            _ => true,
        }
    }

    fn wants_severity(&self, event: &Event) -> bool {
        if self.severities.is_empty() {
            return true;
        }
        match event.detail {
            EventDetail::SeverityChanged { from, to } => {
                self.severities.contains(&from) || self.severities.contains(&to)
            }
            _ => self.severities.contains(&event.incident.severity),
        }
    }
}
