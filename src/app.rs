//! Use cases: each runs as one transaction (load, apply the domain rule, save, append to the
//! timeline, commit). May use `domain` and `store`; knows nothing about MCP or HTTP.

pub mod action_items;
mod error;
mod incidents;
mod lifecycle;
mod listing;
mod lookups;
pub mod postmortems;
mod roles;
pub mod runbooks;
mod timeline;
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

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres, Transaction};

use crate::domain::{Incident, IncidentRef};
use crate::integrations::runbook_fetch::{FetchLimits, RunbookFetcher};
use crate::store;

/// The application: a handle on the database and the settings use cases need. Cheap to
/// clone; share one per process.
#[derive(Clone, Debug)]
pub struct App {
    pool: PgPool,
    settings: Arc<Settings>,
    /// Fetches remote runbooks from `settings.runbook_hosts`; `None` if its client could not start.
    fetcher: Option<RunbookFetcher>,
}

/// What use cases need beyond the database, read once from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Hosts that remote runbooks (`get_runbook` with a URL) may be fetched from; empty means
    /// remote runbooks are off.
    pub runbook_hosts: Vec<String>,
    /// A user postmortem template (minijinja source) replacing the default one.
    pub postmortem_template: Option<String>,
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
            pool,
            fetcher: runbooks::fetcher(&settings.runbook_hosts, FetchLimits::default()),
            settings: Arc::new(settings),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The pool, for health checks and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Checks that the database answers.
    pub async fn check_health(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(store::Error::from)?;
        store::ping(&mut conn).await?;
        Ok(())
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await.map_err(store::Error::from)?)
    }

    /// A connection outside a transaction, for a use case that only reads or that writes with
    /// a single statement (atomic on its own). At READ COMMITTED every statement takes its own
    /// snapshot either way, so BEGIN and COMMIT would cost two round trips without making the
    /// reads any more consistent.
    async fn autocommit(&self) -> Result<PoolConnection<Postgres>> {
        Ok(self.pool.acquire().await.map_err(store::Error::from)?)
    }
}

async fn commit(tx: Transaction<'static, Postgres>) -> Result<()> {
    tx.commit().await.map_err(store::Error::from)?;
    Ok(())
}

/// Loads an incident or fails with `not_found`.
async fn load(
    conn: &mut PgConnection,
    reference: IncidentRef,
    for_update: bool,
) -> Result<Incident> {
    store::incidents::find(conn, reference, for_update)
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
