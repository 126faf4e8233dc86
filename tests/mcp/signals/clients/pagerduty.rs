//! PagerDuty's official Python client sending Events API v2 alert and change events to
//! Firebreak's `pd` source.

use std::path::PathBuf;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio::process::Command;

use super::support::{
    INSTALL, Ran, brief, expect_rows, expect_scalar, expect_text, no_log, pagerduty_python, picked,
    repo, run, scalar,
};
use crate::support::signals::{Signals, secret};
use crate::support::{TestDb, call, ok};

/// The dedup key the checkout alert is sent with.
const DEDUP_KEY: &str = "checkout-5xx-prod";

/// PagerDuty's official Python client, pointed at Firebreak.
struct PagerDuty {
    python: PathBuf,
    base: String,
}

impl PagerDuty {
    /// The client run by `python`, sending to the server at `base`.
    fn new(python: PathBuf, base: &str) -> PagerDuty {
        PagerDuty {
            python,
            base: base.to_owned(),
        }
    }

    /// `pagerduty_send.py BASE ROUTING_KEY ACTION ARGS... --no-retry`.
    async fn send(&self, routing_key: &str, action: &str, args: &[&str]) -> Ran {
        let mut command = Command::new(&self.python);
        command
            .arg(repo("tests/clients/pagerduty_send.py"))
            .args([self.base.as_str(), routing_key, action])
            .args(args)
            .arg("--no-retry");
        let ran = run(&mut command, "pagerduty_send.py").await;
        assert!(
            !ran.stderr.contains("cannot import pagerduty"),
            "{} cannot import pagerduty: {}; {INSTALL}",
            self.python.display(),
            ran.stderr
        );
        ran
    }

    /// Sends with the configured routing key; the JSON it printed (it must succeed).
    async fn ok(&self, action: &str, args: &[&str]) -> Value {
        let ran = self.send(secret("PD_ROUTING_KEY"), action, args).await;
        assert!(ran.success(), "pagerduty_send.py {action} {args:?}: {ran}");
        serde_json::from_str(&ran.stdout)
            .unwrap_or_else(|err| panic!("pagerduty_send.py printed no JSON ({err}): {ran}"))
    }

    /// Sends `action` (`acknowledge`, `resolve`) for [`DEDUP_KEY`]; the JSON it printed.
    async fn update(&self, action: &str) -> Value {
        self.ok(action, &["--dedup-key", DEDUP_KEY]).await
    }
}

#[tokio::test]
async fn pagerdutys_python_client_triggers_acknowledges_resolves_and_sends_changes() {
    let python = pagerduty_python();
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let pd = PagerDuty::new(python, &signals.base);
    let trigger = [
        "--dedup-key",
        DEDUP_KEY,
        "--summary",
        "Checkout 5xx above 5%",
        "--source",
        "checkout.prod",
        "--severity",
        "critical",
    ];

    let answer = pd.ok("trigger", &trigger).await;
    assert_eq!(
        answer,
        json!({"status": "success", "message": "Event processed", "dedup_key": DEDUP_KEY}),
        "PagerDuty's answer, as the client reads it"
    );
    expect_rows(&db, "the trigger declares", &[("incident", 1)], &no_log).await;
    let incident = brief(&signals, 1).await;
    assert_eq!(
        picked(&incident, &["severity", "status", "title"]),
        json!(["SEV1", "triage", "Checkout 5xx above 5%"]),
        "severity critical maps to SEV1 by default: {incident:#}"
    );

    // The same trigger again is the same alert, seen twice.
    let again = pd.ok("trigger", &trigger).await;
    assert_eq!(again["dedup_key"], DEDUP_KEY, "the same trigger: {again}");
    let same = "the same trigger again is the same alert";
    expect_rows(&db, same, &[("incident", 1), ("alert", 1)], &no_log).await;
    let twice = "the alert was seen twice";
    expect_scalar(&db, twice, "select seen_count::int8 from alert", 2, &no_log).await;

    // Acknowledged at the sender: the incident leaves triage.
    let acked = pd.update("acknowledge").await;
    assert_eq!(
        (acked["status"].as_str(), acked["dedup_key"].as_str()),
        (Some("success"), Some(DEDUP_KEY)),
        "{acked}"
    );
    let incident = brief(&signals, 1).await;
    assert_eq!(
        incident["incident"]["status"], "investigating",
        "an acknowledge moves the incident out of triage: {incident:#}"
    );
    expect_scalar(
        &db,
        "the alert is acknowledged",
        "select count(*) from alert where acknowledged_at is not null",
        1,
        &no_log,
    )
    .await;

    // Resolved at the sender.
    pd.update("resolve").await;
    let resolved = "the resolve reaches the alert";
    let status = "select status from alert";
    expect_text(&db, resolved, status, Some("resolved"), &no_log).await;
    assert_eq!(
        brief(&signals, 1).await["incident"]["status"],
        "investigating",
        "policy `note`: the last resolve leaves the status to the responders"
    );

    // Without a dedup key, Firebreak derives one from the event and returns it: the
    // client's retry of the same event is the same alert.
    let keyless = [
        "--summary",
        "Disk 95% full on db-1",
        "--source",
        "db-1",
        "--severity",
        "error",
    ];
    let first = pd.ok("trigger", &keyless).await;
    let key = first["dedup_key"]
        .as_str()
        .unwrap_or_else(|| panic!("a generated dedup_key: {first}"))
        .to_owned();
    assert!(key.starts_with("fb-"), "a derived key: {key}");
    let declared = "a keyless trigger declares its own incident";
    expect_rows(&db, declared, &[("incident", 2)], &no_log).await;
    assert_eq!(
        brief(&signals, 2).await["incident"]["severity"],
        "SEV2",
        "severity error maps to SEV2"
    );
    let retried = pd.ok("trigger", &keyless).await;
    assert_eq!(
        retried["dedup_key"],
        key.as_str(),
        "the retry gets the same key"
    );
    let retry = "the retry is no new alert";
    expect_rows(&db, retry, &[("alert", 2), ("incident", 2)], &no_log).await;

    // A change event.
    let at =
        (Utc::now() - chrono::Duration::minutes(10)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let change = [
        "--summary",
        "Deploy checkout v2.3.1",
        "--source",
        "github-actions",
        "--timestamp",
        at.as_str(),
        "--custom-details",
        r#"{"sha": "abc1234", "env": "production", "service": "checkout", "actor": "alice"}"#,
        "--link",
        "https://github.com/acme/checkout/actions/runs/42",
        "Run 42",
    ];
    let answer = pd.ok("change", &change).await;
    assert_eq!(
        answer,
        json!({"status": "success", "message": "Change event processed"})
    );
    expect_text(
        &db,
        "the change event is stored as a deploy",
        "select concat_ws(' ', source, kind, sha, environment, actor, services::text, url) \
         from change",
        Some(
            "pd deploy abc1234 production alice {checkout} \
             https://github.com/acme/checkout/actions/runs/42",
        ),
        &no_log,
    )
    .await;
    let listed = ok(call(&signals.client, "list_changes", json!({})).await);
    let changes = listed["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{listed:#}");
    let fields = ["kind", "summary", "sha", "services"];
    assert_eq!(
        fields.map(|field| changes[0][field].clone()),
        [
            json!("deploy"),
            json!("Deploy checkout v2.3.1"),
            json!("abc1234"),
            json!(["checkout"])
        ],
        "{listed:#}"
    );
    // The client's retry of the same change event is the same change.
    pd.ok("change", &change).await;
    let same = "the retry of the change event is the same change";
    expect_rows(&db, same, &[("change", 1)], &no_log).await;

    // A routing key Firebreak does not know is refused, and the client says so.
    let alerts_before = scalar(&db, "select count(*) from alert").await;
    let refused = pd
        .send("wrongroutingkey0123456789abcdef", "trigger", &trigger)
        .await;
    assert!(
        !refused.success(),
        "a wrong routing key must fail: {refused}"
    );
    assert!(
        refused.stderr.contains("401"),
        "the client reports the 401: {refused}"
    );
    let nothing = "a refused trigger stores no alert";
    expect_rows(&db, nothing, &[("alert", alerts_before)], &no_log).await;
}
