//! What a message says, whatever its format: the title line, the facts, and text cut to a
//! receiver's limits.

use chrono::{DateTime, Utc};

use crate::domain::notification::{Event, EventDetail};

/// `[SEV1] INC-42 Checkout errors`.
pub(super) fn title(event: &Event) -> String {
    format!(
        "[{}] {} {}",
        event.incident.severity,
        event.incident.reference(),
        event.incident.title
    )
}

/// The facts shown beside the words: `(label, value)`.
pub(super) fn facts(event: &Event) -> Vec<(&'static str, String)> {
    let incident = &event.incident;
    let mut facts = vec![
        ("Status", incident.status.to_string()),
        ("Severity", incident.severity.to_string()),
        (
            "Commander",
            incident
                .commander
                .clone()
                .unwrap_or_else(|| "unassigned".to_owned()),
        ),
        (
            "Services",
            if incident.services.is_empty() {
                "none named".to_owned()
            } else {
                incident.services.join(", ")
            },
        ),
    ];
    match &event.detail {
        EventDetail::StatusUpdate { update, .. } => {
            facts.push(("Audience", update.audience.to_string()));
            if let Some(at) = update.next_update_at {
                facts.push(("Next update", when(at)));
            }
        }
        EventDetail::ActionItemOverdue {
            action_item,
            owner,
            due_on,
            ..
        } => {
            facts.push(("Action item", action_item.clone()));
            facts.push(("Owner", owner.clone().unwrap_or_else(|| "none".to_owned())));
            facts.push(("Due", due_on.clone()));
        }
        _ => {}
    }
    facts
}

/// The affected services of a status update, one line each: `checkout: partial outage`.
pub(super) fn affected(event: &Event) -> Vec<String> {
    match &event.detail {
        EventDetail::StatusUpdate { update, .. } => update
            .services
            .iter()
            .map(|s| format!("{}: {}", s.service, s.state.words()))
            .collect(),
        _ => Vec::new(),
    }
}

/// `2026-03-01 10:30 UTC`.
pub(super) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `text` in at most `max` characters, ended with `…` when cut.
pub(super) fn cut(text: &str, max: usize) -> String {
    cut_with(text, max, |c, out| out.push(c))
}

/// `text` with each character written by `write` (an escape), in at most `max` characters of
/// output, ended with `…` when cut; an escape is never split.
pub(super) fn cut_with(text: &str, max: usize, write: impl Fn(char, &mut String)) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut piece = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        piece.clear();
        write(c, &mut piece);
        let len = piece.chars().count();
        // Room must be left for the ellipsis unless this is the last character.
        let room = usize::from(chars.peek().is_some());
        if count + len + room > max {
            out.push('…');
            return out;
        }
        out.push_str(&piece);
        count += len;
    }
    out
}

/// `text` in at most `max` bytes (UTF-8), ended with `…` when cut.
pub(super) fn cut_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let ellipsis = '…'.len_utf8();
    let mut end = max.saturating_sub(ellipsis);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_keeps_within_the_limit_and_marks_the_cut() {
        assert_eq!(cut("abcdef", 6), "abcdef");
        assert_eq!(cut("abcdef", 5), "abcd…");
        assert_eq!(cut("", 3), "");
        let amp = |c: char, out: &mut String| match c {
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        };
        assert_eq!(cut_with("a&b", 7, amp), "a&amp;b");
        assert_eq!(cut_with("a&b", 6, amp), "a…");
        assert_eq!(cut_bytes("héllo", 4), "h…");
        assert_eq!(cut_bytes("héllo", 6), "héllo");
        assert!(cut_bytes(&"é".repeat(100), 51).len() <= 51);
    }
}
