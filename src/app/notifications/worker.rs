//! The delivery worker every serving process runs when targets are configured.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::events::event_of;
use super::{
    FAN_OUT_BATCH, HOUSEKEEPING_INTERVAL, MAX_IN_FLIGHT, Notifications, POLL_INTERVAL, RETENTION,
};

/// The shortest wait between two rounds of the loop.
const MIN_WAIT: Duration = Duration::from_millis(20);
use crate::app::{App, Result, commit};
use crate::domain::delivery::DeliveryState;
use crate::domain::notification::{Outcome, classify};
use crate::integrations::notify::{Target, render};
use crate::store::outbox;

/// Fans out and delivers the outbox's events to the configured targets.
#[derive(Debug, Clone)]
pub struct Notifier {
    app: App,
    notifications: Notifications,
    /// When each target was first configured: older events are not sent to it.
    first_seen: HashMap<String, DateTime<Utc>>,
    /// The targets this process delivers to.
    names: Vec<String>,
    /// Host and process id, recorded on every attempt.
    worker: String,
}

impl Notifier {
    /// Registers the configured targets (retiring those no longer configured) and returns the
    /// worker for them.
    pub async fn register(app: App, notifications: Notifications) -> Result<Notifier> {
        let now = Utc::now();
        let registrations: Vec<outbox::TargetRegistration<'_>> = notifications
            .targets()
            .iter()
            .map(|t| outbox::TargetRegistration {
                name: &t.name,
                kind: t.kind.as_str(),
                digest: t.digest(),
            })
            .collect();
        let mut tx = app.begin().await?;
        let stored = outbox::register_targets(&mut tx, &registrations, now).await?;
        commit(tx).await?;
        for target in &stored {
            if let Some(reason) = &target.disabled_reason {
                tracing::warn!(target = %target.name, %reason, "notification target is disabled; \
                    `firebreak notifications redeliver` or a new URL re-enables it");
            }
        }
        let worker = format!(
            "{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "firebreak".to_owned()),
            std::process::id()
        );
        Ok(Notifier {
            names: notifications
                .targets()
                .iter()
                .map(|t| t.name.clone())
                .collect(),
            first_seen: stored
                .into_iter()
                .map(|t| (t.name, t.first_seen_at))
                .collect(),
            app,
            notifications,
            worker,
        })
    }

    /// Runs until `shutdown`, then lets the sends in flight finish (each is bounded by the
    /// delivery timeout).
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = self.listen().await;
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let mut housekeeping = tokio::time::interval(HOUSEKEEPING_INTERVAL);
        tracing::info!(targets = self.names.len(), "delivering notifications");
        loop {
            if let Err(err) = self.fan_out().await {
                tracing::warn!(error = %err, "fanning out notification events failed");
            }
            if let Err(err) = self.start_due(&mut in_flight).await {
                tracing::warn!(error = %err, "claiming notification deliveries failed");
            }
            let patience = match in_flight.len() < MAX_IN_FLIGHT {
                true => self.until_next_due().await,
                // Full: a finished send wakes the loop.
                false => POLL_INTERVAL,
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = housekeeping.tick() => self.housekeep().await,
                woken = wait_for_notice(&mut listener, patience) => {
                    if !woken {
                        // The listening connection broke: poll until it is back.
                        listener = self.listen().await;
                    }
                }
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = match PgListener::connect_with(self.app.pool()).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for notification events; polling");
                return None;
            }
        };
        match listener.listen(outbox::CHANNEL).await {
            Ok(()) => Some(listener),
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for notification events; polling");
                None
            }
        }
    }

    /// Turns new events into deliveries for the targets that want them, a batch per
    /// transaction, until none is left.
    async fn fan_out(&self) -> Result<()> {
        loop {
            let now = Utc::now();
            let mut tx = self.app.begin().await?;
            let rows = outbox::claim_events(&mut tx, FAN_OUT_BATCH).await?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut deliveries = Vec::new();
            let types: Vec<Option<&'static str>> = rows
                .iter()
                .map(|row| {
                    let event = event_of(row);
                    if event.is_none() {
                        tracing::warn!(event = %row.id, kind = %row.kind, "outbox event of an unknown shape: sent to no one");
                    }
                    event.map(|e| e.event_type().wire_type())
                })
                .collect();
            for (row, event_type) in rows.iter().zip(&types) {
                let (Some(event), Some(event_type)) = (event_of(row), event_type) else {
                    continue;
                };
                for target in self.notifications.targets() {
                    let configured_since = self.first_seen.get(&target.name);
                    let after_configured =
                        configured_since.is_some_and(|at| row.recorded_at >= *at);
                    if after_configured && target.subscription.wants(&event) {
                        deliveries.push(outbox::NewDelivery {
                            event_id: row.id,
                            target: &target.name,
                            incident_id: row.incident_id,
                            event_type,
                        });
                    }
                }
            }
            let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
            outbox::fan_out(&mut tx, &ids, &deliveries, now).await?;
            commit(tx).await?;
            if (rows.len() as i64) < FAN_OUT_BATCH {
                return Ok(());
            }
        }
    }

    /// Claims due deliveries while there is room in flight, and starts sending each.
    async fn start_due(&self, in_flight: &mut JoinSet<()>) -> Result<()> {
        let lease = self.lease();
        while in_flight.len() < MAX_IN_FLIGHT {
            let room = (MAX_IN_FLIGHT - in_flight.len()) as i64;
            let now = Utc::now();
            let mut conn = self.app.autocommit().await?;
            let claimed =
                outbox::claim_deliveries(&mut conn, &self.names, now, now + lease, room).await?;
            drop(conn);
            if claimed.is_empty() {
                return Ok(());
            }
            for delivery in claimed {
                let notifier = self.clone();
                in_flight.spawn(async move { notifier.deliver(delivery).await });
            }
        }
        Ok(())
    }

    /// How long until the next delivery falls due: at most [`POLL_INTERVAL`], at least a
    /// few milliseconds (so a delivery another process holds cannot make the loop spin).
    async fn until_next_due(&self) -> Duration {
        let due = async {
            let mut conn = self.app.autocommit().await?;
            Ok::<_, crate::app::Error>(outbox::next_due(&mut conn, &self.names).await?)
        };
        match due.await {
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .unwrap_or_default()
                .clamp(MIN_WAIT, POLL_INTERVAL),
            Ok(None) => POLL_INTERVAL,
            Err(err) => {
                tracing::warn!(error = %err, "reading when the next notification is due failed");
                POLL_INTERVAL
            }
        }
    }

    /// A claimed delivery stays with this worker for the send's timeout and a margin.
    fn lease(&self) -> chrono::Duration {
        let timeout = self.notifications.outbound.delivery.timeout;
        chrono::Duration::from_std(timeout + Duration::from_secs(5))
            .unwrap_or(chrono::Duration::seconds(65))
    }

    async fn deliver(&self, delivery: outbox::ClaimedDelivery) {
        if let Err(err) = self.try_deliver(&delivery).await {
            // The lease runs out and another attempt follows.
            tracing::warn!(error = %err, delivery = delivery.delivery_id, "recording a notification attempt failed");
        }
    }

    async fn try_deliver(&self, delivery: &outbox::ClaimedDelivery) -> Result<()> {
        let Some(target) = self.notifications.target(&delivery.target) else {
            return Ok(());
        };
        let Some(event) = event_of(&delivery.event) else {
            return Ok(());
        };
        let url = self.notifications.incident_url(event.incident.number);
        let body = render(target, &event, url.as_deref());
        let started_at = Utc::now();
        let timeout = self.notifications.outbound.delivery.timeout;
        let attempt = self
            .notifications
            .sender
            .send(target, &event.webhook_id(), &body, timeout)
            .await;
        let outcome = classify(
            target.kind,
            attempt.status,
            attempt.retry_after,
            attempt
                .error
                .clone()
                .or_else(|| Some(attempt.response.clone())),
        );
        self.record(delivery, target, &attempt, &outcome, started_at)
            .await
    }

    async fn record(
        &self,
        delivery: &outbox::ClaimedDelivery,
        target: &Target,
        attempt: &crate::integrations::notify::Attempt,
        outcome: &Outcome,
        started_at: DateTime<Utc>,
    ) -> Result<()> {
        let now = Utc::now();
        let retry = self.notifications.outbound.delivery.retry;
        let (state, next_attempt_at, reason) = match outcome {
            Outcome::Delivered => (DeliveryState::Delivered, now, None),
            Outcome::Gone { reason } => (DeliveryState::Gone, now, Some(reason.clone())),
            Outcome::Retry { after, reason } => {
                let failed = u32::try_from(delivery.attempt).unwrap_or(u32::MAX);
                let backoff = retry.delay(failed, rand_fraction());
                let wait = after.map_or(backoff, |asked| asked.max(backoff));
                let age = (now - delivery.created_at).to_std().unwrap_or_default();
                if retry.gives_up(age, wait) {
                    let reason = format!("{reason}; gave up after {} attempts", delivery.attempt);
                    (DeliveryState::Failed, now, Some(reason))
                } else {
                    let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    (DeliveryState::Pending, next, Some(reason.clone()))
                }
            }
        };
        let ledger = outbox::AttemptRecord {
            delivery_id: delivery.delivery_id,
            attempt: delivery.attempt,
            started_at,
            latency_ms: i32::try_from(attempt.latency.as_millis()).unwrap_or(i32::MAX),
            status: attempt.status.map(i32::from),
            error: reason.as_deref(),
            worker: &self.worker,
        };
        let update = outbox::DeliveryUpdate {
            state,
            next_attempt_at,
            error: reason.as_deref(),
        };
        let mut tx = self.app.begin().await?;
        outbox::record_attempt(&mut tx, &ledger, update).await?;
        match outcome {
            Outcome::Gone { reason } => {
                outbox::disable_target(&mut tx, &target.name, reason, now).await?;
                tracing::warn!(target = %target.name, %reason, "notification target disabled");
            }
            Outcome::Retry {
                after: Some(after), ..
            } if attempt.status == Some(429) => {
                let until = now + chrono::Duration::from_std(*after).unwrap_or_default();
                outbox::pause_target(&mut tx, &target.name, until).await?;
            }
            _ => {}
        }
        commit(tx).await?;
        Ok(())
    }

    /// Records overdue action items as events and prunes settled events past retention.
    async fn housekeep(&self) {
        let work = async {
            let mut conn = self.app.autocommit().await?;
            outbox::record_overdue_items(&mut conn, Utc::now()).await?;
            while outbox::prune(&mut conn, Utc::now() - RETENTION, 1000).await? == 1000 {}
            Ok::<(), crate::app::Error>(())
        };
        if let Err(err) = work.await {
            tracing::warn!(error = %err, "notification housekeeping failed");
        }
    }
}

/// Waits for an outbox notice, or `patience`; false when the listener broke.
async fn wait_for_notice(listener: &mut Option<PgListener>, patience: Duration) -> bool {
    let Some(active) = listener else {
        tokio::time::sleep(patience).await;
        return false;
    };
    match tokio::time::timeout(patience, active.try_recv()).await {
        Err(_elapsed) => true,
        Ok(Ok(Some(_))) => true,
        Ok(Ok(None)) | Ok(Err(_)) => false,
    }
}

/// A number in [0, 1) for retry jitter, from the clock's nanoseconds (no RNG needed: it only
/// spreads retries apart).
fn rand_fraction() -> f64 {
    let nanos = Utc::now().timestamp_subsec_nanos();
    f64::from(nanos % 1_000_000) / 1_000_000.0
}
