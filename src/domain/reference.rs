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
        let text = raw.trim();
        let digits = strip_inc_prefix(text)
            .or_else(|| text.strip_prefix('#'))
            .unwrap_or(text);
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            if let Ok(number) = digits.parse::<i64>()
                && number > 0
            {
                return Ok(IncidentRef::Number(number));
            }
        } else if let Ok(id) = Uuid::parse_str(text) {
            return Ok(IncidentRef::Id(id));
        }
        Err(ValidationError::new(
            field,
            format!(
                "`{raw}` is not an incident reference: use `INC-42`, `42` or the incident's UUID"
            ),
        ))
    }
}

/// `text` without a leading `INC-` in any case (`INC-`, `inc-`, `Inc-`, `iNC-` …).
fn strip_inc_prefix(text: &str) -> Option<&str> {
    let (prefix, rest) = text.split_at_checked(4)?;
    prefix.eq_ignore_ascii_case("INC-").then_some(rest)
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
