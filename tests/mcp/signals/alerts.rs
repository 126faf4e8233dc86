//! What alerts do: declare with the mapped severity, attach the rest of the group, count
//! repeats without new entries, record warnings, resolve per fingerprint, apply the resolved
//! policy, and write a whole payload or nothing of it.

use serde_json::{Value, json};

use crate::support::signals::{ALERTING, Signals, alertmanager};
use crate::support::{TestDb, call, ok};

const CHECKOUT: &[(&str, &str)] = &[
    ("alertname", "HighErrorRate"),
    ("service", "checkout"),
    ("severity", "critical"),
];

async fn brief(signals: &Signals, incident: &str) -> Value {
    ok(call(
        &signals.client,
        "get_incident",
        json!({"incident": incident}),
    )
    .await)
}

async fn count_entries(db: &TestDb, kind: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("select count(*) from timeline_entry where kind = $1")
        .bind(kind)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn a_group_declares_once_attaches_the_rest_and_counts_repeats() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let first = alertmanager(&[("firing", "fp-a", CHECKOUT)]);
    let (status, answer) = signals
        .hook("alertmanager/am", "AM_SECRET", first.clone())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["alerts"][0]["decision"], "declared", "{answer}");
    assert_eq!(answer["alerts"][0]["incident"], "INC-1");
    let reason = answer["alerts"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("declared INC-1: route default, group {source=am, alertname=HighErrorRate, service=checkout}"),
        "{reason}"
    );

    let both = alertmanager(&[("firing", "fp-a", CHECKOUT), ("firing", "fp-b", CHECKOUT)]);
    let (_, answer) = signals
        .hook("alertmanager/am", "AM_SECRET", both.clone())
        .await;
    let decisions: Vec<&str> = answer["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["deduplicated", "attached"], "{answer}");
    // Alertmanager's repeat delivery: nothing new anywhere but the counts and the ledger.
    let entries = count_entries(&db, "alert").await;
    let (_, again) = signals.hook("alertmanager/am", "AM_SECRET", both).await;
    assert_eq!(again["alerts"][0]["decision"], "deduplicated");
    assert_eq!(again["alerts"][1]["decision"], "deduplicated");
    assert_eq!(
        count_entries(&db, "alert").await,
        entries,
        "repeats add no timeline entry"
    );
    assert_eq!(db.count("incident").await, 1);
    assert_eq!(db.count("alert").await, 2);
    let (seen,): (i32,) = sqlx::query_as("select seen_count from alert where alert_key = 'fp-a'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(seen, 3);

    let incident = brief(&signals, "INC-1").await;
    assert_eq!(
        incident["incident"]["severity"], "SEV1",
        "critical maps to SEV1"
    );
    assert_eq!(incident["incident"]["title"], "HighErrorRate");
    assert_eq!(incident["incident"]["services"], json!(["checkout"]));
    assert_eq!(incident["incident"]["labels"]["alertname"], "HighErrorRate");
    assert_eq!(
        incident["incident"]["times"]["detected_at"], "2026-12-01T10:00:00Z",
        "detected when the alert started"
    );
    assert_eq!(incident["incident"]["created_by"]["channel"], "webhook");
    assert_eq!(incident["alerts"]["firing"], 2, "{incident}");
    assert_eq!(incident["alerts"]["newest"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn resolving_one_alert_of_a_batch_leaves_the_others_firing() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let three = alertmanager(&[
        ("firing", "fp-1", CHECKOUT),
        ("firing", "fp-2", CHECKOUT),
        ("firing", "fp-3", CHECKOUT),
    ]);
    signals.hook("alertmanager/am", "AM_SECRET", three).await;
    // The batch's first alert is the resolved one (the trap of resolving per group).
    let mixed = alertmanager(&[
        ("resolved", "fp-1", CHECKOUT),
        ("firing", "fp-2", CHECKOUT),
        ("firing", "fp-3", CHECKOUT),
    ]);
    let (_, answer) = signals.hook("alertmanager/am", "AM_SECRET", mixed).await;
    assert_eq!(answer["alerts"][0]["decision"], "resolved");
    assert_eq!(
        answer["alerts"][0]["reason"],
        "resolved; 2 of 3 alerts of INC-1 still firing"
    );
    let incident = brief(&signals, "INC-1").await;
    assert_eq!(
        incident["incident"]["status"], "triage",
        "the incident stays open"
    );
    assert_eq!(incident["alerts"]["firing"], 2);
    assert_eq!(incident["alerts"]["resolved"], 1);

    let rest = alertmanager(&[
        ("resolved", "fp-2", CHECKOUT),
        ("resolved", "fp-3", CHECKOUT),
    ]);
    let (_, answer) = signals.hook("alertmanager/am", "AM_SECRET", rest).await;
    assert_eq!(
        answer["alerts"][0]["reason"],
        "resolved; 1 of 3 alerts of INC-1 still firing"
    );
    assert_eq!(
        answer["alerts"][1]["reason"],
        "resolved; no alert of INC-1 is still firing (3 in all)"
    );
    // Policy `note` (the default): an entry, and the responders decide.
    let timeline = ok(call(
        &signals.client,
        "get_timeline",
        json!({"incident": "INC-1"}),
    )
    .await);
    let bodies: Vec<&str> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.starts_with("All 3 alerts of this incident resolved")),
        "{bodies:?}"
    );
    assert_eq!(
        brief(&signals, "INC-1").await["incident"]["status"],
        "triage"
    );
    // A repeat of the resolved delivery changes nothing.
    let before = db.fingerprint().await;
    let again = alertmanager(&[("resolved", "fp-2", CHECKOUT)]);
    let (_, answer) = signals.hook("alertmanager/am", "AM_SECRET", again).await;
    assert_eq!(answer["alerts"][0]["decision"], "ignored");
    let (decisions,): (i64,) = sqlx::query_as("select count(*) from alert_decision")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(decisions > 0);
    assert_eq!(db.count("alert").await, 3);
    assert_ne!(
        before,
        db.fingerprint().await,
        "only the ledger line was added"
    );
    // A trigger after the resolve opens a new alert on a new incident.
    let (_, answer) = signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            alertmanager(&[("firing", "fp-1", CHECKOUT)]),
        )
        .await;
    assert_eq!(
        answer["alerts"][0]["decision"], "attached",
        "the group's incident is still open: {answer}"
    );
    assert_eq!(db.count("alert").await, 4);
}

#[tokio::test]
async fn the_monitoring_policy_moves_acknowledged_incidents_only() {
    let db = TestDb::new().await;
    let yaml = format!("{ALERTING}on_all_resolved: monitoring\n");
    let signals = Signals::start_with(&db, &yaml).await;
    signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            alertmanager(&[("firing", "fp-1", CHECKOUT)]),
        )
        .await;
    signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            alertmanager(&[("resolved", "fp-1", CHECKOUT)]),
        )
        .await;
    let incident = brief(&signals, "INC-1").await;
    assert_eq!(
        incident["incident"]["status"], "triage",
        "an automatic move would fake an acknowledgement"
    );
    // Acknowledged by a responder, the next resolve moves it to monitoring.
    let other = &[
        ("alertname", "DiskFull"),
        ("service", "db"),
        ("severity", "error"),
    ];
    signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            alertmanager(&[("firing", "fp-2", other)]),
        )
        .await;
    ok(call(
        &signals.client,
        "change_status",
        json!({"incident": "INC-2", "to": "investigating"}),
    )
    .await);
    signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            alertmanager(&[("resolved", "fp-2", other)]),
        )
        .await;
    let incident = brief(&signals, "INC-2").await;
    assert_eq!(incident["incident"]["status"], "monitoring", "{incident}");
    assert_eq!(
        incident["incident"]["severity"], "SEV2",
        "error maps to SEV2"
    );
}

#[tokio::test]
async fn warnings_are_recorded_and_attach_only_routes_wait_for_an_incident() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let warning = &[
        ("alertname", "SlowDisk"),
        ("service", "db"),
        ("severity", "warning"),
    ];
    let (_, answer) = signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            alertmanager(&[("firing", "w-1", warning)]),
        )
        .await;
    assert_eq!(answer["alerts"][0]["decision"], "recorded");
    assert_eq!(
        answer["alerts"][0]["reason"],
        "recorded only: route warnings"
    );
    assert_eq!(db.count("incident").await, 0);
    let attach = &[
        ("alertname", "Latency"),
        ("service", "api"),
        ("severity", "critical"),
        ("mode", "attach"),
    ];
    let (_, answer) = signals
        .hook(
            "alertmanager/am",
            "AM_SECRET",
            alertmanager(&[("firing", "a-1", attach)]),
        )
        .await;
    assert_eq!(answer["alerts"][0]["decision"], "recorded");
    assert!(
        answer["alerts"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("has no open incident to attach to"),
        "{answer}"
    );
    assert_eq!(db.count("incident").await, 0);
    let alerts = ok(call(&signals.client, "list_alerts", json!({"status": "firing"})).await);
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 2);
    assert!(alerts["alerts"][0].get("incident").is_none());
}

#[tokio::test]
async fn one_bad_alert_refuses_the_whole_payload_and_writes_nothing() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let before = db.fingerprint().await;
    let mut body: Value = serde_json::from_str(&alertmanager(&[
        ("firing", "fp-1", CHECKOUT),
        ("firing", "fp-2", CHECKOUT),
    ]))
    .unwrap();
    body["alerts"][1]["fingerprint"] = json!("   ");
    let (status, answer) = signals
        .hook("alertmanager/am", "AM_SECRET", body.to_string())
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["field"], "alerts[1].fingerprint", "{answer}");
    assert_eq!(db.count("incident").await, 0);
    assert_eq!(db.count("alert").await, 0);
    let (refused,): (String,) =
        sqlx::query_as("select reason from alert_decision where decision = 'refused'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(refused.contains("alerts[1]"), "{refused}");
    assert_ne!(before, db.fingerprint().await);
}

#[tokio::test]
async fn generic_and_wazuh_shaped_alerts_route_by_their_labels() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let wazuh = json!({"title": "sshd: brute force", "dedup_key": "wazuh:003:5712", "service": "web-01",
        "labels": {"rule_level": "12", "rule_id": "5712", "agent_id": "003"},
        "starts_at": "2026-12-01T09:00:00+00:00"});
    let (status, answer) = signals
        .hook("generic/wazuh", "WAZUH_SECRET", wazuh.to_string())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["alerts"][0]["decision"], "declared");
    let incident = brief(&signals, "INC-1").await;
    assert_eq!(
        incident["incident"]["severity"], "SEV1",
        "level 12 maps to SEV1"
    );
    // Datadog's words and empty template fields.
    let datadog = json!({"title": "CPU high", "dedup_key": "datadog:123", "status": "Triggered", "severity": "", "service": "web"});
    let (_, answer) = signals
        .hook("generic/gen", "GENERIC_SECRET", datadog.to_string())
        .await;
    assert_eq!(answer["alerts"][0]["decision"], "declared", "{answer}");
    let recovered = json!({"title": "CPU high", "dedup_key": "datadog:123", "status": "Recovered", "service": "web"});
    let (_, answer) = signals
        .hook("generic/gen", "GENERIC_SECRET", recovered.to_string())
        .await;
    assert_eq!(answer["alerts"][0]["decision"], "resolved", "{answer}");
    let incident = brief(&signals, "INC-2").await;
    assert_eq!(
        incident["incident"]["severity"], "SEV3",
        "no severity: the default"
    );
}

#[tokio::test]
async fn a_group_window_opens_a_new_incident_once_the_group_went_quiet() {
    let db = TestDb::new().await;
    let yaml = ALERTING.replace(
        "  - name: default\n",
        "  - name: windowed\n    match: {service: batch}\n    group_window: 1s\n  - name: default\n",
    );
    let signals = Signals::start_with(&db, &yaml).await;
    let batch = &[
        ("alertname", "JobFailed"),
        ("service", "batch"),
        ("severity", "critical"),
    ];
    let fire = |fp: &'static str| alertmanager(&[("firing", fp, batch)]);
    let (_, first) = signals
        .hook("alertmanager/am", "AM_SECRET", fire("w-1"))
        .await;
    assert_eq!(first["alerts"][0]["decision"], "declared");
    let (_, soon) = signals
        .hook("alertmanager/am", "AM_SECRET", fire("w-2"))
        .await;
    assert_eq!(
        soon["alerts"][0]["decision"], "attached",
        "within the window: {soon}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, later) = signals
        .hook("alertmanager/am", "AM_SECRET", fire("w-3"))
        .await;
    assert_eq!(
        later["alerts"][0]["decision"], "declared",
        "after the window: {later}"
    );
    assert_eq!(later["alerts"][0]["incident"], "INC-2");
    let (_, next) = signals
        .hook("alertmanager/am", "AM_SECRET", fire("w-4"))
        .await;
    assert_eq!(
        next["alerts"][0]["incident"], "INC-2",
        "the group now belongs to INC-2"
    );
}
