//! The notifications file (`serve --notifications FILE`): Firebreak's public URL, the status
//! page's components, delivery timings and the targets with their subscriptions, checked whole
//! at start with errors that name the line. Secrets (Slack and Teams URLs, signing secrets)
//! come from environment variables the file names, never from the file.
//!
//! ```yaml
//! public_url: https://firebreak.example.com   # optional: the status page's absolute links
//! incident_url: https://grafana.example.com/incidents/{reference}   # optional: links in messages
//! status_page:                                 # optional
//!   title: Example Inc. status
//!   components:
//!     - service: checkout                      # a service slug, as incidents name them
//!       name: Checkout
//!       description: Web and mobile checkout   # optional
//! delivery: {timeout: 10s, first_retry: 5s, give_up_after: 24h}   # optional, the defaults
//! targets:
//!   - name: ops-slack
//!     kind: slack                              # slack, teams, webhook
//!     url_env: OPS_SLACK_WEBHOOK_URL           # slack/teams: the URL is a secret
//!     events: [declared, status_update]        # default: all
//!     audiences: [internal, stakeholders]      # which status updates (default: all)
//!     severities: [SEV1, SEV2]                 # default: all
//!     services: [checkout]                     # default: all
//!   - name: audit-hook
//!     kind: webhook
//!     url: https://hooks.example.com/firebreak # webhook: url or url_env
//!     secret_env: AUDIT_HOOK_SECRET            # required for webhooks: whsec_…
//!     previous_secret_env: AUDIT_HOOK_SECRET_OLD   # optional, while rotating
//! ```

mod targets;

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::Target;
use crate::config::parse_duration;
use crate::domain::notification::RetryPolicy;
use crate::domain::status_page::{Component, PageConfig};
use crate::domain::validation;

/// How deliveries are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// The longest one attempt may take.
    pub timeout: Duration,
    /// When to retry and when to give up.
    pub retry: RetryPolicy,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

/// The checked file.
#[derive(Debug, Clone, Default)]
pub struct Outbound {
    /// Where Firebreak is reached from outside, without a trailing `/`.
    pub public_url: Option<String>,
    /// Where people see an incident (a URL with `{reference}` or `{number}` in it, e.g. a
    /// dashboard), for links in messages; none: messages carry no link.
    pub incident_url: Option<String>,
    /// The status page (its `public_url` is the one above).
    pub status_page: PageConfig,
    /// How deliveries are made.
    pub delivery: Delivery,
    /// The targets, in the file's order.
    pub targets: Vec<Target>,
}

impl Outbound {
    /// The target named `name`.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    public_url: Option<Spanned<String>>,
    #[serde(default)]
    incident_url: Option<Spanned<String>>,
    #[serde(default)]
    status_page: Option<RawStatusPage>,
    #[serde(default)]
    delivery: Option<RawDelivery>,
    #[serde(default)]
    targets: Vec<Spanned<targets::RawTarget>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatusPage {
    #[serde(default)]
    title: Option<Spanned<String>>,
    #[serde(default)]
    components: Vec<Spanned<RawComponent>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    service: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    description: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    #[serde(default)]
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    first_retry: Option<Spanned<String>>,
    #[serde(default)]
    give_up_after: Option<Spanned<String>>,
}

/// A refusal at `location`: `line N: message`.
fn at(location: Location, message: impl std::fmt::Display) -> String {
    match location.line() {
        0 => message.to_string(),
        line => format!("line {line}: {message}"),
    }
}

/// Reads and checks the file at `path`, taking secrets from the process's environment.
pub fn load(path: &Path) -> Result<Outbound, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    parse(&text, &|name| std::env::var(name).ok())
        .map_err(|err| format!("{}: {err}", path.display()))
}

/// Checks the file's text; `env` looks up the variables it names.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Outbound, String> {
    let raw = decode(text)?;
    let public_url = match raw.public_url {
        Some(url) => Some(
            targets::http_url(url.value.trim())
                .map(|u| u.trim_end_matches('/').to_owned())
                .map_err(|e| at(url.referenced, format!("`public_url`: {e}")))?,
        ),
        None => None,
    };
    let incident_url = match raw.incident_url {
        Some(url) => Some(incident_url(&url)?),
        None => None,
    };
    let mut status_page = match raw.status_page {
        Some(page) => status_page(page)?,
        None => PageConfig::default(),
    };
    status_page.public_url.clone_from(&public_url);
    let delivery = match raw.delivery {
        Some(delivery) => self::delivery(&delivery)?,
        None => Delivery::default(),
    };
    let mut checked: Vec<Target> = Vec::with_capacity(raw.targets.len());
    for target in raw.targets {
        let line = target.referenced;
        let target = targets::check(&target.value, env)?;
        if checked.iter().any(|t| t.name == target.name) {
            return Err(at(
                line,
                format!(
                    "target `{}` is defined twice: give each target its own name",
                    target.name
                ),
            ));
        }
        checked.push(target);
    }
    Ok(Outbound {
        public_url,
        incident_url,
        status_page,
        delivery,
        targets: checked,
    })
}

/// Checks an incident link template: an http(s) URL naming `{reference}` or `{number}`.
fn incident_url(url: &Spanned<String>) -> Result<String, String> {
    let template = url.value.trim();
    if !template.contains("{reference}") && !template.contains("{number}") {
        return Err(at(
            url.referenced,
            "`incident_url` names no incident: put `{reference}` (INC-42) or `{number}` (42) \
             in it, e.g. https://grafana.example.com/incidents/{reference}",
        ));
    }
    let example = template
        .replace("{reference}", "INC-1")
        .replace("{number}", "1");
    targets::http_url(&example).map_err(|e| at(url.referenced, format!("`incident_url`: {e}")))?;
    Ok(template.to_owned())
}

impl Outbound {
    /// The link to incident `number`, when `incident_url` is configured.
    pub fn incident_link(&self, number: i64) -> Option<String> {
        self.incident_url.as_ref().map(|template| {
            template
                .replace("{reference}", &format!("INC-{number}"))
                .replace("{number}", &number.to_string())
        })
    }
}

fn decode(text: &str) -> Result<RawFile, String> {
    crate::config::yaml::decode(text).map_err(|err| err.to_string())
}

fn status_page(raw: RawStatusPage) -> Result<PageConfig, String> {
    let mut page = PageConfig::default();
    if let Some(title) = raw.title {
        page.title = one_line(&title, "status_page.title", 100)?;
    }
    for component in raw.components {
        let line = component.referenced;
        let raw = component.value;
        let service = raw.service.value.trim();
        if !validation::is_slug(service) {
            return Err(at(
                raw.service.referenced,
                format!(
                    "`status_page.components.service`: `{service}` is not a service slug: use \
                     lowercase letters, digits and `-`, as incidents name services (e.g. `checkout-api`)"
                ),
            ));
        }
        if page.components.iter().any(|c| c.service == service) {
            return Err(at(
                line,
                format!(
                    "`status_page.components`: the service `{service}` is listed twice; each \
                     service is one component"
                ),
            ));
        }
        let name = one_line(&raw.name, "status_page.components.name", 100)?;
        let description = match raw.description {
            Some(d) => Some(one_line(&d, "status_page.components.description", 300)?),
            None => None,
        };
        page.components.push(Component {
            service: service.to_owned(),
            name,
            description,
        });
    }
    Ok(page)
}

/// Trimmed text of 1 to `max` characters on one line.
fn one_line(value: &Spanned<String>, field: &str, max: usize) -> Result<String, String> {
    let text = value.value.trim();
    if text.is_empty() || text.chars().count() > max || text.contains(['\n', '\r']) {
        return Err(at(
            value.referenced,
            format!("`{field}` must be one line of 1 to {max} characters"),
        ));
    }
    Ok(text.to_owned())
}

fn delivery(raw: &RawDelivery) -> Result<Delivery, String> {
    let mut delivery = Delivery::default();
    let secs = Duration::from_secs;
    if let Some(value) = &raw.timeout {
        delivery.timeout = duration(value, "delivery.timeout", secs(1), secs(60), "1s and 60s")?;
    }
    if let Some(value) = &raw.first_retry {
        delivery.retry.first_retry = duration(
            value,
            "delivery.first_retry",
            Duration::from_millis(100),
            secs(3600),
            "100ms and 1h",
        )?;
    }
    if let Some(value) = &raw.give_up_after {
        delivery.retry.give_up_after = duration(
            value,
            "delivery.give_up_after",
            secs(60),
            secs(7 * 24 * 3600),
            "1m and 168h (a week)",
        )?;
    }
    if delivery.retry.give_up_after < delivery.retry.first_retry {
        let line = raw
            .give_up_after
            .as_ref()
            .or(raw.first_retry.as_ref())
            .map(|v| v.referenced);
        let message = "`delivery.give_up_after` is shorter than `delivery.first_retry`: no retry \
                       would ever be made";
        return Err(match line {
            Some(line) => at(line, message),
            None => message.to_owned(),
        });
    }
    Ok(delivery)
}

fn duration(
    value: &Spanned<String>,
    field: &str,
    min: Duration,
    max: Duration,
    range: &str,
) -> Result<Duration, String> {
    let duration = parse_duration(&value.value)
        .map_err(|e| at(value.referenced, format!("`{field}`: {e}")))?;
    if duration < min || duration > max {
        return Err(at(
            value.referenced,
            format!(
                "`{field}` is {}; it must be between {range}",
                value.value.trim()
            ),
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests;
