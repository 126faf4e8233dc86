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
            if let Ok(number) = digits.parse::<i64>() {
                if number > 0 {
                    return Ok(IncidentRef::Number(number));
                }
            }
        } else if let Ok(id) = Uuid::parse_str(text) {
            return Ok(IncidentRef::Id(id));
        }
        Err(ValidationError::new(
            field,
            format!("`{raw}` is not an incident reference: use `INC-42`, `42` or the incident's UUID"),
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
#[allow(clippy::unwrap_used, reason = "a failing test should panic")]
mod tests {
    use super::*;

    const UUID: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

    #[test]
    fn numbers_are_accepted_in_every_spelling_people_use() {
        let cases = [
            ("INC-42", 42),
            ("inc-42", 42),
            ("Inc-42", 42),
            ("iNc-42", 42),
            ("42", 42),
            ("#42", 42),
            (" 42 ", 42),
            ("\tINC-7\n", 7),
            ("INC-007", 7),
            ("9223372036854775807", i64::MAX),
        ];
        for (raw, number) in cases {
            assert_eq!(IncidentRef::parse("incident", raw), Ok(IncidentRef::Number(number)), "{raw:?}");
        }
    }

    #[test]
    fn uuids_are_accepted_in_any_case() {
        let id = Uuid::parse_str(UUID).unwrap();
        for raw in [UUID.to_owned(), UUID.to_uppercase(), format!("  {UUID} ")] {
            assert_eq!(IncidentRef::parse("incident", &raw), Ok(IncidentRef::Id(id)), "{raw:?}");
        }
    }

    #[test]
    fn anything_else_is_refused_saying_what_is_accepted() {
        let refused = [
            "INC-",
            "INC-0",
            "INC--1",
            "INC-4x",
            "INC 42",
            "-1",
            "0",
            "+42",
            "4 2",
            "#",
            "##42",
            "abc",
            "",
            "   ",
            "9223372036854775808",
            "99999999999999999999999",
            "0190a1b2-c3d4-7e5f-8a9b",
        ];
        for raw in refused {
            let error = IncidentRef::parse("incident", raw).unwrap_err();
            assert_eq!(error.field, "incident");
            assert!(error.reason.contains(&format!("`{raw}`")), "{error}");
            assert!(error.reason.contains("`INC-42`, `42` or the incident's UUID"), "{error}");
        }
    }

    #[test]
    fn the_error_uses_the_callers_field_name() {
        let error = IncidentRef::parse("merged_into", "INC-").unwrap_err();
        assert_eq!(error.field, "merged_into");
    }

    #[test]
    fn references_display_as_inc_n_or_the_uuid_and_parse_back() {
        let id = Uuid::parse_str(UUID).unwrap();
        for (reference, shown) in [
            (IncidentRef::Number(42), "INC-42".to_owned()),
            (IncidentRef::Id(id), UUID.to_owned()),
        ] {
            assert_eq!(reference.to_string(), shown);
            assert_eq!(IncidentRef::parse("incident", &shown), Ok(reference));
        }
    }
}
