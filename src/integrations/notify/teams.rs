//! Microsoft Teams Workflows webhooks: a message carrying one Adaptive Card (version 1.4), with
//! the title, the facts, the words and a button to the incident when its URL is known. Teams
//! refuses messages over 28 KB, so long text is cut.

use serde_json::{Value, json};

use super::message::{affected, cut, facts, title};
use crate::domain::notification::Event;

/// Longest title.
const TITLE_MAX: usize = 200;
/// Longest text block.
const WORDS_MAX: usize = 4000;

/// The message for `event`.
pub(super) fn render(event: &Event, incident_url: Option<&str>) -> Value {
    let facts: Vec<Value> = facts(event)
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": cut(&value, 500)}))
        .collect();
    let mut words = format!("**{}**", event.headline());
    let said = event.words().trim();
    if !said.is_empty() {
        words.push_str("\n\n");
        words.push_str(said);
    }
    let affected = affected(event);
    if !affected.is_empty() {
        words.push_str("\n\n");
        words.push_str(
            &affected
                .iter()
                .map(|line| format!("- {line}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    let mut content = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": cut(&title(event), TITLE_MAX),
                "weight": "bolder",
                "size": "medium",
                "wrap": true,
            },
            {"type": "FactSet", "facts": facts},
            {"type": "TextBlock", "text": cut(&words, WORDS_MAX), "wrap": true},
        ],
    });
    if let Some(url) = incident_url {
        content["actions"] = json!([{
            "type": "Action.OpenUrl",
            "title": format!("Open {}", event.incident.reference()),
            "url": url,
        }]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": content,
        }],
    })
}
