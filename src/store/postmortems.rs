//! SQL for the `postmortem` and `postmortem_section` tables (a postmortem and its sections are
//! one aggregate, read and written together).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::domain::postmortem::{Origin, Postmortem, PostmortemStatus, Section, SectionName};
use crate::domain::{Actor, Status};
use crate::store::{Error, Lock, Result, actor};

#[derive(FromRow)]
struct PostmortemRow {
    incident_id: Uuid,
    status: String,
    version: i64,
    facts_as_of: DateTime<Utc>,
    facts_incident_status: String,
    created_by_principal: String,
    created_by_client: Option<String>,
    created_by_channel: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct SectionRow {
    name: String,
    body: String,
    origin: String,
    updated_at: DateTime<Utc>,
    updated_by_principal: String,
}

impl TryFrom<SectionRow> for Section {
    type Error = Error;

    fn try_from(row: SectionRow) -> Result<Self> {
        Ok(Section {
            name: SectionName::parse("name", &row.name)
                .map_err(|_| Error::Corrupt(format!("postmortem section {}", row.name)))?,
            body: row.body,
            origin: row
                .origin
                .parse::<Origin>()
                .ok()
                .ok_or_else(|| Error::Corrupt(format!("section origin {}", row.origin)))?,
            updated_at: row.updated_at,
            updated_by: row.updated_by_principal,
        })
    }
}

/// The incident's postmortem with its sections in document order, locked as `lock` says until
/// the transaction ends.
pub async fn find(
    conn: &mut PgConnection,
    incident_id: Uuid,
    lock: Lock,
) -> Result<Option<Postmortem>> {
    const SQL: &str = "select incident_id, status, version, facts_as_of, facts_incident_status, \
        created_by_principal, created_by_client, created_by_channel, created_at, updated_at, \
        published_at from postmortem where incident_id = $1";
    const SQL_LOCKED: &str = "select incident_id, status, version, facts_as_of, \
        facts_incident_status, created_by_principal, created_by_client, created_by_channel, \
        created_at, updated_at, published_at from postmortem where incident_id = $1 for update";
    let row: Option<PostmortemRow> = sqlx::query_as(if lock == Lock::ForUpdate {
        SQL_LOCKED
    } else {
        SQL
    })
    .bind(incident_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let sections: Vec<SectionRow> = sqlx::query_as(
        "select name, body, origin, updated_at, updated_by_principal from postmortem_section \
         where incident_id = $1",
    )
    .bind(incident_id)
    .fetch_all(conn)
    .await?;
    let mut sections = sections
        .into_iter()
        .map(Section::try_from)
        .collect::<Result<Vec<_>>>()?;
    sections.sort_by_key(|s| s.name.position());
    Ok(Some(Postmortem {
        incident_id: row.incident_id,
        status: row.status.parse().map_err(Error::Corrupt)?,
        version: row.version,
        facts_as_of: row.facts_as_of,
        facts_incident_status: row
            .facts_incident_status
            .parse::<Status>()
            .map_err(Error::Corrupt)?,
        sections,
        created_by: actor(
            row.created_by_principal,
            row.created_by_client,
            &row.created_by_channel,
        )?,
        created_at: row.created_at,
        updated_at: row.updated_at,
        published_at: row.published_at,
    }))
}

/// The status of the incident's postmortem, if it has one, share-locked so that it cannot
/// change before the transaction ends (the close gate reads it).
pub async fn status(
    conn: &mut PgConnection,
    incident_id: Uuid,
) -> Result<Option<PostmortemStatus>> {
    let row: Option<(String,)> =
        sqlx::query_as("select status from postmortem where incident_id = $1 for share")
            .bind(incident_id)
            .fetch_optional(conn)
            .await?;
    row.map(|(status,)| status.parse().map_err(Error::Corrupt))
        .transpose()
}

/// Writes the postmortem's header (inserting it the first time) and the given sections, bumps
/// `version` and returns the new version.
pub async fn save(
    conn: &mut PgConnection,
    postmortem: &Postmortem,
    sections: &[&Section],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<i64> {
    let (version,): (i64,) = sqlx::query_as(
        "insert into postmortem (incident_id, status, facts_as_of, facts_incident_status, \
         created_by_principal, created_by_client, created_by_channel, created_at, updated_at, \
         published_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) \
         on conflict (incident_id) do update set status = excluded.status, \
         facts_as_of = excluded.facts_as_of, facts_incident_status = excluded.facts_incident_status, \
         updated_at = excluded.updated_at, published_at = excluded.published_at, \
         version = postmortem.version + 1 returning version",
    )
    .bind(postmortem.incident_id)
    .bind(postmortem.status.as_str())
    .bind(postmortem.facts_as_of)
    .bind(postmortem.facts_incident_status.as_str())
    .bind(&actor.principal)
    .bind(&actor.client)
    .bind(actor.channel.as_str())
    .bind(now)
    .bind(postmortem.published_at)
    .fetch_one(&mut *conn)
    .await?;
    if !sections.is_empty() {
        let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
        let bodies: Vec<&str> = sections.iter().map(|s| s.body.as_str()).collect();
        let origins: Vec<&str> = sections.iter().map(|s| s.origin.as_str()).collect();
        let times: Vec<DateTime<Utc>> = sections.iter().map(|s| s.updated_at).collect();
        let authors: Vec<&str> = sections.iter().map(|s| s.updated_by.as_str()).collect();
        sqlx::query(
            "insert into postmortem_section (incident_id, name, body, origin, updated_at, \
             updated_by_principal) \
             select $1, s.name, s.body, s.origin, s.updated_at, s.updated_by \
             from unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]) \
                  as s(name, body, origin, updated_at, updated_by) \
             on conflict (incident_id, name) do update set body = excluded.body, \
             origin = excluded.origin, updated_at = excluded.updated_at, \
             updated_by_principal = excluded.updated_by_principal",
        )
        .bind(postmortem.incident_id)
        .bind(names)
        .bind(bodies)
        .bind(origins)
        .bind(times)
        .bind(authors)
        .execute(conn)
        .await?;
    }
    Ok(version)
}
