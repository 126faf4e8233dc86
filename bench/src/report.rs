//! The results: one structure, written as JSON and as markdown tables.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cpu::CpuPerCall;
use crate::database::Machine;
use crate::history::Evaluation;
use crate::measure::Stats;
use crate::notifications::NotificationsResult;
use crate::plans::{Plan, Selectivity};
use crate::replicas::ReplicaResult;
use crate::storm::StormResult;

/// Everything a run measured, with what it ran on.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) command: String,
    pub(crate) revision: String,
    pub(crate) finished_at: String,
    pub(crate) machine: Machine,
    pub(crate) incidents: i64,
    pub(crate) seed_reused: bool,
    pub(crate) seed_seconds: f64,
    pub(crate) durability: String,
    pub(crate) warmup_seconds: f64,
    pub(crate) seconds_per_tool: f64,
    pub(crate) server_pool_size: String,
    pub(crate) selectivity: Vec<Selectivity>,
    pub(crate) tools: Vec<ToolResult>,
    pub(crate) concurrency: Vec<MixResult>,
    /// The MCP servers' memory (none with `--storm`).
    pub(crate) memory: Option<MemoryResult>,
    pub(crate) plans: Vec<Plan>,
    /// Similar incidents against the seed's ground truth (not with `--storm`).
    pub(crate) evaluation: Option<Evaluation>,
    /// The alert storm (not with `--history-only` or `--evaluation-only`).
    pub(crate) storm: Option<StormResult>,
    /// Notifications: write cost and delivery (`--notifications-only`).
    pub(crate) notifications: Option<NotificationsResult>,
    /// The mix through nginx in front of 1, 2, 3… replicas (`--replicas`).
    pub(crate) replicas: Vec<ReplicaResult>,
    pub(crate) errors: u64,
}

/// The lines of the per-tool table that read history, repeated in the History section.
const HISTORY_TOOLS: [&str; 4] = [
    "list_incidents (text)",
    "find_similar_incidents",
    "incident_metrics (90 days)",
    "incident_metrics (5 years by month)",
];

/// One tool over every path.
#[derive(Debug, Serialize)]
pub(crate) struct ToolResult {
    pub(crate) tool: String,
    /// Which floor the ratios divide by.
    pub(crate) floor: &'static str,
    pub(crate) use_case_floor: Stats,
    pub(crate) sql_floor: Option<Stats>,
    /// `get_incident` only: the incident row and its 20 newest entries in one statement.
    pub(crate) minimal_brief: Option<Stats>,
    /// `list_incidents` with text only: the statement before migration 0011, which ranked
    /// every match.
    pub(crate) every_match: Option<Stats>,
    /// The lean client (raw JSON-RPC): what the server costs.
    pub(crate) stdio: Stats,
    pub(crate) http: Stats,
    /// The rmcp client: what an agent built on rmcp pays.
    pub(crate) stdio_rmcp: Stats,
    pub(crate) http_rmcp: Stats,
    pub(crate) stdio_ratio: f64,
    pub(crate) http_ratio: f64,
    pub(crate) stdio_rmcp_ratio: f64,
    pub(crate) http_rmcp_ratio: f64,
}

/// One concurrency level of the HTTP mix.
#[derive(Debug, Serialize)]
pub(crate) struct MixResult {
    pub(crate) clients: usize,
    /// Lean HTTP clients, rmcp clients, or the mix floor.
    pub(crate) client: &'static str,
    pub(crate) stats: Stats,
    /// CPU milliseconds per call during the measured window, by process.
    pub(crate) cpu: CpuPerCall,
    pub(crate) max_rss_mib: f64,
}

/// The servers' resident memory.
#[derive(Debug, Serialize)]
pub(crate) struct MemoryResult {
    pub(crate) stdio_peak_mib: f64,
    pub(crate) http_peak_mib: f64,
    pub(crate) http_max_sampled_rss_mib: f64,
}

/// The floor a tool's ratios divide by, named, and its p50: the SQL floor where there is one
/// (reads); a write's use case is its statements plus microseconds of domain code, so that is
/// its floor.
pub(crate) fn floor(sql: Option<&Stats>, use_case: &Stats) -> (&'static str, f64) {
    match sql {
        Some(sql) => ("SQL floor", sql.p50_ms),
        None => ("use-case floor", use_case.p50_ms),
    }
}

fn ratio(value: f64, floor: f64) -> String {
    if floor > 0.0 {
        format!("{:.2}×", value / floor)
    } else {
        "–".to_owned()
    }
}

fn row(out: &mut String, tool: &str, path: &str, stats: &Stats, floor: f64) {
    let _ = writeln!(
        out,
        "| {tool} | {path} | {:.3} | {:.3} | {:.3} | {:.0} | {} | {} |",
        stats.p50_ms,
        stats.p90_ms,
        stats.p99_ms,
        stats.calls_per_second,
        ratio(stats.p50_ms, floor),
        stats.errors
    );
}

impl Report {
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let is_storm_only = self.tools.is_empty() && self.concurrency.is_empty();
        if !self.replicas.is_empty() {
            let _ = writeln!(
                out,
                "# firebreak-bench: replicas behind nginx ({} incidents seeded)\n",
                self.incidents
            );
        } else if self.notifications.is_some() {
            let _ = writeln!(
                out,
                "# firebreak-bench: notifications ({} incidents seeded)\n",
                self.incidents
            );
        } else if is_storm_only && self.evaluation.is_none() {
            let _ = writeln!(
                out,
                "# firebreak-bench: alert storm ({} incidents seeded)\n",
                self.incidents
            );
        } else if is_storm_only {
            let _ = writeln!(
                out,
                "# firebreak-bench: similar incidents evaluation ({} incidents)\n",
                self.incidents
            );
        } else {
            let _ = writeln!(out, "# firebreak-bench: {} incidents\n", self.incidents);
        }
        let _ = writeln!(out, "- command: `{}`", self.command);
        let _ = writeln!(out, "- revision: {}", self.revision);
        let _ = writeln!(out, "- finished: {}", self.finished_at);
        let _ = writeln!(
            out,
            "- machine: {} cores, {}, {} GiB RAM, {}",
            m.cores, m.cpu, m.memory_gib, m.os
        );
        let _ = writeln!(
            out,
            "- PostgreSQL {} ({}); synchronous_commit = {}, fsync = {}, shared_buffers = {}",
            m.postgres, m.database_server, m.synchronous_commit, m.fsync, m.shared_buffers
        );
        let _ = writeln!(out, "- durability: {}", self.durability);
        let _ = writeln!(
            out,
            "- seed: {} ({:.1} s to seed)",
            if self.seed_reused { "reused" } else { "fresh" },
            self.seed_seconds
        );
        if !is_storm_only {
            let _ = writeln!(
                out,
                "- each phase: {:.1} s warm-up, then {:.1} s measured, one client in a closed \
                 loop; server pool: {}",
                self.warmup_seconds, self.seconds_per_tool, self.server_pool_size
            );
        }
        for s in &self.selectivity {
            let _ = writeln!(
                out,
                "- {}: {} sample queries match {:.0} incidents on average (median {}, max {})",
                s.query, s.samples, s.mean, s.median, s.max
            );
        }
        if !self.tools.is_empty() {
            self.tools_markdown(&mut out);
        }
        if let Some(evaluation) = &self.evaluation {
            evaluation.markdown(&mut out);
        }
        self.history_markdown(&mut out);
        if !self.concurrency.is_empty() {
            self.mix_markdown(&mut out);
        }
        if let Some(mem) = &self.memory {
            let _ = writeln!(
                out,
                "\n## Server memory\n\n\
                 Peak resident set (`VmHWM`) over the whole run: stdio server {:.1} MiB, HTTP \
                 server {:.1} MiB; largest `VmRSS` sampled every 50 ms during the concurrent \
                 runs: {:.1} MiB.",
                mem.stdio_peak_mib, mem.http_peak_mib, mem.http_max_sampled_rss_mib
            );
        }
        for plan in &self.plans {
            let _ = writeln!(
                out,
                "\n### Plan: {}\n\nParameters: {}\n\n```text\n{}\n```",
                plan.name, plan.parameters, plan.plan
            );
        }
        if let Some(storm) = &self.storm {
            storm.markdown(&mut out, &self.machine.synchronous_commit);
        }
        if let Some(notifications) = &self.notifications {
            notifications.markdown(&mut out);
        }
        if !self.replicas.is_empty() {
            crate::replicas::markdown(&self.replicas, &mut out);
        }
        let _ = writeln!(out, "\nErrors: {}", self.errors);
        out
    }

    fn tools_markdown(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n## One client, per tool\n\n\
             *use-case floor*: the same use case called in-process through `firebreak::app::App` \
             (its SQL round trips plus domain code; no MCP, JSON or transport). *SQL floor* \
             (reads): the store's own statement for the call, sent with sqlx, rows not decoded. \
             × floor = p50 ÷ the SQL floor's p50 where there is one, else ÷ the use-case \
             floor's p50.\n\n\
             | tool | path | p50 ms | p90 ms | p99 ms | calls/s | × floor | errors |\n\
             |---|---|---:|---:|---:|---:|---:|---:|"
        );
        for t in &self.tools {
            let (_, floor) = floor(t.sql_floor.as_ref(), &t.use_case_floor);
            row(out, &t.tool, "use-case floor", &t.use_case_floor, floor);
            if let Some(sql) = &t.sql_floor {
                row(out, &t.tool, "SQL floor", sql, floor);
            }
            if let Some(minimal) = &t.minimal_brief {
                row(out, &t.tool, "minimal brief", minimal, floor);
            }
            if let Some(every) = &t.every_match {
                row(
                    out,
                    &t.tool,
                    "SQL, every match ranked (before)",
                    every,
                    floor,
                );
            }
            row(out, &t.tool, "stdio (lean)", &t.stdio, floor);
            row(out, &t.tool, "HTTP (lean)", &t.http, floor);
            row(out, &t.tool, "stdio (rmcp)", &t.stdio_rmcp, floor);
            row(out, &t.tool, "HTTP (rmcp)", &t.http_rmcp, floor);
        }
        let _ = writeln!(
            out,
            "\n## Tool call p50 against the floor\n\n\
             Lean clients (raw JSON-RPC) measure the server; rmcp clients add the client's own \
             work.\n\n\
             | tool | SQL floor p50 | use-case floor p50 | stdio p50 | stdio ÷ floor | HTTP p50 | HTTP ÷ floor | rmcp stdio ÷ floor | rmcp HTTP ÷ floor | floor |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for t in &self.tools {
            let sql = t
                .sql_floor
                .as_ref()
                .map_or_else(|| "–".to_owned(), |s| format!("{:.3}", s.p50_ms));
            let _ = writeln!(
                out,
                "| {} | {sql} | {:.3} | {:.3} | {:.2}× | {:.3} | {:.2}× | {:.2}× | {:.2}× | {} |",
                t.tool,
                t.use_case_floor.p50_ms,
                t.stdio.p50_ms,
                t.stdio_ratio,
                t.http.p50_ms,
                t.http_ratio,
                t.stdio_rmcp_ratio,
                t.http_rmcp_ratio,
                t.floor
            );
        }
    }

    /// p50 / p99 of the tools that read history, on every path.
    fn history_markdown(&self, out: &mut String) {
        let tools: Vec<&ToolResult> = self
            .tools
            .iter()
            .filter(|t| HISTORY_TOOLS.contains(&t.tool.as_str()))
            .collect();
        if tools.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "\n## History: latency\n\n\
             One client, p50 / p99 in ms (the same phases as the per-tool table). Text search \
             ranks the newest 200 matches; `find_similar_incidents` by incident (3 in 4) or by \
             description with a service and an alert name; `incident_metrics` over the default \
             90 days, and over five years grouped by month.\n\n\
             | tool | use-case floor | SQL floor | SQL, every match ranked (before) | stdio (lean) | HTTP (lean) | stdio (rmcp) | HTTP (rmcp) | errors |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let cell = |s: &Stats| format!("{:.2} / {:.2}", s.p50_ms, s.p99_ms);
        for t in tools {
            let paths = [
                &t.use_case_floor,
                &t.stdio,
                &t.http,
                &t.stdio_rmcp,
                &t.http_rmcp,
            ];
            let errors: u64 = paths
                .iter()
                .chain(&t.sql_floor.as_ref())
                .chain(&t.every_match.as_ref())
                .map(|s| s.errors)
                .sum();
            let optional = |s: &Option<Stats>| s.as_ref().map_or_else(|| "–".to_owned(), cell);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {errors} |",
                t.tool,
                cell(&t.use_case_floor),
                optional(&t.sql_floor),
                optional(&t.every_match),
                cell(&t.stdio),
                cell(&t.http),
                cell(&t.stdio_rmcp),
                cell(&t.http_rmcp)
            );
        }
    }

    fn mix_markdown(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n## Concurrent HTTP clients, 80% reads / 20% writes\n\n\
             Mix: get_incident 50%, list_incidents 30% (filters 20, text 10), \
             add_timeline_entry 10%, update_incident 7%, declare_incident 3%. Each client has its \
             own connection and runs a closed loop: lean HTTP clients (raw JSON-RPC), rmcp \
             clients, or the mix floor (the reads' SQL floor statements and the writes' use \
             cases, in-process, on pools of 10 connections like the server's: the same \
             statements without MCP). CPU ms per \
             call: CPU time used during the measured window ÷ calls, for the server, the \
             benchmark's own process (its clients, or the floor's work) and PostgreSQL (all its \
             processes).\n\n\
             | clients | client | calls/s | p50 ms | p90 ms | p99 ms | errors | max RSS MiB | CPU ms/call: server | bench | PostgreSQL |\n\
             |---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for c in &self.concurrency {
            let postgres = c
                .cpu
                .postgres_ms
                .map_or_else(|| "n/a".to_owned(), |ms| format!("{ms:.2}"));
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {} | {:.1} | {:.2} | {:.2} | {postgres} |",
                c.clients,
                c.client,
                c.stats.calls_per_second,
                c.stats.p50_ms,
                c.stats.p90_ms,
                c.stats.p99_ms,
                c.stats.errors,
                c.max_rss_mib,
                c.cpu.server_ms,
                c.cpu.bench_clients_ms
            );
        }
    }
}
