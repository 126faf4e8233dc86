//! Use cases. Every write runs as one transaction (load, apply the domain rule, save, append to
//! the timeline, commit); a read that needs one consistent view (a brief) takes one too, and a
//! single-statement read runs straight on the pool. May use `domain`, `store` and
//! `integrations`; knows nothing about MCP or HTTP.

pub mod action_items;
pub mod audit;
mod error;
mod incidents;
mod lifecycle;
mod listing;
pub mod live;
mod lookups;
pub mod metrics;
pub mod notifications;
mod page;
pub mod postmortems;
pub mod replica;
mod roles;
pub mod runbooks;
pub mod signals;
pub mod similar;
mod status_page;
pub mod status_updates;
mod timeline;
pub mod tokens;
pub mod write;

pub use error::Error;
pub use incidents::{Declared, IncidentBrief};
pub use lifecycle::{StatusChanged, StatusRequest};
pub use listing::{IncidentPage, ListRequest, StatusFilter};
pub use lookups::{IncidentSuggestions, RecentTimeline};
pub use roles::Roles;
pub use timeline::{AddedEntry, ManualEntry, TimelinePage};
pub use write::{IdempotencyKey, Write, Written};

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres, Transaction};

use crate::domain::{Incident, IncidentRef};
use crate::integrations::runbook_fetch::{FetchLimits, RunbookFetcher};
use crate::store::{self, Lock};

/// The application: a handle on the database and the settings use cases need. Cheap to
/// clone; share one per process.
#[derive(Clone, Debug)]
pub struct App {
    pool: PgPool,
    settings: Arc<Settings>,
    /// Fetches remote runbooks from `settings.runbook_hosts`; `None` if its client could not start.
    fetcher: Option<RunbookFetcher>,
    /// The words' statistics for similar incidents, shared by clones.
    stats: Arc<similar::StatsCache>,
    /// The similar incidents briefs showed, shared by clones.
    brief_similar: Arc<similar::BriefCache>,
    /// The batched audit records of reads and refusals, shared by clones.
    audit: audit::AuditLog,
    /// A read replica for searches, similar incidents and metrics, if configured.
    reader: Option<Arc<replica::ReadReplica>>,
}

/// What use cases need beyond the database, read once from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Hosts that remote runbooks (`get_runbook` with a URL) may be fetched from; empty means
    /// remote runbooks are off.
    pub runbook_hosts: Vec<String>,
    /// A user postmortem template (minijinja source) replacing the default one.
    pub postmortem_template: Option<String>,
    /// How long one call may take before it is answered `unavailable`.
    pub call_timeout: Duration,
    /// How alerts are routed (reloaded in place on SIGHUP).
    pub routing: signals::RoutingHandle,
    /// The public status page: its components are the services a public update may name.
    pub status_page: crate::domain::status_page::PageConfig,
    /// How long audit records are kept before the background pruning deletes them.
    pub audit_retention: chrono::Duration,
    /// How transactions start and where listeners connect: directly, or behind a
    /// transaction pooler such as PgBouncer.
    pub pooling: store::pooler::Pooling,
}

/// The default of [`Settings::call_timeout`].
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a health check waits for the database.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            runbook_hosts: Vec::new(),
            postmortem_template: None,
            call_timeout: CALL_TIMEOUT,
            routing: signals::RoutingHandle::default(),
            status_page: crate::domain::status_page::PageConfig::default(),
            audit_retention: audit::RETENTION,
            pooling: store::pooler::Pooling::direct(),
        }
    }
}

/// Result alias for use cases.
pub type Result<T> = std::result::Result<T, Error>;

impl App {
    /// Wraps a connection pool (migrations must already have run) with default settings.
    pub fn from_pool(pool: PgPool) -> Self {
        App::new(pool, Settings::default())
    }

    /// Wraps a connection pool (migrations must already have run) with `settings`.
    pub fn new(pool: PgPool, settings: Settings) -> Self {
        App {
            audit: audit::AuditLog::new(pool.clone(), settings.pooling.clone()),
            pool,
            fetcher: runbooks::fetcher(&settings.runbook_hosts, FetchLimits::default()),
            settings: Arc::new(settings),
            stats: Arc::default(),
            brief_similar: Arc::default(),
            reader: None,
        }
    }

    /// Sends searches, similar incidents and metrics to `replica` while it is fresh enough.
    pub fn with_read_replica(mut self, replica: Arc<replica::ReadReplica>) -> App {
        self.reader = Some(replica);
        self
    }

    /// The read replica, if one is configured.
    pub fn read_replica(&self) -> Option<&replica::ReadReplica> {
        self.reader.as_deref()
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The pool, for health checks and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Checks that the database answers within a second (a hung database must not hang the
    /// health check: load balancers need their answer quickly).
    pub async fn check_health(&self) -> Result<()> {
        let check = async {
            let mut conn = self.pool.acquire().await.map_err(store::Error::from)?;
            store::ping(&mut conn).await?;
            Ok(())
        };
        tokio::time::timeout(HEALTH_TIMEOUT, check)
            .await
            .unwrap_or_else(|_| Err(Error::Unavailable(store::Error::Timeout(HEALTH_TIMEOUT))))
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.settings.pooling.begin(&self.pool).await?)
    }

    /// A connection outside a transaction, for a use case that only reads or that writes with
    /// a single statement (atomic on its own). At READ COMMITTED every statement takes its own
    /// snapshot either way, so BEGIN and COMMIT would cost two round trips without making the
    /// reads any more consistent. Behind a transaction pooler it is a transaction all the same
    /// (see [`store::pooler`]): a use case that writes on it ends with `commit()`.
    async fn autocommit(&self) -> Result<store::pooler::Autocommit> {
        Ok(self.settings.pooling.autocommit(&self.pool).await?)
    }

    /// Whether [`App::listener`] can ever succeed: false behind a transaction pooler without
    /// a direct URL, where live updates cannot be offered.
    pub fn can_listen(&self) -> bool {
        self.settings.pooling.can_listen()
    }

    /// A listener for change notices (`LISTEN`), on a session straight to PostgreSQL; fails
    /// behind a transaction pooler without a direct URL (the token registry and the
    /// notifications worker then poll; live updates are not offered).
    pub async fn listener(&self) -> std::result::Result<sqlx::postgres::PgListener, sqlx::Error> {
        self.settings.pooling.listener(&self.pool).await
    }

    /// A connection for a read that may be a little stale (searches, similar incidents): on
    /// the read replica while its lag is within bounds, else (or when it cannot be reached)
    /// on the primary, like [`App::autocommit`].
    async fn for_reading(&self) -> Result<store::pooler::Autocommit> {
        if let Some(replica) = self.reader.as_ref().filter(|r| r.is_fresh()) {
            match replica.pool().acquire().await {
                Ok(conn) => return Ok(store::pooler::Autocommit::Direct(conn)),
                Err(err) => tracing::debug!(error = %err, "read replica unreachable: primary"),
            }
        }
        self.autocommit().await
    }

    /// A transaction for a read that may be a little stale (metrics), placed as
    /// [`App::for_reading`] places its connection.
    async fn begin_reading(&self) -> Result<Transaction<'static, Postgres>> {
        if let Some(replica) = self.reader.as_ref().filter(|r| r.is_fresh()) {
            match replica.pool().begin().await {
                Ok(tx) => return Ok(tx),
                Err(err) => tracing::debug!(error = %err, "read replica unreachable: primary"),
            }
        }
        self.begin().await
    }
}

/// Commits a use case's transaction. With synchronous replication the commit waits for the
/// standby; `statement_timeout` does not cut that wait short (PostgreSQL 15: a commit waiting
/// for a stopped standby outlives it, `tests/mcp/failover.rs`), so nothing is acknowledged
/// before the standby has it.
async fn commit(tx: Transaction<'static, Postgres>) -> Result<()> {
    tx.commit().await.map_err(store::Error::from)?;
    Ok(())
}

/// Loads an incident or fails with `not_found`.
async fn load(conn: &mut PgConnection, reference: IncidentRef, lock: Lock) -> Result<Incident> {
    store::incidents::find(conn, reference, lock)
        .await?
        .ok_or(Error::NotFound(reference))
}

/// Fails with `conflict` when the caller expected another version.
fn check_version(incident: &Incident, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(expected) if expected != incident.version => Err(Error::StaleVersion {
            incident: incident.reference(),
            expected,
            current_version: incident.version,
            current_status: incident.status,
        }),
        _ => Ok(()),
    }
}
