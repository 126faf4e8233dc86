//! How callers name an incident: `INC-42`, `42` or its UUID.

use std::fmt;

use uuid::Uuid;

use crate::domain::error::ValidationError;

/// A parsed reference to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentRef {
    /// By human number (`INC-42`, `42`, `#42`).
    Number(i64),
    /// By id.
    Id(Uuid),
}

impl IncidentRef {
    /// Parses `INC-42` (any case), `42`, `#42` or a UUID; `field` names the parameter in errors.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        match number_or_id(raw, "INC-") {
            Some(NumberOrId::Number(number)) => Ok(IncidentRef::Number(number)),
            Some(NumberOrId::Id(id)) => Ok(IncidentRef::Id(id)),
            None => Err(ValidationError::new(
                field,
                format!(
                    "`{raw}` is not an incident reference: use `INC-42`, `42` or the incident's UUID"
                ),
            )),
        }
    }
}

/// What a reference names: a positive human number or a UUID.
pub(crate) enum NumberOrId {
    /// `<prefix>42`, `42` or `#42`.
    Number(i64),
    /// A UUID.
    Id(Uuid),
}

/// Parses `<prefix>42` (prefix in any case, e.g. `INC-`), `42`, `#42` or a UUID; `None` for
/// anything else, including 0 and numbers beyond `i64`.
pub(crate) fn number_or_id(raw: &str, prefix: &str) -> Option<NumberOrId> {
    let text = raw.trim();
    let digits = text
        .split_at_checked(prefix.len())
        .filter(|(head, _)| head.eq_ignore_ascii_case(prefix))
        .map(|(_, rest)| rest)
        .or_else(|| text.strip_prefix('#'))
        .unwrap_or(text);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        let number = digits.parse::<i64>().ok().filter(|n| *n > 0)?;
        return Some(NumberOrId::Number(number));
    }
    Uuid::parse_str(text).ok().map(NumberOrId::Id)
}

impl fmt::Display for IncidentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IncidentRef::Number(n) => write!(f, "INC-{n}"),
            IncidentRef::Id(id) => write!(f, "{id}"),
        }
    }
}

#[cfg(test)]
mod tests;
