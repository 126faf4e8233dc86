//! The commands behind the `firebreak` binary: connect (embedded cluster or `DATABASE_URL`),
//! migrate, serve over stdio or HTTP with graceful shutdown, and manage the embedded cluster.

mod alerting;
mod audit;
mod notifications;
mod pooler;
mod report;
mod tokens;
mod tool;

use std::io::Write;
use std::time::Duration;

use sqlx::postgres::PgPool;
use tokio_util::sync::CancellationToken;

use crate::app::live::LiveUpdates;
use crate::app::tokens::TokenRegistry;
use crate::app::{App, Settings};
use crate::config::{
    CallArgs, Cli, Command, DatabaseArgs, DbCommand, NamedToken, RunbookCommand, ServeArgs,
    parse_tokens,
};
use crate::domain::{AuthMethod, Grant, Scopes};
use crate::http::oauth::{JwtValidator, OAuthConfig};
use crate::http::{self, HttpOptions};
use crate::mcp::{FirebreakServer, Transport};
use crate::store::targets::DatabaseTargets;
use crate::store::{self, cluster::ClusterError, cluster::EmbeddedCluster};

/// The database every Firebreak process uses inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "firebreak";
/// How often a server on the embedded cluster checks that the cluster still answers.
const REVIVE_INTERVAL: Duration = Duration::from_secs(2);
/// How often expired idempotency keys are deleted.
const PRUNE_INTERVAL: Duration = Duration::from_secs(600);
/// How long calls in flight may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a command failed; each message is meant for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The embedded cluster could not be used.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// `DATABASE_URL` could not be parsed.
    #[error("DATABASE_URL is not a valid PostgreSQL connection string: {0}")]
    DatabaseUrl(#[source] store::targets::UrlError),
    /// Migrations failed (often: the database cannot be reached).
    #[error("could not apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A configuration value is wrong.
    #[error("{0}")]
    Config(String),
    /// Serving failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A use case failed.
    #[error("{code}: {0}", code = .0.code())]
    UseCase(#[from] crate::app::Error),
    /// `firebreak tool` got a tool error (`code: message`) or a protocol error.
    #[error("{0}")]
    Tool(String),
}

/// The notifications file the options name, read and checked.
fn outbound(args: &CallArgs) -> Result<Option<crate::integrations::notify::Outbound>, Error> {
    args.notifications
        .as_deref()
        .map(notifications::load)
        .transpose()
}

/// The use-case settings from the options (reads the postmortem template file), with the
/// status page of the notifications file when there is one.
fn settings(
    args: &CallArgs,
    outbound: Option<&crate::integrations::notify::Outbound>,
) -> Result<Settings, Error> {
    let postmortem_template = match &args.postmortem_template {
        Some(path) => {
            let template = std::fs::read_to_string(path).map_err(|err| {
                Error::Config(format!(
                    "cannot read the postmortem template {}: {err}",
                    path.display()
                ))
            })?;
            // Fail at start rather than on the first draft.
            crate::domain::postmortem::check_template(&template).map_err(|err| {
                Error::Config(format!("postmortem template {}: {err}", path.display()))
            })?;
            Some(template)
        }
        None => None,
    };
    let status_page = outbound.map(|o| o.status_page.clone()).unwrap_or_default();
    crate::integrations::runbook_fetch::check_allow_list(&args.runbook_hosts)
        .map_err(|reason| Error::Config(format!("FIREBREAK_RUNBOOK_HOSTS: {reason}")))?;
    Ok(Settings {
        runbook_hosts: args.runbook_hosts.clone(),
        postmortem_template,
        call_timeout: args.call_timeout,
        routing: crate::app::signals::RoutingHandle::default(),
        status_page,
        audit_retention: crate::app::audit::RETENTION,
        // Set from the database options by whoever connects (`pooling`).
        pooling: store::pooler::Pooling::direct(),
    })
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Serve(args) => serve(&cli.database, *args).await,
        Command::Tool(args) => tool::run(&cli.database, &args).await,
        Command::Report(args) => report::run(&cli.database, &args).await,
        Command::Migrate => {
            pooler::check(&cli.database, database_url(&cli.database).is_some())?;
            pooler::check_can_migrate(&cli.database)?;
            connect(&cli.database).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Db { command } => manage_cluster(&cli.database, command).await,
        Command::Alerting { command } => alerting::run(&cli.database, command).await,
        Command::Notifications { command } => notifications::run(&cli.database, command).await,
        Command::Audit(args) => audit::run(&cli.database, &args).await,
        Command::Tokens { command } => tokens::run(&cli.database, command).await,
        Command::Runbooks {
            command: RunbookCommand::Sync { dir },
        } => {
            let app = connect_app(&cli.database).await?;
            let report = app.sync_runbooks(&dir).await?;
            // A person ran this command, so the report goes to stdout.
            writeln!(std::io::stdout().lock(), "{report}")?;
            Ok(())
        }
    }
}

/// Connects to the configured database (starting the embedded cluster when there is no URL)
/// and applies migrations. The pool has no call deadline: for commands run by hand.
pub async fn connect(args: &DatabaseArgs) -> Result<PgPool, Error> {
    Ok(connect_with_cluster(args, None).await?.0)
}

/// [`connect`], wrapped in an app with default settings (but the database options' pooler).
async fn connect_app(args: &DatabaseArgs) -> Result<App, Error> {
    let settings = Settings {
        pooling: pooler::pooling(args, None)?,
        ..Settings::default()
    };
    Ok(App::new(connect(args).await?, settings))
}

/// Like [`connect`], with `call_timeout` on every connection (see [`store::connect`]), and
/// also hands back the embedded cluster when one is used (located once).
async fn connect_with_cluster(
    args: &DatabaseArgs,
    call_timeout: Option<Duration>,
) -> Result<(PgPool, Option<EmbeddedCluster>), Error> {
    pooler::check(args, database_url(args).is_some())?;
    let (targets, cluster) = match database_url(args) {
        Some(url) => (
            DatabaseTargets::parse(url.expose()).map_err(Error::DatabaseUrl)?,
            None,
        ),
        None => {
            let cluster = embedded_cluster(args)?;
            let options = cluster.ensure_running(EMBEDDED_DATABASE).await?;
            (DatabaseTargets::single(options), Some(cluster))
        }
    };
    // Several hosts (or a `target_session_attrs`): find the one that fits now, and keep
    // following it (`store::failover`).
    let (options, chosen) = if targets.is_single() {
        (targets.first_options(), None)
    } else {
        let (host, options) = targets
            .find(&targets.first_options(), FIRST_PROBE_PATIENCE)
            .await
            .map_err(|none| Error::Config(none.to_string()))?;
        tracing::info!(%host, "database URL: connected to the host that fits");
        (options, Some(host))
    };
    let pool = store::connect_through(
        options.clone(),
        args.db_pool_size,
        call_timeout,
        pooler::pooler(args),
    );
    pooler::migrate(args, &options, &pool).await?;
    if let Some(host) = chosen {
        store::failover::watch(pool.clone(), targets, host);
    }
    Ok((pool, cluster))
}

/// `app` with the configured read replica (`FIREBREAK_READ_DATABASE_URL`), whose lag is then
/// measured in the background; `app` unchanged without one.
async fn with_read_replica(
    app: App,
    args: &DatabaseArgs,
    call_timeout: Option<Duration>,
) -> Result<App, Error> {
    let Some(url) = args
        .read_database_url
        .as_ref()
        .filter(|url| !url.expose().trim().is_empty())
    else {
        return Ok(app);
    };
    let targets = DatabaseTargets::parse(url.expose()).map_err(|err| {
        Error::Config(format!(
            "FIREBREAK_READ_DATABASE_URL is not a valid PostgreSQL connection string: {err}"
        ))
    })?;
    let options = if targets.is_single() {
        targets.first_options()
    } else {
        let (_, options) = targets
            .find(&targets.first_options(), FIRST_PROBE_PATIENCE)
            .await
            .map_err(|none| Error::Config(format!("FIREBREAK_READ_DATABASE_URL: {none}")))?;
        options
    };
    let pool = store::connect(options, args.db_pool_size, call_timeout);
    let replica = crate::app::replica::ReadReplica::new(pool, args.read_max_lag);
    replica.monitor(app.pool().clone());
    tracing::info!(
        max_lag_ms = args.read_max_lag.as_millis() as u64,
        "read replica configured for searches, similar incidents and metrics"
    );
    Ok(app.with_read_replica(replica))
}

/// How long each host of a multi-host URL may take to answer the first probe.
const FIRST_PROBE_PATIENCE: Duration = Duration::from_secs(5);

/// The configured database URL; an empty `DATABASE_URL=` counts as unset.
fn database_url(args: &DatabaseArgs) -> Option<&crate::config::Secret> {
    args.database_url
        .as_ref()
        .filter(|url| !url.expose().trim().is_empty())
}

fn embedded_cluster(args: &DatabaseArgs) -> Result<EmbeddedCluster, Error> {
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => EmbeddedCluster::default_data_dir()?,
    };
    Ok(EmbeddedCluster::locate(data_dir)?)
}

async fn serve(database: &DatabaseArgs, args: ServeArgs) -> Result<(), Error> {
    let shutdown = CancellationToken::new();
    let open_files = crate::http::listener::raise_open_files_limit();
    let http_options = match args.http {
        Some(addr) => {
            let mut options = HttpOptions::new(addr);
            options.allowed_hosts = args.allowed_hosts.clone();
            options.allowed_origins = args.allowed_origins.clone();
            options.tokens = tokens(&args)?;
            options.read_only = args.read_only;
            if let Some(config) = OAuthConfig::from_args(&args.oauth).map_err(Error::Config)? {
                options.oauth = Some(JwtValidator::new(config).await.map_err(Error::Config)?);
            }
            options.connections.max_connections =
                max_connections(args.max_connections, open_files, database.db_pool_size);
            options.connections.header_timeout = args.header_timeout;
            options.body.timeout = args.body_timeout;
            // The exposure is checked once the database tokens are loaded (`http::serve`): a
            // server may rely on them alone.
            Some(options)
        }
        None => None,
    };
    let alerting = args.alerting.as_deref().map(alerting::load).transpose()?;
    let outbound = outbound(&args.calls)?;
    let (pool, cluster) = connect_with_cluster(database, Some(args.calls.call_timeout)).await?;
    let mut settings = settings(&args.calls, outbound.as_ref())?;
    settings.pooling = pooler::pooling(database, Some(args.calls.call_timeout))?;
    settings.audit_retention = chrono::Duration::from_std(args.audit_retention)
        .map_err(|_| Error::Config("FIREBREAK_AUDIT_RETENTION is too long".into()))?;
    let sources = http::hooks::SourcesHandle::default();
    if let Some(alerting) = alerting {
        tracing::info!(
            sources = alerting.sources.len(),
            routes = alerting.routing.routes.len(),
            "alerting file loaded"
        );
        settings.routing = crate::app::signals::RoutingHandle::new(alerting.routing.clone());
        sources.replace(alerting);
    }
    if args.http_sessions && args.http.is_none() {
        tracing::warn!("--http-sessions has no effect on stdio, which always keeps its session");
    }
    if args.alerting.is_some() && args.http.is_none() {
        tracing::warn!(
            "--alerting has no effect on stdio: the ingestion endpoints are served with --http"
        );
    }
    if let Some(path) = args.alerting.clone() {
        tokio::spawn(alerting::reload_on_hangup(
            path,
            sources.clone(),
            settings.routing.clone(),
            shutdown.clone(),
        ));
    }
    let app = App::new(pool, settings.clone());
    let app = with_read_replica(app, database, Some(args.calls.call_timeout)).await?;
    let mut tokens_registry = None;
    let http_options = match http_options {
        Some(mut options) => {
            options.sources = sources;
            options.status_page = std::sync::Arc::new(settings.status_page.clone());
            let registry = TokenRegistry::start(&app, shutdown.clone()).await?;
            tracing::info!(tokens = registry.len(), "database tokens loaded");
            options.database_tokens = Some(registry.clone());
            tokens_registry = Some(registry);
            if args.http_sessions {
                options.sessions = Some(LiveUpdates::start(&app, shutdown.clone()));
            }
            Some(options)
        }
        None => None,
    };
    let audit = app.audit_log().clone();
    let notifier = match outbound.filter(|o| !o.targets.is_empty()) {
        Some(outbound) => {
            Some(notifications::start(app.clone(), outbound, shutdown.clone()).await?)
        }
        None => None,
    };
    if let Some(dir) = &args.runbooks_dir {
        let report = app.sync_runbooks(dir).await?;
        tracing::info!(dir = %dir.display(), "runbooks loaded: {report}");
    }
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    tokio::spawn(prune_periodically(app.clone(), shutdown.clone()));
    if let Some(cluster) = cluster {
        tokio::spawn(revive_embedded_cluster(
            cluster,
            app.clone(),
            shutdown.clone(),
        ));
    }
    let serving = async {
        match http_options {
            Some(options) => http::serve(app, options, shutdown.clone()).await,
            None => {
                let grant = local_grant(&args.calls, args.read_only);
                tracing::info!(principal = %grant.principal, scopes = %grant.scopes, "serving MCP over stdio");
                // A stdio client keeps its session: it may subscribe to incidents.
                let live = LiveUpdates::start(&app, shutdown.clone());
                let server =
                    FirebreakServer::new(app, Transport::Stdio { grant }).with_live_updates(live);
                server.serve_stdio(shutdown.clone()).await
            }
        }
    };
    let served = tokio::select! {
        result = serving => result,
        () = drain_deadline(&shutdown) => {
            tracing::warn!("calls still in flight after {DRAIN_TIMEOUT:?}; exiting");
            Ok(())
        }
    };
    // Notifications being sent finish and are recorded, so a restart does not send them twice.
    if let Some(notifier) = notifier {
        shutdown.cancel();
        if tokio::time::timeout(DRAIN_TIMEOUT, notifier).await.is_err() {
            tracing::warn!("notifications still being sent after {DRAIN_TIMEOUT:?}; exiting");
        }
    }
    // The reads and refusals of the last moments are still queued: write them before exiting.
    if tokio::time::timeout(DRAIN_TIMEOUT, audit.close())
        .await
        .is_err()
    {
        tracing::warn!("audit records still being written after {DRAIN_TIMEOUT:?}; exiting");
    }
    // The tokens' last uses are written as the registry stops (bounded there to 2 s). Serving
    // may have ended on an error rather than a signal: stop the registry either way.
    if let Some(registry) = tokens_registry {
        shutdown.cancel();
        registry.finished().await;
    }
    Ok(served?)
}

/// Starts the embedded cluster again when it stops answering (after `firebreak db stop`, a
/// crash or a reboot), so a long-running server heals without a restart: the cluster is
/// started on demand, not only at start-up. Meanwhile calls fail with `unavailable`.
async fn revive_embedded_cluster(cluster: EmbeddedCluster, app: App, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(REVIVE_INTERVAL) => {}
        }
        if app.check_health().await.is_ok() {
            continue;
        }
        tracing::warn!("the embedded PostgreSQL does not answer; starting it");
        match cluster.ensure_running(EMBEDDED_DATABASE).await {
            Ok(_) => tracing::info!("the embedded PostgreSQL is running again"),
            Err(err) => tracing::error!(error = %err, "could not start the embedded PostgreSQL"),
        }
    }
}

/// Deletes expired idempotency keys and audit records past their retention now and every
/// [`PRUNE_INTERVAL`].
async fn prune_periodically(app: App, shutdown: CancellationToken) {
    loop {
        match app.prune_idempotency_keys().await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "expired idempotency keys deleted"),
            Err(err) => tracing::warn!(error = %err, "could not prune idempotency keys"),
        }
        match app.prune_audit().await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "audit records past their retention deleted"),
            Err(err) => tracing::warn!(error = %err, "could not prune audit records"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(PRUNE_INTERVAL) => {}
        }
    }
}

/// Completes `DRAIN_TIMEOUT` after shutdown was requested.
async fn drain_deadline(shutdown: &CancellationToken) {
    shutdown.cancelled().await;
    tokio::time::sleep(DRAIN_TIMEOUT).await;
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::warn!("could not install signal handlers; stop with SIGKILL");
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => tracing::info!("SIGINT: finishing calls in flight"),
        _ = terminate.recv() => tracing::info!("SIGTERM: finishing calls in flight"),
    }
    shutdown.cancel();
}

/// Descriptors kept for everything that is not a client connection: the database pool, the
/// health reserve, logs, runbook files, outbound requests.
const DESCRIPTORS_KEPT: u64 = 64;

/// The connection cap: as configured, lowered to fit the open-files limit (one descriptor per
/// connection, plus the health reserve, the pool and [`DESCRIPTORS_KEPT`]).
fn max_connections(configured: usize, open_files: Option<u64>, pool_size: u32) -> usize {
    let Some(open_files) = open_files else {
        return configured;
    };
    let kept =
        DESCRIPTORS_KEPT + u64::from(pool_size) + crate::http::listener::HEALTH_RESERVE as u64;
    let fits = usize::try_from(open_files.saturating_sub(kept))
        .unwrap_or(usize::MAX)
        .max(1);
    if fits < configured {
        tracing::warn!(
            configured,
            serving = fits,
            open_files,
            "the open-files limit allows fewer connections than configured; raise it (ulimit -n) to serve more"
        );
    }
    configured.min(fits)
}

fn tokens(args: &ServeArgs) -> Result<Vec<NamedToken>, Error> {
    let mut text = args
        .tokens
        .as_ref()
        .map(|t| t.expose().to_owned())
        .unwrap_or_default();
    if let Some(path) = &args.tokens_file {
        let file = std::fs::read_to_string(path).map_err(|err| {
            Error::Config(format!("cannot read tokens file {}: {err}", path.display()))
        })?;
        text.push('\n');
        text.push_str(&file);
    }
    parse_tokens(&text).map_err(|reason| Error::Config(format!("FIREBREAK_TOKENS: {reason}")))
}

/// The local user's grant for stdio and `firebreak tool`: trusted by the operating system (it
/// can reach the database), with every scope unless `read_only`.
fn local_grant(calls: &CallArgs, read_only: bool) -> Grant {
    Grant {
        principal: calls.principal.clone().unwrap_or_else(local_user),
        scopes: Scopes::ALL,
        method: AuthMethod::Local,
    }
    .limited(read_only)
}

/// The OS user name, recorded as the principal of stdio writes.
fn local_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map_or_else(|| "local".to_owned(), |user| user.name)
}

async fn manage_cluster(args: &DatabaseArgs, command: DbCommand) -> Result<(), Error> {
    if database_url(args).is_some() {
        return Err(Error::Config(
            "DATABASE_URL is set, so Firebreak does not use its embedded cluster; manage that server with its own tools".into(),
        ));
    }
    let cluster = embedded_cluster(args)?;
    let message = match command {
        DbCommand::Status => cluster.status().await?.to_string(),
        DbCommand::Stop => match cluster.stop().await? {
            true => "embedded PostgreSQL stopped".to_owned(),
            false => "embedded PostgreSQL was not running".to_owned(),
        },
    };
    // These commands talk to a person, so stdout is right here (unlike `serve` on stdio).
    writeln!(std::io::stdout().lock(), "{message}")?;
    Ok(())
}
