//! Role assignments: a new holder ends the previous one's turn; history is kept.

use chrono::Utc;
use serde_json::json;

use crate::app::write::{Write, Written};
use crate::app::{App, Result, commit, load};
use crate::domain::{
    EntryKind, IncidentRef, NewEntry, NewRoleAssignment, Role, RoleAssignment, validation,
};
use crate::store;

/// An incident's current role holders after an assignment.
#[derive(Debug, Clone)]
pub struct Roles {
    /// The incident's reference (`INC-<n>`).
    pub incident: String,
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
        let mut tx = self.begin().await?;
        if let Some(first) = write.claim(&mut tx, now).await? {
            return Ok(Written::Replayed(first));
        }
        // The row lock serialises role changes on one incident.
        let incident = load(&mut tx, reference, true).await?;
        if !store::roles::is_current(&mut tx, incident.id, &assignment).await? {
            let previous = if role.is_single_holder() {
                store::roles::close_current(&mut tx, incident.id, role, now).await?
            } else {
                None
            };
            store::roles::insert(&mut tx, incident.id, &assignment, actor, now).await?;
            let body = match &previous {
                Some(previous) => format!("{role}: {previous} → {}", assignment.assignee),
                None => format!("{} is {role}", assignment.assignee),
            };
            let data = json!({"role": role.as_str(), "from": previous, "to": assignment.assignee});
            let entry = NewEntry::system(EntryKind::RoleChange, body, Some(data.to_string()), now);
            store::timeline::append(&mut tx, incident.id, &[entry], actor, now).await?;
        }
        let roles = Roles {
            incident: incident.reference(),
            roles: store::roles::current(&mut tx, incident.id).await?,
        };
        write.remember(&mut tx, &roles).await?;
        commit(tx).await?;
        Ok(Written::Applied(roles))
    }
}
