//! A real Prometheus Alertmanager delivering its webhook to Firebreak: grouping, repeats and
//! resolves.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::support::{
    INSTALL, PATIENCE, alertmanager_bin, brief, eventually, expect_rows, expect_scalar,
    expect_text, picked, scalar,
};
use crate::support::children::{Captured, free_port};
use crate::support::signals::{Signals, secret};
use crate::support::{TestDb, call, ok};

/// A real Alertmanager whose only receiver is Firebreak's webhook, killed when dropped.
struct Alertmanager {
    _child: Child,
    stderr: Captured,
    /// `http://127.0.0.1:<port>`.
    base: String,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts one that groups by alertname and service, waits a second before the first
    /// notification and between notifications of a group, repeats every two seconds and
    /// sends resolves, all to `hook` with `bearer`.
    async fn start(binary: &Path, hook: &str, bearer: &str) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "route:
  receiver: firebreak
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: firebreak
    webhook_configs:
      - url: {hook}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {bearer}
"
        );
        let config_file = dir.path().join("alertmanager.yml");
        std::fs::write(&config_file, config).unwrap();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut child = Command::new(binary)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg(format!("--web.external-url={base}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}; {INSTALL}", binary.display()));
        let stderr = Captured::collect(child.stderr.take().unwrap());
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "{} exited ({status}) before it was ready; stderr:\n{}",
                    binary.display(),
                    stderr.text()
                );
            }
            let ready = http.get(format!("{base}/-/ready")).send().await;
            if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Alertmanager was not ready within {PATIENCE:?}; stderr:\n{}",
                stderr.text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Alertmanager {
            _child: child,
            stderr,
            base,
            _dir: dir,
        }
    }

    /// What it logged so far, for failure messages.
    fn log(&self) -> String {
        format!("alertmanager stderr:\n{}", self.stderr.text())
    }

    /// POSTs `alerts` to its API, as Prometheus does.
    async fn post(&self, http: &reqwest::Client, alerts: &Value) {
        let response = http
            .post(format!("{}/api/v2/alerts", self.base))
            .header("content-type", "application/json")
            .body(alerts.to_string())
            .send()
            .await
            .unwrap_or_else(|err| panic!("POST /api/v2/alerts: {err}\n{}", self.log()));
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::OK,
            "Alertmanager refused {alerts}: {body}\n{}",
            self.log()
        );
    }
}

/// A `HighErrorRate` alert of `checkout` on `instance`, as Prometheus posts it; resolved
/// (ended a second ago) when `resolved`.
fn high_error_rate(instance: &str, starts_at: &str, resolved: bool) -> Value {
    let mut alert = json!({
        "labels": {"alertname": "HighErrorRate", "service": "checkout",
                   "severity": "critical", "instance": instance},
        "annotations": {"summary": "Checkout 5xx above 5%",
                        "runbook_url": "https://runbooks.example/checkout-5xx"},
        "startsAt": starts_at,
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=rate",
    });
    if resolved {
        let ended = Utc::now() - chrono::Duration::seconds(1);
        alert["endsAt"] = json!(ended.to_rfc3339_opts(SecondsFormat::Millis, true));
    }
    json!([alert])
}

/// Counts the `fired` timeline entries.
const FIRED: &str = "select count(*) from timeline_entry \
                     where kind = 'alert' and data->>'transition' = 'fired'";

/// Asserts what no repeat or resolve of the two alerts may change: one incident, one row per
/// alert, one `fired` timeline entry per alert. `when` names the stage.
async fn still_one_incident_of_two_alerts(db: &TestDb, when: &str, log: &dyn Fn() -> String) {
    let why = format!("{when}: one incident for the group, one row per alert");
    expect_rows(db, &why, &[("incident", 1), ("alert", 2)], log).await;
    let fired = format!("{when}: one `fired` timeline entry per alert, none per repeat");
    expect_scalar(db, &fired, FIRED, 2, log).await;
}

#[tokio::test]
async fn a_real_alertmanager_declares_attaches_resolves_and_repeats_without_duplicates() {
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let binary = alertmanager_bin();
    let am = Alertmanager::start(
        &binary,
        &format!("{}/hooks/alertmanager/am", signals.base),
        secret("AM_SECRET"),
    )
    .await;
    let log = || am.log();
    let started =
        (Utc::now() - chrono::Duration::seconds(5)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let error_rate = |instance, resolved| high_error_rate(instance, &started, resolved);

    // One alert fires: after group_wait, Alertmanager delivers it and Firebreak declares.
    am.post(&signals.http, &error_rate("a", false)).await;
    let declared = "the first delivery declares an incident";
    eventually(&db, declared, "select count(*) from incident", 1, &log).await;
    let number = scalar(&db, "select number from incident").await;
    let incident = brief(&signals, number).await;
    assert_eq!(
        picked(&incident, &["severity", "status", "services"]),
        json!(["SEV1", "triage", ["checkout"]]),
        "severity=critical declares a SEV1 in triage for the alert's service: {incident:#}"
    );

    // A second alert of the same group joins the incident at the next group_interval.
    am.post(&signals.http, &error_rate("b", false)).await;
    eventually(
        &db,
        "the second alert of the group attaches to the incident",
        "select count(*) from alert a join incident i on i.id = a.incident_id \
         where a.status = 'firing'",
        2,
        &log,
    )
    .await;
    expect_text(
        &db,
        "b joined the incident of its group",
        "select string_agg(d.decision, ',' order by d.seq) from alert_decision d \
         join alert a on a.id = d.alert_id where a.labels->>'instance' = 'b'",
        Some("attached"),
        &log,
    )
    .await;
    let one = "one incident for the group";
    expect_scalar(
        &db,
        one,
        "select count(distinct incident_id) from alert",
        1,
        &log,
    )
    .await;

    // Alertmanager repeats the unchanged group every repeat_interval: a delivery after the
    // one that attached `b` has `b` in it again.
    eventually(
        &db,
        "a repeat delivery arrives and is deduplicated",
        "select least(count(*), 1) from alert_decision d join alert a on a.id = d.alert_id \
         where d.decision = 'deduplicated' and a.labels->>'instance' = 'b'",
        1,
        &log,
    )
    .await;
    still_one_incident_of_two_alerts(&db, "after a repeat", &log).await;
    expect_scalar(
        &db,
        "both alerts were seen more than once (a in the second delivery, b in the repeat)",
        "select count(*) from alert where incident_id is not null and seen_count >= 2",
        2,
        &log,
    )
    .await;
    expect_scalar(
        &db,
        "the entries are about the two alerts",
        "select count(distinct data->>'alert') from timeline_entry where kind = 'alert'",
        2,
        &log,
    )
    .await;
    expect_scalar(
        &db,
        "no other alert entry while both fire",
        "select count(*) from timeline_entry where kind = 'alert'",
        2,
        &log,
    )
    .await;
    let listed = ok(call(
        &signals.client,
        "list_alerts",
        json!({"incident": format!("INC-{number}")}),
    )
    .await);
    let alerts = listed["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2, "list_alerts shows both: {listed:#}");
    for alert in alerts {
        assert_eq!(alert["status"], "firing", "{listed:#}");
        assert_eq!(alert["source"], "am", "{listed:#}");
        assert_eq!(alert["incident"], format!("INC-{number}"), "{listed:#}");
    }

    // `a` resolves; `b` still fires, so the incident stays open.
    am.post(&signals.http, &error_rate("a", true)).await;
    eventually(
        &db,
        "the resolve of `a` reaches its alert row",
        "select count(*) from alert where labels->>'instance' = 'a' and status = 'resolved'",
        1,
        &log,
    )
    .await;
    let b_status = "select status from alert where labels->>'instance' = 'b'";
    expect_text(&db, "b still fires", b_status, Some("firing"), &log).await;
    let incident = brief(&signals, number).await;
    assert_eq!(
        incident["incident"]["status"],
        "triage",
        "the incident stays open while b fires: {incident:#}\n{}",
        log()
    );
    expect_text(
        &db,
        "the ledger says what still fires",
        "select d.reason from alert_decision d join alert a on a.id = d.alert_id \
         where d.decision = 'resolved' and a.labels->>'instance' = 'a'",
        Some(&format!(
            "resolved; 1 of 2 alerts of INC-{number} still firing"
        )),
        &log,
    )
    .await;

    // `b` resolves too.
    am.post(&signals.http, &error_rate("b", true)).await;
    eventually(
        &db,
        "both alerts resolve",
        "select count(*) from alert where status = 'resolved' and ends_at is not null",
        2,
        &log,
    )
    .await;
    let still_firing = "select least(count(*), 1) from alert_decision \
                        where reason like '%still firing%'";
    let said = "a ledger line says what was still firing";
    expect_scalar(&db, said, still_firing, 1, &log).await;
    expect_scalar(
        &db,
        "one `resolved` entry per alert",
        "select count(*) from timeline_entry \
         where kind = 'alert' and data->>'transition' = 'resolved'",
        2,
        &log,
    )
    .await;
    still_one_incident_of_two_alerts(&db, "after both resolves", &log).await;
    let incident = brief(&signals, number).await;
    assert_eq!(
        incident["incident"]["status"], "triage",
        "policy `note`: the responders decide, and nobody acknowledged it: {incident:#}"
    );
    assert_eq!(
        (
            incident["alerts"]["firing"].as_i64(),
            incident["alerts"]["resolved"].as_i64()
        ),
        (Some(0), Some(2)),
        "the brief counts the alerts: {incident:#}"
    );
}
