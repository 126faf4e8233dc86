//! Postmortems: one per incident, a blameless document in named sections, drafted from the
//! recorded facts and finished by people (or agents).
//!
//! Every section remembers its provenance. A *generated* section belongs to `draft_postmortem`,
//! which rewrites it from the current facts on every refresh; once someone writes a section
//! through `update_postmortem` it is *edited* and no refresh touches it again. Sending a
//! section's current text back unchanged does not count as an edit, so an agent that round-trips
//! the whole document does not freeze the fact sections.
//!
//! Status flow: `draft` → `in_review` → `published`; `in_review` → `draft` (changes requested)
//! and `published` → `draft` (reopened for corrections) go back. Publishing needs the incident
//! resolved (or closed), facts drafted after it was, and every writer section written. SEV1 and
//! SEV2 incidents cannot close until their postmortem is published ([`close_gate`]).

mod facts;
mod render;
mod section;

pub use facts::{Facts, KEY_ENTRIES_MAX, KEY_KINDS, SIGNAL_KINDS, SeverityStep, generate};
pub use render::{DEFAULT_TEMPLATE, TemplateError, check_template, render};
pub use section::{Origin, PROMPT_MARKER, Section, SectionEdits, SectionKind, SectionName};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::actor::Actor;
use crate::domain::error::{TransitionError, ValidationError};
use crate::domain::incident::Incident;
use crate::domain::status::Status;
use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// Where a postmortem is in its review.
    pub enum PostmortemStatus ("postmortem status") {
        /// Being written.
        Draft = "draft",
        /// Written; reviewers are reading it.
        InReview = "in_review" | "review" | "reviewing",
        /// Reviewed and shared.
        Published = "published" | "publish",
    }
}

impl PostmortemStatus {
    /// The statuses reachable from this one.
    pub fn allowed_next(self) -> &'static [PostmortemStatus] {
        match self {
            PostmortemStatus::Draft => &[PostmortemStatus::InReview],
            PostmortemStatus::InReview => &[PostmortemStatus::Published, PostmortemStatus::Draft],
            PostmortemStatus::Published => &[PostmortemStatus::Draft],
        }
    }
}

/// A postmortem as stored (or about to be stored for the first time, with `version` 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postmortem {
    /// The incident it belongs to (one postmortem per incident).
    pub incident_id: Uuid,
    /// Review status.
    pub status: PostmortemStatus,
    /// Bumped by every change; `update_postmortem` may name the version it expects.
    pub version: i64,
    /// When `draft_postmortem` last gathered the facts.
    pub facts_as_of: DateTime<Utc>,
    /// The incident's status at that moment.
    pub facts_incident_status: Status,
    /// Every section, in document order.
    pub sections: Vec<Section>,
    /// Who drafted it first.
    pub created_by: Actor,
    /// When it was first drafted.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it was (last) published.
    pub published_at: Option<DateTime<Utc>>,
}

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refresh {
    /// Generated sections whose text changed.
    pub refreshed: Vec<SectionName>,
    /// Edited sections left as their writers left them.
    pub kept_edited: Vec<SectionName>,
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// A section text breaks a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The status flow or the publication rules refuse it.
    #[error(transparent)]
    Refused(#[from] TransitionError),
}

/// What an edit did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edit {
    /// Sections whose text changed (now `edited`).
    pub sections: Vec<SectionName>,
    /// The status move, if any.
    pub status: Option<(PostmortemStatus, PostmortemStatus)>,
}

impl Edit {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty() && self.status.is_none()
    }
}

impl Postmortem {
    /// A first draft of `incident`'s postmortem from `generated` section texts.
    pub fn draft(
        incident: &Incident,
        generated: Vec<(SectionName, String)>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Postmortem {
        let sections = generated
            .into_iter()
            .map(|(name, body)| Section {
                name,
                body,
                origin: Origin::Generated,
                updated_at: now,
                updated_by: actor.principal.clone(),
            })
            .collect();
        Postmortem {
            incident_id: incident.id,
            status: PostmortemStatus::Draft,
            version: 0,
            facts_as_of: now,
            facts_incident_status: incident.status,
            sections,
            created_by: actor.clone(),
            created_at: now,
            updated_at: now,
            published_at: None,
        }
    }

    /// Rewrites every generated section from `generated`; edited sections are kept. A published
    /// postmortem is not refreshed: move it back to draft first.
    pub fn refresh(
        &mut self,
        incident: &Incident,
        generated: Vec<(SectionName, String)>,
        principal: &str,
        now: DateTime<Utc>,
    ) -> Result<Refresh, TransitionError> {
        if self.status == PostmortemStatus::Published {
            return Err(TransitionError::Requires(format!(
                "the postmortem of {} is published, so draft_postmortem does not change it; move it back with update_postmortem (status: draft) to refresh its facts",
                incident.reference()
            )));
        }
        let mut outcome = Refresh::default();
        for (name, body) in generated {
            match self.sections.iter_mut().find(|s| s.name == name) {
                Some(section) if section.origin == Origin::Edited => {
                    outcome.kept_edited.push(name);
                }
                Some(section) if section.body == body => {}
                Some(section) => {
                    section.body = body;
                    section.updated_at = now;
                    section.updated_by = principal.to_owned();
                    outcome.refreshed.push(name);
                }
                None => {
                    self.sections.push(Section {
                        name,
                        body,
                        origin: Origin::Generated,
                        updated_at: now,
                        updated_by: principal.to_owned(),
                    });
                    outcome.refreshed.push(name);
                }
            }
        }
        self.sections.sort_by_key(|s| s.name.position());
        self.facts_as_of = now;
        self.facts_incident_status = incident.status;
        Ok(outcome)
    }

    /// Writes sections and/or moves the status, checking the status flow and, for publishing,
    /// that the postmortem is complete.
    pub fn edit(
        &mut self,
        incident: &Incident,
        edits: SectionEdits,
        status: Option<PostmortemStatus>,
        principal: &str,
        now: DateTime<Utc>,
    ) -> Result<Edit, EditError> {
        let reference = incident.reference();
        let target = status.unwrap_or(self.status);
        let move_to = (target != self.status).then_some(target);
        if let Some(to) = move_to
            && !self.status.allowed_next().contains(&to)
        {
            let refusal = flow_refusal(&reference.to_string(), self.status, to);
            return Err(TransitionError::Requires(refusal).into());
        }
        let writes: Vec<(SectionName, String)> = edits
            .into_inner()
            .into_iter()
            .filter(|(name, body)| self.section(*name).is_none_or(|s| s.body != *body))
            .collect();
        if let Some((name, _)) = writes.iter().find(|(_, body)| body.contains(PROMPT_MARKER)) {
            return Err(ValidationError::new(
                format!("sections.{name}"),
                format!(
                    "still contains the writer prompt (`{PROMPT_MARKER} …`): replace the prompt line with your own text"
                ),
            )
            .into());
        }
        let is_published = self.status == PostmortemStatus::Published;
        if !writes.is_empty() && is_published && target == PostmortemStatus::Published {
            return Err(TransitionError::Requires(format!(
                "the postmortem of {reference} is published and read-only; to correct it, send the sections together with status `draft` (it then needs review and publishing again)"
            ))
            .into());
        }
        // Work on a copy so that a refused publication leaves the postmortem as it was.
        let mut next = self.clone();
        let mut edit = Edit::default();
        for (name, body) in writes {
            let section = Section {
                name,
                body,
                origin: Origin::Edited,
                updated_at: now,
                updated_by: principal.to_owned(),
            };
            match next.sections.iter_mut().find(|s| s.name == name) {
                Some(existing) => *existing = section,
                None => next.sections.push(section),
            }
            edit.sections.push(name);
        }
        next.sections.sort_by_key(|s| s.name.position());
        if let Some(to) = move_to {
            if to == PostmortemStatus::Published {
                next.check_publishable(incident)?;
                next.published_at = Some(now);
            }
            edit.status = Some((next.status, to));
            next.status = to;
        }
        *self = next;
        Ok(edit)
    }

    /// The section called `name`.
    pub fn section(&self, name: SectionName) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Writer sections (seeded and narrative) that nobody has written yet.
    pub fn unwritten(&self) -> Vec<SectionName> {
        self.sections
            .iter()
            .filter(|s| s.needs_writing())
            .map(|s| s.name)
            .collect()
    }

    /// True when the facts were gathered while the incident was still open.
    pub fn is_drafted_while_open(&self) -> bool {
        self.facts_incident_status.is_open()
    }

    /// Why the facts are incomplete, when they were gathered while the incident was open.
    pub fn notice(&self, incident: &Incident) -> Option<String> {
        self.is_drafted_while_open().then(|| {
            format!(
                "{} was `{}` when these facts were gathered ({}): durations and the timeline are incomplete. Run draft_postmortem again after the incident is resolved.",
                incident.reference(),
                self.facts_incident_status,
                self.facts_as_of.format("%Y-%m-%d %H:%M UTC")
            )
        })
    }

    fn check_publishable(&self, incident: &Incident) -> Result<(), TransitionError> {
        let reference = incident.reference();
        if incident.status.is_open() {
            return Err(TransitionError::Requires(format!(
                "{reference} is still `{}`: resolve it first, then run draft_postmortem to refresh the facts, then publish",
                incident.status
            )));
        }
        if self.is_drafted_while_open() {
            return Err(TransitionError::Requires(format!(
                "the postmortem's facts were gathered on {} while {reference} was `{}`: run draft_postmortem again to refresh them (edited sections are kept), then publish",
                self.facts_as_of.format("%Y-%m-%d %H:%M UTC"),
                self.facts_incident_status
            )));
        }
        let unwritten = self.unwritten();
        if !unwritten.is_empty() {
            let names: Vec<&str> = unwritten.iter().map(|n| n.as_str()).collect();
            return Err(TransitionError::Requires(format!(
                "the postmortem of {reference} still has unwritten sections: {}; write them with update_postmortem (sections), then publish",
                names.join(", ")
            )));
        }
        Ok(())
    }
}

fn flow_refusal(reference: &str, from: PostmortemStatus, to: PostmortemStatus) -> String {
    let allowed: Vec<String> = from
        .allowed_next()
        .iter()
        .map(|s| format!("`{s}`"))
        .collect();
    let hint = if to == PostmortemStatus::Published {
        " (a postmortem is reviewed before it is published: move it to `in_review` first)"
    } else {
        ""
    };
    format!(
        "the postmortem of {reference} cannot move from `{from}` to `{to}`{hint}; allowed from `{from}`: {}",
        allowed.join(", ")
    )
}

/// Whether `incident` may move to `closed`, given its postmortem's status (`None`: not drafted).
/// SEV1 and SEV2 incidents need a published postmortem; other incidents close freely.
pub fn close_gate(
    incident: &Incident,
    postmortem: Option<PostmortemStatus>,
) -> Result<(), TransitionError> {
    if !incident.severity.is_major() || postmortem == Some(PostmortemStatus::Published) {
        return Ok(());
    }
    let state = match postmortem {
        None => "has no postmortem yet".to_owned(),
        Some(status) => format!("has a postmortem in `{status}`"),
    };
    Err(TransitionError::Requires(format!(
        "{} is {} (a major incident) and {state}: it cannot be closed until its postmortem is published. Run draft_postmortem, write the unwritten sections with update_postmortem, move it to `in_review`, then to `published` (update_postmortem status), and close again",
        incident.reference(),
        incident.severity
    )))
}

#[cfg(test)]
mod tests;
