//! The public status page through the real server: `firebreak serve --http --notifications
//! FILE` as a child, updates posted with `post_status_update`, and the page read without a token
//! as a visitor would (reqwest, and headless Chromium for what a browser shows).

mod browser;
mod xml;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::children::HttpServer;
use crate::support::{Client, TestDb, call, declare, ok};

const NOTIFICATIONS: &str = "\
status_page:
  title: Example status
  components:
    - service: checkout
      name: Checkout
    - service: api
      name: Public API
";

/// The internal title, which the page must never show.
const INTERNAL_TITLE: &str = "Primary database failover after disk alarm";
/// The text of an internal update, which the page must never show.
const INTERNAL_TEXT: &str = "Internal only: rolling back deploy 4411 on pg-main";

/// A server with the status page configured, its notifications file in `dir`.
async fn start(db: &TestDb, dir: &Path) -> HttpServer {
    let file = dir.join("notifications.yaml");
    std::fs::write(&file, NOTIFICATIONS).unwrap();
    HttpServer::start_with(&db.url(), |command| {
        command.arg("--notifications").arg(&file);
    })
    .await
}

async fn post(client: &Client, arguments: Value) -> Value {
    ok(call(client, "post_status_update", arguments).await)
}

/// An incident with an internal update and a first public update (checkout down, the next
/// update promised in 30 minutes); returns its reference.
async fn incident_with_updates(client: &Client) -> String {
    let incident = declare(client, INTERNAL_TITLE, "sev1").await;
    post(
        client,
        json!({"incident": incident, "audience": "internal", "status": "investigating",
               "message": INTERNAL_TEXT, "services": [{"service": "checkout", "state": "major_outage"}]}),
    )
    .await;
    post(
        client,
        json!({"incident": incident, "audience": "stakeholders", "status": "investigating",
               "message": "Stakeholders: revenue impact being assessed"}),
    )
    .await;
    post(
        client,
        json!({"incident": incident, "audience": "public", "status": "investigating",
               "message": "Some customers cannot complete checkout. We are investigating.",
               "services": [{"service": "checkout", "state": "major_outage"}],
               "next_update_at": "+30m", "public_title": "Checkout errors"}),
    )
    .await;
    incident
}

/// GET `path` with no token; the answer's status, content type and body.
async fn get(server: &HttpServer, path: &str) -> (u16, String, String) {
    let response = reqwest::get(format!("{}{path}", server.base))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// `/status.json` once it satisfies `ready` (the page is cached for a few seconds).
async fn json_when(server: &HttpServer, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _, body) = get(server, "/status.json").await;
        assert_eq!(status, 200, "{body}");
        let value: Value = serde_json::from_str(&body).unwrap();
        if ready(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page never showed the change: {value:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn component<'v>(page: &'v Value, id: &str) -> &'v Value {
    page["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no component {id}: {page:#}"))
}

#[tokio::test]
async fn the_page_shows_only_public_updates_of_public_components_and_follows_resolution() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start(&db, dir.path()).await;
    let client = server.client().await;
    let incident = incident_with_updates(&client).await;

    // No token needed for the page, while /mcp wants one.
    let mcp = reqwest::Client::new()
        .post(server.mcp())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(mcp.status().as_u16(), 401);

    let page = json_when(&server, |p| {
        p["incidents"].as_array().is_some_and(|i| !i.is_empty())
    })
    .await;
    assert_eq!(page["page"]["name"], "Example status");
    assert_eq!(page["status"]["indicator"], "critical");
    assert_eq!(page["status"]["description"], "Major Service Outage");
    let ids: Vec<&str> = page["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["checkout", "api"]);
    assert_eq!(component(&page, "checkout")["status"], "major_outage");
    assert_eq!(component(&page, "checkout")["name"], "Checkout");
    assert_eq!(component(&page, "api")["status"], "operational");
    let incidents = page["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    let shown = &incidents[0];
    assert_eq!(shown["id"], incident.as_str());
    assert_eq!(shown["name"], "Checkout errors");
    assert_eq!(shown["status"], "investigating");
    assert_eq!(shown["impact"], "critical");
    assert!(shown["next_update_at"].is_string(), "{shown:#}");
    assert!(shown["resolved_at"].is_null());
    let updates = shown["incident_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 1, "only the public update: {updates:#?}");
    assert_eq!(
        updates[0]["affected_components"],
        json!([{"code": "checkout", "name": "Checkout", "new_status": "major_outage"}])
    );
    for key in ["id", "status", "body", "created_at"] {
        assert!(updates[0][key].is_string(), "{key}: {updates:#?}");
    }

    let (status, content_type, html) = get(&server, "/status").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    assert!(html.contains("Checkout errors") && html.contains("Major outage"));
    assert!(html.contains("Some customers cannot complete checkout"));
    assert!(html.contains("Next update by"));
    let (status, content_type, feed) = get(&server, "/status/feed.atom").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/atom+xml")
    );
    xml::check_well_formed(&feed).unwrap_or_else(|err| panic!("{err}\n{feed}"));
    assert_eq!(feed.matches("<entry>").count(), 1, "{feed}");
    for (what, body) in [("json", page.to_string()), ("html", html), ("feed", feed)] {
        for secret in [
            INTERNAL_TITLE,
            INTERNAL_TEXT,
            "Stakeholders: revenue",
            "ops-bot",
        ] {
            assert!(!body.contains(secret), "{what} shows {secret:?}:\n{body}");
        }
    }

    // A later public update moves checkout to degraded; resolution returns it to operational.
    post(
        &client,
        json!({"incident": incident, "audience": "public", "status": "monitoring",
               "message": "A fix is in place; we are watching error rates.",
               "services": [{"service": "checkout", "state": "degraded_performance"}]}),
    )
    .await;
    let page = json_when(&server, |p| p["incidents"][0]["status"] == "monitoring").await;
    assert_eq!(
        component(&page, "checkout")["status"],
        "degraded_performance"
    );
    assert_eq!(page["status"]["indicator"], "minor");
    post(
        &client,
        json!({"incident": incident, "audience": "public", "status": "resolved",
               "message": "Checkout is working normally again.",
               "services": [{"service": "checkout", "state": "operational"}]}),
    )
    .await;
    let page = json_when(&server, |p| p["incidents"][0]["status"] == "resolved").await;
    assert_eq!(component(&page, "checkout")["status"], "operational");
    assert_eq!(page["status"]["indicator"], "none");
    assert_eq!(page["status"]["description"], "All Systems Operational");
    assert!(page["incidents"][0]["resolved_at"].is_string());
    assert!(page["incidents"][0]["next_update_at"].is_null());
    assert_eq!(
        page["incidents"][0]["incident_updates"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (_, _, feed) = get(&server, "/status/feed.atom").await;
    xml::check_well_formed(&feed).unwrap_or_else(|err| panic!("{err}\n{feed}"));
    assert_eq!(feed.matches("<entry>").count(), 3, "{feed}");
}

#[tokio::test]
async fn answers_are_cacheable_typed_and_refused_for_foreign_hosts() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start(&db, dir.path()).await;
    let http = reqwest::Client::new();
    for (path, content_type) in [
        ("/status", "text/html; charset=utf-8"),
        ("/status.json", "application/json"),
        ("/status/feed.atom", "application/atom+xml"),
    ] {
        let response = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert!(
            headers["cache-control"]
                .to_str()
                .unwrap()
                .starts_with("public, max-age=")
        );
        let foreign = http
            .get(format!("{}{path}", server.base))
            .header("host", "evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status().as_u16(), 403, "{path}");
    }
    let (_, _, html) = get(&server, "/status").await;
    assert!(html.contains("All Systems Operational") && html.contains("Public API"));
}

#[tokio::test]
async fn a_flood_from_one_client_is_answered_429_with_retry_after() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start(&db, dir.path()).await;
    let http = reqwest::Client::new();
    let url = format!("{}/status.json", server.base);
    let mut limited = None;
    for _ in 0..firebreak::http::status_page::BURST * 2 {
        let response = http.get(&url).send().await.unwrap();
        if response.status().as_u16() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status().as_u16(), 200);
    }
    let limited = limited.expect("no 429 after twice the burst");
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // The health check is not the page's: it still answers.
    let health = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn a_visitor_in_headless_chromium_sees_components_states_and_the_update() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start(&db, dir.path()).await;
    let client = server.client().await;
    incident_with_updates(&client).await;
    json_when(&server, |p| {
        p["incidents"].as_array().is_some_and(|i| !i.is_empty())
    })
    .await;

    let url = format!("{}/status", server.base);
    let dom = browser::dump_dom(&url, dir.path()).await;
    for seen in [
        "Example status",
        "Major Service Outage",
        "Checkout",
        "Major outage",
        "Public API",
        "Operational",
        "Checkout errors",
        "Some customers cannot complete checkout. We are investigating.",
        "Next update by",
    ] {
        assert!(
            dom.contains(seen),
            "a visitor does not see {seen:?}:\n{dom}"
        );
    }
    assert!(!dom.contains(INTERNAL_TITLE) && !dom.contains(INTERNAL_TEXT));
    let png = dir.path().join("status-page.png");
    browser::screenshot(&url, dir.path(), &png, (390, 1100)).await;
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // The README's screenshot is refreshed on request only, so a test run leaves the
    // checkout clean: `FIREBREAK_REFRESH_SCREENSHOT=1 cargo test --test mcp -- status_page`.
    if std::env::var_os("FIREBREAK_REFRESH_SCREENSHOT").is_some() {
        let docs: PathBuf = [env!("CARGO_MANIFEST_DIR"), "docs", "status-page.png"]
            .iter()
            .collect();
        std::fs::write(docs, bytes).unwrap();
    }
}
