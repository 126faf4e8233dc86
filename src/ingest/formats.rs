//! Payload formats, accepted as their senders send them and translated to alert and change
//! events. A payload that is not in its source's format is refused naming the field.

mod alertmanager;
mod events_v2;
mod generic;
mod github;

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::domain::signals::{AlertEvent, NewChange};
use crate::ingest::config::SourceKind;

pub use events_v2::{EventsV2, routing_key_of};

/// What a payload carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Alert events, in payload order.
    Alerts(Vec<AlertEvent>),
    /// Changes.
    Changes(Vec<NewChange>),
    /// Nothing to apply (a GitHub `ping`, a push to another branch), and why.
    Ignored(String),
}

/// A payload not in the expected format: the field at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// The field, as a path (`alerts[2].fingerprint`); empty for the body as a whole.
    pub field: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

impl FormatError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FormatError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "`{}` {}", self.field, self.reason)
        }
    }
}

/// What a request says besides its body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Envelope<'a> {
    /// GitHub's `X-GitHub-Event`.
    pub github_event: Option<&'a str>,
}

/// Translates a body of `kind` (Events v2 bodies go through [`EventsV2`] instead, since their
/// routing key picks the source).
pub fn parse(kind: SourceKind, body: &[u8], envelope: Envelope<'_>) -> Result<Parsed, FormatError> {
    match kind {
        SourceKind::Alertmanager => alertmanager::parse(body, "4").map(Parsed::Alerts),
        SourceKind::Grafana => alertmanager::parse(body, "1").map(Parsed::Alerts),
        SourceKind::EventsV2 => EventsV2::parse(body).map(EventsV2::into_parsed),
        SourceKind::Github => github::parse(envelope.github_event, body),
        SourceKind::Generic => generic::parse(body),
    }
}

/// Deserialises JSON, naming the path of a field of the wrong shape.
fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, FormatError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return FormatError::new("", format!("the body is not JSON: {inner}"));
        }
        let path = if path == "." { String::new() } else { path };
        FormatError::new(path, strip_position(&inner.to_string()))
    })
}

/// `serde_json`'s message without `at line 1 column 52`.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message.to_owned(),
    }
}

/// The first 32 hex characters of the SHA-256 of `bytes`: a stable identity for payloads
/// that carry none, so a sender's retry is the same event.
fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A JSON scalar as label text (strings as they are, numbers and booleans printed).
fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `text` lowercased with runs of other characters made `-`: a repository name as a service.
fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(63).collect()
}
