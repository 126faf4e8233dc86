//! Output views of postmortems.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::app::postmortems::{Drafted, PostmortemDocument, Updated};
use crate::domain::postmortem::{Section, SectionKind, SectionName};

/// One section: its provenance, and its text when asked for.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SectionView {
    /// The name `update_postmortem` takes, e.g. `what_went_well`.
    pub name: String,
    /// The heading.
    pub title: String,
    /// `fact` (built from the record), `seeded` (facts plus a prompt to finish) or
    /// `narrative` (a prompt to write).
    pub kind: String,
    /// `generated` (`draft_postmortem` refreshes it) or `edited` (written by someone; refreshes
    /// leave it alone).
    pub origin: String,
    /// True for a seeded or narrative section nobody has written yet; publishing needs none.
    pub needs_writing: bool,
    /// When its text last changed.
    pub updated_at: DateTime<Utc>,
    /// Who changed it last.
    pub updated_by: String,
    /// The markdown (with `format: json`; otherwise read `markdown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl SectionView {
    fn new(section: &Section, with_body: bool) -> Self {
        let kind = match section.name.kind() {
            SectionKind::Fact => "fact",
            SectionKind::Seeded => "seeded",
            SectionKind::Narrative => "narrative",
        };
        SectionView {
            name: section.name.as_str().to_owned(),
            title: section.name.title().to_owned(),
            kind: kind.to_owned(),
            origin: section.origin.as_str().to_owned(),
            needs_writing: section.needs_writing(),
            updated_at: section.updated_at,
            updated_by: section.updated_by.clone(),
            body: with_body.then(|| section.body.clone()),
        }
    }
}

/// A postmortem: status, version, sections and (in markdown format) the rendered document.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PostmortemView {
    /// The incident (`INC-<n>`).
    pub incident: String,
    /// The incident's severity.
    pub severity: String,
    /// The incident's current status.
    pub incident_status: String,
    /// `draft`, `in_review` or `published`.
    pub status: String,
    /// Statuses `update_postmortem` accepts from here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_next_statuses: Vec<String>,
    /// Pass as `expected_version` to `update_postmortem`.
    pub version: i64,
    /// When `draft_postmortem` last gathered the facts.
    pub facts_as_of: DateTime<Utc>,
    /// Set when the facts were gathered while the incident was open: they are incomplete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Sections still to write before publishing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unwritten_sections: Vec<String>,
    /// Every section, in document order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<SectionView>,
    /// The whole document rendered with the postmortem template (markdown format).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    /// When it was first drafted.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it was (last) published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
}

impl PostmortemView {
    /// The view of `document`; section bodies are included when `with_bodies`.
    pub fn new(document: &PostmortemDocument, with_bodies: bool) -> Self {
        let (incident, postmortem) = (&document.incident, &document.postmortem);
        PostmortemView {
            incident: incident.reference().to_string(),
            severity: incident.severity.to_string(),
            incident_status: incident.status.to_string(),
            status: postmortem.status.to_string(),
            allowed_next_statuses: postmortem
                .status
                .allowed_next()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            version: postmortem.version,
            facts_as_of: postmortem.facts_as_of,
            notice: postmortem.notice(incident),
            unwritten_sections: names(&postmortem.unwritten()),
            sections: postmortem
                .sections
                .iter()
                .map(|s| SectionView::new(s, with_bodies))
                .collect(),
            markdown: document.markdown.clone(),
            created_at: postmortem.created_at,
            updated_at: postmortem.updated_at,
            published_at: postmortem.published_at,
        }
    }
}

/// The answer to `draft_postmortem`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DraftedView {
    /// True when this call created the postmortem; false when it refreshed it.
    pub created: bool,
    /// Generated sections whose text changed with this call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refreshed_sections: Vec<String>,
    /// Edited sections that were left as their writers left them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_edited_sections: Vec<String>,
    /// The postmortem, with its markdown.
    pub postmortem: PostmortemView,
}

impl From<&Drafted> for DraftedView {
    fn from(drafted: &Drafted) -> Self {
        DraftedView {
            created: drafted.is_new,
            refreshed_sections: names(&drafted.refresh.refreshed),
            kept_edited_sections: names(&drafted.refresh.kept_edited),
            postmortem: PostmortemView::new(&drafted.document, false),
        }
    }
}

/// The answer to `update_postmortem`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UpdatedView {
    /// Sections whose text changed (they are now `edited`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_sections: Vec<String>,
    /// The status before, when it moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<String>,
    /// The postmortem (read the document with `get_postmortem`).
    pub postmortem: PostmortemView,
}

impl From<&Updated> for UpdatedView {
    fn from(updated: &Updated) -> Self {
        UpdatedView {
            changed_sections: names(&updated.edit.sections),
            previous_status: updated.edit.status.map(|(from, _)| from.to_string()),
            postmortem: PostmortemView::new(&updated.document, false),
        }
    }
}

fn names(sections: &[SectionName]) -> Vec<String> {
    sections.iter().map(|s| s.as_str().to_owned()).collect()
}
