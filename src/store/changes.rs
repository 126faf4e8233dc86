//! SQL for changes and their links to incidents.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::signals::{Change, ChangeRelation, NewChange};
use crate::store::alerts::TimePosition;
use crate::store::{Error, Result};

macro_rules! change_columns {
    () => {
        "c.id, c.number, c.source, c.external_id, c.kind, c.services, c.environment, c.summary, \
         c.url, c.actor, c.actor_kind, c.sha, c.ref, c.status, c.failed, c.occurred_at"
    };
}
pub(super) use change_columns;

/// A stored change as a query (or `json_agg` of rows) returns it.
#[derive(FromRow, serde::Deserialize)]
pub(super) struct ChangeRow {
    id: Uuid,
    number: i64,
    source: String,
    external_id: String,
    kind: String,
    services: Vec<String>,
    environment: Option<String>,
    summary: String,
    url: Option<String>,
    actor: Option<String>,
    actor_kind: Option<String>,
    sha: Option<String>,
    #[sqlx(rename = "ref")]
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    status: Option<String>,
    failed: bool,
    occurred_at: DateTime<Utc>,
    #[sqlx(default)]
    #[serde(default)]
    relation: Option<String>,
}

/// Changes from stored rows.
pub(super) fn convert(rows: Vec<ChangeRow>) -> Result<Vec<Change>> {
    rows.into_iter().map(Change::try_from).collect()
}

impl TryFrom<ChangeRow> for Change {
    type Error = Error;

    fn try_from(r: ChangeRow) -> Result<Change> {
        let change = NewChange {
            external_id: r.external_id,
            kind: r.kind.parse().map_err(Error::Corrupt)?,
            services: r.services,
            environment: r.environment,
            summary: r.summary,
            url: r.url,
            actor: r.actor,
            actor_kind: r
                .actor_kind
                .map(|k| k.parse())
                .transpose()
                .map_err(Error::Corrupt)?,
            sha: r.sha,
            git_ref: r.git_ref,
            status: r.status,
            failed: r.failed,
            occurred_at: Some(r.occurred_at),
        };
        Ok(Change {
            id: r.id,
            number: r.number,
            source: r.source,
            change,
            occurred_at: r.occurred_at,
            relation: r
                .relation
                .map(|r| r.parse())
                .transpose()
                .map_err(Error::Corrupt)?,
        })
    }
}

/// Stores a change of `source`, unless the source sent it before (same external id): returns
/// the stored change and whether it is new.
pub async fn insert(
    conn: &mut PgConnection,
    source: &str,
    change: &NewChange,
    now: DateTime<Utc>,
) -> Result<(Change, bool)> {
    let sql = concat!(
        "with added as (insert into change (id, source, external_id, kind, services, \
         environment, summary, url, actor, actor_kind, sha, ref, status, failed, occurred_at, \
         received_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16) on conflict (source, external_id) do nothing returning *) \
         select true as is_new, ",
        change_columns!(),
        " from added c union all select false, ",
        change_columns!(),
        " from change c where c.source = $2 and c.external_id = $3 \
          and not exists (select 1 from added)"
    );
    #[derive(FromRow)]
    struct Inserted {
        is_new: bool,
        #[sqlx(flatten)]
        row: ChangeRow,
    }
    let row: Inserted = sqlx::query_as(sql)
        .bind(Uuid::now_v7())
        .bind(source)
        .bind(&change.external_id)
        .bind(change.kind.as_str())
        .bind(&change.services)
        .bind(&change.environment)
        .bind(&change.summary)
        .bind(&change.url)
        .bind(&change.actor)
        .bind(change.actor_kind.map(|k| k.as_str()))
        .bind(&change.sha)
        .bind(&change.git_ref)
        .bind(&change.status)
        .bind(change.failed)
        .bind(change.occurred_at.unwrap_or(now))
        .bind(now)
        .fetch_one(conn)
        .await?;
    Ok((row.row.try_into()?, row.is_new))
}

/// A change by number.
pub async fn find(conn: &mut PgConnection, number: i64) -> Result<Option<Change>> {
    let sql = concat!(
        "select ",
        change_columns!(),
        " from change c where c.number = $1"
    );
    let row: Option<ChangeRow> = sqlx::query_as(sql)
        .bind(number)
        .fetch_optional(conn)
        .await?;
    row.map(Change::try_from).transpose()
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// Touching this service.
    pub service: Option<String>,
    /// Of this kind.
    pub kind: Option<&'static str>,
    /// Happened at or after.
    pub since: Option<DateTime<Utc>>,
    /// Happened before.
    pub until: Option<DateTime<Utc>>,
}

/// Changes newest first after the keyset `after` (occurred at, id), at most `limit`.
pub async fn list(
    conn: &mut PgConnection,
    filter: &ChangeFilter,
    after: Option<TimePosition>,
    limit: i64,
) -> Result<Vec<Change>> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
        "select ",
        change_columns!(),
        " from change c where true"
    ));
    if let Some(service) = &filter.service {
        q.push(" and c.services @> array[")
            .push_bind(service.clone())
            .push("]::text[]");
    }
    if let Some(kind) = filter.kind {
        q.push(" and c.kind = ").push_bind(kind);
    }
    if let Some(since) = filter.since {
        q.push(" and c.occurred_at >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        q.push(" and c.occurred_at < ").push_bind(until);
    }
    if let Some(after) = after {
        q.push(" and (c.occurred_at, c.id) < (")
            .push_bind(after.at)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    q.push(" order by c.occurred_at desc, c.id desc limit ")
        .push_bind(limit);
    let rows: Vec<ChangeRow> = q.build_query_as().fetch_all(conn).await?;
    rows.into_iter().map(Change::try_from).collect()
}

/// The changes that may bear on an incident: those in `[from, to]` touching one of `services`
/// (or naming none), and every change linked to it, each with its relation to the incident.
/// At most `limit` from the window, nearest to `to` first.
pub async fn candidates(
    conn: &mut PgConnection,
    incident_id: Uuid,
    services: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Change>> {
    let sql = concat!(
        "select ",
        change_columns!(),
        ", l.relation from (select * from change where occurred_at between $3 and $4 \
           and (services && $2 or services = '{}' or cardinality($2::text[]) = 0) \
           order by occurred_at desc limit $5) c \
         left join incident_change l on l.change_id = c.id and l.incident_id = $1 \
         union select ",
        change_columns!(),
        ", l.relation from incident_change l join change c on c.id = l.change_id \
         where l.incident_id = $1"
    );
    let rows: Vec<ChangeRow> = sqlx::query_as(sql)
        .bind(incident_id)
        .bind(services)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(Change::try_from).collect()
}

/// Records what a responder decided about a change for an incident; returns the relation it
/// had before, if any.
pub async fn link(
    conn: &mut PgConnection,
    incident_id: Uuid,
    change_id: Uuid,
    relation: ChangeRelation,
    note: Option<&str>,
    principal: &str,
    now: DateTime<Utc>,
) -> Result<Option<ChangeRelation>> {
    let before: Option<(String,)> = sqlx::query_as(
        "select relation from incident_change where incident_id = $1 and change_id = $2 for update",
    )
    .bind(incident_id)
    .bind(change_id)
    .fetch_optional(&mut *conn)
    .await?;
    sqlx::query(
        "insert into incident_change (incident_id, change_id, relation, note, linked_at, \
         linked_by_principal) values ($1, $2, $3, $4, $5, $6) \
         on conflict (incident_id, change_id) do update set relation = excluded.relation, \
         note = excluded.note, linked_at = excluded.linked_at, \
         linked_by_principal = excluded.linked_by_principal",
    )
    .bind(incident_id)
    .bind(change_id)
    .bind(relation.as_str())
    .bind(note)
    .bind(now)
    .bind(principal)
    .execute(conn)
    .await?;
    before
        .map(|(r,)| r.parse().map_err(Error::Corrupt))
        .transpose()
}
