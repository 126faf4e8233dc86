use chrono::{Duration, Utc};
use uuid::Uuid;

use super::render::{self, Templates, clean};
use super::*;
use crate::domain::status_page::{Component, PublishedUpdate};
use crate::domain::status_update::{
    AffectedService, Audience, PageStatus, ServiceState, StakeholderUpdate,
};

fn config() -> PageConfig {
    PageConfig {
        title: "Example <status>".into(),
        components: vec![
            Component {
                service: "checkout".into(),
                name: "Checkout".into(),
                description: None,
            },
            Component {
                service: "api".into(),
                name: "Public API".into(),
                description: Some("REST & webhooks".into()),
            },
        ],
        public_url: None,
    }
}

fn page() -> Page {
    let now = Utc::now();
    let update = |minutes: i64, status, message: &str, next| PublishedUpdate {
        id: Uuid::now_v7(),
        incident_number: 7,
        message: message.into(),
        published_at: now - Duration::minutes(minutes),
        update: StakeholderUpdate {
            audience: Audience::Public,
            status,
            services: vec![AffectedService {
                service: "checkout".into(),
                state: ServiceState::PartialOutage,
            }],
            next_update_at: next,
            public_title: Some("Checkout <errors> & \"retries\"".into()),
        },
    };
    Page::build(
        &config(),
        vec![
            update(
                20,
                PageStatus::Investigating,
                "We see <script>alert(1)</script> errors",
                None,
            ),
            update(
                5,
                PageStatus::Identified,
                "Fix rolling out\u{1}.",
                Some(now + Duration::minutes(30)),
            ),
        ],
        now,
    )
}

#[test]
fn the_html_escapes_what_writers_wrote_and_writes_states_out() {
    let html = Templates::new().html(&page()).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("name=\"viewport\""));
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("Example &lt;status&gt;"));
    assert!(html.contains("Partial outage"));
    assert!(html.contains("Operational"));
    assert!(html.contains("Next update by"));
    assert!(html.contains("INC-7"));
    assert!(html.contains("Partial System Outage"));
    assert!(!html.contains('\u{1}'));
    for landmark in ["<header>", "<main>", "<footer>", "<h1>"] {
        assert!(html.contains(landmark), "{landmark}");
    }
}

#[test]
fn the_feed_is_escaped_and_newest_first() {
    let atom = Templates::new()
        .atom(&page(), "http://status.example.com")
        .unwrap();
    assert!(atom.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    assert!(atom.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""));
    assert!(!atom.contains("<script"));
    assert!(!atom.contains("<errors>"));
    assert!(!atom.contains('\u{1}'));
    let fix = atom.find("Fix rolling out").unwrap();
    let first = atom.find("We see").unwrap();
    assert!(fix < first, "newest first");
    assert_eq!(atom.matches("<entry>").count(), 2);
}

#[test]
fn the_json_has_the_statuspage_shape() {
    let value = render::json(&page(), "http://127.0.0.1:8080");
    assert_eq!(value["status"]["indicator"], "major");
    assert_eq!(value["page"]["url"], "http://127.0.0.1:8080/status");
    assert_eq!(value["components"][0]["id"], "checkout");
    assert_eq!(value["components"][0]["status"], "partial_outage");
    assert_eq!(value["components"][1]["status"], "operational");
    let incident = &value["incidents"][0];
    assert_eq!(incident["id"], "INC-7");
    assert_eq!(incident["status"], "identified");
    assert_eq!(incident["impact"], "major");
    assert!(incident["next_update_at"].is_string());
    assert!(incident["resolved_at"].is_null());
    let update = &incident["incident_updates"][0];
    assert_eq!(update["body"], "Fix rolling out.");
    assert_eq!(update["affected_components"][0]["code"], "checkout");
    assert_eq!(
        update["affected_components"][0]["new_status"],
        "partial_outage"
    );
}

#[test]
fn hosts_are_checked_as_for_mcp() {
    let allowed: Vec<String> = ["localhost", "127.0.0.1", "::1", "status.example.com:8443"]
        .map(String::from)
        .to_vec();
    for host in [
        "localhost",
        "LOCALHOST:3000",
        "127.0.0.1:9",
        "[::1]:80",
        "status.example.com:8443",
    ] {
        assert!(host_is_allowed(host, &allowed), "{host}");
    }
    for host in [
        "evil.example",
        "status.example.com",
        "status.example.com:80",
        "",
    ] {
        assert!(!host_is_allowed(host, &allowed), "{host}");
    }
}

#[test]
fn control_characters_are_dropped() {
    assert_eq!(clean("a\u{0}b\u{1b}c\td\ne\u{FFFF}"), "abc\td\ne");
}

#[test]
fn renderings_are_kept_by_the_normalised_host_without_its_port() {
    assert_eq!(
        origin_of(None, Some("Status.Example.COM:8443")),
        (
            "status.example.com".into(),
            "http://status.example.com:8443".into()
        )
    );
    assert_eq!(
        origin_of(None, Some("[::1]:80")),
        ("::1".into(), "http://[::1]:80".into())
    );
    assert_eq!(origin_of(None, Some("localhost:1")).0, "localhost");
    assert_eq!(
        origin_of(Some("https://status.example.com/"), Some("localhost:9")),
        (String::new(), "https://status.example.com".into())
    );
}
