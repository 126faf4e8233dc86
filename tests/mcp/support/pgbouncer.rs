//! A real PgBouncer (Debian's 1.18, from `PGBOUNCER_BIN`) as a child process in transaction
//! pooling mode, in front of the test cluster: its own ini and user list in a temp dir, a free
//! loopback port, trust authentication, and a small pool per database and user so that many
//! clients really share few server connections.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;
use tokio::process::{Child, Command};

use crate::support::children::{Captured, PATIENCE, free_port};

/// Server connections per database and user: few, so that multiplexing is real.
pub(crate) const POOL_SIZE: u32 = 4;

/// A running PgBouncer, stopped (SIGKILL) and its directory removed when dropped.
pub(crate) struct PgBouncer {
    _child: Child,
    log: Captured,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PgBouncer {
    /// Starts PgBouncer in front of the server `behind` reaches (its socket or host and port,
    /// and its user), with `extra` lines added to its `[pgbouncer]` section; waits until it
    /// accepts connections.
    pub(crate) async fn start(behind: &PgConnectOptions, extra: &str) -> PgBouncer {
        let binary = std::env::var("PGBOUNCER_BIN").expect(
            "PGBOUNCER_BIN is not set: `source .ci/signal-clients.sh` installs PgBouncer and \
             exports it",
        );
        let dir = tempfile::Builder::new()
            .prefix("fb-pgbouncer")
            .tempdir_in(std::env::temp_dir())
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = free_port();
        let server = server_address(behind);
        let user = behind.get_username();
        let ini = format!(
            "[databases]\n\
             * = {server}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {users}\n\
             pool_mode = transaction\n\
             default_pool_size = {POOL_SIZE}\n\
             min_pool_size = 0\n\
             reserve_pool_size = 0\n\
             max_client_conn = 1000\n\
             max_db_connections = {POOL_SIZE}\n\
             {extra}\n",
            users = dir.path().join("users.txt").display(),
        );
        std::fs::write(dir.path().join("pgbouncer.ini"), ini).unwrap();
        std::fs::write(dir.path().join("users.txt"), format!("\"{user}\" \"\"\n")).unwrap();
        for file in ["pgbouncer.ini", "users.txt"] {
            let path = dir.path().join(file);
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let mut command = Command::new(binary);
        // PgBouncer refuses to run as root; `-u` switches user in the same process, so
        // kill_on_drop still reaches it.
        if nix::unistd::geteuid().is_root() {
            command.args(["-u", "postgres"]);
        }
        command
            .arg(dir.path().join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn pgbouncer");
        let log = Captured::collect(child.stderr.take().unwrap());
        let bouncer = PgBouncer {
            _child: child,
            log,
            port,
            _dir: dir,
        };
        bouncer.wait_until_listening().await;
        bouncer
    }

    async fn wait_until_listening(&self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "pgbouncer did not listen within {PATIENCE:?}:\n{}",
                self.log.text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Options to reach the database `direct` names (as its user) through this PgBouncer.
    pub(crate) fn options(&self, direct: &PgConnectOptions) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(self.port)
            .username(direct.get_username())
            .database(direct.get_database().unwrap())
            .ssl_mode(sqlx::postgres::PgSslMode::Disable)
    }

    /// A URL for the database `direct` names through this PgBouncer (for child processes).
    pub(crate) fn url(&self, direct: &PgConnectOptions) -> String {
        self.options(direct).to_url_lossy().to_string()
    }

    /// What PgBouncer wrote to stderr so far (its log), for failure messages.
    pub(crate) fn log(&self) -> String {
        self.log.text()
    }
}

/// The `[databases]` connection string for the server behind `options`: its Unix socket
/// directory or host, and port.
fn server_address(options: &PgConnectOptions) -> String {
    let host = match options.get_socket() {
        Some(dir) => dir.display().to_string(),
        None => options.get_host().to_owned(),
    };
    format!("host={host} port={}", options.get_port())
}
