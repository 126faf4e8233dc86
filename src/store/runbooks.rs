//! SQL for the `runbook` and `runbook_version` tables. A runbook is never deleted: a removed
//! file archives it, and every version's markdown stays.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

use crate::domain::Severity;
use crate::domain::runbook::{
    ALERT_WEIGHT, Criteria, FrontMatter, Runbook, RunbookMatch, RunbookSummary, SERVICE_WEIGHT,
    StoredRunbook,
};
use crate::store::{Error, Result};

/// What the sync needs to know about a stored runbook.
#[derive(Debug, Clone, FromRow)]
pub struct Head {
    /// Slug.
    pub slug: String,
    /// Newest version.
    pub version: i64,
    /// Its content hash.
    pub content_hash: String,
    /// The file it came from.
    pub source_path: String,
    /// True when archived.
    pub is_archived: bool,
}

/// A version to write: the parsed file, its markdown, hash and path.
#[derive(Debug, Clone, Copy)]
pub struct NewVersion<'a> {
    /// The parsed file.
    pub runbook: &'a Runbook,
    /// The whole file.
    pub markdown: &'a str,
    /// Its SHA-256, hex.
    pub content_hash: &'a str,
    /// Its path relative to the synced folder.
    pub source_path: &'a str,
}

/// Every runbook's head, archived ones included.
pub async fn heads(conn: &mut PgConnection) -> Result<Vec<Head>> {
    const SQL: &str = "select slug, version, content_hash, source_path, \
                       archived_at is not null as is_archived from runbook order by slug";
    Ok(sqlx::query_as(SQL).fetch_all(conn).await?)
}

/// Writes `new` as `version` of its slug and makes it the active head (creating the head for
/// version 1, un-archiving it otherwise).
pub async fn save_version(
    conn: &mut PgConnection,
    new: NewVersion<'_>,
    version: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    const HEAD: &str = "insert into runbook (slug, title, services, alerts, tags, severity_hint, \
         version, content_hash, source_path, search, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
           setweight(to_tsvector('english', $2), 'A') || \
           setweight(to_tsvector('english', array_to_string($4 || $3 || $5, ' ')), 'B') || \
           setweight(to_tsvector('english', $10), 'C'), $11, $11) \
         on conflict (slug) do update set title = excluded.title, services = excluded.services, \
           alerts = excluded.alerts, tags = excluded.tags, severity_hint = excluded.severity_hint, \
           version = excluded.version, content_hash = excluded.content_hash, \
           source_path = excluded.source_path, search = excluded.search, \
           updated_at = excluded.updated_at, archived_at = null";
    const VERSION: &str = "insert into runbook_version \
         (slug, version, content_hash, markdown, source_path, loaded_at) \
         values ($1, $2, $3, $4, $5, $6)";
    let meta = &new.runbook.meta;
    sqlx::query(HEAD)
        .bind(&meta.slug)
        .bind(&meta.title)
        .bind(&meta.services)
        .bind(&meta.alerts)
        .bind(&meta.tags)
        .bind(meta.severity_hint.map(Severity::level))
        .bind(version)
        .bind(new.content_hash)
        .bind(new.source_path)
        .bind(&new.runbook.body.text)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(VERSION)
        .bind(&meta.slug)
        .bind(version)
        .bind(new.content_hash)
        .bind(new.markdown)
        .bind(new.source_path)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes an archived runbook active again with its current content, now found at `source_path`.
pub async fn restore(
    conn: &mut PgConnection,
    slug: &str,
    source_path: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "update runbook set archived_at = null, source_path = $2, updated_at = $3 where slug = $1",
    )
    .bind(slug)
    .bind(source_path)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Notes that a runbook's file moved without its content changing.
pub async fn move_source(conn: &mut PgConnection, slug: &str, source_path: &str) -> Result<()> {
    sqlx::query("update runbook set source_path = $2 where slug = $1 and source_path <> $2")
        .bind(slug)
        .bind(source_path)
        .execute(conn)
        .await?;
    Ok(())
}

/// Archives the given runbooks.
pub async fn archive(conn: &mut PgConnection, slugs: &[String], now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "update runbook set archived_at = $2, updated_at = $2 \
         where slug = any($1) and archived_at is null",
    )
    .bind(slugs)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct VersionRow {
    version: i64,
    latest_version: i64,
    content_hash: String,
    markdown: String,
    source_path: String,
    loaded_at: DateTime<Utc>,
    archived_at: Option<DateTime<Utc>>,
}

impl TryFrom<VersionRow> for StoredRunbook {
    type Error = Error;

    fn try_from(row: VersionRow) -> Result<Self> {
        let runbook = Runbook::parse(&row.markdown).map_err(|err| {
            Error::Corrupt(format!(
                "runbook version {} no longer parses: {err}",
                row.version
            ))
        })?;
        Ok(StoredRunbook {
            runbook,
            version: row.version,
            latest_version: row.latest_version,
            content_hash: row.content_hash,
            markdown: row.markdown,
            source_path: row.source_path,
            loaded_at: row.loaded_at,
            archived_at: row.archived_at,
        })
    }
}

/// A runbook by slug, archived or not: its newest version, or `version` when given.
pub async fn find(
    conn: &mut PgConnection,
    slug: &str,
    version: Option<i64>,
) -> Result<Option<StoredRunbook>> {
    const SQL: &str = "select v.version, r.version as latest_version, v.content_hash, \
         v.markdown, v.source_path, v.loaded_at, r.archived_at \
         from runbook r join runbook_version v on v.slug = r.slug \
         where r.slug = $1 and v.version = coalesce($2, r.version)";
    let row: Option<VersionRow> = sqlx::query_as(SQL)
        .bind(slug)
        .bind(version)
        .fetch_optional(conn)
        .await?;
    row.map(StoredRunbook::try_from).transpose()
}

#[derive(FromRow)]
struct MatchRow {
    slug: String,
    title: String,
    services: Vec<String>,
    alerts: Vec<String>,
    tags: Vec<String>,
    severity_hint: Option<i16>,
    version: i64,
    matched_services: Vec<String>,
    matched_alerts: Vec<String>,
    text_rank: f32,
    score: f32,
}

/// Active runbooks matching any criterion, best first: each alert match weighs
/// [`ALERT_WEIGHT`], each service match [`SERVICE_WEIGHT`], and the text rank (0–1) is added.
/// Empty criteria match every active runbook (in slug order).
pub async fn search(
    conn: &mut PgConnection,
    criteria: &Criteria,
    limit: i64,
) -> Result<Vec<RunbookMatch>> {
    const SQL: &str = "select *, (cardinality(matched_alerts) * $4 \
            + cardinality(matched_services) * $5 + text_rank)::real as score from ( \
           select r.slug, r.title, r.services, r.alerts, r.tags, r.severity_hint, r.version, \
             array(select s from unnest(r.services) s where s = any($1)) as matched_services, \
             array(select a from unnest(r.alerts) a where lower(a) = any($2)) as matched_alerts, \
             case when $3::text is not null \
                   and r.search @@ websearch_to_tsquery('english', $3) \
                  then ts_rank(r.search, websearch_to_tsquery('english', $3), 32) \
                  else 0 end::real as text_rank \
           from runbook r where r.archived_at is null) m \
         where $7 or cardinality(matched_alerts) > 0 or cardinality(matched_services) > 0 \
            or text_rank > 0 \
         order by score desc, slug limit $6";
    let rows: Vec<MatchRow> = sqlx::query_as(SQL)
        .bind(&criteria.services)
        .bind(criteria.alert_keys())
        .bind(criteria.text_query())
        .bind(ALERT_WEIGHT)
        .bind(SERVICE_WEIGHT)
        .bind(limit)
        .bind(criteria.is_empty())
        .fetch_all(conn)
        .await?;
    rows.into_iter()
        .map(|row| {
            let severity_hint = row
                .severity_hint
                .map(|level| {
                    Severity::from_level(level)
                        .ok_or_else(|| Error::Corrupt(format!("severity_hint {level}")))
                })
                .transpose()?;
            Ok(RunbookMatch {
                meta: FrontMatter {
                    slug: row.slug,
                    title: row.title,
                    services: row.services,
                    alerts: row.alerts,
                    tags: row.tags,
                    severity_hint,
                },
                version: row.version,
                matched_services: row.matched_services,
                matched_alerts: row.matched_alerts,
                text_rank: row.text_rank,
                score: row.score,
            })
        })
        .collect()
}

/// Active runbooks by slug, at most `limit`.
pub async fn list_active(conn: &mut PgConnection, limit: i64) -> Result<Vec<RunbookSummary>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select slug, title from runbook where archived_at is null order by slug limit $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, title)| RunbookSummary { slug, title })
        .collect())
}

/// Slugs of active runbooks starting with `prefix`, in order, at most `limit`.
pub async fn slugs_with_prefix(
    conn: &mut PgConnection,
    prefix: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "select slug from runbook where archived_at is null and starts_with(slug, $1) \
         order by slug limit $2",
    )
    .bind(prefix)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(slug,)| slug).collect())
}
