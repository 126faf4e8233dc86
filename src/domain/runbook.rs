//! Runbooks as code: markdown files with YAML front matter, parsed into metadata, sections and
//! numbered steps; and the record of a step taken during an incident.
//!
//! ```markdown
//! ---
//! slug: high-error-rate
//! title: High error rate on an HTTP service
//! services: [checkout-api]
//! alerts: [HighErrorRate]
//! tags: [http, errors]
//! severity_hint: SEV2
//! ---
//! ## Meaning
//! The share of 5xx answers is above the SLO threshold.
//!
//! ## Diagnosis
//! 1. [diagnostic] Check the error rate per route on the service dashboard.
//!
//! ## Mitigation
//! 2. [risky] Roll back the last deploy.
//! ```
//!
//! - **Sections** are the level-2 headings (`## Meaning`, `## Impact`, `## Diagnosis`,
//!   `## Mitigation`, and any others the author adds).
//! - **Steps** are the items of top-level ordered lists, numbered 1, 2, 3 … through the whole
//!   document (the numbers written in the file are not used).
//! - A step starting with `[diagnostic]` is read-only; `[risky]` changes production. A step
//!   without a marker counts as **risky**: nothing runs unapproved just because its author
//!   forgot to say it was safe.

mod body;
mod front_matter;
mod search;
mod step;

pub use body::{Body, Section, Step, StepKind};
pub use front_matter::FrontMatter;
pub use search::{ALERT_WEIGHT, Criteria, RunbookMatch, SERVICE_WEIGHT};
pub use step::{StepOutcome, StepRecord, StepTaken};

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use pulldown_cmark::{Event, MetadataBlockKind, Options, Parser, Tag, TagEnd};
use sha2::{Digest, Sha256};

/// Largest runbook document, in bytes: 1 MiB.
pub const DOCUMENT_MAX_BYTES: usize = 1024 * 1024;

/// Why a runbook file is not valid: the 1-based line in the file and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// The line in the file (1-based) where the problem is.
    pub line: u64,
    /// What is wrong and what is allowed.
    pub reason: String,
}

impl ParseError {
    pub(crate) fn new(line: u64, reason: impl Into<String>) -> Self {
        ParseError {
            line,
            reason: reason.into(),
        }
    }
}

/// A runbook file that passed every rule: its front matter and its parsed body.
#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    /// Slug, title, services, alerts, tags and severity hint.
    pub meta: FrontMatter,
    /// Sections and steps.
    pub body: Body,
}

impl Runbook {
    /// Parses a runbook file: front matter is required and checked field by field, and the body
    /// must have at least one step.
    pub fn parse(markdown: &str) -> Result<Runbook, ParseError> {
        check_characters(markdown)?;
        let split = split(markdown)?;
        let Some((yaml, yaml_line)) = split.front_matter else {
            return Err(ParseError::new(
                1,
                "has no front matter: start the file with a `---` line, the YAML fields \
                 (slug, title, services, alerts, tags, severity_hint), then another `---` line",
            ));
        };
        let meta = FrontMatter::parse(&yaml, yaml_line)?;
        let body = Body::parse(split.body, split.body_line);
        if body.steps.is_empty() {
            return Err(ParseError::new(
                split.body_line,
                "has no steps: write them as an ordered list (`1. [diagnostic] Check …`)",
            ));
        }
        Ok(Runbook { meta, body })
    }
}

/// A fetched document: parsed like a runbook file when it has valid front matter, otherwise
/// taken as plain markdown (its steps are still parsed).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteRunbook {
    /// The front matter, when present and valid.
    pub meta: Option<FrontMatter>,
    /// Why the front matter was not used, when it was present but invalid.
    pub meta_error: Option<ParseError>,
    /// Sections and steps.
    pub body: Body,
}

impl RemoteRunbook {
    /// Parses fetched markdown leniently: invalid front matter is reported, not fatal.
    pub fn parse(markdown: &str) -> RemoteRunbook {
        match split(markdown) {
            Ok(split) => {
                let (meta, meta_error) = match split.front_matter {
                    Some((yaml, line)) => match FrontMatter::parse(&yaml, line) {
                        Ok(meta) => (Some(meta), None),
                        Err(err) => (None, Some(err)),
                    },
                    None => (None, None),
                };
                RemoteRunbook {
                    meta,
                    meta_error,
                    body: Body::parse(split.body, split.body_line),
                }
            }
            Err(err) => RemoteRunbook {
                meta: None,
                meta_error: Some(err),
                body: Body::parse(markdown, 1),
            },
        }
    }
}

/// A runbook version as stored: its parsed content, where it came from and its full markdown.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRunbook {
    /// This version's front matter, sections and steps.
    pub runbook: Runbook,
    /// Version number: 1 for the first load, +1 for each changed content.
    pub version: i64,
    /// The newest version; differs from `version` when an older version was asked for.
    pub latest_version: i64,
    /// SHA-256 of the markdown, in hex.
    pub content_hash: String,
    /// The whole file, front matter included.
    pub markdown: String,
    /// The file it was loaded from, relative to the synced folder.
    pub source_path: String,
    /// When this version was loaded.
    pub loaded_at: DateTime<Utc>,
    /// When its file disappeared from the folder; archived runbooks are not found by search
    /// but still resolve for incidents that used them.
    pub archived_at: Option<DateTime<Utc>>,
}

/// A remote runbook as cached: the document and the validators its host gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedRunbook {
    /// The URL it was asked for by (without fragment).
    pub url: String,
    /// The document.
    pub markdown: String,
    /// SHA-256 of the document, hex.
    pub content_hash: String,
    /// The host's `ETag`, if it sent one.
    pub etag: Option<String>,
    /// The host's `Last-Modified`, if it sent one.
    pub last_modified: Option<String>,
    /// The last time the host confirmed this content (a full answer or a 304).
    pub fetched_at: DateTime<Utc>,
    /// The last time the content changed.
    pub changed_at: DateTime<Utc>,
}

/// A short description of an active runbook, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookSummary {
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
}

/// The SHA-256 of a document, in lowercase hex: the identity of a runbook version.
pub fn content_hash(markdown: &str) -> String {
    let digest = Sha256::digest(markdown.as_bytes());
    digest
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// A document cut into its front matter (YAML text and the file line it starts on) and its
/// body (text and the file line it starts on).
struct Split<'a> {
    front_matter: Option<(String, u64)>,
    body: &'a str,
    body_line: u64,
}

/// Finds the front matter with the markdown parser's own metadata-block rule (a `---` line at
/// the very start, closed by a `---` or `...` line).
/// Refuses NUL and control characters other than tab and line breaks, naming the line: they
/// cannot be stored (NUL) or would garble what an agent reads.
fn check_characters(markdown: &str) -> Result<(), ParseError> {
    for (index, line) in markdown.split('\n').enumerate() {
        if let Some(c) = line
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\r'))
        {
            let what = if c == '\0' {
                "a NUL character (U+0000), which cannot be stored".to_owned()
            } else {
                format!("the control character U+{:04X}", u32::from(c))
            };
            return Err(ParseError::new(
                index as u64 + 1,
                format!("contains {what}; runbooks are plain UTF-8 text"),
            ));
        }
    }
    Ok(())
}

fn split(markdown: &str) -> Result<Split<'_>, ParseError> {
    let text = markdown.strip_prefix('\u{feff}').unwrap_or(markdown);
    let mut events =
        Parser::new_ext(text, Options::ENABLE_YAML_STYLE_METADATA_BLOCKS).into_offset_iter();
    let opens_block = matches!(
        events.next(),
        Some((Event::Start(Tag::MetadataBlock(MetadataBlockKind::YamlStyle)), range)) if range.start == 0
    );
    if !opens_block {
        if text
            .lines()
            .next()
            .is_some_and(|line| line.trim_end() == "---")
        {
            return Err(ParseError::new(
                1,
                "front matter opened with `---` is not closed by a `---` line, or its first \
                 line is blank",
            ));
        }
        return Ok(Split {
            front_matter: None,
            body: text,
            body_line: 1,
        });
    }
    let mut yaml = String::new();
    let mut yaml_start = None;
    let mut body_start = text.len();
    for (event, range) in events {
        match event {
            Event::Text(chunk) => {
                yaml_start.get_or_insert(range.start);
                yaml.push_str(&chunk);
            }
            Event::End(TagEnd::MetadataBlock(_)) => {
                // The block ends with its closing `---`; the body starts on the next line.
                let rest = text.get(range.end..).unwrap_or_default();
                body_start = range.end + rest.find('\n').map_or(rest.len(), |i| i + 1);
                break;
            }
            _ => {}
        }
    }
    let yaml_line = line_of(text, yaml_start.unwrap_or(0));
    Ok(Split {
        front_matter: Some((yaml, yaml_line)),
        body: text.get(body_start..).unwrap_or_default(),
        body_line: line_of(text, body_start),
    })
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> u64 {
    let before = text.get(..offset).unwrap_or(text);
    before.bytes().filter(|b| *b == b'\n').count() as u64 + 1
}

#[cfg(test)]
mod tests;
