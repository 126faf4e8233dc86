//! Action items: the follow-up work an incident leaves behind (prevent, detect, mitigate,
//! process), each with an owner, a due date and a priority, referenced as `AI-<n>`.
//!
//! Priorities, most urgent first: `P1` (do now: the incident can recur any day), `P2` (within
//! weeks), `P3` (this quarter), `P4` (nice to have). An item is *overdue* while it is `open` or
//! `in_progress` and its `due_on` date is before today (UTC).

mod changes;
mod vocabulary;

pub use changes::{ActionItemChanges, ValidChanges};
pub use vocabulary::{ActionItemKind, ActionItemStatus, Priority};

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::actor::Actor;
use crate::domain::error::ValidationError;
use crate::domain::reference::IncidentRef;
use crate::domain::reference::{NumberOrId, number_or_id};
use crate::domain::validation;

/// Longest external link, in characters.
pub const URL_MAX_CHARS: usize = 2048;

/// How callers name an action item: `AI-7` (any case), `7`, `#7` or its UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionItemRef {
    /// By human number.
    Number(i64),
    /// By id.
    Id(Uuid),
}

impl ActionItemRef {
    /// Parses `AI-7`, `7`, `#7` or a UUID; `field` names the parameter in errors.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        match number_or_id(raw, "AI-") {
            Some(NumberOrId::Number(number)) => Ok(ActionItemRef::Number(number)),
            Some(NumberOrId::Id(id)) => Ok(ActionItemRef::Id(id)),
            None => Err(ValidationError::new(
                field,
                format!(
                    "`{raw}` is not an action item reference: use `AI-7`, `7` or the item's UUID"
                ),
            )),
        }
    }
}

impl fmt::Display for ActionItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionItemRef::Number(n) => write!(f, "AI-{n}"),
            ActionItemRef::Id(id) => write!(f, "{id}"),
        }
    }
}

/// An action item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItem {
    /// Stable identifier (UUID v7).
    pub id: Uuid,
    /// Human number: the item is `AI-<number>`.
    pub number: i64,
    /// The incident it follows up.
    pub incident_id: Uuid,
    /// That incident's number (`INC-<n>`).
    pub incident_number: i64,
    /// What to do, starting with a verb.
    pub title: String,
    /// Who does it.
    pub owner: Option<String>,
    /// When it is due.
    pub due_on: Option<NaiveDate>,
    /// How urgent.
    pub priority: Priority,
    /// What it improves.
    pub kind: ActionItemKind,
    /// Where it stands.
    pub status: ActionItemStatus,
    /// The ticket in an external tracker.
    pub external_url: Option<String>,
    /// Bumped by every change; writes may name the version they expect.
    pub version: i64,
    /// Who added it.
    pub created_by: Actor,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it became `done` or `wont_do`.
    pub completed_at: Option<DateTime<Utc>>,
}

impl ActionItem {
    /// The human reference, `AI-<number>`.
    pub fn reference(&self) -> ActionItemRef {
        ActionItemRef::Number(self.number)
    }

    /// The incident's reference, `INC-<number>`.
    pub fn incident_reference(&self) -> IncidentRef {
        IncidentRef::Number(self.incident_number)
    }

    /// True while the item is outstanding and its due date is before `today`.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status.is_outstanding() && self.due_on.is_some_and(|due| due < today)
    }
}

/// The raw fields of a new action item, before validation.
#[derive(Debug, Clone)]
pub struct ActionItemRequest {
    /// See [`ActionItem::title`].
    pub title: String,
    /// See [`ActionItem::owner`].
    pub owner: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_on: Option<String>,
    /// See [`ActionItem::priority`].
    pub priority: Priority,
    /// See [`ActionItem::kind`].
    pub kind: ActionItemKind,
    /// See [`ActionItem::external_url`].
    pub external_url: Option<String>,
}

/// A validated new action item: the only way to create one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActionItem {
    /// Title, trimmed, 1–200 characters.
    pub title: String,
    /// Owner, trimmed.
    pub owner: Option<String>,
    /// Due date, not in the past.
    pub due_on: Option<NaiveDate>,
    /// Priority.
    pub priority: Priority,
    /// Kind.
    pub kind: ActionItemKind,
    /// An `http(s)` link.
    pub external_url: Option<String>,
}

impl NewActionItem {
    /// Checks a proposed action item; `today` is the server's date (UTC).
    pub fn parse(request: ActionItemRequest, today: NaiveDate) -> Result<Self, ValidationError> {
        Ok(NewActionItem {
            title: validation::title("title", &request.title)?,
            owner: validation::optional_name("owner", request.owner)?,
            due_on: request
                .due_on
                .map(|d| due_on("due_on", &d, today))
                .transpose()?,
            priority: request.priority,
            kind: request.kind,
            external_url: request
                .external_url
                .map(|u| external_url("external_url", &u))
                .transpose()?,
        })
    }
}

/// A due date: `YYYY-MM-DD`, not before yesterday (one day of slack for callers west of UTC).
pub fn due_on(field: &str, raw: &str, today: NaiveDate) -> Result<NaiveDate, ValidationError> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        ValidationError::new(
            field,
            format!("`{raw}` is not a date: use YYYY-MM-DD (e.g. 2026-12-31)"),
        )
    })?;
    if date.year() > 9999 {
        return Err(ValidationError::new(
            field,
            format!("({date}) is after year 9999; pick a real date (YYYY-MM-DD)"),
        ));
    }
    let earliest = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    if date < earliest {
        return Err(ValidationError::new(
            field,
            format!("({date}) is in the past; today is {today} (UTC): pick today or a later date"),
        ));
    }
    Ok(date)
}

/// An external link (a ticket): `http://` or `https://`, a host, no spaces, at most 2048
/// characters.
pub fn external_url(field: &str, raw: &str) -> Result<String, ValidationError> {
    let url = raw.trim();
    let rest = ["https://", "http://"].iter().find_map(|scheme| {
        url.get(..scheme.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
            .and_then(|_| url.get(scheme.len()..))
    });
    let has_host = rest.is_some_and(|rest| {
        rest.split(['/', '?', '#'])
            .next()
            .is_some_and(|host| !host.is_empty())
    });
    let is_clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !has_host || !is_clean || url.chars().count() > URL_MAX_CHARS {
        return Err(ValidationError::new(
            field,
            format!(
                "`{raw}` is not a link: use an http(s) URL without spaces, at most {URL_MAX_CHARS} characters (e.g. https://tracker.example.com/OPS-12)"
            ),
        ));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests;
