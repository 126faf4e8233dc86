//! The YAML front matter of a runbook, read with serde-saphyr into a closed set of fields and
//! checked field by field. Every error names the line of the file it comes from.

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use crate::domain::Severity;
use crate::domain::ValidationError;
use crate::domain::runbook::ParseError;
use crate::domain::validation;

/// Most alert names a runbook may answer.
const ALERTS_MAX: usize = 20;
/// Longest alert name.
pub(super) const ALERT_MAX_CHARS: usize = 200;
/// Most tags.
const TAGS_MAX: usize = 20;

/// What a runbook is about and when it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatter {
    /// Stable key: a lowercase slug (`high-error-rate`), at most 63 characters.
    pub slug: String,
    /// One line, 1–200 characters.
    pub title: String,
    /// Services it applies to (slugs), at most 20.
    pub services: Vec<String>,
    /// Alert names it answers (`HighErrorRate`), at most 20.
    pub alerts: Vec<String>,
    /// Free tags (slugs), at most 20.
    pub tags: Vec<String>,
    /// The severity incidents it answers usually have.
    pub severity_hint: Option<Severity>,
}

/// The fields as written; unknown fields are refused so a typo never goes unnoticed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    slug: Spanned<String>,
    title: Spanned<String>,
    #[serde(default)]
    services: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    alerts: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    tags: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    severity_hint: Option<Spanned<String>>,
}

impl FrontMatter {
    /// Parses the YAML that starts on line `first_line` of the file.
    pub(super) fn parse(yaml: &str, first_line: u64) -> Result<FrontMatter, ParseError> {
        let at = |location: Location| first_line + location.line().max(1) - 1;
        let options = serde_saphyr::options! { with_snippet: false };
        // The path tracker names the field of a wrongly typed value; serde-saphyr gives the line.
        let mut path = String::new();
        let raw = serde_saphyr::with_deserializer_from_str_with_options(yaml, options, |de| {
            serde_path_to_error::deserialize::<_, Raw>(de).map_err(|err| {
                path = err.path().to_string();
                err.into_inner()
            })
        })
        .map_err(|err| {
            let reason = yaml_reason(&err);
            // A missing field has no line of its own: point at the opening `---`.
            let line = match err.location() {
                Some(location) if !reason.starts_with("missing field") => at(location),
                _ => first_line.saturating_sub(1).max(1),
            };
            let field = path.split('.').next().unwrap_or_default();
            let located = if field.is_empty() || field == "?" || reason.contains(field) {
                reason
            } else {
                format!("`{field}`: {reason}")
            };
            ParseError::new(line, format!("front matter: {located}"))
        })?;
        let invalid = |location: Location, err: ValidationError| {
            ParseError::new(at(location), format!("front matter: {err}"))
        };
        let slug = &raw.slug;
        if !validation::is_slug(&slug.value) {
            return Err(ParseError::new(
                at(slug.referenced),
                format!(
                    "front matter: `slug` is `{}`; use lowercase letters, digits and `-` \
                     (e.g. `high-error-rate`), at most 63 characters",
                    slug.value
                ),
            ));
        }
        let title = validation::title("title", &raw.title.value)
            .map_err(|err| invalid(raw.title.referenced, err))?;
        let services = match raw.services {
            Some(list) => validation::services("services", list.value)
                .map_err(|err| invalid(list.referenced, err))?,
            None => Vec::new(),
        };
        let alerts = match raw.alerts {
            Some(list) => alerts(list.value).map_err(|err| invalid(list.referenced, err))?,
            None => Vec::new(),
        };
        let tags = match raw.tags {
            Some(list) => tags(list.value).map_err(|err| invalid(list.referenced, err))?,
            None => Vec::new(),
        };
        let severity_hint = match raw.severity_hint {
            Some(hint) => Some(hint.value.parse::<Severity>().map_err(|_| {
                ParseError::new(
                    at(hint.referenced),
                    format!(
                        "front matter: `severity_hint` is `{}`; use SEV1 (worst) to SEV5",
                        hint.value
                    ),
                )
            })?),
            None => None,
        };
        Ok(FrontMatter {
            slug: raw.slug.value,
            title,
            services,
            alerts,
            tags,
            severity_hint,
        })
    }
}

/// serde-saphyr's message without its location suffix (the line is reported separately).
fn yaml_reason(err: &serde_saphyr::Error) -> String {
    let message = err.without_snippet().to_string();
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message,
    }
}

/// Alert names: 1–200 printable characters each, at most 20, duplicates dropped.
fn alerts(values: Vec<String>) -> Result<Vec<String>, ValidationError> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let value = value.trim().to_owned();
        let chars = value.chars().count();
        if chars == 0 || chars > ALERT_MAX_CHARS || value.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "alerts",
                format!(
                    "contains `{value}`; an alert name is 1–{ALERT_MAX_CHARS} printable characters (e.g. `HighErrorRate`)"
                ),
            ));
        }
        if !out.iter().any(|known| known.eq_ignore_ascii_case(&value)) {
            out.push(value);
        }
    }
    bounded("alerts", out, ALERTS_MAX)
}

/// Tags: slugs, at most 20, duplicates dropped.
fn tags(values: Vec<String>) -> Result<Vec<String>, ValidationError> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        if !validation::is_slug(&value) {
            return Err(ValidationError::new(
                "tags",
                format!(
                    "contains `{value}`, which is not a slug: use lowercase letters, digits and `-`"
                ),
            ));
        }
        if !out.contains(&value) {
            out.push(value);
        }
    }
    bounded("tags", out, TAGS_MAX)
}

fn bounded(field: &str, values: Vec<String>, max: usize) -> Result<Vec<String>, ValidationError> {
    if values.len() > max {
        return Err(ValidationError::new(
            field,
            format!("has {} entries; at most {max} are allowed", values.len()),
        ));
    }
    Ok(values)
}
