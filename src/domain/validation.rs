//! Field rules with their limits. Each function takes the wire name of the field so that its
//! error tells the caller exactly what to fix.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc};

use crate::domain::error::ValidationError;

pub mod characters;

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
    characters::line(field, trimmed)?;
    Ok(trimmed.to_owned())
}

/// A text body of at most 64 KiB; may be empty. See [`characters::free_text`] for the
/// characters it may hold.
pub fn text(field: &str, value: String) -> Result<String, ValidationError> {
    let value = characters::free_text(field, value)?;
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
    if value.chars().all(characters::is_invisible) {
        return Err(ValidationError::new(
            field,
            "has only invisible characters (zero-width or format characters); write something visible",
        ));
    }
    text(field, value)
}

/// Search words (one line, at most `max_bytes`); `None` when blank.
pub fn search_text(
    field: &str,
    value: Option<&str>,
    max_bytes: usize,
) -> Result<Option<String>, ValidationError> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.len() > max_bytes {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_bytes} bytes (got {})", text.len()),
        ));
    }
    characters::line(field, text)?;
    Ok(Some(text.to_owned()))
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
        characters::line(&format!("{field}.{key}"), value)?;
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

/// A person or team name (an assignee, a commander): trimmed, 1–200 printable characters, one
/// visible line (see [`characters::line`]).
pub fn name(field: &str, value: &str) -> Result<String, ValidationError> {
    let name = key(field, value.trim().to_owned())?;
    characters::line(field, &name)?;
    Ok(name)
}

/// An optional person name; see [`name`].
pub fn optional_name(
    field: &str,
    value: Option<String>,
) -> Result<Option<String>, ValidationError> {
    value.map(|v| name(field, &v)).transpose()
}

/// A timestamp in the plausible range ([`instant`]) that is not in the future beyond
/// [`FUTURE_SKEW`].
pub fn timestamp(
    field: &str,
    value: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ValidationError> {
    match instant(field, value)? {
        Some(at) if at > now + FUTURE_SKEW => Err(ValidationError::new(
            field,
            format!(
                "({at}) is in the future; the server time is {now} and at most 5 minutes of clock skew is allowed"
            ),
        )),
        other => Ok(other),
    }
}

/// Earliest instant accepted: 1970-01-01T00:00:00Z (nothing Firebreak records happened earlier).
pub const EARLIEST: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// A timestamp between [`EARLIEST`] and the end of year 9999 (a year 0000, say, is a typo).
pub fn instant(
    field: &str,
    value: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, ValidationError> {
    match value {
        Some(at) if at < EARLIEST || at.year() > 9999 => Err(ValidationError::new(
            field,
            format!(
                "({at}) is outside the range Firebreak accepts: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
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
