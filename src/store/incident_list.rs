//! SQL for listing incidents: filtered lists newest first, and full-text search best match
//! first among the newest matches (module `text_search`), both keyset-paged.
//!
//! A filtered list is a union of small index ranges, one per (status, severity) pair the filter
//! allows (over `incident_facet` when a service is named), each read newest first and cut at a
//! page; the outer query merges them. This reads about a page per range however many incidents
//! match, where walking the number index and discarding rows read tens of thousands at 1M.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};

use crate::domain::{IncidentSummary, Severity, Status};
use crate::store::incidents::severity;
use crate::store::{Error, Result};

/// The columns a list returns, in `SummaryRow` order: what a row of the list shows, not the
/// incident's text (a page of full rows would carry up to 64 KiB of summary and impact each).
macro_rules! summary_columns {
    () => {
        "id, number, title, severity, status, services, declared_at, updated_at, version"
    };
}

// After `summary_columns!`, which it uses.
mod text_search;

pub use text_search::TEXT_WINDOW;

/// The text-match columns of a list without text.
const NO_MATCH: &str =
    ", null::real as rank, null::bigint as window_anchor, null::bigint as older_anchor";

/// Filters for [`list`]; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Statuses to include.
    pub statuses: Option<Vec<Status>>,
    /// Severities to include.
    pub severities: Option<Vec<Severity>>,
    /// A service the incident affects.
    pub service: Option<String>,
    /// A full-text query (websearch syntax) over title, summary and impact.
    pub text: Option<String>,
    /// Declared at or after.
    pub since: Option<DateTime<Utc>>,
    /// Declared before.
    pub until: Option<DateTime<Utc>>,
}

/// Where a page starts: after this position in the listing order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ListPosition {
    /// Newest first: numbers below this one.
    BeforeNumber(i64),
    /// Best text match first, among the newest [`TEXT_WINDOW`] matches numbered up to
    /// `anchor`: below this (rank, number), or from the window's best match.
    InWindow {
        /// The newest number the window may hold.
        anchor: i64,
        /// The last (rank, number) already listed.
        below: Option<(f32, i64)>,
    },
}

/// As a cursor: `n<number>`, `r<anchor>`, or `r<anchor>_<rank bits>_<number>`.
impl std::fmt::Display for ListPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListPosition::BeforeNumber(number) => write!(f, "n{number}"),
            ListPosition::InWindow {
                anchor,
                below: None,
            } => write!(f, "r{anchor}"),
            ListPosition::InWindow {
                anchor,
                below: Some((rank, number)),
            } => write!(f, "r{anchor}_{}_{number}", rank.to_bits()),
        }
    }
}

impl std::str::FromStr for ListPosition {
    type Err = ();

    fn from_str(cursor: &str) -> std::result::Result<Self, ()> {
        if let Some(number) = cursor.strip_prefix('n') {
            return number
                .parse()
                .map(ListPosition::BeforeNumber)
                .map_err(|_| ());
        }
        let mut parts = cursor.strip_prefix('r').ok_or(())?.split('_');
        let anchor = parts.next().ok_or(())?.parse().map_err(|_| ())?;
        let below = match (parts.next(), parts.next(), parts.next()) {
            (None, None, None) => None,
            (Some(bits), Some(number), None) => Some((
                f32::from_bits(bits.parse().map_err(|_| ())?),
                number.parse().map_err(|_| ())?,
            )),
            _ => return Err(()),
        };
        Ok(ListPosition::InWindow { anchor, below })
    }
}

impl ListPosition {
    /// True for a position in a text search's order (by rank).
    pub fn is_ranked(&self) -> bool {
        matches!(self, ListPosition::InWindow { .. })
    }
}

/// An incident in a listing, with where it stands in a text search when one was given.
pub struct Listed {
    /// The incident.
    pub incident: IncidentSummary,
    /// Its text match (text queries only).
    pub matched: Option<TextMatch>,
}

/// Where a match stands in a text search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextMatch {
    /// `ts_rank` of the match.
    pub rank: f32,
    /// The anchor of the window it was ranked in.
    pub anchor: i64,
    /// When the window is full and older matches exist: the anchor of the next window.
    pub older: Option<i64>,
}

#[derive(FromRow)]
struct ListedRow {
    id: uuid::Uuid,
    number: i64,
    title: String,
    severity: i16,
    status: String,
    services: Vec<String>,
    declared_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    rank: Option<f32>,
    window_anchor: Option<i64>,
    older_anchor: Option<i64>,
}

impl TryFrom<ListedRow> for Listed {
    type Error = Error;

    fn try_from(row: ListedRow) -> Result<Self> {
        Ok(Listed {
            incident: IncidentSummary {
                id: row.id,
                number: row.number,
                title: row.title,
                severity: severity(row.severity)?,
                status: row.status.parse().map_err(Error::Corrupt)?,
                services: row.services,
                declared_at: row.declared_at,
                updated_at: row.updated_at,
                version: row.version,
            },
            matched: row
                .rank
                .zip(row.window_anchor)
                .map(|(rank, anchor)| TextMatch {
                    rank,
                    anchor,
                    older: row.older_anchor,
                }),
        })
    }
}

/// Lists incidents matching `filter`: newest first, or with `text` best match first among the
/// newest [`TEXT_WINDOW`] matches of a window. Keyset-paged: rows after `after`, at most `limit`.
pub async fn list(
    conn: &mut PgConnection,
    filter: &ListFilter,
    after: Option<ListPosition>,
    limit: i64,
) -> Result<Vec<Listed>> {
    let rows: Vec<ListedRow> = list_statement("", filter, after, limit)
        .build_query_as()
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(Listed::try_from).collect()
}

/// The statement [`list`] sends, after `prefix` (e.g. `explain analyze `). Public so that the
/// benchmark measures and explains exactly this statement.
pub fn list_statement(
    prefix: &str,
    filter: &ListFilter,
    after: Option<ListPosition>,
    limit: i64,
) -> QueryBuilder<Postgres> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(prefix);
    if let Some(text) = &filter.text {
        text_search::push_text_search(&mut sql, text, filter, after, limit);
        return sql;
    }
    sql.push("select ").push(summary_columns!()).push(NO_MATCH);
    if filter.statuses.is_some() || filter.severities.is_some() || filter.service.is_some() {
        push_ranges(&mut sql, filter, after, limit);
    } else {
        sql.push(" from incident where true");
        push_declared(&mut sql, filter);
        push_before(&mut sql, after);
        sql.push(" order by number desc limit ").push_bind(limit);
    }
    sql
}

/// Newest first over the union of one index range per allowed (status, severity) pair.
fn push_ranges(
    sql: &mut QueryBuilder<Postgres>,
    filter: &ListFilter,
    after: Option<ListPosition>,
    limit: i64,
) {
    let pairs = status_severity_pairs(filter);
    let source = if filter.service.is_some() {
        "incident_facet"
    } else {
        "incident"
    };
    sql.push(" from incident join (select number from (");
    let ranges = pairs.len().max(1);
    for index in 0..ranges {
        if index > 0 {
            sql.push(" union all ");
        }
        sql.push("(select number from ")
            .push(source)
            .push(" where true");
        if let Some(service) = &filter.service {
            sql.push(" and service = ").push_bind(service.clone());
        }
        if let Some((status, severity)) = pairs.get(index) {
            sql.push(" and status = ").push_bind(status.as_str());
            sql.push(" and severity = ").push_bind(severity.level());
        }
        push_declared(sql, filter);
        push_before(sql, after);
        sql.push(" order by number desc limit ").push_bind(limit);
        sql.push(")");
    }
    sql.push(") ranges order by number desc limit ")
        .push_bind(limit);
    sql.push(") page using (number) order by number desc");
}

/// Every (status, severity) pair the filter allows, each once; empty when it names neither
/// (a service alone is one range).
fn status_severity_pairs(filter: &ListFilter) -> Vec<(Status, Severity)> {
    if filter.statuses.is_none() && filter.severities.is_none() {
        return Vec::new();
    }
    let mut statuses = filter.statuses.clone().unwrap_or(Status::ALL.to_vec());
    statuses.sort_by_key(|s| s.as_str());
    statuses.dedup();
    let mut severities = filter.severities.clone().unwrap_or(Severity::ALL.to_vec());
    severities.sort();
    severities.dedup();
    statuses
        .iter()
        .flat_map(|status| severities.iter().map(|severity| (*status, *severity)))
        .collect()
}

fn push_declared(sql: &mut QueryBuilder<Postgres>, filter: &ListFilter) {
    if let Some(since) = filter.since {
        sql.push(" and declared_at >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        sql.push(" and declared_at < ").push_bind(until);
    }
}

fn push_before(sql: &mut QueryBuilder<Postgres>, after: Option<ListPosition>) {
    if let Some(ListPosition::BeforeNumber(number)) = after {
        sql.push(" and number < ").push_bind(number);
    }
}
