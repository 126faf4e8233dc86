//! Renders a postmortem to markdown through a template: the default blameless one, or the
//! operator's (`--postmortem-template`).
//!
//! minijinja is used here, in `domain`, on purpose: it is a pure library (no I/O, no clock, no
//! global state), so rendering stays a deterministic function of the incident, the postmortem
//! and the template text, testable without a database.
//!
//! The template sees:
//! - `incident`: `reference`, `title`, `severity`, `status`, `services` (list), `is_major`,
//!   `declared_at`, `resolved_at`, `closed_at` (times as `YYYY-MM-DD HH:MM UTC`, or none);
//! - `postmortem`: `status`, `version`, `facts_as_of`, `facts_incident_status`,
//!   `drafted_while_open`, `unwritten` (names of the sections still to write);
//! - `notice`: why the facts are incomplete (drafted while the incident was open), or none;
//! - `sections`: every section in document order, each with `name`, `title`, `body`
//!   (markdown), `kind` (`fact`, `seeded`, `narrative`), `origin` (`generated`, `edited`) and
//!   `needs_writing`; `section` holds the same by name (`section.summary.body`).

mod sample;

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::domain::incident::Incident;
use crate::domain::postmortem::Postmortem;
use crate::domain::postmortem::section::{Section, SectionKind};

/// The default template's source.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../../templates/postmortem.md.j2");

/// The name templates are compiled under; `.md` keeps auto-escaping off.
const TEMPLATE_NAME: &str = "postmortem.md";

/// A template that does not compile or render, with the line it failed at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct TemplateError {
    /// True for the operator's template, false for the built-in default.
    pub is_custom: bool,
    /// The 1-based template line, when known.
    pub line: Option<usize>,
    /// That line's text, trimmed.
    pub source_line: Option<String>,
    /// What went wrong.
    pub reason: String,
}

impl TemplateError {
    fn message(&self) -> String {
        let at = match (&self.line, &self.source_line) {
            (Some(line), Some(text)) => format!(" at line {line} (`{text}`)"),
            (Some(line), None) => format!(" at line {line}"),
            _ => String::new(),
        };
        if self.is_custom {
            format!(
                "the postmortem template (--postmortem-template) failed{at}: {}. Fix the template file and restart Firebreak, or remove --postmortem-template to use the default; get_postmortem with format json still works meanwhile",
                self.reason
            )
        } else {
            format!(
                "the default postmortem template failed{at}: {}",
                self.reason
            )
        }
    }

    fn new(err: &minijinja::Error, source: &str, is_custom: bool) -> TemplateError {
        let reason = match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        };
        let line = err.line();
        TemplateError {
            is_custom,
            line,
            source_line: line
                .and_then(|n| source.lines().nth(n.saturating_sub(1)))
                .map(|text| text.trim().chars().take(120).collect()),
            reason,
        }
    }
}

/// Renders `postmortem` with `template` (the default one when `None`).
pub fn render(
    template: Option<&str>,
    incident: &Incident,
    postmortem: &Postmortem,
) -> Result<String, TemplateError> {
    let source = template.unwrap_or(DEFAULT_TEMPLATE);
    let is_custom = template.is_some();
    let env = environment();
    let compiled = env
        .template_from_named_str(TEMPLATE_NAME, source)
        .map_err(|err| TemplateError::new(&err, source, is_custom))?;
    compiled
        .render(context(incident, postmortem))
        .map_err(|err| TemplateError::new(&err, source, is_custom))
}

/// Checks an operator's template by rendering it for a sample incident, so that syntax errors
/// and misspelt variables are found at start-up rather than when a responder needs it.
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    let (incident, postmortem) = sample::document();
    render(Some(template), &incident, &postmortem).map(|_| ())
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Printing an undefined value fails (a misspelt variable names its line) while `if x`
    // on an absent value still works.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env
}

fn context(incident: &Incident, postmortem: &Postmortem) -> Value {
    let sections: Vec<Value> = postmortem.sections.iter().map(section).collect();
    let by_name: Vec<(&str, Value)> = postmortem
        .sections
        .iter()
        .zip(&sections)
        .map(|(s, value)| (s.name.as_str(), value.clone()))
        .collect();
    let unwritten: Vec<Value> = postmortem
        .unwritten()
        .iter()
        .map(|name| Value::from(name.as_str()))
        .collect();
    let notice = postmortem.notice(incident);
    let services: Vec<Value> = incident
        .services
        .iter()
        .map(|s| Value::from(s.as_str()))
        .collect();
    Value::from_iter([
        (
            "incident",
            Value::from_iter([
                ("reference", Value::from(incident.reference().to_string())),
                ("title", Value::from(incident.title.as_str())),
                ("severity", Value::from(incident.severity.to_string())),
                ("status", Value::from(incident.status.as_str())),
                ("services", Value::from(services)),
                ("is_major", Value::from(incident.severity.is_major())),
                ("declared_at", Value::from(minute(incident.declared_at))),
                ("resolved_at", Value::from(incident.resolved_at.map(minute))),
                ("closed_at", Value::from(incident.closed_at.map(minute))),
            ]),
        ),
        (
            "postmortem",
            Value::from_iter([
                ("status", Value::from(postmortem.status.as_str())),
                ("version", Value::from(postmortem.version)),
                ("facts_as_of", Value::from(minute(postmortem.facts_as_of))),
                (
                    "facts_incident_status",
                    Value::from(postmortem.facts_incident_status.as_str()),
                ),
                (
                    "drafted_while_open",
                    Value::from(postmortem.is_drafted_while_open()),
                ),
                ("unwritten", Value::from(unwritten)),
            ]),
        ),
        ("notice", Value::from(notice)),
        ("sections", Value::from(sections)),
        ("section", Value::from_iter(by_name)),
    ])
}

fn section(section: &Section) -> Value {
    let kind = match section.name.kind() {
        SectionKind::Fact => "fact",
        SectionKind::Seeded => "seeded",
        SectionKind::Narrative => "narrative",
    };
    Value::from_iter([
        ("name", Value::from(section.name.as_str())),
        ("title", Value::from(section.name.title())),
        ("body", Value::from(section.body.as_str())),
        ("kind", Value::from(kind)),
        ("origin", Value::from(section.origin.as_str())),
        ("needs_writing", Value::from(section.needs_writing())),
    ])
}

fn minute(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
