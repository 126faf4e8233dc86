//! Full-text search over incidents: the newest [`TEXT_WINDOW`] matches, best match first.
//!
//! Ranking every match does not scale: GIN returns matches in no useful order and each one costs
//! a heap visit, so a word in 0.5% of a million incidents cost ~5,000 visits (15 ms, 60 ms for
//! a common phrase). Here only the newest matches at or below an *anchor* (the newest incident,
//! or where the previous window ended) are ranked. They are found window by window, newest
//! first, and the search stops once it has one more than a window holds:
//!
//! - the newest [`WALKED`] numbers are read in order (a word in a fifth of incidents fills the
//!   window here, where the index would return hundreds of thousands of matches);
//! - then each of [`WINDOWS`], four times larger than the one before, through the search index
//!   restricted to the window's buckets of numbers (`incident_search_recent`, migration 0011),
//!   so only the window's matches are visited;
//! - then everything older, through the search index alone: a query gets here only when the
//!   newest 131,072 incidents held fewer matches than a window, so it matches few at all.
//!
//! A window is reached only when the ones before it were nearly empty, so each one visits a few
//! hundred matches at most for a word spread over the history. The shapes are fixed on purpose
//! (an expression sort key, a range written as `number + 0`): walking the number index from the
//! top past every newer row, or a bitmap of a whole range of it, would each cost more than the
//! search they replace. Filters (status, severity, service, time) are checked on the rows found.

use sqlx::{Postgres, QueryBuilder};

use super::{ListFilter, ListPosition, push_declared};

/// Matches ranked per window: the newest this many at or below the window's anchor.
pub const TEXT_WINDOW: i64 = 200;

/// Newest numbers read one by one before any index is asked.
const WALKED: i64 = 1 << 9;

/// A window of numbers `(anchor - 2^to, anchor - 2^from]`, read through the buckets of
/// `2^shift` numbers that cover it (`number >> shift`, a key of `incident_search_recent`).
struct Window {
    from: u32,
    to: u32,
    shift: u32,
}

/// The windows after the walked numbers, each four times larger; the buckets stay a few per
/// window, so that the index reads a few posting lists per window and few matches outside it.
const WINDOWS: [Window; 4] = [
    Window {
        from: 9,
        to: 11,
        shift: 10,
    },
    Window {
        from: 11,
        to: 13,
        shift: 10,
    },
    Window {
        from: 13,
        to: 15,
        shift: 14,
    },
    Window {
        from: 15,
        to: 17,
        shift: 14,
    },
];

/// Numbers this far below the anchor and older are searched without buckets.
const REST: i64 = 1 << 17;

/// The anchor of the window, for the statement's parts.
const ANCHOR: &str = "(select anchor from bounds)";

/// Pushes the text search after `prefix`: the page of the window's matches below `after`'s
/// position, each with its rank, the window's anchor and, when older matches exist, the anchor
/// of the next window (`older_anchor`).
pub(super) fn push_text_search(
    sql: &mut QueryBuilder<Postgres>,
    text: &str,
    filter: &ListFilter,
    after: Option<ListPosition>,
    limit: i64,
) {
    let (anchor, below) = match after {
        Some(ListPosition::InWindow { anchor, below }) => (Some(anchor), below),
        _ => (None, None),
    };
    sql.push("with q as (select websearch_to_tsquery('english', ")
        .push_bind(text.to_owned())
        .push(") as q), bounds as (select least(coalesce(")
        .push_bind(anchor)
        .push("::bigint, (select max(number) from incident))");
    // Numbers follow declaration times (both are taken when an incident is declared), so the
    // newest incident declared before `until` bounds the window and the oldest one declared
    // since `since` ends the search; the times themselves are checked on every match.
    if let Some(until) = filter.until {
        sql.push(", (select number from incident where declared_at < ")
            .push_bind(until)
            .push(" order by declared_at desc limit 1)");
    }
    sql.push(") as anchor");
    if let Some(since) = filter.since {
        sql.push(", (select number from incident where declared_at >= ")
            .push_bind(since)
            .push(" order by declared_at limit 1) as oldest");
    }
    sql.push(") select ")
        .push(summary_columns!())
        .push(", rank, window_anchor, older_anchor from (select ")
        .push(summary_columns!())
        .push(", ts_rank(search, (select q from q)) as rank, ")
        .push(ANCHOR)
        .push(" as window_anchor, case when count(*) over () > ")
        .push(TEXT_WINDOW)
        .push(
            " then min(number) over () end as older_anchor, \
               row_number() over (order by number desc) as nth from (select * from (",
        );
    push_walked(sql, filter);
    for window in &WINDOWS {
        sql.push(" union all ");
        push_window(sql, filter, window);
    }
    sql.push(" union all ");
    push_rest(sql, filter);
    // Append runs its parts in order and stops when the limit is met: newest windows first.
    sql.push(") found limit ")
        .push(TEXT_WINDOW + 1)
        .push(") candidates) ranked where nth <= ")
        .push(TEXT_WINDOW);
    if let Some((rank, number)) = below {
        sql.push(" and (rank, number) < (")
            .push_bind(rank)
            .push("::real, ")
            .push_bind(number)
            .push(")");
    }
    sql.push(" order by rank desc, number desc limit ")
        .push_bind(limit);
}

/// The newest numbers, read in order (the offset keeps the filters out of the range scan).
fn push_walked(sql: &mut QueryBuilder<Postgres>, filter: &ListFilter) {
    sql.push("(select * from (select ")
        .push(summary_columns!())
        .push(", search from incident where number <= ")
        .push(ANCHOR)
        .push(" and number > ")
        .push(ANCHOR)
        .push(" - ")
        .push(WALKED)
        .push(" order by number desc offset 0) walked where true");
    push_matching(sql, filter);
    sql.push(")");
}

/// One window, through the search index restricted to the window's buckets.
fn push_window(sql: &mut QueryBuilder<Postgres>, filter: &ListFilter, window: &Window) {
    let (top, bottom, shift) = (1_i64 << window.from, 1_i64 << window.to, window.shift);
    sql.push("(select ")
        .push(summary_columns!())
        .push(", search from incident where (number >> ")
        .push(shift)
        .push(") = any(array(select generate_series((")
        .push(ANCHOR)
        .push(" - ")
        .push(top)
        .push(") >> ")
        .push(shift)
        .push(", greatest(")
        .push(ANCHOR)
        .push(" - ")
        .push(bottom - 1)
        .push(", 0) >> ")
        .push(shift)
        .push(", -1))) and number + 0 <= ")
        .push(ANCHOR)
        .push(" - ")
        .push(top)
        .push(" and number + 0 > ")
        .push(ANCHOR)
        .push(" - ")
        .push(bottom);
    push_reaches_since(sql, filter, top);
    push_matching(sql, filter);
    sql.push(" order by number + 0 desc limit ")
        .push(TEXT_WINDOW + 1)
        .push(")");
}

/// Everything older than the windows, through the search index alone.
fn push_rest(sql: &mut QueryBuilder<Postgres>, filter: &ListFilter) {
    sql.push("(select ")
        .push(summary_columns!())
        .push(", search from incident where number + 0 <= ")
        .push(ANCHOR)
        .push(" - ")
        .push(REST)
        .push(" and ")
        .push(ANCHOR)
        .push(" > ")
        .push(REST);
    push_reaches_since(sql, filter, REST);
    push_matching(sql, filter);
    sql.push(" order by number + 0 desc limit ")
        .push(TEXT_WINDOW + 1)
        .push(")");
}

/// With `since`, a part whose newest number is older than the oldest incident since then is
/// skipped (a condition on the bounds alone, checked once before the part runs).
fn push_reaches_since(sql: &mut QueryBuilder<Postgres>, filter: &ListFilter, top: i64) {
    if filter.since.is_some() {
        sql.push(" and ")
            .push(ANCHOR)
            .push(" - ")
            .push(top)
            .push(" >= (select oldest from bounds)");
    }
}

/// The text and the filters, checked on each row a part reads.
fn push_matching(sql: &mut QueryBuilder<Postgres>, filter: &ListFilter) {
    sql.push(" and search @@ (select q from q)");
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
            .push_bind(service.clone())
            .push("]::text[]");
    }
    push_declared(sql, filter);
}
