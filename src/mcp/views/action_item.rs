//! Output views of action items.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::app::action_items::ActionItemPage;
use crate::domain::action_item::ActionItem;
use crate::mcp::views::ActorView;

/// An action item with all its fields.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActionItemView {
    /// `AI-<number>`: use it to refer to the item.
    pub reference: String,
    /// Stable UUID.
    pub id: String,
    /// The incident it follows up (`INC-<n>`).
    pub incident: String,
    /// What to do.
    pub title: String,
    /// Who does it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When it is due (YYYY-MM-DD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_on: Option<NaiveDate>,
    /// `P1` (most urgent) to `P4`.
    pub priority: String,
    /// `prevent`, `detect`, `mitigate` or `process`.
    pub kind: String,
    /// `open`, `in_progress`, `done` or `wont_do`.
    pub status: String,
    /// True when it is open or in progress and its due date has passed (UTC).
    pub overdue: bool,
    /// The ticket in an external tracker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    /// Pass as `expected_version` to make sure nobody changed it since you read it.
    pub version: i64,
    /// Who added it.
    pub created_by: ActorView,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it became `done` or `wont_do`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<&ActionItem> for ActionItemView {
    /// The view of `item`, judged overdue against today's date (UTC).
    fn from(item: &ActionItem) -> Self {
        ActionItemView::new(item, Utc::now().date_naive())
    }
}

impl ActionItemView {
    /// The view of `item`; overdue is judged against `today` (UTC).
    pub fn new(item: &ActionItem, today: NaiveDate) -> Self {
        ActionItemView {
            reference: item.reference().to_string(),
            id: item.id.to_string(),
            incident: item.incident_reference().to_string(),
            title: item.title.clone(),
            owner: item.owner.clone(),
            due_on: item.due_on,
            priority: item.priority.to_string(),
            kind: item.kind.to_string(),
            status: item.status.to_string(),
            overdue: item.is_overdue(today),
            external_url: item.external_url.clone(),
            version: item.version,
            created_by: (&item.created_by).into(),
            created_at: item.created_at,
            updated_at: item.updated_at,
            completed_at: item.completed_at,
        }
    }
}

/// A compact action item row for lists and briefs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActionItemRowView {
    /// `AI-<number>`.
    pub reference: String,
    /// The incident (`INC-<n>`).
    pub incident: String,
    /// What to do.
    pub title: String,
    /// Who does it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When it is due (YYYY-MM-DD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_on: Option<NaiveDate>,
    /// `P1` to `P4`.
    pub priority: String,
    /// `prevent`, `detect`, `mitigate` or `process`.
    pub kind: String,
    /// `open`, `in_progress`, `done` or `wont_do`.
    pub status: String,
    /// Open or in progress, and past its due date.
    pub overdue: bool,
    /// Current version.
    pub version: i64,
}

impl ActionItemRowView {
    /// The row of `item`; overdue is judged against `today` (UTC).
    pub fn new(item: &ActionItem, today: NaiveDate) -> Self {
        ActionItemRowView {
            reference: item.reference().to_string(),
            incident: item.incident_reference().to_string(),
            title: item.title.clone(),
            owner: item.owner.clone(),
            due_on: item.due_on,
            priority: item.priority.to_string(),
            kind: item.kind.to_string(),
            status: item.status.to_string(),
            overdue: item.is_overdue(today),
            version: item.version,
        }
    }
}

/// A page of action items.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActionItemListView {
    /// Matching items, soonest due first (undated last), then by number.
    pub action_items: Vec<ActionItemRowView>,
    /// True when more items match: pass `next_cursor` as `cursor` to read on.
    pub truncated: bool,
    /// Cursor of the next page, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The server time of this answer; `overdue` is judged against its date.
    pub now: DateTime<Utc>,
}

impl From<&ActionItemPage> for ActionItemListView {
    fn from(page: &ActionItemPage) -> Self {
        let today = page.now.date_naive();
        ActionItemListView {
            action_items: page
                .items
                .iter()
                .map(|item| ActionItemRowView::new(item, today))
                .collect(),
            truncated: page.next_cursor.is_some(),
            next_cursor: page.next_cursor.clone(),
            now: page.now,
        }
    }
}
