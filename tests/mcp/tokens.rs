//! API tokens kept in the database, through the real `firebreak tokens` binary and real
//! `serve --http` children: a secret is printed once and never listed, a live name is taken
//! once, a revocation reaches another replica within seconds, and a rotation accepts both
//! secrets during its grace.

use std::time::Duration;

use chrono::Utc;
use firebreak::app::App;
use firebreak::app::tokens::TokenRegistry;
use firebreak::domain::{AuthMethod, Scope, Scopes};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::support::TestDb;
use crate::support::children::{HttpServer, PATIENCE, firebreak};

/// The most a change may take to reach a serving process before a test fails. The design aims
/// at about a second; the bound leaves room for a loaded machine.
const PROPAGATION_BOUND: Duration = Duration::from_secs(5);

/// What one `firebreak tokens …` run printed.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `firebreak tokens <args>` on `db`.
async fn tokens(db: &TestDb, args: &[&str]) -> Run {
    let output = firebreak()
        .arg("tokens")
        .args(args)
        .env("DATABASE_URL", db.url())
        .output();
    let output = tokio::time::timeout(PATIENCE, output)
        .await
        .expect("firebreak tokens finished")
        .expect("firebreak tokens ran");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `firebreak tokens <args>`, which must succeed.
async fn tokens_ok(db: &TestDb, args: &[&str]) -> String {
    let run = tokens(db, args).await;
    assert!(
        run.success,
        "tokens {args:?} failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    run.stdout
}

/// Runs `firebreak tokens <args>`, which must fail; returns what it said on stderr.
async fn tokens_refused(db: &TestDb, args: &[&str]) -> String {
    let run = tokens(db, args).await;
    assert!(!run.success, "tokens {args:?} succeeded:\n{}", run.stdout);
    run.stderr
}

/// The secret a `create` or `rotate` printed (alone on its line).
fn secret_in(stdout: &str) -> String {
    let secrets: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("fbk_"))
        .collect();
    assert_eq!(secrets.len(), 1, "one secret, once:\n{stdout}");
    secrets[0].to_owned()
}

/// Creates a token and returns its secret.
async fn create(db: &TestDb, name: &str, scopes: &str) -> String {
    secret_in(&tokens_ok(db, &["create", name, "--scopes", scopes]).await)
}

/// `tokens list --all --json`.
async fn listed(db: &TestDb) -> Vec<Value> {
    let stdout = tokens_ok(db, &["list", "--all", "--json"]).await;
    let listed: Value = serde_json::from_str(&stdout).expect("list --json prints JSON");
    listed.as_array().unwrap().clone()
}

/// How `server` answers a stateless `tools/list` presenting `secret`.
async fn answer(http: &reqwest::Client, server: &HttpServer, secret: &str) -> StatusCode {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    http.post(server.mcp())
        .bearer_auth(secret)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        )
        .header("mcp-protocol-version", "2025-11-25")
        .body(body.to_string())
        .send()
        .await
        .expect("send")
        .status()
}

/// Polls until `server` answers `wanted` to `secret`; returns how long that took. Fails after
/// [`PROPAGATION_BOUND`].
async fn until_answer(
    http: &reqwest::Client,
    server: &HttpServer,
    secret: &str,
    wanted: StatusCode,
) -> Duration {
    let started = Instant::now();
    loop {
        let got = answer(http, server, secret).await;
        if got == wanted {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < PROPAGATION_BOUND,
            "still {got} (not {wanted}) after {PROPAGATION_BOUND:?}; stderr:\n{}",
            server.stderr.text()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn create_prints_the_secret_once_and_list_never_shows_it() {
    let db = TestDb::new().await;
    let stdout = tokens_ok(&db, &["create", "ci-bot", "--scopes", "incidents:write"]).await;
    let secret = secret_in(&stdout);
    assert_eq!(secret.len(), "fbk_".len() + 43, "{secret}");
    assert!(stdout.contains("will not be shown again"), "{stdout}");
    assert!(stdout.contains("Authorization: Bearer"), "{stdout}");
    assert!(stdout.contains("valid until revoked"), "{stdout}");

    // Only the digest is stored: SHA-256 of the whole secret.
    let (stored, by_digest): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where secret_digest = sha256(convert_to($1, 'UTF8'))) \
         from api_token",
    )
    .bind(&secret)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((stored, by_digest), (1, 1));

    let table = tokens_ok(&db, &["list"]).await;
    assert!(
        !table.contains(&secret) && !table.contains("fbk_"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("ci-bot"))
        .expect(&table);
    assert!(row.contains("incidents:write"), "{table}");
    assert!(row.contains("never") && row.ends_with("live"), "{table}");
    for column in ["NAME", "SCOPES", "CREATED", "LAST USED", "EXPIRES", "STATE"] {
        assert!(table.lines().next().unwrap().contains(column), "{table}");
    }

    let json = tokens_ok(&db, &["list", "--json"]).await;
    assert!(!json.contains("fbk_"), "{json}");
    let listed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(listed[0]["name"], "ci-bot");
    assert_eq!(
        listed[0]["scopes"],
        json!(["incidents:read", "incidents:write"]),
        "implied scopes are stored and listed"
    );
    assert_eq!(listed[0]["state"], "live");

    // An expiry is listed.
    let expiring = tokens_ok(
        &db,
        &["create", "nightly", "--scopes", "admin", "--expires", "90d"],
    )
    .await;
    assert!(expiring.contains("expires 20"), "{expiring}");
    let all = listed_by_name(&db, "nightly").await;
    assert!(all["expires_at"].is_string(), "{all}");
}

async fn listed_by_name(db: &TestDb, name: &str) -> Value {
    listed(db)
        .await
        .into_iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no token `{name}` listed"))
}

#[tokio::test]
async fn a_live_name_is_taken_once_and_bad_names_scopes_and_expiries_are_named() {
    let db = TestDb::new().await;
    create(&db, "ci-bot", "incidents:read").await;

    let twice = tokens_refused(&db, &["create", "ci-bot", "--scopes", "admin"]).await;
    assert!(twice.contains("conflict"), "{twice}");
    assert!(
        twice.contains("tokens revoke ci-bot") && twice.contains("tokens rotate ci-bot"),
        "says how to free or reuse the name: {twice}"
    );

    let scope = tokens_refused(&db, &["create", "other", "--scopes", "incidents:read,root"]).await;
    assert!(scope.contains("`root`"), "{scope}");
    for allowed in ["incidents:read", "incidents:write", "admin"] {
        assert!(scope.contains(allowed), "names `{allowed}`: {scope}");
    }

    let name = tokens_refused(&db, &["create", "CI Bot", "--scopes", "admin"]).await;
    assert!(
        name.contains("invalid_argument") && name.contains("`name`"),
        "{name}"
    );

    let expiry = tokens_refused(
        &db,
        &["create", "soon", "--scopes", "admin", "--expires", "0d"],
    )
    .await;
    assert!(expiry.contains("--expires"), "{expiry}");
    let unit = tokens_refused(
        &db,
        &[
            "create",
            "soon",
            "--scopes",
            "admin",
            "--expires",
            "3 weeks",
        ],
    )
    .await;
    assert!(unit.contains("unit"), "{unit}");

    assert_eq!(listed(&db).await.len(), 1, "nothing else was stored");
}

#[tokio::test]
async fn a_revoked_token_leaves_the_list_and_frees_its_name() {
    let db = TestDb::new().await;
    create(&db, "ci-bot", "incidents:read").await;
    let revoked = tokens_ok(&db, &["revoke", "ci-bot"]).await;
    assert!(revoked.contains("`ci-bot` revoked"), "{revoked}");

    let table = tokens_ok(&db, &["list"]).await;
    assert!(!table.contains("ci-bot"), "{table}");
    let history = tokens_ok(&db, &["list", "--all"]).await;
    let row = history
        .lines()
        .find(|l| l.starts_with("ci-bot"))
        .expect(&history);
    assert!(row.ends_with("revoked"), "{history}");

    let again = tokens_refused(&db, &["revoke", "ci-bot"]).await;
    assert!(
        again.contains("not_found") && again.contains("`ci-bot`"),
        "{again}"
    );
    let missing = tokens_refused(&db, &["rotate", "nobody"]).await;
    assert!(
        missing.contains("not_found") && missing.contains("`nobody`"),
        "{missing}"
    );

    // The name is free again; the revoked one stays listed for the record.
    create(&db, "ci-bot", "admin").await;
    let states: Vec<Value> = listed(&db)
        .await
        .into_iter()
        .map(|t| t["state"].clone())
        .collect();
    assert_eq!(states, [json!("live"), json!("revoked")], "newest first");
}

#[tokio::test]
async fn rotate_prints_a_new_secret_and_lists_the_token_as_rotating() {
    let db = TestDb::new().await;
    let old = create(&db, "ci-bot", "incidents:read").await;
    let stdout = tokens_ok(&db, &["rotate", "ci-bot", "--grace", "2h"]).await;
    let new = secret_in(&stdout);
    assert_ne!(new, old);
    assert!(stdout.contains("will not be shown again"), "{stdout}");
    assert!(
        stdout.contains("old secret is still accepted until"),
        "{stdout}"
    );
    let token = listed_by_name(&db, "ci-bot").await;
    assert_eq!(token["state"], "rotating");
    let (grace,): (f64,) = sqlx::query_as(
        "select extract(epoch from previous_valid_until - now())::float8 from api_token",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        (7000.0..=7200.0).contains(&grace),
        "about 2 h of grace: {grace}"
    );

    let immediate = tokens_ok(&db, &["rotate", "ci-bot", "--grace", "0"]).await;
    assert!(immediate.contains("refused from now on"), "{immediate}");
    assert_eq!(listed_by_name(&db, "ci-bot").await["state"], "live");
    let long = tokens_refused(&db, &["rotate", "ci-bot", "--grace", "365d"]).await;
    assert!(long.contains("`grace`"), "{long}");
}

#[tokio::test]
async fn a_database_token_works_over_http_with_its_scopes() {
    let db = TestDb::new().await;
    let writer = create(&db, "deploy-bot", "incidents:write").await;
    let server = HttpServer::start(&db).await;
    let http = reqwest::Client::new();
    assert_eq!(answer(&http, &server, &writer).await, StatusCode::OK);
    assert_eq!(
        answer(
            &http,
            &server,
            "fbk_not-a-token-at-all-not-a-token-at-all-000"
        )
        .await,
        StatusCode::UNAUTHORIZED
    );

    // A token made while the server runs is accepted within seconds.
    let reader = create(&db, "reader", "incidents:read").await;
    let waited = until_answer(&http, &server, &reader, StatusCode::OK).await;
    eprintln!("a new token was accepted after {waited:?}");

    // Its scopes hold: the reader may not declare; the writer may, as itself.
    let declare = |secret: &str| {
        let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "declare_incident",
            "arguments": {"title": "Checkout errors", "severity": "SEV2"}}});
        http.post(server.mcp())
            .bearer_auth(secret)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            )
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.to_string())
            .send()
    };
    let refused = declare(&reader).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let declared = declare(&writer).await.unwrap();
    assert_eq!(declared.status(), StatusCode::OK);
    let (principal,): (String,) =
        sqlx::query_as("select created_by_principal from incident limit 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(principal, "deploy-bot");
}

#[tokio::test]
async fn a_token_revoked_is_refused_by_another_replica_within_seconds() {
    let db = TestDb::new().await;
    let secret = create(&db, "ci-bot", "incidents:read").await;
    let a = HttpServer::start(&db).await;
    let b = HttpServer::start(&db).await;
    let http = reqwest::Client::new();
    assert_eq!(answer(&http, &a, &secret).await, StatusCode::OK);
    assert_eq!(answer(&http, &b, &secret).await, StatusCode::OK);

    tokens_ok(&db, &["revoke", "ci-bot"]).await;
    let on_b = until_answer(&http, &b, &secret, StatusCode::UNAUTHORIZED).await;
    let on_a = until_answer(&http, &a, &secret, StatusCode::UNAUTHORIZED).await;
    eprintln!("revocation refused by replica B after {on_b:?} (A after {on_a:?} more)");
}

#[tokio::test]
async fn during_a_rotation_both_secrets_work_until_the_grace_ends() {
    let db = TestDb::new().await;
    let first = create(&db, "ci-bot", "incidents:read").await;
    let server = HttpServer::start(&db).await;
    let http = reqwest::Client::new();
    assert_eq!(answer(&http, &server, &first).await, StatusCode::OK);

    let second = secret_in(&tokens_ok(&db, &["rotate", "ci-bot", "--grace", "24h"]).await);
    let waited = until_answer(&http, &server, &second, StatusCode::OK).await;
    eprintln!("the rotated secret was accepted after {waited:?}");
    assert_eq!(
        answer(&http, &server, &first).await,
        StatusCode::OK,
        "the old secret still works during the grace"
    );

    // Without grace, the secrets before are refused at once and only the newest works.
    let third = secret_in(&tokens_ok(&db, &["rotate", "ci-bot", "--grace", "0"]).await);
    until_answer(&http, &server, &third, StatusCode::OK).await;
    until_answer(&http, &server, &second, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        answer(&http, &server, &first).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn uses_are_recorded_by_the_time_a_server_stops() {
    let db = TestDb::new().await;
    let secret = create(&db, "ci-bot", "incidents:read").await;
    let mut server = HttpServer::start(&db).await;
    let http = reqwest::Client::new();
    assert_eq!(answer(&http, &server, &secret).await, StatusCode::OK);
    let pid = nix::unistd::Pid::from_raw(server.child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    crate::support::children::exit_within(&mut server.child, PATIENCE, &server.stderr).await;
    let used = listed_by_name(&db, "ci-bot").await;
    assert!(
        used["last_used_at"].is_string(),
        "the last use was written at shutdown: {used}; stderr:\n{}",
        server.stderr.text()
    );
}

/// Polls until `registry` accepts `secret` (or refuses it, when `accepted` is false); returns
/// how long that took. Fails after [`PROPAGATION_BOUND`].
async fn until_registry(registry: &TokenRegistry, secret: &str, accepted: bool) -> Duration {
    let started = Instant::now();
    while registry.grant_for(secret, Utc::now()).is_some() != accepted {
        assert!(
            started.elapsed() < PROPAGATION_BOUND,
            "the registry still {} the secret after {PROPAGATION_BOUND:?}",
            if accepted { "refuses" } else { "accepts" }
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn a_serving_process_registry_follows_creation_rotation_and_revocation() {
    let db = TestDb::new().await;
    let app = App::from_pool(db.pool.clone());
    let shutdown = CancellationToken::new();
    let registry = TokenRegistry::start(&app, shutdown.clone()).await.unwrap();
    assert!(registry.is_empty());

    let first = create(&db, "ci-bot", "incidents:write").await;
    let took = until_registry(&registry, &first, true).await;
    eprintln!("registry: a new token was accepted after {took:?}");
    assert_eq!(registry.len(), 1);
    let grant = registry.grant_for(&first, Utc::now()).unwrap();
    assert_eq!(grant.principal, "ci-bot");
    assert_eq!(grant.method, AuthMethod::DatabaseToken);
    assert!(grant.scopes.allows(Scope::IncidentsRead), "implied read");
    assert!(!grant.scopes.allows(Scope::Admin));

    let second = secret_in(&tokens_ok(&db, &["rotate", "ci-bot", "--grace", "24h"]).await);
    until_registry(&registry, &second, true).await;
    assert!(
        registry.grant_for(&first, Utc::now()).is_some(),
        "the old secret works during the grace"
    );
    assert_eq!(registry.len(), 1, "still one token");

    tokens_ok(&db, &["revoke", "ci-bot"]).await;
    let took = until_registry(&registry, &second, false).await;
    eprintln!("registry: a revocation was refused after {took:?}");
    assert!(registry.grant_for(&first, Utc::now()).is_none());
    assert!(registry.is_empty());
    shutdown.cancel();
}

#[tokio::test]
async fn two_registries_see_a_revocation_and_record_uses_at_shutdown() {
    let db = TestDb::new().await;
    let secret = create(&db, "ci-bot", "incidents:read").await;
    let app = App::from_pool(db.pool.clone());
    let (stop_a, stop_b) = (CancellationToken::new(), CancellationToken::new());
    let a = TokenRegistry::start(&app, stop_a.clone()).await.unwrap();
    let b = TokenRegistry::start(&app, stop_b.clone()).await.unwrap();
    let grant = a.grant_for(&secret, Utc::now()).unwrap();
    assert_eq!(grant.scopes, Scopes::of(&[Scope::IncidentsRead]));
    assert!(b.grant_for(&secret, Utc::now()).is_some());
    assert!(b.grant_for("fbk_something-else", Utc::now()).is_none());
    let (used,): (Option<chrono::DateTime<Utc>>,) =
        sqlx::query_as("select last_used_at from api_token")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(used.is_none(), "uses are not written per request");

    // Uses are written when a registry stops (and every 30 s before that).
    stop_a.cancel();
    let started = Instant::now();
    loop {
        let (used,): (Option<chrono::DateTime<Utc>>,) =
            sqlx::query_as("select last_used_at from api_token")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        if used.is_some() {
            break;
        }
        assert!(started.elapsed() < PROPAGATION_BOUND, "no use recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    tokens_ok(&db, &["revoke", "ci-bot"]).await;
    let took = until_registry(&b, &secret, false).await;
    eprintln!("registry B refused the revoked token after {took:?}");
    stop_b.cancel();
}

#[tokio::test]
async fn a_lost_notice_delays_a_revocation_by_a_second_at_most() {
    let db = TestDb::new().await;
    let secret = create(&db, "ci-bot", "incidents:read").await;
    let app = App::from_pool(db.pool.clone());
    let shutdown = CancellationToken::new();
    let registry = TokenRegistry::start(&app, shutdown.clone()).await.unwrap();
    assert!(registry.grant_for(&secret, Utc::now()).is_some());
    // No notice at all: only the periodic reload can catch the change.
    sqlx::query("alter table api_token disable trigger api_token_changed")
        .execute(&db.pool)
        .await
        .unwrap();
    tokens_ok(&db, &["revoke", "ci-bot"]).await;
    let took = until_registry(&registry, &secret, false).await;
    eprintln!("without a notice, the revocation was refused after {took:?}");
    shutdown.cancel();
}
