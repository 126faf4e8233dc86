//! Timeline entries and pages.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::app::{AddedEntry, TimelinePage};
use crate::domain::TimelineEntry;
use crate::mcp::views::ActorView;

/// One timeline entry.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EntryView {
    /// Entry id.
    pub id: String,
    /// What kind of entry.
    pub kind: String,
    /// The text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// `internal` or `public`.
    pub visibility: String,
    /// Who wrote it.
    pub actor: ActorView,
    /// Structured details (e.g. the statuses of a status change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl From<&TimelineEntry> for EntryView {
    fn from(entry: &TimelineEntry) -> Self {
        EntryView {
            id: entry.id.to_string(),
            kind: entry.kind.to_string(),
            body: entry.body.clone(),
            occurred_at: entry.occurred_at,
            recorded_at: entry.recorded_at,
            visibility: entry.visibility.as_str().to_owned(),
            actor: (&entry.actor).into(),
            data: entry
                .data
                .as_ref()
                .and_then(|d| serde_json::to_value(d).ok()),
        }
    }
}

/// A page of a timeline.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TimelineView {
    /// The incident.
    pub incident: String,
    /// Entries, oldest first.
    pub entries: Vec<EntryView>,
    /// True when more entries follow: pass `next_cursor` as `cursor`.
    pub truncated: bool,
    /// Cursor of the next page, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<&TimelinePage> for TimelineView {
    fn from(page: &TimelinePage) -> Self {
        TimelineView {
            incident: page.incident.to_string(),
            entries: page.entries.iter().map(EntryView::from).collect(),
            truncated: page.next_cursor.is_some(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}

/// The timeline entry that was written.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EntryAddedView {
    /// The incident.
    pub incident: String,
    /// The entry.
    pub entry: EntryView,
}

impl From<&AddedEntry> for EntryAddedView {
    fn from(added: &AddedEntry) -> Self {
        EntryAddedView {
            incident: added.incident.to_string(),
            entry: EntryView::from(&added.entry),
        }
    }
}
