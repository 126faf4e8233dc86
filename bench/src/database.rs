//! The bench database: on the server in `DATABASE_URL` or on an embedded cluster of its own,
//! created if missing, migrated with the product's migrations, with `synchronous_commit` set
//! for this database only. Also what the report says about the machine.

use std::path::PathBuf;

use anyhow::{Context, bail};
use firebreak::store::cluster::EmbeddedCluster;
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, PgConnection};

/// Where the bench database lives.
pub(crate) struct BenchDatabase {
    /// Options to connect to it.
    pub(crate) options: PgConnectOptions,
    /// The same as a URL, for the server children.
    pub(crate) url: String,
    /// "`DATABASE_URL`" or the embedded cluster's data directory.
    pub(crate) server: String,
}

/// The default data directory of the bench's embedded cluster: under the system temp dir
/// because, as root, the server runs as `postgres`, which cannot enter root's home.
pub(crate) fn default_data_dir() -> PathBuf {
    let uid = nix::unistd::geteuid();
    std::env::temp_dir()
        .join(format!("firebreak-bench-{uid}"))
        .join("postgres")
}

/// Connects to the server, creates `name` if missing, sets `synchronous_commit` for it and
/// applies the product's migrations.
pub(crate) async fn prepare(
    database_url: Option<&str>,
    data_dir: Option<PathBuf>,
    name: &str,
    is_synchronous_commit_off: bool,
) -> anyhow::Result<BenchDatabase> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        bail!("--database must be lowercase letters, digits and _ (got `{name}`)");
    }
    let (admin, server) = match database_url {
        Some(url) => (
            url.parse::<PgConnectOptions>()
                .context("DATABASE_URL is not a PostgreSQL connection string")?,
            "DATABASE_URL".to_owned(),
        ),
        None => {
            let dir = data_dir.unwrap_or_else(default_data_dir);
            let cluster = EmbeddedCluster::locate(dir.clone())?;
            let options = cluster.ensure_running("postgres").await?;
            (options, format!("embedded cluster in {}", dir.display()))
        }
    };
    let mut conn = PgConnection::connect_with(&admin)
        .await
        .context("connecting to PostgreSQL")?;
    let exists: Option<(i32,)> = sqlx::query_as("select 1 from pg_database where datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        conn.execute(AssertSqlSafe(format!("create database {name}")))
            .await
            .with_context(|| format!("creating database {name}"))?;
    }
    // Per database, so the server children pick it up; reset explicitly so a previous run's
    // choice never leaks into this one.
    let setting = if is_synchronous_commit_off {
        format!("alter database {name} set synchronous_commit = off")
    } else {
        format!("alter database {name} reset synchronous_commit")
    };
    conn.execute(AssertSqlSafe(setting)).await?;
    conn.close().await?;
    let options = admin.database(name);
    let pool = pool(&options, 2);
    firebreak::store::MIGRATOR
        .run(&pool)
        .await
        .context("applying the product's migrations")?;
    pool.close().await;
    Ok(BenchDatabase {
        url: options.to_url_lossy().to_string(),
        options,
        server,
    })
}

/// A pool on the bench database.
pub(crate) fn pool(options: &PgConnectOptions, size: u32) -> PgPool {
    // No liveness ping before each acquire: the SQL floor is one round trip per statement.
    PgPoolOptions::new()
        .max_connections(size)
        .test_before_acquire(false)
        .connect_lazy_with(options.clone())
}

/// The machine and server the numbers were measured on.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Machine {
    pub(crate) cores: usize,
    pub(crate) cpu: String,
    pub(crate) memory_gib: f64,
    pub(crate) os: String,
    pub(crate) postgres: String,
    pub(crate) synchronous_commit: String,
    pub(crate) fsync: String,
    pub(crate) shared_buffers: String,
    pub(crate) database_server: String,
}

/// Describes the machine and the bench database's settings (as a new session sees them).
pub(crate) async fn machine(db: &BenchDatabase) -> anyhow::Result<Machine> {
    let mut conn = PgConnection::connect_with(&db.options).await?;
    let mut show = async |setting: &'static str| -> anyhow::Result<String> {
        let (value,): (String,) = sqlx::query_as(AssertSqlSafe(format!("show {setting}")))
            .fetch_one(&mut conn)
            .await?;
        Ok(value)
    };
    let postgres = show("server_version").await?;
    let synchronous_commit = show("synchronous_commit").await?;
    let fsync = show("fsync").await?;
    let shared_buffers = show("shared_buffers").await?;
    conn.close().await?;
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or_else(
            || "unknown".to_owned(),
            |(_, model)| model.trim().to_owned(),
        );
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: f64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or_default();
    let os = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|release| format!("Linux {}", release.trim()))
        .unwrap_or_else(|_| std::env::consts::OS.to_owned());
    Ok(Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu,
        memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        os,
        postgres,
        synchronous_commit,
        fsync,
        shared_buffers,
        database_server: db.server.clone(),
    })
}
