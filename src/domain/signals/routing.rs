//! Routes: first match wins. A route names the incident's services, maps the sender's severity
//! word, builds the group key (which alerts share an incident) and says what to do: declare,
//! attach only, or record.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use regex::Regex;

use crate::domain::incident::Severity;
use crate::domain::signals::alert::{AlertEvent, cut, one_line};
use crate::domain::vocabulary::{Vocabulary, vocabulary};

vocabulary! {
    /// What a route does with a new firing alert.
    pub enum RouteAction ("route action") {
        /// Attach it to the open incident of its group, or declare one.
        Declare = "declare",
        /// Attach it to the open incident of its group; otherwise only record it.
        Attach = "attach",
        /// Keep the alert, no incident (e.g. warnings).
        Record = "record",
    }
}

vocabulary! {
    /// What happens when every alert of an incident has resolved.
    pub enum ResolvedPolicy ("resolved policy") {
        /// A timeline entry; the responders decide.
        Note = "note",
        /// Move the incident to `monitoring`.
        Monitoring = "monitoring",
        /// Resolve the incident.
        Resolve = "resolve",
    }
}

/// How alerts are routed, and what follows from their resolution.
#[derive(Debug, Clone)]
pub struct Routing {
    /// Tried in order; the first that matches wins.
    pub routes: Vec<Route>,
    /// When every alert of an incident resolved.
    pub on_all_resolved: ResolvedPolicy,
    /// What services depend on, for change correlation (`payments → [postgres]`).
    pub dependencies: BTreeMap<String, Vec<String>>,
    /// How far before impact started a change is considered.
    pub correlation_before: Duration,
    /// How far after.
    pub correlation_after: Duration,
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            routes: Vec::new(),
            on_all_resolved: ResolvedPolicy::Note,
            dependencies: BTreeMap::new(),
            correlation_before: Duration::from_secs(2 * 3600),
            correlation_after: Duration::from_secs(10 * 60),
        }
    }
}

/// A field test: equality or a regular expression (anchored, as Alertmanager's are).
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The field equals the value.
    Equals {
        /// The field (see [`AlertEvent::field`]).
        field: String,
        /// The value.
        value: String,
    },
    /// The field matches the whole pattern.
    Regex {
        /// The field.
        field: String,
        /// The anchored pattern.
        pattern: Regex,
    },
    /// The field does not equal the value.
    NotEquals {
        /// The field.
        field: String,
        /// The value.
        value: String,
    },
}

impl Matcher {
    /// An anchored regex matcher; the error says what is wrong with the pattern.
    pub fn regex(field: String, pattern: &str) -> Result<Matcher, String> {
        let anchored = format!("^(?:{pattern})$");
        let pattern = regex::RegexBuilder::new(&anchored)
            .size_limit(1 << 20)
            .build()
            .map_err(|err| format!("`{pattern}` is not a valid regular expression: {err}"))?;
        Ok(Matcher::Regex { field, pattern })
    }

    fn matches(&self, event: &AlertEvent, source: &str) -> bool {
        let get = |field: &str| {
            if field == "source" {
                Some(source)
            } else {
                event.field(field)
            }
        };
        match self {
            Matcher::Equals { field, value } => get(field) == Some(value.as_str()),
            Matcher::NotEquals { field, value } => get(field) != Some(value.as_str()),
            Matcher::Regex { field, pattern } => get(field).is_some_and(|v| pattern.is_match(v)),
        }
    }
}

/// Maps the sender's severity word (or number) to a Firebreak severity.
#[derive(Debug, Clone)]
pub struct SeverityMap {
    /// The field holding it (default `severity`).
    pub field: String,
    /// Words, folded to lowercase.
    pub values: BTreeMap<String, Severity>,
    /// Numeric thresholds, highest first: the first whose minimum the value reaches wins
    /// (Wazuh rule levels).
    pub levels: Vec<(f64, Severity)>,
    /// When nothing maps.
    pub default: Severity,
}

impl Default for SeverityMap {
    /// `critical` SEV1, `error`/`high` SEV2, `warning` SEV3, `info` SEV4, `SEVn` itself, else SEV3.
    fn default() -> Self {
        let values = [
            ("critical", Severity::Sev1),
            ("error", Severity::Sev2),
            ("high", Severity::Sev2),
            ("warning", Severity::Sev3),
            ("warn", Severity::Sev3),
            ("info", Severity::Sev4),
            ("low", Severity::Sev4),
            ("p1", Severity::Sev1),
            ("p2", Severity::Sev2),
            ("p3", Severity::Sev3),
            ("p4", Severity::Sev4),
            ("p5", Severity::Sev5),
        ];
        SeverityMap {
            field: "severity".into(),
            values: values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            levels: Vec::new(),
            default: Severity::Sev3,
        }
    }
}

impl SeverityMap {
    /// The severity for `event`, and the words that say why.
    pub fn map(&self, event: &AlertEvent) -> (Severity, String) {
        let Some(raw) = event.field(&self.field) else {
            return (self.default, format!("no `{}`: default", self.field));
        };
        let folded = raw.trim().to_ascii_lowercase();
        if let Some(severity) = self.values.get(&folded) {
            return (*severity, format!("{}={raw}", self.field));
        }
        if let Ok(level) = folded.parse::<f64>()
            && let Some((_, severity)) = self.levels.iter().find(|(min, _)| level >= *min)
        {
            return (*severity, format!("{}={raw}", self.field));
        }
        if let Some(severity) = Severity::parse_loose(raw) {
            return (severity, format!("{}={raw}", self.field));
        }
        (
            self.default,
            format!("{}={raw} unmapped: default", self.field),
        )
    }
}

/// One route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Its name, quoted in the ledger.
    pub name: String,
    /// Sources it applies to (empty: all).
    pub sources: Vec<String>,
    /// Every matcher must match.
    pub matchers: Vec<Matcher>,
    /// The incident's services (empty: the alert's `service` label or the services it names).
    pub services: Vec<String>,
    /// What those services depend on.
    pub dependencies: Vec<String>,
    /// The severity mapping.
    pub severity: SeverityMap,
    /// The fields whose values form the group key.
    pub group_by: Vec<String>,
    /// An alert joins its group's open incident only if the group's last alert is this recent
    /// (none: while the incident is open).
    pub group_window: Option<Duration>,
    /// A minijinja template for the incident's title (`{{ labels.alertname }} on …`).
    pub title: Option<String>,
    /// Labels copied from the alert to the incident (besides `alertname`).
    pub copy_labels: Vec<String>,
    /// What to do.
    pub action: RouteAction,
}

impl Route {
    /// A route named `name` matching everything, declaring, with the default grouping.
    pub fn catch_all(name: &str, action: RouteAction) -> Route {
        Route {
            name: name.to_owned(),
            sources: Vec::new(),
            matchers: Vec::new(),
            services: Vec::new(),
            dependencies: Vec::new(),
            severity: SeverityMap::default(),
            group_by: default_group_by(),
            group_window: None,
            title: None,
            copy_labels: Vec::new(),
            action,
        }
    }

    fn matches(&self, event: &AlertEvent, source: &str) -> bool {
        (self.sources.is_empty() || self.sources.iter().any(|s| s == source))
            && self.matchers.iter().all(|m| m.matches(event, source))
    }
}

/// The default `group_by`: source, alertname and service.
pub fn default_group_by() -> Vec<String> {
    ["source", "alertname", "service"]
        .into_iter()
        .map(String::from)
        .collect()
}

/// What routing made of one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    /// The route that matched; `None` when none did (the alert is recorded only).
    pub route: Option<String>,
    /// What to do.
    pub action: RouteAction,
    /// Which alerts share an incident: `alertname=HighErrorRate,service=payments`.
    pub group_key: String,
    /// The group window, if any.
    pub group_window: Option<Duration>,
    /// The incident's severity, and why.
    pub severity: Severity,
    /// Why that severity.
    pub severity_reason: String,
    /// The incident's services.
    pub services: Vec<String>,
    /// What they depend on.
    pub dependencies: Vec<String>,
    /// The incident's title.
    pub title: String,
    /// The incident's labels.
    pub labels: BTreeMap<String, String>,
}

impl Routing {
    /// Routes `event` from `source`: the first matching route decides; with none, the alert is
    /// recorded.
    pub fn route(&self, source: &str, event: &AlertEvent) -> Routed {
        let route = self.routes.iter().find(|r| r.matches(event, source));
        let fallback;
        let (name, route) = match route {
            Some(route) => (Some(route.name.clone()), route),
            None => {
                fallback = Route::catch_all("", RouteAction::Record);
                (None, &fallback)
            }
        };
        let (severity, severity_reason) = route.severity.map(event);
        let services = if route.services.is_empty() {
            event
                .field("service")
                .map(|s| vec![s.to_ascii_lowercase()])
                .filter(|s| crate::domain::validation::is_slug(&s[0]))
                .unwrap_or_else(|| event.services.clone())
        } else {
            route.services.clone()
        };
        let mut dependencies = route.dependencies.clone();
        for service in services.iter().chain(&event.dependencies) {
            for dep in self.dependencies.get(service).into_iter().flatten() {
                if !dependencies.contains(dep) {
                    dependencies.push(dep.clone());
                }
            }
        }
        for dep in &event.dependencies {
            if !dependencies.contains(dep) {
                dependencies.push(dep.clone());
            }
        }
        Routed {
            route: name,
            action: route.action,
            group_key: group_key(&route.group_by, source, event),
            group_window: route.group_window,
            severity,
            severity_reason,
            title: title(route.title.as_deref(), source, event),
            labels: incident_labels(&route.copy_labels, event),
            services,
            dependencies,
        }
    }
}

/// `alertname=HighErrorRate,service=payments`: the `group_by` fields the alert has, in order.
fn group_key(group_by: &[String], source: &str, event: &AlertEvent) -> String {
    let mut parts = Vec::new();
    let mut alert_fields = 0;
    for field in group_by {
        let value = if field == "source" {
            Some(source)
        } else {
            event.field(field)
        };
        if let Some(value) = value {
            parts.push(format!("{field}={value}"));
            alert_fields += usize::from(field != "source");
        }
    }
    if alert_fields == 0 {
        // No field of the alert itself to group on: the alert is its own group (never one
        // key shared by every alert of the source).
        parts.push(format!("key={}", event.key));
    }
    cut(&parts.join(","), 1000)
}

/// The incident's title: the route's template rendered, else the alert's title.
fn title(template: Option<&str>, source: &str, event: &AlertEvent) -> String {
    let rendered = template.and_then(|t| render_title(t, source, event).ok());
    let title = rendered
        .map(|t| one_line(&t))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| event.title.clone());
    cut(&title, 200)
}

/// Renders a title template; the error says what is wrong (for `alerting check`).
pub fn render_title(template: &str, source: &str, event: &AlertEvent) -> Result<String, String> {
    let env = minijinja::Environment::new();
    let context = minijinja::context! {
        title => &event.title,
        source => source,
        key => &event.key,
        severity => &event.severity,
        labels => &event.labels,
        annotations => &event.annotations,
    };
    env.render_str(template, context)
        .map_err(|err| format!("the title template does not render: {err}"))
}

/// `alertname`, `service` and the route's `copy_labels`, as incident labels (only keys and
/// values the incident accepts).
fn incident_labels(copy: &[String], event: &AlertEvent) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let wanted = ["alertname".to_owned(), "service".to_owned()];
    for name in wanted.iter().chain(copy) {
        if let Some(value) = event.field(name)
            && crate::domain::validation::labels("labels", [(name.clone(), cut(value, 256))].into())
                .is_ok()
            && labels.len() < 32
        {
            labels.insert(name.clone(), cut(value, 256));
        }
    }
    labels
}

impl fmt::Display for Routed {
    /// `route payments-critical, group {alertname=HighErrorRate, service=payments}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.route {
            Some(route) => write!(f, "route {route}")?,
            None => f.write_str("no route matched")?,
        }
        write!(f, ", group {{{}}}", self.group_key.replace(',', ", "))
    }
}

#[cfg(test)]
mod tests;
