//! Unit tests for `domain::reference`.

#![allow(clippy::unwrap_used, reason = "a failing test should panic")]

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
        assert_eq!(
            IncidentRef::parse("incident", raw),
            Ok(IncidentRef::Number(number)),
            "{raw:?}"
        );
    }
}

#[test]
fn uuids_are_accepted_in_any_case() {
    let id = Uuid::parse_str(UUID).unwrap();
    for raw in [UUID.to_owned(), UUID.to_uppercase(), format!("  {UUID} ")] {
        assert_eq!(
            IncidentRef::parse("incident", &raw),
            Ok(IncidentRef::Id(id)),
            "{raw:?}"
        );
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
        assert!(
            error
                .reason
                .contains("`INC-42`, `42` or the incident's UUID"),
            "{error}"
        );
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
