//! Where a server stands in the WAL, for bounding how stale a read replica is. Simple queries
//! (no prepared statement), so they also work outside a transaction behind a pooler.

use sqlx::{PgConnection, Row};

use super::Result;

/// The primary's WAL position flushed to disk (every acknowledged commit lies before it), in
/// bytes from the start.
pub async fn primary_position(conn: &mut PgConnection) -> Result<i64> {
    let row = sqlx::raw_sql("select (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint")
        .fetch_one(conn)
        .await?;
    Ok(row.try_get(0)?)
}

/// How far a standby has replayed the WAL, in bytes from the start; `None` when the server is
/// not in recovery (a primary, or a promoted standby: nothing to wait for).
pub async fn replayed_position(conn: &mut PgConnection) -> Result<Option<i64>> {
    let row = sqlx::raw_sql(
        "select case when pg_is_in_recovery() \
                then (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint end",
    )
    .fetch_one(conn)
    .await?;
    Ok(row.try_get(0)?)
}
