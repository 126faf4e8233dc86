//! SQL for notifications: the targets each serving process registers, the outbox of events
//! (written by the `timeline_entry` trigger, and here for overdue action items), the
//! deliveries they fan out to, and the ledger of attempts. Workers claim rows with
//! `FOR UPDATE SKIP LOCKED`, so several processes share the work without sending twice.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::domain::delivery::{DeliveryRecord, DeliveryState};
use crate::store::Result;

/// The channel the outbox trigger notifies when an event is recorded.
pub const CHANNEL: &str = "firebreak_notifications";

/// A target as a serving process registers it.
#[derive(Debug, Clone)]
pub struct TargetRegistration<'a> {
    /// Its name.
    pub name: &'a str,
    /// `slack`, `teams` or `webhook`.
    pub kind: &'a str,
    /// A digest of its kind and URL.
    pub digest: String,
}

/// A registered target as stored.
#[derive(Debug, Clone, FromRow)]
pub struct StoredTarget {
    /// Its name.
    pub name: String,
    /// Events recorded before this are not sent to it.
    pub first_seen_at: DateTime<Utc>,
    /// When it was disabled (410 Gone), if it was.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why.
    pub disabled_reason: Option<String>,
    /// Until when the receiver asked to wait.
    pub paused_until: Option<DateTime<Utc>>,
}

/// Registers `targets` (a target whose URL changed starts afresh: re-enabled, and only
/// events from now on) and retires the targets no longer configured.
pub async fn register_targets(
    conn: &mut PgConnection,
    targets: &[TargetRegistration<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<StoredTarget>> {
    let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
    let kinds: Vec<&str> = targets.iter().map(|t| t.kind).collect();
    let digests: Vec<&str> = targets.iter().map(|t| t.digest.as_str()).collect();
    sqlx::query(
        "update notification_target set retired_at = $2 \
         where retired_at is null and name <> all($1)",
    )
    .bind(&names)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let stored: Vec<StoredTarget> = sqlx::query_as(
        "insert into notification_target as t (name, kind, config_digest, first_seen_at) \
         select * , $4::timestamptz from unnest($1::text[], $2::text[], $3::text[]) \
         on conflict (name) do update set kind = excluded.kind, \
           config_digest = excluded.config_digest, retired_at = null, \
           first_seen_at = case when t.config_digest = excluded.config_digest \
             then t.first_seen_at else excluded.first_seen_at end, \
           disabled_at = case when t.config_digest = excluded.config_digest \
             then t.disabled_at end, \
           disabled_reason = case when t.config_digest = excluded.config_digest \
             then t.disabled_reason end \
         returning name, first_seen_at, disabled_at, disabled_reason, paused_until",
    )
    .bind(&names)
    .bind(&kinds)
    .bind(&digests)
    .bind(now)
    .fetch_all(conn)
    .await?;
    Ok(stored)
}

/// The registered targets named.
pub async fn targets(conn: &mut PgConnection, names: &[String]) -> Result<Vec<StoredTarget>> {
    Ok(sqlx::query_as(
        "select name, first_seen_at, disabled_at, disabled_reason, paused_until \
         from notification_target where name = any($1)",
    )
    .bind(names)
    .fetch_all(conn)
    .await?)
}

/// The incident as the event recorded it.
#[derive(Debug, Clone, Deserialize)]
pub struct IncidentSnapshot {
    /// Its number.
    pub number: i64,
    /// Its title.
    pub title: String,
    /// Its severity level (1–5).
    pub severity: i16,
    /// Its status.
    pub status: String,
    /// Its services.
    pub services: Vec<String>,
    /// Its commander.
    pub commander: Option<String>,
}

/// An event from the outbox.
#[derive(Debug, Clone, FromRow)]
pub struct StoredEvent {
    /// Its id (the `webhook-id` is derived from it).
    pub id: Uuid,
    /// The incident.
    pub incident_id: Uuid,
    /// The timeline entry's kind, or `action_item_overdue`.
    pub kind: String,
    /// The entry's text.
    pub body: String,
    /// The entry's data.
    pub data: Option<Json<serde_json::Value>>,
    /// The incident when it happened.
    pub incident: Json<IncidentSnapshot>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

macro_rules! event_columns {
    ($e:literal) => {
        concat!(
            $e,
            ".id, ",
            $e,
            ".incident_id, ",
            $e,
            ".kind, ",
            $e,
            ".body, ",
            $e,
            ".data, ",
            $e,
            ".incident, ",
            $e,
            ".occurred_at, ",
            $e,
            ".recorded_at"
        )
    };
}

/// Claims up to `limit` events not yet fanned out, oldest first, locked until the
/// transaction ends (other workers skip them).
pub async fn claim_events(conn: &mut PgConnection, limit: i64) -> Result<Vec<StoredEvent>> {
    const SQL: &str = concat!(
        "select ",
        event_columns!("e"),
        " from notification_event e where fanned_out_at is null order by seq limit $1 \
         for update skip locked"
    );
    Ok(sqlx::query_as(SQL).bind(limit).fetch_all(conn).await?)
}

/// A delivery to create.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    /// The event.
    pub event_id: Uuid,
    /// The target.
    pub target: &'a str,
    /// The incident.
    pub incident_id: Uuid,
    /// The event's wire type.
    pub event_type: &'a str,
}

/// Creates the deliveries (due now) and marks the events fanned out.
pub async fn fan_out(
    conn: &mut PgConnection,
    events: &[Uuid],
    deliveries: &[NewDelivery<'_>],
    now: DateTime<Utc>,
) -> Result<()> {
    let ids: Vec<Uuid> = deliveries.iter().map(|d| d.event_id).collect();
    let targets: Vec<&str> = deliveries.iter().map(|d| d.target).collect();
    let incidents: Vec<Uuid> = deliveries.iter().map(|d| d.incident_id).collect();
    let types: Vec<&str> = deliveries.iter().map(|d| d.event_type).collect();
    sqlx::query(
        "with made as (insert into notification_delivery (event_id, target, incident_id, \
           event_type, state, next_attempt_at, created_at) \
         select e, t, i, k, 'pending', $5, $5 \
           from unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[]) as d(e, t, i, k) \
         on conflict on constraint notification_delivery_once do nothing) \
         update notification_event set fanned_out_at = $5 where id = any($6)",
    )
    .bind(ids)
    .bind(targets)
    .bind(incidents)
    .bind(types)
    .bind(now)
    .bind(events)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery a worker claimed, with its event.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedDelivery {
    /// The delivery's number.
    pub delivery_id: i64,
    /// The target's name.
    pub target: String,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
    /// When the delivery was created (retries stop a day after).
    pub created_at: DateTime<Utc>,
    /// The event.
    #[sqlx(flatten)]
    pub event: StoredEvent,
}

/// Claims up to `limit` deliveries due at `now` to the named targets (not disabled, not
/// paused), leasing them until `leased_until`: a worker that dies lets them go by itself.
pub async fn claim_deliveries(
    conn: &mut PgConnection,
    targets: &[String],
    now: DateTime<Utc>,
    leased_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ClaimedDelivery>> {
    const SQL: &str = concat!(
        "with due as (select d.id from notification_delivery d \
           join notification_target t on t.name = d.target \
           where d.state = 'pending' and d.next_attempt_at <= $2 \
             and (d.leased_until is null or d.leased_until <= $2) and d.target = any($1) \
             and t.disabled_at is null and (t.paused_until is null or t.paused_until <= $2) \
           order by d.next_attempt_at limit $4 for update of d skip locked), \
         claimed as (update notification_delivery d set leased_until = $3, \
           attempts = d.attempts + 1 from due where d.id = due.id \
           returning d.id, d.target, d.attempts, d.created_at, d.event_id) \
         select c.id as delivery_id, c.target, c.attempts as attempt, c.created_at, ",
        event_columns!("e"),
        " from claimed c join notification_event e on e.id = c.event_id"
    );
    Ok(sqlx::query_as(SQL)
        .bind(targets)
        .bind(now)
        .bind(leased_until)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// When the next delivery to the named targets falls due (lease, pause and disabling
/// considered), if any is waiting.
pub async fn next_due(
    conn: &mut PgConnection,
    targets: &[String],
) -> Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "select min(greatest(d.next_attempt_at, d.leased_until, t.paused_until)) \
         from notification_delivery d join notification_target t on t.name = d.target \
         where d.state = 'pending' and d.target = any($1) and t.disabled_at is null",
    )
    .bind(targets)
    .fetch_one(conn)
    .await?)
}

/// One attempt, for the ledger.
#[derive(Debug, Clone)]
pub struct AttemptRecord<'a> {
    /// The delivery.
    pub delivery_id: i64,
    /// Its attempt number.
    pub attempt: i32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub latency_ms: i32,
    /// The HTTP status answered.
    pub status: Option<i32>,
    /// What went wrong.
    pub error: Option<&'a str>,
    /// Which process sent it.
    pub worker: &'a str,
}

/// What an attempt left the delivery as.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryUpdate<'a> {
    /// Its new state.
    pub state: DeliveryState,
    /// When to try again (pending).
    pub next_attempt_at: DateTime<Utc>,
    /// The error to show.
    pub error: Option<&'a str>,
}

/// Records an attempt in the ledger and its outcome on the delivery, unless another worker
/// took the delivery over meanwhile (its lease ran out): then only the ledger row is kept.
pub async fn record_attempt(
    conn: &mut PgConnection,
    attempt: &AttemptRecord<'_>,
    update: DeliveryUpdate<'_>,
) -> Result<()> {
    sqlx::query(
        "with ledger as (insert into notification_attempt (delivery_id, attempt, started_at, \
           latency_ms, status, error, worker) values ($1, $2, $3, $4, $5, $6, $7) \
           on conflict do nothing) \
         update notification_delivery set state = $8, next_attempt_at = $9, leased_until = null, \
           last_status = $5, last_error = $10, \
           delivered_at = case when $8 = 'delivered' then $3 + $4 * interval '1 millisecond' end \
         where id = $1 and attempts = $2 and state = 'pending'",
    )
    .bind(attempt.delivery_id)
    .bind(attempt.attempt)
    .bind(attempt.started_at)
    .bind(attempt.latency_ms)
    .bind(attempt.status)
    .bind(attempt.error)
    .bind(attempt.worker)
    .bind(update.state.as_str())
    .bind(update.next_attempt_at)
    .bind(update.error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stops sending to a target for good (until its URL changes or an operator redelivers).
pub async fn disable_target(
    conn: &mut PgConnection,
    name: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "update notification_target set disabled_at = $3, disabled_reason = $2 \
         where name = $1 and disabled_at is null",
    )
    .bind(name)
    .bind(reason)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Holds every delivery to a target until `until` (the receiver's Retry-After).
pub async fn pause_target(conn: &mut PgConnection, name: &str, until: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "update notification_target set paused_until = greatest(paused_until, $2) where name = $1",
    )
    .bind(name)
    .bind(until)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes a delivery due now again (re-enabling its target); `None` if there is no such
/// delivery.
pub async fn redeliver(
    conn: &mut PgConnection,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<DeliveryRecord>> {
    let row: Option<Json<DeliveryRecord>> = sqlx::query_scalar(
        "with again as (update notification_delivery set state = 'pending', \
           next_attempt_at = $2, created_at = $2, leased_until = null, delivered_at = null \
           where id = $1 returning *), \
         enabled as (update notification_target t set disabled_at = null, \
           disabled_reason = null from again where t.name = again.target) \
         select json_build_object('id', id, 'target', target, 'event_type', event_type, \
           'state', state, 'attempts', attempts, 'last_status', last_status, \
           'last_error', last_error, 'next_attempt_at', next_attempt_at) from again",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_some() {
        notify(conn).await?;
    }
    Ok(row.map(|Json(record)| record))
}

/// Wakes the workers of every process.
pub async fn notify(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("select pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records one event per open action item past its due date (once per item and due date),
/// while some target is configured; returns how many were recorded.
pub async fn record_overdue_items(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(
        "insert into notification_event (id, incident_id, kind, body, data, incident, \
           occurred_at, recorded_at, dedup_key) \
         select gen_random_uuid(), i.id, 'action_item_overdue', \
           'AI-' || a.number || ' is overdue: ' || a.title, \
           jsonb_build_object('action_item', 'AI-' || a.number, 'title', a.title, \
             'owner', a.owner, 'due_on', a.due_on::text), \
           jsonb_build_object('number', i.number, 'title', i.title, 'severity', i.severity, \
             'status', i.status, 'services', to_jsonb(i.services), 'commander', \
             (select r.assignee from role_assignment r where r.incident_id = i.id \
               and r.role = 'commander' and r.unassigned_at is null limit 1)), \
           $1, $1, 'overdue:' || a.id || ':' || a.due_on \
         from action_item a join incident i on i.id = a.incident_id \
         where a.status in ('open', 'in_progress') and a.due_on < ($1 at time zone 'UTC')::date \
           and exists (select 1 from notification_target where retired_at is null) \
         on conflict on constraint notification_event_dedup_key do nothing",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if done > 0 {
        notify(conn).await?;
    }
    Ok(done)
}

/// Deletes events recorded before `before` whose deliveries are all settled (their
/// deliveries and ledger go with them); returns how many went.
pub async fn prune(conn: &mut PgConnection, before: DateTime<Utc>, batch: i64) -> Result<u64> {
    Ok(sqlx::query(
        "delete from notification_event where id in (select e.id from notification_event e \
           where e.recorded_at < $1 and e.fanned_out_at is not null \
             and not exists (select 1 from notification_delivery d \
                             where d.event_id = e.id and d.state = 'pending') \
           limit $2)",
    )
    .bind(before)
    .bind(batch)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Per target: deliveries by state, the last success, and how it stands.
#[derive(Debug, Clone, FromRow)]
pub struct TargetStatus {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Deliveries waiting.
    pub pending: i64,
    /// Deliveries waiting after a failed attempt.
    pub retrying: i64,
    /// Delivered.
    pub delivered: i64,
    /// Failed for good.
    pub failed: i64,
    /// Refused (410).
    pub gone: i64,
    /// The last delivery.
    pub last_delivered_at: Option<DateTime<Utc>>,
    /// Disabled since.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why.
    pub disabled_reason: Option<String>,
    /// Paused until.
    pub paused_until: Option<DateTime<Utc>>,
    /// Retired (no longer configured) since.
    pub retired_at: Option<DateTime<Utc>>,
}

/// How every registered target stands.
pub async fn status(conn: &mut PgConnection) -> Result<Vec<TargetStatus>> {
    Ok(sqlx::query_as(
        "select t.name, t.kind, \
           count(d.id) filter (where d.state = 'pending') as pending, \
           count(d.id) filter (where d.state = 'pending' and d.attempts > 0) as retrying, \
           count(d.id) filter (where d.state = 'delivered') as delivered, \
           count(d.id) filter (where d.state = 'failed') as failed, \
           count(d.id) filter (where d.state = 'gone') as gone, \
           max(d.delivered_at) as last_delivered_at, \
           t.disabled_at, t.disabled_reason, t.paused_until, t.retired_at \
         from notification_target t left join notification_delivery d on d.target = t.name \
         group by t.name order by t.name",
    )
    .fetch_all(conn)
    .await?)
}

/// The newest troubled deliveries (failed, gone, or retrying), at most `limit`.
pub async fn troubled(conn: &mut PgConnection, limit: i64) -> Result<Vec<DeliveryRecord>> {
    let rows: Vec<Json<DeliveryRecord>> = sqlx::query_scalar(
        "select json_build_object('id', id, 'target', target, 'event_type', event_type, \
           'state', state, 'attempts', attempts, 'last_status', last_status, \
           'last_error', last_error, 'next_attempt_at', next_attempt_at) \
         from notification_delivery where state <> 'delivered' \
           and (state <> 'pending' or attempts > 0) order by id desc limit $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|Json(r)| r).collect())
}
