//! Editing an action item: validate the requested changes, apply them, and say what changed.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::action_item::{ActionItem, ActionItemStatus, Priority, due_on, external_url};
use crate::domain::error::ValidationError;
use crate::domain::incident::FieldChange;
use crate::domain::validation;

/// Requested edits as the caller sent them; `None` leaves a field alone, and an empty string
/// clears `owner`, `due_on` or `external_url`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionItemChanges {
    /// New title.
    pub title: Option<String>,
    /// New owner; empty clears it.
    pub owner: Option<String>,
    /// New due date (`YYYY-MM-DD`); empty clears it.
    pub due_on: Option<String>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New status.
    pub status: Option<ActionItemStatus>,
    /// New link; empty clears it.
    pub external_url: Option<String>,
}

/// Validated edits; the inner `None` of a clearable field clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidChanges {
    title: Option<String>,
    owner: Option<Option<String>>,
    due_on: Option<Option<NaiveDate>>,
    priority: Option<Priority>,
    status: Option<ActionItemStatus>,
    external_url: Option<Option<String>>,
}

impl ActionItemChanges {
    /// Validates each given field; fails when no field is given at all.
    pub fn parse(self, today: NaiveDate) -> Result<ValidChanges, ValidationError> {
        if self == ActionItemChanges::default() {
            return Err(ValidationError::new(
                "action_item",
                "needs at least one field to change: title, owner, due_on, priority, status or external_url",
            ));
        }
        Ok(ValidChanges {
            title: self
                .title
                .map(|t| validation::title("title", &t))
                .transpose()?,
            owner: clearable(self.owner, |v| validation::name("owner", v))?,
            due_on: clearable(self.due_on, |v| due_on("due_on", v, today))?,
            priority: self.priority,
            status: self.status,
            external_url: clearable(self.external_url, |v| external_url("external_url", v))?,
        })
    }
}

/// `None` → leave alone; blank → clear; anything else → checked by `check`.
fn clearable<T>(
    value: Option<String>,
    check: impl FnOnce(&str) -> Result<T, ValidationError>,
) -> Result<Option<Option<T>>, ValidationError> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(Some(None)),
        Some(v) => check(&v).map(|checked| Some(Some(checked))),
    }
}

impl ActionItem {
    /// Applies validated edits at `now` and returns what actually changed (unchanged values are
    /// skipped). Entering `done` or `wont_do` stamps `completed_at`; leaving them clears it.
    pub fn apply(&mut self, changes: ValidChanges, now: DateTime<Utc>) -> Vec<FieldChange> {
        let mut changed = Vec::new();
        if let Some(title) = changes.title.filter(|t| *t != self.title) {
            changed.push(change("title", &self.title, &title));
            self.title = title;
        }
        if let Some(status) = changes.status.filter(|s| *s != self.status) {
            changed.push(change("status", self.status.as_str(), status.as_str()));
            self.status = status;
            self.completed_at = (!status.is_outstanding()).then_some(now);
        }
        if let Some(priority) = changes.priority.filter(|p| *p != self.priority) {
            changed.push(change(
                "priority",
                self.priority.as_str(),
                priority.as_str(),
            ));
            self.priority = priority;
        }
        if let Some(owner) = changes.owner.filter(|o| *o != self.owner) {
            changed.push(change("owner", &shown(&self.owner), &shown(&owner)));
            self.owner = owner;
        }
        if let Some(due) = changes.due_on.filter(|d| *d != self.due_on) {
            changed.push(change("due_on", &shown(&self.due_on), &shown(&due)));
            self.due_on = due;
        }
        if let Some(url) = changes.external_url.filter(|u| *u != self.external_url) {
            changed.push(change(
                "external_url",
                &shown(&self.external_url),
                &shown(&url),
            ));
            self.external_url = url;
        }
        changed
    }
}

fn change(field: &'static str, from: &str, to: &str) -> FieldChange {
    FieldChange {
        field,
        from: from.to_owned(),
        to: to.to_owned(),
    }
}

/// A cleared value reads as `—`.
fn shown<T: ToString>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map_or_else(|| "—".to_owned(), ToString::to_string)
}
