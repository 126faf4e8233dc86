//! `firebreak alerting check|test`, and loading (and reloading on SIGHUP) the alerting file
//! `serve --alerting FILE` names.

use std::io::Write;
use std::path::Path;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::app::signals::{RoutingHandle, SignalSource};
use crate::cli::{Error, connect};
use crate::config::{AlertingCommand, DatabaseArgs};
use crate::http::hooks::SourcesHandle;
use crate::ingest::formats::{Envelope, EventsV2, Parsed};
use crate::ingest::{Alerting, SourceKind, config, formats};

/// Reads and checks an alerting file.
pub(super) fn load(path: &Path) -> Result<Alerting, Error> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        Error::Config(format!(
            "cannot read the alerting file {}: {err}",
            path.display()
        ))
    })?;
    config::parse(&text, &|name| std::env::var(name).ok())
        .map_err(|err| Error::Config(format!("{}: {err}", path.display())))
}

/// Reloads the alerting file on every SIGHUP; a file that does not check is reported and the
/// configuration in force is kept.
pub(super) async fn reload_on_hangup(
    path: std::path::PathBuf,
    sources: SourcesHandle,
    routing: RoutingHandle,
    shutdown: CancellationToken,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; the alerting file will not be reloaded");
        return;
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            got = hangups.recv() => if got.is_none() { return },
        }
        match load(&path) {
            Ok(alerting) => {
                let (count, routes) = (alerting.sources.len(), alerting.routing.routes.len());
                routing.replace(alerting.routing.clone());
                sources.replace(alerting);
                tracing::info!(sources = count, routes, "alerting file reloaded");
            }
            Err(err) => {
                tracing::error!(error = %err, "alerting file not reloaded; the previous one stays in force");
            }
        }
    }
}

/// Runs an alerting command.
pub(super) async fn run(database: &DatabaseArgs, command: AlertingCommand) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match command {
        AlertingCommand::Check { file } => {
            let alerting = load(&file)?;
            writeln!(
                out,
                "{}: ok ({} sources, {} routes, on_all_resolved {})",
                file.display(),
                alerting.sources.len(),
                alerting.routing.routes.len(),
                alerting.routing.on_all_resolved
            )?;
            Ok(())
        }
        AlertingCommand::Test {
            alerting,
            source,
            github_event,
            payload,
        } => {
            let alerting = load(&alerting)?;
            let source = alerting
                .source(&source)
                .ok_or_else(|| {
                    Error::Config(format!("no source named `{source}` in the alerting file"))
                })?
                .clone();
            let body = std::fs::read(&payload).map_err(|err| {
                Error::Config(format!("cannot read {}: {err}", payload.display()))
            })?;
            let parsed = match source.kind {
                SourceKind::EventsV2 => EventsV2::parse(&body)
                    .or_else(|_| EventsV2::parse_change(&body))
                    .map(|e| e.parsed),
                kind => formats::parse(
                    kind,
                    &body,
                    Envelope {
                        github_event: github_event.as_deref(),
                    },
                ),
            }
            .map_err(|err| {
                Error::Config(format!(
                    "{}: not a {} payload: {err}",
                    payload.display(),
                    source.kind
                ))
            })?;
            let app = App::new(
                connect(database).await?,
                crate::app::Settings {
                    routing: RoutingHandle::new(alerting.routing.clone()),
                    ..crate::app::Settings::default()
                },
            );
            let signal = SignalSource {
                name: &source.name,
                kind: source.kind.as_str(),
            };
            let report = match parsed {
                Parsed::Alerts(events) => {
                    let outcomes = app.plan_alerts(signal, events).await?;
                    let alerts: Vec<_> = outcomes
                        .iter()
                        .map(|o| {
                            json!({"key": o.key, "would": o.decision, "reason": o.reason,
                                        "route": o.route, "group": o.group_key,
                                        "incident": o.incident.map(|n| format!("INC-{n}"))})
                        })
                        .collect();
                    json!({"source": source.name, "alerts": alerts})
                }
                Parsed::Changes(changes) => {
                    let changes: Vec<_> = changes
                        .iter()
                        .map(|c| json!({"would": "record change", "id": c.external_id, "kind": c.kind.as_str(), "summary": c.summary, "services": c.services}))
                        .collect();
                    json!({"source": source.name, "changes": changes})
                }
                Parsed::Ignored(reason) => json!({"source": source.name, "ignored": reason}),
            };
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            )?;
            Ok(())
        }
    }
}
