//! Unit tests for `domain::validation`.

#![allow(clippy::unwrap_used, reason = "a failing test should panic")]

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Asserts the error names `field` and that its reason mentions each of `says`.
fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, ValidationError>,
    field: &str,
    says: &[&str],
) {
    let error = result.unwrap_err();
    assert_eq!(error.field, field, "{error}");
    for part in says {
        assert!(
            error.reason.contains(part),
            "`{part}` missing from: {error}"
        );
    }
}

// ── title ───────────────────────────────────────────────────────────────

#[test]
fn titles_are_trimmed_and_may_be_up_to_200_characters() {
    let cases = [
        ("Checkout down".to_owned(), "Checkout down".to_owned()),
        ("  Checkout down \t".into(), "Checkout down".into()),
        ("Checkout down\n".into(), "Checkout down".into()),
        ("x".into(), "x".into()),
        ("a".repeat(200), "a".repeat(200)),
        (format!("  {}  ", "a".repeat(200)), "a".repeat(200)),
        ("é".repeat(200), "é".repeat(200)),
    ];
    for (input, expected) in cases {
        assert_eq!(title("title", &input), Ok(expected));
    }
}

#[test]
fn titles_that_are_empty_or_too_long_are_refused_with_the_allowed_length() {
    let cases = [
        (String::new(), "(got 0)"),
        ("   \t ".into(), "(got 0)"),
        ("a".repeat(201), "(got 201)"),
        ("é".repeat(201), "(got 201)"),
    ];
    for (input, got) in cases {
        assert_refused(title("title", &input), "title", &["1–200 characters", got]);
    }
}

#[test]
fn titles_count_characters_not_bytes() {
    let accents = "é".repeat(200);
    assert_eq!(accents.len(), 400);
    assert!(title("title", &accents).is_ok());
}

#[test]
fn multi_line_titles_are_refused() {
    for input in ["line one\nline two", "line one\r\nline two", "a\rb"] {
        assert_refused(title("title", input), "title", &["single line"]);
    }
}

#[test]
fn the_title_error_uses_the_callers_field_name() {
    assert_refused(title("name", ""), "name", &[]);
}

// ── text ────────────────────────────────────────────────────────────────

#[test]
fn text_may_be_empty_or_exactly_64_kib() {
    assert_eq!(text("summary", String::new()), Ok(String::new()));
    let full = "x".repeat(64 * 1024);
    assert_eq!(text("summary", full.clone()), Ok(full));
}

#[test]
fn text_one_byte_over_64_kib_is_refused_saying_the_limit() {
    let over = "x".repeat(64 * 1024 + 1);
    assert_refused(text("summary", over), "summary", &["65537 bytes", "64 KiB"]);
}

#[test]
fn text_is_measured_in_bytes() {
    // 'é' is two bytes in UTF-8.
    assert!(text("impact", "é".repeat(32 * 1024)).is_ok());
    assert_refused(
        text("impact", "é".repeat(32 * 1024 + 1)),
        "impact",
        &["64 KiB"],
    );
}

#[test]
fn required_text_refuses_blank_text() {
    for input in ["", " ", "\n\t "] {
        assert_refused(
            required_text("note", input.into()),
            "note",
            &["must not be empty"],
        );
    }
}

#[test]
fn required_text_keeps_the_64_kib_limit() {
    assert_eq!(required_text("note", "why".into()), Ok("why".into()));
    assert!(required_text("note", "x".repeat(64 * 1024)).is_ok());
    assert_refused(
        required_text("note", "x".repeat(64 * 1024 + 1)),
        "note",
        &["64 KiB"],
    );
}

// ── services ────────────────────────────────────────────────────────────

#[test]
fn slugs_are_lowercase_letters_digits_and_inner_hyphens() {
    let cases = [
        ("checkout-api", true),
        ("db1", true),
        ("5xx-gateway", true),
        ("a", true),
        (&*"a".repeat(63), true),
        (&*"a".repeat(64), false),
        ("", false),
        ("Checkout", false),
        ("check_out", false),
        ("-checkout", false),
        ("check out", false),
        ("check.out", false),
        ("chéckout", false),
    ];
    for (value, ok) in cases {
        assert_eq!(is_slug(value), ok, "{value:?}");
    }
}

#[test]
fn services_refuse_a_bad_slug_naming_it_and_the_rule() {
    for bad in ["Checkout", "check_out", "-checkout", "", &"a".repeat(64)] {
        let values = vec!["payments".to_owned(), bad.to_owned()];
        assert_refused(
            services("services", values),
            "services",
            &[
                &format!("`{bad}`"),
                "lowercase letters, digits and `-`",
                "63 characters",
            ],
        );
    }
}

#[test]
fn services_of_63_characters_are_fine() {
    let long = "a".repeat(63);
    assert_eq!(services("services", vec![long.clone()]), Ok(vec![long]));
}

#[test]
fn at_most_20_services_are_allowed() {
    let names = |n: usize| (0..n).map(|i| format!("svc-{i}")).collect::<Vec<_>>();
    assert_eq!(services("services", names(20)).unwrap().len(), 20);
    assert_refused(
        services("services", names(21)),
        "services",
        &["21 services", "at most 20"],
    );
}

#[test]
fn duplicate_services_are_dropped_keeping_first_order() {
    let given = ["web", "api", "web", "db", "api"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        services("services", given),
        Ok(vec!["web".into(), "api".into(), "db".into()])
    );
    assert_eq!(services("services", vec![]), Ok(vec![]));
}

// ── labels ──────────────────────────────────────────────────────────────

fn one_label(key: &str, value: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(key.to_owned(), value.to_owned())])
}

#[test]
fn at_most_32_labels_are_allowed() {
    let labels_of = |n: usize| (0..n).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    assert_eq!(labels("labels", labels_of(32)).unwrap().len(), 32);
    assert_refused(
        labels("labels", labels_of(33)),
        "labels",
        &["33 labels", "at most 32"],
    );
}

#[test]
fn label_keys_may_use_letters_digits_underscore_dot_slash_hyphen() {
    for key in [
        "env",
        "Env",
        "alert_name",
        "app.kubernetes.io/name",
        "k-8",
        "9",
        &"k".repeat(63),
    ] {
        assert!(labels("labels", one_label(key, "v")).is_ok(), "{key:?}");
    }
}

#[test]
fn bad_label_keys_are_refused_under_labels_dot_key() {
    for key in ["", "bad key", "a:b", "ключ", "a=b", &"k".repeat(64)] {
        assert_refused(
            labels("labels", one_label(key, "v")),
            &format!("labels.{key}"),
            &["1–63 characters", "letters, digits, `_`, `.`, `/` or `-`"],
        );
    }
}

#[test]
fn label_values_may_be_empty_or_up_to_256_characters() {
    for value in [String::new(), "v".repeat(256), "é".repeat(256)] {
        assert!(
            labels("labels", one_label("env", &value)).is_ok(),
            "{} chars",
            value.len()
        );
    }
}

#[test]
fn label_values_over_256_characters_are_refused_under_labels_dot_key() {
    assert_refused(
        labels("labels", one_label("env", &"v".repeat(257))),
        "labels.env",
        &["256 characters"],
    );
}

// ── key / name ──────────────────────────────────────────────────────────

#[test]
fn keys_are_1_to_200_printable_characters() {
    for ok in [
        "k".to_owned(),
        "alert:checkout 5xx/eu".into(),
        "k".repeat(200),
        "é".repeat(200),
    ] {
        assert_eq!(key("dedup_key", ok.clone()), Ok(ok));
    }
    let bad = [
        String::new(),
        "k".repeat(201),
        "a\tb".into(),
        "a\nb".into(),
        "a\u{7f}b".into(),
    ];
    for value in bad {
        assert_refused(
            key("dedup_key", value),
            "dedup_key",
            &["1–200 printable characters"],
        );
    }
}

#[test]
fn optional_keys_pass_absence_through() {
    assert_eq!(optional_key("idempotency_key", None), Ok(None));
    assert_refused(
        optional_key("idempotency_key", Some(String::new())),
        "idempotency_key",
        &[],
    );
}

#[test]
fn names_are_trimmed_keys() {
    assert_eq!(name("assignee", "  alice  "), Ok("alice".into()));
    assert_refused(
        name("assignee", "   "),
        "assignee",
        &["1–200 printable characters"],
    );
    assert_eq!(optional_name("commander", None), Ok(None));
    assert_eq!(
        optional_name("commander", Some(" bob ".into())),
        Ok(Some("bob".into()))
    );
}

// ── timestamp ───────────────────────────────────────────────────────────

#[test]
fn timestamps_may_be_in_the_past_or_up_to_5_minutes_ahead() {
    let cases = [
        now() - Duration::days(400),
        now(),
        now() + Duration::minutes(5),
    ];
    for at in cases {
        assert_eq!(timestamp("occurred_at", Some(at), now()), Ok(Some(at)));
    }
    assert_eq!(timestamp("occurred_at", None, now()), Ok(None));
}

#[test]
fn timestamps_beyond_5_minutes_ahead_are_refused_with_the_server_time() {
    for ahead in [
        Duration::minutes(5) + Duration::seconds(1),
        Duration::minutes(6),
    ] {
        assert_refused(
            timestamp("occurred_at", Some(now() + ahead), now()),
            "occurred_at",
            &["in the future", &now().to_string(), "5 minutes"],
        );
    }
}

// ── limit ───────────────────────────────────────────────────────────────

#[test]
fn limits_default_when_absent_and_accept_1_to_max() {
    assert_eq!(limit("limit", None, 20, 100), Ok(20));
    assert_eq!(limit("limit", Some(1), 20, 100), Ok(1));
    assert_eq!(limit("limit", Some(100), 20, 100), Ok(100));
}

#[test]
fn limits_outside_1_to_max_are_refused_with_the_range() {
    for (n, got) in [(0, "(got 0)"), (101, "(got 101)"), (-5, "(got -5)")] {
        assert_refused(
            limit("limit", Some(n), 20, 100),
            "limit",
            &["between 1 and 100", got],
        );
    }
}

#[test]
fn blank_keys_and_titles_with_control_characters_are_refused() {
    assert_eq!(
        key("dedup_key", "   ".into()).unwrap_err().field,
        "dedup_key"
    );
    let tabbed = title("title", "a\tb").unwrap_err();
    assert!(
        tabbed.reason.contains("control characters"),
        "{}",
        tabbed.reason
    );
}

#[test]
fn duplicate_services_do_not_count_against_the_limit() {
    let mut names: Vec<String> = (0..20).map(|n| format!("svc-{n}")).collect();
    names.push("svc-0".into());
    assert_eq!(services("services", names).unwrap().len(), 20);
}
