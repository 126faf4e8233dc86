//! SQL for the `timeline_entry` table (append-only: there is no update or delete here, and a
//! trigger refuses them).

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::{
    Actor, EntryData, EntryKind, IncidentRef, NewEntry, TimelineEntry, Visibility,
};
use crate::store::{Error, Result, actor};

macro_rules! entry_columns {
    () => {
        "id, seq, kind, body, occurred_at, recorded_at, visibility, actor_principal, \
         actor_client, actor_channel, data"
    };
}
pub(super) use entry_columns;

/// A stored entry as a query (or `json_agg` of rows) returns it.
#[derive(FromRow, serde::Deserialize)]
pub(super) struct EntryRow {
    id: Uuid,
    seq: i64,
    kind: String,
    body: String,
    occurred_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    visibility: String,
    actor_principal: String,
    actor_client: Option<String>,
    actor_channel: String,
    data: Option<Json<serde_json::Value>>,
}

impl TryFrom<EntryRow> for TimelineEntry {
    type Error = Error;

    fn try_from(row: EntryRow) -> Result<Self> {
        Ok(TimelineEntry {
            id: row.id,
            seq: row.seq,
            kind: row.kind.parse().map_err(Error::Corrupt)?,
            body: row.body,
            occurred_at: row.occurred_at,
            recorded_at: row.recorded_at,
            visibility: row
                .visibility
                .parse::<Visibility>()
                .ok()
                .ok_or_else(|| Error::Corrupt(format!("visibility {}", row.visibility)))?,
            actor: actor(row.actor_principal, row.actor_client, &row.actor_channel)?,
            data: row.data.and_then(|Json(value)| entry_data(value)),
        })
    }
}

/// Decodes stored entry data; a shape this version does not know (written by a newer one) is
/// left out rather than failing the read.
fn entry_data(value: serde_json::Value) -> Option<EntryData> {
    match serde_json::from_value(value) {
        Ok(data) => Some(data),
        Err(err) => {
            tracing::warn!(error = %err, "timeline entry data of an unknown shape");
            None
        }
    }
}

/// Encodes entry data for storage.
fn encoded(data: &EntryData) -> Option<String> {
    serde_json::to_string(data).ok()
}

/// An `insert … select` that appends the entries bound by [`bind_entries`] (parameters $1 to
/// $10) to the timeline of the incident whose `id` the relation `$source` holds, returning the
/// stored entries. Statements that change an incident use it as a CTE, so that the change and
/// its timeline entries are written by one statement.
macro_rules! insert_entries_from {
    ($source:literal) => {
        concat!(
            "insert into timeline_entry (id, incident_id, kind, body, occurred_at, recorded_at, \
             visibility, actor_principal, actor_client, actor_channel, data) \
             select e.id, ",
            $source,
            ".id, e.kind, e.body, e.occurred_at, $7, e.visibility, $8, $9, $10, e.data::jsonb \
             from ",
            $source,
            ", unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], \
               $6::text[]) with ordinality as e(id, kind, body, occurred_at, visibility, data, ord) \
             order by e.ord returning ",
            $crate::store::timeline::entry_columns!()
        )
    };
}
pub(super) use insert_entries_from;

/// New entries as the column arrays the inserts unnest, each with a fresh id.
struct Columns<'q> {
    ids: Vec<Uuid>,
    kinds: Vec<&'q str>,
    bodies: Vec<&'q str>,
    occurred: Vec<DateTime<Utc>>,
    visibility: Vec<&'q str>,
    data: Vec<Option<String>>,
}

impl<'q> Columns<'q> {
    fn of(entries: impl Iterator<Item = &'q NewEntry>) -> Self {
        let mut c = Columns {
            ids: Vec::new(),
            kinds: Vec::new(),
            bodies: Vec::new(),
            occurred: Vec::new(),
            visibility: Vec::new(),
            data: Vec::new(),
        };
        for e in entries {
            c.ids.push(Uuid::now_v7());
            c.kinds.push(e.kind.as_str());
            c.bodies.push(e.body.as_str());
            c.occurred.push(e.occurred_at);
            c.visibility.push(e.visibility.as_str());
            c.data.push(e.data.as_ref().and_then(encoded));
        }
        c
    }
}

/// Binds parameters $1 to $10 of [`insert_entries_from`]: the entries, the acting `actor` and
/// the time they are recorded at.
pub(super) fn bind_entries<'q, O>(
    query: QueryAs<'q, Postgres, O, PgArguments>,
    entries: &'q [NewEntry],
    actor: &'q Actor,
    now: DateTime<Utc>,
) -> QueryAs<'q, Postgres, O, PgArguments> {
    let c = Columns::of(entries.iter());
    query
        .bind(c.ids)
        .bind(c.kinds)
        .bind(c.bodies)
        .bind(c.occurred)
        .bind(c.visibility)
        .bind(c.data)
        .bind(now)
        .bind(&actor.principal)
        .bind(&actor.client)
        .bind(actor.channel.as_str())
}

/// Appends entries to an incident's timeline in one statement.
pub async fn append(
    conn: &mut PgConnection,
    incident_id: Uuid,
    entries: &[NewEntry],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<TimelineEntry>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    const SQL: &str = concat!(
        "with target as (select $11::uuid as id) ",
        insert_entries_from!("target")
    );
    let rows: Vec<EntryRow> = bind_entries(sqlx::query_as(SQL), entries, actor, now)
        .bind(incident_id)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(TimelineEntry::try_from).collect()
}

/// Appends entries to the timelines of several incidents (`entries[i].0` is the incident) in
/// one statement, in order.
pub async fn append_across(
    conn: &mut PgConnection,
    entries: &[(Uuid, NewEntry)],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let incidents: Vec<Uuid> = entries.iter().map(|(incident, _)| *incident).collect();
    let c = Columns::of(entries.iter().map(|(_, e)| e));
    sqlx::query(
        "insert into timeline_entry (id, incident_id, kind, body, occurred_at, recorded_at, \
         visibility, actor_principal, actor_client, actor_channel, data) \
         select e.id, e.incident_id, e.kind, e.body, e.occurred_at, $8, e.visibility, $9, $10, \
         $11, e.data::jsonb \
         from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], \
           $6::text[], $7::text[]) with ordinality \
           as e(id, incident_id, kind, body, occurred_at, visibility, data, ord) \
         order by e.ord",
    )
    .bind(c.ids)
    .bind(incidents)
    .bind(c.kinds)
    .bind(c.bodies)
    .bind(c.occurred)
    .bind(c.visibility)
    .bind(c.data)
    .bind(now)
    .bind(&actor.principal)
    .bind(&actor.client)
    .bind(actor.channel.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends entries to the timeline of the incident `reference` names, in one statement
/// (no transaction needed): returns the incident's number with the stored entries, or `None`
/// when there is no such incident.
pub async fn append_to(
    conn: &mut PgConnection,
    reference: IncidentRef,
    entries: &[NewEntry],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<(i64, Vec<TimelineEntry>)>> {
    macro_rules! append_to_sql {
        ($target:literal) => {
            concat!(
                "with target as (select id, number from incident where ",
                $target,
                " = $11), added as (",
                insert_entries_from!("target"),
                ") select added.*, target.number as incident_number from added, target \
                 order by added.seq"
            )
        };
    }
    const BY_ID: &str = append_to_sql!("id");
    const BY_NUMBER: &str = append_to_sql!("number");
    let sql = match reference {
        IncidentRef::Id(_) => BY_ID,
        IncidentRef::Number(_) => BY_NUMBER,
    };
    let query = bind_entries(sqlx::query_as(sql), entries, actor, now);
    let query = match reference {
        IncidentRef::Id(id) => query.bind(id),
        IncidentRef::Number(number) => query.bind(number),
    };
    let rows: Vec<NumberedEntryRow> = query.fetch_all(conn).await?;
    let Some(number) = rows.first().map(|row| row.incident_number) else {
        return Ok(None);
    };
    let entries = rows
        .into_iter()
        .map(|row| TimelineEntry::try_from(row.entry))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some((number, entries)))
}

#[derive(FromRow)]
struct NumberedEntryRow {
    #[sqlx(flatten)]
    entry: EntryRow,
    incident_number: i64,
}

/// The newest `limit` entries, returned oldest first, with how many entries the incident has
/// in all (one round trip for both).
pub async fn recent(
    conn: &mut PgConnection,
    incident_id: Uuid,
    limit: i64,
) -> Result<(Vec<TimelineEntry>, i64)> {
    const SQL: &str = concat!(
        "select newest.*, (select count(*) from timeline_entry where incident_id = $1) as total \
         from (select ",
        entry_columns!(),
        " from timeline_entry where incident_id = $1 \
          order by occurred_at desc, seq desc limit $2) newest order by occurred_at, seq"
    );
    let rows: Vec<CountedEntryRow> = sqlx::query_as(SQL)
        .bind(incident_id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    let total = rows.first().map_or(0, |row| row.total);
    let entries = rows
        .into_iter()
        .map(|row| TimelineEntry::try_from(row.entry))
        .collect::<Result<Vec<_>>>()?;
    Ok((entries, total))
}

#[derive(FromRow)]
struct CountedEntryRow {
    #[sqlx(flatten)]
    entry: EntryRow,
    total: i64,
}

/// Where a page of a timeline ends: the last entry's time and sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPosition {
    /// Its `occurred_at`.
    pub occurred_at: DateTime<Utc>,
    /// Its `seq`.
    pub seq: i64,
}

/// As a cursor: `t<microseconds>_<seq>`.
impl std::fmt::Display for EntryPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "t{}_{}", self.occurred_at.timestamp_micros(), self.seq)
    }
}

impl std::str::FromStr for EntryPosition {
    type Err = ();

    fn from_str(cursor: &str) -> std::result::Result<Self, ()> {
        let (micros, seq) = cursor
            .strip_prefix('t')
            .and_then(|rest| rest.split_once('_'))
            .ok_or(())?;
        let occurred_at = micros
            .parse()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .ok_or(())?;
        Ok(EntryPosition {
            occurred_at,
            seq: seq.parse().map_err(|_| ())?,
        })
    }
}

impl From<&TimelineEntry> for EntryPosition {
    fn from(entry: &TimelineEntry) -> Self {
        EntryPosition {
            occurred_at: entry.occurred_at,
            seq: entry.seq,
        }
    }
}

/// A page of entries in chronological order, after `after`, optionally only of some kinds.
pub async fn page(
    conn: &mut PgConnection,
    incident_id: Uuid,
    kinds: Option<&[EntryKind]>,
    after: Option<EntryPosition>,
    limit: i64,
) -> Result<Vec<TimelineEntry>> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new("select ");
    sql.push(entry_columns!());
    sql.push(" from timeline_entry where incident_id = ")
        .push_bind(incident_id);
    if let Some(kinds) = kinds {
        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        sql.push(" and kind = any(").push_bind(names).push(")");
    }
    if let Some(EntryPosition { occurred_at, seq }) = after {
        sql.push(" and (occurred_at, seq) > (")
            .push_bind(occurred_at);
        sql.push(", ").push_bind(seq).push(")");
    }
    sql.push(" order by occurred_at, seq limit ")
        .push_bind(limit);
    let rows: Vec<EntryRow> = sql.build_query_as().fetch_all(conn).await?;
    rows.into_iter().map(TimelineEntry::try_from).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failing test should panic")]

    use super::*;

    /// Entry data as earlier versions wrote it (JSON built by hand) decodes into the shape it
    /// describes, and encodes back to the same JSON.
    #[test]
    fn stored_shapes_decode_into_their_variants_and_round_trip() {
        let cases = [
            (r#"{"to":"triage","severity":"SEV2"}"#, "Declared"),
            (
                r#"{"from":"triage","to":"investigating","stamped":["acknowledged_at"],"reopen":false,"merged_into":null}"#,
                "StatusMoved",
            ),
            (r#"{"merged_from":12}"#, "MergedFrom"),
            (
                r#"{"field":"severity","from":"SEV3","to":"SEV1"}"#,
                "FieldChanged",
            ),
            (r#"{"role":"commander","to":"alice"}"#, "RoleChanged"),
            (r#"{"role":"scribe","from":null,"to":"bob"}"#, "RoleChanged"),
            (
                r#"{"dedup_key":"k","title":"t","severity":"SEV3","services":["api"],"labels":{"a":"b"}}"#,
                "RepeatSignal",
            ),
            (
                r#"{"runbook":"disk-full","version":1,"content_hash":"h","step":2,"text":"x","kind":"risky","risky":true,"outcome":"failed","output":null}"#,
                "RunbookStep",
            ),
            (
                r#"{"object":"action_item","action":"added","action_item":"AI-1","title":"t","kind":"detect","priority":"P2","owner":null,"due_on":"2026-12-31","external_url":null}"#,
                "ActionItemAdded",
            ),
            (
                r#"{"object":"action_item","action":"updated","action_item":"AI-1","version":2,"changes":[{"field":"status","from":"open","to":"done"}]}"#,
                "ActionItemUpdated",
            ),
            (
                r#"{"object":"postmortem","action":"refreshed","version":3,"refreshed":["timeline"],"kept_edited":["lessons"],"incident_status":"resolved"}"#,
                "PostmortemDrafted",
            ),
            (
                r#"{"object":"postmortem","action":"updated","version":4,"sections":["lessons"],"status":{"from":"draft","to":"in_review"}}"#,
                "PostmortemUpdated",
            ),
        ];
        for (json, variant) in cases {
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            let data = entry_data(value.clone()).unwrap_or_else(|| panic!("{json}"));
            let name = format!("{data:?}");
            assert!(name.starts_with(variant), "{json} decoded as {name}");
            let encoded: serde_json::Value =
                serde_json::from_str(&encoded(&data).unwrap()).unwrap();
            let mut expected = value;
            if let Some(fields) = expected.as_object_mut()
                && !fields.contains_key("from")
                && variant == "RoleChanged"
            {
                fields.insert("from".into(), serde_json::Value::Null);
            }
            assert_eq!(encoded, expected, "{json}");
        }
        assert_eq!(entry_data(serde_json::json!({"something": "new"})), None);
    }
}
