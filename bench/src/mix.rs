//! Concurrent HTTP clients on the read/write mix, each its own rmcp client with its own share
//! of the open incidents, while the server's resident memory is sampled.

use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::cpu::CpuProbe;
use crate::measure::{Samples, Timing, mixed_client};
use crate::report::{MixResult, mib};
use crate::servers::{HttpServer, McpCaller, memory};
use crate::workload::{Target, Workload, open_targets};

/// How often the server's `VmRSS` is read during a concurrent run.
const RSS_INTERVAL: Duration = Duration::from_millis(50);

/// Runs `clients` concurrent clients for a warm-up and a measured window.
pub(crate) async fn run(
    server: &HttpServer,
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
    let mut connected = Vec::with_capacity(clients);
    for (k, share) in shares.into_iter().enumerate() {
        let client = server
            .client()
            .await
            .with_context(|| format!("connecting client {k} of {clients}"))?;
        let workload = Workload::new(
            1_000 + k as u64,
            seeded,
            share,
            format!("{tag}-c{clients}-{k}"),
        );
        connected.push((client, workload));
    }
    let stop_sampling = CancellationToken::new();
    let sampler = tokio::spawn(sample_rss(server.pid, stop_sampling.clone()));
    let from = Instant::now() + timing.warmup;
    let until = from + timing.measure;
    let mut tasks = Vec::with_capacity(clients);
    for (client, mut workload) in connected {
        tasks.push(tokio::spawn(async move {
            let samples = mixed_client(&McpCaller(&client), &mut workload, from, until).await;
            let _ = client.cancel().await;
            samples
        }));
    }
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
        cpu: cpu_before.per_call(&cpu_after, stats.calls),
        stats,
        max_rss_mib: mib(max_rss_kib),
    })
}

/// The largest `VmRSS` of `pid` until `stop`.
async fn sample_rss(pid: u32, stop: CancellationToken) -> u64 {
    let mut max = 0;
    loop {
        if let Ok(memory) = memory(pid) {
            max = max.max(memory.rss_kib);
        }
        tokio::select! {
            () = stop.cancelled() => return max,
            () = tokio::time::sleep(RSS_INTERVAL) => {}
        }
    }
}
