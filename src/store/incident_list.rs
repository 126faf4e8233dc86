//! SQL for listing incidents: filtered lists newest first, and full-text search best match
//! first, both keyset-paged.
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
    /// Best text match first: below this (rank, number).
    BelowRank(f32, i64),
}

/// As a cursor: `n<number>`, or `r<rank bits>_<number>`.
impl std::fmt::Display for ListPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListPosition::BeforeNumber(number) => write!(f, "n{number}"),
            ListPosition::BelowRank(rank, number) => write!(f, "r{}_{number}", rank.to_bits()),
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
        let (bits, number) = cursor
            .strip_prefix('r')
            .and_then(|rest| rest.split_once('_'))
            .ok_or(())?;
        let rank = f32::from_bits(bits.parse().map_err(|_| ())?);
        Ok(ListPosition::BelowRank(
            rank,
            number.parse().map_err(|_| ())?,
        ))
    }
}

impl ListPosition {
    /// True for a position in a text search's order (by rank).
    pub fn is_ranked(&self) -> bool {
        matches!(self, ListPosition::BelowRank(..))
    }
}

/// An incident in a listing, with its text rank when a text query was given.
pub struct Listed {
    /// The incident.
    pub incident: IncidentSummary,
    /// `ts_rank` of the match (text queries only).
    pub rank: Option<f32>,
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
            rank: row.rank,
        })
    }
}

/// Lists incidents matching `filter`: newest first, or best match first when `text` is given.
/// Keyset-paged: rows after `after`, at most `limit`.
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
    sql.push("select ").push(summary_columns!());
    if let Some(text) = &filter.text {
        push_text_search(&mut sql, text, filter, after, limit);
    } else if filter.statuses.is_some() || filter.severities.is_some() || filter.service.is_some() {
        push_ranges(&mut sql, filter, after, limit);
    } else {
        sql.push(", null::real as rank from incident where true");
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
    sql.push(", null::real as rank from incident join (select number from (");
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

/// Best match first; every match is ranked.
fn push_text_search(
    sql: &mut QueryBuilder<Postgres>,
    text: &str,
    filter: &ListFilter,
    after: Option<ListPosition>,
    limit: i64,
) {
    sql.push(", ts_rank(search, websearch_to_tsquery('english', ");
    sql.push_bind(text);
    sql.push(")) as rank from incident where search @@ websearch_to_tsquery('english', ");
    sql.push_bind(text);
    sql.push(")");
    if let Some(statuses) = &filter.statuses {
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        sql.push(" and status = any(").push_bind(names).push(")");
    }
    if let Some(severities) = &filter.severities {
        let levels: Vec<i16> = severities.iter().map(|s| s.level()).collect();
        sql.push(" and severity = any(").push_bind(levels).push(")");
    }
    if let Some(service) = &filter.service {
        sql.push(" and services @> array[")
            .push_bind(service.as_str())
            .push("]::text[]");
    }
    push_declared(sql, filter);
    match after {
        Some(ListPosition::BelowRank(rank, number)) => {
            sql.push(" and (ts_rank(search, websearch_to_tsquery('english', ");
            sql.push_bind(text);
            sql.push(")), number) < (").push_bind(rank);
            sql.push("::real, ").push_bind(number).push(")");
        }
        Some(ListPosition::BeforeNumber(number)) => {
            sql.push(" and number < ").push_bind(number);
        }
        None => {}
    }
    sql.push(" order by rank desc, number desc limit ")
        .push_bind(limit);
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
