//! SQL for the `role_assignment` table. Assignments are closed, never deleted, so history stays.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::domain::{Actor, NewRoleAssignment, Role, RoleAssignment};
use crate::store::{Error, Result, actor};

/// The columns every assignment query returns, in `AssignmentRow` order.
macro_rules! assignment_columns {
    () => {
        "id, role, assignee, assigned_at, unassigned_at, assigned_by_principal, \
         assigned_by_client, assigned_by_channel"
    };
}
pub(super) use assignment_columns;

/// A stored assignment as a query (or `json_agg` of rows) returns it.
#[derive(FromRow, serde::Deserialize)]
pub(super) struct AssignmentRow {
    id: Uuid,
    role: String,
    assignee: String,
    assigned_at: DateTime<Utc>,
    unassigned_at: Option<DateTime<Utc>>,
    assigned_by_principal: String,
    assigned_by_client: Option<String>,
    assigned_by_channel: String,
}

impl TryFrom<AssignmentRow> for RoleAssignment {
    type Error = Error;

    fn try_from(row: AssignmentRow) -> Result<Self> {
        Ok(RoleAssignment {
            id: row.id,
            role: row.role.parse::<Role>().map_err(Error::Corrupt)?,
            assignee: row.assignee,
            assigned_at: row.assigned_at,
            unassigned_at: row.unassigned_at,
            assigned_by: actor(
                row.assigned_by_principal,
                row.assigned_by_client,
                &row.assigned_by_channel,
            )?,
        })
    }
}

/// Current assignments of an incident, in the order they were made.
pub async fn current(conn: &mut PgConnection, incident_id: Uuid) -> Result<Vec<RoleAssignment>> {
    const SQL: &str = concat!(
        "select ",
        assignment_columns!(),
        " from role_assignment where incident_id = $1 and unassigned_at is null \
          order by assigned_at, id"
    );
    let rows: Vec<AssignmentRow> = sqlx::query_as(SQL)
        .bind(incident_id)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(RoleAssignment::try_from).collect()
}

/// Ends the current holder's turn in a single-holder role; returns who held it.
pub async fn close_current(
    conn: &mut PgConnection,
    incident_id: Uuid,
    role: Role,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let previous: Option<(String,)> = sqlx::query_as(
        "update role_assignment set unassigned_at = greatest($3, assigned_at) \
         where incident_id = $1 and role = $2 and unassigned_at is null returning assignee",
    )
    .bind(incident_id)
    .bind(role.as_str())
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(previous.map(|(assignee,)| assignee))
}

/// Whether `assignee` currently holds `role` on the incident.
pub async fn is_current(
    conn: &mut PgConnection,
    incident_id: Uuid,
    assignment: &NewRoleAssignment,
) -> Result<bool> {
    let found: Option<(i32,)> = sqlx::query_as(
        "select 1 from role_assignment where incident_id = $1 and role = $2 \
         and assignee = $3 and unassigned_at is null",
    )
    .bind(incident_id)
    .bind(assignment.role.as_str())
    .bind(&assignment.assignee)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Records a new current assignment.
pub async fn insert(
    conn: &mut PgConnection,
    incident_id: Uuid,
    assignment: &NewRoleAssignment,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<RoleAssignment> {
    const SQL: &str = concat!(
        "insert into role_assignment (id, incident_id, role, assignee, assigned_at, \
         assigned_by_principal, assigned_by_client, assigned_by_channel) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning ",
        assignment_columns!()
    );
    let row: AssignmentRow = sqlx::query_as(SQL)
        .bind(Uuid::now_v7())
        .bind(incident_id)
        .bind(assignment.role.as_str())
        .bind(&assignment.assignee)
        .bind(now)
        .bind(&actor.principal)
        .bind(&actor.client)
        .bind(actor.channel.as_str())
        .fetch_one(conn)
        .await?;
    row.try_into()
}

/// Every assignment of an incident, current and past, in the order they were made.
pub async fn history(conn: &mut PgConnection, incident_id: Uuid) -> Result<Vec<RoleAssignment>> {
    const SQL: &str = concat!(
        "select ",
        assignment_columns!(),
        " from role_assignment where incident_id = $1 order by assigned_at, id"
    );
    let rows: Vec<AssignmentRow> = sqlx::query_as(SQL)
        .bind(incident_id)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(RoleAssignment::try_from).collect()
}
