//! The "embedded default" Postgres cluster, used when `DATABASE_URL` is not set.
//!
//! Firebreak then keeps a private cluster in a data directory (by default
//! `dirs::data_dir()/firebreak/postgres`, or `/var/lib/firebreak/postgres` for root). This module
//! starts external processes: `initdb` creates the cluster on first use and `pg_ctl` starts the
//! `postgres` server on demand. The server is shared by all Firebreak processes of the user and
//! keeps running after Firebreak exits, so later starts only need to connect.
//!
//! The server listens on a Unix socket only (inside the 0700 data directory, no TCP port), which
//! is why `trust` authentication is acceptable. Our stdout is the MCP channel, so no child process
//! inherits it: their output is captured and only shown in errors.

mod data_dir;
mod os_user;
mod programs;
mod server;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::unistd::{Gid, Uid};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};

use data_dir::{check_path, read_pg_version, sibling};
use os_user::{check_reachable, unprivileged_user};
use programs::pick_bin_dir;

/// Cluster superuser created by `initdb`, used for every connection.
const SUPERUSER: &str = "firebreak";
/// Only names the socket file; nothing listens on TCP.
const PORT: u16 = 5432;

/// A private Postgres cluster in a data directory, run by the local server programs.
#[derive(Debug, Clone)]
pub struct EmbeddedCluster {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    /// Set when we are root: Postgres refuses to run as root, so it runs as `postgres`.
    run_as: Option<(Uid, Gid)>,
}

/// Why the embedded cluster could not be located, created, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No folder with `postgres`, `initdb` and `pg_ctl` was found.
    #[error(
        "PostgreSQL server programs (postgres, initdb, pg_ctl) were not found on PATH, through \
         pg_config, or in the usual install locations. Install them (Debian/Ubuntu: `apt-get \
         install postgresql`; Fedora: `dnf install postgresql-server`; macOS: `brew install \
         postgresql@17`) or set DATABASE_URL to use an existing PostgreSQL server."
    )]
    ProgramsNotFound,
    /// Running as root, and there is no unprivileged `postgres` user to run the server as.
    #[error(
        "PostgreSQL refuses to run as root and there is no unprivileged `postgres` user to run \
         it as. Create one (`useradd --system postgres`), run Firebreak as a normal user, or set \
         DATABASE_URL to use an existing PostgreSQL server."
    )]
    NoUnprivilegedUser,
    /// There is no per-user data directory (for example `HOME` is unset).
    #[error(
        "Could not determine this user's data directory (is HOME set?). Pass a data directory \
         explicitly or set DATABASE_URL."
    )]
    NoDataDir,
    /// The data directory cannot be used (path, permissions or version problem).
    #[error(
        "Cannot use {} as the PostgreSQL data directory: {problem}. Choose another data directory \
         or set DATABASE_URL.",
        path.display()
    )]
    DataDir {
        /// The data directory.
        path: PathBuf,
        /// What is wrong, and how to fix it.
        problem: String,
    },
    /// A file system operation failed.
    #[error("{context}: {error}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        error: io::Error,
    },
    /// `initdb` or `pg_ctl` failed.
    #[error("{what} failed: {detail}")]
    Command {
        /// What we were doing.
        what: String,
        /// Exit status, captured output, and the server log's tail when starting.
        detail: String,
    },
    /// Talking to the started server failed.
    #[error("{context}: {error}")]
    Database {
        /// What we were doing.
        context: String,
        /// The underlying error.
        error: sqlx::Error,
    },
}

/// State of the cluster, as shown by `firebreak db status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The folder holding the Unix socket.
    pub socket_dir: PathBuf,
    /// The folder of the server programs.
    pub bin_dir: PathBuf,
    /// Whether the server is running.
    pub running: bool,
    /// The postmaster's process id, if running.
    pub pid: Option<u32>,
    /// Major version of the cluster (its `PG_VERSION`); `None` if not created yet.
    pub version: Option<String>,
}

impl fmt::Display for ClusterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (self.pid, &self.version) {
            (Some(pid), _) => format!("running (pid {pid})"),
            _ if self.running => "running".to_owned(),
            (None, Some(_)) => "stopped".to_owned(),
            (None, None) => "not created yet".to_owned(),
        };
        let version = self.version.as_deref().unwrap_or("-");
        writeln!(f, "embedded PostgreSQL {version}: {state}")?;
        writeln!(f, "  data directory:   {}", self.data_dir.display())?;
        writeln!(f, "  socket directory: {}", self.socket_dir.display())?;
        write!(f, "  server programs:  {}", self.bin_dir.display())
    }
}

impl EmbeddedCluster {
    /// Default data directory for this user (root: `/var/lib/firebreak/postgres`).
    pub fn default_data_dir() -> Result<PathBuf, ClusterError> {
        // Root's home is 0700: the `postgres` user running the server could not enter it.
        if nix::unistd::geteuid().is_root() {
            return Ok(PathBuf::from("/var/lib/firebreak/postgres"));
        }
        let base = dirs::data_dir().ok_or(ClusterError::NoDataDir)?;
        Ok(base.join("firebreak").join("postgres"))
    }

    /// Locates server binaries and decides which OS user runs the server; no side effects.
    pub fn locate(data_dir: PathBuf) -> Result<Self, ClusterError> {
        let data_dir = match data_dir.is_absolute() {
            true => data_dir,
            false => std::path::absolute(&data_dir).map_err(io_error(format_args!(
                "cannot resolve {}",
                data_dir.display()
            )))?,
        };
        // Drops a trailing slash, so `<data_dir>.lock` is a sibling rather than a child.
        let data_dir: PathBuf = data_dir.components().collect();
        check_path(&data_dir)?;
        let run_as = unprivileged_user()?;
        if let Some(ids) = run_as {
            check_reachable(&data_dir, ids)?;
        }
        let bin_dir = pick_bin_dir(&data_dir)?;
        Ok(Self {
            data_dir,
            bin_dir,
            run_as,
        })
    }

    /// Creates (initdb) and starts the cluster if needed, creates `database` if missing, returns
    /// options to connect to it.
    pub async fn ensure_running(&self, database: &str) -> Result<PgConnectOptions, ClusterError> {
        let options = self.connect_options(database);
        // Fast path: server up and database present (every start but the first).
        if let Ok(conn) = PgConnection::connect_with(&options).await {
            let _ = conn.close().await;
            return Ok(options);
        }
        let cluster = self.clone();
        let lock = blocking(move || cluster.start_locked()).await?;
        // Still under the lock, so concurrent processes do not race on CREATE DATABASE.
        let created = self.create_database(database).await;
        drop(lock);
        created.map(|()| options)
    }

    /// Options to connect to `database` over the socket (no checks).
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .socket(&self.data_dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
            .ssl_mode(PgSslMode::Disable)
    }

    /// Reports where the cluster lives and whether its server is running.
    pub async fn status(&self) -> Result<ClusterStatus, ClusterError> {
        let cluster = self.clone();
        let (running, pid) = blocking(move || cluster.server_state()).await?;
        Ok(ClusterStatus {
            data_dir: self.data_dir.clone(),
            socket_dir: self.data_dir.clone(),
            bin_dir: self.bin_dir.clone(),
            running,
            pid,
            version: read_pg_version(&self.data_dir),
        })
    }

    /// Stops the server if running; `Ok(true)` if it was running.
    pub async fn stop(&self) -> Result<bool, ClusterError> {
        let cluster = self.clone();
        blocking(move || cluster.stop_locked()).await
    }

    /// Blocking part of `ensure_running`; the returned file holds the cluster lock.
    fn start_locked(&self) -> Result<File, ClusterError> {
        self.create_parent_dirs()?;
        let lock = self.lock()?;
        if read_pg_version(&self.data_dir).is_none() {
            self.initdb()?;
        }
        if !self.server_state()?.0 {
            self.start_server()?;
        }
        Ok(lock)
    }

    fn stop_locked(&self) -> Result<bool, ClusterError> {
        if read_pg_version(&self.data_dir).is_none() {
            return Ok(false);
        }
        let _lock = self.lock()?;
        if !self.server_state()?.0 {
            return Ok(false);
        }
        self.stop_server()?;
        tracing::info!(data_dir = %self.data_dir.display(), "stopped the embedded Postgres server");
        Ok(true)
    }

    async fn create_database(&self, database: &str) -> Result<(), ClusterError> {
        let mut conn = self.admin_connection().await?;
        let context = format!("cannot create the database {database:?}");
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(database)
                .fetch_one(&mut conn)
                .await
                .map_err(db_error(&context))?;
        if !exists {
            let sql = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
            match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
            {
                Ok(_) => tracing::info!(database, "created database in the embedded cluster"),
                // 42P04: created meanwhile by someone not using our lock.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
                Err(error) => return Err(db_error(context)(error)),
            }
        }
        let _ = conn.close().await;
        Ok(())
    }

    /// Connects to the `postgres` database, waiting while a server is still starting up.
    async fn admin_connection(&self) -> Result<PgConnection, ClusterError> {
        let options = self.connect_options("postgres");
        for _ in 0..50 {
            match PgConnection::connect_with(&options).await {
                Err(error) if is_transient(&error) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                result => return result.map_err(db_error(self.connect_context())),
            }
        }
        let last = PgConnection::connect_with(&options).await;
        last.map_err(db_error(self.connect_context()))
    }

    fn connect_context(&self) -> String {
        let (dir, log) = (self.data_dir.display(), sibling(&self.data_dir, "log"));
        format!("cannot connect to the embedded PostgreSQL server in {dir} (see its log {log:?})")
    }
}

/// Runs `f` on the blocking thread pool (file locks and child processes block).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ClusterError> + Send + 'static,
) -> Result<T, ClusterError> {
    let result = tokio::task::spawn_blocking(f).await;
    result.map_err(|error| io_error("a background task failed")(io::Error::other(error)))?
}

fn io_error(context: impl fmt::Display) -> impl FnOnce(io::Error) -> ClusterError {
    let context = context.to_string();
    move |error| ClusterError::Io { context, error }
}

fn db_error(context: impl fmt::Display) -> impl FnOnce(sqlx::Error) -> ClusterError {
    let context = context.to_string();
    move |error| ClusterError::Database { context, error }
}

fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        // 57P03: "the database system is starting up".
        sqlx::Error::Database(e) => e.code().as_deref() == Some("57P03"),
        _ => false,
    }
}

fn data_dir_error(path: &Path, problem: impl Into<String>) -> ClusterError {
    ClusterError::DataDir {
        path: path.to_owned(),
        problem: problem.into(),
    }
}
