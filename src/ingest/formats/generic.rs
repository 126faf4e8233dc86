//! Firebreak's own JSON, for senders that can template a body (Datadog, Wazuh's forwarder,
//! scripts). One alert, one change, or `{"alerts": [...]}` / `{"changes": [...]}`; a body
//! with `kind` is a change. Empty strings count as absent (template engines fill missing
//! variables with them), and `status` takes Datadog's transition words too.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::signals::change::is_failure;
use crate::domain::signals::{ActorKind, AlertEvent, ChangeKind, EventAction, NewChange};
use crate::domain::vocabulary::Vocabulary;
use crate::ingest::formats::{FormatError, Parsed, digest, json, scalar_text};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Alert {
    title: String,
    #[serde(default)]
    status: Option<String>,
    dedup_key: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    source_url: Option<String>,
    #[serde(default)]
    runbook_url: Option<String>,
    #[serde(default)]
    starts_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    #[serde(default)]
    id: Option<String>,
    kind: String,
    summary: String,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    actor_kind: Option<String>,
    #[serde(default)]
    sha: Option<String>,
    #[serde(default, rename = "ref")]
    git_ref: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    occurred_at: Option<String>,
}

/// Most alerts or changes in one body.
const BATCH_MAX: usize = 1000;

pub(super) fn parse(body: &[u8]) -> Result<Parsed, FormatError> {
    let value: Value = json(body)?;
    let Value::Object(map) = &value else {
        return Err(FormatError::new(
            "",
            "the body must be a JSON object: one alert, one change, {\"alerts\": [...]} or {\"changes\": [...]}",
        ));
    };
    if let Some(list) = map.get("alerts") {
        let items = batch(list, "alerts")?;
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| alert(item, &format!("alerts[{i}]")))
            .collect::<Result<_, _>>()
            .map(Parsed::Alerts);
    }
    if let Some(list) = map.get("changes") {
        let items = batch(list, "changes")?;
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| change(item, &format!("changes[{i}]")))
            .collect::<Result<_, _>>()
            .map(Parsed::Changes);
    }
    if map.contains_key("kind") {
        return Ok(Parsed::Changes(vec![change(&value, "")?]));
    }
    Ok(Parsed::Alerts(vec![alert(&value, "")?]))
}

fn batch<'a>(list: &'a Value, field: &str) -> Result<&'a Vec<Value>, FormatError> {
    match list {
        Value::Array(items) if items.len() <= BATCH_MAX => Ok(items),
        Value::Array(items) => Err(FormatError::new(
            field,
            format!(
                "has {} entries; at most {BATCH_MAX} per request",
                items.len()
            ),
        )),
        _ => Err(FormatError::new(field, "must be an array")),
    }
}

fn typed<T: serde::de::DeserializeOwned>(value: &Value, prefix: &str) -> Result<T, FormatError> {
    json(value.to_string().as_bytes()).map_err(|mut err| {
        err.field = join(prefix, &err.field);
        err
    })
}

fn join(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{field}"),
    }
}

/// `Some` only for a string with something in it.
fn present(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn time(value: Option<String>, field: &str) -> Result<Option<DateTime<Utc>>, FormatError> {
    present(value)
        .map(|text| {
            DateTime::parse_from_rfc3339(text.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    FormatError::new(
                        field,
                        format!("is \"{text}\", not an RFC 3339 time (e.g. 2026-12-01T12:00:00Z)"),
                    )
                })
        })
        .transpose()
}

fn alert(value: &Value, prefix: &str) -> Result<AlertEvent, FormatError> {
    let raw: Alert = typed(value, prefix)?;
    let action = match present(raw.status) {
        None => EventAction::Trigger,
        Some(status) => EventAction::parse_loose(&status)
            .filter(|a| *a != EventAction::Acknowledge)
            .ok_or_else(|| {
                FormatError::new(
                    join(prefix, "status"),
                    format!("is \"{status}\"; expected \"firing\" or \"resolved\" (Datadog's Triggered, Re-Triggered, Warn, No Data or Recovered also work)"),
                )
            })?,
    };
    let mut event = AlertEvent::new(action, raw.dedup_key, raw.title);
    event.severity = present(raw.severity);
    let mut services: Vec<String> = raw.service.into_iter().chain(raw.services).collect();
    services.retain(|s| !s.trim().is_empty());
    event.services = services;
    event.dependencies = raw.dependencies;
    for (name, value) in raw.labels {
        if let Some(text) = scalar_text(&value).filter(|t| !t.is_empty()) {
            event.labels.insert(name, text);
        }
    }
    if let Some(service) = event.services.first()
        && !event.labels.contains_key("service")
    {
        event.labels.insert("service".into(), service.clone());
    }
    if !event.labels.contains_key("alertname") {
        event.labels.insert("alertname".into(), event.title.clone());
    }
    event.description = present(raw.description);
    event.source_url = present(raw.source_url);
    event.runbook_url = present(raw.runbook_url);
    event.starts_at = time(raw.starts_at, &join(prefix, "starts_at"))?;
    Ok(event)
}

fn change(value: &Value, prefix: &str) -> Result<NewChange, FormatError> {
    let raw: Change = typed(value, prefix)?;
    let kind = ChangeKind::parse_loose(&raw.kind)
        .ok_or_else(|| FormatError::new(join(prefix, "kind"), ChangeKind::unknown(&raw.kind)))?;
    // Without an id of its own, the change's content is its identity, so a retry is the same.
    let id =
        present(raw.id).unwrap_or_else(|| format!("gen-{}", digest(value.to_string().as_bytes())));
    let mut change = NewChange::new(id, kind, raw.summary);
    change.services = raw.service.into_iter().chain(raw.services).collect();
    change.environment = present(raw.environment);
    change.url = present(raw.url);
    change.actor = present(raw.actor);
    change.actor_kind = match present(raw.actor_kind) {
        Some(kind) => Some(ActorKind::parse_loose(&kind).ok_or_else(|| {
            FormatError::new(join(prefix, "actor_kind"), ActorKind::unknown(&kind))
        })?),
        None => None,
    };
    change.sha = present(raw.sha);
    change.git_ref = present(raw.git_ref);
    change.failed = raw.status.as_deref().is_some_and(is_failure);
    change.status = present(raw.status);
    change.occurred_at = time(raw.occurred_at, &join(prefix, "occurred_at"))?;
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_alert_a_batch_and_a_change_are_told_apart() {
        let one = br#"{"title":"Disk full","dedup_key":"db-1-disk","service":"db","labels":{"level":10}}"#;
        let Parsed::Alerts(alerts) = parse(one).unwrap() else {
            panic!()
        };
        assert_eq!(alerts[0].labels["level"], "10");
        assert_eq!(alerts[0].labels["service"], "db");
        let batch = br#"{"alerts":[{"title":"a","dedup_key":"1","status":"Recovered"},{"title":"b","dedup_key":"2","status":""}]}"#;
        let Parsed::Alerts(alerts) = parse(batch).unwrap() else {
            panic!()
        };
        assert_eq!(
            (alerts[0].action, alerts[1].action),
            (EventAction::Resolve, EventAction::Trigger)
        );
        let change =
            br#"{"id":"d-1","kind":"deploy","summary":"v2","service":"web","status":"failed"}"#;
        let Parsed::Changes(changes) = parse(change).unwrap() else {
            panic!()
        };
        assert!(changes[0].failed);
    }

    /// The body docs/datadog-webhook.md's template renders, for a trigger and its recovery.
    #[test]
    fn the_datadog_template_of_the_docs_parses() {
        let rendered = |transition: &str| {
            serde_json::json!({
                "title": "[Triggered] CPU high on web-1", "status": transition,
                "dedup_key": "datadog:7215926101", "severity": "P2", "service": "web",
                "description": "CPU above 90% for 5 minutes", "source_url": "https://app.datadoghq.com/monitors/123",
                "labels": {"source": "datadog", "monitor_id": "123", "priority": "P2", "transition": transition,
                    "host": "web-1", "scope": "host:web-1", "tags": "env:prod,service:web", "event_date_ms": "1406662672000"}
            })
            .to_string()
        };
        let Parsed::Alerts(fired) = parse(rendered("Triggered").as_bytes()).unwrap() else {
            panic!()
        };
        let Parsed::Alerts(recovered) = parse(rendered("Recovered").as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(
            (fired[0].action, recovered[0].action),
            (EventAction::Trigger, EventAction::Resolve)
        );
        assert_eq!(
            fired[0].key, recovered[0].key,
            "trigger and recovery share the cycle key"
        );
        assert_eq!(fired[0].severity.as_deref(), Some("P2"));
        let no_priority = rendered("Re-Triggered").replace("\"P2\"", "\"\"");
        let Parsed::Alerts(unset) = parse(no_priority.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(
            unset[0].severity, None,
            "an empty template variable is absent"
        );
        assert!(!unset[0].labels.contains_key("priority"));
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: [(&[u8], &str); 5] = [
            (br#"{"alerts":[{"title":"a"}]}"#, "alerts[0]"),
            (
                br#"{"title":"a","dedup_key":"k","status":"exploded"}"#,
                "status",
            ),
            (
                br#"{"title":"a","dedup_key":"k","starts_at":"yesterday"}"#,
                "starts_at",
            ),
            (br#"{"id":"1","kind":"rollout","summary":"s"}"#, "kind"),
            (br#"{"title":"a","dedup_key":"k","colour":"red"}"#, ""),
        ];
        for (body, field) in cases {
            let err = parse(body).unwrap_err();
            assert!(
                err.field == field || err.to_string().contains(field),
                "{err}"
            );
            assert!(!err.reason.is_empty());
        }
    }
}
