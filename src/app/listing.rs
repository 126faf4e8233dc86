//! Listing and searching incidents with keyset cursors.

use chrono::{DateTime, Utc};

use crate::app::{App, Result};
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
    /// The incidents, newest first (best match first with `text`).
    pub incidents: Vec<IncidentSummary>,
    /// Pass back as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
    /// The server time of the answer.
    pub now: DateTime<Utc>,
}

impl App {
    /// Lists incidents matching the filters, newest first (best match first with `text`).
    #[tracing::instrument(skip_all)]
    pub async fn list_incidents(&self, request: ListRequest) -> Result<IncidentPage> {
        let limit = validation::limit("limit", request.limit, LIST_PAGE_DEFAULT, LIST_PAGE_MAX)?;
        let filter = filter(&request)?;
        let after = request
            .cursor
            .as_deref()
            .map(|c| parse_cursor(c, filter.text.is_some()))
            .transpose()?;
        let mut conn = self.autocommit().await?;
        let mut rows = store::incident_list::list(&mut conn, &filter, after, limit + 1).await?;
        let next_cursor = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|last| match last.rank {
                Some(rank) => format!("r{}_{}", rank.to_bits(), last.incident.number),
                None => format!("n{}", last.incident.number),
            })
        } else {
            None
        };
        Ok(IncidentPage {
            incidents: rows.into_iter().map(|row| row.incident).collect(),
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

/// Cursors are `n<number>` (newest first) or `r<rank bits>_<number>` (text search).
fn parse_cursor(cursor: &str, is_text: bool) -> Result<ListPosition> {
    let invalid = || {
        ValidationError::new(
            "cursor",
            "is not a cursor this server issued for these filters; pass `next_cursor` from the previous page unchanged, with the same filters",
        )
    };
    let position = if let Some(number) = cursor.strip_prefix('n').filter(|_| !is_text) {
        ListPosition::BeforeNumber(number.parse().map_err(|_| invalid())?)
    } else if let Some(rest) = cursor.strip_prefix('r').filter(|_| is_text) {
        let (bits, number) = rest.split_once('_').ok_or_else(invalid)?;
        let bits: u32 = bits.parse().map_err(|_| invalid())?;
        ListPosition::BelowRank(f32::from_bits(bits), number.parse().map_err(|_| invalid())?)
    } else {
        return Err(invalid().into());
    };
    Ok(position)
}
