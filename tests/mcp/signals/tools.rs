//! The signal tools as agents call them: `list_alerts` pages with the ledger's reasons, and
//! every bad argument of `list_alerts`, `list_changes` and `link_change` is refused naming the
//! field, writing nothing.

use serde_json::json;

use crate::support::refusals::{
    assert_refused, case, incident_reference_cases, invalid, with, without,
};
use crate::support::signals::{Signals, alertmanager};
use crate::support::{TestDb, call, ok};

/// INC-1 from two alerts, and CHG-1.
async fn seeded() -> (TestDb, Signals) {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let labels = &[
        ("alertname", "HighErrorRate"),
        ("service", "checkout"),
        ("severity", "critical"),
    ];
    signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            alertmanager(&[("firing", "fp-1", labels), ("firing", "fp-2", labels)]),
        )
        .await;
    // Ten minutes before the alerts started (the helper's alerts start at 10:00).
    let change = json!({"id": "d-1", "kind": "deploy", "service": "checkout", "summary": "Deploy checkout v2",
        "occurred_at": "2026-12-01T09:50:00Z"});
    signals
        .hook("generic/gen", "GENERIC_SECRET", change.to_string())
        .await;
    (db, signals)
}

#[tokio::test]
async fn list_alerts_pages_newest_first_with_the_ledgers_reasons() {
    let (_db, signals) = seeded().await;
    let labels = &[
        ("alertname", "Other"),
        ("service", "web"),
        ("severity", "warning"),
    ];
    signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            alertmanager(&[("firing", "w-1", labels)]),
        )
        .await;
    let first = ok(call(&signals.client, "list_alerts", json!({"limit": 2})).await);
    assert_eq!(first["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(first["alerts"][0]["key"], "w-1");
    assert_eq!(
        first["alerts"][0]["reason"],
        "recorded only: route warnings"
    );
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second = ok(call(
        &signals.client,
        "list_alerts",
        json!({"limit": 2, "cursor": cursor}),
    )
    .await);
    assert_eq!(second["alerts"].as_array().unwrap().len(), 1);
    assert!(second.get("next_cursor").is_none());
    let of_incident = ok(call(&signals.client, "list_alerts", json!({"incident": "INC-1"})).await);
    let reasons: Vec<&str> = of_incident["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("declared INC-1")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.starts_with("attached to INC-1")),
        "{reasons:?}"
    );
    let resolved = ok(call(
        &signals.client,
        "list_alerts",
        json!({"status": "resolved"}),
    )
    .await);
    assert!(resolved["alerts"].as_array().unwrap().is_empty());
    let by_source = ok(call(
        &signals.client,
        "list_alerts",
        json!({"source": "pd", "since": "-1h"}),
    )
    .await);
    assert!(by_source["alerts"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn list_alerts_refuses_bad_input() {
    let (db, signals) = seeded().await;
    let base = json!({"incident": "INC-1"});
    let mut cases = vec![
        invalid(
            "unknown field",
            with(&base, "state", json!("firing")),
            "`state`",
        ),
        invalid(
            "status `open`",
            with(&base, "status", json!("open")),
            "`firing`",
        )
        .mentioning("`resolved`"),
        invalid("limit 0", with(&base, "limit", json!(0)), "`limit`")
            .mentioning("between 1 and 100"),
        invalid("limit 101", with(&base, "limit", json!(101)), "`limit`"),
        invalid(
            "since `yesterday`",
            with(&base, "since", json!("yesterday")),
            "`since`",
        ),
        invalid(
            "a forged cursor",
            with(&base, "cursor", json!("t12_nope")),
            "`cursor`",
        ),
        invalid(
            "source a number",
            with(&base, "source", json!(7)),
            "`source`",
        ),
    ];
    cases.extend(incident_reference_cases(&base));
    assert_refused(&db, &signals.client, "list_alerts", &cases).await;
}

#[tokio::test]
async fn list_changes_refuses_bad_input() {
    let (db, signals) = seeded().await;
    let base = json!({"service": "checkout"});
    let mut cases = vec![
        invalid("unknown field", with(&base, "team", json!("pay")), "`team`"),
        invalid(
            "kind `rollout`",
            with(&base, "kind", json!("rollout")),
            "`deploy`",
        )
        .mentioning("`feature_flag`"),
        invalid(
            "service not a slug",
            with(&base, "service", json!("Check Out!")),
            "`service`",
        ),
        invalid("limit 0", with(&base, "limit", json!(0)), "`limit`"),
        invalid(
            "until `later`",
            with(&base, "until", json!("later")),
            "`until`",
        ),
        invalid(
            "a forged cursor",
            with(&base, "cursor", json!("garbage")),
            "`cursor`",
        ),
        invalid(
            "a cursor with incident",
            json!({"incident": "INC-1", "cursor": "t1_00000000000000000000000000000000"}),
            "`cursor`",
        )
        .mentioning("best first"),
    ];
    cases.extend(incident_reference_cases(&json!({"incident": "INC-1"})));
    assert_refused(&db, &signals.client, "list_changes", &cases).await;
}

#[tokio::test]
async fn link_change_refuses_bad_input() {
    let (db, signals) = seeded().await;
    let base = json!({"incident": "INC-1", "change": "CHG-1", "relation": "suspected"});
    let mut cases = vec![
        invalid("missing change", without(&base, "change"), "`change`"),
        invalid("missing relation", without(&base, "relation"), "`relation`"),
        invalid(
            "relation `caused`",
            with(&base, "relation", json!("caused")),
            "`confirmed`",
        )
        .mentioning("`ruled_out`"),
        invalid(
            "unknown CHG-99",
            with(&base, "change", json!("CHG-99")),
            "`change`",
        )
        .mentioning("list_changes"),
        invalid(
            "change `latest`",
            with(&base, "change", json!("latest")),
            "`change`",
        )
        .mentioning("CHG-"),
        invalid(
            "change 0",
            with(&base, "change", json!("CHG-0")),
            "`change`",
        ),
        invalid("blank note", with(&base, "note", json!("  ")), "`note`"),
        invalid(
            "note with NUL",
            with(&base, "note", json!("a\u{0}b")),
            "`note`",
        ),
        invalid(
            "note of 70 KB",
            with(&base, "note", json!("x".repeat(70_000))),
            "`note`",
        ),
        invalid(
            "blank idempotency_key",
            with(&base, "idempotency_key", json!(" ")),
            "`idempotency_key`",
        ),
        case(
            "unknown INC-999",
            with(&base, "incident", json!("INC-999")),
            "not_found",
            "INC-999",
        ),
    ];
    cases.extend(incident_reference_cases(&base));
    assert_refused(&db, &signals.client, "link_change", &cases).await;
}

#[tokio::test]
async fn the_alerts_resource_and_the_brief_show_alerts_with_their_reasons() {
    let (_db, signals) = seeded().await;
    let read = signals
        .client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "incident://INC-1/alerts",
        ))
        .await
        .unwrap();
    let text = match &read.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("{other:?}"),
    };
    assert!(text.starts_with("# Alerts of INC-1"), "{text}");
    assert!(text.contains("declared INC-1: route default"), "{text}");
    assert!(text.contains("attached to INC-1"), "{text}");
    let brief = signals
        .client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "incident://INC-1",
        ))
        .await
        .unwrap();
    let rmcp::model::ResourceContents::TextResourceContents { text, .. } = &brief.contents[0]
    else {
        panic!()
    };
    assert!(text.contains("## Alerts\n\n2 firing, 0 resolved"), "{text}");
    assert!(text.contains("## Suspected changes"), "{text}");
    assert!(text.contains("CHG-1 (deploy"), "{text}");
}
