//! The real senders against the real endpoints: a Prometheus Alertmanager delivering its
//! webhook (grouping, repeats, resolves), PagerDuty's official Python client, GitHub's own
//! example payloads signed by Octokit, and the Wazuh forwarder script of `contrib/`.
//!
//! The clients are installed by `.ci/signal-clients.sh`, which exports where they are
//! (`ALERTMANAGER_BIN`, `PAGERDUTY_PYTHON`, `OCTOKIT_EXAMPLES`, `OCTOKIT_METHODS`); without
//! those variables the tests look where the script puts them. A missing client fails the
//! test, naming the script: these tests are never skipped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use tokio::process::{Child, Command};

use crate::support::children::{Captured, free_port};
use crate::support::signals::{Signals, secret};
use crate::support::{TestDb, call, ok};

/// What every failure to find a client says.
const INSTALL: &str = "run `source .ci/signal-clients.sh` once: it installs the real signal \
     clients (Alertmanager, PagerDuty's Python client, Octokit's webhook packages) and exports \
     ALERTMANAGER_BIN, PAGERDUTY_PYTHON, OCTOKIT_EXAMPLES and OCTOKIT_METHODS";

/// How long anything a sender must do may take (Alertmanager's waits are a second or two).
const PATIENCE: Duration = Duration::from_secs(30);

// --- Finding the clients ------------------------------------------------------------------

/// A path inside the repository.
fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The file `variable` names or else `default`, which must exist; the failure names the
/// setup script.
fn located(variable: &str, default: Option<PathBuf>, what: &str) -> PathBuf {
    let (path, from) = match std::env::var_os(variable).filter(|v| !v.is_empty()) {
        Some(value) => (PathBuf::from(value), format!("${variable}")),
        None => match default {
            Some(path) => (path, format!("the default, as ${variable} is not set")),
            None => panic!("{what}: ${variable} is not set and none is on PATH; {INSTALL}"),
        },
    };
    assert!(
        path.exists(),
        "{what}: {} ({from}) does not exist; {INSTALL}",
        path.display()
    );
    path
}

/// The first of `names` found on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn alertmanager_bin() -> PathBuf {
    located(
        "ALERTMANAGER_BIN",
        on_path(&["prometheus-alertmanager", "alertmanager"]),
        "Prometheus Alertmanager",
    )
}

fn pagerduty_python() -> PathBuf {
    located(
        "PAGERDUTY_PYTHON",
        Some(repo(".ci/work/pyenv/bin/python")),
        "the Python with PagerDuty's client",
    )
}

/// The examples file and the methods package of Octokit, as the signing helper takes them.
fn octokit() -> [(&'static str, PathBuf); 2] {
    let modules = repo(".ci/work/octokit/node_modules/@octokit");
    let examples = located(
        "OCTOKIT_EXAMPLES",
        Some(modules.join("webhooks-examples/api.github.com/index.json")),
        "@octokit/webhooks-examples",
    );
    let methods = located(
        "OCTOKIT_METHODS",
        Some(modules.join("webhooks-methods")),
        "@octokit/webhooks-methods",
    );
    assert!(
        methods.join("package.json").is_file(),
        "@octokit/webhooks-methods: {} holds no package.json; {INSTALL}",
        methods.display()
    );
    [("OCTOKIT_EXAMPLES", examples), ("OCTOKIT_METHODS", methods)]
}

/// A program a client needs that is not one the script installs (`node`, `python3`).
fn system_program(name: &str, needed_for: &str) -> PathBuf {
    on_path(&[name]).unwrap_or_else(|| panic!("`{name}` is not on PATH; {needed_for} needs it"))
}

// --- Running them -------------------------------------------------------------------------

/// What a finished client process did.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `command` to its end (killed after [`PATIENCE`]).
async fn run(mut command: Command, what: &str) -> Ran {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .unwrap_or_else(|_| panic!("{what} still running after {PATIENCE:?}"))
        .unwrap_or_else(|err| panic!("{what} could not be started: {err}"));
    Ran {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    }
}

// --- Looking at the database --------------------------------------------------------------

/// The one `bigint` `sql` selects.
async fn scalar(db: &TestDb, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(AssertSqlSafe(sql.to_owned()))
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    n
}

/// The one text `sql` selects (`None` for no row or null).
async fn text(db: &TestDb, sql: &str) -> Option<String> {
    let row: Option<(Option<String>,)> = sqlx::query_as(AssertSqlSafe(sql.to_owned()))
        .fetch_optional(&db.pool)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    row.and_then(|(value,)| value)
}

/// Every line of the alert ledger, for failure messages.
async fn ledger(db: &TestDb) -> String {
    text(
        db,
        "select string_agg(format('%s %s %s %s: %s', seq, source, decision, \
         coalesce(alert_key, '-'), reason), E'\\n' order by seq) from alert_decision",
    )
    .await
    .unwrap_or_else(|| "(empty)".to_owned())
}

/// The ledger and a sender's log, for failure messages.
async fn evidence(db: &TestDb, log: &dyn Fn() -> String) -> String {
    format!("ledger:\n{}\n{}", ledger(db).await, log())
}

/// Polls until `sql` selects `want`, failing after [`PATIENCE`] with the ledger and `log`.
async fn eventually(db: &TestDb, what: &str, sql: &str, want: i64, log: &dyn Fn() -> String) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let got = scalar(db, sql).await;
        if got == want {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "{what}: not within {PATIENCE:?} (`{sql}` is {got}, wanted {want})\n\
                 ledger:\n{}\n{}",
                ledger(db).await,
                log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The brief of `INC-<number>` as an agent reads it.
async fn brief(signals: &Signals, number: i64) -> Value {
    ok(call(
        &signals.client,
        "get_incident",
        json!({"incident": format!("INC-{number}")}),
    )
    .await)
}

// --- Alertmanager -------------------------------------------------------------------------

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
    async fn post(&self, http: &reqwest::Client, alerts: Value) {
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

    // One alert fires: after group_wait, Alertmanager delivers it and Firebreak declares.
    am.post(&signals.http, high_error_rate("a", &started, false))
        .await;
    eventually(
        &db,
        "the first delivery declares an incident",
        "select count(*) from incident",
        1,
        &log,
    )
    .await;
    let number = scalar(&db, "select number from incident").await;
    let incident = brief(&signals, number).await;
    assert_eq!(
        (
            incident["incident"]["severity"].as_str(),
            incident["incident"]["status"].as_str(),
            incident["incident"]["services"].clone(),
        ),
        (Some("SEV1"), Some("triage"), json!(["checkout"])),
        "severity=critical declares a SEV1 in triage for the alert's service: {incident:#}"
    );

    // A second alert of the same group joins the incident at the next group_interval.
    am.post(&signals.http, high_error_rate("b", &started, false))
        .await;
    eventually(
        &db,
        "the second alert of the group attaches to the incident",
        "select count(*) from alert a join incident i on i.id = a.incident_id \
         where a.status = 'firing'",
        2,
        &log,
    )
    .await;

    assert_eq!(
        text(
            &db,
            "select string_agg(d.decision, ',' order by d.seq) from alert_decision d \
             join alert a on a.id = d.alert_id where a.labels->>'instance' = 'b'"
        )
        .await
        .as_deref(),
        Some("attached"),
        "b joined the incident of its group\n{}",
        evidence(&db, &log).await
    );
    assert_eq!(
        scalar(&db, "select count(distinct incident_id) from alert").await,
        1,
        "one incident for the group\n{}",
        evidence(&db, &log).await
    );

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
    assert_eq!(
        scalar(&db, "select count(*) from incident").await,
        1,
        "{}",
        evidence(&db, &log).await
    );
    assert_eq!(
        scalar(&db, "select count(*) from alert").await,
        2,
        "one row per alert, repeats counted on it\n{}\n{}",
        evidence(&db, &log).await
    );
    assert_eq!(
        scalar(
            &db,
            "select count(*) from alert where incident_id is not null and seen_count >= 2"
        )
        .await,
        2,
        "both alerts were seen more than once (a in the second delivery, b in the repeat)\n{}",
        evidence(&db, &log).await
    );
    let fired = "select count(*) from timeline_entry \
                 where kind = 'alert' and data->>'transition' = 'fired'";
    assert_eq!(
        scalar(&db, fired).await,
        2,
        "one `fired` timeline entry per alert, none per repeat\n{}",
        evidence(&db, &log).await
    );
    assert_eq!(
        scalar(
            &db,
            "select count(distinct data->>'alert') from timeline_entry where kind = 'alert'"
        )
        .await,
        2,
        "the entries are about the two alerts\n{}",
        evidence(&db, &log).await
    );
    assert_eq!(
        scalar(
            &db,
            "select count(*) from timeline_entry where kind = 'alert'"
        )
        .await,
        2,
        "no other alert entry while both fire\n{}",
        evidence(&db, &log).await
    );
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
    am.post(&signals.http, high_error_rate("a", &started, true))
        .await;
    eventually(
        &db,
        "the resolve of `a` reaches its alert row",
        "select count(*) from alert where labels->>'instance' = 'a' and status = 'resolved'",
        1,
        &log,
    )
    .await;
    assert_eq!(
        text(
            &db,
            "select status from alert where labels->>'instance' = 'b'"
        )
        .await
        .as_deref(),
        Some("firing"),
        "b still fires\n{}",
        evidence(&db, &log).await
    );
    let incident = brief(&signals, number).await;
    assert_eq!(
        incident["incident"]["status"],
        "triage",
        "the incident stays open while b fires: {incident:#}\n{}",
        log()
    );
    let a_resolved = text(
        &db,
        "select d.reason from alert_decision d join alert a on a.id = d.alert_id \
         where d.decision = 'resolved' and a.labels->>'instance' = 'a'",
    )
    .await;
    assert_eq!(
        a_resolved,
        Some(format!(
            "resolved; 1 of 2 alerts of INC-{number} still firing"
        )),
        "the ledger says what still fires\n{}",
        evidence(&db, &log).await
    );

    // `b` resolves too.
    am.post(&signals.http, high_error_rate("b", &started, true))
        .await;
    eventually(
        &db,
        "both alerts resolve",
        "select count(*) from alert where status = 'resolved' and ends_at is not null",
        2,
        &log,
    )
    .await;
    assert!(
        scalar(
            &db,
            "select count(*) from alert_decision where reason like '%still firing%'"
        )
        .await
            >= 1,
        "a ledger line says what was still firing\n{}",
        evidence(&db, &log).await
    );
    assert_eq!(
        scalar(
            &db,
            "select count(*) from timeline_entry \
             where kind = 'alert' and data->>'transition' = 'resolved'"
        )
        .await,
        2,
        "one `resolved` entry per alert\n{}",
        evidence(&db, &log).await
    );
    assert_eq!(
        scalar(&db, "select count(*) from incident").await,
        1,
        "{}",
        evidence(&db, &log).await
    );
    assert_eq!(
        scalar(&db, "select count(*) from alert").await,
        2,
        "{}",
        evidence(&db, &log).await
    );
    assert_eq!(
        scalar(&db, fired).await,
        2,
        "still one `fired` entry per alert\n{}",
        evidence(&db, &log).await
    );
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

// --- PagerDuty ----------------------------------------------------------------------------

/// PagerDuty's official Python client, pointed at Firebreak.
struct PagerDuty {
    python: PathBuf,
    base: String,
}

impl PagerDuty {
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
        let ran = run(command, "pagerduty_send.py").await;
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
}

#[tokio::test]
async fn pagerdutys_python_client_triggers_acknowledges_resolves_and_sends_changes() {
    let python = pagerduty_python();
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let pd = PagerDuty::new(python, &signals.base);
    let trigger = [
        "--dedup-key",
        "checkout-5xx-prod",
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
        json!({"status": "success", "message": "Event processed", "dedup_key": "checkout-5xx-prod"}),
        "PagerDuty's answer, as the client reads it"
    );
    assert_eq!(
        scalar(&db, "select count(*) from incident").await,
        1,
        "{}",
        ledger(&db).await
    );
    let incident = brief(&signals, 1).await;
    assert_eq!(
        (
            incident["incident"]["severity"].as_str(),
            incident["incident"]["status"].as_str(),
            incident["incident"]["title"].as_str()
        ),
        (Some("SEV1"), Some("triage"), Some("Checkout 5xx above 5%")),
        "severity critical maps to SEV1 by default: {incident:#}"
    );

    // The same trigger again is the same alert, seen twice.
    let again = pd.ok("trigger", &trigger).await;
    assert_eq!(again["dedup_key"], "checkout-5xx-prod");
    assert_eq!(scalar(&db, "select count(*) from incident").await, 1);
    assert_eq!(scalar(&db, "select count(*) from alert").await, 1);
    assert_eq!(
        scalar(&db, "select seen_count::int8 from alert").await,
        2,
        "{}",
        ledger(&db).await
    );

    // Acknowledged at the sender: the incident leaves triage.
    let acked = pd
        .ok("acknowledge", &["--dedup-key", "checkout-5xx-prod"])
        .await;
    assert_eq!(
        (acked["status"].as_str(), acked["dedup_key"].as_str()),
        (Some("success"), Some("checkout-5xx-prod")),
        "{acked}"
    );
    let incident = brief(&signals, 1).await;
    assert_eq!(
        incident["incident"]["status"], "investigating",
        "an acknowledge moves the incident out of triage: {incident:#}"
    );
    assert_eq!(
        scalar(
            &db,
            "select count(*) from alert where acknowledged_at is not null"
        )
        .await,
        1
    );

    // Resolved at the sender.
    pd.ok("resolve", &["--dedup-key", "checkout-5xx-prod"])
        .await;
    assert_eq!(
        text(&db, "select status from alert").await.as_deref(),
        Some("resolved"),
        "{}",
        ledger(&db).await
    );
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
    assert_eq!(scalar(&db, "select count(*) from incident").await, 2);
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
    assert_eq!(
        scalar(&db, "select count(*) from alert").await,
        2,
        "the retry is no new alert\n{}",
        ledger(&db).await
    );
    assert_eq!(scalar(&db, "select count(*) from incident").await, 2);

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
    assert_eq!(
        text(
            &db,
            "select concat_ws(' ', source, kind, sha, environment, actor, services::text, url) \
             from change"
        )
        .await
        .as_deref(),
        Some(
            "pd deploy abc1234 production alice {checkout} \
             https://github.com/acme/checkout/actions/runs/42"
        )
    );
    let listed = ok(call(&signals.client, "list_changes", json!({})).await);
    let changes = listed["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{listed:#}");
    assert_eq!(
        (
            changes[0]["kind"].as_str(),
            changes[0]["summary"].as_str(),
            changes[0]["sha"].as_str(),
            changes[0]["services"].clone()
        ),
        (
            Some("deploy"),
            Some("Deploy checkout v2.3.1"),
            Some("abc1234"),
            json!(["checkout"])
        ),
        "{listed:#}"
    );
    // The client's retry of the same change event is the same change.
    pd.ok("change", &change).await;
    assert_eq!(scalar(&db, "select count(*) from change").await, 1);

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
    assert_eq!(
        scalar(&db, "select count(*) from alert").await,
        alerts_before
    );
}

// --- GitHub -------------------------------------------------------------------------------

/// GitHub's example payloads, signed with Octokit's `sign`.
struct Octokit {
    node: PathBuf,
    packages: [(&'static str, PathBuf); 2],
    dir: tempfile::TempDir,
}

impl Octokit {
    fn new() -> Octokit {
        Octokit {
            node: system_program("node", "tests/clients/sign_github.mjs"),
            packages: octokit(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    async fn helper(&self, args: &[&str]) -> Ran {
        let mut command = Command::new(&self.node);
        command
            .arg(repo("tests/clients/sign_github.mjs"))
            .args(args);
        for (variable, path) in &self.packages {
            command.env(variable, path);
        }
        run(command, "sign_github.mjs").await
    }

    /// The `n`-th example of `event` with `action` (`-`: none), in a file; `None` when there
    /// are fewer.
    async fn example(&self, event: &str, action: &str, n: usize) -> Option<PathBuf> {
        let out = self.dir.path().join(format!("{event}-{action}-{n}.json"));
        let out_text = out.to_str().unwrap().to_owned();
        let ran = self
            .helper(&["--extract", event, action, &out_text, &n.to_string()])
            .await;
        if ran.success() {
            return Some(out);
        }
        assert!(
            ran.stderr.contains("example(s) with action"),
            "sign_github.mjs --extract {event} {action} {n}: {ran}"
        );
        None
    }

    /// The first example of `event` with `action` that `wanted` accepts, and its payload.
    async fn find(
        &self,
        event: &str,
        action: &str,
        wanted: &dyn Fn(&Value) -> bool,
    ) -> (PathBuf, Value) {
        let mut n = 0;
        loop {
            let Some(file) = self.example(event, action, n).await else {
                panic!("no {event} example with action {action} has what this test needs");
            };
            let payload = read_json(&file);
            if wanted(&payload) {
                return (file, payload);
            }
            n += 1;
        }
    }

    /// `payload` written compactly to a file named `name`.
    fn write(&self, name: &str, payload: &Value) -> PathBuf {
        let file = self.dir.path().join(name);
        std::fs::write(&file, payload.to_string()).unwrap();
        file
    }

    /// `sha256=<hex>` of `file` under `secret`, computed by Octokit.
    async fn sign(&self, secret: &str, file: &Path) -> String {
        let ran = self.helper(&[secret, file.to_str().unwrap()]).await;
        assert!(ran.success(), "sign_github.mjs: {ran}");
        assert!(ran.stdout.starts_with("sha256="), "a signature: {ran}");
        ran.stdout
    }
}

fn read_json(file: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

/// POSTs `body` as GitHub delivers `event`, signed with `signature`.
async fn deliver(
    signals: &Signals,
    event: &str,
    delivery: &str,
    signature: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    signals
        .post(
            "/hooks/github/gh",
            &[
                ("x-github-event", event),
                ("x-github-delivery", delivery),
                ("x-hub-signature-256", signature),
                ("user-agent", "GitHub-Hookshot/044aadd"),
            ],
            body,
        )
        .await
}

fn delivery_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Signs `file` with the source's secret and delivers it as `event` with a new delivery id.
async fn deliver_signed(
    signals: &Signals,
    octokit: &Octokit,
    event: &str,
    file: &Path,
) -> (StatusCode, Value) {
    let signature = octokit.sign(secret("GITHUB_SECRET"), file).await;
    let body = std::fs::read(file).unwrap();
    deliver(signals, event, &delivery_id(), &signature, body).await
}

/// The one change of an accepted delivery: its `CHG-<n>`, and whether it was new.
fn accepted_change(event: &str, status: StatusCode, answer: &Value) -> (String, bool) {
    assert_eq!(status, StatusCode::OK, "{event}: {answer}");
    assert_eq!(answer["status"], "accepted", "{event}: {answer}");
    let changes = answer["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{event}: {answer}");
    (
        changes[0]["change"].as_str().unwrap().to_owned(),
        changes[0]["new"].as_bool().unwrap(),
    )
}

/// `kind sha ref status services` of the change with `external_id` from `gh`.
async fn stored_change(db: &TestDb, external_id: &str) -> Option<String> {
    text(
        db,
        &format!(
            "select concat_ws(' ', kind, coalesce(sha, '-'), coalesce(ref, '-'), \
             coalesce(status, '-'), services::text) from change \
             where source = 'gh' and external_id = '{external_id}'"
        ),
    )
    .await
}

#[tokio::test]
async fn octokits_example_payloads_signed_by_octokit_become_changes() {
    let octokit = Octokit::new();
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;

    let (deployment, deployment_payload) = octokit
        .find("deployment_status", "created", &|_| true)
        .await;
    let (push, push_payload) = octokit
        .find("push", "-", &|p| {
            p["ref"]
                == format!(
                    "refs/heads/{}",
                    p["repository"]["default_branch"].as_str().unwrap_or("main")
                )
                && p["deleted"] != true
        })
        .await;

    // Refused before anything is stored: another secret, a tampered body, no signature.
    let other = octokit.sign("not the secret", &deployment).await;
    let (status, answer) = deliver(
        &signals,
        "deployment_status",
        &delivery_id(),
        &other,
        std::fs::read(&deployment).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "another secret: {answer}");
    let signature = octokit.sign(secret("GITHUB_SECRET"), &push).await;
    let mut tampered = std::fs::read(&push).unwrap();
    let after = push_payload["after"].as_str().unwrap();
    let at = find_bytes(&tampered, format!("\"after\":\"{after}\"").as_bytes())
        .expect("the push body has its `after`")
        + "\"after\":\"".len();
    tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
    let (status, answer) = deliver(&signals, "push", &delivery_id(), &signature, tampered).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a tampered body: {answer}"
    );
    let (status, answer) = signals
        .post(
            "/hooks/github/gh",
            &[
                ("x-github-event", "push"),
                ("x-github-delivery", &delivery_id()),
            ],
            std::fs::read(&push).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no signature: {answer}");
    assert_eq!(
        scalar(&db, "select count(*) from change").await,
        0,
        "refusals store nothing"
    );
    assert_eq!(
        scalar(
            &db,
            "select count(*) from alert_decision where source = 'gh' and decision = 'refused'"
        )
        .await,
        3,
        "the ledger keeps each refusal\n{}",
        ledger(&db).await
    );

    // ping: the webhook is set up.
    let ping = octokit
        .example("ping", "-", 0)
        .await
        .expect("a ping example");
    let (status, answer) = deliver_signed(&signals, &octokit, "ping", &ping).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("ignored")),
        "ping: {answer}"
    );

    // deployment_status: a deploy.
    let signature = octokit.sign(secret("GITHUB_SECRET"), &deployment).await;
    let first_delivery = delivery_id();
    let deliver_deployment = |delivery: String| {
        let (signals, signature, deployment) = (&signals, &signature, &deployment);
        async move {
            let body = std::fs::read(deployment).unwrap();
            deliver(signals, "deployment_status", &delivery, signature, body).await
        }
    };
    let (status, answer) = deliver_deployment(first_delivery.clone()).await;
    let (deploy_change, new) = accepted_change("deployment_status", status, &answer);
    assert!(new, "{answer}");
    let mut stored = vec![deploy_change.clone()];
    let status_id = deployment_payload["deployment_status"]["id"]
        .as_i64()
        .unwrap();
    let sha = deployment_payload["deployment"]["sha"].as_str().unwrap();
    let state = deployment_payload["deployment_status"]["state"]
        .as_str()
        .unwrap();
    assert_eq!(
        stored_change(&db, &format!("deployment_status:{status_id}")).await,
        Some(format!(
            "deploy {sha} {} {state} {{{}}}",
            deployment_payload["deployment"]["ref"].as_str().unwrap(),
            slug(&deployment_payload)
        )),
        "{answer}"
    );

    // A redelivery, with a new delivery id or the same one, is the same change.
    for (attempt, delivery) in [
        ("a new delivery id", delivery_id()),
        ("the same delivery id", first_delivery),
    ] {
        let (status, answer) = deliver_deployment(delivery).await;
        let (change, new) = accepted_change("deployment_status", status, &answer);
        assert_eq!(
            (change.as_str(), new),
            (deploy_change.as_str(), false),
            "a redelivery with {attempt}: {answer}"
        );
    }
    assert_eq!(
        scalar(&db, "select count(*) from change").await,
        1,
        "redeliveries store nothing new"
    );

    // workflow_run completed: a change only for a workflow named like a deploy. Every
    // completed example is delivered as it is.
    let mut run_with_conclusion = None;
    let mut completed = 0;
    while let Some(run) = octokit
        .example("workflow_run", "completed", completed)
        .await
    {
        completed += 1;
        let payload = read_json(&run);
        let name = payload["workflow_run"]["name"].as_str().unwrap_or_default();
        let (status, answer) = deliver_signed(&signals, &octokit, "workflow_run", &run).await;
        if name.to_ascii_lowercase().contains("deploy") {
            let (change, new) = accepted_change("workflow_run", status, &answer);
            if new {
                stored.push(change);
            }
        } else {
            assert_eq!(
                (status, answer["status"].as_str()),
                (StatusCode::OK, Some("ignored")),
                "workflow `{name}` is not a deploy: {answer}"
            );
            let reason = answer["reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains("is not a deploy"),
                "the answer says why: {answer}"
            );
            assert_eq!(stored_change(&db, &run_id(&payload)).await, None);
        }
        if run_with_conclusion.is_none() && !payload["workflow_run"]["conclusion"].is_null() {
            run_with_conclusion = Some(payload);
        }
    }
    assert!(completed > 0, "no completed workflow_run example");
    // A completed run of a workflow named like a deploy is a deploy: an example, renamed.
    let mut run_payload = run_with_conclusion.expect("a completed workflow_run with a conclusion");
    run_payload["workflow_run"]["name"] = json!("Deploy production");
    let before = stored_change(&db, &run_id(&run_payload)).await;
    let renamed = octokit.write("workflow_run-deploy.json", &run_payload);
    let (status, answer) = deliver_signed(&signals, &octokit, "workflow_run", &renamed).await;
    let (change, new) = accepted_change("workflow_run", status, &answer);
    assert_eq!(new, before.is_none(), "{answer}");
    if new {
        stored.push(change);
    }
    assert_eq!(
        stored_change(&db, &run_id(&run_payload)).await,
        Some(format!(
            "deploy {} {} {} {{{}}}",
            run_payload["workflow_run"]["head_sha"].as_str().unwrap(),
            run_payload["workflow_run"]["head_branch"].as_str().unwrap(),
            run_payload["workflow_run"]["conclusion"].as_str().unwrap(),
            slug(&run_payload)
        )),
        "{answer}"
    );

    // push: to another ref it is nothing; to the default branch, a code change.
    let (tag_push, _) = octokit
        .find("push", "-", &|p| {
            p["ref"]
                .as_str()
                .is_some_and(|r| r.starts_with("refs/tags/"))
        })
        .await;
    let (status, answer) = deliver_signed(&signals, &octokit, "push", &tag_push).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("ignored")),
        "a tag push: {answer}"
    );
    let (status, answer) = deliver_signed(&signals, &octokit, "push", &push).await;
    let (change, new) = accepted_change("push", status, &answer);
    assert!(new, "{answer}");
    stored.push(change);
    let after = push_payload["after"].as_str().unwrap();
    assert_eq!(
        stored_change(&db, &format!("push:{after}")).await,
        Some(format!(
            "code {after} {} - {{{}}}",
            push_payload["repository"]["default_branch"]
                .as_str()
                .unwrap(),
            slug(&push_payload)
        ))
    );

    // release published: a release.
    let (release, release_payload) = octokit.find("release", "published", &|_| true).await;
    let (status, answer) = deliver_signed(&signals, &octokit, "release", &release).await;
    let (change, new) = accepted_change("release", status, &answer);
    assert!(new, "{answer}");
    stored.push(change);
    assert_eq!(
        stored_change(
            &db,
            &format!("release:{}", release_payload["release"]["id"])
        )
        .await,
        Some(format!(
            "release - {} - {{{}}}",
            release_payload["release"]["tag_name"].as_str().unwrap(),
            slug(&release_payload)
        ))
    );

    // Agents see every stored change, and nothing else.
    assert_eq!(
        scalar(&db, "select count(*) from change").await,
        i64::try_from(stored.len()).unwrap(),
        "one change per new answer: {stored:?}"
    );
    let listed = ok(call(&signals.client, "list_changes", json!({})).await);
    let mut seen: Vec<(String, String)> = listed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["change"].as_str().unwrap().to_owned(),
                c["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    stored.sort();
    assert_eq!(
        seen.iter()
            .map(|(change, _)| change.clone())
            .collect::<Vec<_>>(),
        stored,
        "{listed:#}"
    );
    let mut kinds: Vec<&str> = seen.iter().map(|(_, kind)| kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds, ["code", "deploy", "release"], "{listed:#}");
}

/// `workflow_run:<run id>:<attempt>`, the identity of a run's change.
fn run_id(payload: &Value) -> String {
    format!(
        "workflow_run:{}:{}",
        payload["workflow_run"]["id"],
        payload["workflow_run"]["run_attempt"].as_i64().unwrap_or(1)
    )
}

/// The service a payload's repository is: its name, lowercased, other characters `-`.
fn slug(payload: &Value) -> String {
    let name = payload["repository"]["name"].as_str().unwrap();
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// --- Wazuh --------------------------------------------------------------------------------

/// The `python3` the forwarder runs with (wazuh-integratord finds it on PATH too).
fn wazuh_python() -> PathBuf {
    system_program("python3", "contrib/wazuh/custom-firebreak")
}

/// `custom-firebreak ALERT_FILE API_KEY HOOK_URL`, as wazuh-integratord runs it.
async fn wazuh_forward(signals: &Signals, fixture: &str, api_key: &str) -> Ran {
    let mut command = Command::new(wazuh_python());
    command
        .arg(repo("contrib/wazuh/custom-firebreak"))
        .arg(repo(fixture))
        .arg(api_key)
        .arg(format!("{}/hooks/generic/wazuh", signals.base));
    run(command, "custom-firebreak").await
}

#[tokio::test]
async fn the_wazuh_forwarder_script_pages_firebreak() {
    wazuh_python();
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let api_key = secret("WAZUH_SECRET");

    // Rule level 10: the `wazuh` route maps levels of 8 and more to SEV2.
    let ran = wazuh_forward(&signals, "tests/fixtures/wazuh/alert.json", api_key).await;
    assert!(
        ran.success(),
        "custom-firebreak alert.json: {ran}\n{}",
        ledger(&db).await
    );
    assert_eq!(
        scalar(&db, "select count(*) from incident").await,
        1,
        "{}",
        ledger(&db).await
    );
    let incident = brief(&signals, 1).await;
    assert_eq!(
        (
            incident["incident"]["severity"].as_str(),
            incident["incident"]["title"].as_str(),
            incident["incident"]["services"].clone()
        ),
        (
            Some("SEV2"),
            Some("sshd: brute force trying to get access to the system. Non existent user."),
            json!(["web-01"])
        ),
        "{incident:#}"
    );
    assert_eq!(
        text(
            &db,
            "select concat_ws(' ', alert_key, route, group_key) from alert"
        )
        .await
        .as_deref(),
        Some("wazuh:003:5712 wazuh rule_id=5712,agent_id=003")
    );

    // Wazuh fires the rule again: the same alert, no second incident.
    let ran = wazuh_forward(&signals, "tests/fixtures/wazuh/alert.json", api_key).await;
    assert!(ran.success(), "again: {ran}");
    assert_eq!(
        scalar(&db, "select count(*) from incident").await,
        1,
        "{}",
        ledger(&db).await
    );
    assert_eq!(scalar(&db, "select count(*) from alert").await, 1);
    assert_eq!(
        scalar(
            &db,
            "select count(*) from alert_decision where decision = 'deduplicated'"
        )
        .await,
        1,
        "{}",
        ledger(&db).await
    );

    // A file integrity alert (level 7, below every threshold: the route's default SEV4) of
    // another rule and agent is another group, so another incident.
    let ran = wazuh_forward(&signals, "tests/fixtures/wazuh/alert-fim.json", api_key).await;
    assert!(ran.success(), "custom-firebreak alert-fim.json: {ran}");
    assert_eq!(
        scalar(&db, "select count(*) from incident").await,
        2,
        "{}",
        ledger(&db).await
    );
    let fim = brief(&signals, 2).await;
    assert_eq!(
        (
            fim["incident"]["severity"].as_str(),
            fim["incident"]["services"].clone()
        ),
        (Some("SEV4"), json!(["db-01"])),
        "{fim:#}"
    );
    assert_eq!(
        text(
            &db,
            "select concat_ws(' ', alert_key, group_key) from alert where route = 'wazuh' \
             and labels->>'rule_id' = '550'"
        )
        .await
        .as_deref(),
        Some("wazuh:005:550:/etc/passwd rule_id=550,agent_id=005")
    );

    // The wrong key: the forwarder fails (integratord logs it), nothing is stored.
    let ran = wazuh_forward(
        &signals,
        "tests/fixtures/wazuh/alert-fim.json",
        "not-the-key",
    )
    .await;
    assert_eq!(ran.code, Some(1), "a refused delivery exits 1: {ran}");
    assert!(
        ran.stderr.contains("401"),
        "it says Firebreak answered 401: {ran}"
    );
    assert_eq!(scalar(&db, "select count(*) from alert").await, 2);
}
