//! The page model as HTML (minijinja, auto-escaped), Statuspage-shaped JSON and an Atom feed
//! (RFC 4287). Every string that came from a writer is stripped of characters XML cannot carry.

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::status_page::{HISTORY_DAYS, Page, PageIncident, PageUpdate};
use crate::domain::status_update::PageStatus;

/// Most entries in the feed.
pub(super) const FEED_ENTRIES: usize = 50;

/// The compiled templates.
#[derive(Debug)]
pub(super) struct Templates(Environment<'static>);

impl Templates {
    /// Compiles the page and feed templates (`.html` and `.xml`: both auto-escaped).
    pub(super) fn new() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in [
            ("page.html", include_str!("page.html")),
            ("feed.xml", include_str!("feed.xml")),
        ] {
            // A broken template fails every render of it with a 500 (and the tests).
            if let Err(err) = env.add_template(name, source) {
                tracing::error!(template = name, error = %err, "status page template does not compile");
            }
        }
        Templates(env)
    }

    /// The page as HTML.
    pub(super) fn html(&self, page: &Page) -> Result<String, minijinja::Error> {
        let (open, past): (Vec<&PageIncident>, Vec<&PageIncident>) =
            page.incidents.iter().partition(|i| i.is_open());
        let context = json!({
            "title": clean(&page.title),
            "indicator": page.headline.indicator.as_str(),
            "description": page.headline.description,
            "updated": time(page.updated_at),
            "generated": time(page.generated_at),
            "components": page.components.iter().map(|c| json!({
                "name": clean(&c.component.name),
                "description": c.component.description.as_deref().map(clean),
                "state": c.state.as_str(),
                "words": capitalised(c.state.words()),
            })).collect::<Vec<_>>(),
            "sections": [
                {
                    "id": "active",
                    "heading": "Active incidents",
                    "empty": "No active incidents.",
                    "incidents": open.into_iter().map(incident_view).collect::<Vec<_>>(),
                },
                {
                    "id": "past",
                    "heading": format!("Past incidents (last {HISTORY_DAYS} days)"),
                    "empty": format!("No incidents in the last {HISTORY_DAYS} days."),
                    "incidents": past.into_iter().map(incident_view).collect::<Vec<_>>(),
                },
            ],
        });
        self.0.get_template("page.html")?.render(context)
    }

    /// The Atom feed; `base` is the page's origin (`https://status.example.com`).
    pub(super) fn atom(&self, page: &Page, base: &str) -> Result<String, minijinja::Error> {
        let page_url = format!("{base}/status");
        let entries: Vec<Value> = page
            .recent_updates(FEED_ENTRIES)
            .into_iter()
            .map(|(incident, update)| {
                json!({
                    "id": format!("urn:uuid:{}", update.id),
                    "title": format!("{}: {}", clean(&incident.name), capitalised(status_words(update.status))),
                    "updated": rfc3339(update.published_at),
                    "link": format!("{page_url}#{}", incident.code()),
                    "text": entry_text(incident, update),
                })
            })
            .collect();
        let updated = page
            .recent_updates(1)
            .first()
            .map_or(page.updated_at, |(_, u)| u.published_at);
        let context = json!({
            "feed_id": format!("{base}/status/feed.atom"),
            "title": clean(&page.title),
            "updated": rfc3339(updated),
            "self_url": format!("{base}/status/feed.atom"),
            "page_url": page_url,
            "entries": entries,
        });
        self.0.get_template("feed.xml")?.render(context)
    }
}

/// The page as JSON, shaped like Statuspage's `/api/v2/summary.json` (with every incident of
/// the last 90 days, open ones first).
pub(super) fn json(page: &Page, base: &str) -> Value {
    let page_url = format!("{base}/status");
    json!({
        "page": {
            "name": clean(&page.title),
            "url": page_url,
            "updated_at": rfc3339(page.updated_at),
        },
        "status": {
            "indicator": page.headline.indicator.as_str(),
            "description": page.headline.description,
        },
        "components": page.components.iter().enumerate().map(|(i, c)| json!({
            "id": c.component.service,
            "name": clean(&c.component.name),
            "description": c.component.description.as_deref().map(clean),
            "status": c.state.as_str(),
            "position": i + 1,
            "updated_at": c.updated_at.map(rfc3339),
        })).collect::<Vec<_>>(),
        "incidents": page.incidents.iter().map(|i| json!({
            "id": i.code(),
            "name": clean(&i.name),
            "status": i.status.as_str(),
            "impact": i.impact.as_str(),
            "created_at": rfc3339(i.created_at),
            "updated_at": rfc3339(i.updated_at),
            "resolved_at": i.resolved_at.map(rfc3339),
            "shortlink": format!("{page_url}#{}", i.code()),
            "next_update_at": i.next_update_at.map(rfc3339),
            "incident_updates": i.updates.iter().map(|u| json!({
                "id": u.id,
                "status": u.status.as_str(),
                "body": clean(&u.message),
                "created_at": rfc3339(u.published_at),
                "affected_components": u.affected.iter().map(|(c, state)| json!({
                    "code": c.service,
                    "name": clean(&c.name),
                    "new_status": state.as_str(),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[derive(Serialize)]
struct Time {
    iso: String,
    human: String,
}

fn time(at: DateTime<Utc>) -> Time {
    Time {
        iso: rfc3339(at),
        human: at.format("%-d %b %Y, %H:%M UTC").to_string(),
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn incident_view(incident: &PageIncident) -> Value {
    json!({
        "code": incident.code(),
        "name": clean(&incident.name),
        "status": incident.status.as_str(),
        "status_words": capitalised(status_words(incident.status)),
        "started": time(incident.created_at),
        "resolved": incident.resolved_at.map(time),
        "next_update": incident.next_update_at.map(time),
        "updates": incident.updates.iter().map(|u| json!({
            "status_words": capitalised(status_words(u.status)),
            "published": time(u.published_at),
            "message": clean(&u.message),
            "affected": u.affected.iter().map(|(c, state)| json!({
                "name": clean(&c.name),
                "state": state.as_str(),
                "words": state.words(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A feed entry's text: status, message, affected components and any promised update.
fn entry_text(incident: &PageIncident, update: &PageUpdate) -> String {
    let mut text = format!(
        "{} ({}): {}\n\n{}",
        capitalised(status_words(update.status)),
        incident.code(),
        clean(&incident.name),
        clean(&update.message)
    );
    if !update.affected.is_empty() {
        let affected: Vec<String> = update
            .affected
            .iter()
            .map(|(c, state)| format!("{} ({})", clean(&c.name), state.words()))
            .collect();
        text.push_str(&format!("\n\nAffected: {}", affected.join(", ")));
    }
    let is_latest = incident.updates.first().is_some_and(|u| u.id == update.id);
    if let Some(next) = incident.next_update_at.filter(|_| is_latest) {
        text.push_str(&format!("\n\nNext update by {}", time(next).human));
    }
    text
}

fn status_words(status: PageStatus) -> &'static str {
    status.as_str()
}

fn capitalised(words: &str) -> String {
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `text` without the characters XML 1.0 cannot carry (controls other than tab and line
/// breaks, U+FFFE, U+FFFF), which would make the feed unreadable.
pub(super) fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect()
}
