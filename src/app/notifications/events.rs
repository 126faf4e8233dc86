//! Outbox rows as domain events.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::notification::{Event, EventDetail, IncidentFacts, detail_of_entry};
use crate::domain::{EntryData, EntryKind, Severity, Status};
use crate::store::outbox::StoredEvent;

/// The event an outbox row records, or `None` for a row this version cannot read (it is
/// fanned out to no one, and logged).
pub(super) fn event_of(row: &StoredEvent) -> Option<Event> {
    let snapshot = &row.incident.0;
    let incident = IncidentFacts {
        number: snapshot.number,
        title: snapshot.title.clone(),
        severity: Severity::from_level(snapshot.severity)?,
        status: snapshot.status.parse::<Status>().ok()?,
        services: snapshot.services.clone(),
        commander: snapshot.commander.clone(),
    };
    let data = row.data.as_ref().map(|json| &json.0);
    let detail = if row.kind == "action_item_overdue" {
        overdue(data?)?
    } else {
        let kind = row.kind.parse::<EntryKind>().ok()?;
        let entry: Option<EntryData> = data.and_then(|v| serde_json::from_value(v.clone()).ok());
        detail_of_entry(kind, entry.as_ref(), &row.body)?
    };
    Some(Event {
        id: row.id,
        occurred_at: row.occurred_at,
        incident,
        detail,
        body: row.body.clone(),
    })
}

fn overdue(data: &serde_json::Value) -> Option<EventDetail> {
    let text = |key: &str| data.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    Some(EventDetail::ActionItemOverdue {
        action_item: text("action_item")?,
        title: text("title")?,
        owner: text("owner"),
        due_on: text("due_on")?,
    })
}

/// The event `firebreak notifications test` sends: a made-up SEV4 incident, INC-0.
pub(super) fn test_event(now: DateTime<Utc>) -> Event {
    Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        incident: IncidentFacts {
            number: 0,
            title: "Firebreak test notification".to_owned(),
            severity: Severity::Sev4,
            status: Status::Triage,
            services: Vec::new(),
            commander: None,
        },
        detail: EventDetail::Declared,
        body: "A test from `firebreak notifications test`: this target is reachable.".to_owned(),
    }
}
