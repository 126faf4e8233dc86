//! Stakeholder updates: what responders tell people outside the response, for an audience they
//! must name (`internal`, `stakeholders` or `public`), in status-page words (Atlassian
//! Statuspage's vocabulary, which customers and models both know).
//!
//! A public update is what the status page shows. It carries no names: its text may not mention
//! the people working the incident, and it is published exactly as written (nothing internal is
//! attached to it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ValidationError;
use crate::domain::validation;
use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// Who an update is for. There is no default: the writer must choose.
    pub enum Audience ("audience") {
        /// The responders' own channel.
        Internal = "internal",
        /// Colleagues outside the response: leadership, support, account teams.
        Stakeholders = "stakeholders" | "stakeholder",
        /// Customers: the public status page.
        Public = "public" | "external" | "customers",
    }
}

vocabulary! {
    /// Where the response stands, as a status page says it.
    pub enum PageStatus ("status") {
        /// Looking into it.
        Investigating = "investigating",
        /// The cause is known and a fix is under way.
        Identified = "identified",
        /// A fix is in place and being watched.
        Monitoring = "monitoring" | "mitigated",
        /// Over.
        Resolved = "resolved",
    }
}

vocabulary! {
    /// How a service is doing, as a status page component says it (best first).
    pub enum ServiceState ("service state") {
        /// Working normally.
        Operational = "operational" | "ok" | "up",
        /// Slow or erroring for some.
        DegradedPerformance = "degraded_performance" | "degraded",
        /// Down for some.
        PartialOutage = "partial_outage" | "partial",
        /// Down.
        MajorOutage = "major_outage" | "major" | "down",
    }
}

impl ServiceState {
    /// How bad it is: 0 (operational) to 3 (major outage).
    pub fn rank(self) -> u8 {
        match self {
            ServiceState::Operational => 0,
            ServiceState::DegradedPerformance => 1,
            ServiceState::PartialOutage => 2,
            ServiceState::MajorOutage => 3,
        }
    }

    /// Words for people: `degraded performance`.
    pub fn words(self) -> &'static str {
        match self {
            ServiceState::Operational => "operational",
            ServiceState::DegradedPerformance => "degraded performance",
            ServiceState::PartialOutage => "partial outage",
            ServiceState::MajorOutage => "major outage",
        }
    }
}

/// One affected service and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectedService {
    /// The service (a slug, as incidents name services).
    pub service: String,
    /// Its state.
    pub state: ServiceState,
}

/// The structured part of a `stakeholder_update` timeline entry (its body is the message):
/// `{"audience", "status", "services", "next_update_at", "public_title"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakeholderUpdate {
    /// Who it is for.
    pub audience: Audience,
    /// Where the response stands.
    pub status: PageStatus,
    /// The services affected, with their state.
    pub services: Vec<AffectedService>,
    /// When the next update is promised.
    pub next_update_at: Option<DateTime<Utc>>,
    /// The incident's name on the status page (public updates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_title: Option<String>,
}

/// Longest message.
pub const MESSAGE_MAX_CHARS: usize = 4000;
/// Most affected services per update.
pub const SERVICES_MAX: usize = 50;
/// Furthest a next update may be promised.
pub const NEXT_UPDATE_MAX: chrono::Duration = chrono::Duration::days(7);

/// An update as a caller sends it (its words already parsed), before checking.
#[derive(Debug, Clone)]
pub struct UpdateDraft {
    /// Who it is for (required).
    pub audience: Audience,
    /// Where the response stands (required).
    pub status: PageStatus,
    /// The message (required, markdown).
    pub message: String,
    /// Affected services: `(service, state)`.
    pub services: Vec<(String, ServiceState)>,
    /// When the next update is promised.
    pub next_update_at: Option<DateTime<Utc>>,
    /// The incident's public name (public updates).
    pub public_title: Option<String>,
}

/// Who an update must not name when it is public: the incident's role holders and the
/// principals of the people that wrote on it.
#[derive(Debug, Clone, Default)]
pub struct PeopleOnIncident {
    /// Names, as recorded (role assignees such as `Alice Chen (SRE)`, writers' principals such
    /// as `alice.smith` or `bob@example.com`). Each is checked by its parts of 3 letters or more;
    /// generic principals ([`GENERIC_PRINCIPALS`]) and the status page's components are not.
    pub names: Vec<String>,
}

/// Principals and name parts that name a role or a machine, not a person, and are ordinary
/// words in an update (`API errors`, `the web app`).
pub const GENERIC_PRINCIPALS: &[&str] = &[
    "local",
    "root",
    "admin",
    "bot",
    "ci",
    "ops",
    "api",
    "app",
    "web",
    "firebreak",
    "sre",
    "oncall",
];

/// A checked update: the message and its structured part.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedUpdate {
    /// The message, trimmed.
    pub message: String,
    /// The structured part.
    pub data: StakeholderUpdate,
}

impl UpdateDraft {
    /// Checks the draft. `public_services` lists the services the status page shows (a public
    /// update may only name those); `previous_public_title` is the title of the incident's last
    /// public update (a first public update must bring one); `people` are the names a public
    /// update may not carry.
    pub fn check(
        self,
        public_services: &[String],
        previous_public_title: Option<&str>,
        people: &PeopleOnIncident,
        now: DateTime<Utc>,
    ) -> Result<CheckedUpdate, ValidationError> {
        let (audience, status) = (self.audience, self.status);
        let message = validation::required_text("message", self.message)?;
        if message.chars().count() > MESSAGE_MAX_CHARS {
            return Err(ValidationError::new(
                "message",
                format!(
                    "is {} characters; an update is at most {MESSAGE_MAX_CHARS}: say what changed and link the detail",
                    message.chars().count()
                ),
            ));
        }
        let services = affected_services(self.services)?;
        let next_update_at = next_update(self.next_update_at, status, now)?;
        let public_title = match audience {
            Audience::Public => {
                check_public_services(&services, public_services)?;
                check_no_names_in("message", &message, people, public_services)?;
                Some(public_title(
                    self.public_title,
                    previous_public_title,
                    people,
                    public_services,
                )?)
            }
            _ if self.public_title.is_some() => {
                return Err(ValidationError::new(
                    "public_title",
                    "is only for `public` updates (the status page's name for the incident)",
                ));
            }
            _ => None,
        };
        Ok(CheckedUpdate {
            message,
            data: StakeholderUpdate {
                audience,
                status,
                services,
                next_update_at,
                public_title,
            },
        })
    }
}

fn affected_services(
    services: Vec<(String, ServiceState)>,
) -> Result<Vec<AffectedService>, ValidationError> {
    if services.len() > SERVICES_MAX {
        return Err(ValidationError::new(
            "services",
            format!("lists {} services; at most {SERVICES_MAX}", services.len()),
        ));
    }
    let mut checked: Vec<AffectedService> = Vec::with_capacity(services.len());
    for (i, (service, state)) in services.into_iter().enumerate() {
        let field = format!("services[{i}].service");
        let service = validation::services(&field, vec![service])?
            .pop()
            .ok_or_else(|| ValidationError::new(&field, "is required"))?;
        if checked.iter().any(|s| s.service == service) {
            return Err(ValidationError::new(
                &field,
                format!("`{service}` is listed twice; give each service once"),
            ));
        }
        checked.push(AffectedService { service, state });
    }
    Ok(checked)
}

fn next_update(
    at: Option<DateTime<Utc>>,
    status: PageStatus,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ValidationError> {
    let Some(at) = at else { return Ok(None) };
    if status == PageStatus::Resolved {
        return Err(ValidationError::new(
            "next_update_at",
            "a `resolved` update promises no next update: leave next_update_at out",
        ));
    }
    if at <= now {
        return Err(ValidationError::new(
            "next_update_at",
            "must be in the future (an RFC 3339 time such as 2026-12-01T10:30:00Z)",
        ));
    }
    if at - now > NEXT_UPDATE_MAX {
        return Err(ValidationError::new(
            "next_update_at",
            "is more than 7 days away; promise the next update within a week",
        ));
    }
    Ok(Some(at))
}

fn check_public_services(
    services: &[AffectedService],
    public_services: &[String],
) -> Result<(), ValidationError> {
    for (i, affected) in services.iter().enumerate() {
        if !public_services.contains(&affected.service) {
            let allowed = if public_services.is_empty() {
                "the status page has no components configured (status_page.components in the \
                 notifications file), so a public update names no services"
                    .to_owned()
            } else {
                format!("public components are: {}", public_services.join(", "))
            };
            return Err(ValidationError::new(
                format!("services[{i}].service"),
                format!(
                    "`{}` is not on the status page; {allowed}",
                    affected.service
                ),
            ));
        }
    }
    Ok(())
}

fn public_title(
    given: Option<String>,
    previous: Option<&str>,
    people: &PeopleOnIncident,
    public_services: &[String],
) -> Result<String, ValidationError> {
    match given {
        Some(title) => {
            let title = validation::title("public_title", &title)?;
            check_no_names_in("public_title", &title, people, public_services)?;
            Ok(title)
        }
        None => previous.map(str::to_owned).ok_or_else(|| {
            ValidationError::new(
                "public_title",
                "is required on an incident's first public update: the name customers see on the \
                 status page (e.g. `Checkout errors`); the internal title is never published",
            )
        }),
    }
}

/// Whether a promised next update is late: promised, not resolved, and past.
pub fn next_update_overdue(update: &StakeholderUpdate, now: DateTime<Utc>) -> bool {
    update.status != PageStatus::Resolved && update.next_update_at.is_some_and(|at| at < now)
}

mod names;

use names::check_no_names_in;

#[cfg(test)]
mod tests;
