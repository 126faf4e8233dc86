//! SQL for the `idempotency_key` table: the first answer of each keyed write.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};

use crate::store::Result;

/// Who used a key, for which request.
#[derive(Debug, Clone, Copy)]
pub struct KeyUse<'a> {
    /// The caller's principal (keys are scoped by it).
    pub principal: &'a str,
    /// The caller's key.
    pub key: &'a str,
    /// The write tool.
    pub tool: &'a str,
    /// Digest of the tool name and canonical arguments.
    pub request_digest: &'a str,
}

/// A key that was used before (and has not expired).
#[derive(Debug, Clone)]
pub struct Used {
    /// The tool it was used for.
    pub tool: String,
    /// The digest of that request.
    pub request_digest: String,
    /// The first answer, when it was stored.
    pub answer: Option<serde_json::Value>,
    /// When it was first used.
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct UsedRow {
    tool: String,
    request_digest: String,
    answer: Option<Json<serde_json::Value>>,
    created_at: DateTime<Utc>,
}

/// Claims the key for this transaction: true when it was free (or its record had expired
/// before `expired_before`). A concurrent transaction holding the same key makes this wait
/// until that one ends; then the key is either free (it rolled back) or taken (it committed).
pub async fn claim(
    conn: &mut PgConnection,
    used: KeyUse<'_>,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
) -> Result<bool> {
    let claimed: Option<(bool,)> = sqlx::query_as(
        "insert into idempotency_key (principal, key, tool, request_digest, created_at) \
         values ($1, $2, $3, $4, $5) \
         on conflict (principal, key) do update \
           set tool = excluded.tool, request_digest = excluded.request_digest, answer = null, \
               created_at = excluded.created_at \
           where idempotency_key.created_at < $6 \
         returning true",
    )
    .bind(used.principal)
    .bind(used.key)
    .bind(used.tool)
    .bind(used.request_digest)
    .bind(now)
    .bind(expired_before)
    .fetch_optional(conn)
    .await?;
    Ok(claimed.is_some())
}

/// The committed record of `(principal, key)`.
pub async fn find(conn: &mut PgConnection, principal: &str, key: &str) -> Result<Option<Used>> {
    let row: Option<UsedRow> = sqlx::query_as(
        "select tool, request_digest, answer, created_at from idempotency_key \
         where principal = $1 and key = $2",
    )
    .bind(principal)
    .bind(key)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Used {
        tool: row.tool,
        request_digest: row.request_digest,
        answer: row.answer.map(|answer| answer.0),
        created_at: row.created_at,
    }))
}

/// Stores the answer of the key claimed in this transaction.
pub async fn remember(
    conn: &mut PgConnection,
    principal: &str,
    key: &str,
    answer: &serde_json::Value,
) -> Result<()> {
    sqlx::query("update idempotency_key set answer = $3 where principal = $1 and key = $2")
        .bind(principal)
        .bind(key)
        .bind(Json(answer))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes up to `limit` records created before `before`; returns how many went.
pub async fn prune(conn: &mut PgConnection, before: DateTime<Utc>, limit: i64) -> Result<u64> {
    let done = sqlx::query(
        "delete from idempotency_key where ctid in \
         (select ctid from idempotency_key where created_at < $1 order by created_at limit $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
