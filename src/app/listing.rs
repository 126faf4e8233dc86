//! Listing and searching incidents with keyset cursors.

use chrono::{DateTime, Utc};

use crate::app::{App, Result, page};
use crate::domain::{IncidentSummary, Severity, Status, ValidationError, validation};
use crate::store;
use crate::store::incident_list::{ListFilter, ListPosition};

/// Most rows per page.
pub(super) const LIST_PAGE_MAX: i64 = 100;
/// Rows per page when no limit is given.
pub(super) const LIST_PAGE_DEFAULT: i64 = 20;

/// A status filter: one status, or `open` for triage plus the live states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this status.
    Is(Status),
    /// Triage, investigating, identified or monitoring.
    Open,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Statuses to include (any of them); all when empty.
    pub statuses: Vec<StatusFilter>,
    /// Severities to include (any of them); all when empty.
    pub severities: Vec<Severity>,
    /// Only incidents affecting this service.
    pub service: Option<String>,
    /// Full-text query over title, summary and impact.
    pub text: Option<String>,
    /// Declared at or after.
    pub since: Option<DateTime<Utc>>,
    /// Declared before.
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// A page of incidents.
#[derive(Debug, Clone)]
pub struct IncidentPage {
    /// The incidents, newest first; with `text`, best match first among the newest
    /// [`TEXT_WINDOW`](store::incident_list::TEXT_WINDOW) matches, then the next older ones.
    pub incidents: Vec<IncidentSummary>,
    /// Pass back as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
    /// The server time of the answer.
    pub now: DateTime<Utc>,
}

impl App {
    /// Lists incidents matching the filters, newest first. With `text`, the newest
    /// [`TEXT_WINDOW`](store::incident_list::TEXT_WINDOW) matches are ranked, best match first;
    /// the cursor at the end of that window starts the next one, with older matches.
    #[tracing::instrument(skip_all)]
    pub async fn list_incidents(&self, request: ListRequest) -> Result<IncidentPage> {
        let limit = validation::limit("limit", request.limit, LIST_PAGE_DEFAULT, LIST_PAGE_MAX)?;
        let filter = filter(&request)?;
        let after: Option<ListPosition> = page::position(request.cursor.as_deref())?;
        if after.is_some_and(|p| p.is_ranked() != filter.text.is_some()) {
            return Err(page::invalid_cursor().into());
        }
        // Only a text search may go to the read replica: a plain listing is how an agent
        // checks what it just declared, and must see it.
        let mut conn = match filter.text {
            Some(_) => self.for_reading().await?,
            None => self.autocommit().await?,
        };
        let rows =
            store::incident_list::list(&mut conn, &filter, after, page::fetch_limit(limit)).await?;
        // A text search's window may end before the page does; when older matches exist, the
        // cursor then starts the next (older) window.
        let older = rows
            .first()
            .and_then(|row| row.matched)
            .and_then(|m| m.older);
        let page = page::cut(rows, limit, |last| match last.matched {
            Some(matched) => ListPosition::InWindow {
                anchor: matched.anchor,
                below: Some((matched.rank, last.incident.number)),
            },
            None => ListPosition::BeforeNumber(last.incident.number),
        });
        let next_cursor = page.next_cursor.or_else(|| {
            older.map(|anchor| {
                ListPosition::InWindow {
                    anchor,
                    below: None,
                }
                .to_string()
            })
        });
        Ok(IncidentPage {
            incidents: page.rows.into_iter().map(|row| row.incident).collect(),
            next_cursor,
            now: Utc::now(),
        })
    }
}

fn filter(request: &ListRequest) -> Result<ListFilter> {
    let mut statuses: Vec<Status> = Vec::new();
    for wanted in &request.statuses {
        match wanted {
            StatusFilter::Is(status) => statuses.push(*status),
            StatusFilter::Open => statuses.extend(Status::ALL.into_iter().filter(|s| s.is_open())),
        }
    }
    let service = match &request.service {
        Some(service) if !validation::is_slug(service) => {
            return Err(ValidationError::new(
                "service",
                format!("`{service}` is not a service slug: lowercase letters, digits and `-`"),
            )
            .into());
        }
        other => other.clone(),
    };
    let text = validation::search_text("text", request.text.as_deref(), 1000)?;
    validation::instant("since", request.since)?;
    validation::instant("until", request.until)?;
    if let (Some(since), Some(until)) = (request.since, request.until)
        && since >= until
    {
        return Err(ValidationError::new("since", "must be before `until`").into());
    }
    Ok(ListFilter {
        statuses: (!statuses.is_empty()).then_some(statuses),
        severities: (!request.severities.is_empty()).then(|| request.severities.clone()),
        service,
        text,
        since: request.since,
        until: request.until,
    })
}
