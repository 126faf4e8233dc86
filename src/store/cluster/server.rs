//! Running `initdb` and `pg_ctl` (as the server's OS user, output captured, never on our stdout):
//! creating the cluster, and starting, stopping and querying its server.

use std::fs::{self, DirBuilder, OpenOptions};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::data_dir::{create_dir_if_missing, sibling};
use super::os_user::give_to;
use super::{ClusterError, EmbeddedCluster, PORT, SUPERUSER, io_error};

impl EmbeddedCluster {
    /// Creates the cluster with `initdb` (our superuser, trust authentication, UTF-8, C locale).
    pub(super) fn initdb(&self) -> Result<(), ClusterError> {
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

    /// Starts the server with `pg_ctl start`; a failure shows the end of the server log.
    pub(super) fn start_server(&self) -> Result<(), ClusterError> {
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
    pub(super) fn server_state(&self) -> Result<(bool, Option<u32>), ClusterError> {
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

    /// Stops the server with `pg_ctl stop -m fast`, waiting until it has exited.
    pub(super) fn stop_server(&self) -> Result<(), ClusterError> {
        let mut cmd = self.command("pg_ctl");
        cmd.args(["stop", "-m", "fast", "-w", "-s", "-D"]);
        self.run(cmd.arg(&self.data_dir), "stopping PostgreSQL")
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

/// Server options for `pg_ctl -o`, which pastes them into a `/bin/sh` command line.
pub(super) fn server_options(data_dir: &Path) -> String {
    // Shell single quotes around Postgres list quotes, so spaces and commas survive.
    let dir = data_dir.to_string_lossy().replace('\'', r"'\''");
    let buffers = shared_buffers_mib(memory_total_kib());
    format!(
        "-p {PORT} -k '\"{dir}\"' -c listen_addresses='' -c unix_socket_permissions=0700 \
         -c shared_buffers={buffers}MB"
    )
}

/// PostgreSQL's buffer cache for a machine with `total_kib` of memory (unknown: `None`): an
/// eighth of it, between PostgreSQL's default of 128 MiB and 1 GiB. The default is sized for
/// tiny machines; at a million incidents the incident table alone is ~900 MB, and lists and
/// searches that find their pages in shared buffers instead of the OS cache run several times
/// faster.
pub(super) fn shared_buffers_mib(total_kib: Option<u64>) -> u64 {
    const DEFAULT_MIB: u64 = 128;
    const MAX_MIB: u64 = 1024;
    total_kib.map_or(DEFAULT_MIB, |kib| {
        (kib / 1024 / 8).clamp(DEFAULT_MIB, MAX_MIB)
    })
}

/// `MemTotal` from `/proc/meminfo` (Linux), if readable.
fn memory_total_kib() -> Option<u64> {
    let meminfo = fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_else(|error| format!("(unreadable: {error})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

pub(super) fn parse_pid(status_output: &str) -> Option<u32> {
    let rest = status_output.split("(PID: ").nth(1)?;
    rest.split(')').next()?.trim().parse().ok()
}
