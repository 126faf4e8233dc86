//! Timing: a closed loop of calls measured with `Instant`, after a warm-up, and percentiles
//! from the sorted samples (nearest rank). Every failed call is counted and its first
//! messages are kept for the report.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::workload::{Observed, Op, Tool, Workload};

/// How long to warm up and to measure each phase.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) warmup: Duration,
    pub(crate) measure: Duration,
}

/// Something that can perform a workload call: an MCP client, the use cases in-process, or
/// plain SQL. `prepare` runs before the clock starts; only `call` is timed.
pub(crate) trait Caller {
    type Prepared;

    fn prepare(&self, op: &Op) -> Self::Prepared;

    async fn call(&self, prepared: Self::Prepared) -> Result<Observed, String>;
}

/// The raw measurements of one phase.
#[derive(Debug, Default)]
pub(crate) struct Samples {
    latencies: Vec<Duration>,
    errors: u64,
    messages: Vec<String>,
    wall: Duration,
}

impl Samples {
    pub(crate) fn record(&mut self, latency: Duration, result: &Result<Observed, String>) {
        self.latencies.push(latency);
        if let Err(message) = result {
            self.error(message);
        }
    }

    pub(crate) fn error(&mut self, message: &str) {
        self.errors += 1;
        if self.messages.len() < 5 {
            self.messages.push(message.chars().take(300).collect());
        }
    }

    pub(crate) fn set_wall(&mut self, wall: Duration) {
        self.wall = wall;
    }

    pub(crate) fn wall(&self) -> Duration {
        self.wall
    }

    /// Folds another client's samples into these (same window).
    pub(crate) fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        for message in other.messages {
            if self.messages.len() < 5 {
                self.messages.push(message);
            }
        }
    }

    /// The statistics so far, keeping the samples.
    pub(crate) fn clone_stats(&self) -> Stats {
        Samples {
            latencies: self.latencies.clone(),
            errors: self.errors,
            messages: self.messages.clone(),
            wall: self.wall,
        }
        .stats()
    }

    pub(crate) fn stats(mut self) -> Stats {
        self.latencies.sort_unstable();
        let calls = self.latencies.len() as u64;
        let wall = self.wall.as_secs_f64();
        Stats {
            calls,
            errors: self.errors,
            p50_ms: percentile(&self.latencies, 0.50),
            p90_ms: percentile(&self.latencies, 0.90),
            p99_ms: percentile(&self.latencies, 0.99),
            calls_per_second: if wall > 0.0 { calls as f64 / wall } else { 0.0 },
            error_messages: self.messages,
        }
    }
}

/// What a phase measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Stats {
    pub(crate) calls: u64,
    pub(crate) errors: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) calls_per_second: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) error_messages: Vec<String>,
}

/// Nearest-rank percentile of sorted samples, in milliseconds.
fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// One call: prepare (untimed), call (timed), observe (untimed).
async fn one<C: Caller>(
    caller: &C,
    workload: &mut Workload,
    tool: Tool,
) -> (Duration, Result<Observed, String>) {
    let op = workload.op(tool);
    let prepared = caller.prepare(&op);
    let started = Instant::now();
    let result = caller.call(prepared).await;
    let latency = started.elapsed();
    if let Ok(observed) = &result {
        workload.observe(&op, observed.clone());
    }
    (latency, result)
}

/// Calls `tool` in a closed loop: warm-up, then `timing.measure` of recorded calls.
pub(crate) async fn phase<C: Caller>(
    caller: &C,
    workload: &mut Workload,
    tool: Tool,
    timing: Timing,
) -> Samples {
    let mut samples = Samples::default();
    let warm_until = Instant::now() + timing.warmup;
    while Instant::now() < warm_until {
        let (_, result) = one(caller, workload, tool).await;
        if let Err(message) = result {
            samples.error(&format!("warm-up: {message}"));
        }
    }
    let started = Instant::now();
    let until = started + timing.measure;
    while Instant::now() < until {
        let (latency, result) = one(caller, workload, tool).await;
        samples.record(latency, &result);
    }
    samples.set_wall(started.elapsed());
    samples
}

/// One client of a concurrent run: the mix until `until`, recording calls that start at or
/// after `from` (the others are warm-up).
pub(crate) async fn mixed_client<C: Caller>(
    caller: &C,
    workload: &mut Workload,
    from: Instant,
    until: Instant,
) -> Samples {
    let mut samples = Samples::default();
    loop {
        let started = Instant::now();
        if started >= until {
            break;
        }
        let tool = workload.mixed_tool();
        let (latency, result) = one(caller, workload, tool).await;
        if started >= from {
            samples.record(latency, &result);
        } else if let Err(message) = result {
            samples.error(&format!("warm-up: {message}"));
        }
    }
    samples
}
