//! Incident roles and their assignment history.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::actor::Actor;
use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// A role on an incident.
    pub enum Role ("role") {
        /// Leads the response; one holder at a time.
        Commander = "commander" | "incident_commander" | "ic",
        /// Leads the technical work; one holder at a time.
        TechLead = "tech_lead" | "technical_lead",
        /// Owns communication; one holder at a time.
        CommsLead = "comms_lead" | "communications_lead" | "comms",
        /// Keeps the timeline; one holder at a time.
        Scribe = "scribe",
        /// Any number of people working the incident.
        Responder = "responder",
    }
}

impl Role {
    /// True for roles held by one person at a time: assigning one ends the previous holder's turn.
    pub fn is_single_holder(self) -> bool {
        self != Role::Responder
    }
}

/// A role assignment, current or past.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    /// Assignment id.
    pub id: Uuid,
    /// The role.
    pub role: Role,
    /// Who holds it.
    pub assignee: String,
    /// From when.
    pub assigned_at: DateTime<Utc>,
    /// Until when; `None` while current.
    pub unassigned_at: Option<DateTime<Utc>>,
    /// Who assigned it.
    pub assigned_by: Actor,
}

/// A role assignment to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoleAssignment {
    /// The role.
    pub role: Role,
    /// Who takes it.
    pub assignee: String,
}
