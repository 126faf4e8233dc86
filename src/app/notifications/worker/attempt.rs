//! One send and what it leaves behind: the ledger row, the delivery's new state, and a
//! paused or disabled target.

use std::time::Duration;

use chrono::Utc;

use super::Notifier;
use crate::app::notifications::events::event_of;
use crate::app::{Result, commit};
use crate::domain::delivery::DeliveryState;
use crate::domain::notification::Outcome;
use crate::integrations::notify::{Attempt, Target, render};
use crate::store::outbox;

impl Notifier {
    pub(super) async fn deliver(&self, delivery: outbox::ClaimedDelivery) {
        if let Err(err) = self.try_deliver(&delivery).await {
            // The lease runs out and another attempt follows.
            tracing::warn!(error = %err, delivery = delivery.delivery_id,
                "recording a notification attempt failed");
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
        let outcome = attempt.outcome(target.kind);
        self.record(delivery, target, &attempt, &outcome, started_at)
            .await
    }

    async fn record(
        &self,
        delivery: &outbox::ClaimedDelivery,
        target: &Target,
        attempt: &Attempt,
        outcome: &Outcome,
        started_at: chrono::DateTime<Utc>,
    ) -> Result<()> {
        let retry = self.notifications.outbound.delivery.retry;
        let (state, retry_in, reason) = match outcome {
            Outcome::Delivered => (DeliveryState::Delivered, Duration::ZERO, None),
            Outcome::Gone { reason } => (DeliveryState::Gone, Duration::ZERO, Some(reason.clone())),
            Outcome::Retry { after, reason } => {
                let failed = u32::try_from(delivery.attempt).unwrap_or(u32::MAX);
                let backoff = retry.delay(failed, jitter());
                let wait = after.map_or(backoff, |asked| asked.max(backoff));
                let age = Duration::try_from_secs_f64(delivery.age_seconds).unwrap_or_default();
                if retry.gives_up(age, wait) {
                    let reason = format!("{reason}; gave up after {} attempts", delivery.attempt);
                    (DeliveryState::Failed, Duration::ZERO, Some(reason))
                } else {
                    (DeliveryState::Pending, wait, Some(reason.clone()))
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
            retry_in,
            error: reason.as_deref(),
        };
        let mut tx = self.app.begin().await?;
        outbox::relax_durability(&mut tx).await?;
        outbox::record_attempt(&mut tx, &ledger, update).await?;
        match outcome {
            Outcome::Gone { reason } => {
                outbox::disable_target(&mut tx, &target.name, reason, Utc::now()).await?;
                tracing::warn!(target = %target.name, %reason, "notification target disabled");
            }
            Outcome::Retry {
                after: Some(after), ..
            } if attempt.status == Some(429) => {
                outbox::pause_target(&mut tx, &target.name, *after).await?;
            }
            _ => {}
        }
        commit(tx).await?;
        Ok(())
    }
}

/// A number in [0, 1) for retry jitter, from the clock's nanoseconds (no RNG needed: it only
/// spreads retries apart).
fn jitter() -> f64 {
    let nanos = Utc::now().timestamp_subsec_nanos();
    f64::from(nanos % 1_000_000) / 1_000_000.0
}
