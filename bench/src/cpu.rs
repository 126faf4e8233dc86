//! Where the CPU goes during a concurrent run: the server, the benchmark's own clients and
//! PostgreSQL (the postmaster and all its children), from `/proc/<pid>/stat`. On a 2-core
//! machine they share the same cores, so this says what limits the throughput.

use serde::Serialize;
use sqlx::PgPool;

/// Linux reports CPU times in `USER_HZ` ticks, 100 per second on every mainstream architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// The processes whose CPU time is measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuProbe {
    server: u32,
    /// `None` when PostgreSQL runs on another machine (its processes are not in `/proc`).
    postmaster: Option<u32>,
}

/// CPU ticks used so far.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuSnapshot {
    server: u64,
    clients: u64,
    postgres: Option<u64>,
}

/// CPU milliseconds per call, by process.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CpuPerCall {
    pub(crate) server_ms: f64,
    pub(crate) bench_clients_ms: f64,
    pub(crate) postgres_ms: Option<f64>,
}

impl CpuProbe {
    /// Finds the postmaster as the parent of one of the pool's backends.
    pub(crate) async fn new(server: u32, pool: &PgPool) -> CpuProbe {
        let backend: Option<(i32,)> = sqlx::query_as("select pg_backend_pid()")
            .fetch_optional(pool)
            .await
            .ok()
            .flatten();
        let postmaster = backend
            .and_then(|(pid,)| u32::try_from(pid).ok())
            .and_then(stat)
            .map(|s| s.ppid);
        CpuProbe { server, postmaster }
    }

    /// The same PostgreSQL, another server process.
    pub(crate) fn with_server(self, server: u32) -> CpuProbe {
        CpuProbe { server, ..self }
    }

    pub(crate) fn snapshot(&self) -> CpuSnapshot {
        CpuSnapshot {
            server: stat(self.server).map_or(0, |s| s.ticks),
            clients: stat(std::process::id()).map_or(0, |s| s.ticks),
            postgres: self.postmaster.map(family_ticks),
        }
    }
}

impl CpuSnapshot {
    /// CPU per call between `self` and `later`.
    pub(crate) fn per_call(&self, later: &CpuSnapshot, calls: u64) -> CpuPerCall {
        let per_call = |ticks: u64| ticks as f64 / TICKS_PER_SECOND * 1000.0 / calls.max(1) as f64;
        CpuPerCall {
            server_ms: per_call(later.server.saturating_sub(self.server)),
            bench_clients_ms: per_call(later.clients.saturating_sub(self.clients)),
            postgres_ms: match (self.postgres, later.postgres) {
                (Some(before), Some(after)) => Some(per_call(after.saturating_sub(before))),
                _ => None,
            },
        }
    }
}

/// CPU seconds used between two snapshots, by process.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct CpuSeconds {
    pub(crate) server: f64,
    pub(crate) bench: f64,
    pub(crate) postgres: Option<f64>,
}

impl CpuSnapshot {
    /// CPU seconds used between `self` and `later`.
    pub(crate) fn seconds(&self, later: &CpuSnapshot) -> CpuSeconds {
        let seconds = |ticks: u64| ticks as f64 / TICKS_PER_SECOND;
        CpuSeconds {
            server: seconds(later.server.saturating_sub(self.server)),
            bench: seconds(later.clients.saturating_sub(self.clients)),
            postgres: match (self.postgres, later.postgres) {
                (Some(before), Some(after)) => Some(seconds(after.saturating_sub(before))),
                _ => None,
            },
        }
    }
}

/// CPU seconds process `pid` has used so far (`None` if it is gone).
pub(crate) fn process_seconds(pid: u32) -> Option<f64> {
    stat(pid).map(|s| s.ticks as f64 / TICKS_PER_SECOND)
}

struct Stat {
    ppid: u32,
    ticks: u64,
}

/// Parent and user + system ticks of a process (`None` if it is gone).
fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        ppid: u32::try_from(number(1)?).ok()?,
        ticks: number(11)? + number(12)?,
    })
}

/// Ticks of `parent` and its children that are alive now (PostgreSQL's backends and workers).
fn family_ticks(parent: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| stat(pid).map(|s| (pid, s)))
        .filter(|(pid, s)| *pid == parent || s.ppid == parent)
        .map(|(_, s)| s.ticks)
        .sum()
}
