//! The `targets` of the notifications file: kind, URL, secrets and subscription.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::at;
use crate::config::Secret;
use crate::domain::notification::{EventType, Subscription, TargetKind};
use crate::domain::validation;
use crate::domain::vocabulary::Vocabulary;
use crate::integrations::notify::{Target, WebhookSecret};

/// Longest URL accepted, in bytes.
const URL_MAX_BYTES: usize = 2048;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    name: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    url: Option<Spanned<String>>,
    #[serde(default)]
    url_env: Option<Spanned<String>>,
    #[serde(default)]
    secret_env: Option<Spanned<String>>,
    #[serde(default)]
    previous_secret_env: Option<Spanned<String>>,
    #[serde(default)]
    events: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    audiences: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    severities: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    services: Option<Spanned<Vec<Spanned<String>>>>,
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Checks one target.
pub(super) fn check(raw: &RawTarget, env: Env<'_>) -> Result<Target, String> {
    let name = raw.name.value.trim().to_owned();
    if !validation::is_slug(&name) {
        return Err(at(
            raw.name.referenced,
            format!(
                "`name`: `{name}` is not a slug: use lowercase letters, digits and `-` (e.g. \
                 `ops-slack`), at most 63 characters"
            ),
        ));
    }
    let fail = |span: &Spanned<String>, message: String| {
        at(span.referenced, format!("target `{name}`: {message}"))
    };
    let kind = TargetKind::parse_loose(&raw.kind.value).ok_or_else(|| {
        fail(
            &raw.kind,
            format!("`kind`: {}", TargetKind::unknown(&raw.kind.value)),
        )
    })?;
    let url = match (&raw.url, &raw.url_env, kind) {
        (Some(_), Some(env_name), _) => {
            return Err(fail(
                env_name,
                "give `url` or `url_env`, not both".to_owned(),
            ));
        }
        (Some(url), None, TargetKind::Slack | TargetKind::Teams) => {
            return Err(fail(
                url,
                format!(
                    "`url`: a {kind} webhook URL is a credential (whoever holds it can post): put \
                     it in an environment variable and name that with `url_env`"
                ),
            ));
        }
        (Some(url), None, TargetKind::Webhook) => {
            http_url(url.value.trim()).map_err(|e| fail(url, format!("`url`: {e}")))?
        }
        (None, Some(env_name), _) => {
            let value =
                variable(env_name, env, "the target's URL").map_err(|e| fail(env_name, e))?;
            http_url(value.trim()).map_err(|e| {
                fail(
                    env_name,
                    format!("`url_env`: the URL in {}: {e}", env_name.value),
                )
            })?
        }
        (None, None, _) => {
            return Err(fail(
                &raw.name,
                match kind {
                    TargetKind::Webhook => "needs `url` or `url_env`".to_owned(),
                    _ => format!(
                        "needs `url_env`: the environment variable holding the {kind} webhook URL"
                    ),
                },
            ));
        }
    };
    let secrets = secrets(raw, kind, env).map_err(|(span, e)| fail(span, e))?;
    let subscription = Subscription {
        events: words(raw.events.as_ref(), "events").map_err(|(l, e)| at_target(l, &name, e))?,
        audiences: words(raw.audiences.as_ref(), "audiences")
            .map_err(|(l, e)| at_target(l, &name, e))?,
        severities: words(raw.severities.as_ref(), "severities")
            .map_err(|(l, e)| at_target(l, &name, e))?,
        services: services(raw.services.as_ref()).map_err(|(l, e)| at_target(l, &name, e))?,
    };
    if !subscription.audiences.is_empty()
        && !subscription.events.is_empty()
        && !subscription.events.contains(&EventType::StatusUpdate)
        && let Some(audiences) = &raw.audiences
    {
        return Err(at_target(
            audiences.referenced,
            &name,
            "`audiences` filters status updates, but `events` leaves out `status_update`",
        ));
    }
    Ok(Target {
        name,
        kind,
        url: Secret::from(url),
        secrets,
        subscription,
    })
}

fn at_target(
    location: serde_saphyr::Location,
    name: &str,
    message: impl std::fmt::Display,
) -> String {
    at(location, format!("target `{name}`: {message}"))
}

/// The signing secrets: required for webhooks (the current one, then the previous one), refused
/// for the others.
fn secrets<'a>(
    raw: &'a RawTarget,
    kind: TargetKind,
    env: Env<'_>,
) -> Result<Vec<WebhookSecret>, (&'a Spanned<String>, String)> {
    if kind != TargetKind::Webhook {
        if let Some(span) = raw.secret_env.as_ref().or(raw.previous_secret_env.as_ref()) {
            return Err((
                span,
                format!(
                    "`secret_env` applies to webhook targets only: {kind} does not verify \
                     signatures (its URL is the credential)"
                ),
            ));
        }
        return Ok(Vec::new());
    }
    let Some(current) = &raw.secret_env else {
        return Err((
            &raw.name,
            "a webhook target needs `secret_env`: the environment variable holding its signing \
             secret (`whsec_` and base64), so receivers can verify what they get"
                .to_owned(),
        ));
    };
    let mut secrets = Vec::new();
    for span in std::iter::once(current).chain(raw.previous_secret_env.as_ref()) {
        let value = variable(span, env, "the signing secret").map_err(|e| (span, e))?;
        let secret = WebhookSecret::parse(&value)
            .map_err(|e| (span, format!("the secret in {}: {e}", span.value)))?;
        secrets.push(secret);
    }
    Ok(secrets)
}

/// The value of the variable `name` names.
fn variable(name: &Spanned<String>, env: Env<'_>, holding: &str) -> Result<String, String> {
    let variable = name.value.trim();
    match env(variable) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        Some(_) => Err(format!(
            "the environment variable {variable} is empty: it must hold {holding}"
        )),
        None => Err(format!(
            "the environment variable {variable} is not set: it must hold {holding} (the file \
             names the variable, never the secret)"
        )),
    }
}

/// `text` if it is an absolute `http` or `https` URL with a host and no credentials. The
/// refusal never repeats the URL (it may be a credential).
pub(super) fn http_url(text: &str) -> Result<String, String> {
    if text.len() > URL_MAX_BYTES {
        return Err(format!("the URL is longer than {URL_MAX_BYTES} bytes"));
    }
    let url = reqwest::Url::parse(text)
        .map_err(|e| format!("is not an absolute URL ({e}); write e.g. https://host/path"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme is `{}`; only http and https URLs are allowed",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL carries a user name or password; remove them".to_owned());
    }
    Ok(text.to_owned())
}

/// A list of vocabulary words; an explicitly empty list is refused (leave it out for all).
fn words<V: Vocabulary>(
    list: Option<&Spanned<Vec<Spanned<String>>>>,
    field: &str,
) -> Result<Vec<V>, (serde_saphyr::Location, String)> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    if list.value.is_empty() {
        return Err((
            list.referenced,
            format!("`{field}` is empty: leave it out to receive all"),
        ));
    }
    let mut out: Vec<V> = Vec::new();
    for word in &list.value {
        let value = V::parse_loose(&word.value).ok_or_else(|| {
            (
                word.referenced,
                format!("`{field}`: {}", V::unknown(&word.value)),
            )
        })?;
        if !out.iter().any(|v| v.canonical() == value.canonical()) {
            out.push(value);
        }
    }
    Ok(out)
}

fn services(
    list: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Result<Vec<String>, (serde_saphyr::Location, String)> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    if list.value.is_empty() {
        return Err((
            list.referenced,
            "`services` is empty: leave it out to receive all".to_owned(),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for service in &list.value {
        let slug = service.value.trim();
        if !validation::is_slug(slug) {
            return Err((
                service.referenced,
                format!(
                    "`services`: `{slug}` is not a service slug: use lowercase letters, digits \
                     and `-`, as incidents name services"
                ),
            ));
        }
        if !out.iter().any(|s| s == slug) {
            out.push(slug.to_owned());
        }
    }
    Ok(out)
}
