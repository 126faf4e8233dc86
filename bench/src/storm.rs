//! The alert storm: Alertmanager webhooks (`version: "4"`) posted to
//! `POST /hooks/alertmanager/storm` of a release `firebreak serve --http --alerting FILE` by
//! concurrent clients, each on one keep-alive HTTP/1.1 connection (hyper, as the lean MCP
//! client). Phase *batches*: 50 alerts a payload; phase *single*: one. Alert `g` (a counter
//! shared by every client) belongs to group `g % 200` (alertname `Storm{g % 200}`, service
//! `svc{g % 200}`) and has a fingerprint of its own; a tenth of the alerts sent repeat alerts
//! already firing, as Alertmanager's repeat deliveries do.
//!
//! Afterwards the database must hold one incident per group, every fingerprint once, firing,
//! seen as often as it was delivered, and one ledger line per alert delivered. What the database
//! spent is read from its cumulative statistics (and from `pg_stat_statements` when the server
//! preloads it), what PostgreSQL's backends were doing from `pg_stat_activity` samples, the CPU
//! from `/proc`. Each phase has a server of its own, stopped before the counters are read: a
//! backend flushes its statistics when it exits, otherwise only after 10 s idle.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper::client::conn::http1::SendRequest;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::cpu::{CpuProbe, CpuSeconds, process_seconds};
use crate::database::BenchDatabase;
use crate::lean::open;
use crate::measure::{Samples, Stats};
use crate::servers::{HttpServer, memory, mib, sample_rss, token};
use crate::workload::{Observed, Rng};

/// The source (and the `{source}` of its URL).
const SOURCE: &str = "storm";
/// The one route.
const ROUTE: &str = "storm";
/// The variable the alerting file names for the source's secret.
const SECRET_ENV: &str = "FIREBREAK_BENCH_STORM_SECRET";
/// Groups the alerts are spread over.
const GROUPS: u64 = 200;
/// Alerts in a batch.
const BATCH: usize = 50;
/// Repeats of already-firing alerts in each batch (once the client has enough of them).
const REPEATS_PER_BATCH: usize = 5;
/// Every tenth single is a repeat.
const SINGLE_REPEAT_EVERY: u64 = 10;
/// `--quick`: requests per phase, in all (correctness only).
const QUICK_BATCHES: i64 = 20;
const QUICK_SINGLES: i64 = 50;
/// How often `pg_stat_activity` is sampled.
const WAIT_INTERVAL: Duration = Duration::from_millis(25);
/// Requests that start this long after a phase began are "settled": by then every group has its
/// incident (the first batches declare them, holding their groups' locks).
const SETTLE: Duration = Duration::from_secs(1);
/// How long a stopped server's backends may take to exit.
const EXIT_PATIENCE: Duration = Duration::from_secs(10);

/// The targets printed next to the results.
const TARGET_ALERTS_PER_SECOND: f64 = 5_000.0;
const TARGET_SINGLES_PER_SECOND: f64 = 1_000.0;
const TARGET_P99_MS: f64 = 50.0;
const TARGET_RSS_BYTES: f64 = 100e6;

/// How the storm runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StormOptions {
    pub(crate) batch_clients: usize,
    pub(crate) single_clients: usize,
    /// Seconds per phase; `None` (`--quick`): a fixed number of requests, correctness only.
    pub(crate) seconds: Option<f64>,
}

/// The alerting file the server is started with.
fn alerting_file() -> String {
    format!(
        "# Written by firebreak-bench for the alert storm.\n\
         sources:\n  - name: {SOURCE}\n    kind: alertmanager\n    secret_env: {SECRET_ENV}\n\
         routes:\n  - name: {ROUTE}\n    sources: [{SOURCE}]\n    \
         title: \"{{{{ labels.alertname }}}} on {{{{ labels.service }}}}\"\n    \
         action: declare\n    # group_by: the default (source, alertname, service)\n"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Batches,
    Single,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Batches => "batches",
            Kind::Single => "single",
        }
    }

    fn size(self) -> usize {
        match self {
            Kind::Batches => BATCH,
            Kind::Single => 1,
        }
    }

    fn quick_requests(self) -> i64 {
        match self {
            Kind::Batches => QUICK_BATCHES,
            Kind::Single => QUICK_SINGLES,
        }
    }
}

/// Everything the storm measured and checked.
#[derive(Debug, Serialize)]
pub(crate) struct StormResult {
    pub(crate) source: &'static str,
    pub(crate) route: &'static str,
    pub(crate) group_by: &'static str,
    pub(crate) groups: u64,
    pub(crate) quick: bool,
    pub(crate) seconds_per_phase: Option<f64>,
    /// Whether `pg_stat_statements` was available (preloaded by the server).
    pub(crate) pg_stat_statements: bool,
    /// Where the database counters were read from (`postgres`, or the bench database itself).
    pub(crate) monitor_database: String,
    pub(crate) phases: Vec<StormPhase>,
    /// The largest `VmHWM` of the phases' servers.
    pub(crate) peak_rss_mib: f64,
    pub(crate) checks: Vec<Check>,
    pub(crate) targets: Vec<TargetResult>,
    /// Failed requests (non-2xx or unexpected answers) plus failed checks.
    pub(crate) errors: u64,
}

/// One phase.
#[derive(Debug, Serialize)]
pub(crate) struct StormPhase {
    pub(crate) phase: &'static str,
    pub(crate) clients: usize,
    pub(crate) alerts_per_request: usize,
    /// Alerts in requests answered 2xx, new ones and repeats.
    pub(crate) alerts: u64,
    pub(crate) new_alerts: u64,
    pub(crate) repeats: u64,
    pub(crate) seconds: f64,
    pub(crate) alerts_per_second: f64,
    /// Per request; `calls_per_second` is requests per second.
    pub(crate) stats: Stats,
    /// The requests that started after the first second (`calls_per_second` over the whole
    /// phase: only the percentiles mean something).
    pub(crate) settled: Stats,
    /// The decisions the answers reported.
    pub(crate) decisions: BTreeMap<String, u64>,
    pub(crate) cpu: CpuSeconds,
    /// Of PostgreSQL's CPU seconds, those of the server's own backends (the rest is
    /// autovacuum, the checkpointer, the WAL writer …); from `/proc` at the phase's end.
    pub(crate) firebreak_backends_cpu: Option<f64>,
    /// `pg_stat_database` (and `pg_stat_wal`) counters, after − before.
    pub(crate) database: BTreeMap<&'static str, i64>,
    /// Mean number of the server's PostgreSQL backends in each state, sampled.
    pub(crate) backend_states: Vec<BackendState>,
    pub(crate) wait_samples: u64,
    /// `pg_stat_statements` for the bench database, most total time first.
    pub(crate) statements: Option<Vec<StatementCost>>,
    pub(crate) statements_per_request: Option<f64>,
    pub(crate) peak_rss_mib: f64,
    pub(crate) max_sampled_rss_mib: f64,
}

/// Backends in one state, on average over the samples.
#[derive(Debug, Serialize)]
pub(crate) struct BackendState {
    pub(crate) state: String,
    pub(crate) mean_backends: f64,
}

/// One normalized statement.
#[derive(Debug, Serialize)]
pub(crate) struct StatementCost {
    pub(crate) calls: i64,
    pub(crate) calls_per_request: f64,
    pub(crate) total_ms: f64,
    pub(crate) mean_ms: f64,
    pub(crate) rows_per_call: f64,
    pub(crate) blocks_per_call: f64,
    pub(crate) query: String,
}

/// A correctness check.
#[derive(Debug, Serialize)]
pub(crate) struct Check {
    pub(crate) check: String,
    pub(crate) expected: i64,
    pub(crate) found: i64,
    pub(crate) ok: bool,
}

/// A target: met, missed, or not judged (`--quick`).
#[derive(Debug, Serialize)]
pub(crate) struct TargetResult {
    pub(crate) target: String,
    pub(crate) measured: String,
    pub(crate) met: Option<bool>,
}

/// Runs both phases, verifies the database and judges the targets.
pub(crate) async fn run(
    firebreak: &Path,
    db: &BenchDatabase,
    database: &str,
    pool: &PgPool,
    logs: &Path,
    options: StormOptions,
) -> anyhow::Result<StormResult> {
    let secret = format!("storm-{}", token());
    let alerting = logs.join("storm-alerting.yaml");
    std::fs::write(&alerting, alerting_file())
        .with_context(|| format!("writing {}", alerting.display()))?;
    let mut monitor = Monitor::connect(db, database).await?;
    let probe = CpuProbe::new(0, pool).await;
    let (before_number,): (i64,) =
        sqlx::query_as("select coalesce(max(number), 0)::int8 from incident")
            .fetch_one(pool)
            .await?;
    let (leftovers,): (i64,) = sqlx::query_as("select count(*) from alert where source = $1")
        .bind(SOURCE)
        .fetch_one(pool)
        .await?;
    if leftovers > 0 {
        bail!("the bench database already holds {leftovers} alerts of the source `{SOURCE}`");
    }
    let setup = Setup {
        firebreak,
        database,
        url: &db.url,
        logs,
        alerting: &alerting,
        secret: &secret,
        probe,
        seconds: options.seconds,
        payloads: Arc::new(Payloads::new()),
        next_alert: Arc::new(AtomicU64::new(0)),
    };
    let mut delivered: HashMap<u64, u32> = HashMap::new();
    let mut failed: Vec<u64> = Vec::new();
    let mut firing: Vec<u64> = Vec::new();
    let mut phases = Vec::new();
    for (kind, clients) in [
        (Kind::Batches, options.batch_clients),
        (Kind::Single, options.single_clients),
    ] {
        if kind == Kind::Single {
            // Untimed, between the phases: the statistics autovacuum would gather sooner or
            // later (it analyzes a table after 10% of it changed, within a minute), so the
            // single phase is planned as a long-running server's statements are. The batches
            // ran against tables the size of which the planner did not know (truncated, as on
            // a fresh install).
            sqlx::query("analyze alert, alert_decision")
                .execute(pool)
                .await?;
        }
        let earlier = Arc::new(firing.clone());
        let (phase, outcomes) = setup.phase(&mut monitor, kind, clients, earlier).await?;
        for outcome in outcomes {
            for (g, n) in outcome.delivered {
                *delivered.entry(g).or_default() += n;
            }
            failed.extend(outcome.failed);
            firing.extend(outcome.fresh);
        }
        say_phase(&phase);
        phases.push(phase);
    }
    let (pg_stat_statements, monitor_database) = (monitor.statements, monitor.database.clone());
    monitor.close().await;
    let checks = verify(pool, before_number, &setup.payloads, &delivered, &failed).await?;
    for check in checks.iter().filter(|c| !c.ok) {
        crate::say(&format!(
            "  storm check FAILED: {}: expected {}, found {}",
            check.check, check.expected, check.found
        ));
    }
    let peak_rss_mib = phases.iter().map(|p| p.peak_rss_mib).fold(0.0, f64::max);
    let targets = targets(&phases, peak_rss_mib, options.seconds.is_none());
    let errors = phases.iter().map(|p| p.stats.errors).sum::<u64>()
        + checks.iter().filter(|c| !c.ok).count() as u64;
    Ok(StormResult {
        source: SOURCE,
        route: ROUTE,
        group_by: "source, alertname, service (the default)",
        groups: GROUPS,
        quick: options.seconds.is_none(),
        seconds_per_phase: options.seconds,
        pg_stat_statements,
        monitor_database,
        phases,
        peak_rss_mib,
        checks,
        targets,
        errors,
    })
}

fn say_phase(phase: &StormPhase) {
    crate::say(&format!(
        "  storm {:<7} {:>2} clients  {:>7.0} alerts/s  {:>6.0} requests/s  p50 {:.2} ms  \
         p99 {:.2} ms  errors {}  peak RSS {:.1} MiB",
        phase.phase,
        phase.clients,
        phase.alerts_per_second,
        phase.stats.calls_per_second,
        phase.stats.p50_ms,
        phase.stats.p99_ms,
        phase.stats.errors,
        phase.peak_rss_mib
    ));
    for message in &phase.stats.error_messages {
        crate::say(&format!("    {message}"));
    }
}

/// What every phase shares.
struct Setup<'a> {
    firebreak: &'a Path,
    database: &'a str,
    url: &'a str,
    logs: &'a Path,
    alerting: &'a Path,
    secret: &'a str,
    probe: CpuProbe,
    seconds: Option<f64>,
    payloads: Arc<Payloads>,
    next_alert: Arc<AtomicU64>,
}

impl Setup<'_> {
    /// Starts a server, runs `clients` clients until the budget is spent, stops the server and
    /// reads what the database did.
    async fn phase(
        &self,
        monitor: &mut Monitor,
        kind: Kind,
        clients: usize,
        earlier: Arc<Vec<u64>>,
    ) -> anyhow::Result<(StormPhase, Vec<ClientOutcome>)> {
        crate::say(&format!(
            "alert storm, {}: {clients} clients, {} alert(s) per request …",
            kind.name(),
            kind.size()
        ));
        let existing = monitor.server_backends().await?;
        let log = self.logs.join(format!("storm-{}-server.log", kind.name()));
        let server = HttpServer::start_with(
            self.firebreak,
            self.url,
            &log,
            &[OsStr::new("--alerting"), self.alerting.as_os_str()],
            &[(SECRET_ENV, self.secret)],
        )
        .await?;
        let mut https = Vec::with_capacity(clients);
        for _ in 0..clients {
            https.push(HookClient::connect(server.port, self.secret).await?);
        }
        if monitor.statements {
            monitor.reset_statements().await?;
        }
        let before = monitor.counters().await?;
        let probe = self.probe.with_server(server.pid);
        let stop = CancellationToken::new();
        let rss = tokio::spawn(sample_rss(Some(server.pid), stop.clone()));
        let waits = tokio::spawn(sample_waits(
            monitor.options.clone(),
            self.database.to_owned(),
            stop.clone(),
        ));
        let cpu_before = probe.snapshot();
        let started = Instant::now();
        let shared = Arc::new(Shared {
            started,
            payloads: Arc::clone(&self.payloads),
            next_alert: Arc::clone(&self.next_alert),
            until: self.seconds.map(|s| started + Duration::from_secs_f64(s)),
            left: AtomicI64::new(kind.quick_requests()),
            earlier,
        });
        let tasks: Vec<_> = https
            .into_iter()
            .enumerate()
            .map(|(k, http)| {
                let seed = 7_000 + k as u64 + 100 * u64::from(kind == Kind::Single);
                tokio::spawn(client(kind, http, Arc::clone(&shared), seed))
            })
            .collect();
        let mut outcomes = Vec::with_capacity(tasks.len());
        for task in tasks {
            outcomes.push(task.await?);
        }
        let wall = started.elapsed();
        let cpu = cpu_before.seconds(&probe.snapshot());
        let peak_rss_mib = mib(memory(server.pid)?.hwm_kib);
        // The phase's server has backends of its own (a new pool): all their CPU is its.
        let firebreak_backends_cpu = match cpu.postgres {
            Some(_) => Some(
                monitor
                    .server_backends()
                    .await?
                    .difference(&existing)
                    .filter_map(|pid| u32::try_from(*pid).ok())
                    .filter_map(process_seconds)
                    .sum(),
            ),
            None => None,
        };
        stop.cancel();
        let max_sampled_rss_mib = mib(rss.await?);
        let (wait_samples, states) = waits.await?.unwrap_or_else(|err| {
            crate::say(&format!("  (pg_stat_activity not sampled: {err:#})"));
            (0, HashMap::new())
        });
        server.stop().await?;
        monitor.wait_for_exit(&existing).await?;
        let after = monitor.counters().await?;
        let statements = match monitor.statements {
            true => Some(monitor.statement_costs().await?),
            false => None,
        };

        let mut samples = Samples::default();
        let mut settled = Samples::default();
        let (mut alerts, mut new_alerts, mut repeats) = (0, 0, 0);
        let mut decisions = BTreeMap::new();
        for outcome in &mut outcomes {
            samples.merge(std::mem::take(&mut outcome.samples));
            settled.merge(std::mem::take(&mut outcome.settled));
            alerts += outcome.alerts;
            new_alerts += outcome.fresh.len() as u64;
            repeats += outcome.repeats;
            for (decision, n) in std::mem::take(&mut outcome.decisions) {
                *decisions.entry(decision).or_default() += n;
            }
        }
        samples.set_wall(wall);
        settled.set_wall(wall);
        let stats = samples.stats();
        let settled = settled.stats();
        let requests = stats.calls.max(1) as f64;
        let statements = statements.map(|mut rows| {
            for row in &mut rows {
                row.calls_per_request = row.calls as f64 / requests;
            }
            rows
        });
        let statements_per_request = statements
            .as_ref()
            .map(|rows| rows.iter().map(|r| r.calls).sum::<i64>() as f64 / requests);
        let mut backend_states: Vec<BackendState> = states
            .into_iter()
            .map(|(state, n)| BackendState {
                state,
                mean_backends: n as f64 / wait_samples.max(1) as f64,
            })
            .collect();
        backend_states.sort_by(|a, b| b.mean_backends.total_cmp(&a.mean_backends));
        let database = after
            .iter()
            .map(|(name, value)| (*name, value - before.get(name).copied().unwrap_or(0)))
            .collect();
        let phase = StormPhase {
            phase: kind.name(),
            clients,
            alerts_per_request: kind.size(),
            alerts,
            new_alerts,
            repeats,
            seconds: wall.as_secs_f64(),
            alerts_per_second: alerts as f64 / wall.as_secs_f64().max(f64::MIN_POSITIVE),
            stats,
            settled,
            decisions,
            cpu,
            firebreak_backends_cpu,
            database,
            backend_states,
            wait_samples,
            statements,
            statements_per_request,
            peak_rss_mib,
            max_sampled_rss_mib,
        };
        Ok((phase, outcomes))
    }
}

/// What a phase's clients share.
struct Shared {
    started: Instant,
    payloads: Arc<Payloads>,
    next_alert: Arc<AtomicU64>,
    /// A timed phase ends here; an untimed one after `left` requests.
    until: Option<Instant>,
    left: AtomicI64,
    /// Alerts acknowledged firing in earlier phases, for repeats.
    earlier: Arc<Vec<u64>>,
}

impl Shared {
    /// Whether another request may start.
    fn take(&self) -> bool {
        match self.until {
            Some(until) => Instant::now() < until,
            None => self.left.fetch_sub(1, Ordering::Relaxed) > 0,
        }
    }
}

/// What one client did.
#[derive(Default)]
struct ClientOutcome {
    samples: Samples,
    /// Latencies of the requests started `SETTLE` into the phase or later.
    settled: Samples,
    /// Alerts (by `g`) in requests answered 2xx, and how often each was delivered.
    delivered: HashMap<u64, u32>,
    /// The new alerts of this client acknowledged firing.
    fresh: Vec<u64>,
    /// The new alerts of failed requests.
    failed: Vec<u64>,
    alerts: u64,
    repeats: u64,
    decisions: BTreeMap<String, u64>,
}

/// One client: a closed loop of deliveries until the phase's budget is spent. The payload is
/// built before the clock starts and the answer checked after it stops.
async fn client(kind: Kind, mut http: HookClient, shared: Arc<Shared>, seed: u64) -> ClientOutcome {
    let mut rng = Rng::new(seed);
    let mut out = ClientOutcome::default();
    let mut requests = 0_u64;
    while shared.take() {
        requests += 1;
        let available = shared.earlier.len() + out.fresh.len();
        let repeats = match kind {
            Kind::Batches if available >= 4 * REPEATS_PER_BATCH => REPEATS_PER_BATCH,
            Kind::Single if available > 0 && requests.is_multiple_of(SINGLE_REPEAT_EVERY) => 1,
            _ => 0,
        };
        let fresh = kind.size() - repeats;
        let first = shared.next_alert.fetch_add(fresh as u64, Ordering::Relaxed);
        let mut alerts: Vec<u64> = (first..first + fresh as u64).collect();
        while alerts.len() < kind.size() {
            let i = rng.below(available as u64) as usize;
            let g = match shared.earlier.get(i) {
                Some(g) => *g,
                None => out.fresh[i - shared.earlier.len()],
            };
            if !alerts.contains(&g) {
                alerts.push(g);
            }
        }
        let request = http.request(shared.payloads.body(&alerts));
        let started = Instant::now();
        let answer = http.send(request).await;
        let latency = started.elapsed();
        let mut decisions = BTreeMap::new();
        let checked = answer
            .map_err(|err| format!("transport: {err:#}"))
            .and_then(|(status, body)| {
                check_answer(
                    status,
                    &body,
                    &shared.payloads,
                    &alerts,
                    fresh,
                    &mut decisions,
                )
            });
        if checked.is_ok() {
            for g in &alerts {
                *out.delivered.entry(*g).or_default() += 1;
            }
            out.fresh.extend_from_slice(&alerts[..fresh]);
            out.alerts += alerts.len() as u64;
            out.repeats += repeats as u64;
            for (decision, n) in decisions {
                *out.decisions.entry(decision).or_default() += n;
            }
        } else {
            out.failed.extend_from_slice(&alerts[..fresh]);
        }
        if started >= shared.started + SETTLE {
            out.settled.record(latency, &Ok(Observed::default()));
        }
        out.samples
            .record(latency, &checked.map(|()| Observed::default()));
    }
    out
}

/// A 2xx answer accepting every alert, in order: the new ones declared or attached, the
/// repeats deduplicated.
fn check_answer(
    status: StatusCode,
    body: &[u8],
    payloads: &Payloads,
    alerts: &[u64],
    fresh: usize,
    decisions: &mut BTreeMap<String, u64>,
) -> Result<(), String> {
    let text = || {
        String::from_utf8_lossy(body)
            .chars()
            .take(300)
            .collect::<String>()
    };
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", text()));
    }
    let answer: Value =
        serde_json::from_slice(body).map_err(|err| format!("HTTP {status}, not JSON ({err})"))?;
    let outcomes = answer["alerts"].as_array();
    let Some(outcomes) =
        outcomes.filter(|o| answer["status"] == "accepted" && o.len() == alerts.len())
    else {
        return Err(format!(
            "HTTP {status} without one outcome per alert ({} sent): {}",
            alerts.len(),
            text()
        ));
    };
    for (i, (outcome, g)) in outcomes.iter().zip(alerts).enumerate() {
        let decision = outcome["decision"].as_str().unwrap_or("?");
        *decisions.entry(decision.to_owned()).or_default() += 1;
        let expected = if i < fresh {
            matches!(decision, "declared" | "attached")
        } else {
            decision == "deduplicated"
        };
        let key = payloads.fingerprint(*g);
        if !expected || outcome["key"].as_str() != Some(key.as_str()) {
            return Err(format!(
                "alert {key} ({}): {outcome}",
                if i < fresh { "new" } else { "a repeat" }
            ));
        }
    }
    Ok(())
}

/// The Alertmanager payloads: alert `g` always has the same labels, fingerprint and start.
struct Payloads {
    epoch: DateTime<Utc>,
    salt: u64,
}

impl Payloads {
    fn new() -> Payloads {
        let epoch = Utc::now();
        Payloads {
            epoch,
            salt: epoch.timestamp_micros().unsigned_abs(),
        }
    }

    /// 16 hex digits, distinct for every `g` (xor and an odd multiplier are bijections).
    fn fingerprint(&self, g: u64) -> String {
        format!(
            "{:016x}",
            (g ^ self.salt).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        )
    }

    fn alert(&self, g: u64) -> Value {
        let group = g % GROUPS;
        let starts = self.epoch - chrono::Duration::seconds((g % 600) as i64);
        json!({
            "status": "firing",
            "labels": {
                "alertname": format!("Storm{group}"),
                "service": format!("svc{group}"),
                "severity": if group.is_multiple_of(10) { "critical" } else { "warning" },
                "instance": format!("node-{g}:9100"),
                "job": "node",
            },
            "annotations": {
                "summary": format!("Storm{group} firing on node-{g}:9100"),
                "runbook_url": "https://runbooks.example/storm",
            },
            "startsAt": starts.to_rfc3339_opts(SecondsFormat::Millis, true),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": format!("http://prometheus.example:9090/graph?g0.expr=storm_{group}"),
            "fingerprint": self.fingerprint(g),
        })
    }

    /// A webhook message carrying `alerts`.
    fn body(&self, alerts: &[u64]) -> Bytes {
        let first = alerts.first().map_or(0, |g| g % GROUPS);
        let message = json!({
            "receiver": "firebreak",
            "status": "firing",
            "alerts": alerts.iter().map(|g| self.alert(*g)).collect::<Vec<_>>(),
            "groupLabels": {"alertname": format!("Storm{first}")},
            "commonLabels": {"job": "node"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example:9093",
            "version": "4",
            "groupKey": format!("{{}}:{{alertname=\"Storm{first}\"}}"),
            "truncatedAlerts": 0,
        });
        Bytes::from(message.to_string())
    }
}

/// One keep-alive HTTP/1.1 connection to the hook of the storm's source.
struct HookClient {
    sender: SendRequest<Full<Bytes>>,
    port: u16,
    authority: String,
    authorization: String,
}

impl HookClient {
    async fn connect(port: u16, secret: &str) -> anyhow::Result<HookClient> {
        Ok(HookClient {
            sender: open(port).await?,
            port,
            authority: format!("127.0.0.1:{port}"),
            authorization: format!("Bearer {secret}"),
        })
    }

    fn request(&self, body: Bytes) -> hyper::Request<Full<Bytes>> {
        let mut request = hyper::Request::new(Full::new(body));
        *request.method_mut() = hyper::Method::POST;
        *request.uri_mut() = hyper::Uri::from_static("/hooks/alertmanager/storm");
        let headers = request.headers_mut();
        let value = |text: &str| {
            hyper::header::HeaderValue::from_str(text)
                .unwrap_or(hyper::header::HeaderValue::from_static("invalid"))
        };
        headers.insert(hyper::header::HOST, value(&self.authority));
        headers.insert(hyper::header::AUTHORIZATION, value(&self.authorization));
        headers.insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        request
    }

    async fn send(
        &mut self,
        request: hyper::Request<Full<Bytes>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        // A connection the server closed while idle is opened again; nothing was sent on it.
        if self.sender.is_closed() || self.sender.ready().await.is_err() {
            self.sender = open(self.port).await?;
            self.sender.ready().await?;
        }
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// A connection for the cluster's statistics, on the `postgres` database when it can be
/// reached (so its own queries are not counted in the bench database's counters).
struct Monitor {
    conn: PgConnection,
    options: PgConnectOptions,
    /// The database the monitor is connected to.
    database: String,
    /// The bench database.
    bench: String,
    statements: bool,
}

impl Monitor {
    async fn connect(db: &BenchDatabase, bench: &str) -> anyhow::Result<Monitor> {
        let admin = db.options.clone().database("postgres");
        let (conn, options, database) = match PgConnection::connect_with(&admin).await {
            Ok(conn) => (conn, admin, "postgres".to_owned()),
            Err(_) => (
                PgConnection::connect_with(&db.options).await?,
                db.options.clone(),
                bench.to_owned(),
            ),
        };
        let mut monitor = Monitor {
            conn,
            options,
            database,
            bench: bench.to_owned(),
            statements: false,
        };
        monitor.statements = monitor.enable_statements().await;
        Ok(monitor)
    }

    /// Whether `pg_stat_statements` can be read (preloaded, and the extension created here).
    async fn enable_statements(&mut self) -> bool {
        let preloaded: Option<(String,)> = sqlx::query_as(
            "select setting from pg_settings where name = 'shared_preload_libraries'",
        )
        .fetch_optional(&mut self.conn)
        .await
        .ok()
        .flatten();
        if !preloaded.is_some_and(|(libraries,)| libraries.contains("pg_stat_statements")) {
            return false;
        }
        sqlx::query("create extension if not exists pg_stat_statements")
            .execute(&mut self.conn)
            .await
            .is_ok()
    }

    async fn close(self) {
        let _ = self.conn.close().await;
    }

    /// The pids of Firebreak's backends on the bench database.
    async fn server_backends(&mut self) -> anyhow::Result<HashSet<i32>> {
        let pids: Vec<(i32,)> = sqlx::query_as(
            "select pid from pg_stat_activity where datname = $1 and application_name = 'firebreak'",
        )
        .bind(&self.bench)
        .fetch_all(&mut self.conn)
        .await?;
        Ok(pids.into_iter().map(|(pid,)| pid).collect())
    }

    /// Waits until the backends a stopped server had are gone (and have flushed their
    /// statistics).
    async fn wait_for_exit(&mut self, existing: &HashSet<i32>) -> anyhow::Result<()> {
        let deadline = Instant::now() + EXIT_PATIENCE;
        loop {
            let left = self.server_backends().await?;
            if left.is_subset(existing) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} backends of the stopped server still connected after {EXIT_PATIENCE:?}",
                    left.difference(existing).count()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `pg_stat_database` for the bench database and `pg_stat_wal` (cluster-wide; missing
    /// before PostgreSQL 14).
    async fn counters(&mut self) -> anyhow::Result<BTreeMap<&'static str, i64>> {
        type Row = (i64, i64, i64, i64, i64, i64, i64, i64, i64);
        let row: Row = sqlx::query_as(
            "select xact_commit, xact_rollback, blks_read, blks_hit, tup_returned, tup_fetched, \
             tup_inserted, tup_updated, tup_deleted from pg_stat_database where datname = $1",
        )
        .bind(&self.bench)
        .fetch_one(&mut self.conn)
        .await?;
        let mut counters = BTreeMap::from([
            ("xact_commit", row.0),
            ("xact_rollback", row.1),
            ("blks_read", row.2),
            ("blks_hit", row.3),
            ("tup_returned", row.4),
            ("tup_fetched", row.5),
            ("tup_inserted", row.6),
            ("tup_updated", row.7),
            ("tup_deleted", row.8),
        ]);
        let wal: Option<(i64, i64, i64, i64)> = sqlx::query_as(
            "select wal_records, wal_bytes::int8, wal_write, wal_sync from pg_stat_wal",
        )
        .fetch_optional(&mut self.conn)
        .await
        .ok()
        .flatten();
        if let Some((records, bytes, writes, syncs)) = wal {
            counters.extend([
                ("wal_records", records),
                ("wal_bytes", bytes),
                ("wal_write", writes),
                ("wal_sync", syncs),
            ]);
        }
        Ok(counters)
    }

    async fn reset_statements(&mut self) -> anyhow::Result<()> {
        sqlx::query(
            "select pg_stat_statements_reset(0, (select oid from pg_database where datname = $1), 0)",
        )
        .bind(&self.bench)
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }

    async fn statement_costs(&mut self) -> anyhow::Result<Vec<StatementCost>> {
        let rows: Vec<(i64, f64, i64, i64, String)> = sqlx::query_as(
            "select s.calls, s.total_exec_time, s.rows, s.shared_blks_hit + s.shared_blks_read, \
             s.query from pg_stat_statements s join pg_database d on d.oid = s.dbid \
             where d.datname = $1 order by s.total_exec_time desc",
        )
        .bind(&self.bench)
        .fetch_all(&mut self.conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(calls, total_ms, rows, blocks, query)| {
                let per_call = |n: f64| n / calls.max(1) as f64;
                StatementCost {
                    calls,
                    calls_per_request: 0.0,
                    total_ms,
                    mean_ms: per_call(total_ms),
                    rows_per_call: per_call(rows as f64),
                    blocks_per_call: per_call(blocks as f64),
                    query: query.split_whitespace().collect::<Vec<_>>().join(" "),
                }
            })
            .collect())
    }
}

/// Samples what the server's backends are doing until `stop`: the number of samples and, per
/// state, how many backends were seen in it in all.
async fn sample_waits(
    options: PgConnectOptions,
    bench: String,
    stop: CancellationToken,
) -> anyhow::Result<(u64, HashMap<String, u64>)> {
    let mut conn = PgConnection::connect_with(&options).await?;
    let mut samples = 0;
    let mut states: HashMap<String, u64> = HashMap::new();
    loop {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "select case when state like 'idle in transaction%' \
                      then 'idle in transaction (waiting for Firebreak)' \
                    when wait_event is null then 'on CPU (or waiting for one)' \
                    else wait_event_type || ': ' || wait_event end, count(*) \
             from pg_stat_activity \
             where datname = $1 and application_name = 'firebreak' and state <> 'idle' \
             group by 1",
        )
        .bind(&bench)
        .fetch_all(&mut conn)
        .await?;
        samples += 1;
        for (state, n) in rows {
            *states.entry(state).or_default() += n.unsigned_abs();
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(WAIT_INTERVAL) => {}
        }
    }
    let _ = conn.close().await;
    Ok((samples, states))
}

/// The database against what the clients were told.
async fn verify(
    pool: &PgPool,
    before_number: i64,
    payloads: &Payloads,
    delivered: &HashMap<u64, u32>,
    failed: &[u64],
) -> anyhow::Result<Vec<Check>> {
    let mut checks = Vec::new();
    let mut check = |name: &str, expected: i64, found: i64| {
        checks.push(Check {
            check: name.to_owned(),
            expected,
            found,
            ok: expected == found,
        });
    };
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let groups = count(
        delivered
            .keys()
            .map(|g| g % GROUPS)
            .collect::<HashSet<_>>()
            .len(),
    );
    let fresh = count(delivered.len());
    let deliveries: i64 = delivered.values().map(|n| i64::from(*n)).sum();

    let (incidents,): (i64,) = sqlx::query_as("select count(*) from incident where number > $1")
        .bind(before_number)
        .fetch_one(pool)
        .await?;
    check("incidents declared during the storm", groups, incidents);
    let (group_rows, sound, distinct): (i64, i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where incidents = 1 and unattached = 0), \
           (select count(distinct incident_id) from alert where source = $1) \
         from (select count(distinct incident_id) as incidents, \
                 count(*) filter (where incident_id is null) as unattached \
               from alert where source = $1 group by group_key) g",
    )
    .bind(SOURCE)
    .fetch_one(pool)
    .await?;
    check("groups with alerts", groups, group_rows);
    check(
        "groups whose alerts all belong to one incident",
        groups,
        sound,
    );
    check("distinct incidents of the alerts", groups, distinct);

    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "select alert_key, count(*), count(*) filter (where status = 'firing'), \
         sum(seen_count)::int8 from alert where source = $1 group by alert_key",
    )
    .bind(SOURCE)
    .fetch_all(pool)
    .await?;
    let stored: HashMap<String, (i64, i64, i64)> = rows
        .into_iter()
        .map(|(key, n, firing, seen)| (key, (n, firing, seen)))
        .collect();
    let (mut missing, mut duplicated, mut not_firing, mut miscounted) = (0, 0, 0, 0);
    for (g, n) in delivered {
        match stored.get(&payloads.fingerprint(*g)) {
            None => missing += 1,
            Some((rows, firing, seen)) => {
                duplicated += i64::from(*rows > 1);
                not_firing += i64::from(firing != rows);
                miscounted += i64::from(*seen != i64::from(*n));
            }
        }
    }
    let unexpected = count(stored.len()) - (fresh - missing);
    check("distinct fingerprints stored", fresh, count(stored.len()));
    check("fingerprints delivered but not stored (lost)", 0, missing);
    check("fingerprints stored more than once", 0, duplicated);
    check("stored alerts not firing", 0, not_firing);
    check("alerts whose seen_count ≠ deliveries", 0, miscounted);
    check(
        &format!(
            "stored alerts nobody was told were accepted ({} in failed requests)",
            failed.len()
        ),
        0,
        unexpected,
    );

    let ledger: Vec<(String, i64)> = sqlx::query_as(
        "select decision, count(*) from alert_decision where source = $1 group by decision",
    )
    .bind(SOURCE)
    .fetch_all(pool)
    .await?;
    let ledger: HashMap<String, i64> = ledger.into_iter().collect();
    let decided = |d: &str| ledger.get(d).copied().unwrap_or(0);
    check(
        "ledger lines (one per alert delivered)",
        deliveries,
        ledger.values().sum(),
    );
    check("ledger: declared", groups, decided("declared"));
    check("ledger: attached", fresh - groups, decided("attached"));
    check(
        "ledger: deduplicated",
        deliveries - fresh,
        decided("deduplicated"),
    );
    let (entries,): (i64,) = sqlx::query_as(
        "select count(*) from timeline_entry where kind = 'alert' \
         and incident_id in (select incident_id from alert where source = $1)",
    )
    .bind(SOURCE)
    .fetch_one(pool)
    .await?;
    check("alert entries on the incidents' timelines", fresh, entries);
    Ok(checks)
}

fn targets(phases: &[StormPhase], peak_rss_mib: f64, quick: bool) -> Vec<TargetResult> {
    let judge = |met: bool| (!quick).then_some(met);
    let mut targets = Vec::new();
    for phase in phases {
        match phase.phase {
            "batches" => targets.push(TargetResult {
                target: format!("batches: ≥ {TARGET_ALERTS_PER_SECOND:.0} alerts/s"),
                measured: format!("{:.0} alerts/s", phase.alerts_per_second),
                met: judge(phase.alerts_per_second >= TARGET_ALERTS_PER_SECOND),
            }),
            _ => targets.push(TargetResult {
                target: format!("single: ≥ {TARGET_SINGLES_PER_SECOND:.0} requests/s"),
                measured: format!("{:.0} requests/s", phase.stats.calls_per_second),
                met: judge(phase.stats.calls_per_second >= TARGET_SINGLES_PER_SECOND),
            }),
        }
        targets.push(TargetResult {
            target: format!("{}: p99 < {TARGET_P99_MS:.0} ms", phase.phase),
            measured: format!("{:.2} ms", phase.stats.p99_ms),
            met: judge(phase.stats.p99_ms < TARGET_P99_MS),
        });
    }
    targets.push(TargetResult {
        target: "server peak RSS < 100 MB".to_owned(),
        measured: format!(
            "{:.1} MB ({peak_rss_mib:.1} MiB)",
            peak_rss_mib * 1024.0 * 1024.0 / 1e6
        ),
        met: judge(peak_rss_mib * 1024.0 * 1024.0 < TARGET_RSS_BYTES),
    });
    targets
}

/// A statement's text for a table cell: one line, at most `max` characters, no pipes.
fn cell(text: &str, max: usize) -> String {
    let mut out: String = text.replace('|', "¦").chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

impl StormResult {
    /// The storm's section of the markdown report.
    pub(crate) fn markdown(&self, out: &mut String, synchronous_commit: &str) {
        let _ = writeln!(
            out,
            "\n## Alert storm\n\n\
             `POST /hooks/alertmanager/{}` on a release `firebreak serve --http --alerting FILE` \
             (a server per phase, product defaults: pool of 10 connections); one alertmanager \
             source, one route (`{}`, action declare, group_by {}). Alert g belongs to group \
             g % {} (alertname `Storm<g % {}>`, service `svc<g % {}>`) and has its own \
             fingerprint; consecutive alerts go to consecutive groups; a tenth of the alerts \
             sent are repeats of alerts already firing (5 per batch, every 10th single). \
             The alert tables start empty and unanalyzed (truncated, as on a fresh install); they are \
             analyzed between the phases (untimed), so the single phase runs with the statistics \
             a long-running server has. Commits are durable: synchronous_commit = \
             {synchronous_commit}. Each client has \
             one keep-alive HTTP/1.1 connection and runs a closed loop; latency is per request \
             (send to the whole answer); no warm-up (the groups' incidents are declared in the \
             first batches; *after 1 s* leaves out the requests that started in the first \
             second, for the settled storm). The p99 targets are judged on all requests. {}",
            self.source,
            self.route,
            self.group_by,
            self.groups,
            self.groups,
            self.groups,
            match self.seconds_per_phase {
                Some(s) => format!("Each phase runs {s:.0} s."),
                None => format!(
                    "Quick: {QUICK_BATCHES} batches and {QUICK_SINGLES} singles, correctness \
                     only (targets not judged)."
                ),
            }
        );
        let _ = writeln!(
            out,
            "\n| phase | clients | alerts/request | requests | alerts (new + repeats) | s | alerts/s | requests/s | p50 ms | p90 ms | p99 ms | p50 / p99 ms after 1 s | errors | peak RSS MiB |\n\
             |---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for p in &self.phases {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} ({} + {}) | {:.1} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {:.1} |",
                p.phase,
                p.clients,
                p.alerts_per_request,
                p.stats.calls,
                p.alerts,
                p.new_alerts,
                p.repeats,
                p.seconds,
                p.alerts_per_second,
                p.stats.calls_per_second,
                p.stats.p50_ms,
                p.stats.p90_ms,
                p.stats.p99_ms,
                if p.settled.calls == 0 {
                    "–".to_owned()
                } else {
                    format!("{:.2} / {:.2}", p.settled.p50_ms, p.settled.p99_ms)
                },
                p.stats.errors,
                p.peak_rss_mib
            );
        }
        for p in &self.phases {
            for message in &p.stats.error_messages {
                let _ = writeln!(out, "\n{} error: `{}`", p.phase, cell(message, 300));
            }
        }

        let _ = writeln!(
            out,
            "\n### Storm: what it cost\n\n\
             CPU during the phase (from `/proc/<pid>/stat`; 2 cores = 2 CPU-s per s): the \
             server, PostgreSQL (the postmaster and all its children; in brackets the server's \
             own backends + the other processes: autovacuum, checkpointer, WAL writer …) and the \
             benchmark's own clients. Database counters from `pg_stat_database` for the bench database (read \
             after the phase's server stopped, so its backends had flushed them) and \
             `pg_stat_wal` (cluster-wide), per request.\n\n\
             | phase | server CPU ms/request | PostgreSQL CPU ms/request | bench CPU ms/request | server cores busy | PostgreSQL cores busy | commits/request | rows inserted/request | rows updated/request | buffer hits/request | blocks read | WAL KiB/request | WAL fsyncs | statements/request |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for p in &self.phases {
            let requests = p.stats.calls.max(1) as f64;
            let per = |name: &str| {
                p.database
                    .get(name)
                    .map_or(f64::NAN, |v| *v as f64 / requests)
            };
            let fmt = |v: f64, digits: usize| {
                if v.is_nan() {
                    "n/a".to_owned()
                } else {
                    format!("{v:.digits$}")
                }
            };
            let postgres = p.cpu.postgres.unwrap_or(f64::NAN);
            let _ = writeln!(
                out,
                "| {} | {:.3} | {} | {:.3} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                p.phase,
                p.cpu.server * 1000.0 / requests,
                match p.firebreak_backends_cpu {
                    Some(own) if !postgres.is_nan() => format!(
                        "{:.3} ({:.3} + {:.3})",
                        postgres * 1000.0 / requests,
                        own * 1000.0 / requests,
                        (postgres - own).max(0.0) * 1000.0 / requests
                    ),
                    _ => fmt(postgres * 1000.0 / requests, 3),
                },
                p.cpu.bench * 1000.0 / requests,
                p.cpu.server / p.seconds,
                fmt(postgres / p.seconds, 2),
                fmt(per("xact_commit"), 2),
                fmt(per("tup_inserted"), 1),
                fmt(per("tup_updated"), 1),
                fmt(per("blks_hit"), 0),
                p.database
                    .get("blks_read")
                    .map_or_else(|| "n/a".to_owned(), ToString::to_string),
                fmt(per("wal_bytes") / 1024.0, 1),
                p.database
                    .get("wal_sync")
                    .map_or_else(|| "n/a".to_owned(), ToString::to_string),
                p.statements_per_request
                    .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.1}")),
            );
        }
        let _ = writeln!(
            out,
            "\nWhat the server's backends were doing (`pg_stat_activity`, sampled every {} ms; \
             mean number of backends per state, of the pool's 10):\n",
            WAIT_INTERVAL.as_millis()
        );
        for p in &self.phases {
            let states = p
                .backend_states
                .iter()
                .map(|s| format!("{} {:.2}", s.state, s.mean_backends))
                .collect::<Vec<_>>()
                .join("; ");
            let _ = writeln!(out, "- {} ({} samples): {states}", p.phase, p.wait_samples);
        }
        if self.pg_stat_statements {
            for p in &self.phases {
                let _ = writeln!(
                    out,
                    "\n#### Statements, {} (`pg_stat_statements`, most total time first)\n\n\
                     | calls/request | mean ms | total ms | rows/call | blocks/call | statement |\n\
                     |---:|---:|---:|---:|---:|---|",
                    p.phase
                );
                for s in p.statements.iter().flatten().take(15) {
                    let _ = writeln!(
                        out,
                        "| {:.2} | {:.3} | {:.0} | {:.1} | {:.1} | `{}` |",
                        s.calls_per_request,
                        s.mean_ms,
                        s.total_ms,
                        s.rows_per_call,
                        s.blocks_per_call,
                        cell(&s.query, 140)
                    );
                }
            }
        } else {
            let _ = writeln!(
                out,
                "\n`pg_stat_statements` is not preloaded on this server, so statements are not \
                 listed (set `shared_preload_libraries = 'pg_stat_statements'` to see them)."
            );
        }

        let _ = writeln!(
            out,
            "\n### Storm: correctness\n\n| check | expected | found | |\n|---|---:|---:|---|"
        );
        for c in &self.checks {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                c.check,
                c.expected,
                c.found,
                if c.ok { "ok" } else { "**FAILED**" }
            );
        }
        let _ = writeln!(
            out,
            "\n### Storm: targets\n\n| target | measured | |\n|---|---:|---|"
        );
        for t in &self.targets {
            let verdict = match t.met {
                Some(true) => "PASS",
                Some(false) => "**MISS**",
                None => "not judged (--quick)",
            };
            let _ = writeln!(out, "| {} | {} | {verdict} |", t.target, t.measured);
        }
        let _ = writeln!(out, "\nStorm errors: {}", self.errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firebreak::ingest::formats::{Envelope, Parsed};
    use firebreak::ingest::{SourceKind, config, parse};

    #[test]
    fn the_alerting_file_is_one_declaring_route_with_the_default_grouping() {
        let env = |name: &str| (name == SECRET_ENV).then(|| "0123456789abcdef-storm".to_owned());
        let alerting = config::parse(&alerting_file(), &env).unwrap();
        let source = alerting.source(SOURCE).unwrap();
        assert_eq!(source.kind, SourceKind::Alertmanager);
        let [route] = alerting.routing.routes.as_slice() else {
            panic!("one route expected");
        };
        assert_eq!(route.name, ROUTE);
        assert_eq!(route.group_by, ["source", "alertname", "service"]);
    }

    #[test]
    fn a_batch_parses_as_alertmanager_and_spreads_over_the_groups() {
        let payloads = Payloads::new();
        let alerts: Vec<u64> = (190..240).collect();
        let body = payloads.body(&alerts);
        let Ok(Parsed::Alerts(events)) =
            parse(SourceKind::Alertmanager, &body, Envelope::default())
        else {
            panic!("not an alertmanager batch");
        };
        assert_eq!(events.len(), BATCH);
        let env = |_: &str| Some("0123456789abcdef-storm".to_owned());
        let routing = config::parse(&alerting_file(), &env).unwrap().routing;
        let groups: HashSet<String> = events
            .iter()
            .map(|e| routing.route(SOURCE, e).group_key)
            .collect();
        assert_eq!(groups.len(), BATCH);
        assert!(groups.contains("source=storm,alertname=Storm0,service=svc0"));
        let keys: HashSet<&str> = events.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys.len(), BATCH, "fingerprints are distinct");
        assert_eq!(events[0].key, payloads.fingerprint(190));
    }
}
