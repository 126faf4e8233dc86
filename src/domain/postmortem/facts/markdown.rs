//! Small markdown helpers for the generated sections: times, previews, table cells, size.

use chrono::{DateTime, Utc};

use crate::domain::postmortem::facts::{PREVIEW_CHARS, SIGNAL_KINDS, SIGNALS_MAX};
use crate::domain::timeline::{EntryKind, TimelineEntry};
use crate::domain::validation::TEXT_MAX_BYTES;

/// `- <time> — <text> (<who>)` for each entry of `kind`, at most [`SIGNALS_MAX`] for signals.
pub(super) fn listing(entries: &[TimelineEntry], kind: EntryKind) -> String {
    let limit = if SIGNAL_KINDS.contains(&kind) {
        SIGNALS_MAX
    } else {
        usize::MAX
    };
    entries
        .iter()
        .filter(|e| e.kind == kind)
        .take(limit)
        .map(|e| {
            format!(
                "- {} — {} ({})\n",
                minute(e.occurred_at),
                preview(&e.body),
                e.actor.principal
            )
        })
        .collect()
}

/// `text`, or `note` when it is blank.
pub(super) fn or_note<'a>(text: &'a str, note: &'a str) -> &'a str {
    if text.trim().is_empty() { note } else { text }
}

/// `a, b, c`, or `none recorded`.
pub(super) fn listed(values: &[String]) -> String {
    if values.is_empty() {
        "none recorded".to_owned()
    } else {
        values.join(", ")
    }
}

/// `2026-11-27 10:02 UTC`.
pub(super) fn minute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// One line of at most [`PREVIEW_CHARS`] characters.
pub(super) fn preview(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= PREVIEW_CHARS {
        return line;
    }
    let cut: String = line.chars().take(PREVIEW_CHARS).collect();
    format!("{cut}…")
}

/// A preview that is safe inside a markdown table cell.
pub(super) fn cell(text: &str) -> String {
    preview(text).replace('|', "\\|")
}

/// Keeps a generated text within the section size limit, cutting at a line boundary.
pub(super) fn fit(body: String) -> String {
    const NOTE: &str = "\n_Cut here to stay within the 64 KiB section limit._\n";
    if body.len() <= TEXT_MAX_BYTES {
        return body;
    }
    let budget = TEXT_MAX_BYTES - NOTE.len();
    let cut = body
        .char_indices()
        .take_while(|(i, _)| *i < budget)
        .filter(|(_, c)| *c == '\n')
        .last()
        .map_or(0, |(i, _)| i + 1);
    let mut out = body.get(..cut).unwrap_or_default().to_owned();
    out.push_str(NOTE);
    out
}
