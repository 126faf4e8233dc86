//! SQL for notifications: the targets each serving process registers, the outbox of events
//! (written by the `timeline_entry` trigger, and here for overdue action items), the
//! deliveries they fan out to, and the ledger of attempts. Workers claim rows with
//! `FOR UPDATE SKIP LOCKED`, so several processes share the work without sending twice.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::domain::notification::Subscription;
use crate::store::Result;

/// Lets the current transaction commit without waiting for its WAL to reach disk. Only for the
/// workers' bookkeeping: the events themselves were committed durably by the writes that made
/// them, and a fan-out, claim or outcome lost in a database crash is redone (at worst a
/// delivery is sent again, which at-least-once allows).
pub async fn relax_durability(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("set local synchronous_commit = off")
        .execute(conn)
        .await?;
    Ok(())
}

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
    /// Which events it wants.
    pub subscription: &'a Subscription,
}

/// A registered target as stored.
#[derive(Debug, Clone, FromRow)]
pub struct StoredTarget {
    /// Its name.
    pub name: String,
    /// When it was disabled (410 Gone), if it was.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why.
    pub disabled_reason: Option<String>,
}

/// Why deliveries meant for a target's old URL are dropped.
const RECONFIGURED: &str =
    "not sent: the target was pointed at another URL before this was delivered";

/// Registers `targets` and retires the targets no longer configured. A target whose URL
/// changed starts afresh: re-enabled, unpaused, only events from now on, and the deliveries
/// still waiting for its old URL are failed (never sent to the new one).
pub async fn register_targets(
    conn: &mut PgConnection,
    targets: &[TargetRegistration<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<StoredTarget>> {
    let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
    let kinds: Vec<&str> = targets.iter().map(|t| t.kind).collect();
    let digests: Vec<&str> = targets.iter().map(|t| t.digest.as_str()).collect();
    let subscriptions: Vec<Json<&Subscription>> =
        targets.iter().map(|t| Json(t.subscription)).collect();
    sqlx::query(
        "update notification_target set retired_at = $2 \
         where retired_at is null and name <> all($1)",
    )
    .bind(&names)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update notification_delivery d set state = 'failed', leased_until = null, \
           last_error = $3 \
         from unnest($1::text[], $2::text[]) as n(name, digest) \
         where d.target = n.name and d.state = 'pending' and d.config_digest <> n.digest",
    )
    .bind(&names)
    .bind(&digests)
    .bind(RECONFIGURED)
    .execute(&mut *conn)
    .await?;
    let stored: Vec<StoredTarget> = sqlx::query_as(
        "insert into notification_target as t (name, kind, config_digest, subscription, \
           first_seen_at) \
         select n.name, n.kind, n.digest, n.subscription, $5::timestamptz \
           from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) \
             as n(name, kind, digest, subscription) \
         on conflict (name) do update set kind = excluded.kind, \
           config_digest = excluded.config_digest, subscription = excluded.subscription, \
           retired_at = null, \
           first_seen_at = case when t.config_digest = excluded.config_digest \
             then t.first_seen_at else excluded.first_seen_at end, \
           disabled_at = case when t.config_digest = excluded.config_digest \
             then t.disabled_at end, \
           disabled_reason = case when t.config_digest = excluded.config_digest \
             then t.disabled_reason end, \
           paused_until = case when t.config_digest = excluded.config_digest \
             then t.paused_until end \
         returning name, disabled_at, disabled_reason",
    )
    .bind(&names)
    .bind(&kinds)
    .bind(&digests)
    .bind(&subscriptions)
    .bind(now)
    .fetch_all(conn)
    .await?;
    Ok(stored)
}

/// A configured target as fan-out sees it.
#[derive(Debug, Clone, FromRow)]
pub struct FanOutTarget {
    /// Its name.
    pub name: String,
    /// The digest of its URL: deliveries are made for it.
    pub config_digest: String,
    /// Events recorded before this are not sent to it.
    pub first_seen_at: DateTime<Utc>,
    /// Which events it wants.
    pub subscription: Json<Subscription>,
}

/// Every target some serving process configures (not retired), whichever process asks.
pub async fn fan_out_targets(conn: &mut PgConnection) -> Result<Vec<FanOutTarget>> {
    Ok(sqlx::query_as(
        "select name, config_digest, first_seen_at, subscription from notification_target \
         where retired_at is null order by name",
    )
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

/// A delivery as `DeliveryRecord` decodes it: the columns (of the row or CTE named by the
/// context) as one JSON object.
macro_rules! delivery_record {
    () => {
        "json_build_object('id', id, 'target', target, 'event_type', event_type, \
         'state', state, 'attempts', attempts, 'last_status', last_status, \
         'last_error', last_error, 'next_attempt_at', next_attempt_at)"
    };
}
pub(super) use delivery_record;

/// The one definition of a delivery in trouble: failed, gone, or pending after a failed
/// attempt (what the brief and `notifications status` list).
macro_rules! troubled_delivery {
    () => {
        "state <> 'delivered' and (state <> 'pending' or attempts > 0)"
    };
}
pub(super) use troubled_delivery;

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

// After the macro, which it uses.
mod deliveries;

pub use deliveries::{
    AttemptRecord, ClaimedDelivery, DeliveryUpdate, Redelivery, TargetStatus, claim_deliveries,
    disable_target, next_due, pause_target, record_attempt, redeliver, status, troubled,
};

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
    /// The digest of the target's URL it is made for.
    pub config_digest: &'a str,
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
    let digests: Vec<&str> = deliveries.iter().map(|d| d.config_digest).collect();
    sqlx::query(
        "with made as (insert into notification_delivery (event_id, target, incident_id, \
           event_type, config_digest, state, next_attempt_at, created_at) \
         select e, t, i, k, g, 'pending', $6, $6 \
           from unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[]) \
             as d(e, t, i, k, g) \
         on conflict on constraint notification_delivery_once do nothing) \
         update notification_event set fanned_out_at = $6 where id = any($7)",
    )
    .bind(ids)
    .bind(targets)
    .bind(incidents)
    .bind(types)
    .bind(digests)
    .bind(now)
    .bind(events)
    .execute(conn)
    .await?;
    Ok(())
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

/// Deletes events recorded before `before` with no delivery still pending (their deliveries
/// and ledger go with them), fanned out or not (no process may have wanted them); returns how
/// many went.
pub async fn prune(conn: &mut PgConnection, before: DateTime<Utc>, batch: i64) -> Result<u64> {
    Ok(sqlx::query(
        "delete from notification_event where id in (select e.id from notification_event e \
           where e.recorded_at < $1 \
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
