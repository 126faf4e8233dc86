//! SQL for the `audit_record` table: one record per call, ingestion request or tool run,
//! inserted one at a time inside a write's transaction or many at once from the batch queue.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};

use crate::store::Result;

/// One record to insert, borrowed from the caller's.
#[derive(Debug, Clone, Copy)]
pub struct NewAudit<'a> {
    /// When the call began.
    pub at: DateTime<Utc>,
    /// Who made it.
    pub principal: &'a str,
    /// How it authenticated (`AuthMethod`'s canonical spelling).
    pub auth_method: &'a str,
    /// The client's name and version, if known.
    pub client: Option<&'a str>,
    /// The way it arrived (`Channel`'s canonical spelling).
    pub channel: &'a str,
    /// `tool`, `resource`, `prompt` or `ingest`.
    pub kind: &'a str,
    /// The tool, resource, prompt or endpoint.
    pub name: &'a str,
    /// The INC-n it touched.
    pub incident_number: Option<i64>,
    /// `ok` or the error code.
    pub outcome: &'a str,
    /// How long it took, in microseconds.
    pub duration_us: i64,
    /// SHA-256 (hex) of the canonical arguments.
    pub args_digest: &'a str,
    /// The redacted, size-capped arguments.
    pub args_preview: &'a serde_json::Value,
}

/// A stored record.
#[derive(Debug, Clone, FromRow)]
pub struct StoredAudit {
    /// Its number, in insertion order.
    pub id: i64,
    /// When the call began.
    pub at: DateTime<Utc>,
    /// Who made it.
    pub principal: String,
    /// How it authenticated.
    pub auth_method: String,
    /// The client's name and version, if known.
    pub client: Option<String>,
    /// The way it arrived.
    pub channel: String,
    /// `tool`, `resource`, `prompt` or `ingest`.
    pub kind: String,
    /// The tool, resource, prompt or endpoint.
    pub name: String,
    /// The INC-n it touched.
    pub incident_number: Option<i64>,
    /// `ok` or the error code.
    pub outcome: String,
    /// How long it took, in microseconds.
    pub duration_us: i64,
    /// SHA-256 (hex) of the canonical arguments.
    pub args_digest: String,
    /// The redacted, size-capped arguments.
    pub args_preview: Json<serde_json::Value>,
}

/// Which records a query wants; every field narrows it, `None` does not.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilter<'a> {
    /// Only this principal's.
    pub principal: Option<&'a str>,
    /// Only calls of this tool, resource, prompt or endpoint.
    pub name: Option<&'a str>,
    /// Only those that touched this INC-n.
    pub incident_number: Option<i64>,
    /// Only this outcome.
    pub outcome: Option<&'a str>,
    /// Only those that began at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only those that began before this.
    pub until: Option<DateTime<Utc>>,
    /// Only those listed after this record (newest first): the keyset of the next page.
    pub before_id: Option<i64>,
}

/// Inserts one record (inside the caller's transaction, for a write).
pub async fn insert(conn: &mut PgConnection, record: &NewAudit<'_>) -> Result<()> {
    sqlx::query(
        "insert into audit_record (at, principal, auth_method, client, channel, kind, name, \
           incident_number, outcome, duration_us, args_digest, args_preview) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(record.at)
    .bind(record.principal)
    .bind(record.auth_method)
    .bind(record.client)
    .bind(record.channel)
    .bind(record.kind)
    .bind(record.name)
    .bind(record.incident_number)
    .bind(record.outcome)
    .bind(record.duration_us)
    .bind(record.args_digest)
    .bind(Json(record.args_preview))
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts many records with one statement (one array per column); returns how many went in.
pub async fn insert_many<'a>(conn: &mut PgConnection, records: &[NewAudit<'a>]) -> Result<u64> {
    if records.is_empty() {
        return Ok(0);
    }
    let column = |f: fn(&NewAudit<'a>) -> &'a str| records.iter().map(f).collect::<Vec<&str>>();
    let done = sqlx::query(
        "insert into audit_record (at, principal, auth_method, client, channel, kind, name, \
           incident_number, outcome, duration_us, args_digest, args_preview) \
         select * from unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], \
           $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::bigint[], \
           $11::text[], $12::jsonb[])",
    )
    .bind(records.iter().map(|r| r.at).collect::<Vec<_>>())
    .bind(column(|r| r.principal))
    .bind(column(|r| r.auth_method))
    .bind(records.iter().map(|r| r.client).collect::<Vec<_>>())
    .bind(column(|r| r.channel))
    .bind(column(|r| r.kind))
    .bind(column(|r| r.name))
    .bind(
        records
            .iter()
            .map(|r| r.incident_number)
            .collect::<Vec<_>>(),
    )
    .bind(column(|r| r.outcome))
    .bind(records.iter().map(|r| r.duration_us).collect::<Vec<_>>())
    .bind(column(|r| r.args_digest))
    .bind(
        records
            .iter()
            .map(|r| Json(r.args_preview))
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The records `filter` selects, newest first (by time, then by number), at most `limit`.
pub async fn list(
    conn: &mut PgConnection,
    filter: &AuditFilter<'_>,
    limit: i64,
) -> Result<Vec<StoredAudit>> {
    // One statement for every combination of filters: each `$n is null or …` folds away once
    // the planner sees the parameters, so the matching index still serves it.
    const SQL: &str = "select id, at, principal, auth_method, client, channel, kind, name, \
           incident_number, outcome, duration_us, args_digest, args_preview \
         from audit_record \
         where ($1::text is null or principal = $1) \
           and ($2::text is null or name = $2) \
           and ($3::bigint is null or incident_number = $3) \
           and ($4::text is null or outcome = $4) \
           and ($5::timestamptz is null or at >= $5) \
           and ($6::timestamptz is null or at < $6) \
           and ($7::bigint is null or (at, id) < (select b.at, b.id from audit_record b where b.id = $7)) \
         order by at desc, id desc \
         limit $8";
    let rows = sqlx::query_as(SQL)
        .bind(filter.principal)
        .bind(filter.name)
        .bind(filter.incident_number)
        .bind(filter.outcome)
        .bind(filter.since)
        .bind(filter.until)
        .bind(filter.before_id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(rows)
}

/// Deletes up to `limit` records that began before `before`, oldest first; returns how many
/// went.
pub async fn prune(conn: &mut PgConnection, before: DateTime<Utc>, limit: i64) -> Result<u64> {
    let done = sqlx::query(
        "delete from audit_record where id in \
         (select id from audit_record where at < $1 order by at limit $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
