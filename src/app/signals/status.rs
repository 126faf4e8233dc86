//! Status moves that signals make on their own (an acknowledge leaves triage; all alerts
//! resolved may move to monitoring or resolve): the same rule, timestamps and timeline entry
//! as a responder's move, in the delivery's transaction. A move the lifecycle refuses is not
//! an error for the sender: it is reported back as the reason nothing moved.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::app::Result;
use crate::domain::timeline::data::{EntryData, StatusMoved};
use crate::domain::{Actor, EntryKind, IncidentRef, NewEntry, Status, Transition};
use crate::store::{self, Lock};

/// Moves the incident to `to` with `note`; `Ok(Err(why))` when the lifecycle refuses.
pub(super) async fn move_status(
    conn: &mut PgConnection,
    incident_id: Uuid,
    to: Status,
    note: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<std::result::Result<(), String>> {
    let Some(mut incident) =
        store::incidents::find(conn, IncidentRef::Id(incident_id), Lock::ForUpdate).await?
    else {
        return Ok(Err("the incident no longer exists".into()));
    };
    let transition = Transition {
        to,
        note: Some(note.to_owned()),
        merged_into: None,
    };
    let change = match incident.change_status(transition, now) {
        Ok(change) => change,
        Err(err) => return Ok(Err(err.to_string())),
    };
    let data = EntryData::StatusMoved(StatusMoved {
        from: change.from,
        to: change.to,
        stamped: change.stamped.iter().map(|s| (*s).to_owned()).collect(),
        reopen: false,
        merged_into: None,
    });
    let body = format!("Status {} → {}: {note}", change.from, change.to);
    let entry = NewEntry::system(EntryKind::StatusChange, body, Some(data), now);
    store::incidents::save_with_entries(conn, &incident, &[entry], actor, now).await?;
    Ok(Ok(()))
}
