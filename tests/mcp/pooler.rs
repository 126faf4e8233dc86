//! Through a real PgBouncer 1.18 in transaction pooling mode (`PGBOUNCER_BIN`), with a pool of
//! four server connections shared by many more clients: whole incidents worked concurrently
//! (and their metrics and report read), the race guarantees, the call deadline, and migrations on the direct URL (refused, naming
//! what is missing, without it).

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tokio::process::Command;

use crate::support::children::{EmbeddedDir, HttpServer, PATIENCE, firebreak};
use crate::support::pgbouncer::{POOL_SIZE, PgBouncer};
use crate::support::{Client, TestDb, call, failure, ok};

/// Concurrent agents: four times PgBouncer's server connections.
const AGENTS: usize = 16;

/// The settings that make a Firebreak child work through `bouncer` on `direct`'s database.
fn behind(command: &mut Command, direct: &PgConnectOptions) {
    use sqlx::ConnectOptions;
    command
        .env("FIREBREAK_DB_POOLER", "transaction")
        .env(
            "FIREBREAK_DIRECT_DATABASE_URL",
            direct.to_url_lossy().to_string(),
        )
        // More connections than PgBouncer has for them: it multiplexes.
        .env("FIREBREAK_DB_POOL_SIZE", AGENTS.to_string());
}

/// `firebreak serve --http` through `bouncer`, with the direct URL.
async fn serve_behind(bouncer: &PgBouncer, direct: &PgConnectOptions) -> HttpServer {
    let direct = direct.clone();
    HttpServer::start_with(&bouncer.url(&direct), |command| behind(command, &direct)).await
}

async fn write(client: &Client, tool: &str, arguments: Value) -> Value {
    ok(call(client, tool, arguments).await)
}

/// One agent's incident, start to finish: declare, notes, timeline, resolve, postmortem,
/// search.
async fn work_an_incident(client: Arc<Client>, agent: usize) {
    let title = format!("Checkout errors seen by agent{agent}");
    let declared = write(
        &client,
        "declare_incident",
        json!({"title": title, "severity": "SEV2", "services": ["checkout"],
            "idempotency_key": format!("agent{agent}-declare")}),
    )
    .await;
    let incident = declared["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    write(
        &client,
        "change_status",
        json!({"incident": incident, "to": "investigating"}),
    )
    .await;
    for n in 0..3 {
        write(
            &client,
            "add_timeline_entry",
            json!({"incident": incident, "kind": "finding", "body": format!("finding {n}")}),
        )
        .await;
    }
    write(
        &client,
        "update_incident",
        json!({"incident": incident, "summary": "pool exhausted"}),
    )
    .await;
    let timeline = write(&client, "get_timeline", json!({"incident": incident})).await;
    let findings = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "finding")
        .count();
    assert_eq!(findings, 3, "{timeline}");
    write(
        &client,
        "resolve_incident",
        json!({"incident": incident, "resolution": "rolled back"}),
    )
    .await;
    let draft = write(&client, "draft_postmortem", json!({"incident": incident})).await;
    assert!(draft.to_string().contains(&incident), "{draft}");
    let brief = write(&client, "get_incident", json!({"incident": incident})).await;
    assert_eq!(brief["incident"]["status"], "resolved", "{brief}");
    let found = write(
        &client,
        "list_incidents",
        json!({"text": format!("agent{agent}"), "status": "resolved"}),
    )
    .await;
    assert!(found.to_string().contains(&incident), "{found}");
}

/// `firebreak report` through `bouncer` alone: whether it succeeded, its stdout and stderr.
async fn report_through(bouncer: &PgBouncer, direct: &PgConnectOptions) -> (bool, String, String) {
    let mut command = firebreak();
    command
        .arg("report")
        .env("DATABASE_URL", bouncer.url(direct))
        .env("FIREBREAK_DB_POOLER", "transaction");
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("`firebreak report` hung")
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_agents_work_whole_incidents_through_pgbouncer_without_an_error() {
    let db = TestDb::new().await;
    let bouncer = PgBouncer::start(&db.options, "").await;
    let server = serve_behind(&bouncer, &db.options).await;
    let mut clients = Vec::new();
    for _ in 0..AGENTS {
        clients.push(Arc::new(server.client().await));
    }
    let work = clients
        .iter()
        .enumerate()
        .map(|(agent, client)| tokio::spawn(work_an_incident(client.clone(), agent)));
    let finished = tokio::time::timeout(PATIENCE, join_all(work))
        .await
        .unwrap_or_else(|_| panic!("agents still working after {PATIENCE:?}"));
    for done in finished {
        if let Err(err) = done {
            panic!(
                "an agent failed: {err}\nfirebreak:\n{}\npgbouncer:\n{}",
                server.stderr.text(),
                bouncer.log()
            );
        }
    }
    assert_eq!(db.count("incident").await, AGENTS as i64);
    assert_eq!(db.count("postmortem").await, AGENTS as i64);
    // The history reads one snapshot (a repeatable-read transaction), which must be chosen
    // before the transaction's first query: the pooled transaction's own preamble included.
    let figures = write(&clients[0], "incident_metrics", json!({"group_by": "week"})).await;
    assert_eq!(figures["current"]["incidents"], AGENTS, "{figures}");
    let (reported, stdout, stderr) = report_through(&bouncer, &db.options).await;
    assert!(reported, "{stderr}");
    assert!(stdout.starts_with("# Incident metrics"), "{stdout}");
    // Many clients, few server connections: PgBouncer really multiplexed.
    let (servers,): (i64,) = sqlx::query_as(
        "select count(*) from pg_stat_activity where datname = current_database() \
         and application_name = 'firebreak'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        servers <= i64::from(POOL_SIZE),
        "{servers} server connections"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_race_guarantees_hold_through_pgbouncer() {
    let db = TestDb::new().await;
    let bouncer = PgBouncer::start(&db.options, "").await;
    let server = serve_behind(&bouncer, &db.options).await;
    let mut clients = Vec::new();
    for _ in 0..AGENTS {
        clients.push(Arc::new(server.client().await));
    }

    // One idempotency key, retried concurrently: one incident, one answer.
    let retries = clients.iter().map(|client| {
        let client = client.clone();
        tokio::spawn(async move {
            call(&client, "declare_incident",
                json!({"title": "Payments failing", "severity": "SEV1", "idempotency_key": "req-7f3a"}))
            .await
        })
    });
    let ids: std::collections::BTreeSet<String> = join_all(retries)
        .await
        .into_iter()
        .map(|r| {
            ok(r.unwrap())["incident"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(db.count("incident").await, 1);

    // Two writers with one expected version: exactly one lands.
    let updates = ["from agent A", "from agent B"]
        .iter()
        .zip(&clients)
        .map(|(summary, client)| {
            let client = client.clone();
            let summary = summary.to_string();
            tokio::spawn(async move {
                call(
                    &client,
                    "update_incident",
                    json!({"incident": "INC-1", "expected_version": 1, "summary": summary}),
                )
                .await
            })
        });
    let results: Vec<_> = join_all(updates)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_error != Some(true)).count(),
        1,
        "{results:?}"
    );
    let loser = results.iter().find(|r| r.is_error == Some(true)).unwrap();
    assert_eq!(
        loser.structured_content.as_ref().unwrap()["error"]["code"],
        "conflict"
    );
    assert_eq!(
        db.count("timeline_entry where kind = 'field_change'").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_pgbouncer_a_frozen_database_answers_unavailable_and_late_writes_never_commit() {
    let dir = EmbeddedDir::new();
    let url = dir.start().await;
    let direct: PgConnectOptions = url.parse().unwrap();
    let bouncer = PgBouncer::start(&direct, "").await;
    let server = HttpServer::start_with(&bouncer.url(&direct), |command| {
        behind(command, &direct);
        command.env("FIREBREAK_CALL_TIMEOUT", "2s");
    })
    .await;
    let client = server.client().await;
    write(
        &client,
        "declare_incident",
        json!({"title": "Checkout errors", "severity": "SEV2", "summary": "before"}),
    )
    .await;
    // Open every server connection PgBouncer has, so the calls below are sent straight into
    // the frozen database's sockets.
    let warm = (0..8).map(|n| {
        let args = json!({"incident": "INC-1", "kind": "note", "body": format!("warm-{n}")});
        call(&client, "add_timeline_entry", args)
    });
    for result in join_all(warm).await {
        ok(result);
    }

    let frozen = dir.processes();
    for pid in &frozen {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGSTOP);
    }
    let late = (0..4).map(|n| {
        let args = json!({"incident": "INC-1", "kind": "note", "body": format!("late-{n}")});
        tokio::time::timeout(PATIENCE, call(&client, "add_timeline_entry", args))
    });
    for answered in join_all(late).await {
        let refused = failure(answered.expect("a call hung on a frozen database"));
        assert_eq!(refused.code, "unavailable", "{}", refused.message);
    }
    // Frozen well past the deadline, then thawed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for pid in &frozen {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGCONT);
    }
    let mut server = server;
    server.wait_until_healthy().await;
    // A write after the thaw lands (the deadline is per call, not stuck in a session), once a
    // keyed retry gets past connections the thaw is still settling (a transaction abandoned
    // while frozen ends with its server connection, at its idle-in-transaction timeout).
    let retry = json!({"incident": "INC-1", "kind": "note", "body": "after the thaw",
        "idempotency_key": "after-thaw"});
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let answer = call(&client, "add_timeline_entry", retry.clone()).await;
        if answer.is_error != Some(true) {
            break;
        }
        let refused = failure(answer);
        assert_eq!(refused.code, "unavailable", "{}", refused.message);
        assert!(
            tokio::time::Instant::now() < deadline,
            "writes still unavailable {PATIENCE:?} after the thaw"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let (late,): (i64,) =
        sqlx::query_as("select count(*) from timeline_entry where body like 'late-%'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        late, 0,
        "a write answered `unavailable` was committed later"
    );
    let (after,): (i64,) =
        sqlx::query_as("select count(*) from timeline_entry where body = 'after the thaw'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(after, 1);
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_over_the_deadline_is_cancelled_through_pgbouncer() {
    let db = TestDb::new().await;
    let bouncer = PgBouncer::start(&db.options, "").await;
    let server = HttpServer::start_with(&bouncer.url(&db.options), |command| {
        behind(command, &db.options);
        command.env("FIREBREAK_CALL_TIMEOUT", "1s");
    })
    .await;
    let client = server.client().await;
    write(
        &client,
        "declare_incident",
        json!({"title": "Locked out", "severity": "SEV3"}),
    )
    .await;
    // A session straight to PostgreSQL holds the incident's row: the update waits on it until
    // its statement_timeout (set per transaction through the pooler) cancels it.
    let mut holder = PgConnection::connect_with(&db.options).await.unwrap();
    holder.execute("begin").await.unwrap();
    holder
        .execute("select * from incident where number = 1 for update")
        .await
        .unwrap();
    let refused = failure(
        tokio::time::timeout(
            PATIENCE,
            call(
                &client,
                "update_incident",
                json!({"incident": "INC-1", "summary": "after the lock"}),
            ),
        )
        .await
        .expect("the update hung behind a lock"),
    );
    assert_eq!(refused.code, "unavailable", "{}", refused.message);
    holder.execute("rollback").await.unwrap();
    let (summary,): (Option<String>,) =
        sqlx::query_as("select summary from incident where number = 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_ne!(summary.as_deref(), Some("after the lock"));
    holder.close().await.unwrap();
}

/// An empty database on the test server, dropped when the guard goes.
struct EmptyDatabase {
    admin: PgConnectOptions,
    name: String,
    options: PgConnectOptions,
}

impl EmptyDatabase {
    async fn create(db: &TestDb) -> EmptyDatabase {
        let name = format!("{}_empty", db.options.get_database().unwrap());
        let mut conn = PgConnection::connect_with(&db.options).await.unwrap();
        conn.execute(AssertSqlSafe(format!("create database {name}")))
            .await
            .unwrap();
        conn.close().await.unwrap();
        EmptyDatabase {
            admin: db.options.clone(),
            options: db.options.clone().database(&name),
            name,
        }
    }
}

impl Drop for EmptyDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: finish on a thread of its own.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut conn = PgConnection::connect_with(&admin).await.unwrap();
                let drop = format!("drop database if exists {name} with (force)");
                conn.execute(AssertSqlSafe(drop)).await.unwrap();
            });
        })
        .join()
        .unwrap();
    }
}

/// Runs `firebreak ARGS` with `configure`; returns whether it succeeded and its stderr.
async fn run(args: &[&str], configure: impl FnOnce(&mut Command)) -> (bool, String) {
    let mut command = firebreak();
    command.args(args);
    configure(&mut command);
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .unwrap()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_on_the_direct_url_and_refuse_through_the_pooler_alone() {
    let db = TestDb::new().await;
    let empty = EmptyDatabase::create(&db).await;
    let bouncer = PgBouncer::start(&db.options, "").await;
    let through = bouncer.url(&empty.options);

    // Without the direct URL: `migrate` refuses, and so does `serve` on an unmigrated
    // database, each naming both settings.
    let (migrated, stderr) = run(&["migrate"], |c| {
        c.env("DATABASE_URL", &through)
            .env("FIREBREAK_DB_POOLER", "transaction");
    })
    .await;
    assert!(!migrated, "{stderr}");
    assert!(stderr.contains("FIREBREAK_DIRECT_DATABASE_URL"), "{stderr}");
    assert!(stderr.contains("FIREBREAK_DB_POOLER"), "{stderr}");
    let (listed, stderr) = run(&["tool", "list_incidents"], |c| {
        c.env("DATABASE_URL", &through)
            .env("FIREBREAK_DB_POOLER", "transaction");
    })
    .await;
    assert!(!listed, "{stderr}");
    assert!(stderr.contains("migration"), "{stderr}");
    assert!(stderr.contains("FIREBREAK_DIRECT_DATABASE_URL"), "{stderr}");

    // With it, `migrate` applies them, and then calls through the pooler alone work.
    let (migrated, stderr) = run(&["migrate"], |c| {
        behind(c, &empty.options);
        c.env("DATABASE_URL", &through);
    })
    .await;
    assert!(migrated, "{stderr}");
    let (listed, stderr) = run(&["tool", "list_incidents"], |c| {
        c.env("DATABASE_URL", &through)
            .env("FIREBREAK_DB_POOLER", "transaction");
    })
    .await;
    assert!(listed, "{stderr}");

    // A pooler setting without DATABASE_URL (the embedded cluster) names what it needs.
    let (started, stderr) = run(&["migrate"], |c| {
        c.env("FIREBREAK_DB_POOLER", "transaction");
    })
    .await;
    assert!(!started, "{stderr}");
    assert!(stderr.contains("needs DATABASE_URL"), "{stderr}");
}
