//! The named sections of a postmortem, in document order, and the edits writers send.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::domain::error::ValidationError;
use crate::domain::validation;

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

/// A section of the postmortem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SectionName {
    /// What happened, in a paragraph.
    Summary,
    /// Who was affected, how, for how long.
    Impact,
    /// Time to acknowledge, mitigate and resolve, with their anchors.
    Durations,
    /// Each severity the incident had, and since when.
    SeverityHistory,
    /// Who held which role, and when.
    Roles,
    /// The key timeline entries.
    Timeline,
    /// Root causes and contributing factors (seeded from hypotheses and findings).
    RootCauses,
    /// What set it off (seeded from recorded changes).
    Trigger,
    /// How it was noticed (seeded from detection time and alerts).
    Detection,
    /// How it ended (seeded from the resolution).
    Resolution,
    /// What went well.
    WhatWentWell,
    /// What went wrong.
    WhatWentWrong,
    /// Where we got lucky.
    WhereWeGotLucky,
    /// Lessons learned.
    Lessons,
    /// The follow-up work (refreshed from the incident's action items).
    ActionItems,
}

impl SectionName {
    /// Every section, in document order.
    pub const ALL: [SectionName; 15] = [
        SectionName::Summary,
        SectionName::Impact,
        SectionName::Durations,
        SectionName::SeverityHistory,
        SectionName::Roles,
        SectionName::Timeline,
        SectionName::RootCauses,
        SectionName::Trigger,
        SectionName::Detection,
        SectionName::Resolution,
        SectionName::WhatWentWell,
        SectionName::WhatWentWrong,
        SectionName::WhereWeGotLucky,
        SectionName::Lessons,
        SectionName::ActionItems,
    ];

    /// The wire name, e.g. `root_causes`.
    pub fn as_str(self) -> &'static str {
        match self {
            SectionName::Summary => "summary",
            SectionName::Impact => "impact",
            SectionName::Durations => "durations",
            SectionName::SeverityHistory => "severity_history",
            SectionName::Roles => "roles",
            SectionName::Timeline => "timeline",
            SectionName::RootCauses => "root_causes",
            SectionName::Trigger => "trigger",
            SectionName::Detection => "detection",
            SectionName::Resolution => "resolution",
            SectionName::WhatWentWell => "what_went_well",
            SectionName::WhatWentWrong => "what_went_wrong",
            SectionName::WhereWeGotLucky => "where_we_got_lucky",
            SectionName::Lessons => "lessons",
            SectionName::ActionItems => "action_items",
        }
    }

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
        SectionName::ALL
            .into_iter()
            .find(|name| name.as_str() == raw)
            .ok_or_else(|| {
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

impl fmt::Display for SectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who wrote a section's current text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// `draft_postmortem`: refreshed from the facts on every draft.
    Generated,
    /// A person or agent through `update_postmortem`: never overwritten by a refresh.
    Edited,
}

impl Origin {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Generated => "generated",
            Origin::Edited => "edited",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Origin> {
        match s {
            "generated" => Some(Origin::Generated),
            "edited" => Some(Origin::Edited),
            _ => None,
        }
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
