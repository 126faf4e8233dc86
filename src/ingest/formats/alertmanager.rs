//! Prometheus Alertmanager's webhook (`version: "4"`) and Grafana's webhook contact point,
//! which shares its envelope (`version: "1"`) and adds links per alert. Each alert is its own
//! event, identified by its fingerprint: a batch whose first alert resolved must not close an
//! incident whose other alerts still fire.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::signals::{AlertEvent, EventAction};
use crate::ingest::formats::{FormatError, json};

#[derive(Deserialize)]
struct Message {
    version: String,
    alerts: Vec<Alert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Alert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: String,
    // Grafana's additions.
    #[serde(default, rename = "panelURL")]
    panel_url: Option<String>,
    #[serde(default, rename = "dashboardURL")]
    dashboard_url: Option<String>,
}

/// The alerts of a webhook message whose `version` must be `version`.
pub(super) fn parse(body: &[u8], version: &str) -> Result<Vec<AlertEvent>, FormatError> {
    let message: Message = json(body)?;
    if message.version != version {
        return Err(FormatError::new(
            "version",
            format!(
                "is \"{}\"; this source takes webhook payloads of version \"{version}\"",
                message.version
            ),
        ));
    }
    message
        .alerts
        .into_iter()
        .enumerate()
        .map(|(i, alert)| event(i, alert))
        .collect()
}

fn event(i: usize, alert: Alert) -> Result<AlertEvent, FormatError> {
    let action = match alert.status.as_str() {
        "firing" => EventAction::Trigger,
        "resolved" => EventAction::Resolve,
        other => {
            return Err(FormatError::new(
                format!("alerts[{i}].status"),
                format!("is \"{other}\"; expected \"firing\" or \"resolved\""),
            ));
        }
    };
    if alert.fingerprint.trim().is_empty() {
        return Err(FormatError::new(
            format!("alerts[{i}].fingerprint"),
            "is empty: every alert needs its fingerprint, or unrelated alerts would be merged",
        ));
    }
    let title = alert
        .annotations
        .get("summary")
        .or_else(|| alert.labels.get("alertname"))
        .cloned()
        .unwrap_or_else(|| format!("Alert {}", alert.fingerprint));
    let mut event = AlertEvent::new(action, alert.fingerprint, title);
    event.description = alert.annotations.get("description").cloned();
    event.runbook_url = alert
        .annotations
        .get("runbook_url")
        .or_else(|| alert.annotations.get("runbook"))
        .cloned();
    event.source_url = alert
        .panel_url
        .or(alert.dashboard_url)
        .or(alert.generator_url);
    event.services = alert.labels.get("service").cloned().into_iter().collect();
    // Alertmanager sends `0001-01-01T00:00:00Z` for "no end yet".
    event.starts_at = alert.starts_at.filter(|t| t.timestamp() > 0);
    event.ends_at = alert.ends_at.filter(|t| t.timestamp() > 0);
    event.labels = alert.labels;
    event.annotations = alert.annotations;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRING: &str = r#"{"version":"4","groupKey":"{}:{alertname=\"ProbeFailure\"}","truncatedAlerts":0,
 "receiver":"firebreak","status":"firing","externalURL":"http://am.example:9093",
 "groupLabels":{"alertname":"ProbeFailure"},"commonLabels":{"alertname":"ProbeFailure","severity":"critical"},
 "commonAnnotations":{"summary":"Probe failed"},
 "alerts":[{"status":"firing","labels":{"alertname":"ProbeFailure","instance":"https://api.example","severity":"critical"},
   "annotations":{"summary":"Probe failed","runbook_url":"https://runbooks.example/probe"},
   "startsAt":"2026-02-06T13:08:45.828Z","endsAt":"0001-01-01T00:00:00Z",
   "generatorURL":"http://prom:9090/graph?g0.expr=probe_success+%3D%3D+0","fingerprint":"1a30ba71cca2921f"}]}"#;

    #[test]
    fn an_alertmanager_message_becomes_one_event_per_alert() {
        let events = parse(FIRING.as_bytes(), "4").unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            (e.action, e.key.as_str(), e.title.as_str()),
            (EventAction::Trigger, "1a30ba71cca2921f", "Probe failed")
        );
        assert_eq!(
            e.runbook_url.as_deref(),
            Some("https://runbooks.example/probe")
        );
        assert_eq!(e.ends_at, None, "0001-01-01 means no end");
        assert!(e.starts_at.is_some());
    }

    #[test]
    fn the_wrong_version_or_shape_names_the_field() {
        let grafana = parse(FIRING.as_bytes(), "1").unwrap_err();
        assert_eq!(grafana.field, "version");
        let bad = FIRING.replace(
            "\"status\":\"firing\",\"labels\"",
            "\"status\":\"burning\",\"labels\"",
        );
        assert_eq!(
            parse(bad.as_bytes(), "4").unwrap_err().field,
            "alerts[0].status"
        );
        let no_fp = FIRING.replace(
            "\"fingerprint\":\"1a30ba71cca2921f\"",
            "\"fingerprint\":\"\"",
        );
        assert_eq!(
            parse(no_fp.as_bytes(), "4").unwrap_err().field,
            "alerts[0].fingerprint"
        );
        let missing = FIRING.replace(",\"fingerprint\":\"1a30ba71cca2921f\"", "");
        let err = parse(missing.as_bytes(), "4").unwrap_err();
        assert!(err.to_string().contains("fingerprint"), "{err}");
        assert_eq!(parse(b"{", "4").unwrap_err().field, "");
    }
}
