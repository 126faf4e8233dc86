//! SQL for the `idempotency_record` table: what a keyed request answered the first time.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::store::Result;

/// A remembered answer.
#[derive(Debug, Clone, FromRow)]
pub struct Record {
    /// The canonical request that was first sent with the key.
    pub request: Json<serde_json::Value>,
    /// The incident it produced (or deduplicated into).
    pub incident_id: Uuid,
    /// Whether that answer was a deduplication.
    pub deduplicated: bool,
}

/// The record for `(principal, operation, key)`, if any.
pub async fn find(
    conn: &mut PgConnection,
    principal: &str,
    operation: &str,
    key: &str,
) -> Result<Option<Record>> {
    let record = sqlx::query_as(
        "select request, incident_id, deduplicated from idempotency_record \
         where principal = $1 and operation = $2 and key = $3",
    )
    .bind(principal)
    .bind(operation)
    .bind(key)
    .fetch_optional(conn)
    .await?;
    Ok(record)
}

/// Remembers an answer. The primary key makes a second insert for the same key fail.
pub async fn insert(
    conn: &mut PgConnection,
    principal: &str,
    operation: &str,
    key: &str,
    record: &Record,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "insert into idempotency_record (principal, operation, key, request, incident_id, \
         deduplicated, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(principal)
    .bind(operation)
    .bind(key)
    .bind(&record.request)
    .bind(record.incident_id)
    .bind(record.deduplicated)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
