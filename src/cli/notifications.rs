//! `firebreak notifications status|check|test|redeliver`, loading the notifications file
//! `serve --notifications FILE` names, and starting the delivery worker.

use std::io::Write;
use std::path::Path;

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::app::notifications::{Notifications, Notifier};
use crate::cli::{Error, connect_app};
use crate::config::{DatabaseArgs, NotificationCommand};
use crate::integrations::notify::{Outbound, config};

/// How many failed deliveries `status` lists.
const FAILURES_LISTED: i64 = 20;

/// Reads and checks a notifications file.
pub(super) fn load(path: &Path) -> Result<Outbound, Error> {
    config::load(path).map_err(Error::Config)
}

/// Registers the targets and runs the delivery worker until `shutdown`; await the handle to
/// let the sends in flight finish and be recorded.
pub(super) async fn start(
    app: App,
    outbound: Outbound,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, Error> {
    let notifications = Notifications::new(outbound).map_err(Error::Config)?;
    let notifier = Notifier::register(app, notifications).await?;
    Ok(tokio::spawn(notifier.run(shutdown)))
}

/// Runs a `notifications` command.
pub(super) async fn run(
    database: &DatabaseArgs,
    command: NotificationCommand,
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match command {
        NotificationCommand::Check { file } => {
            let outbound = load(&file)?;
            writeln!(
                out,
                "{}: ok ({} targets, {} status page components)",
                file.display(),
                outbound.targets.len(),
                outbound.status_page.components.len()
            )?;
        }
        NotificationCommand::Test {
            notifications,
            target,
        } => {
            let outbound = load(&notifications)?;
            let attempt = Notifications::new(outbound)
                .map_err(Error::Config)?
                .test(&target)
                .await
                .map_err(Error::Config)?;
            let answer = match (attempt.status, &attempt.error) {
                (Some(status), _) => format!("HTTP {status} {}", attempt.response.trim()),
                (None, Some(error)) => format!("no answer: {error}"),
                (None, None) => "no answer".to_owned(),
            };
            writeln!(
                out,
                "{target}: {answer} in {} ms",
                attempt.latency.as_millis()
            )?;
            if !attempt.status.is_some_and(|s| (200..300).contains(&s)) {
                return Err(Error::Tool(format!(
                    "{target} did not accept the test message"
                )));
            }
        }
        NotificationCommand::Status => {
            let app = connect_app(database).await?;
            let (targets, failures) = app.notification_status(FAILURES_LISTED).await?;
            print_status(&mut out, &targets, &failures)?;
        }
        NotificationCommand::Redeliver { id } => {
            let app = connect_app(database).await?;
            let record = app.redeliver(id).await?;
            writeln!(
                out,
                "delivery {} ({} to {}) is due now; a serving process sends it within a second",
                record.id, record.event_type, record.target
            )?;
        }
    }
    Ok(())
}

fn print_status(
    out: &mut impl Write,
    targets: &[crate::app::notifications::TargetStatus],
    failures: &[crate::domain::delivery::DeliveryRecord],
) -> std::io::Result<()> {
    if targets.is_empty() {
        writeln!(
            out,
            "no notification targets registered (serve --notifications FILE registers them)"
        )?;
    }
    for t in targets {
        let mut state = Vec::new();
        if let Some(at) = t.disabled_at {
            state.push(format!(
                "DISABLED since {} ({})",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                t.disabled_reason.as_deref().unwrap_or("no reason recorded")
            ));
        }
        if let Some(until) = t.paused_until.filter(|u| *u > chrono::Utc::now()) {
            state.push(format!(
                "paused until {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        if t.retired_at.is_some() {
            state.push("retired (no longer configured)".to_owned());
        }
        let last = t.last_delivered_at.map_or("never".to_owned(), |at| {
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        });
        writeln!(
            out,
            "{} ({}): {} pending ({} retrying), {} delivered, {} failed, {} gone; last delivered {last}{}",
            t.name,
            t.kind,
            t.pending,
            t.retrying,
            t.delivered,
            t.failed,
            t.gone,
            if state.is_empty() {
                String::new()
            } else {
                format!("; {}", state.join("; "))
            }
        )?;
    }
    if !failures.is_empty() {
        writeln!(out, "\nfailures (newest first):")?;
        for f in failures {
            writeln!(out, "  {}: {}", f.id, f.line())?;
        }
    }
    Ok(())
}
