//! Field rules with their limits. Each function takes the wire name of the field so that its
//! error tells the caller exactly what to fix.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::domain::error::ValidationError;

/// Longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest text body (summary, impact, notes), in bytes: 64 KiB.
pub const TEXT_MAX_BYTES: usize = 64 * 1024;
/// Most services per incident.
pub const SERVICES_MAX: usize = 20;
/// Longest service slug.
pub const SERVICE_MAX_CHARS: usize = 63;
/// Most labels per incident.
pub const LABELS_MAX: usize = 32;
/// Longest label key.
pub const LABEL_KEY_MAX_CHARS: usize = 63;
/// Longest label value.
pub const LABEL_VALUE_MAX_CHARS: usize = 256;
/// Longest key (idempotency, dedup) or person name.
pub const KEY_MAX_CHARS: usize = 200;
/// How far into the future a timestamp may be (clock skew between machines).
pub const FUTURE_SKEW: Duration = Duration::minutes(5);

/// A title: trimmed, 1–200 characters, one line.
pub fn title(field: &str, value: &str) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > TITLE_MAX_CHARS {
        return Err(ValidationError::new(
            field,
            format!("must be 1–{TITLE_MAX_CHARS} characters (got {chars})"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must be a single line without control characters (tabs, line breaks)",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A text body of at most 64 KiB; may be empty.
pub fn text(field: &str, value: String) -> Result<String, ValidationError> {
    if value.len() > TEXT_MAX_BYTES {
        return Err(ValidationError::new(
            field,
            format!(
                "is {} bytes; at most {TEXT_MAX_BYTES} bytes (64 KiB) are allowed: shorten it or link to the full text",
                value.len()
            ),
        ));
    }
    Ok(value)
}

/// A text body that must say something.
pub fn required_text(field: &str, value: String) -> Result<String, ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    text(field, value)
}

/// Service names: lowercase slugs (`a-z`, `0-9`, `-`, starting with a letter or digit),
/// at most 63 characters each and 20 in all; duplicates are dropped.
pub fn services(field: &str, values: Vec<String>) -> Result<Vec<String>, ValidationError> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        if !is_slug(&value) {
            return Err(ValidationError::new(
                field,
                format!(
                    "contains `{value}`, which is not a service slug: use lowercase letters, digits and `-` (e.g. `checkout-api`), at most {SERVICE_MAX_CHARS} characters"
                ),
            ));
        }
        if !out.contains(&value) {
            out.push(value);
        }
    }
    if out.len() > SERVICES_MAX {
        return Err(ValidationError::new(
            field,
            format!(
                "has {} services; at most {SERVICES_MAX} are allowed",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// Whether `value` is a slug: `[a-z0-9][a-z0-9-]*`, at most 63 characters.
pub fn is_slug(value: &str) -> bool {
    let mut chars = value.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && value.len() <= SERVICE_MAX_CHARS
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Labels: at most 32; keys 1–63 characters of `A-Z a-z 0-9 _ . / -`; values at most 256 characters.
pub fn labels(
    field: &str,
    values: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ValidationError> {
    if values.len() > LABELS_MAX {
        return Err(ValidationError::new(
            field,
            format!(
                "has {} labels; at most {LABELS_MAX} are allowed",
                values.len()
            ),
        ));
    }
    for (key, value) in &values {
        let key_ok = !key.is_empty()
            && key.chars().count() <= LABEL_KEY_MAX_CHARS
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'));
        if !key_ok {
            return Err(ValidationError::new(
                format!("{field}.{key}"),
                format!(
                    "is not a valid label key: use 1–{LABEL_KEY_MAX_CHARS} characters of letters, digits, `_`, `.`, `/` or `-`"
                ),
            ));
        }
        if value.chars().count() > LABEL_VALUE_MAX_CHARS {
            return Err(ValidationError::new(
                format!("{field}.{key}"),
                format!("value is longer than {LABEL_VALUE_MAX_CHARS} characters"),
            ));
        }
    }
    Ok(values)
}

/// A key such as an idempotency or dedup key: 1–200 printable characters.
pub fn key(field: &str, value: String) -> Result<String, ValidationError> {
    let chars = value.chars().count();
    let is_blank = value.trim().is_empty();
    if is_blank || chars > KEY_MAX_CHARS || value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            format!("must be 1–{KEY_MAX_CHARS} printable characters (got {chars})"),
        ));
    }
    Ok(value)
}

/// An optional key; see [`key`].
pub fn optional_key(field: &str, value: Option<String>) -> Result<Option<String>, ValidationError> {
    value.map(|v| key(field, v)).transpose()
}

/// A person or team name (an assignee, a commander): trimmed, 1–200 printable characters.
pub fn name(field: &str, value: &str) -> Result<String, ValidationError> {
    key(field, value.trim().to_owned())
}

/// An optional person name; see [`name`].
pub fn optional_name(
    field: &str,
    value: Option<String>,
) -> Result<Option<String>, ValidationError> {
    value.map(|v| name(field, &v)).transpose()
}

/// A timestamp that is not in the future beyond [`FUTURE_SKEW`].
pub fn timestamp(
    field: &str,
    value: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ValidationError> {
    match value {
        Some(at) if at > now + FUTURE_SKEW => Err(ValidationError::new(
            field,
            format!(
                "({at}) is in the future; the server time is {now} and at most 5 minutes of clock skew is allowed"
            ),
        )),
        other => Ok(other),
    }
}

/// A page size: 1 to `max`, `default` when absent.
pub fn limit(
    field: &str,
    value: Option<i64>,
    default: i64,
    max: i64,
) -> Result<i64, ValidationError> {
    match value {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ValidationError::new(
            field,
            format!("must be between 1 and {max} (got {n})"),
        )),
    }
}

#[cfg(test)]
mod tests;
