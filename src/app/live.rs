//! Live updates: which incidents changed, whichever process changed them. One `LISTEN
//! firebreak_incident_changes` connection per process (migration 0019's triggers notify it),
//! relayed to every interested session through a broadcast. Notices arriving together are
//! coalesced for [`COALESCE`]; when the listening connection breaks, or the database fails
//! over (the old primary may go silent without closing it), it is opened again with backoff,
//! and then [`Change::Everything`] is broadcast, because notices sent while nobody listened are
//! gone: subscribers are told to re-read rather than left silently stale. Behind a transaction
//! pooler without a direct URL nothing can listen ([`App::can_listen`]): no relay starts, and
//! the transports refuse subscriptions.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::app::{App, Result};
use crate::domain::IncidentRef;
use crate::store::{Lock, failover};

/// The channel migration 0019's triggers notify: comma-separated incident numbers, or `*`.
pub const CHANNEL: &str = "firebreak_incident_changes";
/// How long notices are gathered into one broadcast: a burst (a declare touching many rows, a
/// storm of alerts) becomes one update per incident.
pub const COALESCE: Duration = Duration::from_millis(100);
/// The first wait before listening again after a failure; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_START: Duration = Duration::from_millis(100);
/// The longest wait between attempts to listen again.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Broadcasts a slow session may fall behind by before it is told to re-read everything.
const CAPACITY: usize = 256;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These incidents, by number.
    Incidents(Arc<BTreeSet<i64>>),
    /// Anything may have changed (the listener reconnected, a statement touched very many
    /// incidents, or a receiver fell behind): every subscriber should re-read.
    Everything,
}

impl Change {
    /// Whether a subscriber to incident `number` should re-read.
    pub fn touches(&self, number: i64) -> bool {
        match self {
            Change::Incidents(numbers) => numbers.contains(&number),
            Change::Everything => true,
        }
    }
}

/// The process's feed of incident changes. Cheap to clone; clones share one listener.
#[derive(Debug, Clone)]
pub struct LiveUpdates {
    sender: broadcast::Sender<Change>,
    stopped: CancellationToken,
}

impl LiveUpdates {
    /// Starts listening in the background (retrying until it works) until `shutdown`; where
    /// `app` can never listen, starts nothing and the feed stays silent.
    pub fn start(app: &App, shutdown: CancellationToken) -> LiveUpdates {
        let (sender, _) = broadcast::channel(CAPACITY);
        if app.can_listen() {
            tokio::spawn(relay_until(app.clone(), sender.clone(), shutdown.clone()));
        } else {
            // Retrying would only repeat the configuration error forever.
            tracing::warn!(
                "live updates are off: LISTEN does not work through a transaction pooler; set \
                 FIREBREAK_DIRECT_DATABASE_URL (--direct-database-url) to offer subscriptions"
            );
        }
        LiveUpdates {
            sender,
            stopped: shutdown,
        }
    }

    /// A receiver of every change from now on. A receiver that lags behind should treat the
    /// gap as [`Change::Everything`].
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    /// Fires when the process shuts down: whatever waits for changes (a session's stream)
    /// should end then.
    pub fn stopped(&self) -> CancellationToken {
        self.stopped.clone()
    }
}

impl App {
    /// The number of the incident `reference` names, or `not_found`: what a subscription to
    /// it is keyed by, since notices name incidents by number.
    pub async fn incident_number(&self, reference: IncidentRef) -> Result<i64> {
        let mut conn = self.autocommit().await?;
        Ok(crate::app::load(&mut conn, reference, Lock::None)
            .await?
            .number)
    }
}

/// Listens, relays, and listens again after every break or failover, until `shutdown`.
async fn relay_until(app: App, sender: broadcast::Sender<Change>, shutdown: CancellationToken) {
    let mut backoff = BACKOFF_START;
    // Whether notices may have been lost: after a failed attempt, a broken connection or a
    // failover.
    let mut has_missed = false;
    let mut switches = failover::switches();
    loop {
        // Switches before this connection is opened are behind it: it goes to the new server.
        switches.borrow_and_update();
        let listening = tokio::select! {
            () = shutdown.cancelled() => return,
            listening = listen(&app) => listening,
        };
        let mut listener = match listening {
            Ok(listener) => listener,
            Err(err) => {
                if !has_missed {
                    tracing::warn!(error = %err, "cannot listen for incident changes; retrying");
                }
                has_missed = true;
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        backoff = BACKOFF_START;
        // Sessions may have subscribed while nobody listened yet (the first connection is
        // slow, or the database was down at start): they re-read too.
        if has_missed || sender.receiver_count() > 0 {
            tracing::info!("listening for incident changes again; subscribers re-read");
            // No receiver (no session subscribed yet) is not an error.
            let _ = sender.send(Change::Everything);
        }
        let broken = tokio::select! {
            () = shutdown.cancelled() => return,
            broken = relay(&mut listener, &sender) => broken,
            switched = switched(&mut switches) => switched,
        };
        // Closed now: on a silent old primary it would otherwise hold its socket forever.
        drop(listener);
        tracing::warn!(reason = %broken, "stopped listening for incident changes; reconnecting");
        has_missed = true;
    }
}

/// Waits for the pools to be repointed (see [`failover::switches`]); returns why to reconnect.
/// Without a failover watcher the sender lives on and this waits forever.
async fn switched(switches: &mut watch::Receiver<u64>) -> String {
    match switches.changed().await {
        Ok(()) => "the database failed over".to_owned(),
        Err(_) => std::future::pending().await,
    }
}

/// A listener on the channel: a session straight to PostgreSQL (see [`App::listener`]).
async fn listen(app: &App) -> std::result::Result<PgListener, sqlx::Error> {
    let mut listener = app.listener().await?;
    // A broken connection is replaced by `relay_until`, which then says so to subscribers;
    // sqlx's own silent reconnect would hide the gap.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Relays notices, gathered for [`COALESCE`] each, until the connection breaks; returns why.
async fn relay(listener: &mut PgListener, sender: &broadcast::Sender<Change>) -> String {
    loop {
        let first = match listener.try_recv().await {
            Ok(Some(notice)) => notice,
            Ok(None) => return "connection lost".to_owned(),
            Err(err) => return err.to_string(),
        };
        let mut batch = Batch::default();
        batch.add(first.payload());
        let until = Instant::now() + COALESCE;
        let broken = loop {
            match tokio::time::timeout_at(until, listener.try_recv()).await {
                Err(_elapsed) => break None,
                Ok(Ok(Some(notice))) => batch.add(notice.payload()),
                Ok(Ok(None)) => break Some("connection lost".to_owned()),
                Ok(Err(err)) => break Some(err.to_string()),
            }
        };
        let _ = sender.send(batch.into_change());
        if let Some(broken) = broken {
            return broken;
        }
    }
}

/// Notices gathered into one change.
#[derive(Debug, Default)]
struct Batch {
    numbers: BTreeSet<i64>,
    is_everything: bool,
}

impl Batch {
    /// Adds one notice's payload; anything but numbers (`*`, or a payload this version does
    /// not understand) means everything.
    fn add(&mut self, payload: &str) {
        for part in payload.split(',') {
            match part.trim().parse::<i64>() {
                Ok(number) => {
                    self.numbers.insert(number);
                }
                Err(_) => self.is_everything = true,
            }
        }
    }

    fn into_change(self) -> Change {
        if self.is_everything {
            Change::Everything
        } else {
            Change::Incidents(Arc::new(self.numbers))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(payloads: &[&str]) -> Change {
        let mut batch = Batch::default();
        for payload in payloads {
            batch.add(payload);
        }
        batch.into_change()
    }

    #[test]
    fn notices_in_a_burst_become_one_change_naming_each_incident_once() {
        let change = change(&["3,5", "5", "8"]);
        assert_eq!(
            change,
            Change::Incidents(Arc::new(BTreeSet::from([3, 5, 8])))
        );
        assert!(change.touches(5));
        assert!(!change.touches(4));
    }

    #[test]
    fn a_star_or_an_unknown_payload_means_everything() {
        assert_eq!(change(&["3", "*"]), Change::Everything);
        assert_eq!(change(&["INC-3"]), Change::Everything);
        assert!(Change::Everything.touches(12));
    }
}
