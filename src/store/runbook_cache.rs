//! SQL for the `runbook_cache` table: remote runbooks by URL with the validators (`ETag`,
//! `Last-Modified`) their host gave, for conditional requests and for stale answers when the host
//! cannot be reached.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

use crate::domain::runbook::CachedRunbook;
use crate::store::Result;

#[derive(FromRow)]
struct CacheRow {
    url: String,
    markdown: String,
    content_hash: String,
    etag: Option<String>,
    last_modified: Option<String>,
    fetched_at: DateTime<Utc>,
    changed_at: DateTime<Utc>,
}

impl From<CacheRow> for CachedRunbook {
    fn from(row: CacheRow) -> Self {
        CachedRunbook {
            url: row.url,
            markdown: row.markdown,
            content_hash: row.content_hash,
            etag: row.etag,
            last_modified: row.last_modified,
            fetched_at: row.fetched_at,
            changed_at: row.changed_at,
        }
    }
}

/// The cached copy of `url`, if any.
pub async fn find(conn: &mut PgConnection, url: &str) -> Result<Option<CachedRunbook>> {
    const SQL: &str = "select url, markdown, content_hash, etag, last_modified, fetched_at, \
                       changed_at from runbook_cache where url = $1";
    let row: Option<CacheRow> = sqlx::query_as(SQL).bind(url).fetch_optional(conn).await?;
    Ok(row.map(CachedRunbook::from))
}

/// Stores a freshly fetched copy. `changed_at` moves only when the content differs.
pub async fn save(conn: &mut PgConnection, copy: &CachedRunbook) -> Result<CachedRunbook> {
    const SQL: &str = "insert into runbook_cache (url, markdown, content_hash, etag, \
           last_modified, fetched_at, changed_at) values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (url) do update set markdown = excluded.markdown, \
           etag = excluded.etag, last_modified = excluded.last_modified, \
           fetched_at = excluded.fetched_at, \
           changed_at = case when runbook_cache.content_hash = excluded.content_hash \
                             then runbook_cache.changed_at else excluded.changed_at end, \
           content_hash = excluded.content_hash \
         returning url, markdown, content_hash, etag, last_modified, fetched_at, changed_at";
    let row: CacheRow = sqlx::query_as(SQL)
        .bind(&copy.url)
        .bind(&copy.markdown)
        .bind(&copy.content_hash)
        .bind(&copy.etag)
        .bind(&copy.last_modified)
        .bind(copy.fetched_at)
        .bind(copy.changed_at)
        .fetch_one(conn)
        .await?;
    Ok(row.into())
}

/// Records that the host confirmed the cached copy (HTTP 304) at `now`, and returns it.
pub async fn confirm(
    conn: &mut PgConnection,
    url: &str,
    now: DateTime<Utc>,
) -> Result<Option<CachedRunbook>> {
    const SQL: &str = "update runbook_cache set fetched_at = $2 where url = $1 \
         returning url, markdown, content_hash, etag, last_modified, fetched_at, changed_at";
    let row: Option<CacheRow> = sqlx::query_as(SQL)
        .bind(url)
        .bind(now)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(CachedRunbook::from))
}
