//! Concurrent clients on the read/write mix, each with its own share of the open incidents,
//! while the server's resident memory is sampled. The clients are lean HTTP clients (raw
//! JSON-RPC on one connection each: what is measured is the server), rmcp clients (what an
//! agent built on rmcp pays), or the mix floor (the same statements without MCP, through one
//! shared pool: what this machine's PostgreSQL allows).

use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::cpu::CpuProbe;
use crate::floor::FloorCaller;
use crate::lean::LeanHttp;
use crate::measure::{Samples, Timing, mixed_client};
use crate::report::MixResult;
use crate::servers::{HttpServer, McpCaller, mib, sample_rss};
use crate::workload::{Target, Workload, open_targets};

/// Who makes the calls.
pub(crate) enum Clients<'a> {
    /// Lean HTTP clients of `server`.
    Lean(&'a HttpServer),
    /// rmcp clients of `server`.
    Rmcp(&'a HttpServer),
    /// The mix floor, in-process.
    Floor(FloorCaller),
}

impl Clients<'_> {
    fn name(&self) -> &'static str {
        match self {
            Clients::Lean(_) => "lean HTTP",
            Clients::Rmcp(_) => "rmcp HTTP",
            Clients::Floor(_) => "mix floor (no MCP)",
        }
    }
}

/// Runs `clients` concurrent clients for a warm-up and a measured window.
pub(crate) async fn run(
    who: &Clients<'_>,
    probe: CpuProbe,
    clients: usize,
    pool: &PgPool,
    seeded: i64,
    timing: Timing,
    tag: &str,
) -> anyhow::Result<MixResult> {
    let targets = open_targets(pool, seeded).await?;
    let mut shares: Vec<Vec<Target>> = vec![Vec::new(); clients];
    for (index, target) in targets.into_iter().enumerate() {
        shares[index % clients].push(target);
    }
    let workloads: Vec<Workload> = shares
        .into_iter()
        .enumerate()
        .map(|(k, share)| {
            let name = format!("{tag}-{}-c{clients}-{k}", who.name().len());
            Workload::new(1_000 + k as u64, seeded, share, name)
        })
        .collect();
    let from = Instant::now() + timing.warmup + Duration::from_millis(200);
    let until = from + timing.measure;
    let tasks = spawn(who, workloads, from, until).await?;
    let stop_sampling = CancellationToken::new();
    let server_pid = match who {
        Clients::Lean(server) | Clients::Rmcp(server) => Some(server.pid),
        Clients::Floor(_) => None,
    };
    let sampler = tokio::spawn(sample_rss(server_pid, stop_sampling.clone()));
    tokio::time::sleep_until(from.into()).await;
    let cpu_before = probe.snapshot();
    tokio::time::sleep_until(until.into()).await;
    let cpu_after = probe.snapshot();
    let mut samples = Samples::default();
    for task in tasks {
        samples.merge(task.await?);
    }
    samples.set_wall(timing.measure);
    stop_sampling.cancel();
    let max_rss_kib = sampler.await?;
    let stats = samples.stats();
    Ok(MixResult {
        clients,
        client: who.name(),
        cpu: cpu_before.per_call(&cpu_after, stats.calls),
        stats,
        max_rss_mib: mib(max_rss_kib),
    })
}

/// Connects every client and starts its loop.
async fn spawn(
    who: &Clients<'_>,
    workloads: Vec<Workload>,
    from: Instant,
    until: Instant,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<Samples>>> {
    let clients = workloads.len();
    let mut tasks = Vec::with_capacity(clients);
    for (k, mut workload) in workloads.into_iter().enumerate() {
        let connecting = || format!("connecting client {k} of {clients}");
        let task = match who {
            Clients::Lean(server) => {
                let client = LeanHttp::connect(server).await.with_context(connecting)?;
                tokio::spawn(async move { mixed_client(&client, &mut workload, from, until).await })
            }
            Clients::Rmcp(server) => {
                let client = server.client().await.with_context(connecting)?;
                tokio::spawn(async move {
                    let samples =
                        mixed_client(&McpCaller(&client), &mut workload, from, until).await;
                    let _ = client.cancel().await;
                    samples
                })
            }
            Clients::Floor(floor) => {
                let floor = floor.clone();
                tokio::spawn(async move { mixed_client(&floor, &mut workload, from, until).await })
            }
        };
        tasks.push(task);
    }
    Ok(tasks)
}
