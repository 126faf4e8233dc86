//! The ingestion endpoints' limits and answers: credentials per source (bearer, HMAC, routing
//! key, two secrets while rotating), unknown sources, size caps counted while reading, bodies
//! not in the source's format, and Events v2's own answers.

use std::time::Duration;

use firebreak::ingest::verify::hmac_hex;
use serde_json::json;

use crate::support::TestDb;
use crate::support::signals::{Signals, alertmanager, secret};

const LABELS: &[(&str, &str)] = &[
    ("alertname", "Probe"),
    ("service", "api"),
    ("severity", "critical"),
];

async fn refusals(db: &TestDb) -> Vec<String> {
    let rows: Vec<(String,)> =
        sqlx::query_as("select reason from alert_decision where decision = 'refused' order by seq")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    rows.into_iter().map(|(r,)| r).collect()
}

#[tokio::test]
async fn a_bad_or_missing_credential_is_401_without_detail_and_ledgered() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let body = alertmanager(&[("firing", "fp", LABELS)]);
    let cases: [&[(&str, &str)]; 4] = [
        &[],
        &[("authorization", "Bearer wrong-secret-0123456789")],
        &[("authorization", "Basic YW06c2VjcmV0")],
        // Another source's secret is not this source's.
        &[("authorization", "Bearer generic-secret-0123456789")],
    ];
    for headers in cases {
        let (status, answer) = signals
            .post("/hooks/alertmanager/am", headers, body.clone())
            .await;
        assert_eq!(status, 401, "{headers:?}");
        assert_eq!(
            answer,
            json!({"error": "unauthorized"}),
            "no detail about which part failed"
        );
    }
    assert_eq!(db.count("alert").await, 0);
    assert_eq!(
        refusals(&db).await.len(),
        4,
        "each refusal is in the ledger with its reason"
    );
    // An MCP token never opens a hook, and hooks never open /mcp.
    let (status, _) = signals
        .post(
            "/hooks/alertmanager/am",
            &[("authorization", "Bearer 0123456789abcdef0123")],
            body.clone(),
        )
        .await;
    assert_eq!(status, 401);
    // Both secrets of a rotation are accepted.
    for variable in ["AM_SECRET", "AM_OLD_SECRET"] {
        let (status, answer) = signals
            .hook("alertmanager/am", variable, body.clone())
            .await;
        assert_eq!(status, 200, "{variable}: {answer}");
    }
}

#[tokio::test]
async fn unknown_sources_and_kinds_are_404() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let body = alertmanager(&[("firing", "fp", LABELS)]);
    for path in ["alertmanager/nope", "grafana/am", "nagios/am", "github/gen"] {
        let (status, answer) = signals.hook(path, "AM_SECRET", body.clone()).await;
        assert_eq!(status, 404, "{path}: {answer}");
        assert!(answer["message"].as_str().is_some());
    }
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413_whatever_it_claims() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let big = format!(
        "{{\"version\":\"4\",\"alerts\":[],\"pad\":\"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let (status, _) = signals
        .hook("alertmanager/am", "AM_SECRET", big.clone())
        .await;
    assert_eq!(status, 413);
    // Chunked, so no Content-Length announces it: counted while reading.
    let stream = futures::stream::iter(
        big.into_bytes()
            .chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let (status, _) = signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            reqwest::Body::wrap_stream(stream),
        )
        .await;
    assert_eq!(status, 413);
    // Events v2 too, where the credential is inside the body.
    let (status, _) = signals
        .post(
            "/v2/enqueue",
            &[],
            format!(
                "{{\"routing_key\":\"{}\",\"x\":\"{}\"}}",
                secret("PD_ROUTING_KEY"),
                "y".repeat(1_100_000)
            ),
        )
        .await;
    assert_eq!(status, 413);
    assert_eq!(db.count("alert").await, 0);
}

#[tokio::test]
async fn a_payload_not_in_the_sources_format_is_400_naming_the_field() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let cases = [
        ("alertmanager/am", "AM_SECRET", "not json".to_owned(), ""),
        (
            "alertmanager/am",
            "AM_SECRET",
            json!({"version": "1", "alerts": []}).to_string(),
            "version",
        ),
        (
            "alertmanager/am",
            "AM_SECRET",
            json!({"version": "4", "alerts": [{"status": "firing"}]}).to_string(),
            "alerts[0]",
        ),
        (
            "alertmanager/am",
            "AM_SECRET",
            json!({"version": "4", "alerts": [{"status": "burning", "fingerprint": "f"}]})
                .to_string(),
            "alerts[0].status",
        ),
        (
            "generic/gen",
            "GENERIC_SECRET",
            json!({"title": "x"}).to_string(),
            "",
        ),
        (
            "generic/gen",
            "GENERIC_SECRET",
            json!({"title": "x", "dedup_key": "k", "starts_at": "soon"}).to_string(),
            "starts_at",
        ),
        (
            "generic/gen",
            "GENERIC_SECRET",
            json!({"id": "1", "kind": "rollout", "summary": "s"}).to_string(),
            "kind",
        ),
        (
            "generic/gen",
            "GENERIC_SECRET",
            json!({"title": "\u{0}", "dedup_key": "k"}).to_string(),
            "alerts[0].title",
        ),
    ];
    for (path, variable, body, field) in cases {
        let (status, answer) = signals.hook(path, variable, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: `{message}` names {field}");
    }
    assert_eq!(db.count("alert").await, 0);
    assert_eq!(db.count("change").await, 0);
}

#[tokio::test]
async fn grafana_signatures_are_checked_over_the_body_or_timestamp_and_body() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let body = alertmanager(&[("firing", "g-1", LABELS)])
        .replace("\"version\":\"4\"", "\"version\":\"1\"");
    let secret = secret("GRAFANA_SECRET");
    let signature = hmac_hex(secret, body.as_bytes());
    let (status, answer) = signals
        .post(
            "/hooks/grafana/graf",
            &[("x-grafana-alerting-signature", &signature)],
            body.clone(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = signals
        .post(
            "/hooks/grafana/graf",
            &[("x-grafana-alerting-signature", &"0".repeat(64))],
            body.clone(),
        )
        .await;
    assert_eq!(status, 401);
    // Bearer works too.
    let (status, _) = signals
        .hook("grafana/graf", "GRAFANA_SECRET", body.clone())
        .await;
    assert_eq!(status, 200);
    // With a timestamp header configured: `timestamp:body` is signed, and old stamps are refused.
    let now = chrono::Utc::now().timestamp().to_string();
    let signed = hmac_hex(secret, format!("{now}:{body}").as_bytes());
    let headers = [
        ("x-grafana-alerting-signature", signed.as_str()),
        ("x-grafana-alerting-timestamp", now.as_str()),
    ];
    let (status, answer) = signals
        .post("/hooks/grafana/graf-ts", &headers, body.clone())
        .await;
    assert_eq!(status, 200, "{answer}");
    let old = (chrono::Utc::now().timestamp() - 600).to_string();
    let signed = hmac_hex(secret, format!("{old}:{body}").as_bytes());
    let headers = [
        ("x-grafana-alerting-signature", signed.as_str()),
        ("x-grafana-alerting-timestamp", old.as_str()),
    ];
    let (status, _) = signals
        .post("/hooks/grafana/graf-ts", &headers, body.clone())
        .await;
    assert_eq!(status, 401, "a replay outside the window");
    let headers = [("x-grafana-alerting-signature", signature.as_str())];
    let (status, _) = signals.post("/hooks/grafana/graf-ts", &headers, body).await;
    assert_eq!(status, 401, "the timestamp is required once configured");
    assert!(
        refusals(&db)
            .await
            .iter()
            .any(|r| r.contains("outside the window"))
    );
}

#[tokio::test]
async fn events_v2_answers_as_pagerduty_does() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let key = secret("PD_ROUTING_KEY");
    let trigger = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "checkout-5xx",
        "payload": {"summary": "Checkout 5xx > 5%", "source": "checkout.prod", "severity": "error", "class": "http_5xx"}});
    let (status, answer) = signals.post("/v2/enqueue", &[], trigger.to_string()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        answer,
        json!({"status": "success", "message": "Event processed", "dedup_key": "checkout-5xx"})
    );
    let mut invalid = trigger.clone();
    invalid["payload"]["severity"] = json!("sev1");
    let (status, answer) = signals.post("/v2/enqueue", &[], invalid.to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(answer["status"], "invalid event");
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .contains("payload.severity"),
        "{answer}"
    );
    let mut wrong = trigger.clone();
    wrong["routing_key"] = json!("not-the-key-0123456789abcdef0123");
    let (status, answer) = signals.post("/v2/enqueue", &[], wrong.to_string()).await;
    assert_eq!(
        (status.as_u16(), answer),
        (401, json!({"error": "unauthorized"}))
    );
    let (status, _) = signals.post("/v2/enqueue", &[], "{}").await;
    assert_eq!(status, 401, "no routing key is a missing credential");
    // Acknowledge leaves triage; resolve resolves the alert; a trigger after it is a new alert.
    let ack =
        json!({"routing_key": key, "event_action": "acknowledge", "dedup_key": "checkout-5xx"});
    assert_eq!(
        signals.post("/v2/enqueue", &[], ack.to_string()).await.0,
        202
    );
    let incident = crate::support::ok(
        crate::support::call(
            &signals.client,
            "get_incident",
            json!({"incident": "INC-1"}),
        )
        .await,
    );
    assert_eq!(incident["incident"]["status"], "investigating");
    let resolve =
        json!({"routing_key": key, "event_action": "resolve", "dedup_key": "checkout-5xx"});
    assert_eq!(
        signals
            .post("/v2/enqueue", &[], resolve.to_string())
            .await
            .0,
        202
    );
    assert_eq!(
        signals
            .post("/v2/enqueue", &[], trigger.to_string())
            .await
            .0,
        202
    );
    let (alerts, firing): (i64, i64) =
        sqlx::query_as("select count(*), count(*) filter (where status = 'firing') from alert")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((alerts, firing), (2, 1));
}

#[tokio::test]
async fn a_slow_body_is_cut_off() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let (sender, receiver) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    sender
        .unbounded_send(Ok(b"{\"version\":\"4\",".to_vec()))
        .unwrap();
    let keep = sender.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(keep);
    });
    let started = std::time::Instant::now();
    let (status, _) = signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            reqwest::Body::wrap_stream(receiver),
        )
        .await;
    assert_eq!(status, 408, "after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_flood_of_bad_credentials_writes_a_bounded_ledger() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let body = alertmanager(&[("firing", "fp", LABELS)]);
    let budget = firebreak::http::hooks::REFUSALS_PER_MINUTE as usize;
    let bad = [("authorization", "Bearer wrong-secret-0123456789")];
    let floods =
        (0..budget + 20).map(|_| signals.post("/hooks/alertmanager/am", &bad, body.clone()));
    for (status, _) in futures::future::join_all(floods).await {
        assert_eq!(status, 401);
    }
    let recorded = refusals(&db).await.len();
    // The budget is per minute: a flood that straddles a minute boundary may record twice.
    assert!(
        recorded >= budget && recorded <= 2 * budget,
        "{recorded} refusals recorded"
    );
    assert!(recorded < budget + 20, "not every refusal became a write");
}
