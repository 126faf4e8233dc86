//! Notifications out: the events an incident's timeline gives rise to, who wants which
//! ([`Subscription`]), and how a delivery goes ([`classify`], [`RetryPolicy`]). Pure: the
//! formats and the HTTP live in `integrations::notify`, the outbox in `store`.
//!
//! An event is one committed change (a declaration, a severity or status change, a stakeholder
//! update, a published postmortem) or an action item falling overdue. Its id is the
//! `webhook-id` receivers deduplicate on, stable across every retry.

mod delivery;
mod subscription;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::incident::Severity;
use crate::domain::postmortem::PostmortemStatus;
use crate::domain::status::Status;
use crate::domain::status_update::StakeholderUpdate;
use crate::domain::timeline::{EntryData, EntryKind};
use crate::domain::vocabulary::vocabulary;

pub use delivery::{Outcome, RetryPolicy, classify};
pub use subscription::Subscription;

vocabulary! {
    /// What happened, as subscriptions name it.
    pub enum EventType ("event type") {
        /// An incident was declared.
        Declared = "declared",
        /// Its severity changed.
        SeverityChanged = "severity_changed",
        /// Its status changed (other than to `resolved`).
        StatusChanged = "status_changed",
        /// It was resolved.
        Resolved = "resolved",
        /// A stakeholder update was posted.
        StatusUpdate = "status_update" | "stakeholder_update",
        /// Its postmortem was published.
        PostmortemPublished = "postmortem_published",
        /// One of its action items is past its due date.
        ActionItemOverdue = "action_item_overdue",
    }
}

impl EventType {
    /// The `type` of a webhook payload: `incident.declared`, `action_item.overdue`.
    pub fn wire_type(self) -> &'static str {
        match self {
            EventType::Declared => "incident.declared",
            EventType::SeverityChanged => "incident.severity_changed",
            EventType::StatusChanged => "incident.status_changed",
            EventType::Resolved => "incident.resolved",
            EventType::StatusUpdate => "incident.status_update",
            EventType::PostmortemPublished => "incident.postmortem_published",
            EventType::ActionItemOverdue => "action_item.overdue",
        }
    }
}

vocabulary! {
    /// Where a target's messages go, and so their format.
    pub enum TargetKind ("target kind") {
        /// A Slack incoming webhook (Block Kit).
        Slack = "slack",
        /// A Microsoft Teams Workflows webhook (Adaptive Card).
        Teams = "teams" | "msteams",
        /// Any HTTP receiver, signed per Standard Webhooks.
        Webhook = "webhook",
    }
}

/// The incident as it was when the event happened (the outbox's `incident` column:
/// `{"number", "title", "severity", "status", "services", "commander"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentFacts {
    /// Its number: `INC-<number>`.
    pub number: i64,
    /// Its title.
    pub title: String,
    /// Its severity.
    pub severity: Severity,
    /// Its status.
    pub status: Status,
    /// The services it affects.
    #[serde(default)]
    pub services: Vec<String>,
    /// Who commands it, if anyone.
    #[serde(default)]
    pub commander: Option<String>,
}

impl IncidentFacts {
    /// `INC-42`.
    pub fn reference(&self) -> String {
        format!("INC-{}", self.number)
    }
}

/// What an event says beyond the incident's facts.
#[derive(Debug, Clone, PartialEq)]
pub enum EventDetail {
    /// The incident was declared.
    Declared,
    /// Its severity changed.
    SeverityChanged {
        /// Before.
        from: Severity,
        /// After.
        to: Severity,
    },
    /// Its status changed, other than to `resolved`.
    StatusChanged {
        /// Before.
        from: Status,
        /// After.
        to: Status,
    },
    /// It was resolved.
    Resolved {
        /// The status before.
        from: Status,
    },
    /// A stakeholder update was posted.
    StatusUpdate {
        /// Its structured part (audience, page status, services, next update).
        update: StakeholderUpdate,
        /// Its message.
        message: String,
    },
    /// Its postmortem was published.
    PostmortemPublished,
    /// An action item is past its due date.
    ActionItemOverdue {
        /// `AI-7`.
        action_item: String,
        /// Its title.
        title: String,
        /// Its owner.
        owner: Option<String>,
        /// Its due date, `YYYY-MM-DD`.
        due_on: String,
    },
}

impl EventDetail {
    /// Its type.
    pub fn event_type(&self) -> EventType {
        match self {
            EventDetail::Declared => EventType::Declared,
            EventDetail::SeverityChanged { .. } => EventType::SeverityChanged,
            EventDetail::StatusChanged { .. } => EventType::StatusChanged,
            EventDetail::Resolved { .. } => EventType::Resolved,
            EventDetail::StatusUpdate { .. } => EventType::StatusUpdate,
            EventDetail::PostmortemPublished => EventType::PostmortemPublished,
            EventDetail::ActionItemOverdue { .. } => EventType::ActionItemOverdue,
        }
    }
}

/// One event of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its id: the `webhook-id`, stable across retries.
    pub id: Uuid,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
    /// The incident as it was then.
    pub incident: IncidentFacts,
    /// What happened.
    pub detail: EventDetail,
    /// The timeline entry's text.
    pub body: String,
}

impl Event {
    /// Its type.
    pub fn event_type(&self) -> EventType {
        self.detail.event_type()
    }

    /// The `webhook-id`: `msg_` and the id in hex, without dashes.
    pub fn webhook_id(&self) -> String {
        format!("msg_{}", self.id.simple())
    }

    /// One line saying what happened, for people: `Severity changed from SEV3 to SEV1`.
    pub fn headline(&self) -> String {
        match &self.detail {
            EventDetail::Declared => format!("Declared as {}", self.incident.severity),
            EventDetail::SeverityChanged { from, to } => {
                format!("Severity changed from {from} to {to}")
            }
            EventDetail::StatusChanged { from, to } => {
                format!("Status changed from {from} to {to}")
            }
            EventDetail::Resolved { .. } => "Resolved".to_owned(),
            EventDetail::StatusUpdate { update, .. } => {
                format!("Status update for {}: {}", update.audience, update.status)
            }
            EventDetail::PostmortemPublished => "Postmortem published".to_owned(),
            EventDetail::ActionItemOverdue {
                action_item,
                due_on,
                ..
            } => format!("Action item {action_item} is overdue (due {due_on})"),
        }
    }

    /// The event's full text, for machines: the update's message, the overdue item's title, or
    /// the timeline entry's text.
    pub fn text(&self) -> &str {
        match &self.detail {
            EventDetail::StatusUpdate { message, .. } => message,
            EventDetail::ActionItemOverdue { title, .. } => title,
            _ => &self.body,
        }
    }

    /// What the event says beyond its headline, for people: the update's message, the overdue item's title,
    /// the note or resolution of a status change (the entry's text after `Status a → b: `),
    /// nothing for a declaration or severity change (the headline says it all), else the
    /// timeline entry's text.
    pub fn words(&self) -> &str {
        match &self.detail {
            EventDetail::StatusUpdate { message, .. } => message,
            EventDetail::ActionItemOverdue { title, .. } => title,
            EventDetail::Declared | EventDetail::SeverityChanged { .. } => "",
            EventDetail::StatusChanged { .. } | EventDetail::Resolved { .. } => {
                self.body.split_once(": ").map_or("", |(_, note)| note)
            }
            EventDetail::PostmortemPublished => &self.body,
        }
    }
}

/// The event a timeline entry gives rise to, if any: declarations, status changes (to
/// `resolved` is [`EventDetail::Resolved`]), severity changes, stakeholder updates and
/// postmortems moved to `published`. `body` is the entry's text (a stakeholder update's
/// message).
pub fn detail_of_entry(
    kind: EntryKind,
    data: Option<&EntryData>,
    body: &str,
) -> Option<EventDetail> {
    match (kind, data?) {
        (EntryKind::StatusChange, EntryData::Declared(_)) => Some(EventDetail::Declared),
        (EntryKind::StatusChange, EntryData::StatusMoved(moved)) => {
            Some(if moved.to == Status::Resolved {
                EventDetail::Resolved { from: moved.from }
            } else {
                EventDetail::StatusChanged {
                    from: moved.from,
                    to: moved.to,
                }
            })
        }
        (EntryKind::SeverityChange, EntryData::FieldChanged(change)) => {
            Some(EventDetail::SeverityChanged {
                from: change.from.parse().ok()?,
                to: change.to.parse().ok()?,
            })
        }
        (EntryKind::StakeholderUpdate, EntryData::StakeholderUpdate(update)) => {
            Some(EventDetail::StatusUpdate {
                update: update.clone(),
                message: body.to_owned(),
            })
        }
        (EntryKind::FieldChange, EntryData::PostmortemUpdated(updated)) => updated
            .status
            .is_some_and(|step| step.to == PostmortemStatus::Published)
            .then_some(EventDetail::PostmortemPublished),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
