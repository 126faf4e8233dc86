//! Working through a transaction-pooling PgBouncer (`pool_mode = transaction`), which hands a
//! server connection to a client for one transaction at a time and, in 1.18, knows nothing of
//! prepared statements.
//!
//! What that takes, and where it is done:
//! - **Every statement inside a transaction.** sqlx runs a statement with binds as Parse +
//!   Describe + Sync, then Bind + Execute + Sync. Outside a transaction PgBouncer may send the
//!   second half to another server than the first; inside one the server stays the same. So
//!   [`Pooling::autocommit`] hands out a transaction here (a bare connection when direct).
//! - **No statement outlives its transaction.** sqlx names every statement it prepares
//!   (`sqlx_s_1`, `sqlx_s_2`, … counted per client connection) and never closes them when its
//!   cache is off, so two clients' statements would meet on one server ("prepared statement
//!   already exists"). Each transaction is therefore preceded by `DEALLOCATE ALL` in a
//!   transaction of its own (it takes a snapshot, which would keep a caller from choosing its
//!   isolation level), sent in the same message as the `BEGIN` (no extra round trip), and the
//!   cache is off (a cached statement would be looked for on a server that never saw it).
//! - **No session state.** PgBouncer 1.18 refuses startup parameters it does not know
//!   (`options`, `extra_float_digits`), so the per-call limits (`statement_timeout`,
//!   `idle_in_transaction_session_timeout` and the deadline guard's `firebreak.write_deadline`)
//!   are set with `SET LOCAL` in that same first message, for the transaction only.
//!   Firebreak's own advisory locks are all transaction-scoped (`lock_scope`).
//! - **Session work on a direct connection.** Migrations take a session advisory lock and
//!   `LISTEN` needs a session, so both use the direct URL when there is one; without it
//!   migrations refuse, the token registry and the notifications worker poll, and live updates
//!   are off (subscribing is refused).

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgConnection, Postgres, SqlSafeStr, SqlStr, Transaction};

use super::{MIGRATOR, Result};

/// Most session connections straight to PostgreSQL that the listeners hold (one each).
const LISTEN_CONNECTIONS: u32 = 4;

/// What sits between Firebreak and PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pooler {
    /// Nothing: every connection is a session of its own.
    #[default]
    None,
    /// A pooler in transaction mode (PgBouncer `pool_mode = transaction`).
    Transaction,
}

/// How this process's use cases start transactions and where its listeners connect. Cheap to
/// clone. The default is a direct connection.
#[derive(Debug, Clone, Default)]
pub struct Pooling {
    /// The statement that starts each transaction behind a pooler; `None` when direct.
    begin: Option<SqlStr>,
    /// Session connections straight to PostgreSQL for `LISTEN`, behind a pooler.
    listen: Option<PgPool>,
}

impl Pooling {
    /// Direct connections: plain `BEGIN`, statements outside transactions, `LISTEN` on the pool.
    pub fn direct() -> Pooling {
        Pooling::default()
    }

    /// Behind a transaction pooler: every transaction is preceded by dropping the server's
    /// prepared statements and starts by setting `call_timeout`'s limits for itself, leaving
    /// the caller free to set its isolation level; listeners use `direct` (a URL straight to
    /// PostgreSQL) or, without it, are refused (the token registry and notifications poll; live
    /// updates are off).
    pub fn transaction(
        call_timeout: Option<Duration>,
        direct: Option<PgConnectOptions>,
    ) -> Pooling {
        // `DEALLOCATE ALL` takes a snapshot (PostgreSQL exempts only transaction control,
        // `LOCK`, `SET`, `SHOW` and a few others), after which `SET TRANSACTION ISOLATION
        // LEVEL` is refused (25001): it gets a transaction of its own, committed before the
        // caller's begins. One simple-query message keeps all of it to the single round trip
        // `BEGIN` costs anyway, and on one server: PgBouncer goes by the state the message
        // ends in (inside the caller's transaction).
        let mut begin = String::from("begin; deallocate all; commit; begin");
        if let Some(limit) = call_timeout {
            // Only digits are formatted in, so this text cannot carry anything but numbers.
            // `SET LOCAL` (a utility statement, unlike `select set_config(…)`) takes no
            // snapshot either, so the caller may still choose its isolation level.
            let millis = limit.as_millis().max(1);
            begin.push_str(&format!(
                "; set local statement_timeout = '{millis}'\
                 ; set local idle_in_transaction_session_timeout = '{millis}'\
                 ; set local firebreak.write_deadline = '{millis} milliseconds'"
            ));
        }
        let listen = direct.map(|options| {
            PgPoolOptions::new()
                .max_connections(LISTEN_CONNECTIONS)
                .min_connections(0)
                .connect_lazy_with(options.application_name("firebreak-listen"))
        });
        Pooling {
            begin: Some(AssertSqlSafe(begin).into_sql_str()),
            listen,
        }
    }

    /// True behind a transaction pooler.
    pub fn is_pooled(&self) -> bool {
        self.begin.is_some()
    }

    /// False exactly where [`Pooling::listener`] always fails: behind a transaction pooler
    /// without a direct URL. Costs nothing, so callers can refuse work that needs `LISTEN`.
    pub fn can_listen(&self) -> bool {
        self.begin.is_none() || self.listen.is_some()
    }

    /// Starts a transaction on `pool`.
    pub async fn begin(&self, pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
        Ok(match &self.begin {
            Some(statement) => pool.begin_with(statement.clone()).await?,
            None => pool.begin().await?,
        })
    }

    /// A connection for work that needs no transaction of its own (reads, single statements):
    /// a bare connection when direct, a transaction behind a pooler. Work that writes must end
    /// with [`Autocommit::commit`]; dropping it rolls the pooled transaction back.
    pub async fn autocommit(&self, pool: &PgPool) -> Result<Autocommit> {
        Ok(match &self.begin {
            Some(_) => Autocommit::Pooled(self.begin(pool).await?),
            None => Autocommit::Direct(pool.acquire().await?),
        })
    }

    /// A listener for `LISTEN`/`NOTIFY`: on `pool` when direct, on the direct URL behind a
    /// pooler. Fails behind a pooler without a direct URL, as `LISTEN` there would be lost
    /// with the transaction that ran it.
    pub async fn listener(&self, pool: &PgPool) -> std::result::Result<PgListener, sqlx::Error> {
        match (&self.begin, &self.listen) {
            (None, _) => PgListener::connect_with(pool).await,
            (Some(_), Some(direct)) => PgListener::connect_with(direct).await,
            (Some(_), None) => Err(sqlx::Error::Configuration(
                "LISTEN does not work through a transaction pooler (FIREBREAK_DB_POOLER=transaction); \
                 set FIREBREAK_DIRECT_DATABASE_URL (--direct-database-url) to a URL straight to \
                 PostgreSQL for change notices"
                    .into(),
            )),
        }
    }
}

/// A connection from [`Pooling::autocommit`]: use it as a `PgConnection`.
#[derive(Debug)]
pub enum Autocommit {
    /// A pool connection outside any transaction: each statement commits by itself.
    Direct(PoolConnection<Postgres>),
    /// A transaction, because the pooler needs one.
    Pooled(Transaction<'static, Postgres>),
}

impl Autocommit {
    /// Makes the work done on it durable: commits the pooled transaction (a no-op when
    /// direct, where every statement committed already).
    pub async fn commit(self) -> Result<()> {
        if let Autocommit::Pooled(tx) = self {
            tx.commit().await?;
        }
        Ok(())
    }
}

impl Deref for Autocommit {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match self {
            Autocommit::Direct(conn) => conn,
            Autocommit::Pooled(tx) => tx,
        }
    }
}

impl DerefMut for Autocommit {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            Autocommit::Direct(conn) => conn,
            Autocommit::Pooled(tx) => tx,
        }
    }
}

/// The migrations (by version) not yet applied to the database behind `pool`, read in one
/// transaction (so it works through a pooler, where migrating does not).
pub async fn pending_migrations(pool: &PgPool, pooling: &Pooling) -> Result<Vec<i64>> {
    let mut tx = pooling.begin(pool).await?;
    let exists: bool = sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null")
        .persistent(false)
        .fetch_one(&mut *tx)
        .await?;
    let applied: Vec<i64> = if exists {
        sqlx::query_scalar("select version from _sqlx_migrations where success")
            .persistent(false)
            .fetch_all(&mut *tx)
            .await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| m.version)
        .collect())
}
