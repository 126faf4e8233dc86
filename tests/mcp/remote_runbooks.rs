//! Remote runbooks through the client, against a local HTTP server started by the test:
//! allow-list, redirects on and off the list, timeout, size cap, `ETag` / `Last-Modified`
//! revalidation, and the stale cached copy when the host is gone.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use firebreak::app::{App, Settings};
use firebreak::integrations::runbook_fetch::FetchLimits;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::{Client, TestDb, call, connect_app, failure, ok};

const REMOTE: &str = "---\nslug: remote-disk\ntitle: Remote disk runbook\nalerts: [DiskFull]\n---\n\
## Mitigation\n\n1. [diagnostic] Check usage.\n2. [risky] Delete old logs.\n";
const PLAIN: &str = "# KubePodCrashLooping\n\n## Diagnosis\n\n1. Read the logs.\n";
const ETAG: &str = "\"v1\"";
const LAST_MODIFIED: &str = "Wed, 21 Oct 2026 07:28:00 GMT";
/// The size cap the tests configure.
const MAX_BYTES: usize = 64 * 1024;

/// What the host counts.
#[derive(Clone, Default)]
struct Counters {
    port: u16,
    runbook_hits: Arc<AtomicUsize>,
    not_modified: Arc<AtomicUsize>,
}

/// A runbook host on 127.0.0.1.
struct Host {
    addr: SocketAddr,
    counters: Counters,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Host {
    async fn start() -> Host {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counters = Counters {
            port: addr.port(),
            ..Counters::default()
        };
        let router = Router::new()
            .route("/runbook.md", get(runbook))
            .route("/plain.md", get(plain))
            .route("/hop", get(|| async { redirect("/runbook.md") }))
            .route("/away", get(away))
            .route("/loop", get(|| async { redirect("/loop") }))
            .route("/slow", get(slow))
            .route("/big", get(big_streamed))
            .route("/big-declared", get(|| async { "x".repeat(MAX_BYTES + 1) }))
            .route("/binary", get(|| async { vec![0xffu8, 0xfe, 0x00] }))
            .route("/nul", get(|| async { "# Disk\n\n1. Check\0 usage.\n" }))
            .route("/elsewhere/{port}", get(elsewhere))
            .with_state(counters.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Host {
            addr,
            counters,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> usize {
        self.counters.runbook_hits.load(Ordering::SeqCst)
    }

    /// Stops serving and closes the listening socket.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap();
    }
}

async fn runbook(State(counters): State<Counters>, headers: HeaderMap) -> Response {
    counters.runbook_hits.fetch_add(1, Ordering::SeqCst);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v == ETAG)
    {
        counters.not_modified.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, ETAG)]).into_response();
    }
    (
        [
            (header::ETAG, ETAG),
            (header::CONTENT_TYPE, "text/markdown"),
        ],
        REMOTE,
    )
        .into_response()
}

async fn plain(State(counters): State<Counters>, headers: HeaderMap) -> Response {
    if headers
        .get(header::IF_MODIFIED_SINCE)
        .is_some_and(|v| v == LAST_MODIFIED)
    {
        counters.not_modified.fetch_add(1, Ordering::SeqCst);
        return StatusCode::NOT_MODIFIED.into_response();
    }
    ([(header::LAST_MODIFIED, LAST_MODIFIED)], PLAIN).into_response()
}

fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

/// Redirects to the same server under the name `localhost`, which is not on the allow-list.
async fn away(State(counters): State<Counters>) -> Response {
    redirect(&format!("http://localhost:{}/runbook.md", counters.port))
}

/// Redirects to another port on the allow-listed address.
async fn elsewhere(axum::extract::Path(port): axum::extract::Path<u16>) -> Response {
    redirect(&format!("http://127.0.0.1:{port}/runbook.md"))
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(2)).await;
    PLAIN
}

/// More than the cap, streamed without a Content-Length.
async fn big_streamed() -> Body {
    let chunks = (0..10).map(|_| Ok::<_, std::io::Error>(vec![b'x'; MAX_BYTES / 4]));
    Body::from_stream(futures::stream::iter(chunks))
}

/// A client whose server may fetch from `host` (127.0.0.1 on its port) and example.com (on
/// the default port), with short limits.
async fn client(db: &TestDb, host: &Host) -> Client {
    let settings = Settings {
        runbook_hosts: vec![
            format!("127.0.0.1:{}", host.addr.port()),
            "Example.COM.".into(),
        ],
        ..Default::default()
    };
    let limits = FetchLimits {
        connect_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_millis(500),
        max_bytes: MAX_BYTES,
        max_redirects: 3,
    };
    let app = App::new(db.pool.clone(), settings).with_fetch_limits(limits);
    connect_app(app, "tester").await
}

async fn get_url(client: &Client, url: &str) -> rmcp::model::CallToolResult {
    call(client, "get_runbook", json!({"url": url})).await
}

#[tokio::test]
async fn a_remote_runbook_is_fetched_parsed_cached_and_revalidated_by_etag() {
    let db = TestDb::new().await;
    let host = Host::start().await;
    let client = client(&db, &host).await;
    let first = ok(get_url(&client, &host.url("/runbook.md#mitigation")).await);
    assert_eq!(first["source"], "remote");
    assert_eq!(
        first["url"],
        host.url("/runbook.md"),
        "the fragment is dropped"
    );
    assert_eq!(first["slug"], "remote-disk");
    assert_eq!(first["alerts"], json!(["DiskFull"]));
    assert_eq!(first["stale"], false);
    assert_eq!(first["markdown"], REMOTE);
    assert_eq!(first["steps"][1]["kind"], "risky");
    assert_eq!(first["version"], Value::Null);
    assert_eq!(db.count("runbook_cache").await, 1);

    let second = ok(get_url(&client, &host.url("/runbook.md")).await);
    assert_eq!(host.hits(), 2);
    assert_eq!(host.counters.not_modified.load(Ordering::SeqCst), 1);
    assert_eq!(second["markdown"], REMOTE);
    assert_eq!(second["content_hash"], first["content_hash"]);
    assert_eq!(second["stale"], false);
    let (first_at, second_at) = (
        first["fetched_at"].as_str().unwrap(),
        second["fetched_at"].as_str().unwrap(),
    );
    assert!(second_at >= first_at, "{second_at} < {first_at}");
    host.stop().await;
}

#[tokio::test]
async fn plain_markdown_is_returned_as_is_and_revalidated_by_last_modified() {
    let db = TestDb::new().await;
    let host = Host::start().await;
    let client = client(&db, &host).await;
    let first = ok(get_url(&client, &host.url("/plain.md")).await);
    assert_eq!(first["slug"], Value::Null);
    assert_eq!(first["front_matter_error"], Value::Null);
    assert_eq!(first["markdown"], PLAIN);
    assert_eq!(first["steps"][0]["text"], "Read the logs.");
    assert_eq!(
        first["steps"][0]["risky"], true,
        "unmarked steps count as risky"
    );
    ok(get_url(&client, &host.url("/plain.md")).await);
    assert_eq!(host.counters.not_modified.load(Ordering::SeqCst), 1);
    host.stop().await;
}

#[tokio::test]
async fn hosts_off_the_allow_list_are_refused_without_a_request() {
    let db = TestDb::new().await;
    let host = Host::start().await;
    let client = client(&db, &host).await;
    let port = host.addr.port();
    let cases = [
        (
            format!("http://localhost:{port}/runbook.md"),
            format!("`localhost:{port}` is not on the runbook allow-list"),
        ),
        (
            "https://wiki.evil.example/runbook.md".to_owned(),
            format!("127.0.0.1:{port}, example.com"),
        ),
        (
            "http://example.com/runbook.md".to_owned(),
            "plain http".to_owned(),
        ),
        (
            "ftp://127.0.0.1/runbook.md".to_owned(),
            "only https".to_owned(),
        ),
        (
            format!("http://user:pw@127.0.0.1:{port}/runbook.md"),
            "credentials".to_owned(),
        ),
    ];
    for (url, needle) in cases {
        let refused = failure(get_url(&client, &url).await);
        assert_eq!(refused.code, "invalid_argument", "{url}");
        assert_eq!(refused.details["field"], "url", "{url}");
        assert!(
            refused.message.contains(&needle),
            "{url}: {}",
            refused.message
        );
    }
    assert_eq!(host.hits(), 0, "no request reached the host");
    assert_eq!(db.count("runbook_cache").await, 0);
    host.stop().await;
}

#[tokio::test]
async fn an_allowed_host_allows_only_its_listed_port_directly_and_through_redirects() {
    let db = TestDb::new().await;
    let host = Host::start().await;
    let other = Host::start().await;
    let client = client(&db, &host).await;
    let other_port = other.addr.port();

    let direct = failure(get_url(&client, &other.url("/runbook.md")).await);
    assert_eq!(direct.code, "invalid_argument");
    assert!(
        direct.message.contains(&format!(
            "`127.0.0.1:{other_port}` is not on the runbook allow-list"
        )),
        "{}",
        direct.message
    );
    let bare = failure(get_url(&client, "https://example.com:8443/runbook.md").await);
    assert!(
        bare.message.contains("only the default port"),
        "{}",
        bare.message
    );

    let redirected =
        failure(get_url(&client, &host.url(&format!("/elsewhere/{other_port}"))).await);
    assert_eq!(redirected.code, "unavailable");
    assert!(
        redirected.message.contains(&format!(
            "refused a redirect to http://127.0.0.1:{other_port}/"
        )),
        "{}",
        redirected.message
    );
    assert_eq!(other.hits(), 0, "the other service was never contacted");
    other.stop().await;
    host.stop().await;
}

#[tokio::test]
async fn redirects_are_followed_on_the_list_and_refused_off_it() {
    let db = TestDb::new().await;
    let host = Host::start().await;
    let client = client(&db, &host).await;
    let hopped = ok(get_url(&client, &host.url("/hop")).await);
    assert_eq!(hopped["slug"], "remote-disk");
    assert_eq!(
        hopped["url"],
        host.url("/hop"),
        "cached under the URL asked for"
    );
    assert_eq!(host.hits(), 1);

    let away = failure(get_url(&client, &host.url("/away")).await);
    assert_eq!(away.code, "unavailable");
    assert!(
        away.message
            .contains("refused a redirect to http://localhost:"),
        "{}",
        away.message
    );
    assert!(
        away.message.contains("not on the runbook allow-list"),
        "{}",
        away.message
    );
    assert_eq!(host.hits(), 1, "the off-list target was never requested");

    let looped = failure(get_url(&client, &host.url("/loop")).await);
    assert_eq!(looped.code, "unavailable");
    assert!(
        looped.message.contains("more than 3 redirects"),
        "{}",
        looped.message
    );
    host.stop().await;
}

#[tokio::test]
async fn a_slow_host_times_out_and_a_large_or_binary_document_is_refused() {
    let db = TestDb::new().await;
    let host = Host::start().await;
    let client = client(&db, &host).await;
    let cases = [
        ("/slow", "no complete answer within 500ms"),
        ("/big", "larger than 65536 bytes"),
        ("/big-declared", "larger than 65536 bytes"),
        ("/binary", "not UTF-8 text"),
        ("/nul", "contains a NUL byte on line 3"),
        ("/missing", "HTTP 404"),
    ];
    for (path, needle) in cases {
        let failed = failure(get_url(&client, &host.url(path)).await);
        assert_eq!(failed.code, "unavailable", "{path}");
        assert!(
            failed.message.contains(needle),
            "{path}: {}",
            failed.message
        );
        assert!(
            failed.message.contains("no cached copy"),
            "{path}: {}",
            failed.message
        );
    }
    assert_eq!(db.count("runbook_cache").await, 0);
    host.stop().await;
}

#[tokio::test]
async fn when_the_host_is_gone_the_cached_copy_is_returned_marked_stale() {
    let db = TestDb::new().await;
    let host = Host::start().await;
    let client = client(&db, &host).await;
    let url = host.url("/runbook.md");
    let fresh = ok(get_url(&client, &url).await);
    let never_fetched = host.url("/plain.md");
    host.stop().await;

    let stale = ok(get_url(&client, &url).await);
    assert_eq!(stale["stale"], true);
    assert!(
        stale["stale_reason"]
            .as_str()
            .unwrap()
            .contains("could not reach the host"),
        "{stale}"
    );
    assert_eq!(stale["markdown"], REMOTE);
    assert_eq!(stale["fetched_at"], fresh["fetched_at"]);
    assert_eq!(stale["steps"], fresh["steps"]);

    let missing = failure(get_url(&client, &never_fetched).await);
    assert_eq!(missing.code, "unavailable");
    assert!(
        missing.message.contains("no cached copy"),
        "{}",
        missing.message
    );
}
