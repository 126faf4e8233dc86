//! `firebreak-bench`: what a Firebreak tool call costs over stdio and Streamable HTTP, next to
//! what the same use case costs in-process (the floor), on a seeded database.
//!
//! It seeds N incidents (reused when the size matches), starts the real `firebreak` binary as
//! `serve` (stdio) and `serve --http`, drives both with a real rmcp client, measures every tool
//! of the reference workload with one client and the HTTP read/write mix with 1–64 clients,
//! then an alert storm (Alertmanager webhooks, batched and single, checked against the
//! database afterwards), and writes the results as markdown and JSON. Before the phases it
//! scores `find_similar_incidents` against the seed's ground truth (`history`). See
//! `docs/benchmarks.md`.

mod corpus;
mod cpu;
mod database;
mod floor;
mod history;
mod lean;
mod measure;
mod mix;
mod notifications;
mod plans;
mod replicas;
mod report;
mod seed;
mod servers;
mod storm;
mod workload;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use firebreak::app::App;
use sqlx::{Connection, PgConnection};

use crate::floor::{AppCaller, FloorCaller, MinimalBriefCaller, RankEveryMatchCaller, SqlCaller};
use crate::lean::{LeanHttp, LeanStdio};
use crate::measure::{Caller, Timing, phase};
use crate::mix::Clients;
use crate::report::{MemoryResult, Report, ToolResult};
use crate::servers::{HttpServer, McpCaller, memory, mib};
use crate::storm::StormOptions;
use crate::workload::{Tool, Workload, open_targets};

/// Connections of the in-process floor; the same as the server's default pool.
const POOL_SIZE: u32 = 10;

/// Measures Firebreak tool calls over stdio and HTTP against the in-process floor.
#[derive(Debug, Parser)]
#[command(name = "firebreak-bench", version)]
struct Options {
    /// Incidents to seed [default: 100000, or 10000 with --quick].
    #[arg(long)]
    incidents: Option<i64>,
    /// Quick mode for CI: 10k incidents, 1 s per phase, 1, 4 and 16 clients, a small storm.
    #[arg(long)]
    quick: bool,
    /// PostgreSQL server to use (any database on it); without it, an embedded cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Data directory of the embedded cluster [default: firebreak-bench-UID/postgres in the
    /// system temp dir].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// A URL the server children use instead of the bench database's own, e.g. the same
    /// database through PgBouncer (the bench seeds and reads it directly).
    #[arg(long, hide_env_values = true)]
    server_database_url: Option<String>,
    /// `--db-pooler` for the server children (`none` | `transaction`); with `transaction`
    /// they get the bench database's direct URL as their `--direct-database-url`.
    #[arg(long, default_value = "none", value_parser = ["none", "transaction"])]
    server_db_pooler: String,
    /// The bench database, created if missing.
    #[arg(long, default_value = "firebreak_bench")]
    database: String,
    /// Measured seconds per tool and path, and per concurrency level [default: 5, quick: 1].
    #[arg(long)]
    seconds_per_tool: Option<f64>,
    /// Concurrent HTTP clients to measure [default: 1,4,16,64; quick: 1,4,16].
    #[arg(long, value_delimiter = ',')]
    clients: Option<Vec<usize>>,
    /// The `firebreak` binary [default: next to this executable].
    #[arg(long)]
    firebreak: Option<PathBuf>,
    /// Skip the one-client phases and run only the concurrent mix (for profiling the server).
    #[arg(long)]
    mix_only: bool,
    /// Run only what reads history: the similar-incidents evaluation, then `list_incidents`
    /// (text, and filters to compare), `find_similar_incidents` and `incident_metrics` on
    /// every path (no mix, no storm).
    #[arg(long, conflicts_with_all = ["mix_only", "storm", "evaluation_only", "notifications_only"])]
    history_only: bool,
    /// Run only the similar-incidents evaluation (precision and recall at 5, in-process; no
    /// server is started).
    #[arg(long, conflicts_with_all = ["mix_only", "storm", "notifications_only"])]
    evaluation_only: bool,
    /// Run only the notifications phases: what an outbox event costs a write (servers without
    /// and with a webhook target, alternating), then delivery to a local receiver at a paced
    /// rate and a burst.
    #[arg(long, conflicts_with_all = ["mix_only", "storm"])]
    notifications_only: bool,
    /// Rounds of the notifications write comparison (one server without, one with, each).
    #[arg(long, default_value_t = 4)]
    notification_rounds: usize,
    /// One-client calls per write and configuration, over all rounds.
    #[arg(long, default_value_t = 2000)]
    notification_calls: usize,
    /// Seconds of the 16-client phase per round and configuration.
    #[arg(long, default_value_t = 3.0)]
    notification_concurrent_seconds: f64,
    /// Events per second of the paced delivery load.
    #[arg(long, default_value_t = 200.0)]
    notification_rate: f64,
    /// Seconds of the paced delivery load.
    #[arg(long, default_value_t = 30.0)]
    notification_seconds: f64,
    /// Outbox rows inserted at once for the drain measurement.
    #[arg(long, default_value_t = 10_000)]
    notification_burst: i64,
    /// Directory for bench.md, bench.json and the server logs.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Set `synchronous_commit = off` on the bench database (commits no longer wait for the
    /// disk; results say so). Default: durable commits.
    #[arg(long)]
    synchronous_commit_off: bool,
    /// Run only the alert storm (Alertmanager webhooks to `/hooks/alertmanager/storm`), not
    /// the MCP phases. Every other run ends with it.
    #[arg(long)]
    storm: bool,
    /// Seconds per storm phase [default: 10; --quick: 20 batches and 50 singles instead,
    /// correctness only].
    #[arg(long)]
    storm_seconds: Option<f64>,
    /// Storm clients posting batches of 50 alerts.
    #[arg(long, default_value_t = 8)]
    storm_batch_clients: usize,
    /// Storm clients posting one alert per request.
    #[arg(long, default_value_t = 16)]
    storm_single_clients: usize,
    /// Run only the mix through nginx in front of this many `serve --http` replicas, one
    /// count after another (e.g. 1,2,3), with each of --clients [default here: 16].
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["mix_only", "storm", "history_only", "evaluation_only", "notifications_only"])]
    replicas: Option<Vec<usize>>,
    /// The nginx binary for --replicas.
    #[arg(long, env = "NGINX_BIN", default_value = "/usr/sbin/nginx")]
    nginx: PathBuf,
}

/// Seconds per storm phase outside `--quick`.
const DEFAULT_STORM_SECONDS: f64 = 10.0;

// The same runtime as the server (multi-threaded, one worker per core), so the in-process
// floor pays the same task wake-ups as the server does.
#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    // On Ctrl-C or SIGTERM the run is dropped, and with it the servers it started (they are
    // spawned with `kill_on_drop`): an interrupted bench leaves no server holding connections.
    let result = tokio::select! {
        result = run(options) => result,
        signal = interrupted() => {
            say(&format!("firebreak-bench: interrupted by {signal}; servers stopped"));
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(errors) => {
            say(&format!(
                "firebreak-bench: {errors} calls failed (see the report)"
            ));
            ExitCode::FAILURE
        }
        Err(err) => {
            say(&format!("firebreak-bench: {err:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Waits for Ctrl-C or SIGTERM and names it.
async fn interrupted() -> &'static str {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = tokio::signal::ctrl_c().await;
        return "Ctrl-C";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    }
}

/// Progress and errors go to stderr; stdout carries the report.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The git revision of the working directory, and whether it has uncommitted changes.
fn revision() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    // Uncommitted changes to the benchmark itself or the docs do not change what is measured.
    let product = [
        "status",
        "--porcelain",
        "--",
        "src",
        "migrations",
        "Cargo.lock",
    ];
    match (git(&["rev-parse", "--short", "HEAD"]), git(&product)) {
        (Some(head), Some(changes)) if changes.is_empty() => head,
        (Some(head), Some(_)) => format!("{head} with uncommitted changes to the product"),
        _ => "unknown (not run from a git checkout)".to_owned(),
    }
}

async fn run(options: Options) -> anyhow::Result<u64> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let incidents = options
        .incidents
        .unwrap_or(if options.quick { 10_000 } else { 100_000 });
    if incidents < 100 {
        bail!("--incidents must be at least 100");
    }
    let seconds = options
        .seconds_per_tool
        .unwrap_or(if options.quick { 1.0 } else { 5.0 });
    let timing = Timing {
        warmup: Duration::from_secs_f64((seconds / 5.0).clamp(0.2, 1.0)),
        measure: Duration::from_secs_f64(seconds),
    };
    let levels = options.clients.clone().unwrap_or_else(|| {
        if options.quick {
            vec![1, 4, 16]
        } else {
            vec![1, 4, 16, 64]
        }
    });
    if levels.contains(&0) {
        bail!("--clients must be positive");
    }
    let storm_options = StormOptions {
        batch_clients: options.storm_batch_clients,
        single_clients: options.storm_single_clients,
        seconds: options
            .storm_seconds
            .or((!options.quick).then_some(DEFAULT_STORM_SECONDS)),
    };
    if storm_options.batch_clients == 0
        || storm_options.single_clients == 0
        || storm_options.seconds.is_some_and(|s| s <= 0.0)
    {
        bail!("--storm-batch-clients, --storm-single-clients and --storm-seconds must be positive");
    }
    let firebreak = match &options.firebreak {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("firebreak"),
    };
    if !firebreak.is_file() && !options.evaluation_only {
        bail!(
            "the firebreak binary {} does not exist: build it first (`cargo build --release`, \
             or `cargo build` for a debug run) or pass --firebreak PATH",
            firebreak.display()
        );
    }
    let logs = match &options.out {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("firebreak-bench-{}", nix::unistd::geteuid())),
    };
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;

    say(&format!("preparing database {} …", options.database));
    let database_url = options
        .database_url
        .as_deref()
        .filter(|u| !u.trim().is_empty());
    let mut db = database::prepare(
        database_url,
        options.data_dir.clone(),
        &options.database,
        options.synchronous_commit_off,
    )
    .await?;
    if options.server_db_pooler == "transaction" {
        servers::set_server_env(vec![
            ("FIREBREAK_DB_POOLER".into(), "transaction".into()),
            ("FIREBREAK_DIRECT_DATABASE_URL".into(), db.url.clone()),
        ]);
    }
    if let Some(url) = &options.server_database_url {
        db.url = url.clone();
    }
    let mut conn = PgConnection::connect_with(&db.options).await?;
    say(&format!(
        "seeding {incidents} incidents (reused if already seeded) …"
    ));
    let seed = seed::ensure(&mut conn, incidents).await?;
    conn.close().await?;
    let machine = database::machine(&db).await?;
    let pool = database::pool(&db.options, POOL_SIZE);

    // First, on the data as seeded: the phases change open incidents and declare new ones.
    let notifications = if options.notifications_only {
        if options.notification_rate <= 0.0
            || options.notification_seconds <= 0.0
            || options.notification_concurrent_seconds <= 0.0
            || options.notification_burst <= 0
        {
            bail!("the --notification-* rates, seconds and burst must be positive");
        }
        Some(
            notifications::run(
                &firebreak,
                &db,
                &pool,
                &logs,
                seed.incidents,
                notifications::NotificationOptions {
                    rounds: options.notification_rounds,
                    calls: options.notification_calls,
                    concurrent_seconds: options.notification_concurrent_seconds,
                    rate: options.notification_rate,
                    seconds: options.notification_seconds,
                    burst: options.notification_burst,
                },
            )
            .await?,
        )
    } else {
        None
    };
    let replicas = match &options.replicas {
        Some(counts) => {
            if counts.contains(&0) {
                bail!("--replicas must be positive counts, e.g. 1,2,3");
            }
            let setup = replicas::Setup {
                firebreak: &firebreak,
                nginx: &options.nginx,
                db: &db,
                pool: &pool,
                logs: &logs,
                seed: &seed,
                timing,
                tag: &format!("{:x}", chrono::Utc::now().timestamp()),
            };
            let mut results = Vec::new();
            for &clients in options.clients.as_deref().unwrap_or(&[16]) {
                results.extend(replicas::run(&setup, counts, clients).await?);
            }
            results
        }
        None => Vec::new(),
    };
    let replicas_only = options.replicas.is_some();
    let evaluation =
        if options.storm || options.mix_only || options.notifications_only || replicas_only {
            None
        } else {
            say(&format!(
                "evaluating find_similar_incidents on {incidents} incidents …"
            ));
            let app = App::from_pool(firebreak::store::connect(db.options.clone(), 2, None));
            let evaluation = history::evaluate(&app, &pool, seed.incidents).await?;
            say(&format!(
                "  {} queries, {:.1} relevant each: by incident precision@5 {:.3} recall@5 {:.3}; \
             by description precision@5 {:.3} recall@5 {:.3}",
                evaluation.queries,
                evaluation.relevant_mean,
                evaluation.by_incident.precision_at_5,
                evaluation.by_incident.recall_at_5,
                evaluation.by_description.precision_at_5,
                evaluation.by_description.recall_at_5
            ));
            Some(evaluation)
        };
    let mcp = if options.storm
        || options.evaluation_only
        || options.notifications_only
        || replicas_only
    {
        McpResults::default()
    } else {
        mcp_phases(
            &options, &firebreak, &db, &pool, &logs, seed, timing, &levels,
        )
        .await?
    };
    let storm = if options.history_only
        || options.evaluation_only
        || options.notifications_only
        || replicas_only
    {
        None
    } else {
        Some(
            storm::run(
                &firebreak,
                &db,
                &options.database,
                &pool,
                &logs,
                storm_options,
            )
            .await?,
        )
    };

    let errors = mcp
        .tools
        .iter()
        .flat_map(|t| {
            [
                &t.use_case_floor,
                &t.stdio,
                &t.http,
                &t.stdio_rmcp,
                &t.http_rmcp,
            ]
            .into_iter()
            .chain(&t.sql_floor)
            .chain(&t.minimal_brief)
            .chain(&t.every_match)
        })
        .chain(mcp.concurrency.iter().map(|c| &c.stats))
        .map(|s| s.errors)
        .sum::<u64>()
        + evaluation.as_ref().map_or(0, history::Evaluation::errors)
        + storm.as_ref().map_or(0, |s| s.errors)
        + notifications.as_ref().map_or(0, |n| n.errors)
        + replicas.iter().map(|r| r.stats.errors).sum::<u64>();
    let report = Report {
        command,
        revision: revision(),
        finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        durability: if options.synchronous_commit_off {
            "synchronous_commit = off on the bench database (NOT durable: a crash may lose the \
             last commits)"
                .to_owned()
        } else {
            "durable (synchronous_commit as configured on the server)".to_owned()
        },
        machine,
        incidents,
        seed_reused: !seed.is_fresh,
        seed_seconds: seed.seconds,
        warmup_seconds: timing.warmup.as_secs_f64(),
        seconds_per_tool: seconds,
        server_pool_size: "10 connections (Firebreak's default)".to_owned(),
        selectivity: mcp.selectivity,
        tools: mcp.tools,
        concurrency: mcp.concurrency,
        memory: mcp.memory,
        plans: mcp.plans,
        evaluation,
        storm,
        notifications,
        replicas,
        errors,
    };
    let markdown = report.markdown();
    writeln!(std::io::stdout().lock(), "{markdown}")?;
    if let Some(dir) = &options.out {
        std::fs::write(dir.join("bench.md"), &markdown)?;
        std::fs::write(
            dir.join("bench.json"),
            serde_json::to_string_pretty(&report)?,
        )?;
        say(&format!(
            "wrote {0}/bench.md and {0}/bench.json",
            dir.display()
        ));
    }
    Ok(errors)
}

/// What the MCP phases measured (nothing with `--storm`).
#[derive(Default)]
struct McpResults {
    selectivity: Vec<plans::Selectivity>,
    plans: Vec<plans::Plan>,
    tools: Vec<ToolResult>,
    concurrency: Vec<report::MixResult>,
    memory: Option<MemoryResult>,
}

/// The one-client phases per tool and path, then the concurrent HTTP mix.
#[expect(
    clippy::too_many_arguments,
    reason = "the run's settings, passed down once"
)]
async fn mcp_phases(
    options: &Options,
    firebreak: &Path,
    db: &database::BenchDatabase,
    pool: &sqlx::PgPool,
    logs: &Path,
    seed: seed::Seed,
    timing: Timing,
    levels: &[usize],
) -> anyhow::Result<McpResults> {
    let targets = open_targets(pool, seed.incidents).await?;
    if targets.is_empty() {
        bail!("the seed has no open incidents to write to");
    }

    // Before any phase writes, so they describe the seeded data.
    let mut sampler = Workload::new(7, seed.incidents, Vec::new(), String::new());
    let selectivity = plans::selectivity(pool, &mut sampler).await?;
    let plans = plans::plans(pool).await?;

    say(&format!(
        "starting {} (stdio and HTTP) …",
        firebreak.display()
    ));
    let (stdio, stdio_pid) =
        servers::stdio(firebreak, &db.url, &logs.join("stdio-server.log")).await?;
    let (lean_stdio, lean_stdio_pid) =
        LeanStdio::start(firebreak, &db.url, &logs.join("stdio-lean-server.log")).await?;
    let http_server = HttpServer::start(firebreak, &db.url, &logs.join("http-server.log")).await?;
    let http = http_server.client().await?;
    let lean_http = LeanHttp::connect(&http_server).await?;
    let app = AppCaller::new(App::from_pool(firebreak::store::connect(
        db.options.clone(),
        POOL_SIZE,
        None,
    )));
    let sql = SqlCaller(pool.clone());
    let minimal_brief = MinimalBriefCaller(pool.clone());
    let rank_every_match = RankEveryMatchCaller(pool.clone());
    let tag = format!("{:x}", chrono::Utc::now().timestamp());

    let mut phases = Phases {
        workload: Workload::new(42, seed.incidents, targets, tag.clone()),
        pool: pool.clone(),
        seed,
        timing,
    };
    let mut tools = Vec::new();
    // `--history-only` measures filtered lists too: they share the table and must stay fast.
    let history_only = [
        Tool::ListFiltered,
        Tool::HISTORY[0],
        Tool::HISTORY[1],
        Tool::HISTORY[2],
        Tool::HISTORY[3],
    ];
    let tools_to_measure: &[Tool] = if options.mix_only {
        &[]
    } else if options.history_only {
        &history_only
    } else {
        &Tool::ALL
    };
    for &tool in tools_to_measure {
        // `--quick` proves these work on every path; half the time is enough for that.
        phases.timing = if options.quick && Tool::HISTORY.contains(&tool) {
            Timing {
                warmup: timing.warmup / 2,
                measure: timing.measure / 2,
            }
        } else {
            timing
        };
        let use_case_floor = phases.measure(&app, tool, "use-case floor").await?;
        let sql_floor = match tool {
            Tool::Get | Tool::ListFiltered | Tool::ListText => {
                Some(phases.measure(&sql, tool, "SQL floor").await?)
            }
            _ => None,
        };
        let minimal = match tool {
            Tool::Get => Some(
                phases
                    .measure(&minimal_brief, tool, "minimal brief")
                    .await?,
            ),
            _ => None,
        };
        let every_match = match tool {
            Tool::ListText => Some(
                phases
                    .measure(&rank_every_match, tool, "every match")
                    .await?,
            ),
            _ => None,
        };
        let stdio_stats = phases.measure(&lean_stdio, tool, "stdio (lean)").await?;
        let http_stats = phases.measure(&lean_http, tool, "HTTP (lean)").await?;
        let stdio_rmcp = phases
            .measure(&McpCaller(&stdio), tool, "stdio (rmcp)")
            .await?;
        let http_rmcp = phases
            .measure(&McpCaller(&http), tool, "HTTP (rmcp)")
            .await?;
        let (floor_name, floor) = report::floor(sql_floor.as_ref(), &use_case_floor);
        let floor = floor.max(f64::MIN_POSITIVE);
        tools.push(ToolResult {
            tool: tool.label().to_owned(),
            floor: floor_name,
            stdio_ratio: stdio_stats.p50_ms / floor,
            http_ratio: http_stats.p50_ms / floor,
            stdio_rmcp_ratio: stdio_rmcp.p50_ms / floor,
            http_rmcp_ratio: http_rmcp.p50_ms / floor,
            use_case_floor,
            sql_floor,
            minimal_brief: minimal,
            every_match,
            stdio: stdio_stats,
            http: http_stats,
            stdio_rmcp,
            http_rmcp,
        });
    }

    let probe = cpu::CpuProbe::new(http_server.pid, pool).await;
    let mut concurrency = Vec::new();
    // Lean clients at every level; at 16, also rmcp clients and the mix floor, to compare.
    let floor_caller = FloorCaller {
        sql: sql.clone(),
        app: app.clone(),
    };
    let levels = if options.history_only {
        &[][..]
    } else {
        levels
    };
    let mut runs: Vec<(Clients<'_>, usize)> = levels
        .iter()
        .map(|&clients| (Clients::Lean(&http_server), clients))
        .collect();
    if levels.contains(&16) {
        runs.push((Clients::Rmcp(&http_server), 16));
        runs.push((Clients::Floor(floor_caller), 16));
    }
    for (who, clients) in runs {
        let result = mix::run(&who, probe, clients, pool, seed.incidents, timing, &tag).await?;
        seed::decline_declared(pool, &seed).await?;
        say(&format!(
            "  mix, {clients:>3} {:<18} {:>6.0} calls/s  p50 {:.3} ms  p99 {:.3} ms  \
             errors {}  max RSS {:.1} MiB",
            result.client,
            result.stats.calls_per_second,
            result.stats.p50_ms,
            result.stats.p99_ms,
            result.stats.errors,
            result.max_rss_mib
        ));
        for message in &result.stats.error_messages {
            say(&format!("    {message}"));
        }
        concurrency.push(result);
    }
    let memory = MemoryResult {
        stdio_peak_mib: mib(memory(stdio_pid)?
            .hwm_kib
            .max(memory(lean_stdio_pid)?.hwm_kib)),
        http_peak_mib: mib(memory(http_server.pid)?.hwm_kib),
        http_max_sampled_rss_mib: concurrency
            .iter()
            .map(|c| c.max_rss_mib)
            .fold(0.0, f64::max),
    };
    stdio.cancel().await.context("closing the stdio session")?;
    http.cancel().await.context("closing the HTTP client")?;
    http_server.stop().await?;
    Ok(McpResults {
        selectivity,
        plans,
        tools,
        concurrency,
        memory: Some(memory),
    })
}

/// The single-client phases: one workload whose targets are re-read before each phase, so
/// every write starts from the versions in the database.
struct Phases {
    workload: Workload,
    pool: sqlx::PgPool,
    seed: seed::Seed,
    timing: Timing,
}

impl Phases {
    async fn measure<C: Caller>(
        &mut self,
        caller: &C,
        tool: Tool,
        path: &str,
    ) -> anyhow::Result<measure::Stats> {
        self.workload
            .set_targets(open_targets(&self.pool, self.seed.incidents).await?);
        let stats = phase(caller, &mut self.workload, tool, self.timing)
            .await
            .stats();
        seed::decline_declared(&self.pool, &self.seed).await?;
        say(&format!(
            "  {:<26} {:<15} p50 {:>7.3} ms  p99 {:>7.3} ms  {:>6.0}/s  errors {}",
            tool.label(),
            path,
            stats.p50_ms,
            stats.p99_ms,
            stats.calls_per_second,
            stats.errors
        ));
        for message in &stats.error_messages {
            say(&format!("    {message}"));
        }
        Ok(stats)
    }
}
