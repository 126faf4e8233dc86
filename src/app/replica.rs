//! An optional read replica for searches, similar incidents and metrics, used only while its
//! data is known to be fresh enough.
//!
//! How fresh: every [`SAMPLE_EVERY`] the primary's flushed WAL position is noted with the time,
//! and the replica is asked how far it has replayed. Once it has replayed past a position noted
//! at time `t`, it holds every write acknowledged before `t`, so its data is at most `now - t`
//! old. That bound (the lag) is exact to one sampling period and never flatters the replica: an
//! idle primary whose last change was an hour ago still gives a lag of a fraction of a second,
//! and a replica that stops answering grows stale on its own. While the lag exceeds the
//! configured maximum, or is unknown, reads go to the primary.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::PgPool;
use tokio::task::JoinHandle;

use crate::store::{self, replication};

/// How often the primary and the replica are asked where they stand.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// Samples kept at most (one minute of them): older ones can no longer make a replica fresh.
const SAMPLES_KEPT: usize = 240;

/// A read replica's pool and how stale its data may be.
#[derive(Debug)]
pub struct ReadReplica {
    pool: PgPool,
    max_lag: Duration,
    freshness: Mutex<Freshness>,
}

#[derive(Debug, Default)]
struct Freshness {
    /// (when, the primary's flushed WAL position then), oldest first.
    samples: VecDeque<(Instant, i64)>,
    /// The replica holds every write acknowledged before this instant.
    fresh_as_of: Option<Instant>,
}

/// What `/healthz` reports of the replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// How old the replica's data may be; `None` until it was first measured.
    pub lag: Option<Duration>,
    /// The most lag reads accept.
    pub max_lag: Duration,
    /// Whether reads go to the replica now.
    pub in_use: bool,
}

impl ReadReplica {
    /// A replica reached through `pool`, used while its lag is at most `max_lag`. Until the
    /// monitor ([`ReadReplica::monitor`]) has measured it, reads go to the primary.
    pub fn new(pool: PgPool, max_lag: Duration) -> Arc<ReadReplica> {
        Arc::new(ReadReplica {
            pool,
            max_lag,
            freshness: Mutex::default(),
        })
    }

    /// The replica's pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// How old the replica's data may be, if measured.
    pub fn lag(&self) -> Option<Duration> {
        let freshness = self.freshness.lock().unwrap_or_else(|e| e.into_inner());
        freshness.fresh_as_of.map(|at| at.elapsed())
    }

    /// Whether reads should go to the replica now.
    pub fn is_fresh(&self) -> bool {
        self.status().in_use
    }

    /// The lag, its bound and whether the replica is in use.
    pub fn status(&self) -> ReplicaStatus {
        let lag = self.lag();
        ReplicaStatus {
            lag,
            max_lag: self.max_lag,
            in_use: lag.is_some_and(|lag| lag <= self.max_lag),
        }
    }

    /// Measures the lag every [`SAMPLE_EVERY`] against `primary` until that pool is closed.
    pub fn monitor(self: &Arc<Self>, primary: PgPool) -> JoinHandle<()> {
        let replica = Arc::clone(self);
        tokio::spawn(async move {
            let mut was_fresh = true;
            while !primary.is_closed() {
                replica.sample(&primary).await;
                let fresh = replica.is_fresh();
                if fresh != was_fresh {
                    let lag_ms = replica.lag().map(|lag| lag.as_millis() as u64);
                    match fresh {
                        true => tracing::info!(?lag_ms, "read replica fresh again: reads go to it"),
                        false => tracing::warn!(
                            ?lag_ms,
                            max_lag_ms = replica.max_lag.as_millis() as u64,
                            "read replica too stale or unreachable: reads go to the primary"
                        ),
                    }
                    was_fresh = fresh;
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        })
    }

    /// One measurement; a failure on either side leaves the bound as it was (so it grows).
    async fn sample(&self, primary: &PgPool) {
        let at = Instant::now();
        let Ok(Some(position)) = position_of(primary, Side::Primary).await else {
            return;
        };
        self.note(at, position);
        if let Ok(replayed) = position_of(&self.pool, Side::Replica).await {
            self.replayed(replayed);
        }
    }

    fn note(&self, at: Instant, position: i64) {
        let mut freshness = self.freshness.lock().unwrap_or_else(|e| e.into_inner());
        freshness.samples.push_back((at, position));
        while freshness.samples.len() > SAMPLES_KEPT {
            freshness.samples.pop_front();
        }
    }

    /// The replica has replayed up to `replayed` (`None`: it is not in recovery, so it holds
    /// everything noted so far).
    fn replayed(&self, replayed: Option<i64>) {
        let mut freshness = self.freshness.lock().unwrap_or_else(|e| e.into_inner());
        let reached = freshness
            .samples
            .iter()
            .rev()
            .find(|(_, position)| replayed.is_none_or(|r| *position <= r))
            .map(|(at, _)| *at);
        if let Some(at) = reached {
            freshness.fresh_as_of = Some(freshness.fresh_as_of.map_or(at, |old| old.max(at)));
            freshness.samples.retain(|(noted, _)| *noted >= at);
        }
    }
}

enum Side {
    Primary,
    Replica,
}

/// `Some(position)` of the primary's flush, or of the replica's replay (`None` inside when
/// the replica is not in recovery).
async fn position_of(pool: &PgPool, side: Side) -> store::Result<Option<i64>> {
    let mut conn = pool.acquire().await?;
    match side {
        Side::Primary => replication::primary_position(&mut conn).await.map(Some),
        Side::Replica => replication::replayed_position(&mut conn).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica() -> Arc<ReadReplica> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap();
        ReadReplica::new(pool, Duration::from_secs(5))
    }

    #[tokio::test]
    async fn unmeasured_replicas_are_not_used() {
        let r = replica();
        assert_eq!(r.lag(), None);
        assert!(!r.is_fresh());
    }

    #[tokio::test]
    async fn a_replica_is_as_fresh_as_the_last_position_it_replayed_past() {
        let r = replica();
        let old = Instant::now() - Duration::from_secs(30);
        let recent = Instant::now() - Duration::from_secs(2);
        r.note(old, 100);
        r.note(recent, 200);
        r.replayed(Some(150));
        let lag = r.lag().unwrap();
        assert!(lag >= Duration::from_secs(30), "{lag:?}");
        assert!(!r.is_fresh());
        r.replayed(Some(200));
        let lag = r.lag().unwrap();
        assert!(
            lag >= Duration::from_secs(2) && lag < Duration::from_secs(30),
            "{lag:?}"
        );
        assert!(r.is_fresh());
        // Replaying less later never makes it staler than it was shown to be.
        r.replayed(Some(10));
        assert!(r.lag().unwrap() < Duration::from_secs(30));
    }

    #[tokio::test]
    async fn a_server_out_of_recovery_holds_everything_noted() {
        let r = replica();
        let at = Instant::now();
        r.note(at, 500);
        r.replayed(None);
        assert!(r.is_fresh());
        assert!(r.status().in_use);
    }
}
