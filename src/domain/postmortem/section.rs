//! The named sections of a postmortem, in document order, and the edits writers send.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::error::ValidationError;
use crate::domain::validation;
use crate::domain::vocabulary::{Vocabulary, vocabulary};

/// Starts the prompt line of a section that a person has to write. A body still holding it is
/// not accepted as written.
pub const PROMPT_MARKER: &str = "> **To write:**";

/// Who fills a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// Built entirely from recorded facts; fine to publish as generated.
    Fact,
    /// Facts to start from, plus a prompt: a writer has to finish it.
    Seeded,
    /// Only a prompt: a writer has to write it.
    Narrative,
}

vocabulary! {
    /// A section of the postmortem.
    #[derive(PartialOrd, Ord)]
    pub enum SectionName ("postmortem section") {
        /// What happened, in a paragraph.
        Summary = "summary",
        /// Who was affected, how, for how long.
        Impact = "impact",
        /// Time to acknowledge, mitigate and resolve, with their anchors.
        Durations = "durations",
        /// Each severity the incident had, and since when.
        SeverityHistory = "severity_history",
        /// Who held which role, and when.
        Roles = "roles",
        /// The key timeline entries.
        Timeline = "timeline",
        /// Root causes and contributing factors (seeded from hypotheses and findings).
        RootCauses = "root_causes" | "root_cause" | "contributing_factors",
        /// What set it off (seeded from recorded changes).
        Trigger = "trigger",
        /// How it was noticed (seeded from detection time and alerts).
        Detection = "detection",
        /// How it ended (seeded from the resolution).
        Resolution = "resolution",
        /// What went well.
        WhatWentWell = "what_went_well",
        /// What went wrong.
        WhatWentWrong = "what_went_wrong",
        /// Where we got lucky.
        WhereWeGotLucky = "where_we_got_lucky",
        /// Lessons learned.
        Lessons = "lessons" | "lessons_learned",
        /// The follow-up work (refreshed from the incident's action items).
        ActionItems = "action_items",
    }
}

impl SectionName {
    /// The heading people read.
    pub fn title(self) -> &'static str {
        match self {
            SectionName::Summary => "Summary",
            SectionName::Impact => "Impact",
            SectionName::Durations => "Durations",
            SectionName::SeverityHistory => "Severity history",
            SectionName::Roles => "Roles",
            SectionName::Timeline => "Timeline",
            SectionName::RootCauses => "Root causes and contributing factors",
            SectionName::Trigger => "Trigger",
            SectionName::Detection => "Detection",
            SectionName::Resolution => "Resolution",
            SectionName::WhatWentWell => "What went well",
            SectionName::WhatWentWrong => "What went wrong",
            SectionName::WhereWeGotLucky => "Where we got lucky",
            SectionName::Lessons => "Lessons learned",
            SectionName::ActionItems => "Action items",
        }
    }

    /// Who fills it.
    pub fn kind(self) -> SectionKind {
        match self {
            SectionName::RootCauses
            | SectionName::Trigger
            | SectionName::Detection
            | SectionName::Resolution => SectionKind::Seeded,
            SectionName::WhatWentWell
            | SectionName::WhatWentWrong
            | SectionName::WhereWeGotLucky
            | SectionName::Lessons => SectionKind::Narrative,
            _ => SectionKind::Fact,
        }
    }

    /// Its place in the document.
    pub fn position(self) -> usize {
        SectionName::ALL
            .iter()
            .position(|name| *name == self)
            .unwrap_or(usize::MAX)
    }

    /// The section called `raw`; the error (on `field`) lists every allowed name.
    pub fn parse(field: &str, raw: &str) -> Result<SectionName, ValidationError> {
        SectionName::parse_loose(raw).ok_or_else(|| {
            let names: Vec<&str> = SectionName::ALL.iter().map(|n| n.as_str()).collect();
            ValidationError::new(
                field,
                format!(
                    "is not a postmortem section; the sections are: {}",
                    names.join(", ")
                ),
            )
        })
    }
}

vocabulary! {
    /// Who wrote a section's current text.
    pub enum Origin ("section origin") {
        /// `draft_postmortem`: refreshed from the facts on every draft.
        Generated = "generated",
        /// A person or agent through `update_postmortem`: never overwritten by a refresh.
        Edited = "edited",
    }
}

/// One section's text and provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Which section.
    pub name: SectionName,
    /// Markdown.
    pub body: String,
    /// Generated or edited.
    pub origin: Origin,
    /// When its text last changed.
    pub updated_at: DateTime<Utc>,
    /// Who changed it last (the principal; `draft_postmortem`'s caller for generated text).
    pub updated_by: String,
}

impl Section {
    /// True for a seeded or narrative section that still holds its generated prompt.
    pub fn needs_writing(&self) -> bool {
        self.origin == Origin::Generated && self.name.kind() != SectionKind::Fact
    }
}

/// Validated section texts from `update_postmortem`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionEdits(Vec<(SectionName, String)>);

impl SectionEdits {
    /// Checks each `name → markdown` pair: a known section name and non-blank text of at most
    /// 64 KiB. (Whether a changed text still holds the writer prompt is checked on edit, since a
    /// section sent back unchanged may keep it.)
    pub fn parse(raw: BTreeMap<String, String>) -> Result<SectionEdits, ValidationError> {
        let mut edits = Vec::with_capacity(raw.len());
        for (name, body) in raw {
            let field = format!("sections.{name}");
            let section = SectionName::parse(&field, &name)?;
            let body = validation::required_text(&field, body)?;
            edits.push((section, body));
        }
        Ok(SectionEdits(edits))
    }

    /// True when no section was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs.
    pub fn into_inner(self) -> Vec<(SectionName, String)> {
        self.0
    }
}
