//! The delivery worker every serving process runs when targets are configured: one loop that
//! fans new events out, claims what is due for its targets and sends it, each send in a task of
//! its own.

mod attempt;
mod fan_out;

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use sqlx::postgres::PgListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{HOUSEKEEPING_INTERVAL, MAX_IN_FLIGHT, Notifications, POLL_INTERVAL, RETENTION};
use crate::app::{App, Result, commit};
use crate::store::outbox;

/// The shortest wait between two rounds of the loop.
const MIN_WAIT: Duration = Duration::from_millis(20);
/// How long a wake-up waits for more events before a round.
const GATHER: Duration = Duration::from_millis(25);
/// Most deliveries in flight to one target, so a hung receiver cannot hold every slot.
const MAX_IN_FLIGHT_PER_TARGET: usize = 16;
/// How much longer than the send's timeout a claimed delivery stays with its worker: room for
/// recording the outcome on a busy pool.
const LEASE_MARGIN: Duration = Duration::from_secs(15);

/// Fans out and delivers the outbox's events to the configured targets.
#[derive(Debug, Clone)]
pub struct Notifier {
    app: App,
    notifications: Notifications,
    /// The targets this process delivers to, with the digest of the URL it has for each.
    names: Vec<String>,
    digests: Vec<String>,
    /// Host and process id, recorded on every attempt.
    worker: String,
}

impl Notifier {
    /// Registers the configured targets (retiring those no longer configured) and returns the
    /// worker for them.
    pub async fn register(app: App, notifications: Notifications) -> Result<Notifier> {
        let digests: Vec<String> = notifications.targets().iter().map(|t| t.digest()).collect();
        let registrations: Vec<outbox::TargetRegistration<'_>> = notifications
            .targets()
            .iter()
            .zip(&digests)
            .map(|(t, digest)| outbox::TargetRegistration {
                name: &t.name,
                kind: t.kind.as_str(),
                digest: digest.clone(),
                subscription: &t.subscription,
            })
            .collect();
        let mut tx = app.begin().await?;
        let stored = outbox::register_targets(&mut tx, &registrations, Utc::now()).await?;
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
            digests,
            app,
            notifications,
            worker,
        })
    }

    /// Runs until `shutdown`, then lets the sends in flight finish (each is bounded by the
    /// delivery timeout) and records them.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = self.listen().await;
        let mut in_flight = InFlight::default();
        let mut housekeeping = tokio::time::interval(HOUSEKEEPING_INTERVAL);
        tracing::info!(targets = self.names.len(), "delivering notifications");
        loop {
            in_flight.reap();
            if let Err(err) = self.fan_out().await {
                tracing::warn!(error = %err, "fanning out notification events failed");
            }
            if let Err(err) = self.start_due(&mut in_flight).await {
                tracing::warn!(error = %err, "claiming notification deliveries failed");
            }
            let patience = match in_flight.tasks.len() < MAX_IN_FLIGHT {
                true => self.until_next_due().await,
                // Full: a finished send wakes the loop.
                false => POLL_INTERVAL,
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = housekeeping.tick() => {
                    // Off the loop: pruning must not hold deliveries up.
                    let notifier = self.clone();
                    tokio::spawn(async move { notifier.housekeep().await });
                }
                woken = wait_for_notice(&mut listener, patience) => {
                    if !woken {
                        // The listening connection broke: poll until it is back.
                        listener = self.listen().await;
                    }
                }
                Some(done) = in_flight.tasks.join_next_with_id(), if !in_flight.tasks.is_empty() => {
                    in_flight.finished(done);
                }
            }
        }
        while let Some(done) = in_flight.tasks.join_next_with_id().await {
            in_flight.finished(done);
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = match self.app.listener().await {
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

    /// Claims due deliveries for each target while it has room in flight, and starts sending
    /// each.
    async fn start_due(&self, in_flight: &mut InFlight) -> Result<()> {
        let lease = (self.notifications.outbound.delivery.timeout + LEASE_MARGIN).as_secs_f64();
        for (name, digest) in self.names.iter().zip(&self.digests) {
            let room = MAX_IN_FLIGHT_PER_TARGET
                .saturating_sub(in_flight.to(name))
                .min(MAX_IN_FLIGHT.saturating_sub(in_flight.tasks.len()));
            if room == 0 {
                continue;
            }
            let mut tx = self.app.begin().await?;
            outbox::relax_durability(&mut tx).await?;
            let claimed =
                outbox::claim_deliveries(&mut tx, name, digest, lease, room as i64).await?;
            commit(tx).await?;
            for delivery in claimed {
                let notifier = self.clone();
                let task = in_flight
                    .tasks
                    .spawn(async move { notifier.deliver(delivery).await });
                in_flight.owners.insert(task.id(), name.clone());
            }
        }
        Ok(())
    }

    /// How long until the next delivery falls due: at most [`POLL_INTERVAL`], at least
    /// [`MIN_WAIT`] (so a delivery another process holds cannot make the loop spin).
    async fn until_next_due(&self) -> Duration {
        let due = async {
            let mut conn = self.app.autocommit().await?;
            Ok::<_, crate::app::Error>(
                outbox::next_due(&mut conn, &self.names, &self.digests).await?,
            )
        };
        match due.await {
            Ok(Some(seconds)) => Duration::try_from_secs_f64(seconds)
                .unwrap_or(POLL_INTERVAL)
                .clamp(MIN_WAIT, POLL_INTERVAL),
            Ok(None) => POLL_INTERVAL,
            Err(err) => {
                tracing::warn!(error = %err, "reading when the next notification is due failed");
                POLL_INTERVAL
            }
        }
    }

    /// Records overdue action items as events and prunes settled events past retention.
    async fn housekeep(&self) {
        let work = async {
            let mut conn = self.app.autocommit().await?;
            outbox::record_overdue_items(&mut conn, Utc::now()).await?;
            while outbox::prune(&mut conn, Utc::now() - RETENTION, 1000).await? == 1000 {}
            conn.commit().await?;
            Ok::<(), crate::app::Error>(())
        };
        if let Err(err) = work.await {
            tracing::warn!(error = %err, "notification housekeeping failed");
        }
    }
}

/// The sends under way, and the target of each.
#[derive(Default)]
struct InFlight {
    tasks: JoinSet<()>,
    owners: HashMap<tokio::task::Id, String>,
}

impl InFlight {
    /// How many sends to `target` are under way.
    fn to(&self, target: &str) -> usize {
        self.owners
            .values()
            .filter(|t| t.as_str() == target)
            .count()
    }

    /// Takes the finished sends off the books without waiting.
    fn reap(&mut self) {
        while let Some(done) = self.tasks.try_join_next_with_id() {
            self.finished(done);
        }
    }

    fn finished(
        &mut self,
        done: std::result::Result<(tokio::task::Id, ()), tokio::task::JoinError>,
    ) {
        let id = match done {
            Ok((id, ())) => id,
            Err(err) => {
                // Its lease runs out and another attempt follows.
                tracing::error!(error = %err, "a notification send failed unexpectedly");
                err.id()
            }
        };
        self.owners.remove(&id);
    }
}

/// Waits for an outbox notice, or `patience`; false when the listener broke. After a notice it
/// waits [`GATHER`] more and drains the notices buffered meanwhile, so a burst of events costs
/// one round, not one per event.
async fn wait_for_notice(listener: &mut Option<PgListener>, patience: Duration) -> bool {
    let Some(active) = listener else {
        tokio::time::sleep(patience).await;
        return false;
    };
    let woken = match tokio::time::timeout(patience, active.try_recv()).await {
        Err(_elapsed) => return true,
        Ok(Ok(Some(_))) => true,
        Ok(Ok(None)) | Ok(Err(_)) => false,
    };
    if woken {
        // Events come in bursts (one per write): gather them, so one round fans out and
        // claims many, and the worker takes less from the writes it competes with.
        tokio::time::sleep(GATHER).await;
    }
    while active.next_buffered().is_some() {}
    woken
}
