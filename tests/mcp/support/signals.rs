//! An in-process `serve --http` with an alerting file, for the ingestion tests: the real
//! router on a real port, a reqwest client to post deliveries as senders do, and an MCP
//! client on the same application to see what agents see.

use std::time::Duration;

use firebreak::app::signals::RoutingHandle;
use firebreak::app::{App, Settings};
use firebreak::http::hooks::SourcesHandle;
use firebreak::http::{self, HttpOptions};
use firebreak::ingest::config;
use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::support::children::free_port;
use crate::support::{Client, TestDb, connect_app};

/// The secrets the test sources read, by environment variable.
pub(crate) const SECRETS: [(&str, &str); 7] = [
    ("AM_SECRET", "am-secret-0123456789"),
    ("AM_OLD_SECRET", "am-old-secret-0123456789"),
    ("GRAFANA_SECRET", "grafana-secret-0123456789"),
    ("PD_ROUTING_KEY", "R0UTINGKEY0123456789abcdef012345"),
    ("GITHUB_SECRET", "It's a Secret to Everybody"),
    ("GENERIC_SECRET", "generic-secret-0123456789"),
    ("WAZUH_SECRET", "wazuh-secret-0123456789"),
];

/// The secret in `variable`.
pub(crate) fn secret(variable: &str) -> &'static str {
    SECRETS
        .iter()
        .find(|(name, _)| *name == variable)
        .map(|(_, value)| *value)
        .unwrap()
}

/// Sources of every kind and a few routes: Wazuh levels mapped, warnings recorded only, an
/// attach-only route, and a catch-all that declares.
pub(crate) const ALERTING: &str = "\
sources:
  - {name: am, kind: alertmanager, secret_env: AM_SECRET, previous_secret_env: AM_OLD_SECRET}
  - {name: graf, kind: grafana, secret_env: GRAFANA_SECRET}
  - {name: graf-ts, kind: grafana, secret_env: GRAFANA_SECRET, timestamp_header: X-Grafana-Alerting-Timestamp, max_skew: 60s}
  - {name: pd, kind: events_v2, secret_env: PD_ROUTING_KEY}
  - {name: gh, kind: github, secret_env: GITHUB_SECRET}
  - {name: gen, kind: generic, secret_env: GENERIC_SECRET}
  - {name: wazuh, kind: generic, secret_env: WAZUH_SECRET}
routes:
  - name: wazuh
    sources: [wazuh]
    severity: {field: rule_level, levels: [{min: 12, severity: SEV1}, {min: 8, severity: SEV2}], default: SEV4}
    group_by: [rule_id, agent_id]
  - name: warnings
    match_re: {severity: \"warning|info\"}
    action: record
  - name: attach-only
    match: {mode: attach}
    action: attach
  - name: default
    title: \"{{ labels.alertname }}\"
dependencies: {checkout: [postgres]}
";

/// A running server with the alerting file applied.
pub(crate) struct Signals {
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    /// Posts deliveries.
    pub(crate) http: reqwest::Client,
    /// An MCP client on the same application.
    pub(crate) client: Client,
    shutdown: CancellationToken,
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Signals {
    /// Serves `db` with [`ALERTING`].
    pub(crate) async fn start(db: &TestDb) -> Signals {
        Signals::start_with(db, ALERTING).await
    }

    /// Serves `db` with the alerting file `yaml` (secrets from [`SECRETS`]).
    pub(crate) async fn start_with(db: &TestDb, yaml: &str) -> Signals {
        let env = |name: &str| secret_lookup(name);
        let alerting = config::parse(yaml, &env).unwrap_or_else(|err| panic!("{err}"));
        let settings = Settings {
            routing: RoutingHandle::new(alerting.routing.clone()),
            ..Settings::default()
        };
        let app = App::new(db.pool.clone(), settings);
        let port = free_port();
        let mut options = HttpOptions::new(format!("127.0.0.1:{port}").parse().unwrap());
        options.sources = SourcesHandle::new(alerting);
        let shutdown = CancellationToken::new();
        tokio::spawn(http::serve(app.clone(), options, shutdown.clone()));
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        for _ in 0..100 {
            if http.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let client = connect_app(app.clone(), "tester").await;
        Signals {
            base,
            http,
            client,
            shutdown,
        }
    }

    /// POSTs `body` to `path` with `headers`; the status and the JSON answer (`Null` if none).
    pub(crate) async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POSTs `body` to `/hooks/{kind}/{source}` with the bearer secret in `variable`.
    pub(crate) async fn hook(
        &self,
        kind_and_source: &str,
        variable: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let bearer = format!("Bearer {}", secret(variable));
        self.post(
            &format!("/hooks/{kind_and_source}"),
            &[("authorization", bearer.as_str())],
            body,
        )
        .await
    }
}

fn secret_lookup(name: &str) -> Option<String> {
    SECRETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| (*v).to_owned())
}

/// Labels as the tests write them.
pub(crate) type Labels<'a> = &'a [(&'a str, &'a str)];

/// An Alertmanager `version: "4"` message with `alerts` (each: status, fingerprint, labels).
pub(crate) fn alertmanager(alerts: &[(&str, &str, Labels<'_>)]) -> String {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|(status, fingerprint, labels)| {
            let labels: serde_json::Map<String, Value> = labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect();
            let ends = if *status == "resolved" { "2026-12-01T10:05:00Z" } else { "0001-01-01T00:00:00Z" };
            serde_json::json!({
                "status": status, "labels": labels,
                "annotations": {"summary": format!("{} fires", labels.get("alertname").and_then(Value::as_str).unwrap_or("alert"))},
                "startsAt": "2026-12-01T10:00:00Z", "endsAt": ends,
                "generatorURL": "http://prometheus.example:9090/graph", "fingerprint": fingerprint
            })
        })
        .collect();
    let status = if alerts.iter().any(|a| a["status"] == "firing") {
        "firing"
    } else {
        "resolved"
    };
    serde_json::json!({
        "version": "4", "groupKey": "{}:{alertname=\"x\"}", "truncatedAlerts": 0,
        "receiver": "firebreak", "status": status, "externalURL": "http://am.example:9093",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "alerts": alerts
    })
    .to_string()
}

/// Stores one change, CHG-1 (a deploy of `checkout`), as a generic source would send it.
pub(crate) async fn seed_change(db: &TestDb) -> String {
    use firebreak::app::signals::SignalSource;
    use firebreak::domain::signals::{ChangeKind, NewChange};
    let mut change = NewChange::new(
        "d-1".into(),
        ChangeKind::Deploy,
        "Deploy checkout v2".into(),
    );
    change.services = vec!["checkout".into()];
    let source = SignalSource {
        name: "gen",
        kind: "generic",
    };
    let stored = App::from_pool(db.pool.clone())
        .ingest_changes(source, vec![change], None)
        .await
        .unwrap();
    stored[0].change.clone()
}
