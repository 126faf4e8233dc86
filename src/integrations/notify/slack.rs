//! Slack incoming webhooks: Block Kit blocks with a plain-text fallback (`text`, shown in
//! notifications). Slack's limits are kept by cutting, never by failing: a header of 150
//! characters, a section of 3,000, a field of 2,000, 10 fields, 50 blocks.

use serde_json::{Value, json};

use super::message::{affected, cut, cut_with, facts, title};
use crate::domain::notification::{Event, EventDetail};

/// Longest header text.
const HEADER_MAX: usize = 150;
/// Longest section text.
const SECTION_MAX: usize = 3000;
/// Longest section field.
const FIELD_MAX: usize = 2000;
/// Most fields in a section.
const FIELDS_MAX: usize = 10;
/// Longest fallback text.
const FALLBACK_MAX: usize = 3000;
/// Longest context element.
const CONTEXT_MAX: usize = 300;

/// The message for `event`.
pub(super) fn render(event: &Event, incident_url: Option<&str>) -> Value {
    let title = title(event);
    let headline = event.headline();
    let fields: Vec<Value> = facts(event)
        .into_iter()
        .take(FIELDS_MAX)
        .map(|(label, value)| mrkdwn_text(&format!("*{label}*\n{}", escape(&value)), FIELD_MAX))
        .collect();
    let mut words = format!("*{}*", escape(&headline));
    let said = event.words().trim();
    if !said.is_empty() {
        words.push('\n');
        words.push_str(&escape(said));
    }
    for line in affected(event) {
        words.push_str("\n• ");
        words.push_str(&escape(&line));
    }
    let mut context = vec![match incident_url {
        Some(url) => format!("<{}|{}>", link_target(url), event.incident.reference()),
        None => event.incident.reference(),
    }];
    if let EventDetail::StatusUpdate { update, .. } = &event.detail
        && let Some(at) = update.next_update_at
    {
        context.push(format!(
            "Next update by <!date^{}^{{date_short_pretty}} at {{time}}|{}>",
            at.timestamp(),
            super::message::when(at)
        ));
    }
    let blocks = json!([
        {
            "type": "header",
            "text": {"type": "plain_text", "text": cut(&title, HEADER_MAX), "emoji": true},
        },
        {"type": "section", "fields": fields},
        {"type": "section", "text": mrkdwn_text(&words, SECTION_MAX)},
        {
            "type": "context",
            "elements": context.iter().map(|c| mrkdwn_text(c, CONTEXT_MAX)).collect::<Vec<_>>(),
        },
    ]);
    let fallback = format!("{title}: {headline}");
    json!({
        "text": cut_with(&fallback, FALLBACK_MAX, escape_char),
        "blocks": blocks,
    })
}

/// A mrkdwn text object of already escaped `text`, cut to `max`.
fn mrkdwn_text(text: &str, max: usize) -> Value {
    json!({"type": "mrkdwn", "text": cut_escaped(text, max)})
}

/// Escaped text cut to `max` characters without splitting an entity (`&amp;`) or a link
/// (`<…>`): a cut inside either falls back to before it.
fn cut_escaped(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut end = text
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    if let Some(open) = head.rfind(['&', '<'])
        && !head[open..].contains([';', '>'])
    {
        end = open;
    }
    format!("{}…", &text[..end])
}

/// Slack's escaping of `&`, `<` and `>` in mrkdwn text.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        escape_char(c, &mut out);
    }
    out
}

fn escape_char(c: char, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

/// A URL fit for `<url|label>`: `&` escaped, and the characters that end a link encoded.
fn link_target(url: &str) -> String {
    url.replace('&', "&amp;")
        .replace('|', "%7C")
        .replace('<', "%3C")
        .replace('>', "%3E")
}
