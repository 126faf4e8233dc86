//! Notifications out, never lost: events are recorded in the outbox by the transaction that
//! made the change (a trigger on `timeline_entry`); the [`Notifier`] of every serving process
//! fans them out to the configured targets and delivers them, woken by `LISTEN/NOTIFY` and
//! polling once a second for retries that fall due. Work is claimed with
//! `FOR UPDATE SKIP LOCKED` and leased, so processes share it, and a process killed mid-send
//! lets its deliveries go when the lease ends: the next process sends them (at least once,
//! with the same `webhook-id`).

mod events;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::app::{App, Error, Result};
use crate::domain::delivery::DeliveryRecord;
use crate::integrations::notify::{Attempt, Outbound, Sender, Target};
use crate::store;

pub use worker::Notifier;

/// How long connecting to a receiver may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Events fanned out per transaction.
const FAN_OUT_BATCH: i64 = 200;
/// Deliveries in flight at once per process.
const MAX_IN_FLIGHT: usize = 64;
/// How often due retries are looked for without a wake-up.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How often overdue action items are looked for, and old events pruned.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(60);
/// How long settled events and their ledger are kept.
const RETENTION: chrono::Duration = chrono::Duration::days(30);

/// The operator's notification settings, shared by the workers and the commands.
#[derive(Debug, Clone)]
pub struct Notifications {
    outbound: Arc<Outbound>,
    sender: Sender,
}

impl Notifications {
    /// Settings from the notifications file (fails only when no HTTP client can be built).
    pub fn new(outbound: Outbound) -> std::result::Result<Self, String> {
        Ok(Notifications {
            outbound: Arc::new(outbound),
            sender: Sender::new(CONNECT_TIMEOUT)?,
        })
    }

    /// The configured targets.
    pub fn targets(&self) -> &[Target] {
        &self.outbound.targets
    }

    fn target(&self, name: &str) -> Option<&Target> {
        self.outbound.target(name)
    }

    fn incident_url(&self, number: i64) -> Option<String> {
        self.outbound.incident_link(number)
    }
}

/// How one target stands, for `firebreak notifications status`.
pub use crate::store::outbox::TargetStatus;

impl App {
    /// How every registered target stands, and the newest troubled deliveries.
    pub async fn notification_status(
        &self,
        troubled: i64,
    ) -> Result<(Vec<TargetStatus>, Vec<DeliveryRecord>)> {
        let mut conn = self.autocommit().await?;
        let targets = store::outbox::status(&mut conn).await?;
        let failures = store::outbox::troubled(&mut conn, troubled).await?;
        Ok((targets, failures))
    }

    /// Makes delivery `id` due now again, re-enabling its target if a 410 disabled it.
    pub async fn redeliver(&self, id: i64) -> Result<DeliveryRecord> {
        let mut conn = self.autocommit().await?;
        let redelivery = store::outbox::redeliver(&mut conn, id).await?;
        conn.commit().await?;
        match redelivery {
            store::outbox::Redelivery::Due(record) => Ok(record),
            store::outbox::Redelivery::InFlight => Err(Error::Conflict(format!(
                "delivery {id} is being sent right now; resending it would send it twice"
            ))),
            store::outbox::Redelivery::Missing => Err(Error::Conflict(format!(
                "there is no delivery {id}; `firebreak notifications status` lists the failed ones"
            ))),
        }
    }
}

impl Notifications {
    /// Sends a test message to the target `name` now (not through the outbox) and says how
    /// it went.
    pub async fn test(&self, name: &str) -> std::result::Result<Attempt, String> {
        let target = self.target(name).ok_or_else(|| {
            let names: Vec<&str> = self.targets().iter().map(|t| t.name.as_str()).collect();
            format!(
                "no target `{name}` in the notifications file; configured: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )
        })?;
        let event = events::test_event(Utc::now());
        let body = crate::integrations::notify::render(target, &event, None);
        Ok(self
            .sender
            .send(
                target,
                &event.webhook_id(),
                &body,
                self.outbound.delivery.timeout,
            )
            .await)
    }
}
