//! Role assignments: a new holder ends the previous one's turn; history is kept.

use chrono::Utc;

use crate::app::write::{Write, Written};
use crate::app::{App, Result, load};
use crate::domain::timeline::data::{EntryData, RoleChanged};
use crate::domain::{
    EntryKind, IncidentRef, NewEntry, NewRoleAssignment, Role, RoleAssignment, validation,
};
use crate::store::{self, Lock};

/// An incident's current role holders after an assignment.
#[derive(Debug, Clone)]
pub struct Roles {
    /// The incident's reference (`INC-<n>`).
    pub incident: IncidentRef,
    /// Current holders.
    pub roles: Vec<RoleAssignment>,
}

impl App {
    /// Assigns `role` to `assignee` and returns the incident's current roles. Assigning the
    /// current holder again changes nothing.
    #[tracing::instrument(skip_all, fields(incident = %reference, role = %role))]
    pub async fn assign_role(
        &self,
        write: &Write<'_, Roles>,
        reference: IncidentRef,
        role: Role,
        assignee: &str,
    ) -> Result<Written<Roles>> {
        let assignment = NewRoleAssignment {
            role,
            assignee: validation::name("assignee", assignee)?,
        };
        let now = Utc::now();
        let actor = write.actor();
        self.write_in_transaction(write, now, async |tx| {
            // The row lock serialises role changes on one incident.
            let incident = load(tx, reference, Lock::ForUpdate).await?;
            if !store::roles::is_current(tx, incident.id, &assignment).await? {
                let previous = if role.is_single_holder() {
                    store::roles::close_current(tx, incident.id, role, now).await?
                } else {
                    None
                };
                store::roles::insert(tx, incident.id, &assignment, actor, now).await?;
                let body = match &previous {
                    Some(previous) => format!("{role}: {previous} → {}", assignment.assignee),
                    None => format!("{} is {role}", assignment.assignee),
                };
                let data = EntryData::RoleChanged(RoleChanged {
                    role,
                    from: previous,
                    to: assignment.assignee.clone(),
                });
                let entry = NewEntry::system(EntryKind::RoleChange, body, Some(data), now);
                store::timeline::append(tx, incident.id, &[entry], actor, now).await?;
            }
            let roles = Roles {
                incident: incident.reference(),
                roles: store::roles::current(tx, incident.id).await?,
            };
            Ok(roles)
        })
        .await
    }
}
