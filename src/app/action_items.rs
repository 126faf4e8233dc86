//! Action items: add, edit and list the follow-up work of incidents. Each add and edit is
//! recorded on the incident's timeline with its actor.

use chrono::{DateTime, Utc};

use crate::app::write::{Write, Written};
use crate::app::{App, Error, Result, load, page};
use crate::domain::action_item::{
    ActionItem, ActionItemChanges, ActionItemRef, ActionItemRequest, ActionItemStatus,
    NewActionItem,
};
use crate::domain::timeline::data::{
    ActionItemAdded, ActionItemUpdated, EditAction, EditedObject, EntryData, FieldChanged,
};
use crate::domain::{EntryKind, FieldChange, IncidentRef, NewEntry, validation};
use crate::store::action_items::{ListFilter, ListPosition};
use crate::store::{self, Lock};

/// Most rows per page.
const LIST_PAGE_MAX: i64 = 100;
/// Rows per page when no limit is given.
const LIST_PAGE_DEFAULT: i64 = 20;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ActionItemQuery {
    /// Only items of this incident.
    pub incident: Option<IncidentRef>,
    /// Only items of this owner (case-insensitive).
    pub owner: Option<String>,
    /// Only items in any of these statuses; all when empty.
    pub statuses: Vec<ActionItemStatus>,
    /// `true`: only overdue items; `false`: only items that are not overdue.
    pub overdue: Option<bool>,
    /// Page size.
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// A page of action items.
#[derive(Debug, Clone)]
pub struct ActionItemPage {
    /// The items: soonest due first (undated last), then by number.
    pub items: Vec<ActionItem>,
    /// Pass back as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
    /// The server time of the answer (overdue is measured against its date).
    pub now: DateTime<Utc>,
}

impl App {
    /// Adds an `open` action item to an incident.
    #[tracing::instrument(skip_all, fields(incident = %reference))]
    pub async fn add_action_item(
        &self,
        write: &Write<'_, ActionItem>,
        reference: IncidentRef,
        request: ActionItemRequest,
    ) -> Result<Written<ActionItem>> {
        let now = Utc::now();
        let new = NewActionItem::parse(request, now.date_naive())?;
        let actor = write.actor();
        self.write_in_transaction(write, now, async |tx| {
            let incident = load(tx, reference, Lock::None).await?;
            let item = store::action_items::insert(tx, incident.id, &new, actor, now).await?;
            let entry = added_entry(&item, now);
            store::timeline::append(tx, incident.id, &[entry], actor, now).await?;
            Ok(item)
        })
        .await
    }

    /// Edits an action item; the changes become one timeline entry on its incident. Nothing
    /// changed → nothing is written (but a stale `expected_version` is still a conflict).
    #[tracing::instrument(skip_all, fields(action_item = %reference))]
    pub async fn update_action_item(
        &self,
        write: &Write<'_, ActionItem>,
        reference: ActionItemRef,
        changes: ActionItemChanges,
        expected_version: Option<i64>,
    ) -> Result<Written<ActionItem>> {
        let now = Utc::now();
        let changes = changes.parse(now.date_naive())?;
        let actor = write.actor();
        self.write_in_transaction(write, now, async |tx| {
            let mut item = store::action_items::find(tx, reference, Lock::ForUpdate)
                .await?
                .ok_or(Error::ActionItemNotFound(reference))?;
            if let Some(expected) = expected_version
                && expected != item.version
            {
                return Err(Error::StaleObject {
                    object: item.reference().to_string(),
                    expected,
                    current_version: item.version,
                    read_with: "list_action_items",
                });
            }
            let changed = item.apply(changes, now);
            let saved = if changed.is_empty() {
                item
            } else {
                let saved = store::action_items::save(tx, &item, now).await?;
                let entry = updated_entry(&saved, &changed, now);
                store::timeline::append(tx, saved.incident_id, &[entry], actor, now).await?;
                saved
            };
            Ok(saved)
        })
        .await
    }

    /// Lists action items across incidents, soonest due first (undated last).
    #[tracing::instrument(skip_all)]
    pub async fn list_action_items(&self, query: ActionItemQuery) -> Result<ActionItemPage> {
        let limit = validation::limit("limit", query.limit, LIST_PAGE_DEFAULT, LIST_PAGE_MAX)?;
        let owner = validation::optional_name("owner", query.owner)?;
        let after: Option<ListPosition> = page::position(query.cursor.as_deref())?;
        let now = Utc::now();
        let mut conn = self.autocommit().await?;
        let incident_id = match query.incident {
            Some(reference) => Some(load(&mut conn, reference, Lock::None).await?.id),
            None => None,
        };
        let filter = ListFilter {
            incident_id,
            owner,
            statuses: (!query.statuses.is_empty()).then_some(query.statuses),
            overdue: query.overdue,
            today: now.date_naive(),
        };
        let items =
            store::action_items::list(&mut conn, &filter, after, page::fetch_limit(limit)).await?;
        let page = page::cut(items, limit, |item| ListPosition {
            due_on: item.due_on,
            number: item.number,
        });
        Ok(ActionItemPage {
            items: page.rows,
            next_cursor: page.next_cursor,
            now,
        })
    }
}

fn added_entry(item: &ActionItem, now: DateTime<Utc>) -> NewEntry {
    let mut details = vec![item.kind.to_string(), item.priority.to_string()];
    if let Some(owner) = &item.owner {
        details.push(format!("owner {owner}"));
    }
    if let Some(due) = item.due_on {
        details.push(format!("due {due}"));
    }
    let body = format!(
        "Action item {} added: {} [{}]",
        item.reference(),
        item.title,
        details.join(", ")
    );
    let data = EntryData::ActionItemAdded(ActionItemAdded {
        object: EditedObject::ActionItem,
        action: EditAction::Added,
        action_item: item.reference().to_string(),
        title: item.title.clone(),
        kind: item.kind,
        priority: item.priority,
        owner: item.owner.clone(),
        due_on: item.due_on.map(|d| d.to_string()),
        external_url: item.external_url.clone(),
    });
    NewEntry::system(EntryKind::FieldChange, body, Some(data), now)
}

fn updated_entry(item: &ActionItem, changed: &[FieldChange], now: DateTime<Utc>) -> NewEntry {
    let parts: Vec<String> = changed
        .iter()
        .map(|c| format!("{} {} → {}", c.field, c.from, c.to))
        .collect();
    let body = format!("Action item {}: {}", item.reference(), parts.join("; "));
    let changes = changed
        .iter()
        .map(|c| FieldChanged {
            field: c.field.to_owned(),
            from: c.from.clone(),
            to: c.to.clone(),
        })
        .collect();
    let data = EntryData::ActionItemUpdated(ActionItemUpdated {
        object: EditedObject::ActionItem,
        action: EditAction::Updated,
        action_item: item.reference().to_string(),
        version: item.version,
        changes,
    });
    NewEntry::system(EntryKind::FieldChange, body, Some(data), now)
}
