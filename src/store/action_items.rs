//! SQL for the `action_item` table. Rows come back joined with their incident's number.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::Actor;
use crate::domain::action_item::{ActionItem, ActionItemRef, ActionItemStatus, NewActionItem};
use crate::store::{Error, Lock, Result, actor};

/// The columns every query returns, in `ActionItemRow` order (`a`: the item, `i`: its incident).
macro_rules! item_columns {
    () => {
        "a.id, a.number, a.incident_id, i.number as incident_number, a.title, a.owner, a.due_on, \
         a.priority, a.kind, a.status, a.external_url, a.version, a.created_by_principal, \
         a.created_by_client, a.created_by_channel, a.created_at, a.updated_at, a.completed_at"
    };
}
pub(super) use item_columns;

/// A stored item as a query (or `json_agg` of rows) returns it.
#[derive(FromRow, serde::Deserialize)]
pub(super) struct ActionItemRow {
    id: Uuid,
    number: i64,
    incident_id: Uuid,
    incident_number: i64,
    title: String,
    owner: Option<String>,
    due_on: Option<NaiveDate>,
    priority: String,
    kind: String,
    status: String,
    external_url: Option<String>,
    version: i64,
    created_by_principal: String,
    created_by_client: Option<String>,
    created_by_channel: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

impl TryFrom<ActionItemRow> for ActionItem {
    type Error = Error;

    fn try_from(row: ActionItemRow) -> Result<Self> {
        Ok(ActionItem {
            id: row.id,
            number: row.number,
            incident_id: row.incident_id,
            incident_number: row.incident_number,
            title: row.title,
            owner: row.owner,
            due_on: row.due_on,
            priority: row.priority.parse().map_err(Error::Corrupt)?,
            kind: row.kind.parse().map_err(Error::Corrupt)?,
            status: row.status.parse().map_err(Error::Corrupt)?,
            external_url: row.external_url,
            version: row.version,
            created_by: actor(
                row.created_by_principal,
                row.created_by_client,
                &row.created_by_channel,
            )?,
            created_at: row.created_at,
            updated_at: row.updated_at,
            completed_at: row.completed_at,
        })
    }
}

fn convert(rows: Vec<ActionItemRow>) -> Result<Vec<ActionItem>> {
    rows.into_iter().map(ActionItem::try_from).collect()
}

/// Inserts an `open` action item on an incident and returns it.
pub async fn insert(
    conn: &mut PgConnection,
    incident_id: Uuid,
    new: &NewActionItem,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ActionItem> {
    const SQL: &str = concat!(
        "with a as (insert into action_item (id, incident_id, title, owner, due_on, priority, \
         kind, status, external_url, created_by_principal, created_by_client, \
         created_by_channel, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $11, $12, $12) returning *) \
         select ",
        item_columns!(),
        " from a join incident i on i.id = a.incident_id"
    );
    let row: ActionItemRow = sqlx::query_as(SQL)
        .bind(Uuid::now_v7())
        .bind(incident_id)
        .bind(&new.title)
        .bind(&new.owner)
        .bind(new.due_on)
        .bind(new.priority.as_str())
        .bind(new.kind.as_str())
        .bind(&new.external_url)
        .bind(&actor.principal)
        .bind(&actor.client)
        .bind(actor.channel.as_str())
        .bind(now)
        .fetch_one(conn)
        .await?;
    row.try_into()
}

/// Loads an action item by reference, locked as `lock` says.
pub async fn find(
    conn: &mut PgConnection,
    reference: ActionItemRef,
    lock: Lock,
) -> Result<Option<ActionItem>> {
    const BY_ID: &str = concat!(
        "select ",
        item_columns!(),
        " from action_item a join incident i on i.id = a.incident_id where a.id = $1"
    );
    const BY_ID_LOCKED: &str = concat!(
        "select ",
        item_columns!(),
        " from action_item a join incident i on i.id = a.incident_id where a.id = $1 \
          for update of a"
    );
    const BY_NUMBER: &str = concat!(
        "select ",
        item_columns!(),
        " from action_item a join incident i on i.id = a.incident_id where a.number = $1"
    );
    const BY_NUMBER_LOCKED: &str = concat!(
        "select ",
        item_columns!(),
        " from action_item a join incident i on i.id = a.incident_id where a.number = $1 \
          for update of a"
    );
    let query = match (reference, lock == Lock::ForUpdate) {
        (ActionItemRef::Id(id), locked) => {
            sqlx::query_as(if locked { BY_ID_LOCKED } else { BY_ID }).bind(id)
        }
        (ActionItemRef::Number(n), locked) => {
            sqlx::query_as(if locked { BY_NUMBER_LOCKED } else { BY_NUMBER }).bind(n)
        }
    };
    let row: Option<ActionItemRow> = query.fetch_optional(conn).await?;
    row.map(ActionItem::try_from).transpose()
}

/// Writes every mutable field of `item`, bumps `version` and returns the stored row. The caller
/// holds the row lock and has checked the version it expected.
pub async fn save(
    conn: &mut PgConnection,
    item: &ActionItem,
    now: DateTime<Utc>,
) -> Result<ActionItem> {
    const SQL: &str = concat!(
        "with a as (update action_item set title = $2, owner = $3, due_on = $4, priority = $5, \
         status = $6, external_url = $7, completed_at = $8, updated_at = $9, \
         version = version + 1 where id = $1 returning *) select ",
        item_columns!(),
        " from a join incident i on i.id = a.incident_id"
    );
    let row: ActionItemRow = sqlx::query_as(SQL)
        .bind(item.id)
        .bind(&item.title)
        .bind(&item.owner)
        .bind(item.due_on)
        .bind(item.priority.as_str())
        .bind(item.status.as_str())
        .bind(&item.external_url)
        .bind(item.completed_at)
        .bind(now)
        .fetch_one(conn)
        .await?;
    row.try_into()
}

/// Every action item of an incident, oldest first.
pub async fn for_incident(conn: &mut PgConnection, incident_id: Uuid) -> Result<Vec<ActionItem>> {
    const SQL: &str = concat!(
        "select ",
        item_columns!(),
        " from action_item a join incident i on i.id = a.incident_id \
          where a.incident_id = $1 order by a.number"
    );
    let rows: Vec<ActionItemRow> = sqlx::query_as(SQL)
        .bind(incident_id)
        .fetch_all(conn)
        .await?;
    convert(rows)
}

/// Filters for [`list`]; `None` means "any".
#[derive(Debug, Clone)]
pub struct ListFilter {
    /// Items of this incident.
    pub incident_id: Option<Uuid>,
    /// Items of this owner (compared case-insensitively).
    pub owner: Option<String>,
    /// Items in any of these statuses.
    pub statuses: Option<Vec<ActionItemStatus>>,
    /// `true`: only overdue items; `false`: only items that are not overdue.
    pub overdue: Option<bool>,
    /// The date overdue is measured against (UTC).
    pub today: NaiveDate,
}

/// Where a page of the list ends: the last item's due date (none sorts last) and number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListPosition {
    /// Its due date.
    pub due_on: Option<NaiveDate>,
    /// Its number.
    pub number: i64,
}

/// As a cursor: `a<due date or none>_<number>`.
impl std::fmt::Display for ListPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.due_on {
            Some(due) => write!(f, "a{due}_{}", self.number),
            None => write!(f, "anone_{}", self.number),
        }
    }
}

impl std::str::FromStr for ListPosition {
    type Err = ();

    fn from_str(cursor: &str) -> std::result::Result<Self, ()> {
        let (due, number) = cursor
            .strip_prefix('a')
            .and_then(|rest| rest.split_once('_'))
            .ok_or(())?;
        let due_on = match due {
            "none" => None,
            date => Some(NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| ())?),
        };
        Ok(ListPosition {
            due_on,
            number: number.parse().map_err(|_| ())?,
        })
    }
}

/// Lists items matching `filter`, soonest due first (undated last), then by number; keyset-paged
/// after `after`, at most `limit`.
pub async fn list(
    conn: &mut PgConnection,
    filter: &ListFilter,
    after: Option<ListPosition>,
    limit: i64,
) -> Result<Vec<ActionItem>> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new("select ");
    sql.push(item_columns!());
    sql.push(" from action_item a join incident i on i.id = a.incident_id where true");
    if let Some(incident_id) = filter.incident_id {
        sql.push(" and a.incident_id = ").push_bind(incident_id);
    }
    if let Some(owner) = &filter.owner {
        sql.push(" and lower(a.owner) = lower(")
            .push_bind(owner.clone())
            .push(")");
    }
    if let Some(statuses) = &filter.statuses {
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        sql.push(" and a.status = any(").push_bind(names).push(")");
    }
    if let Some(overdue) = filter.overdue {
        sql.push(if overdue { " and " } else { " and not " });
        sql.push("coalesce(a.status in ('open', 'in_progress') and a.due_on < ")
            .push_bind(filter.today)
            .push(", false)");
    }
    if let Some(ListPosition { due_on, number }) = after {
        sql.push(" and (coalesce(a.due_on, 'infinity'::date), a.number) > (coalesce(")
            .push_bind(due_on)
            .push("::date, 'infinity'::date), ")
            .push_bind(number)
            .push(")");
    }
    sql.push(" order by coalesce(a.due_on, 'infinity'::date), a.number limit ")
        .push_bind(limit);
    let rows: Vec<ActionItemRow> = sql.build_query_as().fetch_all(conn).await?;
    convert(rows)
}
