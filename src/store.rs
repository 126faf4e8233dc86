//! PostgreSQL persistence: the only module that writes SQL. Every function takes
//! `&mut PgConnection` so that the use case in `app` owns the transaction.
//! Depends on `domain` types (and sqlx); knows nothing about MCP.

pub mod action_items;
pub mod alerts;
pub mod audit;
pub mod brief;
pub mod changes;
pub mod cluster;
pub mod failover;
pub mod idempotency;
pub mod incident_list;
pub mod incidents;
pub mod metrics;
pub mod outbox;
pub mod pooler;
pub mod postmortems;
pub mod replication;
pub mod roles;
pub mod runbook_cache;
pub mod runbooks;
pub mod similar;
pub mod status_page;
pub mod status_updates;
pub mod targets;
pub mod timeline;
pub mod tokens;

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
    /// The database did not answer within this long.
    #[error("the database did not answer within {0:?}")]
    Timeout(Duration),
}

impl Error {
    /// True when the database could not be reached, is shutting down, or gave up on the work
    /// (a statement or idle-transaction timeout, a call's deadline passing): worth retrying.
    pub fn is_unavailable(&self) -> bool {
        let err = match self {
            Error::Database(err) => err,
            Error::Timeout(_) => return true,
            _ => return false,
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
                // transaction too long; 53300: too many connections; 25006: a write reached a
                // read-only server (a demoted primary before the failover watcher moved on).
                code.starts_with("08")
                    || code.starts_with("57P")
                    || matches!(code, "57014" | "25P03" | "53300" | "25006")
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

/// Whether a lookup locks the row it finds until the transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Read it only.
    None,
    /// `select … for update`: other writers wait until this transaction ends.
    ForUpdate,
}

/// Result alias for store functions.
pub type Result<T> = std::result::Result<T, Error>;

/// The long-lived `LISTEN` sessions a serving process holds on its pool at most: the token
/// registry, the notifications worker and the live updates.
pub const LISTENER_CONNECTIONS: u32 = 3;

/// How long a connection waits for a free pool slot at most.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a connection pool with an explicit size and acquire timeout. Connections are made
/// lazily, so a database that is down at start (or later) only fails the calls made meanwhile.
///
/// With `call_timeout`, every connection tells PostgreSQL to abandon work the caller has given
/// up on: `statement_timeout` and `idle_in_transaction_session_timeout` are set to it, and
/// `firebreak.write_deadline` arms the deadline guard (migration 0006), which refuses to commit
/// a write that reaches the database after its call's deadline (statements a frozen or
/// partitioned database releases late).
pub fn connect(
    options: PgConnectOptions,
    max_connections: u32,
    call_timeout: Option<Duration>,
) -> PgPool {
    connect_through(options, max_connections, call_timeout, pooler::Pooler::None)
}

/// Like [`connect`], through `pooler`. Behind a transaction pooler the connections send no
/// startup `options` (PgBouncer refuses them: [`pooler::Pooling`] sets the call's limits in
/// each transaction instead) and cache no prepared statements.
pub fn connect_through(
    options: PgConnectOptions,
    max_connections: u32,
    call_timeout: Option<Duration>,
    pooler: pooler::Pooler,
) -> PgPool {
    let mut options = options.application_name("firebreak");
    let mut acquire_timeout = ACQUIRE_TIMEOUT;
    if pooler == pooler::Pooler::Transaction {
        options = options.statement_cache_capacity(0).extra_float_digits(None);
    }
    if let Some(limit) = call_timeout {
        let millis = limit.as_millis().max(1).to_string();
        let deadline = format!("{millis} milliseconds");
        if pooler == pooler::Pooler::None {
            options = options.options([
                ("statement_timeout", millis.as_str()),
                ("idle_in_transaction_session_timeout", millis.as_str()),
                ("firebreak.write_deadline", deadline.as_str()),
            ]);
        }
        // Longer than the call's deadline: a call waiting for a connection is answered by the
        // deadline, which says what became of it.
        acquire_timeout = limit + Duration::from_secs(1);
    }
    // Directly connected, the listeners (`LISTEN` for tokens, notifications and live updates)
    // hold a connection of this pool each for as long as they run: room for them on top, so
    // calls keep `max_connections`. Behind a pooler they use the direct URL's pool instead.
    let listeners = match pooler {
        pooler::Pooler::None => LISTENER_CONNECTIONS,
        pooler::Pooler::Transaction => 0,
    };
    PgPoolOptions::new()
        .max_connections(max_connections + listeners)
        .min_connections(0)
        .acquire_timeout(acquire_timeout)
        // No ping before every acquire: it costs a round trip per use case. A connection that
        // died meanwhile fails its call with `unavailable` and is dropped from the pool.
        .test_before_acquire(false)
        // After a failover, a connection opened before it may still reach the old server:
        // close it instead of handing it out (no round trip; see `failover`).
        .before_acquire(|_conn, meta| {
            Box::pin(async move { Ok(!failover::opened_before_last_switch(meta.age)) })
        })
        .connect_lazy_with(options)
}

/// Applies pending migrations on a connection of their own, without the serving pool's
/// timeouts (building an index over a large history can take minutes). They take an advisory
/// lock, so replicas may start together.
pub async fn migrate(
    options: &PgConnectOptions,
) -> std::result::Result<(), sqlx::migrate::MigrateError> {
    use sqlx::Connection;
    let mut conn =
        PgConnection::connect_with(&options.clone().application_name("firebreak-migrate")).await?;
    let migrated = MIGRATOR.run(&mut conn).await;
    let _ = conn.close().await;
    migrated
}

/// Checks that the database answers. A simple query (one message, no prepared statement), so
/// it is safe outside a transaction behind a transaction pooler too.
pub async fn ping(conn: &mut PgConnection) -> Result<()> {
    sqlx::raw_sql("select 1").execute(conn).await?;
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
    let channel: Channel = channel.parse().map_err(Error::Corrupt)?;
    Ok(Actor {
        principal,
        client,
        channel,
    })
}
