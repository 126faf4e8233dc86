//! The alerting file: sources (name, kind, the environment variables holding their secrets)
//! and routes (first match wins), checked whole at start, on SIGHUP and by
//! `firebreak alerting check`, with errors that name the line.
//!
//! ```yaml
//! sources:
//!   - name: prometheus
//!     kind: alertmanager          # alertmanager, grafana, events_v2, github, generic
//!     secret_env: AM_SECRET       # the secret is read from this variable, never the file
//!     previous_secret_env: AM_OLD # optional: also accepted while rotating
//! routes:
//!   - name: payments-critical
//!     match: {service: payments, severity: critical}
//!     match_re: {alertname: "High.*"}
//!     services: [payments]
//!     severity: {map: {critical: SEV1, warning: SEV3}, default: SEV2}
//!     group_by: [alertname, service]
//!     group_window: 4h
//!     title: "{{ labels.alertname }} on {{ labels.service }}"
//!     action: declare             # declare, attach, record
//! on_all_resolved: note           # note, monitoring, resolve
//! dependencies: {payments: [postgres]}
//! correlation: {before: 2h, after: 10m}
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use crate::config::{Secret, parse_duration};
use crate::domain::signals::routing::{Matcher, SeverityMap, default_group_by, render_title};
use crate::domain::signals::{
    AlertEvent, EventAction, ResolvedPolicy, Route, RouteAction, Routing,
};
use crate::domain::vocabulary::{Vocabulary, vocabulary};
use crate::domain::{Severity, validation};

vocabulary! {
    /// A source's payload format.
    pub enum SourceKind ("source kind") {
        /// Prometheus Alertmanager webhook (`version: "4"`).
        Alertmanager = "alertmanager",
        /// Grafana alerting webhook contact point (`version: "1"`).
        Grafana = "grafana",
        /// PagerDuty Events API v2 (alerts and changes).
        EventsV2 = "events_v2" | "pagerduty",
        /// GitHub webhooks.
        Github = "github",
        /// Firebreak's own JSON.
        Generic = "generic",
    }
}

/// One configured source.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its name: the `{source}` of its URL, and the principal its writes are recorded as.
    pub name: String,
    /// Its format.
    pub kind: SourceKind,
    /// The secrets accepted (the current one and, while rotating, the previous one).
    pub secrets: Vec<Secret>,
    /// Grafana: the header carrying the signed timestamp, when replay protection is wanted.
    pub timestamp_header: Option<String>,
    /// How old a signed timestamp may be.
    pub max_skew: Duration,
}

/// The checked file: sources and routing.
#[derive(Debug, Clone, Default)]
pub struct Alerting {
    /// The sources, by name.
    pub sources: Vec<Source>,
    /// How their alerts are routed.
    pub routing: Routing,
}

impl Alerting {
    /// The source named `name`.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }
}

/// A problem in the file, with its line (1-based; 0 when the file as a whole is at fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The line.
    pub line: u64,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    sources: Vec<Spanned<RawSource>>,
    #[serde(default)]
    routes: Vec<Spanned<RawRoute>>,
    #[serde(default)]
    on_all_resolved: Option<Spanned<String>>,
    #[serde(default)]
    dependencies: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    correlation: Option<Spanned<RawCorrelation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    kind: Spanned<String>,
    secret_env: Spanned<String>,
    #[serde(default)]
    previous_secret_env: Option<Spanned<String>>,
    #[serde(default)]
    timestamp_header: Option<String>,
    #[serde(default)]
    max_skew: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: Spanned<String>,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default, rename = "match")]
    match_eq: BTreeMap<String, String>,
    #[serde(default)]
    match_re: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    match_not: BTreeMap<String, String>,
    #[serde(default)]
    services: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    severity: Option<Spanned<RawSeverity>>,
    #[serde(default)]
    group_by: Option<Vec<String>>,
    #[serde(default)]
    group_window: Option<Spanned<String>>,
    #[serde(default)]
    title: Option<Spanned<String>>,
    #[serde(default)]
    copy_labels: Vec<String>,
    #[serde(default)]
    action: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeverity {
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    map: BTreeMap<String, String>,
    #[serde(default)]
    levels: Vec<RawLevel>,
    #[serde(default)]
    default: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    min: f64,
    severity: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorrelation {
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

type Checked<T> = Result<T, ConfigError>;

fn at(location: Location, message: impl Into<String>) -> ConfigError {
    ConfigError {
        line: location.line(),
        message: message.into(),
    }
}

/// Parses and checks the file's text; `env` looks up the secrets' variables.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Checked<Alerting> {
    let raw: RawFile = crate::config::yaml::decode(text).map_err(|err| ConfigError {
        line: err.line,
        message: err.message,
    })?;
    let mut sources: Vec<Source> = Vec::new();
    for source in raw.sources {
        let checked = check_source(source, env)?;
        if sources.iter().any(|s| s.name == checked.name) {
            return Err(ConfigError {
                line: 0,
                message: format!("source `{}` is defined twice", checked.name),
            });
        }
        sources.push(checked);
    }
    let mut routes: Vec<Route> = Vec::new();
    for route in raw.routes {
        let line = route.referenced;
        let checked = check_route(route.value, &sources)?;
        if routes.iter().any(|r| r.name == checked.name) {
            return Err(at(
                line,
                format!("route `{}` is defined twice", checked.name),
            ));
        }
        routes.push(checked);
    }
    let mut routing = Routing {
        routes,
        ..Routing::default()
    };
    if let Some(policy) = raw.on_all_resolved {
        routing.on_all_resolved = word::<ResolvedPolicy>(&policy, "on_all_resolved")?;
    }
    for (service, deps) in raw.dependencies {
        let deps =
            validation::services(&format!("dependencies.{service}"), deps).map_err(|err| {
                ConfigError {
                    line: 0,
                    message: err.to_string(),
                }
            })?;
        routing.dependencies.insert(service, deps);
    }
    if let Some(correlation) = raw.correlation {
        let line = correlation.referenced;
        if let Some(before) = &correlation.value.before {
            routing.correlation_before = parse_duration(before)
                .map_err(|e| at(line, format!("`correlation.before`: {e}")))?;
        }
        if let Some(after) = &correlation.value.after {
            routing.correlation_after =
                parse_duration(after).map_err(|e| at(line, format!("`correlation.after`: {e}")))?;
        }
    }
    Ok(Alerting { sources, routing })
}

fn word<V: Vocabulary>(value: &Spanned<String>, field: &str) -> Checked<V> {
    V::parse_loose(&value.value).ok_or_else(|| {
        at(
            value.referenced,
            format!("`{field}`: {}", V::unknown(&value.value)),
        )
    })
}

fn check_source(
    source: Spanned<RawSource>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Checked<Source> {
    let raw = source.value;
    let name = &raw.name;
    if !validation::is_slug(&name.value) {
        return Err(at(
            name.referenced,
            format!(
                "source name `{}` is not a slug: use lowercase letters, digits and `-` (it is part of the URL)",
                name.value
            ),
        ));
    }
    let kind = word::<SourceKind>(&raw.kind, "kind")?;
    let mut secrets = vec![secret(&raw.secret_env, env)?];
    if let Some(previous) = &raw.previous_secret_env {
        secrets.push(secret(previous, env)?);
    }
    let max_skew = match &raw.max_skew {
        Some(skew) => parse_duration(&skew.value)
            .map_err(|e| at(skew.referenced, format!("`max_skew`: {e}")))?,
        None => Duration::from_secs(300),
    };
    if raw.timestamp_header.is_some() && kind != SourceKind::Grafana {
        return Err(at(
            name.referenced,
            "`timestamp_header` applies to grafana sources only",
        ));
    }
    Ok(Source {
        name: raw.name.value,
        kind,
        secrets,
        timestamp_header: raw.timestamp_header,
        max_skew,
    })
}

/// The secret in the variable `name` names: present, and long enough to resist guessing.
fn secret(name: &Spanned<String>, env: &dyn Fn(&str) -> Option<String>) -> Checked<Secret> {
    let value = env(&name.value).ok_or_else(|| {
        at(
            name.referenced,
            format!(
                "the environment variable `{}` is not set: it must hold the source's secret (the file names the variable, never the secret)",
                name.value
            ),
        )
    })?;
    if value.trim().chars().count() < 16 {
        return Err(at(
            name.referenced,
            format!(
                "the secret in `{}` is shorter than 16 characters",
                name.value
            ),
        ));
    }
    Ok(Secret::from(value.trim().to_owned()))
}

fn check_route(raw: RawRoute, sources: &[Source]) -> Checked<Route> {
    let line = raw.name.referenced;
    let fail = |message: String| at(line, format!("route `{}`: {message}", raw.name.value));
    if raw.name.value.trim().is_empty() || raw.name.value.chars().count() > 100 {
        return Err(at(line, "a route needs a `name` of 1–100 characters"));
    }
    for source in &raw.sources {
        if !sources.iter().any(|s| &s.name == source) {
            return Err(fail(format!(
                "names the source `{source}`, which is not defined"
            )));
        }
    }
    let mut route = Route::catch_all(raw.name.value.trim(), RouteAction::Declare);
    route.sources = raw.sources.clone();
    for (field, value) in raw.match_eq {
        route.matchers.push(Matcher::Equals { field, value });
    }
    for (field, value) in raw.match_not {
        route.matchers.push(Matcher::NotEquals { field, value });
    }
    for (field, pattern) in raw.match_re {
        let matcher = Matcher::regex(field.clone(), &pattern.value)
            .map_err(|e| at(pattern.referenced, format!("`match_re.{field}`: {e}")))?;
        route.matchers.push(matcher);
    }
    if let Some(services) = raw.services {
        route.services = validation::services("services", services.value)
            .map_err(|e| at(services.referenced, e.to_string()))?;
    }
    route.dependencies =
        validation::services("dependencies", raw.dependencies).map_err(|e| fail(e.to_string()))?;
    if let Some(severity) = raw.severity {
        route.severity = severity_map(severity.value).map_err(|m| at(severity.referenced, m))?;
    }
    if let Some(group_by) = raw.group_by {
        if group_by.is_empty() {
            return Err(fail(
                "`group_by` is empty: name at least one field (e.g. alertname)".into(),
            ));
        }
        route.group_by = group_by;
    } else {
        route.group_by = default_group_by();
    }
    if let Some(window) = raw.group_window {
        route.group_window = Some(
            parse_duration(&window.value)
                .map_err(|e| at(window.referenced, format!("`group_window`: {e}")))?,
        );
    }
    if let Some(title) = raw.title {
        let sample = AlertEvent::new(EventAction::Trigger, "sample".into(), "Sample".into());
        render_title(&title.value, "source", &sample).map_err(|e| at(title.referenced, e))?;
        route.title = Some(title.value);
    }
    route.copy_labels = raw.copy_labels;
    if let Some(action) = raw.action {
        route.action = word::<RouteAction>(&action, "action")?;
    }
    Ok(route)
}

fn severity_map(raw: RawSeverity) -> Result<SeverityMap, String> {
    let mut map = SeverityMap::default();
    let sev = |text: &str, field: &str| {
        Severity::parse_loose(text)
            .ok_or_else(|| format!("`severity.{field}`: {}", Severity::unknown(text)))
    };
    if let Some(field) = raw.field {
        map.field = field;
    }
    for (word, severity) in raw.map {
        map.values.insert(
            word.to_ascii_lowercase(),
            sev(&severity, &format!("map.{word}"))?,
        );
    }
    let mut levels = Vec::new();
    for level in raw.levels {
        levels.push((level.min, sev(&level.severity, "levels")?));
    }
    levels.sort_by(|a, b| b.0.total_cmp(&a.0));
    map.levels = levels;
    if let Some(default) = raw.default {
        map.default = sev(&default, "default")?;
    }
    Ok(map)
}

#[cfg(test)]
mod tests;
