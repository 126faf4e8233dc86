//! Postmortems: draft one from the recorded facts (refreshing only what nobody edited), read it,
//! edit its sections and move it through review. Each change is recorded on the incident's
//! timeline with its actor.

mod facts;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::app::write::{Write, Written};
use crate::app::{App, Error, Result, load};
use crate::domain::postmortem::{
    self, Edit, EditError, Postmortem, PostmortemStatus, Refresh, Section, SectionEdits,
    SectionName,
};
use crate::domain::timeline::data::{
    EditAction, EditedObject, EntryData, PostmortemDrafted, PostmortemUpdated, StatusStep,
};
use crate::domain::{EntryKind, Incident, IncidentRef, NewEntry, Status, TransitionError};
use crate::store::{self, Lock};

/// A postmortem with the incident it belongs to.
#[derive(Debug, Clone)]
pub struct PostmortemDocument {
    /// The incident (as of this answer).
    pub incident: Incident,
    /// The postmortem.
    pub postmortem: Postmortem,
    /// The rendered markdown, when it was asked for.
    pub markdown: Option<String>,
}

/// The answer to `draft_postmortem`.
#[derive(Debug, Clone)]
pub struct Drafted {
    /// The postmortem, rendered.
    pub document: PostmortemDocument,
    /// True when this call created the postmortem.
    pub is_new: bool,
    /// Which sections were refreshed and which were kept as edited.
    pub refresh: Refresh,
}

/// The answer to `update_postmortem`.
#[derive(Debug, Clone)]
pub struct Updated {
    /// The postmortem (not rendered).
    pub document: PostmortemDocument,
    /// What changed.
    pub edit: Edit,
}

/// Whether a postmortem is read with its rendered document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// Render the document (the template runs).
    Markdown,
    /// Sections only.
    SectionsOnly,
}

/// A requested change to a postmortem.
#[derive(Debug, Clone, Default)]
pub struct PostmortemUpdate {
    /// Section name → new markdown.
    pub sections: BTreeMap<String, String>,
    /// The status to move to.
    pub status: Option<PostmortemStatus>,
    /// Fails with `conflict` unless the postmortem is at this version.
    pub expected_version: Option<i64>,
}

impl App {
    /// Creates the incident's postmortem from the recorded facts, or refreshes its generated
    /// sections; sections someone edited are kept. Works on a live incident (the draft says so).
    #[tracing::instrument(skip_all, fields(incident = %reference))]
    pub async fn draft_postmortem(
        &self,
        write: &Write<'_, Drafted>,
        reference: IncidentRef,
    ) -> Result<Written<Drafted>> {
        let now = Utc::now();
        let actor = write.actor();
        self.write_in_transaction(write, now, async |tx| {
            // The incident lock serialises drafts, so two first drafts cannot both insert.
            let incident = load(tx, reference, Lock::ForUpdate).await?;
            refuse_non_incidents(&incident)?;
            let gathered = facts::gather(tx, &incident).await?;
            let generated = postmortem::generate(&gathered.facts(&incident), now);
            let existing = store::postmortems::find(tx, incident.id, Lock::ForUpdate).await?;
            let (mut postmortem, refresh, is_new, is_changed) = match existing {
                Some(mut postmortem) => {
                    let was = postmortem.facts_incident_status;
                    let refresh = postmortem
                        .refresh(&incident, generated, &actor.principal, now)
                        .map_err(|e| Error::transition(incident.reference(), e))?;
                    let is_changed = !refresh.refreshed.is_empty() || was != incident.status;
                    (postmortem, refresh, false, is_changed)
                }
                None => {
                    let postmortem = Postmortem::draft(&incident, generated, actor, now);
                    let refresh = Refresh {
                        refreshed: SectionName::ALL.to_vec(),
                        kept_edited: Vec::new(),
                    };
                    (postmortem, refresh, true, true)
                }
            };
            // When nothing changed nothing is written: drafting again is idempotent.
            if is_changed {
                let sections: Vec<&Section> = postmortem
                    .sections
                    .iter()
                    .filter(|s| refresh.refreshed.contains(&s.name))
                    .collect();
                let version =
                    store::postmortems::save(tx, &postmortem, &sections, actor, now).await?;
                postmortem.version = version;
                postmortem.updated_at = now;
                let entry = draft_entry(&incident, &postmortem, &refresh, is_new, now);
                store::timeline::append(tx, incident.id, &[entry], actor, now).await?;
            }
            // Rendered before committing: a template that fails leaves nothing half-done.
            let markdown = self.render_postmortem(&incident, &postmortem)?;
            let drafted = Drafted {
                document: PostmortemDocument {
                    incident,
                    postmortem,
                    markdown: Some(markdown),
                },
                is_new,
                refresh,
            };
            Ok(drafted)
        })
        .await
    }

    /// The incident's postmortem, rendered to markdown when `rendering` asks for it.
    #[tracing::instrument(skip_all, fields(incident = %reference))]
    pub async fn postmortem(
        &self,
        reference: IncidentRef,
        rendering: Rendering,
    ) -> Result<PostmortemDocument> {
        let mut conn = self.autocommit().await?;
        let incident = load(&mut conn, reference, Lock::None).await?;
        let postmortem = store::postmortems::find(&mut conn, incident.id, Lock::None)
            .await?
            .ok_or_else(|| Error::NoPostmortem(incident.reference()))?;
        let markdown = if rendering == Rendering::Markdown {
            Some(self.render_postmortem(&incident, &postmortem)?)
        } else {
            None
        };
        Ok(PostmortemDocument {
            incident,
            postmortem,
            markdown,
        })
    }

    /// The incident's postmortem as markdown, or `None` when it has not been drafted yet.
    #[tracing::instrument(skip_all, fields(incident = %reference))]
    pub async fn postmortem_markdown(&self, reference: IncidentRef) -> Result<Option<String>> {
        match self.postmortem(reference, Rendering::Markdown).await {
            Ok(document) => Ok(document.markdown),
            Err(Error::NoPostmortem(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Writes sections and/or moves the postmortem's status (`draft` → `in_review` → `published`,
    /// back to `draft` from either). Written sections become `edited`; sending a section's
    /// current text again changes nothing.
    #[tracing::instrument(skip_all, fields(incident = %reference))]
    pub async fn update_postmortem(
        &self,
        write: &Write<'_, Updated>,
        reference: IncidentRef,
        update: PostmortemUpdate,
    ) -> Result<Written<Updated>> {
        let edits = SectionEdits::parse(update.sections)?;
        if edits.is_empty() && update.status.is_none() {
            return Err(crate::domain::ValidationError::new(
                "sections",
                "is empty and no `status` was given: send sections ({\"what_went_well\": \"…\"}), a status (draft, in_review, published), or both",
            )
            .into());
        }
        let now = Utc::now();
        let actor = write.actor();
        self.write_in_transaction(write, now, async |tx| {
            let incident = load(tx, reference, Lock::None).await?;
            let mut postmortem = store::postmortems::find(tx, incident.id, Lock::ForUpdate)
                .await?
                .ok_or_else(|| Error::NoPostmortem(incident.reference()))?;
            if let Some(expected) = update.expected_version
                && expected != postmortem.version
            {
                return Err(Error::StaleObject {
                    object: format!("the postmortem of {}", incident.reference()),
                    expected,
                    current_version: postmortem.version,
                    read_with: "get_postmortem",
                });
            }
            let edit = postmortem
                .edit(&incident, edits, update.status, &actor.principal, now)
                .map_err(|err| match err {
                    EditError::Invalid(invalid) => Error::Invalid(invalid),
                    EditError::Refused(refusal) => Error::transition(incident.reference(), refusal),
                })?;
            if !edit.is_empty() {
                let sections: Vec<&Section> = postmortem
                    .sections
                    .iter()
                    .filter(|s| edit.sections.contains(&s.name))
                    .collect();
                let version =
                    store::postmortems::save(tx, &postmortem, &sections, actor, now).await?;
                postmortem.version = version;
                postmortem.updated_at = now;
                let entry = edit_entry(&postmortem, &edit, now);
                store::timeline::append(tx, incident.id, &[entry], actor, now).await?;
            }
            let updated = Updated {
                document: PostmortemDocument {
                    incident,
                    postmortem,
                    markdown: None,
                },
                edit,
            };
            Ok(updated)
        })
        .await
    }

    fn render_postmortem(&self, incident: &Incident, postmortem: &Postmortem) -> Result<String> {
        let template = self.settings().postmortem_template.as_deref();
        Ok(postmortem::render(template, incident, postmortem)?)
    }
}

/// A declined or merged incident has no postmortem of its own.
fn refuse_non_incidents(incident: &Incident) -> Result<()> {
    let reason = match incident.status {
        Status::Declined => format!(
            "{} was declined (not an incident), so it gets no postmortem",
            incident.reference()
        ),
        Status::Merged => format!(
            "{} was merged into another incident: draft the postmortem of that incident (see merged_into in get_incident)",
            incident.reference()
        ),
        _ => return Ok(()),
    };
    Err(Error::transition(
        incident.reference(),
        TransitionError::Requires(reason),
    ))
}

fn draft_entry(
    incident: &Incident,
    postmortem: &Postmortem,
    refresh: &Refresh,
    is_new: bool,
    now: DateTime<Utc>,
) -> NewEntry {
    let refreshed = names(&refresh.refreshed);
    let kept = names(&refresh.kept_edited);
    let mut body = if is_new {
        format!("Postmortem drafted (version {})", postmortem.version)
    } else {
        format!(
            "Postmortem facts refreshed (version {}): {}",
            postmortem.version,
            if refreshed.is_empty() {
                "no section changed".to_owned()
            } else {
                refreshed.join(", ")
            }
        )
    };
    if !kept.is_empty() {
        body.push_str(&format!("; kept edited: {}", kept.join(", ")));
    }
    if incident.status.is_open() {
        body.push_str(&format!(
            " (the incident is still `{}`, not resolved)",
            incident.status
        ));
    }
    let data = EntryData::PostmortemDrafted(PostmortemDrafted {
        object: EditedObject::Postmortem,
        action: if is_new {
            EditAction::Drafted
        } else {
            EditAction::Refreshed
        },
        version: postmortem.version,
        refreshed: refresh.refreshed.clone(),
        kept_edited: refresh.kept_edited.clone(),
        incident_status: incident.status,
    });
    NewEntry::system(EntryKind::FieldChange, body, Some(data), now)
}

fn edit_entry(postmortem: &Postmortem, edit: &Edit, now: DateTime<Utc>) -> NewEntry {
    let sections = names(&edit.sections);
    let mut parts = Vec::new();
    if !sections.is_empty() {
        parts.push(format!("edited {}", sections.join(", ")));
    }
    if let Some((from, to)) = edit.status {
        parts.push(format!("status {from} → {to}"));
    }
    let body = format!(
        "Postmortem {} (version {})",
        parts.join("; "),
        postmortem.version
    );
    let data = EntryData::PostmortemUpdated(PostmortemUpdated {
        object: EditedObject::Postmortem,
        action: EditAction::Updated,
        version: postmortem.version,
        sections: edit.sections.clone(),
        status: edit.status.map(|(from, to)| StatusStep { from, to }),
    });
    NewEntry::system(EntryKind::FieldChange, body, Some(data), now)
}

fn names(sections: &[SectionName]) -> Vec<&'static str> {
    sections.iter().map(|s| s.as_str()).collect()
}
