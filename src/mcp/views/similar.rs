//! Similar past incidents as agents see them: what each was, how it was resolved, and why it
//! matched, best first.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::app::similar::{SimilarAnswer, SimilarIncident};
use crate::domain::durations::human;

/// The most similar past incidents.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SimilarListView {
    /// Best first.
    pub similar: Vec<SimilarView>,
    /// Incidents merged with the one compared, left out above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<String>,
}

/// One similar incident.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SimilarView {
    /// `INC-<n>`.
    pub incident: String,
    /// Title.
    pub title: String,
    /// `SEV1`–`SEV5`.
    pub severity: String,
    /// Status.
    pub status: String,
    /// Declared.
    pub declared_at: DateTime<Utc>,
    /// Resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// From impact start (else detection) to resolution, e.g. `1h 35m`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_resolve: Option<String>,
    /// 0–1, higher is more similar.
    pub score: f64,
    /// Why it matched, strongest first.
    pub why: Vec<String>,
    /// How it was resolved (shortened).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Its postmortem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postmortem: Option<PastPostmortemView>,
    /// Runbooks followed on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runbooks: Vec<String>,
    /// Action items, e.g. `2 open, 3 done`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_items: Option<String>,
}

/// A past incident's postmortem, shortened.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PastPostmortemView {
    /// `draft`, `in_review` or `published`.
    pub status: String,
    /// Root causes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_causes: Option<String>,
    /// What resolved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

impl From<&SimilarAnswer> for SimilarListView {
    fn from(answer: &SimilarAnswer) -> Self {
        SimilarListView {
            similar: answer.similar.iter().map(SimilarView::from).collect(),
            merged: answer
                .merged
                .iter()
                .map(|m| match m.is_target {
                    true => format!("merged into INC-{}", m.number),
                    false => format!("INC-{} merged into it", m.number),
                })
                .collect(),
        }
    }
}

impl From<&SimilarIncident> for SimilarView {
    fn from(s: &SimilarIncident) -> Self {
        let history = s.history.as_ref();
        let items = history.map(|h| (h.open_action_items, h.done_action_items));
        SimilarView {
            incident: format!("INC-{}", s.number),
            title: s.title.clone(),
            severity: s.severity.to_string(),
            status: s.status.to_string(),
            declared_at: s.declared_at,
            resolved_at: s.resolved_at,
            time_to_resolve: s.time_to_resolve_seconds.map(human),
            score: s.score,
            why: s.reasons.iter().map(ToString::to_string).collect(),
            resolution: history.and_then(|h| h.resolution.clone()),
            postmortem: history.and_then(|h| {
                h.postmortem_status
                    .as_ref()
                    .map(|status| PastPostmortemView {
                        status: status.clone(),
                        root_causes: h.root_causes.clone(),
                        resolution: h.postmortem_resolution.clone(),
                    })
            }),
            runbooks: history.map(|h| h.runbooks.clone()).unwrap_or_default(),
            action_items: items
                .filter(|(open, done)| open + done > 0)
                .map(|(open, done)| format!("{open} open, {done} done")),
        }
    }
}
