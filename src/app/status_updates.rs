//! Posting a stakeholder update: checked for its audience (a public one names no one and only
//! the status page's components), then written as a `stakeholder_update` timeline entry in one
//! transaction, which also records the notification event for it (the outbox trigger).

use chrono::{DateTime, Utc};

use crate::app::write::{Write, Written};
use crate::app::{App, Error, Result, load};
use crate::domain::status_update::{PeopleOnIncident, StakeholderUpdate, UpdateDraft};
use crate::domain::{
    EntryData, EntryKind, IncidentRef, NewEntry, Status, TimelineEntry, Visibility,
};
use crate::store::{self, Lock};

/// An update that was posted.
#[derive(Debug, Clone)]
pub struct PostedUpdate {
    /// The incident's reference.
    pub incident: IncidentRef,
    /// The incident's own status (which the update does not change).
    pub incident_status: Status,
    /// The stored entry (its body is the message).
    pub entry: TimelineEntry,
    /// What was published, exactly.
    pub update: StakeholderUpdate,
    /// Where a public update can be seen, when the server knows its public address.
    pub page_url: Option<String>,
}

impl App {
    /// Posts a stakeholder update on an incident.
    #[tracing::instrument(skip_all, fields(incident = %reference))]
    pub async fn post_status_update(
        &self,
        write: &Write<'_, PostedUpdate>,
        reference: IncidentRef,
        draft: UpdateDraft,
    ) -> Result<Written<PostedUpdate>> {
        let now = Utc::now();
        let actor = write.actor();
        let page = &self.settings().status_page;
        self.write_in_transaction(write, now, async |tx| {
            let incident = load(tx, reference, Lock::None).await?;
            if incident.status == Status::Merged {
                let into = incident.merged_into.map(IncidentRef::Id);
                return Err(Error::Conflict(format!(
                    "{} was merged{}; post updates on the incident it was merged into",
                    incident.reference(),
                    into.map(|_| " into another incident").unwrap_or_default()
                )));
            }
            let mut people = PeopleOnIncident {
                names: store::status_updates::people(tx, incident.id).await?,
            };
            people.names.push(actor.principal.clone());
            let previous = store::status_updates::last_public_title(tx, incident.id).await?;
            let checked =
                draft.check(&page.public_services(), previous.as_deref(), &people, now)?;
            let public = checked.data.audience == crate::domain::status_update::Audience::Public;
            let entry = NewEntry {
                kind: EntryKind::StakeholderUpdate,
                body: checked.message,
                occurred_at: now,
                visibility: if public {
                    Visibility::Public
                } else {
                    Visibility::Internal
                },
                data: Some(EntryData::StakeholderUpdate(checked.data.clone())),
            };
            let mut stored = store::timeline::append(tx, incident.id, &[entry], actor, now).await?;
            Ok(PostedUpdate {
                incident: incident.reference(),
                incident_status: incident.status,
                entry: stored.remove(0),
                update: checked.data,
                page_url: public
                    .then(|| page.public_url.as_ref().map(|u| format!("{u}/status")))
                    .flatten(),
            })
        })
        .await
    }
}

/// The newest update for one audience, as the brief shows it.
#[derive(Debug, Clone)]
pub struct LastUpdate {
    /// The update.
    pub update: StakeholderUpdate,
    /// Its message.
    pub message: String,
    /// When it was posted.
    pub posted_at: DateTime<Utc>,
    /// Who posted it.
    pub by: String,
    /// True when the promised next update is late.
    pub next_update_overdue: bool,
    /// True for a public update that is not `resolved` on an incident that is over: the status
    /// page still shows the incident as ongoing.
    pub page_still_open: bool,
}

impl LastUpdate {
    /// The update an entry records, if it is one, on an incident that is still open or not.
    pub fn from_entry(
        entry: &TimelineEntry,
        incident_open: bool,
        now: DateTime<Utc>,
    ) -> Option<LastUpdate> {
        let Some(EntryData::StakeholderUpdate(update)) = &entry.data else {
            return None;
        };
        let unresolved = update.status != crate::domain::status_update::PageStatus::Resolved;
        Some(LastUpdate {
            next_update_overdue: incident_open
                && crate::domain::status_update::next_update_overdue(update, now),
            page_still_open: !incident_open
                && unresolved
                && update.audience == crate::domain::status_update::Audience::Public,
            update: update.clone(),
            message: entry.body.clone(),
            posted_at: entry.occurred_at,
            by: entry.actor.principal.clone(),
        })
    }
}
