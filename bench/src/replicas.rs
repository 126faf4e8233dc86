//! Replicas behind nginx (`--replicas 1,2,3`): the HTTP read/write mix through nginx, configured
//! by the shipped `deploy/nginx.conf`, in front of 1, 2, 3… `firebreak serve --http` replicas
//! on the one bench database; calls/s for each, and the CPU that the replicas, nginx,
//! PostgreSQL and the bench's own clients used (in cores: CPU seconds per second), which says
//! what limits the throughput on this machine.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use sqlx::PgPool;
use tokio::process::{Child, Command};

use crate::cpu::{CpuProbe, process_seconds};
use crate::database::BenchDatabase;
use crate::lean::LeanHttp;
use crate::measure::{Samples, Stats, Timing, mixed_client};
use crate::seed::{self, Seed};
use crate::servers::{HttpServer, token};
use crate::workload::{Target, Workload, open_targets};

/// The shipped configuration, rendered with the bench's ports and paths.
const SHIPPED: &str = include_str!("../../deploy/nginx.conf");

/// One replica count.
#[derive(Debug, Serialize)]
pub(crate) struct ReplicaResult {
    pub(crate) replicas: usize,
    pub(crate) clients: usize,
    pub(crate) stats: Stats,
    /// CPU seconds per second of the measured window, by process group.
    pub(crate) cores: Cores,
}

/// CPU in cores (CPU seconds ÷ wall seconds).
#[derive(Debug, Serialize)]
pub(crate) struct Cores {
    pub(crate) firebreak: f64,
    pub(crate) nginx: f64,
    pub(crate) postgres: Option<f64>,
    pub(crate) bench: f64,
}

/// What the replicas phase needs from the run.
pub(crate) struct Setup<'a> {
    pub(crate) firebreak: &'a Path,
    pub(crate) nginx: &'a Path,
    pub(crate) db: &'a BenchDatabase,
    pub(crate) pool: &'a PgPool,
    pub(crate) logs: &'a Path,
    pub(crate) seed: &'a Seed,
    pub(crate) timing: Timing,
    pub(crate) tag: &'a str,
}

/// Runs the mix with `clients` lean clients through nginx for each count in `counts`.
pub(crate) async fn run(
    setup: &Setup<'_>,
    counts: &[usize],
    clients: usize,
) -> anyhow::Result<Vec<ReplicaResult>> {
    let mut results = Vec::new();
    for &replicas in counts {
        let token = token();
        let ports: Vec<u16> = (0..replicas)
            .map(|_| free_port())
            .collect::<Result<_, _>>()?;
        let nginx = Nginx::start(
            setup.nginx,
            &setup.logs.join(format!("nginx-{replicas}")),
            &ports,
        )?;
        let mut servers = Vec::new();
        for (index, &port) in ports.iter().enumerate() {
            let log = setup.logs.join(format!("replica-{replicas}-{index}.log"));
            let server = HttpServer::start_on(
                setup.firebreak,
                &setup.db.url,
                &log,
                port,
                token.clone(),
                &[],
                &[],
            )
            .await?;
            servers.push(server);
        }
        nginx.wait_until_listening().await?;
        let result = measure(setup, &nginx, &servers, &token, replicas, clients).await?;
        seed::decline_declared(setup.pool, setup.seed).await?;
        crate::say(&format!(
            "  replicas {replicas}, {clients} clients through nginx: {:>6.0} calls/s  p50 {:.3} ms  \
             p99 {:.3} ms  errors {}  cores: firebreak {:.2} nginx {:.2} postgres {} bench {:.2}",
            result.stats.calls_per_second,
            result.stats.p50_ms,
            result.stats.p99_ms,
            result.stats.errors,
            result.cores.firebreak,
            result.cores.nginx,
            result
                .cores
                .postgres
                .map_or_else(|| "n/a".to_owned(), |c| format!("{c:.2}")),
            result.cores.bench
        ));
        for message in &result.stats.error_messages {
            crate::say(&format!("    {message}"));
        }
        for server in servers {
            server.stop().await?;
        }
        nginx.stop().await?;
        results.push(result);
    }
    Ok(results)
}

/// One warm-up and measured window of the mix through `nginx`.
async fn measure(
    setup: &Setup<'_>,
    nginx: &Nginx,
    servers: &[HttpServer],
    token: &str,
    replicas: usize,
    clients: usize,
) -> anyhow::Result<ReplicaResult> {
    let seeded = setup.seed.incidents;
    let targets = open_targets(setup.pool, seeded).await?;
    let mut shares: Vec<Vec<Target>> = vec![Vec::new(); clients];
    for (index, target) in targets.into_iter().enumerate() {
        shares[index % clients].push(target);
    }
    let from = Instant::now() + setup.timing.warmup + Duration::from_millis(200);
    let until = from + setup.timing.measure;
    let mut tasks = Vec::with_capacity(clients);
    for (k, share) in shares.into_iter().enumerate() {
        let name = format!("{}-r{replicas}-c{clients}-{k}", setup.tag);
        let mut workload = Workload::new(2_000 + k as u64, seeded, share, name);
        let client = LeanHttp::connect_to(nginx.port, token)
            .await
            .with_context(|| format!("connecting client {k} to nginx"))?;
        tasks.push(tokio::spawn(async move {
            mixed_client(&client, &mut workload, from, until).await
        }));
    }
    let probe = CpuProbe::new(servers[0].pid, setup.pool).await;
    let pids: Vec<u32> = servers.iter().map(|s| s.pid).collect();
    tokio::time::sleep_until(from.into()).await;
    let (before, firebreak_before, nginx_before) = (
        probe.snapshot(),
        seconds(&pids),
        seconds(&nginx.processes()),
    );
    tokio::time::sleep_until(until.into()).await;
    let (after, firebreak_after, nginx_after) = (
        probe.snapshot(),
        seconds(&pids),
        seconds(&nginx.processes()),
    );
    let mut samples = Samples::default();
    for task in tasks {
        samples.merge(task.await?);
    }
    samples.set_wall(setup.timing.measure);
    let wall = setup.timing.measure.as_secs_f64();
    let others = before.seconds(&after);
    Ok(ReplicaResult {
        replicas,
        clients,
        stats: samples.stats(),
        cores: Cores {
            firebreak: (firebreak_after - firebreak_before) / wall,
            nginx: (nginx_after - nginx_before) / wall,
            postgres: others.postgres.map(|s| s / wall),
            bench: others.bench / wall,
        },
    })
}

/// CPU seconds used so far by `pids` together.
fn seconds(pids: &[u32]) -> f64 {
    pids.iter().filter_map(|&pid| process_seconds(pid)).sum()
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Replaces the lines from the one containing `begin` to the one containing `end`.
fn replace_block(text: &str, begin: &str, end: &str, with: &str) -> anyhow::Result<String> {
    let (Some(start), Some(stop)) = (text.find(begin), text.find(end)) else {
        bail!("deploy/nginx.conf lost its `{begin}`/`{end}` markers");
    };
    let start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let stop = text[stop..].find('\n').map_or(text.len(), |i| stop + i + 1);
    Ok(format!("{}{with}{}", &text[..start], &text[stop..]))
}

/// nginx in the foreground, master and workers.
struct Nginx {
    child: Child,
    port: u16,
    prefix: PathBuf,
}

impl Nginx {
    /// Renders the shipped config into `prefix` and starts nginx with it.
    fn start(binary: &Path, prefix: &Path, upstreams: &[u16]) -> anyhow::Result<Nginx> {
        std::fs::create_dir_all(prefix)?;
        let port = free_port()?;
        let p = prefix.display();
        let servers: String = upstreams
            .iter()
            .map(|u| format!("        server 127.0.0.1:{u} max_fails=1 fail_timeout=2s;\n"))
            .collect();
        let text = replace_block(
            SHIPPED,
            "# upstream servers: begin",
            "# upstream servers: end",
            &servers,
        )?;
        let text = replace_block(
            &text,
            "# paths: begin",
            "# paths: end",
            &format!("pid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n"),
        )?;
        let temp: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .iter()
            .map(|kind| format!("    {kind}_temp_path {p}/{kind};\n"))
            .collect();
        // No access log: writing it would be part of what is measured.
        let text = replace_block(
            &text,
            "# paths (temporary files): begin",
            "# paths (temporary files): end",
            &format!("{temp}    access_log off;\n"),
        )?;
        let listen = "        listen 80;\n";
        if !text.contains(listen) {
            bail!("deploy/nginx.conf lost its `listen 80;` line");
        }
        let text = text.replace(listen, &format!("        listen 127.0.0.1:{port};\n"));
        let conf = prefix.join("nginx.conf");
        std::fs::write(&conf, text)?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(
                prefix.join("stderr.log"),
            )?))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} (--nginx)", binary.display()))?;
        Ok(Nginx {
            child,
            port,
            prefix: prefix.to_owned(),
        })
    }

    async fn wait_until_listening(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!(
                    "nginx did not listen within 30 s; see {}",
                    self.prefix.join("error.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// The master and its workers.
    fn processes(&self) -> Vec<u32> {
        let Some(master) = self.child.id() else {
            return Vec::new();
        };
        let mut pids = vec![master];
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<u32>().ok())
                else {
                    continue;
                };
                let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
                let parent = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|ppid| ppid.parse::<u32>().ok());
                if parent == Some(master) {
                    pids.push(pid);
                }
            }
        }
        pids
    }

    /// SIGTERM (the master stops its workers), then wait.
    async fn stop(mut self) -> anyhow::Result<()> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(
            self.child.id().context("nginx has no pid")?,
        )?);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??;
        Ok(())
    }
}

/// The markdown table of a replicas run.
pub(crate) fn markdown(results: &[ReplicaResult], out: &mut String) {
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "\n## Replicas behind nginx\n\n\
         The HTTP mix (80% reads, 20% writes; lean clients, one connection each to nginx) \
         through nginx configured by `deploy/nginx.conf`, in front of N `firebreak serve --http` \
         replicas (pools of 10 connections each) on one PostgreSQL. Cores: CPU seconds per \
         second during the measured window (the replicas together; nginx's master and workers; \
         every PostgreSQL process; the bench's own clients).\n\n\
         | replicas | clients | calls/s | p50 ms | p90 ms | p99 ms | errors | cores: firebreak | nginx | PostgreSQL | bench |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in results {
        let postgres = r
            .cores
            .postgres
            .map_or_else(|| "n/a".to_owned(), |c| format!("{c:.2}"));
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {} | {:.2} | {:.2} | {postgres} | {:.2} |",
            r.replicas,
            r.clients,
            r.stats.calls_per_second,
            r.stats.p50_ms,
            r.stats.p90_ms,
            r.stats.p99_ms,
            r.stats.errors,
            r.cores.firebreak,
            r.cores.nginx,
            r.cores.bench
        );
    }
}
