//! Following the right server of a multi-host database URL after a failover, without a
//! restart.
//!
//! A watcher keeps one connection of its own to the server the pool points at and asks it,
//! twice a second, whether it still fits (`pg_is_in_recovery()`, `transaction_read_only`).
//! When it does not answer or no longer fits (the primary died, or came back demoted), the
//! watcher probes every host of the URL in order, points the pool at the first that fits
//! ([`PgPool::set_connect_options`]) and notes the switch: from then on the pool closes, instead
//! of handing out, every connection opened before it (the `before_acquire` hook in
//! [`super::connect`]), so no call lands on the old server. Calls made meanwhile fail with
//! `unavailable` (connection refused, or `read_only_sql_transaction` on a demoted server),
//! which clients retry.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgPool};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::targets::{DatabaseTargets, Host, server_state};

/// How often the current server is asked whether it still fits.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// How often the hosts are probed again while none fits.
const RETRY_EVERY: Duration = Duration::from_millis(200);
/// How long one probe or check may take.
const PATIENCE: Duration = Duration::from_secs(1);

/// When the pools of this process last switched servers, in milliseconds since [`origin`]
/// (0: never). Process-wide, because a process serves one database: a switch of the main pool
/// evicts old connections of any other pool too, which then only reconnect.
static SWITCHED_AT: AtomicU64 = AtomicU64::new(0);

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Counts the switches of this process, for sessions that must reconnect after one (a
/// `LISTEN` whose old server went silent rather than closing the connection).
fn switch_counter() -> &'static watch::Sender<u64> {
    static SWITCHES: OnceLock<watch::Sender<u64>> = OnceLock::new();
    SWITCHES.get_or_init(|| watch::channel(0).0)
}

/// A receiver that changes after every switch: long-lived sessions reconnect when it does.
pub fn switches() -> watch::Receiver<u64> {
    switch_counter().subscribe()
}

/// Notes that the pools now point at another server (or at a server that came back).
pub fn note_switch() {
    let now = origin().elapsed().as_millis().max(1);
    SWITCHED_AT.store(u64::try_from(now).unwrap_or(u64::MAX), Ordering::Release);
    switch_counter().send_modify(|n| *n += 1);
}

/// True when a connection of this age was opened before the last switch (so it may be
/// connected to the old server). Costs no round trip: it runs before every acquire.
pub fn opened_before_last_switch(age: Duration) -> bool {
    let switched = SWITCHED_AT.load(Ordering::Acquire);
    if switched == 0 {
        return false;
    }
    let now = origin().elapsed();
    let opened = now.saturating_sub(age);
    opened.as_millis() <= u128::from(switched)
}

/// Starts the watcher of `pool`, which points at `current`; it stops once the pool is closed.
pub fn watch(pool: PgPool, targets: DatabaseTargets, current: Host) -> JoinHandle<()> {
    origin();
    let watcher = Watcher {
        pool,
        targets,
        current,
        conn: None,
    };
    tokio::spawn(watcher.run())
}

struct Watcher {
    pool: PgPool,
    targets: DatabaseTargets,
    current: Host,
    /// The watcher's own session on the current server.
    conn: Option<PgConnection>,
}

impl Watcher {
    async fn run(mut self) {
        let mut lost_since: Option<Instant> = None;
        while !self.pool.is_closed() {
            let fits = self.current_fits().await;
            if fits {
                if let Some(since) = lost_since.take() {
                    tracing::info!(
                        host = %self.current,
                        after_ms = since.elapsed().as_millis() as u64,
                        "database server answers again"
                    );
                }
                tokio::time::sleep(CHECK_EVERY).await;
                continue;
            }
            let since = *lost_since.get_or_insert_with(Instant::now);
            if self.switch().await {
                tracing::warn!(
                    host = %self.current,
                    after_ms = since.elapsed().as_millis() as u64,
                    "database failover: the pool now points at this host"
                );
                lost_since = None;
            } else {
                tokio::time::sleep(RETRY_EVERY).await;
            }
        }
    }

    /// Asks the current server whether it still fits, on the watcher's own session.
    async fn current_fits(&mut self) -> bool {
        if self.conn.is_none() {
            let base = self.pool.connect_options();
            let options = DatabaseTargets::options_for(&base, &self.current)
                .application_name("firebreak-failover");
            let connect = PgConnection::connect_with(&options);
            self.conn = tokio::time::timeout(PATIENCE, connect)
                .await
                .ok()
                .and_then(Result::ok);
        }
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        match tokio::time::timeout(PATIENCE, server_state(conn)).await {
            Ok(Ok(state)) if self.targets.attrs_accept(state) => true,
            _ => {
                if let Some(conn) = self.conn.take() {
                    let _ = tokio::time::timeout(PATIENCE, conn.close()).await;
                }
                false
            }
        }
    }

    /// Probes every host; points the pool at the first that fits. False when none does.
    async fn switch(&mut self) -> bool {
        let base = self.pool.connect_options();
        match self.targets.find(&base, PATIENCE).await {
            Ok((host, options)) => {
                self.pool.set_connect_options(options);
                note_switch();
                self.current = host;
                true
            }
            Err(none) => {
                tracing::debug!(%none, "database failover: waiting for a host that fits");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_opened_before_a_switch_are_evicted_and_later_ones_kept() {
        origin();
        std::thread::sleep(Duration::from_millis(20));
        note_switch();
        let switched = origin().elapsed();
        // Opened 5 ms before the switch.
        assert!(opened_before_last_switch(
            switched + Duration::from_millis(5)
        ));
        std::thread::sleep(Duration::from_millis(20));
        // Opened 5 ms ago: after the switch.
        assert!(!opened_before_last_switch(Duration::from_millis(5)));
    }
}
