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
    if trimmed.contains(['\n', '\r']) {
        return Err(ValidationError::new(field, "must be a single line"));
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
    if values.len() > SERVICES_MAX {
        return Err(ValidationError::new(
            field,
            format!("has {} entries; at most {SERVICES_MAX} are allowed", values.len()),
        ));
    }
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
            format!("has {} labels; at most {LABELS_MAX} are allowed", values.len()),
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
                format!("is not a valid label key: use 1–{LABEL_KEY_MAX_CHARS} characters of letters, digits, `_`, `.`, `/` or `-`"),
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
    if chars == 0 || chars > KEY_MAX_CHARS || value.chars().any(char::is_control) {
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
pub fn optional_name(field: &str, value: Option<String>) -> Result<Option<String>, ValidationError> {
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
            format!("({at}) is in the future; the server time is {now} and at most 5 minutes of clock skew is allowed"),
        )),
        other => Ok(other),
    }
}

/// A page size: 1 to `max`, `default` when absent.
pub fn limit(field: &str, value: Option<i64>, default: i64, max: i64) -> Result<i64, ValidationError> {
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
#[allow(clippy::unwrap_used, reason = "a failing test should panic")]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z").unwrap().with_timezone(&Utc)
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
            assert!(error.reason.contains(part), "`{part}` missing from: {error}");
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
        assert_refused(text("impact", "é".repeat(32 * 1024 + 1)), "impact", &["64 KiB"]);
    }

    #[test]
    fn required_text_refuses_blank_text() {
        for input in ["", " ", "\n\t "] {
            assert_refused(required_text("note", input.into()), "note", &["must not be empty"]);
        }
    }

    #[test]
    fn required_text_keeps_the_64_kib_limit() {
        assert_eq!(required_text("note", "why".into()), Ok("why".into()));
        assert!(required_text("note", "x".repeat(64 * 1024)).is_ok());
        assert_refused(required_text("note", "x".repeat(64 * 1024 + 1)), "note", &["64 KiB"]);
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
                &[&format!("`{bad}`"), "lowercase letters, digits and `-`", "63 characters"],
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
        assert_refused(services("services", names(21)), "services", &["21 entries", "at most 20"]);
    }

    #[test]
    fn duplicate_services_are_dropped_keeping_first_order() {
        let given = ["web", "api", "web", "db", "api"].map(String::from).to_vec();
        assert_eq!(services("services", given), Ok(vec!["web".into(), "api".into(), "db".into()]));
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
        assert_refused(labels("labels", labels_of(33)), "labels", &["33 labels", "at most 32"]);
    }

    #[test]
    fn label_keys_may_use_letters_digits_underscore_dot_slash_hyphen() {
        for key in ["env", "Env", "alert_name", "app.kubernetes.io/name", "k-8", "9", &"k".repeat(63)] {
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
            assert!(labels("labels", one_label("env", &value)).is_ok(), "{} chars", value.len());
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
        for ok in ["k".to_owned(), "alert:checkout 5xx/eu".into(), "k".repeat(200), "é".repeat(200)] {
            assert_eq!(key("dedup_key", ok.clone()), Ok(ok));
        }
        let bad = [String::new(), "k".repeat(201), "a\tb".into(), "a\nb".into(), "a\u{7f}b".into()];
        for value in bad {
            assert_refused(key("dedup_key", value), "dedup_key", &["1–200 printable characters"]);
        }
    }

    #[test]
    fn optional_keys_pass_absence_through() {
        assert_eq!(optional_key("idempotency_key", None), Ok(None));
        assert_refused(optional_key("idempotency_key", Some(String::new())), "idempotency_key", &[]);
    }

    #[test]
    fn names_are_trimmed_keys() {
        assert_eq!(name("assignee", "  alice  "), Ok("alice".into()));
        assert_refused(name("assignee", "   "), "assignee", &["1–200 printable characters"]);
        assert_eq!(optional_name("commander", None), Ok(None));
        assert_eq!(optional_name("commander", Some(" bob ".into())), Ok(Some("bob".into())));
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
        for ahead in [Duration::minutes(5) + Duration::seconds(1), Duration::minutes(6)] {
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
            assert_refused(limit("limit", Some(n), 20, 100), "limit", &["between 1 and 100", got]);
        }
    }
}
