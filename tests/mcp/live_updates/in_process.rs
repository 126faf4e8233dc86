//! Live updates served in process, where the test controls the server's settings and can note
//! a failover: bounded, canonically keyed subscriptions; no subscription offered behind a
//! transaction pooler without a direct URL; and a listener that reconnects after a failover
//! even though its old connection never broke.

use firebreak::app::live::LiveUpdates;
use firebreak::app::{App, Settings};
use firebreak::domain::Scopes;
use firebreak::mcp::{FirebreakServer, Transport};
use firebreak::store::failover;
use firebreak::store::pooler::Pooling;
use rmcp::ServiceExt;
use rmcp::model::UnsubscribeRequestParams;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{Updates, note, subscribe};
use crate::support::children::{Captured, PATIENCE};
use crate::support::watcher::{LISTENING, Watcher, Watching, wait_listening};
use crate::support::{TestDb, declare, local_grant};

/// A watching client of an in-process server over `app` with live updates; the feed (and its
/// listener) stops when the guard drops.
async fn serve_watched(app: App) -> (Watching, Updates, DropGuard) {
    let shutdown = CancellationToken::new();
    let live = LiveUpdates::start(&app, shutdown.clone());
    let grant = local_grant("watcher", Scopes::ALL);
    let server = FirebreakServer::new(app, Transport::Stdio { grant }).with_live_updates(live);
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let running = server.serve(server_io).await.expect("server handshake");
        let _ = running.waiting().await;
    });
    let (sender, receiver) = mpsc::unbounded_channel();
    let client = Watcher { updates: sender }
        .serve(client_io)
        .await
        .expect("client handshake");
    (client, Updates(receiver), shutdown.drop_guard())
}

/// The id of incident `reference` (`INC-n`), for its UUID spelling.
async fn id_of(db: &TestDb, reference: &str) -> String {
    let number: i64 = reference.trim_start_matches("INC-").parse().unwrap();
    let (id,): (String,) = sqlx::query_as("select id::text from incident where number = $1")
        .bind(number)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    id
}

/// The backend pid of the connection listening for changes on `db`, if one is.
async fn listener_pid(db: &TestDb) -> Option<i32> {
    sqlx::query_scalar(
        "select pid from pg_stat_activity where query ilike $1 and datname = current_database()",
    )
    .bind(LISTENING)
    .fetch_optional(&db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_resource_in_two_spellings_is_one_subscription_echoing_the_latest() {
    let db = TestDb::new().await;
    let writer = db.client().await;
    let one = declare(&writer, "Checkout errors", "SEV2").await;
    let two = declare(&writer, "Search slow", "SEV3").await;
    let (watcher, mut updates, _live) = serve_watched(App::from_pool(db.pool.clone())).await;
    wait_listening(&db, 1, String::new).await;
    let first = format!("incident://{one}");
    let number = one.trim_start_matches("INC-");
    let latest = format!("incident://{number}/");
    let other = format!("incident://{two}");
    for uri in [&first, &latest, &other] {
        subscribe(&watcher, uri).await.unwrap();
    }

    note(&writer, &one, "retries disabled").await;
    let mut heard = updates.until(&latest, &Captured::default()).await;
    heard.extend(updates.within_quiet().await);
    // Only ever the spelling subscribed last (a failover elsewhere in the process may add a
    // re-read, but never in the first spelling).
    assert!(!heard.contains(&first), "{heard:?}");

    // Any spelling ends it, the UUID form too.
    let by_id = format!("incident://{}", id_of(&db, &one).await);
    watcher
        .peer()
        .unsubscribe(UnsubscribeRequestParams::new(&by_id))
        .await
        .unwrap();
    note(&writer, &one, "rolled back").await;
    note(&writer, &two, "index rebuilt").await;
    let heard = updates.until(&other, &Captured::default()).await;
    assert!(!heard.contains(&latest), "{heard:?}");
    watcher.cancel().await.unwrap();
    writer.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_uris_and_subscriptions_beyond_the_cap_are_refused() {
    let db = TestDb::new().await;
    let writer = db.client().await;
    // 64 incidents × 4 resources each = the cap of 256.
    let mut incidents = Vec::new();
    for n in 0..65 {
        incidents.push(declare(&writer, &format!("Outage {n}"), "SEV3").await);
    }
    let (watcher, _updates, _live) = serve_watched(App::from_pool(db.pool.clone())).await;

    let long = format!("incident://{}{}", incidents[0], "/".repeat(600));
    let refused = subscribe(&watcher, &long).await.unwrap_err();
    assert!(refused.contains("longer than the 512 bytes"), "{refused}");

    let resources = |incident: &str| {
        [
            format!("incident://{incident}"),
            format!("incident://{incident}/timeline"),
            format!("incident://{incident}/alerts"),
            format!("postmortem://{incident}"),
        ]
    };
    for incident in &incidents[..64] {
        for uri in resources(incident) {
            subscribe(&watcher, &uri).await.unwrap();
        }
    }
    // Another spelling of a held subscription is no new one.
    let number = incidents[0].trim_start_matches("INC-");
    subscribe(&watcher, &format!("incident://{number}"))
        .await
        .unwrap();
    let extra = format!("incident://{}", incidents[64]);
    let refused = subscribe(&watcher, &extra).await.unwrap_err();
    assert!(
        refused.contains("256 subscriptions") && refused.contains("unsubscribe from one first"),
        "{refused}"
    );
    watcher
        .peer()
        .unsubscribe(UnsubscribeRequestParams::new(format!(
            "postmortem://{}",
            incidents[3]
        )))
        .await
        .unwrap();
    subscribe(&watcher, &extra).await.unwrap();
    watcher.cancel().await.unwrap();
    writer.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_pooler_without_a_direct_url_subscribing_is_neither_offered_nor_accepted() {
    let db = TestDb::new().await;
    let writer = db.client().await;
    let incident = declare(&writer, "Queue backlog", "SEV2").await;
    let pooled = |direct| Settings {
        pooling: Pooling::transaction(None, direct),
        ..Settings::default()
    };
    // `DEALLOCATE ALL` opens each transaction here, so this pool caches no statements.
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(db.options.clone().statement_cache_capacity(0))
        .await
        .unwrap();
    let app = App::new(pool.clone(), pooled(None));
    let (watcher, _updates, _live) = serve_watched(app).await;
    let offered = watcher.peer_info().unwrap().capabilities.resources.clone();
    assert_eq!(offered.and_then(|r| r.subscribe), None);
    let refused = subscribe(&watcher, &format!("incident://{incident}"))
        .await
        .unwrap_err();
    assert!(
        refused.contains("FIREBREAK_DIRECT_DATABASE_URL"),
        "{refused}"
    );
    watcher.cancel().await.unwrap();

    // With a direct URL the same server offers and accepts it.
    let app = App::new(pool.clone(), pooled(Some(db.options.clone())));
    let (watcher, _updates, _live) = serve_watched(app).await;
    let offered = watcher.peer_info().unwrap().capabilities.resources.clone();
    assert_eq!(offered.and_then(|r| r.subscribe), Some(true));
    subscribe(&watcher, &format!("incident://{incident}"))
        .await
        .unwrap();
    watcher.cancel().await.unwrap();
    writer.cancel().await.unwrap();
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failover_the_listener_reconnects_and_subscribers_re_read() {
    let db = TestDb::new().await;
    let writer = db.client().await;
    let incident = declare(&writer, "Replication lag", "SEV2").await;
    let (watcher, mut updates, _live) = serve_watched(App::from_pool(db.pool.clone())).await;
    wait_listening(&db, 1, String::new).await;
    let before = listener_pid(&db).await.expect("one listener");
    let uri = format!("incident://{incident}");
    subscribe(&watcher, &uri).await.unwrap();

    // The old connection is healthy: only the switch can make the relay reconnect.
    failover::note_switch();
    assert_eq!(
        updates.until(&uri, &Captured::default()).await,
        [uri.as_str()]
    );
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if listener_pid(&db).await.is_some_and(|pid| pid != before) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still listening on backend {before} after the switch"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    note(&writer, &incident, "primary promoted").await;
    assert!(
        updates
            .until(&uri, &Captured::default())
            .await
            .contains(&uri)
    );
    watcher.cancel().await.unwrap();
    writer.cancel().await.unwrap();
}
