//! Status changes: check the transition, stamp timestamps and append the timeline entry in one
//! transaction.

use chrono::Utc;

use crate::app::write::{Write, Written};
use crate::app::{App, Error, Result, check_version, load};
use crate::domain::postmortem;
use crate::domain::timeline::data::{EntryData, MergedFrom, StatusMoved};
use crate::domain::{
    EntryKind, Incident, IncidentRef, MergeTarget, NewEntry, Status, StatusChange, Transition,
    validation,
};
use crate::store::{self, Lock};

/// A requested status change, as the caller named it.
#[derive(Debug, Clone)]
pub struct StatusRequest {
    /// The status to move to.
    pub to: Status,
    /// Why (required to reopen; the resolution when resolving).
    pub note: Option<String>,
    /// The absorbing incident, when merging.
    pub merged_into: Option<IncidentRef>,
    /// Fails with `conflict` unless the incident is at this version.
    pub expected_version: Option<i64>,
}

/// An incident after a status change.
#[derive(Debug, Clone)]
pub struct StatusChanged {
    /// The incident as saved.
    pub incident: Incident,
    /// The number of the incident it was merged into, when this change merged it.
    pub merged_into: Option<i64>,
}

impl App {
    /// Moves an incident to another status.
    #[tracing::instrument(skip_all, fields(incident = %reference, to = %request.to))]
    pub async fn change_status(
        &self,
        write: &Write<'_, StatusChanged>,
        reference: IncidentRef,
        request: StatusRequest,
    ) -> Result<Written<StatusChanged>> {
        let note = request
            .note
            .map(|n| validation::required_text("note", n))
            .transpose()?;
        let now = Utc::now();
        let actor = write.actor();
        self.write_in_transaction(write, now, async |tx| {
            let mut incident = load(tx, reference, Lock::ForUpdate).await?;
            check_version(&incident, request.expected_version)?;
            let merged_into = match request.merged_into {
                Some(target) => Some(merge_target(tx, target).await?),
                None => None,
            };
            let transition = Transition {
                to: request.to,
                note: note.clone(),
                merged_into: merged_into.clone(),
            };
            let change = incident
                .change_status(transition, now)
                .map_err(|e| Error::transition(incident.reference(), e))?;
            if change.to == Status::Closed {
                // Share-locked: the postmortem cannot leave `published` before this commits.
                let postmortem = store::postmortems::status(tx, incident.id).await?;
                postmortem::close_gate(&incident, postmortem)
                    .map_err(|e| Error::transition(incident.reference(), e))?;
            }
            let entry = status_entry(&incident, &change, note.as_deref(), now);
            // The row is locked, so the version read is still current: this always writes.
            let saved = store::incidents::save_with_entries(tx, &incident, &[entry], actor, now)
                .await?
                .ok_or_else(|| Error::Conflict(format!("{reference} changed under its lock")))?;
            if let Some(target) = &merged_into {
                let body = format!(
                    "{} ({}) was merged into this incident",
                    saved.reference(),
                    saved.title
                );
                let data = EntryData::MergedFrom(MergedFrom {
                    merged_from: saved.number,
                });
                let entry = NewEntry::system(EntryKind::StatusChange, body, Some(data), now);
                store::timeline::append(tx, target.id, &[entry], actor, now).await?;
            }
            let changed = StatusChanged {
                merged_into: merged_into.map(|target| target.number),
                incident: saved,
            };
            Ok(changed)
        })
        .await
    }

    /// Resolves an incident with a resolution summary.
    pub async fn resolve_incident(
        &self,
        write: &Write<'_, StatusChanged>,
        reference: IncidentRef,
        resolution: String,
        expected_version: Option<i64>,
    ) -> Result<Written<StatusChanged>> {
        let resolution = validation::required_text("resolution", resolution)?;
        let request = StatusRequest {
            to: Status::Resolved,
            note: Some(resolution),
            merged_into: None,
            expected_version,
        };
        self.change_status(write, reference, request).await
    }
}

/// Loads (and locks) the incident being merged into.
async fn merge_target(conn: &mut sqlx::PgConnection, target: IncidentRef) -> Result<MergeTarget> {
    let incident = store::incidents::find(conn, target, Lock::ForUpdate)
        .await?
        .ok_or_else(|| {
            Error::Invalid(crate::domain::ValidationError::new(
                "merged_into",
                format!("names {target}, which does not exist"),
            ))
        })?;
    Ok(MergeTarget {
        id: incident.id,
        number: incident.number,
        status: incident.status,
    })
}

fn status_entry(
    incident: &Incident,
    change: &StatusChange,
    note: Option<&str>,
    now: chrono::DateTime<Utc>,
) -> NewEntry {
    let mut body = if change.is_reopen {
        format!("Reopened: {} → {}", change.from, change.to)
    } else {
        format!("Status {} → {}", change.from, change.to)
    };
    if let Some(note) = note {
        body.push_str(": ");
        body.push_str(note);
    }
    let data = EntryData::StatusMoved(StatusMoved {
        from: change.from,
        to: change.to,
        stamped: change.stamped.iter().map(|s| (*s).to_owned()).collect(),
        reopen: change.is_reopen,
        merged_into: incident.merged_into,
    });
    NewEntry::system(EntryKind::StatusChange, body, Some(data), now)
}
