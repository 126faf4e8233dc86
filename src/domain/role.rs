//! Incident roles and their assignment history.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::actor::Actor;

/// A role on an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Leads the response; one holder at a time.
    Commander,
    /// Leads the technical work; one holder at a time.
    TechLead,
    /// Owns communication; one holder at a time.
    CommsLead,
    /// Keeps the timeline; one holder at a time.
    Scribe,
    /// Any number of people working the incident.
    Responder,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Commander,
        Role::TechLead,
        Role::CommsLead,
        Role::Scribe,
        Role::Responder,
    ];

    /// The wire spelling, e.g. `tech_lead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Commander => "commander",
            Role::TechLead => "tech_lead",
            Role::CommsLead => "comms_lead",
            Role::Scribe => "scribe",
            Role::Responder => "responder",
        }
    }

    /// True for roles held by one person at a time: assigning one ends the previous holder's turn.
    pub fn is_single_holder(self) -> bool {
        self != Role::Responder
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
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
