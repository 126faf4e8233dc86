//! Test harness: a real PostgreSQL (the one in `DATABASE_URL`, or a private cluster the harness
//! starts with the embedded-cluster code), a fresh database per test cloned from a migrated
//! template, and a real rmcp client connected to the real server.

pub(crate) mod children;
pub(crate) mod nginx;
pub(crate) mod pg_pair;
pub(crate) mod pgbouncer;
pub(crate) mod receiver;
pub(crate) mod refusals;
pub(crate) mod replicas;
pub(crate) mod signals;
pub(crate) mod watcher;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use firebreak::app::App;
use firebreak::domain::{AuthMethod, Grant, Scopes};
use firebreak::mcp::{FirebreakServer, Transport};
use firebreak::store::cluster::EmbeddedCluster;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, Implementation};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, PgConnection};
use tokio::sync::OnceCell;

/// A connected MCP client.
pub(crate) type Client = RunningService<RoleClient, ClientConfig>;

struct Server {
    /// Options for the maintenance database; `.database(name)` reaches a test database.
    admin: PgConnectOptions,
    template: String,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// Where the harness keeps its own cluster when `DATABASE_URL` is not set. It lives under the
/// system temp dir because, as root, the server runs as `postgres`, which must reach it.
fn harness_data_dir() -> PathBuf {
    let uid = nix::unistd::geteuid();
    std::env::temp_dir()
        .join(format!("firebreak-tests-{uid}"))
        .join("postgres")
}

async fn server() -> &'static Server {
    SERVER
        .get_or_init(|| async {
            let admin = match std::env::var("DATABASE_URL") {
                Ok(url) => url.parse::<PgConnectOptions>().expect("DATABASE_URL"),
                Err(_) => {
                    let cluster = EmbeddedCluster::locate(harness_data_dir()).expect("cluster");
                    cluster
                        .ensure_running("postgres")
                        .await
                        .expect("cluster start")
                }
            };
            let template = create_template(&admin).await;
            Server { admin, template }
        })
        .await
}

/// Creates (once per migration set) a migrated template database to clone test databases from.
async fn create_template(admin: &PgConnectOptions) -> String {
    let migrations: Vec<String> = firebreak::store::MIGRATOR
        .iter()
        .map(|m| format!("{}:{:?}", m.version, m.checksum))
        .collect();
    let hash = migrations
        .join(",")
        .bytes()
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        });
    let name = format!("fbt_template_{hash:016x}");
    let mut conn = PgConnection::connect_with(admin)
        .await
        .expect("admin connection");
    // Test binaries may run in parallel processes: one creates the template, others wait.
    conn.execute("select pg_advisory_lock(4242)").await.unwrap();
    let exists: Option<(i32,)> = sqlx::query_as("select 1 from pg_database where datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await
        .unwrap();
    if exists.is_none() {
        let building = format!("{name}_building");
        conn.execute(AssertSqlSafe(format!("drop database if exists {building}")))
            .await
            .unwrap();
        conn.execute(AssertSqlSafe(format!("create database {building}")))
            .await
            .unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(admin.clone().database(&building))
            .await
            .unwrap();
        firebreak::store::MIGRATOR
            .run(&pool)
            .await
            .expect("migrations");
        pool.close().await;
        conn.execute(AssertSqlSafe(format!(
            "alter database {building} rename to {name}"
        )))
        .await
        .unwrap();
    }
    conn.execute("select pg_advisory_unlock(4242)")
        .await
        .unwrap();
    conn.close().await.unwrap();
    name
}

/// A fresh, migrated database for one test.
pub(crate) struct TestDb {
    /// A pool on it.
    pub(crate) pool: PgPool,
    /// Options to connect to it (e.g. to hand a URL to a child process).
    pub(crate) options: PgConnectOptions,
}

impl TestDb {
    /// Creates a database cloned from the migrated template.
    pub(crate) async fn new() -> TestDb {
        let server = server().await;
        let name = format!(
            "fbt_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        let mut conn = PgConnection::connect_with(&server.admin).await.unwrap();
        conn.execute(AssertSqlSafe(format!("drop database if exists {name}")))
            .await
            .unwrap();
        conn.execute(AssertSqlSafe(format!(
            "create database {name} template {}",
            server.template
        )))
        .await
        .unwrap();
        conn.close().await.unwrap();
        let options = server.admin.clone().database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(20)
            .connect_with(options.clone())
            .await
            .unwrap();
        TestDb { pool, options }
    }

    /// A connection URL for this database (for child processes).
    pub(crate) fn url(&self) -> String {
        self.options.to_url_lossy().to_string()
    }

    /// An in-process client talking to a server on this database.
    pub(crate) async fn client(&self) -> Client {
        connect_in_process(self.pool.clone(), "tester").await
    }

    /// `n` clients (each its own session), shareable across tasks for race tests.
    pub(crate) async fn clients(&self, n: usize) -> Vec<std::sync::Arc<Client>> {
        let clients = futures::future::join_all((0..n).map(|_| self.client())).await;
        clients.into_iter().map(std::sync::Arc::new).collect()
    }

    /// A fingerprint of every row Firebreak stores, to prove a failed call wrote nothing.
    pub(crate) async fn fingerprint(&self) -> String {
        let (fingerprint,): (String,) = sqlx::query_as(
            "select concat_ws('|', \
               (select md5(coalesce(string_agg(t::text, ',' order by t.number), '')) from incident t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.seq), '')) from timeline_entry t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.id), '')) from role_assignment t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.key), '')) from idempotency_key t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.incident_id), '')) from postmortem t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.incident_id, t.name), '')) from postmortem_section t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.number), '')) from action_item t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.slug), '')) from runbook t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.slug, t.version), '')) from runbook_version t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.url), '')) from runbook_cache t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.id), '')) from alert t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.seq), '')) from alert_decision t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.id), '')) from change t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.incident_id, t.change_id), '')) from incident_change t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.source, t.route, t.group_key), '')) from alert_group t), \
               (select md5(coalesce(string_agg(t::text, ',' order by t.seq), '')) from notification_event t))",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap();
        fingerprint
    }

    /// How many rows a table has.
    pub(crate) async fn count(&self, table: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(AssertSqlSafe(format!("select count(*) from {table}")))
            .fetch_one(&self.pool)
            .await
            .unwrap();
        n
    }
}

/// Connects an rmcp client to a Firebreak server over an in-memory duplex pipe.
pub(crate) async fn connect_in_process(pool: PgPool, principal: &str) -> Client {
    connect_app(App::from_pool(pool), principal).await
}

/// A local user's grant with `scopes`, as stdio gives.
pub(crate) fn local_grant(principal: &str, scopes: Scopes) -> Grant {
    Grant {
        principal: principal.to_owned(),
        scopes,
        method: AuthMethod::Local,
    }
}

/// Connects an rmcp client to a Firebreak server over `app` that runs every call under `grant`.
pub(crate) async fn connect_granted(app: App, grant: Grant) -> Client {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    let server = FirebreakServer::new(app, Transport::Stdio { grant });
    tokio::spawn(async move {
        let running = server.serve(server_io).await.expect("server handshake");
        let _ = running.waiting().await;
    });
    client_config()
        .serve(client_io)
        .await
        .expect("client handshake")
}

/// The identity the test client announces.
pub(crate) fn client_config() -> ClientConfig {
    ClientConfig::new(
        Default::default(),
        Implementation::new("firebreak-tests", "1.0.0"),
    )
}

/// Calls a tool with JSON arguments (an object).
pub(crate) async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|err| panic!("{tool}: protocol error {err}"))
}

/// The structured content of a successful call.
pub(crate) fn ok(result: CallToolResult) -> Value {
    assert_ne!(
        result.is_error,
        Some(true),
        "expected success, got {result:?}"
    );
    result.structured_content.expect("structured content")
}

/// A tool error: its code, message and structured details.
pub(crate) struct ToolFailure {
    /// Stable code, e.g. `not_found`.
    pub(crate) code: String,
    /// Message.
    pub(crate) message: String,
    /// Structured `error` object.
    pub(crate) details: Value,
}

/// The tool error of a failed call.
pub(crate) fn failure(result: CallToolResult) -> ToolFailure {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected a tool error, got {result:?}"
    );
    let text = result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .expect("error text");
    let details = result.structured_content.expect("structured error")["error"].clone();
    let code = details["code"].as_str().expect("code").to_owned();
    assert!(
        text.starts_with(&format!("{code}: ")),
        "text `{text}` starts with its code"
    );
    ToolFailure {
        code,
        message: details["message"].as_str().unwrap().to_owned(),
        details,
    }
}

/// Declares an incident with the given title and severity and returns its reference.
pub(crate) async fn declare(client: &Client, title: &str, severity: &str) -> String {
    let declared = ok(call(
        client,
        "declare_incident",
        serde_json::json!({"title": title, "severity": severity}),
    )
    .await);
    declared["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Connects an rmcp client to a Firebreak server over `app` (e.g. one built with settings).
pub(crate) async fn connect_app(app: App, principal: &str) -> Client {
    connect_granted(app, local_grant(principal, Scopes::ALL)).await
}
