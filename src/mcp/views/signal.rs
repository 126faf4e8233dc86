//! Alerts and changes as agents see them: compact rows, the ledger's reason on each alert, and
//! each suspect change with its score and the reasons behind it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::app::signals::{AlertPage, ChangePage, LinkedChange, Suspect};
use crate::domain::signals::alert::{AlertBrief, AlertCounts};
use crate::domain::signals::correlation::Scored;
use crate::domain::signals::{Alert, Change};

/// One alert.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertRowView {
    /// What fires.
    pub title: String,
    /// `firing` or `resolved`.
    pub status: String,
    /// The source it came from.
    pub source: String,
    /// Its identity within the source (fingerprint or dedup key).
    pub key: String,
    /// The incident it belongs to (`INC-<n>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// Labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The runbook the alert names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook_url: Option<String>,
    /// Where to see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// When it started.
    pub starts_at: DateTime<Utc>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Latest delivery.
    pub last_seen: DateTime<Utc>,
    /// Deliveries counted.
    pub seen: i64,
    /// Why Firebreak did what it did with it (the ledger's latest line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<&Alert> for AlertRowView {
    fn from(a: &Alert) -> Self {
        AlertRowView {
            title: a.title.clone(),
            status: a.status.to_string(),
            source: a.source.clone(),
            key: a.key.clone(),
            incident: a.incident.map(|n| format!("INC-{n}")),
            labels: a.labels.clone(),
            runbook_url: a.runbook_url.clone(),
            source_url: a.source_url.clone(),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            last_seen: a.last_seen,
            seen: a.seen_count,
            reason: a.last_reason.clone(),
        }
    }
}

/// A page of alerts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertListView {
    /// Newest (last seen) first.
    pub alerts: Vec<AlertRowView>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<&AlertPage> for AlertListView {
    fn from(page: &AlertPage) -> Self {
        AlertListView {
            alerts: page.alerts.iter().map(AlertRowView::from).collect(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}

/// One change.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangeView {
    /// `CHG-<n>`: pass it to `link_change`.
    pub change: String,
    /// `deploy`, `config`, `feature_flag`, `infrastructure`, `code` or `release`.
    pub kind: String,
    /// What changed.
    pub summary: String,
    /// Services it touched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Who, and whether a `human`, `automation` or `agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// The sender's status word (`success`, `failure` …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For an incident: 0–1, a suggestion, not a verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Why it scored so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// What a responder decided for the incident: `suspected`, `confirmed`, `ruled_out`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
}

impl ChangeView {
    /// The view of `change`, scored when it is a suspect.
    pub fn new(change: &Change, scored: Option<&Scored>) -> Self {
        let c = &change.change;
        let actor = c.actor.as_ref().map(|a| match c.actor_kind {
            Some(kind) => format!("{a} ({kind})"),
            None => a.clone(),
        });
        ChangeView {
            change: change.reference(),
            kind: c.kind.to_string(),
            summary: c.summary.clone(),
            services: c.services.clone(),
            environment: c.environment.clone(),
            occurred_at: change.occurred_at,
            actor,
            sha: c.sha.clone(),
            status: c.status.clone(),
            url: c.url.clone(),
            score: scored.map(|s| s.score),
            reasons: scored.map(|s| s.reasons.clone()).unwrap_or_default(),
            relation: change.relation.map(|r| r.to_string()),
        }
    }
}

impl From<&Suspect> for ChangeView {
    fn from(s: &Suspect) -> Self {
        ChangeView::new(&s.change, Some(&s.scored))
    }
}

/// A page of changes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangeListView {
    /// Newest first; for an incident, best suspect first.
    pub changes: Vec<ChangeView>,
    /// For an incident: the window searched, `[from, to]` around impact start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<[DateTime<Utc>; 2]>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<&ChangePage> for ChangeListView {
    fn from(page: &ChangePage) -> Self {
        ChangeListView {
            changes: page
                .changes
                .iter()
                .map(|(c, s)| ChangeView::new(c, s.as_ref()))
                .collect(),
            window: page.window.map(|(from, _, to)| [from, to]),
            next_cursor: page.next_cursor.clone(),
        }
    }
}

/// The answer of `link_change`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LinkedChangeView {
    /// `INC-<n>`.
    pub incident: String,
    /// The change.
    pub change: ChangeView,
    /// The relation before, if there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

impl From<&LinkedChange> for LinkedChangeView {
    fn from(l: &LinkedChange) -> Self {
        let mut change = ChangeView::new(&l.change, None);
        change.relation = Some(l.relation.to_string());
        LinkedChangeView {
            incident: format!("INC-{}", l.incident),
            change,
            previous: l.previous.map(|r| r.to_string()),
        }
    }
}

/// An incident's alerts, as its brief shows them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertsDigestView {
    /// Still firing.
    pub firing: i64,
    /// Resolved.
    pub resolved: i64,
    /// First alert seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<DateTime<Utc>>,
    /// Latest delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
    /// The newest three: `title [status] source, seen n×`.
    pub newest: Vec<String>,
}

impl AlertsDigestView {
    /// The digest, or `None` for an incident without alerts.
    pub fn new(counts: &AlertCounts, newest: &[AlertBrief]) -> Option<Self> {
        if counts.firing + counts.resolved == 0 {
            return None;
        }
        Some(AlertsDigestView {
            firing: counts.firing,
            resolved: counts.resolved,
            first_seen: counts.first_seen,
            last_seen: counts.last_seen,
            newest: newest
                .iter()
                .map(|a| {
                    format!(
                        "{} [{}] {}, seen {}×",
                        a.title, a.status, a.source, a.seen_count
                    )
                })
                .collect(),
        })
    }
}
