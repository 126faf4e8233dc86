//! Notifications (`--notifications-only`): what the outbox costs a write, and whether delivery
//! keeps up. A local webhook receiver runs inside the bench (hyper, HTTP/1.1, answers `204`,
//! records each request's arrival and `webhook-id`); the notifications file names it as one
//! `kind: webhook` target.
//!
//! *Write cost*: rounds of a release `firebreak serve --http` in three configurations, A B C A
//! B C …, so machine noise hits all of them: *without* `--notifications` (the bench first
//! retires every registered target, so the trigger's gate is false: no event is written);
//! *with* it (the server registers the target: every status change inserts an outbox row and
//! notifies the worker, which delivers it while the writes go on; the round waits until the
//! backlog is delivered before the server stops); and *trigger only*: without
//! `--notifications` but with the target left registered (the gate is true, the insert is
//! paid, no worker runs in this process, as on a replica another process delivers for;
//! afterwards its events are marked fanned out so the next round starts with no backlog).
//! Each round: one lean HTTP client making `change_status` calls (an event each) and
//! `add_timeline_entry` notes (no event, for reference), then 16 clients making
//! `change_status` calls on disjoint incidents.
//!
//! *Delivery*: with the target configured, clients paced to a fixed rate of `change_status`
//! calls; delivered/s, the lag from the event's `recorded_at` to the receiver, and the backlog
//! when the load stops; then a burst of outbox rows inserted in one statement and the time
//! until the receiver has every one.
//!
//! The bench retires every target again at the end, so other modes run with the gate false.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::database::BenchDatabase;
use crate::lean::LeanHttp;
use crate::measure::{Caller, Samples, Stats, Timing, phase};
use crate::servers::HttpServer;
use crate::workload::{Target, Tool, Workload, open_targets};

/// The variable the notifications file names for the webhook's signing secret.
const SECRET_ENV: &str = "FIREBREAK_BENCH_WEBHOOK_SECRET";
/// A Standard Webhooks secret (24 bytes, base64), for the child only.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Clients of the concurrent write phase.
const CONCURRENT_CLIENTS: usize = 16;
/// Calls before each single-client measurement, not recorded.
const WARMUP_CALLS: usize = 50;
/// Clients that share the paced load.
const PACED_CLIENTS: usize = 8;
/// How long the receiver may take to see everything once the load stops.
const DRAIN_PATIENCE: Duration = Duration::from_secs(180);
/// The targets of the issue.
const TARGET_RATIO: f64 = 1.10;
const TARGET_EVENTS_PER_SECOND: f64 = 200.0;

/// How the mode runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotificationOptions {
    /// Rounds of the write-cost comparison (each: one server without, one with).
    pub(crate) rounds: usize,
    /// Single-client calls per tool and configuration, over all rounds.
    pub(crate) calls: usize,
    /// Seconds of the 16-client phase per round.
    pub(crate) concurrent_seconds: f64,
    /// Events per second of the paced load.
    pub(crate) rate: f64,
    /// Seconds of the paced load.
    pub(crate) seconds: f64,
    /// Outbox rows inserted at once.
    pub(crate) burst: i64,
}

/// Everything the mode measured.
#[derive(Debug, Serialize)]
pub(crate) struct NotificationsResult {
    pub(crate) target: String,
    pub(crate) rounds: usize,
    pub(crate) client: &'static str,
    /// How the configurations were made.
    pub(crate) configurations: &'static str,
    pub(crate) writes: Vec<WriteCost>,
    pub(crate) delivery: Delivery,
    pub(crate) targets: Vec<crate::storm::TargetResult>,
    /// Failed calls, missing deliveries and wrong event counts.
    pub(crate) errors: u64,
}

/// One write, without and with a target.
#[derive(Debug, Serialize)]
pub(crate) struct WriteCost {
    pub(crate) write: String,
    pub(crate) clients: usize,
    pub(crate) events_per_call: bool,
    pub(crate) without: Stats,
    pub(crate) trigger_only: Stats,
    pub(crate) with: Stats,
    /// p50 ÷ p50 without, over every round's samples.
    pub(crate) trigger_only_p50_ratio: f64,
    pub(crate) with_p50_ratio: f64,
    pub(crate) with_p99_ratio: f64,
    /// The same per round.
    pub(crate) trigger_only_round_p50_ratios: Vec<f64>,
    pub(crate) with_round_p50_ratios: Vec<f64>,
    /// Outbox rows written during the phases, per configuration.
    pub(crate) events_without: i64,
    pub(crate) events_trigger_only: i64,
    pub(crate) events_with: i64,
}

/// The paced load and the burst.
#[derive(Debug, Serialize)]
pub(crate) struct Delivery {
    pub(crate) clients: usize,
    pub(crate) rate: f64,
    pub(crate) seconds: f64,
    /// Event-producing writes that succeeded, and their latency.
    pub(crate) events: u64,
    pub(crate) writes: Stats,
    pub(crate) events_per_second: f64,
    /// Deliveries the receiver got while the load ran, per second.
    pub(crate) delivered_per_second: f64,
    /// Receiver arrival − the event's `recorded_at`, first arrival per event.
    pub(crate) lag_p50_ms: f64,
    pub(crate) lag_p99_ms: f64,
    pub(crate) lag_max_ms: f64,
    /// Where the lag goes (p50, ms): `recorded_at` → delivery row created (fan-out), →
    /// first attempt started (claim); and the send (mean of the ledger's `latency_ms`).
    pub(crate) fan_out_p50_ms: f64,
    pub(crate) claim_p50_ms: f64,
    pub(crate) send_p50_ms: f64,
    /// When the load stopped: events not yet fanned out, and deliveries pending.
    pub(crate) backlog_events: i64,
    pub(crate) backlog_deliveries: i64,
    /// Seconds from the load's end until the receiver had every event.
    pub(crate) drained_after_seconds: Option<f64>,
    pub(crate) received: u64,
    pub(crate) missing: u64,
    /// Requests for an event already received (at-least-once).
    pub(crate) duplicates: u64,
    pub(crate) burst: i64,
    pub(crate) burst_insert_ms: f64,
    /// Seconds from the burst's commit until the receiver had every event of it.
    pub(crate) burst_seconds: Option<f64>,
    pub(crate) burst_events_per_second: Option<f64>,
    pub(crate) burst_missing: u64,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Arrival {
    at: DateTime<Utc>,
    webhook_id: String,
}

/// The local webhook receiver.
#[derive(Clone)]
struct Receiver {
    port: u16,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    stop: CancellationToken,
}

impl Receiver {
    async fn start() -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let receiver = Receiver {
            port,
            arrivals: Arc::new(Mutex::new(Vec::new())),
            stop: CancellationToken::new(),
        };
        let accepting = receiver.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = accepting.stop.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((stream, _)) = accepted else { continue };
                let arrivals = Arc::clone(&accepting.arrivals);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let arrivals = Arc::clone(&arrivals);
                        answer(request, arrivals)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(receiver)
    }

    fn count(&self) -> usize {
        self.arrivals.lock().map_or(0, |a| a.len())
    }

    fn since(&self, from: usize) -> Vec<Arrival> {
        self.arrivals
            .lock()
            .map(|a| a.get(from..).unwrap_or_default().to_vec())
            .unwrap_or_default()
    }

    /// Distinct webhook ids of `wanted` seen since `from`.
    fn seen(&self, from: usize, wanted: &HashSet<String>) -> usize {
        let arrivals = self.since(from);
        arrivals
            .iter()
            .filter(|a| wanted.contains(&a.webhook_id))
            .map(|a| a.webhook_id.as_str())
            .collect::<HashSet<_>>()
            .len()
    }
}

/// Reads the whole request, records it, answers `204`.
async fn answer(
    request: hyper::Request<Incoming>,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
) -> Result<hyper::Response<Empty<Bytes>>, hyper::Error> {
    let webhook_id = request
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let _body = request.into_body().collect().await?;
    let at = Utc::now();
    if let Ok(mut arrivals) = arrivals.lock() {
        arrivals.push(Arrival { at, webhook_id });
    }
    let mut response = hyper::Response::new(Empty::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

fn notifications_file(target: &str, port: u16) -> String {
    format!(
        "# Written by firebreak-bench for --notifications-only.\n\
         delivery: {{timeout: 5s}}\n\
         targets:\n  - name: {target}\n    kind: webhook\n    \
         url: http://127.0.0.1:{port}/hook\n    secret_env: {SECRET_ENV}\n"
    )
}

/// Without or with the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Config {
    Without,
    With,
    TriggerOnly,
}

impl Config {
    fn name(self) -> &'static str {
        match self {
            Config::Without => "without",
            Config::With => "with",
            Config::TriggerOnly => "trigger-only",
        }
    }
}

/// What every phase shares.
struct Setup<'a> {
    firebreak: &'a Path,
    url: &'a str,
    logs: &'a Path,
    file: std::path::PathBuf,
    pool: &'a PgPool,
    seeded: i64,
    tag: String,
    target: String,
}

impl Setup<'_> {
    async fn start(&self, config: Config, name: &str) -> anyhow::Result<HttpServer> {
        let log = self.logs.join(format!("notifications-{name}-server.log"));
        match config {
            Config::Without => {
                retire_targets(self.pool).await?;
                HttpServer::start(self.firebreak, self.url, &log).await
            }
            Config::TriggerOnly => {
                sqlx::query("update notification_target set retired_at = null where name = $1")
                    .bind(&self.target)
                    .execute(self.pool)
                    .await?;
                HttpServer::start(self.firebreak, self.url, &log).await
            }
            Config::With => {
                HttpServer::start_with(
                    self.firebreak,
                    self.url,
                    &log,
                    &[OsStr::new("--notifications"), self.file.as_os_str()],
                    &[(SECRET_ENV, SECRET)],
                )
                .await
            }
        }
    }
}

/// Marks every target retired: the trigger records no event.
async fn retire_targets(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("update notification_target set retired_at = now() where retired_at is null")
        .execute(pool)
        .await?;
    Ok(())
}

async fn event_count(pool: &PgPool) -> anyhow::Result<i64> {
    let (count,): (i64,) = sqlx::query_as("select count(*) from notification_event")
        .fetch_one(pool)
        .await?;
    Ok(count)
}

/// Samples of one write in one configuration, over the rounds.
#[derive(Default)]
struct Collected {
    samples: Samples,
    rounds: Vec<Stats>,
    events: i64,
    wall: Duration,
}

impl Collected {
    fn add(&mut self, samples: Samples, events: i64) {
        self.rounds.push(samples.clone_stats());
        self.wall += samples.wall();
        self.samples.merge(samples);
        self.events += events;
    }

    fn stats(mut self) -> Stats {
        self.samples.set_wall(self.wall);
        self.samples.stats()
    }
}

/// Runs the write-cost rounds, then the delivery phases.
pub(crate) async fn run(
    firebreak: &Path,
    db: &BenchDatabase,
    pool: &PgPool,
    logs: &Path,
    seeded: i64,
    options: NotificationOptions,
) -> anyhow::Result<NotificationsResult> {
    if options.rounds == 0 || options.calls < options.rounds {
        bail!("--notification-rounds must be positive and at most --notification-calls");
    }
    let receiver = Receiver::start().await?;
    let tag = format!("{:x}", Utc::now().timestamp());
    // A name of this run's own: deliveries left pending by an earlier run (another port) stay
    // with their old target, which registering this one retires.
    let target = format!("bench-{tag}");
    let file = logs.join("notifications.yaml");
    std::fs::write(&file, notifications_file(&target, receiver.port))
        .with_context(|| format!("writing {}", file.display()))?;
    let setup = Setup {
        firebreak,
        url: &db.url,
        logs,
        file,
        pool,
        seeded,
        tag,
        target: target.clone(),
    };
    let result = measure(&setup, &receiver, &target, options).await;
    // Whatever happened: later runs of other modes measure the gate false.
    retire_targets(pool).await?;
    receiver.stop.cancel();
    result
}

async fn measure(
    setup: &Setup<'_>,
    receiver: &Receiver,
    target: &str,
    options: NotificationOptions,
) -> anyhow::Result<NotificationsResult> {
    let per_round = options.calls / options.rounds;
    let concurrent = Timing {
        warmup: Duration::from_millis(500),
        measure: Duration::from_secs_f64(options.concurrent_seconds),
    };
    // [write][config]: change_status, note, 16 × change_status.
    let mut collected: [[Collected; 3]; 3] = Default::default();
    let mut errors = 0;
    for round in 0..options.rounds {
        for config in [Config::Without, Config::With, Config::TriggerOnly] {
            crate::say(&format!(
                "notifications, round {} of {}: {} the target …",
                round + 1,
                options.rounds,
                config.name()
            ));
            let server = setup
                .start(config, &format!("{}-{round}", config.name()))
                .await?;
            let c = config as usize;
            let client = LeanHttp::connect(&server).await?;
            let mut workload = Workload::new(
                round as u64,
                setup.seeded,
                open_targets(setup.pool, setup.seeded).await?,
                format!("{}-n{round}{}", setup.tag, config.name()),
            );
            for (w, tool) in [(0, Tool::ChangeStatus), (1, Tool::AddEntry)] {
                let before = event_count(setup.pool).await?;
                let samples = calls(&client, &mut workload, tool, per_round).await;
                let events = event_count(setup.pool).await? - before;
                say_round(tool.label(), 1, config, &samples.clone_stats(), events);
                collected[w][c].add(samples, events);
            }
            let before = event_count(setup.pool).await?;
            let samples = concurrent_calls(&server, setup, concurrent).await?;
            let events = event_count(setup.pool).await? - before;
            say_round(
                "change_status",
                CONCURRENT_CLIENTS,
                config,
                &samples.clone_stats(),
                events,
            );
            collected[2][c].add(samples, events);
            match config {
                Config::With => {
                    // The next round starts with no backlog.
                    if drain(setup.pool, target).await?.is_none() {
                        crate::say("  notifications: the backlog was not delivered in time");
                        errors += 1;
                    }
                }
                Config::TriggerOnly => {
                    // Sent to no one: the next `with` round must not deliver them.
                    sqlx::query(
                        "update notification_event set fanned_out_at = now() \
                          where fanned_out_at is null",
                    )
                    .execute(setup.pool)
                    .await?;
                }
                Config::Without => {}
            }
            server.stop().await?;
        }
    }
    let mut writes = Vec::new();
    for (w, [without, with, trigger_only]) in collected.into_iter().enumerate() {
        let (write, clients, events_per_call) = match w {
            0 => ("change_status", 1, true),
            1 => ("add_timeline_entry (note)", 1, false),
            _ => ("change_status", CONCURRENT_CLIENTS, true),
        };
        let ratios = |other: &Collected| -> Vec<f64> {
            without
                .rounds
                .iter()
                .zip(&other.rounds)
                .map(|(a, b)| b.p50_ms / a.p50_ms.max(f64::MIN_POSITIVE))
                .collect()
        };
        let with_round_p50_ratios = ratios(&with);
        let trigger_only_round_p50_ratios = ratios(&trigger_only);
        let (without_events, with_events, trigger_only_events) =
            (without.events, with.events, trigger_only.events);
        let (without_stats, with_stats, trigger_only_stats) =
            (without.stats(), with.stats(), trigger_only.stats());
        errors += without_stats.errors + with_stats.errors + trigger_only_stats.errors;
        // Gate false: nothing recorded. Gate true: one event per status change.
        let expected_with = if events_per_call {
            with_events > 0
        } else {
            with_events == 0
        };
        if without_events != 0 || !expected_with || (trigger_only_events > 0) != events_per_call {
            crate::say(&format!(
                "  notifications check FAILED: {write}: {without_events} events without, \
                 {with_events} with, {trigger_only_events} trigger only"
            ));
            errors += 1;
        }
        writes.push(WriteCost {
            write: write.to_owned(),
            clients,
            events_per_call,
            trigger_only_p50_ratio: trigger_only_stats.p50_ms
                / without_stats.p50_ms.max(f64::MIN_POSITIVE),
            with_p50_ratio: with_stats.p50_ms / without_stats.p50_ms.max(f64::MIN_POSITIVE),
            with_p99_ratio: with_stats.p99_ms / without_stats.p99_ms.max(f64::MIN_POSITIVE),
            trigger_only_round_p50_ratios,
            with_round_p50_ratios,
            without: without_stats,
            trigger_only: trigger_only_stats,
            with: with_stats,
            events_without: without_events,
            events_trigger_only: trigger_only_events,
            events_with: with_events,
        });
    }
    for w in &writes {
        crate::say(&format!(
            "  {:<26} {:>2} client(s)  p50 without {:.3} ms, trigger only {:.3} ms ({:.3}×), \
             with {:.3} ms ({:.3}×); p99 {:.3} / {:.3} / {:.3} ms",
            w.write,
            w.clients,
            w.without.p50_ms,
            w.trigger_only.p50_ms,
            w.trigger_only_p50_ratio,
            w.with.p50_ms,
            w.with_p50_ratio,
            w.without.p99_ms,
            w.trigger_only.p99_ms,
            w.with.p99_ms
        ));
    }

    let delivery = delivery(setup, receiver, target, options).await?;
    errors += delivery.writes.errors + delivery.missing + delivery.burst_missing;
    let targets = judge(&writes, &delivery);
    Ok(NotificationsResult {
        target: target.to_owned(),
        rounds: options.rounds,
        client: "lean HTTP (raw JSON-RPC, one keep-alive connection per client)",
        configurations: "without: every target marked retired before a server without \
             --notifications starts (the trigger's gate is false: no event is written); \
             trigger only: the same server with the target left registered (the gate is true: \
             one outbox insert and a pg_notify per event, no worker in this process); with: \
             serve --notifications FILE (the gate is true and the server's worker delivers while \
             the writes run)",
        writes,
        delivery,
        targets,
        errors,
    })
}

fn say_round(write: &str, clients: usize, config: Config, stats: &Stats, events: i64) {
    crate::say(&format!(
        "  {write:<26} {clients:>2} client(s) {:<7} p50 {:.3} ms  p99 {:.3} ms  {:.0}/s  \
         events {events}  errors {}",
        config.name(),
        stats.p50_ms,
        stats.p99_ms,
        stats.calls_per_second,
        stats.errors
    ));
    for message in &stats.error_messages {
        crate::say(&format!("    {message}"));
    }
}

/// `n` calls of `tool` after a few unrecorded ones.
async fn calls<C: Caller>(caller: &C, workload: &mut Workload, tool: Tool, n: usize) -> Samples {
    let mut samples = Samples::default();
    let mut started_at = Instant::now();
    for k in 0..WARMUP_CALLS + n {
        if k == WARMUP_CALLS {
            started_at = Instant::now();
        }
        let op = workload.op(tool);
        let prepared = caller.prepare(&op);
        let started = Instant::now();
        let result = caller.call(prepared).await;
        let latency = started.elapsed();
        if let Ok(observed) = &result {
            workload.observe(&op, observed.clone());
        }
        if k >= WARMUP_CALLS {
            samples.record(latency, &result);
        } else if let Err(message) = &result {
            samples.error(&format!("warm-up: {message}"));
        }
    }
    samples.set_wall(started_at.elapsed());
    samples
}

/// The open incidents split into `clients` disjoint shares.
async fn shares(setup: &Setup<'_>, clients: usize) -> anyhow::Result<Vec<Vec<Target>>> {
    let mut shares: Vec<Vec<Target>> = vec![Vec::new(); clients];
    for (index, target) in open_targets(setup.pool, setup.seeded)
        .await?
        .into_iter()
        .enumerate()
    {
        shares[index % clients].push(target);
    }
    Ok(shares)
}

/// 16 clients making `change_status` calls in closed loops, each on incidents of its own.
async fn concurrent_calls(
    server: &HttpServer,
    setup: &Setup<'_>,
    timing: Timing,
) -> anyhow::Result<Samples> {
    let mut tasks = Vec::new();
    for (k, share) in shares(setup, CONCURRENT_CLIENTS)
        .await?
        .into_iter()
        .enumerate()
    {
        let client = LeanHttp::connect(server).await?;
        let mut workload = Workload::new(
            500 + k as u64,
            setup.seeded,
            share,
            format!("{}-nc{k}", setup.tag),
        );
        tasks.push(tokio::spawn(async move {
            phase(&client, &mut workload, Tool::ChangeStatus, timing).await
        }));
    }
    let mut samples = Samples::default();
    for task in tasks {
        samples.merge(task.await?);
    }
    samples.set_wall(timing.measure);
    Ok(samples)
}

/// The paced load, the drain, then the burst, on one server with the target.
async fn delivery(
    setup: &Setup<'_>,
    receiver: &Receiver,
    target: &str,
    options: NotificationOptions,
) -> anyhow::Result<Delivery> {
    crate::say(&format!(
        "notifications, delivery: {} change_status calls/s for {:.0} s from {PACED_CLIENTS} \
         clients …",
        options.rate, options.seconds
    ));
    let server = setup.start(Config::With, "delivery").await?;
    if drain(setup.pool, target).await?.is_none() {
        bail!("the backlog of earlier phases was not delivered within {DRAIN_PATIENCE:?}");
    }
    let mut clients = Vec::new();
    for share in shares(setup, PACED_CLIENTS).await? {
        clients.push((LeanHttp::connect(&server).await?, share));
    }
    let from = receiver.count();
    let started_utc = Utc::now();
    let started = Instant::now() + Duration::from_millis(100);
    let length = Duration::from_secs_f64(options.seconds);
    let interval = Duration::from_secs_f64(PACED_CLIENTS as f64 / options.rate);
    let mut tasks = Vec::new();
    for (k, (client, share)) in clients.into_iter().enumerate() {
        let mut workload = Workload::new(
            900 + k as u64,
            setup.seeded,
            share,
            format!("{}-nd{k}", setup.tag),
        );
        let offset = interval.mul_f64(k as f64 / PACED_CLIENTS as f64);
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::default();
            let mut next = started + offset;
            while next < started + length {
                tokio::time::sleep_until(next.into()).await;
                let op = workload.op(Tool::ChangeStatus);
                let prepared = client.prepare(&op);
                let begun = Instant::now();
                let result = client.call(prepared).await;
                samples.record(begun.elapsed(), &result);
                if let Ok(observed) = &result {
                    workload.observe(&op, observed.clone());
                }
                // Open loop: a late call does not move the schedule.
                next += interval;
            }
            samples
        }));
    }
    let mut samples = Samples::default();
    for task in tasks {
        samples.merge(task.await?);
    }
    let load_ended = Instant::now();
    let ended_utc = Utc::now();
    let wall = load_ended.saturating_duration_since(started);
    samples.set_wall(wall);
    let (backlog_events, backlog_deliveries): (i64, i64) = sqlx::query_as(
        "select (select count(*) from notification_event where fanned_out_at is null), \
                (select count(*) from notification_delivery \
                  where target = $1 and state = 'pending')",
    )
    .bind(target)
    .fetch_one(setup.pool)
    .await?;
    let writes = samples.stats();
    // The events the load recorded, by webhook id.
    let recorded: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "select 'msg_' || replace(id::text, '-', ''), recorded_at from notification_event \
          where recorded_at >= $1 and recorded_at <= $2",
    )
    .bind(started_utc)
    .bind(ended_utc)
    .fetch_all(setup.pool)
    .await?;
    let recorded: HashMap<String, DateTime<Utc>> = recorded.into_iter().collect();
    let wanted: HashSet<String> = recorded.keys().cloned().collect();
    let drained_after_seconds = wait_for(receiver, from, &wanted, load_ended).await;
    let arrivals = receiver.since(from);
    let window_end = ended_utc;
    let in_window = arrivals
        .iter()
        .filter(|a| wanted.contains(&a.webhook_id) && a.at <= window_end)
        .count();
    let mut first: HashMap<&str, DateTime<Utc>> = HashMap::new();
    let mut duplicates = 0;
    for arrival in arrivals.iter().filter(|a| wanted.contains(&a.webhook_id)) {
        if first.insert(&arrival.webhook_id, arrival.at).is_some() {
            duplicates += 1;
        }
    }
    let mut lags: Vec<f64> = first
        .iter()
        .filter_map(|(id, at)| {
            recorded
                .get(*id)
                .map(|r| (*at - *r).num_microseconds().unwrap_or(0) as f64 / 1000.0)
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    let (fan_out_p50_ms, claim_p50_ms, send_p50_ms): (f64, f64, f64) = sqlx::query_as(
        "select coalesce(percentile_cont(0.5) within group (order by extract(epoch from \
                    d.created_at - e.recorded_at)), 0) * 1000, \
                coalesce(percentile_cont(0.5) within group (order by extract(epoch from \
                    a.started_at - d.created_at)), 0) * 1000, \
                coalesce(avg(a.latency_ms), 0)::float8 \
           from notification_event e \
           join notification_delivery d on d.event_id = e.id and d.target = $3 \
           join notification_attempt a on a.delivery_id = d.id and a.attempt = 1 \
          where e.recorded_at >= $1 and e.recorded_at <= $2",
    )
    .bind(started_utc)
    .bind(ended_utc)
    .bind(target)
    .fetch_one(setup.pool)
    .await?;
    let received = first.len() as u64;
    let missing = wanted.len() as u64 - received;
    let events = writes.calls - writes.errors;
    if events != wanted.len() as u64 {
        crate::say(&format!(
            "  notifications: {events} status changes succeeded, {} events recorded",
            wanted.len()
        ));
    }

    crate::say(&format!(
        "notifications, burst: {} events inserted in one statement …",
        options.burst
    ));
    let burst_from = receiver.count();
    let insert_started = Instant::now();
    let mut tx = setup.pool.begin().await?;
    let ids: Vec<(String,)> = sqlx::query_as(
        "insert into notification_event (id, incident_id, entry_id, kind, body, data, incident, \
                                         occurred_at, recorded_at) \
         select gen_random_uuid(), i.id, null, 'severity_change', \
                'Severity changed from SEV3 to SEV2', \
                '{\"field\": \"severity\", \"from\": \"SEV3\", \"to\": \"SEV2\"}'::jsonb, \
                jsonb_build_object('number', i.number, 'title', i.title, 'severity', 2, \
                                   'status', i.status, 'services', to_jsonb(i.services), \
                                   'commander', null), \
                now(), now() \
           from incident i order by i.number limit $1 \
         returning 'msg_' || replace(id::text, '-', '')",
    )
    .bind(options.burst)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("select pg_notify('firebreak_notifications', '')")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let committed = Instant::now();
    let burst_insert_ms = (committed - insert_started).as_secs_f64() * 1000.0;
    let burst_ids: HashSet<String> = ids.into_iter().map(|(id,)| id).collect();
    let burst_seconds = wait_for(receiver, burst_from, &burst_ids, committed).await;
    let burst_missing = (burst_ids.len() - receiver.seen(burst_from, &burst_ids)) as u64;
    server.stop().await?;
    let result = Delivery {
        clients: PACED_CLIENTS,
        rate: options.rate,
        seconds: wall.as_secs_f64(),
        events,
        events_per_second: events as f64 / wall.as_secs_f64(),
        delivered_per_second: in_window as f64 / wall.as_secs_f64(),
        writes,
        lag_p50_ms: nearest(&lags, 0.50),
        lag_p99_ms: nearest(&lags, 0.99),
        lag_max_ms: lags.last().copied().unwrap_or_default(),
        fan_out_p50_ms,
        claim_p50_ms,
        send_p50_ms,
        backlog_events,
        backlog_deliveries,
        drained_after_seconds,
        received,
        missing,
        duplicates,
        burst: burst_ids.len() as i64,
        burst_insert_ms,
        burst_events_per_second: burst_seconds.map(|s| burst_ids.len() as f64 / s),
        burst_seconds,
        burst_missing,
    };
    crate::say(&format!(
        "  {:.0} events/s written, {:.0}/s delivered during the load; lag p50 {:.1} ms p99 \
         {:.1} ms; backlog at the end {} events + {} deliveries; drained {:.2} s later; burst \
         of {} drained in {:.2} s ({:.0}/s)",
        result.events_per_second,
        result.delivered_per_second,
        result.lag_p50_ms,
        result.lag_p99_ms,
        result.backlog_events,
        result.backlog_deliveries,
        result.drained_after_seconds.unwrap_or(f64::NAN),
        result.burst,
        result.burst_seconds.unwrap_or(f64::NAN),
        result.burst_events_per_second.unwrap_or(f64::NAN)
    ));
    Ok(result)
}

/// Waits until the receiver has seen every id of `wanted`; the seconds from `since` until the
/// last one's arrival was observed (polled every 10 ms), or `None` after [`DRAIN_PATIENCE`].
async fn wait_for(
    receiver: &Receiver,
    from: usize,
    wanted: &HashSet<String>,
    since: Instant,
) -> Option<f64> {
    let mut checked = from;
    let mut seen: HashSet<String> = HashSet::new();
    loop {
        let now = receiver.count();
        for arrival in receiver.since(checked) {
            if wanted.contains(&arrival.webhook_id) {
                seen.insert(arrival.webhook_id);
            }
        }
        checked = now.max(checked);
        if seen.len() >= wanted.len() {
            return Some(since.elapsed().as_secs_f64());
        }
        if since.elapsed() > DRAIN_PATIENCE {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until no event waits to be fanned out and no delivery to `target` is pending; the
/// seconds it took, or `None` after [`DRAIN_PATIENCE`].
async fn drain(pool: &PgPool, target: &str) -> anyhow::Result<Option<f64>> {
    let started = Instant::now();
    loop {
        let (left,): (i64,) = sqlx::query_as(
            "select (select count(*) from notification_event where fanned_out_at is null) \
                  + (select count(*) from notification_delivery \
                      where target = $1 and state = 'pending')",
        )
        .bind(target)
        .fetch_one(pool)
        .await?;
        if left == 0 {
            return Ok(Some(started.elapsed().as_secs_f64()));
        }
        if started.elapsed() > DRAIN_PATIENCE {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Nearest-rank percentile of sorted values.
fn nearest(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn judge(writes: &[WriteCost], delivery: &Delivery) -> Vec<crate::storm::TargetResult> {
    let mut targets = Vec::new();
    if let Some(single) = writes.iter().find(|w| w.events_per_call && w.clients == 1) {
        targets.push(crate::storm::TargetResult {
            target: "change_status p50, trigger only ≤ 1.10 × without (one client)".to_owned(),
            measured: format!(
                "{:.3} ms vs {:.3} ms: {:.3}×",
                single.trigger_only.p50_ms, single.without.p50_ms, single.trigger_only_p50_ratio
            ),
            met: Some(single.trigger_only_p50_ratio <= TARGET_RATIO),
        });
        targets.push(crate::storm::TargetResult {
            target: "change_status p50, with the worker in the same server ≤ 1.10 × without \
                     (one client)"
                .to_owned(),
            measured: format!(
                "{:.3} ms vs {:.3} ms: {:.3}×",
                single.with.p50_ms, single.without.p50_ms, single.with_p50_ratio
            ),
            met: Some(single.with_p50_ratio <= TARGET_RATIO),
        });
    }
    targets.push(crate::storm::TargetResult {
        target: "delivery keeps up with 200 events/s".to_owned(),
        measured: format!(
            "{:.0} events/s written, {:.0}/s delivered, backlog {} at the end; burst drained \
             at {}",
            delivery.events_per_second,
            delivery.delivered_per_second,
            delivery.backlog_events + delivery.backlog_deliveries,
            delivery
                .burst_events_per_second
                .map_or_else(|| "– (not drained)".to_owned(), |r| format!("{r:.0}/s"))
        ),
        met: Some(
            delivery.events_per_second >= TARGET_EVENTS_PER_SECOND * 0.97
                && delivery.delivered_per_second >= TARGET_EVENTS_PER_SECOND * 0.95
                && delivery.missing == 0
                && delivery
                    .burst_events_per_second
                    .is_some_and(|r| r >= TARGET_EVENTS_PER_SECOND),
        ),
    });
    targets
}

impl NotificationsResult {
    pub(crate) fn markdown(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n## Notifications\n\n\
             One `kind: webhook` target (`{}`) on a receiver inside the bench (answers 204). \
             Clients: {}. Configurations: {}. {} rounds, without, with and trigger only in \
             each; percentiles over every round's samples; ratios are p50 ÷ p50 without.\n\n\
             | write | clients | events (without / trigger only / with) | p50 ms without | p50 ms trigger only | ratio | per round | p50 ms with | ratio | per round | p99 ms without / trigger only / with | errors |\n\
             |---|---:|---|---:|---:|---:|---|---:|---:|---|---|---:|",
            self.target, self.client, self.configurations, self.rounds
        );
        for w in &self.writes {
            let per_round = |ratios: &[f64]| {
                ratios
                    .iter()
                    .map(|r| format!("{r:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} / {} / {} | {:.3} | {:.3} | **{:.3}×** | {} | {:.3} | **{:.3}×** | {} | {:.3} / {:.3} / {:.3} | {} |",
                w.write,
                w.clients,
                w.events_without,
                w.events_trigger_only,
                w.events_with,
                w.without.p50_ms,
                w.trigger_only.p50_ms,
                w.trigger_only_p50_ratio,
                per_round(&w.trigger_only_round_p50_ratios),
                w.with.p50_ms,
                w.with_p50_ratio,
                per_round(&w.with_round_p50_ratios),
                w.without.p99_ms,
                w.trigger_only.p99_ms,
                w.with.p99_ms,
                w.without.errors + w.with.errors + w.trigger_only.errors
            );
        }
        let d = &self.delivery;
        let drained =
            |s: Option<f64>| s.map_or_else(|| "not drained".to_owned(), |s| format!("{s:.2} s"));
        let _ = writeln!(
            out,
            "\n| delivery | value |\n|---|---:|\n\
             | paced load | {} clients, {:.0} change_status calls/s for {:.1} s |\n\
             | events written | {} ({:.0}/s; write p50 {:.3} ms, p99 {:.3} ms) |\n\
             | delivered during the load | {:.0}/s |\n\
             | lag (arrival − recorded_at) p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |\n\
             | of which: fan-out p50 / claim p50 / send (ledger mean) | {:.1} / {:.1} / {:.1} ms |\n\
             | backlog when the load stopped | {} events not fanned out, {} deliveries pending |\n\
             | all delivered | {} after the load stopped; {} received, {} missing, {} duplicates |\n\
             | burst | {} events inserted in one statement ({:.0} ms) |\n\
             | burst drained | {} ({}) |",
            d.clients,
            d.rate,
            d.seconds,
            d.events,
            d.events_per_second,
            d.writes.p50_ms,
            d.writes.p99_ms,
            d.delivered_per_second,
            d.lag_p50_ms,
            d.lag_p99_ms,
            d.lag_max_ms,
            d.fan_out_p50_ms,
            d.claim_p50_ms,
            d.send_p50_ms,
            d.backlog_events,
            d.backlog_deliveries,
            drained(d.drained_after_seconds),
            d.received,
            d.missing,
            d.duplicates,
            d.burst,
            d.burst_insert_ms,
            drained(d.burst_seconds),
            d.burst_events_per_second
                .map_or_else(|| "–".to_owned(), |r| format!("{r:.0} events/s")),
        );
        let _ = writeln!(out, "\n| target | measured | |\n|---|---|---|");
        for t in &self.targets {
            let verdict = match t.met {
                Some(true) => "PASS",
                Some(false) => "MISS",
                None => "not judged",
            };
            let _ = writeln!(out, "| {} | {} | {verdict} |", t.target, t.measured);
        }
    }
}
