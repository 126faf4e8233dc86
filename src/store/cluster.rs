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

use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use nix::unistd::{Gid, Uid, User};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};

/// Cluster superuser created by `initdb`, used for every connection.
const SUPERUSER: &str = "firebreak";
/// Only names the socket file; nothing listens on TCP.
const PORT: u16 = 5432;
const SOCKET_FILE: &str = ".s.PGSQL.5432";
/// `sizeof(sun_path)` minus the terminating NUL.
const MAX_SOCKET_PATH: usize = if cfg!(any(target_os = "linux", target_os = "android")) {
    107
} else {
    103
};
const SERVER_PROGRAMS: [&str; 3] = ["postgres", "initdb", "pg_ctl"];

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
            self.start()?;
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
        let mut cmd = self.command("pg_ctl");
        cmd.args(["stop", "-m", "fast", "-w", "-s", "-D"]);
        self.run(cmd.arg(&self.data_dir), "stopping PostgreSQL")?;
        tracing::info!(data_dir = %self.data_dir.display(), "stopped the embedded Postgres server");
        Ok(true)
    }

    fn create_parent_dirs(&self) -> Result<(), ClusterError> {
        let parent = self.data_dir.parent().unwrap_or(Path::new("/"));
        let context = format!("cannot create {}", parent.display());
        if self.run_as.is_none() {
            return fs::create_dir_all(parent).map_err(io_error(context));
        }
        // As root, whatever our umask, new folders must be enterable by `postgres`.
        let missing: Vec<&Path> = parent.ancestors().take_while(|dir| !dir.exists()).collect();
        for dir in missing.into_iter().rev() {
            create_dir_if_missing(DirBuilder::new().mode(0o755), dir)?;
            fs::set_permissions(dir, Permissions::from_mode(0o755)).map_err(io_error(&context))?;
        }
        Ok(())
    }

    /// Takes the per-cluster file lock that serialises concurrent Firebreak processes.
    fn lock(&self) -> Result<File, ClusterError> {
        let path = sibling(&self.data_dir, "lock");
        let context = format!("cannot lock {}", path.display());
        let mut options = OpenOptions::new();
        let file = options.create(true).truncate(false).write(true).open(&path);
        let file = file.map_err(io_error(&context))?;
        tracing::debug!(path = %path.display(), "waiting for the embedded cluster lock");
        file.lock().map_err(io_error(context))?;
        Ok(file)
    }

    fn initdb(&self) -> Result<(), ClusterError> {
        if let Some(ids) = self.run_as {
            // `postgres` may not create folders in root's folder: prepare the directory for it.
            create_dir_if_missing(DirBuilder::new().mode(0o700), &self.data_dir)?;
            give_to(&self.data_dir, ids)?;
        }
        tracing::info!(data_dir = %self.data_dir.display(), "creating the embedded Postgres cluster");
        let mut cmd = self.command("initdb");
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-U", SUPERUSER, "-A", "trust"]);
        // The C locale keeps initdb independent of which locales the machine has installed.
        cmd.args(["--encoding=UTF8", "--no-locale"]);
        self.run(&mut cmd, "creating the PostgreSQL cluster with initdb")
    }

    fn start(&self) -> Result<(), ClusterError> {
        let log = sibling(&self.data_dir, "log");
        if let Some(ids) = self.run_as {
            // pg_ctl opens the log as `postgres`, in a folder only root may write to.
            let mut options = OpenOptions::new();
            let file = options.create(true).append(true).open(&log);
            file.map_err(io_error(format_args!("cannot create {}", log.display())))?;
            give_to(&log, ids)?;
        }
        tracing::info!(data_dir = %self.data_dir.display(), "starting the embedded Postgres server");
        let mut cmd = self.command("pg_ctl");
        cmd.args(["start", "-w", "-s", "-D"])
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log);
        cmd.arg("-o").arg(server_options(&self.data_dir));
        // The server outlives us: keep a Ctrl-C sent to our process group away from it.
        cmd.process_group(0);
        self.run(&mut cmd, "starting PostgreSQL")
            .map_err(|mut error| {
                if let ClusterError::Command { detail, .. } = &mut error {
                    let tail = log_tail(&log);
                    detail.push_str(&format!("\nLast lines of {}:\n{tail}", log.display()));
                }
                error
            })
    }

    /// `(running, pid)` according to `pg_ctl status`.
    fn server_state(&self) -> Result<(bool, Option<u32>), ClusterError> {
        if !self.data_dir.exists() {
            return Ok((false, None));
        }
        let mut cmd = self.command("pg_ctl");
        let output = cmd.arg("status").arg("-D").arg(&self.data_dir).output();
        let output = output.map_err(io_error("cannot run pg_ctl status"))?;
        match output.status.code() {
            Some(0) => Ok((true, parse_pid(&String::from_utf8_lossy(&output.stdout)))),
            // 3: not running; 4: no (initialised) data directory.
            Some(3 | 4) => Ok((false, None)),
            _ => Err(self.command_error("checking the PostgreSQL server", &output)),
        }
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

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        // Our stdout is the MCP protocol channel: children must never write to it.
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // `postgres` may be unable to enter our working directory (e.g. /root).
        cmd.current_dir("/");
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        cmd
    }

    /// Runs `cmd` to completion; a failure becomes an error with its output.
    fn run(&self, cmd: &mut Command, what: &str) -> Result<(), ClusterError> {
        tracing::debug!(command = ?cmd, "{what}");
        let output = cmd
            .output()
            .map_err(io_error(format_args!("{what}: cannot run")))?;
        match output.status.success() {
            true => Ok(()),
            false => Err(self.command_error(what, &output)),
        }
    }

    fn command_error(&self, what: &str, output: &Output) -> ClusterError {
        let text = [&output.stderr, &output.stdout].map(|bytes| String::from_utf8_lossy(bytes));
        let text = text.join("\n");
        let detail = format!("{}; output:\n{}", output.status, text.trim());
        ClusterError::Command {
            what: format!("{what} in {}", self.data_dir.display()),
            detail,
        }
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

/// Rejects paths that `pg_ctl` (which builds a shell command line) or a socket cannot take.
fn check_path(data_dir: &Path) -> Result<(), ClusterError> {
    let Some(text) = data_dir.to_str() else {
        return Err(data_dir_error(data_dir, "its path is not valid UTF-8"));
    };
    // pg_ctl pastes the path between double quotes into a `/bin/sh` command line.
    if text.contains(['"', '$', '`', '\\', '\n']) {
        let problem = "its path contains a character pg_ctl cannot quote (\" $ ` \\ or newline)";
        return Err(data_dir_error(data_dir, problem));
    }
    if data_dir.file_name().is_none() {
        return Err(data_dir_error(
            data_dir,
            "it must be a folder inside a parent folder",
        ));
    }
    let socket = data_dir.join(SOCKET_FILE);
    let len = socket.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        let (socket, max) = (socket.display(), MAX_SOCKET_PATH);
        let problem = format!("its socket path {socket} is {len} bytes, Unix allows {max}");
        return Err(data_dir_error(data_dir, problem));
    }
    Ok(())
}

/// The user to run the server as when we are root, else `None`.
fn unprivileged_user() -> Result<Option<(Uid, Gid)>, ClusterError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match User::from_name("postgres") {
        Ok(Some(user)) if !user.uid.is_root() => Ok(Some((user.uid, user.gid))),
        _ => Err(ClusterError::NoUnprivilegedUser),
    }
}

/// Every existing parent folder must be enterable by the user running the server.
fn check_reachable(data_dir: &Path, (uid, gid): (Uid, Gid)) -> Result<(), ClusterError> {
    for dir in data_dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(dir) else {
            continue;
        };
        let bit = match (meta.uid() == uid.as_raw(), meta.gid() == gid.as_raw()) {
            (true, _) => 0o100,
            (false, true) => 0o010,
            (false, false) => 0o001,
        };
        if meta.mode() & bit == 0 {
            let problem = format!(
                "the `postgres` user, which runs PostgreSQL because Firebreak runs as root, cannot \
                 enter {} (allow it with `chmod o+x`; the default /var/lib/firebreak/postgres works)",
                dir.display()
            );
            return Err(data_dir_error(data_dir, problem));
        }
    }
    Ok(())
}

fn create_dir_if_missing(builder: &DirBuilder, dir: &Path) -> Result<(), ClusterError> {
    match builder.create(dir) {
        Err(error) if error.kind() != io::ErrorKind::AlreadyExists => Err(io_error(format_args!(
            "cannot create {}",
            dir.display()
        ))(error)),
        _ => Ok(()),
    }
}

fn give_to(path: &Path, (uid, gid): (Uid, Gid)) -> Result<(), ClusterError> {
    let context = format!("cannot give {} to the postgres user", path.display());
    chown(path, Some(uid.as_raw()), Some(gid.as_raw())).map_err(io_error(context))
}

/// `<data_dir>.<ext>` next to the data directory (lock and log files).
fn sibling(data_dir: &Path, ext: &str) -> PathBuf {
    let mut name = data_dir.as_os_str().to_owned();
    name.push(format!(".{ext}"));
    PathBuf::from(name)
}

/// Server options for `pg_ctl -o`, which pastes them into a `/bin/sh` command line.
fn server_options(data_dir: &Path) -> String {
    // Shell single quotes around Postgres list quotes, so spaces and commas survive.
    let dir = data_dir.to_string_lossy().replace('\'', r"'\''");
    format!("-p {PORT} -k '\"{dir}\"' -c listen_addresses='' -c unix_socket_permissions=0700")
}

fn read_pg_version(data_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(data_dir.join("PG_VERSION")).ok()?;
    Some(text.trim().to_owned()).filter(|v| !v.is_empty())
}

fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_else(|error| format!("(unreadable: {error})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn parse_pid(status_output: &str) -> Option<u32> {
    let rest = status_output.split("(PID: ").nth(1)?;
    rest.split(')').next()?.trim().parse().ok()
}

/// The version in `postgres --version` output, e.g. `15.18`.
fn parse_version(output: &str) -> Option<String> {
    let rest = output.split("(PostgreSQL) ").nth(1)?;
    rest.split_whitespace().next().map(str::to_owned)
}

/// Major version as written in `PG_VERSION`: `15.18` → `15`, `9.6.24` → `9.6`, `17beta1` → `17`.
fn major_version(version: &str) -> String {
    let mut numbers = version.split(|c: char| !c.is_ascii_digit());
    let major = numbers.next().unwrap_or_default();
    match major.parse::<u32>() {
        Ok(n) if n < 10 => format!("{major}.{}", numbers.next().unwrap_or_default()),
        _ => major.to_owned(),
    }
}

/// Stdout of a short-lived helper program, if it succeeds.
fn program_output(program: &Path, arg: &str) -> Option<String> {
    let output = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_owned()).filter(|_| output.status.success())
}

fn programs_version(bin_dir: &Path) -> Option<String> {
    parse_version(&program_output(&bin_dir.join("postgres"), "--version")?)
}

/// First folder of server programs, of the same major version as an existing cluster.
fn pick_bin_dir(data_dir: &Path) -> Result<PathBuf, ClusterError> {
    let path_var = std::env::var_os("PATH");
    let pg_config = || program_output(Path::new("pg_config"), "--bindir").map(PathBuf::from);
    let mut candidates = candidate_dirs(path_var.as_deref(), pg_config, prefix_dirs);
    let first = candidates.next().ok_or(ClusterError::ProgramsNotFound)?;
    let Some(wanted) = read_pg_version(data_dir) else {
        return Ok(first);
    };
    let found = programs_version(&first).unwrap_or_else(|| "unknown".to_owned());
    if major_version(&found) == wanted {
        return Ok(first);
    }
    let same_major =
        |dir: &PathBuf| programs_version(dir).is_some_and(|v| major_version(&v) == wanted);
    candidates.find(same_major).ok_or_else(|| {
        let problem = format!(
            "it was created by PostgreSQL {wanted}, but the server programs found ({}) are version \
             {found}; install the PostgreSQL {wanted} server programs or upgrade it with pg_upgrade",
            first.display()
        );
        data_dir_error(data_dir, problem)
    })
}

/// Folders holding all server programs, in order: PATH, `pg_config --bindir`, usual prefixes.
/// Lazy, so `pg_config` runs and prefixes are listed only when PATH has no server programs.
fn candidate_dirs<'a>(
    path_var: Option<&'a OsStr>,
    pg_config: impl FnOnce() -> Option<PathBuf> + 'a,
    prefixes: impl FnOnce() -> Vec<PathBuf> + 'a,
) -> impl Iterator<Item = PathBuf> + 'a {
    let mut seen = Vec::new();
    path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .chain(std::iter::once_with(pg_config).flatten())
        .chain(std::iter::once_with(prefixes).flatten())
        .filter(|dir| has_server_programs(dir))
        .filter(move |dir| {
            let new = !seen.contains(dir);
            if new {
                seen.push(dir.clone());
            }
            new
        })
}

fn has_server_programs(dir: &Path) -> bool {
    SERVER_PROGRAMS.iter().all(|name| {
        fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
    })
}

/// Debian and Homebrew install locations (highest version first), then fixed prefixes.
fn prefix_dirs() -> Vec<PathBuf> {
    let mut dirs = versioned_bin_dirs(Path::new("/usr/lib/postgresql"), "");
    for homebrew in ["/opt/homebrew/opt", "/usr/local/opt"] {
        dirs.extend(versioned_bin_dirs(Path::new(homebrew), "postgresql@"));
    }
    dirs.extend(["/opt/homebrew/bin", "/usr/local/pgsql/bin"].map(PathBuf::from));
    dirs
}

/// `<parent>/<prefix><version>/bin` for every version found, highest first.
fn versioned_bin_dirs(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name.strip_prefix(prefix)?.split('.');
            let key: Option<Vec<u32>> = version.map(|part| part.parse().ok()).collect();
            Some((key?, entry.path().join("bin")))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failing test should panic")]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fb-cluster-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fake_bin(dir: PathBuf, programs: &[&str]) -> PathBuf {
        fs::create_dir_all(&dir).unwrap();
        for name in programs {
            fs::write(dir.join(name), "").unwrap();
            fs::set_permissions(dir.join(name), Permissions::from_mode(0o755)).unwrap();
        }
        dir
    }

    #[test]
    fn discovery_order_is_path_then_pg_config_then_prefixes() {
        let root = scratch("order");
        let partial = fake_bin(root.join("partial"), &["postgres", "pg_ctl"]);
        let [a, b, c, d] = ["a", "b", "c", "d"].map(|n| fake_bin(root.join(n), &SERVER_PROGRAMS));
        let path = std::env::join_paths([&partial, &a, &b]).unwrap();
        let prefixes = || vec![d.clone(), a.clone()];
        let found: Vec<_> = candidate_dirs(Some(&path), || Some(c.clone()), prefixes).collect();
        assert_eq!(found, [a.clone(), b, c, d]);
        // pg_config does not even run when PATH has the programs.
        let first = candidate_dirs(Some(&path), || panic!("pg_config ran"), Vec::new).next();
        assert_eq!(first, Some(a));
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn versioned_dirs_sort_highest_first() {
        let root = scratch("versions");
        for name in ["9.6", "15", "17", "13", "common", "postgresql@16"] {
            fs::create_dir(root.join(name)).unwrap();
        }
        let expected = ["17", "15", "13", "9.6"].map(|v| root.join(v).join("bin"));
        assert_eq!(versioned_bin_dirs(&root, ""), expected);
        let brew = [root.join("postgresql@16/bin")];
        assert_eq!(versioned_bin_dirs(&root, "postgresql@"), brew);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn parses_versions_and_pids() {
        let debian = parse_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n");
        assert_eq!(debian.as_deref(), Some("15.18"));
        assert_eq!(parse_version("garbage"), None);
        assert_eq!(major_version("15.18"), "15");
        assert_eq!(major_version("9.6.24"), "9.6");
        assert_eq!(major_version("17beta1"), "17");
        let status = "pg_ctl: server is running (PID: 4242)\n/usr/bin/postgres";
        assert_eq!(parse_pid(status), Some(4242));
    }

    #[test]
    fn data_dir_paths_are_checked() {
        assert!(check_path(Path::new("/var/lib/firebreak/postgres")).is_ok());
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(MAX_SOCKET_PATH)));
        let error = check_path(&long).unwrap_err().to_string();
        assert!(error.contains("Unix allows 10"), "{error}");
        assert!(check_path(Path::new("/tmp/a$b")).is_err());
        assert!(check_path(Path::new("/")).is_err());
    }

    #[test]
    fn server_options_quote_the_socket_dir() {
        let options = server_options(Path::new("/home/o'neil/Application Support/pg"));
        let quoted = r#"-k '"/home/o'\''neil/Application Support/pg"'"#;
        assert!(options.contains(quoted), "{options}");
        assert!(options.contains("listen_addresses=''"));
    }
}
