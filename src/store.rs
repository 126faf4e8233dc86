//! PostgreSQL persistence: the only module that writes SQL. Every function takes
//! `&mut PgConnection` so that the use case in `app` owns the transaction.
//! Depends on `domain` types (and sqlx); knows nothing about MCP.

pub mod action_items;
pub mod brief;
pub mod cluster;
pub mod idempotency;
pub mod incident_list;
pub mod incidents;
pub mod postmortems;
pub mod roles;
pub mod runbook_cache;
pub mod runbooks;
pub mod timeline;

use std::time::Duration;

use sqlx::PgConnection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::domain::{Actor, Channel};

/// The schema migrations, embedded at compile time from `migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A named unique constraint refused the write (a concurrent writer got there first).
    #[error("unique constraint `{constraint}` refused the write")]
    Conflict {
        /// The constraint's name, as declared in the migrations.
        constraint: String,
    },
    /// A stored row that the domain cannot read (e.g. an unknown status).
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// Anything else the database or driver reported.
    #[error(transparent)]
    Database(sqlx::Error),
}

impl Error {
    /// True when the database could not be reached, is shutting down, or gave up on the work
    /// (a statement or idle-transaction timeout, a call's deadline passing): worth retrying.
    pub fn is_unavailable(&self) -> bool {
        let Error::Database(err) = self else {
            return false;
        };
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => true,
            sqlx::Error::Database(_) => self.sqlstate().as_deref().is_some_and(|code| {
                // 08: connection exception; 57P0x: shutdown / cannot connect now; 57014: query
                // canceled (statement timeout, or the deadline guard); 25P03: idle in
                // transaction too long; 53300: too many connections.
                code.starts_with("08")
                    || code.starts_with("57P")
                    || matches!(code, "57014" | "25P03" | "53300")
            }),
            _ => false,
        }
    }

    /// True when a concurrent transaction made this one fail (serialization failure or
    /// deadlock): the same call may succeed when retried.
    pub fn is_concurrent_conflict(&self) -> bool {
        self.sqlstate()
            .as_deref()
            .is_some_and(|code| matches!(code, "40001" | "40P01"))
    }

    /// True when a value could not be stored as text (a NUL byte, or a character outside the
    /// database encoding): the caller's input, which validation should have refused.
    pub fn is_unstorable_text(&self) -> bool {
        self.sqlstate()
            .as_deref()
            .is_some_and(|code| matches!(code, "22021" | "22P05"))
    }

    fn sqlstate(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Error::Database(sqlx::Error::Database(db)) => db.code(),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
            && let Some(constraint) = db.constraint()
        {
            return Error::Conflict {
                constraint: constraint.to_owned(),
            };
        }
        Error::Database(err)
    }
}

/// Result alias for store functions.
pub type Result<T> = std::result::Result<T, Error>;

/// Opens a connection pool with an explicit size and acquire timeout. Connections are made
/// lazily, so a database that is down at start (or later) only fails the calls made meanwhile.
pub fn connect(options: PgConnectOptions, max_connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        // No ping before every acquire: it costs a round trip per use case. A connection that
        // died meanwhile fails its call with `unavailable` and is dropped from the pool.
        .test_before_acquire(false)
        .connect_lazy_with(options.application_name("firebreak"))
}

/// Applies pending migrations. They take an advisory lock, so replicas may start together.
pub async fn migrate(pool: &PgPool) -> std::result::Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Checks that the database answers.
pub async fn ping(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("select 1").execute(conn).await?;
    Ok(())
}

/// Serialises transactions that use the same `scope` until the current transaction ends.
pub async fn lock_scope(conn: &mut PgConnection, scope: &str) -> Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(scope)
        .execute(conn)
        .await?;
    Ok(())
}

/// Rebuilds an actor from its three stored columns.
fn actor(principal: String, client: Option<String>, channel: &str) -> Result<Actor> {
    let channel = Channel::parse(channel)
        .ok_or_else(|| Error::Corrupt(format!("unknown channel `{channel}`")))?;
    Ok(Actor {
        principal,
        client,
        channel,
    })
}
