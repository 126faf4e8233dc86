//! SQL for the `incident` table.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::domain::{
    Actor, Incident, IncidentRef, NewEntry, NewIncident, NewRoleAssignment, Severity, Status,
};
use crate::store::{Error, Lock, Result, actor, timeline};

/// The columns every incident query returns, in `IncidentRow` order.
macro_rules! incident_columns {
    () => {
        "id, number, title, summary, impact, resolution, severity, status, services, labels, \
         dedup_key, merged_into, version, created_by_principal, created_by_client, \
         created_by_channel, impact_started_at, detected_at, declared_at, acknowledged_at, \
         identified_at, mitigated_at, resolved_at, closed_at, updated_at"
    };
}
pub(super) use incident_columns;

/// A stored incident as a query returns it.
#[derive(FromRow)]
pub(super) struct IncidentRow {
    id: Uuid,
    number: i64,
    title: String,
    summary: String,
    impact: String,
    resolution: Option<String>,
    severity: i16,
    status: String,
    services: Vec<String>,
    labels: Json<BTreeMap<String, String>>,
    dedup_key: Option<String>,
    merged_into: Option<Uuid>,
    version: i64,
    created_by_principal: String,
    created_by_client: Option<String>,
    created_by_channel: String,
    impact_started_at: Option<DateTime<Utc>>,
    detected_at: Option<DateTime<Utc>>,
    declared_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    identified_at: Option<DateTime<Utc>>,
    mitigated_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<IncidentRow> for Incident {
    type Error = Error;

    fn try_from(row: IncidentRow) -> Result<Self> {
        let severity = severity(row.severity)?;
        let status = row.status.parse::<Status>().map_err(Error::Corrupt)?;
        Ok(Incident {
            id: row.id,
            number: row.number,
            title: row.title,
            summary: row.summary,
            impact: row.impact,
            resolution: row.resolution,
            severity,
            status,
            services: row.services,
            labels: row.labels.0,
            dedup_key: row.dedup_key,
            merged_into: row.merged_into,
            version: row.version,
            created_by: actor(
                row.created_by_principal,
                row.created_by_client,
                &row.created_by_channel,
            )?,
            impact_started_at: row.impact_started_at,
            detected_at: row.detected_at,
            declared_at: row.declared_at,
            acknowledged_at: row.acknowledged_at,
            identified_at: row.identified_at,
            mitigated_at: row.mitigated_at,
            resolved_at: row.resolved_at,
            closed_at: row.closed_at,
            updated_at: row.updated_at,
        })
    }
}

/// A stored severity level as the domain's severity.
pub(super) fn severity(level: i16) -> Result<Severity> {
    Severity::from_level(level).ok_or_else(|| Error::Corrupt(format!("severity {level}")))
}

fn convert(rows: Vec<IncidentRow>) -> Result<Vec<Incident>> {
    rows.into_iter().map(Incident::try_from).collect()
}

/// Takes the next incident number from the identity sequence, for [`insert_declared`]. (A
/// number taken by a declaration that then fails is skipped, as with any identity.)
pub async fn next_number(conn: &mut PgConnection) -> Result<i64> {
    let (number,): (i64,) =
        sqlx::query_as("select nextval(pg_get_serial_sequence('incident', 'number'))")
            .fetch_one(conn)
            .await?;
    Ok(number)
}

/// Inserts a declared incident in `triage` as `number` (from [`next_number`]), with its
/// timeline entries and, if given, its first role holder, in one statement; returns the
/// incident.
///
/// Parameters: $1–$10 the entries (`timeline::bind_entries`: $7 now, $8–$10 the actor),
/// $11 id, $12 number, $13 title, $14 summary, $15 impact, $16 severity, $17 services,
/// $18 labels, $19 dedup key, $20 impact started, $21 detected, $22–$24 the role (id, role,
/// assignee).
#[allow(
    clippy::too_many_arguments,
    reason = "one statement writes the incident, its entries and its role"
)]
pub async fn insert_declared(
    conn: &mut PgConnection,
    id: Uuid,
    number: i64,
    new: &NewIncident,
    entries: &[NewEntry],
    role: Option<&NewRoleAssignment>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Incident> {
    const SQL: &str = concat!(
        "with created as (insert into incident (id, number, title, summary, impact, severity, \
         status, services, labels, dedup_key, created_by_principal, created_by_client, \
         created_by_channel, impact_started_at, detected_at, declared_at, updated_at) \
         overriding system value \
         values ($11, $12, $13, $14, $15, $16, 'triage', $17, $18, $19, $8, $9, $10, $20, $21, \
         $7, $7) returning *), \
         added as (",
        timeline::insert_entries_from!("created"),
        "), role as (insert into role_assignment (id, incident_id, role, assignee, assigned_at, \
         assigned_by_principal, assigned_by_client, assigned_by_channel) \
         select $22, created.id, $23, $24, $7, $8, $9, $10 from created where $24 is not null) \
         select ",
        incident_columns!(),
        " from created"
    );
    let row: IncidentRow = timeline::bind_entries(sqlx::query_as(SQL), entries, actor, now)
        .bind(id)
        .bind(number)
        .bind(&new.title)
        .bind(&new.summary)
        .bind(&new.impact)
        .bind(new.severity.level())
        .bind(&new.services)
        .bind(Json(&new.labels))
        .bind(&new.dedup_key)
        .bind(new.impact_started_at)
        .bind(new.detected_at)
        .bind(Uuid::now_v7())
        .bind(role.map(|r| r.role.as_str()))
        .bind(role.map(|r| r.assignee.as_str()))
        .fetch_one(conn)
        .await?;
    row.try_into()
}

/// Loads an incident by reference, locked as `lock` says.
pub async fn find(
    conn: &mut PgConnection,
    reference: IncidentRef,
    lock: Lock,
) -> Result<Option<Incident>> {
    const BY_ID: &str = concat!(
        "select ",
        incident_columns!(),
        " from incident where id = $1"
    );
    const BY_ID_LOCKED: &str = concat!(
        "select ",
        incident_columns!(),
        " from incident where id = $1 for update"
    );
    const BY_NUMBER: &str = concat!(
        "select ",
        incident_columns!(),
        " from incident where number = $1"
    );
    const BY_NUMBER_LOCKED: &str = concat!(
        "select ",
        incident_columns!(),
        " from incident where number = $1 for update"
    );
    let query = match (reference, lock == Lock::ForUpdate) {
        (IncidentRef::Id(id), locked) => {
            sqlx::query_as(if locked { BY_ID_LOCKED } else { BY_ID }).bind(id)
        }
        (IncidentRef::Number(n), locked) => {
            sqlx::query_as(if locked { BY_NUMBER_LOCKED } else { BY_NUMBER }).bind(n)
        }
    };
    let row: Option<IncidentRow> = query.fetch_optional(conn).await?;
    row.map(Incident::try_from).transpose()
}

/// The open incident (triage or live) holding `dedup_key`, locked, if any.
pub async fn open_with_dedup_key(conn: &mut PgConnection, key: &str) -> Result<Option<Incident>> {
    const SQL: &str = concat!(
        "select ",
        incident_columns!(),
        " from incident where dedup_key = $1 \
          and status in ('triage', 'investigating', 'identified', 'monitoring') for update"
    );
    let row: Option<IncidentRow> = sqlx::query_as(SQL).bind(key).fetch_optional(conn).await?;
    row.map(Incident::try_from).transpose()
}

/// Writes every mutable field of `incident`, bumps `version` and appends `entries` to its
/// timeline, in one statement, if the stored row is still at `incident.version`. Returns the
/// stored row, or `None` when another writer changed the incident first (nothing is written
/// then).
///
/// Parameters: $1–$10 the entries (`timeline::bind_entries`: $7 now, $8–$10 the actor),
/// $11 id, $12 the version read, $13–$28 the fields in the order of the `set` list.
pub async fn save_with_entries(
    conn: &mut PgConnection,
    incident: &Incident,
    entries: &[NewEntry],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Incident>> {
    const SQL: &str = concat!(
        "with saved as (update incident set title = $13, summary = $14, impact = $15, \
         resolution = $16, severity = $17, status = $18, services = $19, labels = $20, \
         merged_into = $21, impact_started_at = $22, detected_at = $23, acknowledged_at = $24, \
         identified_at = $25, mitigated_at = $26, resolved_at = $27, closed_at = $28, \
         updated_at = $7, version = version + 1 where id = $11 and version = $12 returning *), \
         added as (",
        timeline::insert_entries_from!("saved"),
        ") select ",
        incident_columns!(),
        " from saved"
    );
    let row: Option<IncidentRow> = timeline::bind_entries(sqlx::query_as(SQL), entries, actor, now)
        .bind(incident.id)
        .bind(incident.version)
        .bind(&incident.title)
        .bind(&incident.summary)
        .bind(&incident.impact)
        .bind(&incident.resolution)
        .bind(incident.severity.level())
        .bind(incident.status.as_str())
        .bind(&incident.services)
        .bind(Json(&incident.labels))
        .bind(incident.merged_into)
        .bind(incident.impact_started_at)
        .bind(incident.detected_at)
        .bind(incident.acknowledged_at)
        .bind(incident.identified_at)
        .bind(incident.mitigated_at)
        .bind(incident.resolved_at)
        .bind(incident.closed_at)
        .fetch_optional(conn)
        .await?;
    row.map(Incident::try_from).transpose()
}

/// How many incidents exist (used by tests and tooling to check nothing was half-written).
pub async fn count(conn: &mut PgConnection) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from incident")
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Incidents whose number starts with `digits` (every incident when `digits` is empty), for
/// completing a partly typed reference: open ones (`open` statuses) first, then the rest;
/// within each group the smallest number first (`4`, `40`, `41`, …), or the newest first when
/// nothing was typed. The prefix match scans the table, which is fine at incident-table sizes.
pub async fn with_number_prefix(
    conn: &mut PgConnection,
    digits: &str,
    open: &[Status],
    limit: i64,
) -> Result<Vec<Incident>> {
    const SQL: &str = concat!(
        "select ",
        incident_columns!(),
        " from incident where number::text like $1 || '%' \
          order by status = any($2) desc, case when $1 = '' then -number else number end \
          limit $3"
    );
    let open: Vec<&str> = open.iter().map(|s| s.as_str()).collect();
    let rows: Vec<IncidentRow> = sqlx::query_as(SQL)
        .bind(digits)
        .bind(open)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    convert(rows)
}
