//! The public status page: which services it shows (the operator's components) and how their
//! state and the page's headline follow from the public stakeholder updates.
//!
//! Only what was posted with audience `public` reaches the page, and of the services it names
//! only the configured components. An incident appears under the `public_title` of its latest
//! public update and its number (`INC-7`); its internal title and summary never do.

mod page;

pub use page::{ComponentStatus, HISTORY_DAYS, Page, PageIncident, PageUpdate, PublishedUpdate};

use crate::domain::status_update::ServiceState;

/// One component of the status page: a service shown under a public name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// The service, as incidents and updates name it.
    pub service: String,
    /// Its name on the page (e.g. `Checkout`).
    pub name: String,
    /// A line under the name.
    pub description: Option<String>,
}

/// The page as the operator configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageConfig {
    /// The page's title (e.g. `Example Inc. status`).
    pub title: String,
    /// The components, in the order shown.
    pub components: Vec<Component>,
    /// Where Firebreak is reached from outside (`https://status.example.com`), for absolute
    /// links in the feed; without it links are relative to the request's host.
    pub public_url: Option<String>,
}

impl Default for PageConfig {
    fn default() -> Self {
        PageConfig {
            title: "Status".to_owned(),
            components: Vec::new(),
            public_url: None,
        }
    }
}

impl PageConfig {
    /// The services a public update may name.
    pub fn public_services(&self) -> Vec<String> {
        self.components.iter().map(|c| c.service.clone()).collect()
    }

    /// The component showing `service`, if it is on the page.
    pub fn component(&self, service: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.service == service)
    }
}

/// How bad things are, in Statuspage's `status.indicator` words (also an incident's `impact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Indicator {
    /// Nothing is wrong.
    None,
    /// Degraded performance, or an open incident that affects no component.
    Minor,
    /// A partial outage.
    Major,
    /// A major outage.
    Critical,
}

impl Indicator {
    /// The indicator a component state calls for.
    pub fn of(state: ServiceState) -> Indicator {
        match state {
            ServiceState::Operational => Indicator::None,
            ServiceState::DegradedPerformance => Indicator::Minor,
            ServiceState::PartialOutage => Indicator::Major,
            ServiceState::MajorOutage => Indicator::Critical,
        }
    }

    /// Statuspage's spelling: `none`, `minor`, `major`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::None => "none",
            Indicator::Minor => "minor",
            Indicator::Major => "major",
            Indicator::Critical => "critical",
        }
    }
}

/// The page's headline: its indicator and the sentence that says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headline {
    /// How bad things are.
    pub indicator: Indicator,
    /// `All Systems Operational`, `Degraded Performance`, `Minor Service Outage`,
    /// `Partial System Outage` or `Major Service Outage`.
    pub description: &'static str,
}

impl Headline {
    /// The headline for the worst component state, with or without an open incident.
    pub fn of(worst: ServiceState, has_open_incident: bool) -> Headline {
        let (indicator, description) = match worst {
            ServiceState::Operational if has_open_incident => {
                (Indicator::Minor, "Minor Service Outage")
            }
            ServiceState::Operational => (Indicator::None, "All Systems Operational"),
            ServiceState::DegradedPerformance => (Indicator::Minor, "Degraded Performance"),
            ServiceState::PartialOutage => (Indicator::Major, "Partial System Outage"),
            ServiceState::MajorOutage => (Indicator::Critical, "Major Service Outage"),
        };
        Headline {
            indicator,
            description,
        }
    }
}

/// The worse of two states.
pub fn worse(a: ServiceState, b: ServiceState) -> ServiceState {
    if b.rank() > a.rank() { b } else { a }
}

#[cfg(test)]
mod tests;
