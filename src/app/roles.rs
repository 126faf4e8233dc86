//! Role assignments: a new holder ends the previous one's turn; history is kept.

use chrono::Utc;
use serde_json::json;

use crate::app::{App, Result, commit, load};
use crate::domain::{
    Actor, EntryKind, IncidentRef, NewEntry, NewRoleAssignment, Role, RoleAssignment, validation,
};
use crate::store;

impl App {
    /// Assigns `role` to `assignee` and returns the incident's reference (`INC-<n>`) with its
    /// current roles. Assigning the current holder again changes nothing.
    #[tracing::instrument(skip_all, fields(incident = %reference, role = %role))]
    pub async fn assign_role(
        &self,
        actor: &Actor,
        reference: IncidentRef,
        role: Role,
        assignee: &str,
    ) -> Result<(String, Vec<RoleAssignment>)> {
        let assignment = NewRoleAssignment {
            role,
            assignee: validation::name("assignee", assignee)?,
        };
        let now = Utc::now();
        let mut tx = self.begin().await?;
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
        let roles = store::roles::current(&mut tx, incident.id).await?;
        commit(tx).await?;
        Ok((incident.reference(), roles))
    }
}
