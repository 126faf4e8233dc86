//! SQL for deliveries: claiming them under a lease, recording each attempt, pausing and
//! disabling targets, resending, and what operators see.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};

use super::{StoredEvent, notify};
use crate::domain::delivery::{DeliveryRecord, DeliveryState};
use crate::store::Result;

/// A delivery a worker claimed, with its event.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedDelivery {
    /// The delivery's number.
    pub delivery_id: i64,
    /// The target's name.
    pub target: String,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
    /// Seconds since the delivery was created (retries stop `give_up_after` after), by the
    /// database's clock.
    pub age_seconds: f64,
    /// The event.
    #[sqlx(flatten)]
    pub event: StoredEvent,
}

/// Claims up to `limit` deliveries due now for target `name` as configured with `digest`
/// (not disabled, not paused, not reconfigured since), leasing them for `lease_seconds`: a
/// worker that dies lets them go by itself. Times are the database's, so the clocks of the
/// processes sharing the work need not agree.
pub async fn claim_deliveries(
    conn: &mut PgConnection,
    name: &str,
    digest: &str,
    lease_seconds: f64,
    limit: i64,
) -> Result<Vec<ClaimedDelivery>> {
    const SQL: &str = concat!(
        "with due as (select d.id from notification_delivery d \
           join notification_target t on t.name = d.target \
           where d.target = $1 and d.state = 'pending' and d.next_attempt_at <= now() \
             and (d.leased_until is null or d.leased_until <= now()) \
             and d.config_digest = $2 and t.config_digest = $2 and t.disabled_at is null \
             and (t.paused_until is null or t.paused_until <= now()) \
           order by d.next_attempt_at limit $4 for update of d skip locked), \
         claimed as (update notification_delivery d \
           set leased_until = now() + $3 * interval '1 second', attempts = d.attempts + 1 \
           from due where d.id = due.id \
           returning d.id, d.target, d.attempts, \
             extract(epoch from now() - d.created_at)::float8 as age_seconds, d.event_id) \
         select c.id as delivery_id, c.target, c.attempts as attempt, c.age_seconds, ",
        event_columns!("e"),
        " from claimed c join notification_event e on e.id = c.event_id"
    );
    Ok(sqlx::query_as(SQL)
        .bind(name)
        .bind(digest)
        .bind(lease_seconds)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// Seconds until the next delivery to the targets (`names[i]` as configured with
/// `digests[i]`) falls due, lease and pause considered (0 when one is due now), by the
/// database's clock; `None` when none is waiting.
pub async fn next_due(
    conn: &mut PgConnection,
    names: &[String],
    digests: &[String],
) -> Result<Option<f64>> {
    Ok(sqlx::query_scalar(
        "select greatest(0, extract(epoch from \
           min(greatest(d.next_attempt_at, d.leased_until, t.paused_until)) - now()))::float8 \
         from unnest($1::text[], $2::text[]) as n(name, digest) \
         join notification_target t on t.name = n.name and t.config_digest = n.digest \
           and t.disabled_at is null \
         join notification_delivery d on d.target = n.name and d.state = 'pending' \
           and d.config_digest = n.digest",
    )
    .bind(names)
    .bind(digests)
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
    /// How long from now to try again (pending).
    pub retry_in: std::time::Duration,
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
         update notification_delivery set state = $8, \
           next_attempt_at = now() + $9 * interval '1 second', leased_until = null, \
           last_status = $5, last_error = $10, \
           delivered_at = case when $8 = 'delivered' then now() end \
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
    .bind(update.retry_in.as_secs_f64())
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

/// Holds every delivery to a target for `wait` from now (the receiver's Retry-After).
pub async fn pause_target(
    conn: &mut PgConnection,
    name: &str,
    wait: std::time::Duration,
) -> Result<()> {
    sqlx::query(
        "update notification_target set paused_until = \
           greatest(paused_until, now() + $2 * interval '1 second') where name = $1",
    )
    .bind(name)
    .bind(wait.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(())
}

/// What asking to resend a delivery came to.
#[derive(Debug, Clone)]
pub enum Redelivery {
    /// Due now (its target re-enabled and unpaused, and pointed at the target's current URL).
    Due(DeliveryRecord),
    /// A worker is sending it right now; resending would send it twice.
    InFlight,
    /// No such delivery.
    Missing,
}

/// Makes a delivery due now again, unless a worker holds it.
pub async fn redeliver(conn: &mut PgConnection, id: i64) -> Result<Redelivery> {
    let row: Option<Json<DeliveryRecord>> = sqlx::query_scalar(concat!(
        "with again as (update notification_delivery d set state = 'pending', \
           next_attempt_at = now(), created_at = now(), leased_until = null, \
           delivered_at = null, config_digest = t.config_digest \
           from notification_target t \
           where d.id = $1 and t.name = d.target \
             and not (d.state = 'pending' and d.leased_until > now()) returning d.*), \
         enabled as (update notification_target t set disabled_at = null, \
           disabled_reason = null, paused_until = null from again where t.name = again.target) \
         select ",
        delivery_record!(),
        " from again"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(Json(record)) = row {
        notify(conn).await?;
        return Ok(Redelivery::Due(record));
    }
    let exists: Option<i64> =
        sqlx::query_scalar("select id from notification_delivery where id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(match exists {
        Some(_) => Redelivery::InFlight,
        None => Redelivery::Missing,
    })
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
    let rows: Vec<Json<DeliveryRecord>> = sqlx::query_scalar(concat!(
        "select ",
        delivery_record!(),
        " from notification_delivery where ",
        troubled_delivery!(),
        " order by id desc limit $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|Json(r)| r).collect())
}
