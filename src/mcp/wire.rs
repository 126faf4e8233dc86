//! Values as callers send them, forgiving of the ways agents guess formats:
//!
//! - [`Word`]: a value of a closed vocabulary in any case, with spaces, `-` or `_` between its
//!   parts, or by an alias (`sev2`, `SEV-2`, `Sev 2`; `mitigated` for `monitoring`). Its schema
//!   lists the canonical values.
//! - [`Words`]: a list of them, or a single one where a list is expected.
//! - [`When`]: a past moment, RFC 3339 with `Z` or an offset, or relative to now (`-15m`).
//!
//! Schemas stay flat (inline enums, no `$ref`), because some clients handle references poorly.

use std::borrow::Cow;

use chrono::{DateTime, Duration, Utc};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};

use crate::app::StatusFilter;
use crate::domain::vocabulary::{Vocabulary, vocabulary};
use crate::domain::{EntryKind, Status};

/// One value of the vocabulary `T`, parsed leniently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word<T>(pub(crate) T);

impl<'de, T: Vocabulary> Deserialize<'de> for Word<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        T::parse_loose(&text)
            .map(Word)
            .ok_or_else(|| serde::de::Error::custom(T::unknown(&text)))
    }
}

impl<T: Vocabulary> JsonSchema for Word<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        T::WHAT.into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        let values: Vec<&str> = T::all().iter().map(|v| v.canonical()).collect();
        json_schema!({"type": "string", "enum": values})
    }
}

/// Several values of `T`, or one where a list is expected (`"severity": "SEV4"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Words<T>(pub(crate) Vec<T>);

impl<T> Words<Word<T>> {
    /// The values.
    pub(crate) fn values(self) -> Vec<T> {
        self.0.into_iter().map(|word| word.0).collect()
    }
}

impl Words<StatusFilterWord> {
    /// The filters.
    pub(crate) fn filters(self) -> Vec<StatusFilter> {
        self.0.into_iter().map(|word| word.0).collect()
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Words<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let one = |value: serde_json::Value| T::deserialize(value).map_err(D::Error::custom);
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Array(values) => values
                .into_iter()
                .map(one)
                .collect::<Result<_, _>>()
                .map(Words),
            value @ serde_json::Value::String(_) => one(value).map(|v| Words(vec![v])),
            other => Err(D::Error::custom(format!(
                "expected one value or a list of them, got {other}"
            ))),
        }
    }
}

impl<T: JsonSchema> JsonSchema for Words<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("{}_list", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = T::json_schema(generator);
        json_schema!({"type": ["array", "string"], "items": item})
    }
}

/// A past moment as sent: absolute (RFC 3339 with `Z` or an offset) or relative to now
/// (`-30s`, `-15m`, `-2h`, `-1d`, `-1w`, or `now`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// An absolute time.
    At(DateTime<Utc>),
    /// This long before now.
    Ago(Duration),
}

impl When {
    /// The moment, with relative times counted back from `now`.
    pub(crate) fn at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            When::At(at) => at,
            When::Ago(ago) => now - ago,
        }
    }

    /// [`When::at`] for an optional value, at the server's current time.
    pub(crate) fn resolve(when: Option<When>) -> Option<DateTime<Utc>> {
        when.map(|w| w.at(Utc::now()))
    }

    fn parse(text: &str) -> Result<When, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("now") {
            return Ok(When::Ago(Duration::zero()));
        }
        if let Some(relative) = text.strip_prefix('-') {
            return relative_duration(relative).map(When::Ago).ok_or_else(|| {
                format!("`{text}` is not a relative time: write e.g. -30s, -15m, -2h, -1d or -1w")
            });
        }
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Ok(When::At(at.with_timezone(&Utc)));
        }
        if chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok() {
            return Err(format!(
                "`{text}` has no time zone: add `Z` for UTC (e.g. {text}Z) or an offset such as +02:00"
            ));
        }
        Err(format!(
            "`{text}` is not a time: use RFC 3339 (e.g. 2026-12-01T09:30:00Z) or a relative time such as -15m"
        ))
    }
}

/// `15m`, `2h`, `1d`, `1w`, `30s`, `90min` as a duration.
fn relative_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return None,
    };
    Duration::try_seconds(number.checked_mul(seconds)?)
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        When::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for When {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "time".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string"})
    }
}

/// A coming moment as sent: absolute (RFC 3339) or relative to now (`+30m`, `30m`, `+1h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upcoming {
    /// An absolute time.
    At(DateTime<Utc>),
    /// This long after now.
    In(Duration),
}

impl Upcoming {
    /// The moment, at the server's current time, for an optional value.
    pub(crate) fn resolve(upcoming: Option<Upcoming>) -> Option<DateTime<Utc>> {
        upcoming.map(|u| match u {
            Upcoming::At(at) => at,
            Upcoming::In(after) => Utc::now() + after,
        })
    }

    fn parse(text: &str) -> Result<Upcoming, String> {
        let text = text.trim();
        let relative = text.strip_prefix('+').unwrap_or(text);
        if relative.starts_with(|c: char| c.is_ascii_digit()) && !relative.contains(['-', ':']) {
            return relative_duration(relative)
                .map(Upcoming::In)
                .ok_or_else(|| {
                    format!("`{text}` is not a relative time: write e.g. +15m, +1h or +1d")
                });
        }
        match When::parse(text) {
            Ok(When::At(at)) => Ok(Upcoming::At(at)),
            Ok(When::Ago(_)) => Err(format!(
                "`{text}` is in the past: a next update is due later, e.g. +30m or an RFC 3339 time"
            )),
            Err(_) => Err(format!(
                "`{text}` is not a time: use RFC 3339 (e.g. 2026-12-01T10:30:00Z) or a relative time such as +30m"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Upcoming {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        Upcoming::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Upcoming {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "upcoming_time".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string"})
    }
}

/// A status to filter by, or `open` (triage or any live state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusFilterWord(pub(crate) StatusFilter);

impl<'de> Deserialize<'de> for StatusFilterWord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        if text.trim().eq_ignore_ascii_case("open") {
            return Ok(StatusFilterWord(StatusFilter::Open));
        }
        Status::parse_loose(&text)
            .map(|status| StatusFilterWord(StatusFilter::Is(status)))
            .ok_or_else(|| {
                let allowed: Vec<String> = std::iter::once("open")
                    .chain(Status::ALL.iter().map(|s| s.as_str()))
                    .map(|s| format!("`{s}`"))
                    .collect();
                serde::de::Error::custom(format!(
                    "unknown status `{text}`: use one of {}",
                    allowed.join(", ")
                ))
            })
    }
}

impl JsonSchema for StatusFilterWord {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "status_filter".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        let values: Vec<&str> = std::iter::once("open")
            .chain(Status::ALL.iter().map(|s| s.as_str()))
            .collect();
        json_schema!({"type": "string", "enum": values})
    }
}

impl From<StatusFilterWord> for StatusFilter {
    fn from(word: StatusFilterWord) -> Self {
        word.0
    }
}

vocabulary! {
    /// The kinds of timeline entry a responder writes (the others are Firebreak's own).
    pub(crate) enum ManualKind ("entry kind") {
        /// A free note.
        Note = "note" | "comment",
        /// Something observed to be true (evidence).
        Finding = "finding" | "observation" | "evidence",
        /// A suspected cause, with evidence and confidence.
        Hypothesis = "hypothesis" | "theory",
        /// A decision taken, and why.
        Decision = "decision",
        /// An action taken.
        Action = "action",
    }
}

impl From<ManualKind> for EntryKind {
    fn from(kind: ManualKind) -> Self {
        match kind {
            ManualKind::Note => EntryKind::Note,
            ManualKind::Finding => EntryKind::Finding,
            ManualKind::Hypothesis => EntryKind::Hypothesis,
            ManualKind::Decision => EntryKind::Decision,
            ManualKind::Action => EntryKind::Action,
        }
    }
}

vocabulary! {
    /// How a postmortem is returned.
    #[derive(Default)]
    pub(crate) enum Format ("format") {
        /// The whole rendered document.
        #[default]
        Markdown = "markdown" | "md",
        /// Each section's text with its provenance.
        Json = "json",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::Severity;

    #[test]
    fn words_are_read_in_any_case_and_spelling() {
        for text in ["SEV2", "sev2", "SEV-2", "Sev 2", "sev_2"] {
            let word: Word<Severity> = serde_json::from_value(json!(text)).unwrap();
            assert_eq!(word.0, Severity::Sev2, "{text}");
        }
        let status: Word<Status> = serde_json::from_value(json!("Mitigated")).unwrap();
        assert_eq!(status.0, Status::Monitoring);
        let err = serde_json::from_value::<Word<Severity>>(json!("SEV9")).unwrap_err();
        assert!(err.to_string().contains("`SEV1`, `SEV2`"), "{err}");
    }

    #[test]
    fn one_value_stands_for_a_list() {
        let one: Words<Word<Severity>> = serde_json::from_value(json!("sev4")).unwrap();
        assert_eq!(one.0, vec![Word(Severity::Sev4)]);
        let many: Words<Word<Severity>> = serde_json::from_value(json!(["SEV1", "sev2"])).unwrap();
        assert_eq!(many.0.len(), 2);
        assert!(serde_json::from_value::<Words<Word<Severity>>>(json!(["SEV1", "SEV9"])).is_err());
    }

    #[test]
    fn times_are_absolute_with_a_zone_or_relative() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let cases = [
            ("2026-12-01T09:30:00Z", "2026-12-01T09:30:00+00:00"),
            ("2026-12-01T11:30:00+02:00", "2026-12-01T09:30:00+00:00"),
            ("-30m", "2026-12-01T09:30:00+00:00"),
            ("-2h", "2026-12-01T08:00:00+00:00"),
            ("-1d", "2026-11-30T10:00:00+00:00"),
            ("now", "2026-12-01T10:00:00+00:00"),
        ];
        for (text, expected) in cases {
            let when: When = serde_json::from_value(json!(text)).unwrap();
            assert_eq!(when.at(now).to_rfc3339(), expected, "{text}");
        }
        let naive = serde_json::from_value::<When>(json!("2026-12-01T09:30:00")).unwrap_err();
        assert!(naive.to_string().contains("add `Z`"), "{naive}");
        let nonsense = serde_json::from_value::<When>(json!("-3 fortnights")).unwrap_err();
        assert!(nonsense.to_string().contains("-15m"), "{nonsense}");
    }
}
