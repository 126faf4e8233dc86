//! A PostgreSQL primary and a streaming standby on loopback, for failover tests: two clusters
//! made with `initdb` and `pg_basebackup -R`, the standby synchronous when asked, and the
//! failover done as an operator's script would do it: the primary stopped in `immediate` mode
//! (a crash: no shutdown checkpoint, clients cut) and the standby promoted with `pg_ctl
//! promote`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::children::free_port;

/// The cluster superuser, as in the CI cluster.
const SUPERUSER: &str = "firebreak";

/// A primary and its standby; both are stopped and removed on drop.
pub(crate) struct PgPair {
    dir: PathBuf,
    bin: PathBuf,
    pub(crate) primary_port: u16,
    pub(crate) standby_port: u16,
}

impl PgPair {
    /// Starts a primary and a standby streaming from it; with `synchronous`, a commit waits
    /// until the standby has flushed it (`synchronous_standby_names = '*'`).
    pub(crate) async fn start(synchronous: bool) -> PgPair {
        let dir = std::env::temp_dir().join(format!(
            "firebreak-pg-pair-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        make_reachable(&dir);
        let pair = PgPair {
            bin: bin_dir(),
            primary_port: free_port(),
            standby_port: free_port(),
            dir,
        };
        pair.run(
            "initdb",
            &[
                "-D",
                &pair.data("primary"),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "--no-locale",
                "-E",
                "UTF8",
            ],
        );
        let sync = if synchronous { "*" } else { "" };
        pair.start_cluster(
            "primary",
            pair.primary_port,
            &[
                &format!("synchronous_standby_names='{sync}'"),
                "wal_level=replica",
                "max_wal_senders=5",
            ],
        );
        pair.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &pair.primary_port.to_string(),
                "-U",
                SUPERUSER,
                "-D",
                &pair.data("standby"),
                "-R",
                "-X",
                "stream",
            ],
        );
        pair.start_cluster("standby", pair.standby_port, &[]);
        pair.wait_for_streaming(synchronous).await;
        pair
    }

    /// The libpq-style URL naming both servers, writable one wanted.
    pub(crate) fn url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write",
            self.primary_port, self.standby_port
        )
    }

    /// Options reaching one server directly.
    pub(crate) fn options(&self, port: u16) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(port)
            .username(SUPERUSER)
            .database("postgres")
    }

    /// A connection to one server.
    pub(crate) async fn connect(&self, port: u16) -> PgConnection {
        PgConnection::connect_with(&self.options(port))
            .await
            .expect("connect to a server of the pair")
    }

    /// Crashes the primary: `pg_ctl stop -m immediate` (every process quits at once, nothing
    /// is flushed beyond what was committed).
    pub(crate) fn crash_primary(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data("primary"), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Promotes the standby and waits until it accepts writes.
    pub(crate) fn promote_standby(&self) {
        self.run("pg_ctl", &["-D", &self.data("standby"), "-w", "promote"]);
    }

    /// Stops the standby (a fast shutdown): a synchronous primary's commits then wait.
    pub(crate) fn stop_standby(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data("standby"), "-m", "fast", "-w", "stop"],
        );
    }

    /// Starts the stopped standby again; it reconnects to the primary and catches up.
    pub(crate) fn start_standby(&self) {
        self.start_cluster("standby", self.standby_port, &[]);
    }

    fn data(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn start_cluster(&self, name: &str, port: u16, settings: &[&str]) {
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100 -c fsync=on",
            self.dir.display()
        );
        for setting in settings {
            options.push_str(&format!(" -c {setting}"));
        }
        let log = self.dir.join(format!("{name}.log")).display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(name),
                "-l",
                &log,
                "-w",
                "-o",
                &options,
                "start",
            ],
        );
    }

    async fn wait_for_streaming(&self, synchronous: bool) {
        let wanted = if synchronous { "sync" } else { "async" };
        let mut primary = self.connect(self.primary_port).await;
        for _ in 0..300 {
            let state: Option<(String,)> = sqlx::query_as(
                "select sync_state from pg_stat_replication where state = 'streaming'",
            )
            .fetch_optional(&mut primary)
            .await
            .unwrap();
            if state.is_some_and(|(s,)| s == wanted) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the standby is not streaming ({wanted}) after 30 s: {}",
            self.logs()
        );
    }

    /// Both servers' logs, for failure messages.
    pub(crate) fn logs(&self) -> String {
        ["primary", "standby"]
            .iter()
            .map(|name| {
                let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")))
                    .unwrap_or_default();
                format!("--- {name}.log ---\n{log}")
            })
            .collect()
    }

    /// A server program, run as `postgres` when we are root (initdb and postgres refuse root).
    fn program(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if nix::unistd::geteuid().is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        }
    }

    /// Runs a server program and fails the test, with both logs, if it fails.
    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .program(program)
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.logs()
        );
    }
}

impl Drop for PgPair {
    fn drop(&mut self) {
        for name in ["primary", "standby"] {
            let data = self.data(name);
            if Path::new(&data).join("postmaster.pid").exists() {
                let _ = self
                    .program("pg_ctl")
                    .args(["-D", &data, "-m", "immediate", "-w", "stop"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The folder of the PostgreSQL server programs: where `initdb` on the PATH really lives, or
/// the newest under /usr/lib/postgresql.
fn bin_dir() -> PathBuf {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("initdb"))
            .find(|initdb| initdb.is_file())
            .and_then(|initdb| std::fs::canonicalize(initdb).ok())
            .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
    });
    let dir = from_path
        .filter(|dir| dir.join("pg_basebackup").is_file())
        .or_else(|| {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .filter(|bin| bin.join("pg_basebackup").is_file())
                .collect();
            dirs.sort();
            dirs.pop()
        });
    dir.expect("the PostgreSQL server programs (initdb, pg_ctl, pg_basebackup) are not installed")
}

/// The pair's folder must be the `postgres` user's when we are root.
fn make_reachable(dir: &Path) {
    if nix::unistd::geteuid().is_root() {
        let status = Command::new("chown")
            .args(["postgres"])
            .arg(dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown postgres {}", dir.display());
    }
}
