//! An alert event as every format is translated to it: what fired (or resolved), its identity
//! within its source, and the labels and annotations routes match on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::error::ValidationError;
use crate::domain::validation;
use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// What an event asks for.
    pub enum EventAction ("alert event action") {
        /// The alert fires (first time or again).
        Trigger = "trigger" | "firing" | "alerting" | "triggered" | "re-triggered" | "warn"
            | "re-warn" | "no data" | "re-no data" | "renotify",
        /// Someone acknowledged it at the sender (Events v2 `acknowledge`).
        Acknowledge = "acknowledge",
        /// It stopped firing.
        Resolve = "resolve" | "resolved" | "recovered" | "ok",
    }
}

/// Longest alert identity (PagerDuty's `dedup_key` limit).
pub const KEY_MAX_CHARS: usize = 255;
/// Longest alert title kept (PagerDuty's `summary` limit).
pub const TITLE_MAX_CHARS: usize = 1024;
/// Most labels (or annotations) kept per alert.
pub const LABELS_MAX: usize = 64;
/// Longest label or annotation value kept.
pub const VALUE_MAX_CHARS: usize = 4096;
/// Longest description kept.
pub const DESCRIPTION_MAX_CHARS: usize = 8192;

/// One alert event, in the shape every source format is translated to.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    /// Trigger, acknowledge or resolve.
    pub action: EventAction,
    /// The alert's identity within its source: a fingerprint or a dedup key.
    pub key: String,
    /// One line saying what fires.
    pub title: String,
    /// The sender's severity word (`critical`, `warning`, a Wazuh level …), mapped by routes.
    pub severity: Option<String>,
    /// Labels: what identifies the alert (`alertname`, `service`, `instance` …).
    pub labels: BTreeMap<String, String>,
    /// Annotations: what describes it (`summary`, `description`, `runbook_url` …).
    pub annotations: BTreeMap<String, String>,
    /// Longer text.
    pub description: Option<String>,
    /// Where the alert can be seen at the sender.
    pub source_url: Option<String>,
    /// The runbook the alert names.
    pub runbook_url: Option<String>,
    /// Services the sender names.
    pub services: Vec<String>,
    /// Services those depend on, when the sender names them.
    pub dependencies: Vec<String>,
    /// When it started firing, if the sender says.
    pub starts_at: Option<DateTime<Utc>>,
    /// When it stopped, if the sender says.
    pub ends_at: Option<DateTime<Utc>>,
}

impl AlertEvent {
    /// An event with only an action, a key and a title; the formats fill in the rest.
    pub fn new(action: EventAction, key: String, title: String) -> Self {
        AlertEvent {
            action,
            key,
            title,
            severity: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            description: None,
            source_url: None,
            runbook_url: None,
            services: Vec::new(),
            dependencies: Vec::new(),
            starts_at: None,
            ends_at: None,
        }
    }

    /// Checks the event and trims what is longer than Firebreak keeps. `field` prefixes the
    /// names in errors (e.g. `alerts[2]`). An empty identity is refused: it would merge
    /// unrelated alerts into one.
    pub fn checked(mut self, field: &str, now: DateTime<Utc>) -> Result<Self, ValidationError> {
        let key = self.key.trim();
        if key.is_empty() {
            return Err(ValidationError::new(
                format!("{field}.key"),
                "is empty: every alert needs an identity (a fingerprint or dedup_key), \
                 or unrelated alerts would be merged",
            ));
        }
        if key.chars().count() > KEY_MAX_CHARS || key.chars().any(char::is_control) {
            return Err(ValidationError::new(
                format!("{field}.key"),
                format!("must be 1–{KEY_MAX_CHARS} printable characters"),
            ));
        }
        self.key = key.to_owned();
        let title = one_line(&self.title);
        if title.is_empty() {
            return Err(ValidationError::new(
                format!("{field}.title"),
                "is empty: say what fires (an alertname, a summary)",
            ));
        }
        self.title = cut(&title, TITLE_MAX_CHARS);
        self.labels = checked_map(&format!("{field}.labels"), self.labels)?;
        self.annotations = checked_map(&format!("{field}.annotations"), self.annotations)?;
        self.description = self
            .description
            .map(|d| cut(&strip_controls(&d), DESCRIPTION_MAX_CHARS))
            .filter(|d| !d.trim().is_empty());
        self.severity = self.severity.map(|s| cut(&one_line(&s), 64));
        self.source_url = self.source_url.map(|u| cut(&one_line(&u), 2048));
        self.runbook_url = self.runbook_url.map(|u| cut(&one_line(&u), 2048));
        self.services = slugs(self.services);
        self.dependencies = slugs(self.dependencies);
        self.starts_at = validation::instant(&format!("{field}.starts_at"), self.starts_at)?
            .map(|at| at.min(now));
        self.ends_at = validation::instant(&format!("{field}.ends_at"), self.ends_at)?;
        Ok(self)
    }

    /// The value of a field routes match on: `title`, `severity`, `key`, `labels.NAME`,
    /// `annotations.NAME`, or a bare label name.
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "title" => Some(&self.title),
            "severity" => self
                .severity
                .as_deref()
                .or_else(|| self.labels.get("severity").map(String::as_str)),
            "key" => Some(&self.key),
            "service" => self
                .labels
                .get("service")
                .map(String::as_str)
                .or_else(|| self.services.first().map(String::as_str)),
            _ => {
                if let Some(label) = name.strip_prefix("labels.") {
                    self.labels.get(label).map(String::as_str)
                } else if let Some(annotation) = name.strip_prefix("annotations.") {
                    self.annotations.get(annotation).map(String::as_str)
                } else {
                    self.labels.get(name).map(String::as_str)
                }
            }
        }
    }
}

vocabulary! {
    /// Where a stored alert stands.
    pub enum AlertStatus ("alert status") {
        /// Firing.
        Firing = "firing",
        /// Resolved.
        Resolved = "resolved",
    }
}

/// An alert as stored, with the ledger's latest reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Its id.
    pub id: uuid::Uuid,
    /// The source it came from.
    pub source: String,
    /// Its identity within the source.
    pub key: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// What fires.
    pub title: String,
    /// The mapped severity, when a route mapped one.
    pub severity: Option<crate::domain::incident::Severity>,
    /// Services.
    pub services: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Where to see it.
    pub source_url: Option<String>,
    /// Its runbook.
    pub runbook_url: Option<String>,
    /// The route that matched.
    pub route: Option<String>,
    /// Its group.
    pub group_key: String,
    /// The incident it belongs to, by number.
    pub incident: Option<i64>,
    /// When it started.
    pub starts_at: DateTime<Utc>,
    /// When it ended.
    pub ends_at: Option<DateTime<Utc>>,
    /// First delivery.
    pub first_seen: DateTime<Utc>,
    /// Latest delivery.
    pub last_seen: DateTime<Utc>,
    /// Deliveries counted.
    pub seen_count: i64,
    /// When the sender acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// The ledger's latest reason for it.
    pub last_reason: Option<String>,
}

/// An incident's alerts in numbers.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AlertCounts {
    /// Still firing.
    pub firing: i64,
    /// Resolved.
    pub resolved: i64,
    /// First seen.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last seen.
    pub last_seen: Option<DateTime<Utc>>,
}

/// One of an incident's newest alerts, as its brief lists it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AlertBrief {
    /// What fires.
    pub title: String,
    /// `firing` or `resolved`.
    pub status: String,
    /// Its source.
    pub source: String,
    /// Its identity.
    pub alert_key: String,
    /// Latest delivery.
    pub last_seen: DateTime<Utc>,
    /// Deliveries counted.
    pub seen_count: i64,
}

/// Labels or annotations: at most [`LABELS_MAX`], keys of printable characters, values cut to
/// [`VALUE_MAX_CHARS`] with control characters (NUL included) removed.
fn checked_map(
    field: &str,
    map: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ValidationError> {
    if map.len() > LABELS_MAX {
        return Err(ValidationError::new(
            field,
            format!("has {} entries; at most {LABELS_MAX} are kept", map.len()),
        ));
    }
    let mut out = BTreeMap::new();
    for (key, value) in map {
        if key.is_empty() || key.chars().count() > 128 || key.chars().any(char::is_control) {
            return Err(ValidationError::new(
                field,
                format!("has the key {key:?}: keys must be 1–128 printable characters"),
            ));
        }
        out.insert(key, cut(&strip_controls(&value), VALUE_MAX_CHARS));
    }
    Ok(out)
}

/// The services named that are slugs (others are dropped: senders spell services freely).
fn slugs(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let slug = value.trim().to_ascii_lowercase();
        if validation::is_slug(&slug) && !out.contains(&slug) && out.len() < 20 {
            out.push(slug);
        }
    }
    out
}

/// `text` on one line: control characters and line breaks become spaces, trimmed.
pub fn one_line(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` without control characters other than line breaks and tabs.
fn strip_controls(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

/// The first `max` characters of `text`, with `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(key: &str, title: &str) -> AlertEvent {
        AlertEvent::new(EventAction::Trigger, key.into(), title.into())
    }

    #[test]
    fn an_empty_identity_is_refused_rather_than_merging_alerts() {
        let err = event("  ", "CPU")
            .checked("alerts[0]", Utc::now())
            .unwrap_err();
        assert_eq!(err.field, "alerts[0].key");
        let err = event("k", "\n")
            .checked("alerts[1]", Utc::now())
            .unwrap_err();
        assert_eq!(err.field, "alerts[1].title");
    }

    #[test]
    fn long_and_control_text_is_trimmed_not_refused() {
        let mut e = event("k", &"x".repeat(2000));
        e.labels.insert("a".into(), "b\u{0}c".into());
        e.services = vec!["Payments".into(), "not a slug".into()];
        let e = e.checked("alert", Utc::now()).unwrap();
        assert_eq!(e.title.chars().count(), TITLE_MAX_CHARS);
        assert_eq!(e.labels["a"], "bc");
        assert_eq!(e.services, vec!["payments"]);
    }

    #[test]
    fn fields_resolve_labels_annotations_and_names() {
        let mut e = event("k", "High errors");
        e.labels.insert("alertname".into(), "HighErrorRate".into());
        e.labels.insert("severity".into(), "critical".into());
        e.annotations.insert("summary".into(), "5xx".into());
        assert_eq!(e.field("alertname"), Some("HighErrorRate"));
        assert_eq!(e.field("labels.alertname"), Some("HighErrorRate"));
        assert_eq!(e.field("annotations.summary"), Some("5xx"));
        assert_eq!(e.field("severity"), Some("critical"));
        assert_eq!(e.field("title"), Some("High errors"));
        assert_eq!(e.field("missing"), None);
    }
}
