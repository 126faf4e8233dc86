//! The page as visitors see it, built from the public updates alone.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::domain::status_page::{Component, Headline, Indicator, PageConfig, worse};
use crate::domain::status_update::{PageStatus, ServiceState, StakeholderUpdate};

/// How far back the page shows resolved incidents.
pub const HISTORY_DAYS: i64 = 90;

/// One stored public update: all the page is built from. It carries the incident's number and
/// nothing else of the incident.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedUpdate {
    /// The timeline entry's id (stable: the feed's entry id).
    pub id: Uuid,
    /// The incident's number (`INC-<n>`).
    pub incident_number: i64,
    /// The message, as written.
    pub message: String,
    /// When it was published (recorded).
    pub published_at: DateTime<Utc>,
    /// Its structured part (audience `public`).
    pub update: StakeholderUpdate,
}

/// A component and how it is doing now.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentStatus {
    /// The component as configured.
    pub component: Component,
    /// Its state now.
    pub state: ServiceState,
    /// The latest public update that named it, if any did.
    pub updated_at: Option<DateTime<Utc>>,
}

/// One public update of an incident on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageUpdate {
    /// The timeline entry's id.
    pub id: Uuid,
    /// Where the response stood.
    pub status: PageStatus,
    /// The message.
    pub message: String,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// The components it named (configured ones only), with their state.
    pub affected: Vec<(Component, ServiceState)>,
}

/// An incident as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageIncident {
    /// Its number (`INC-<n>`).
    pub number: i64,
    /// The `public_title` of its latest public update.
    pub name: String,
    /// The status of its latest public update.
    pub status: PageStatus,
    /// The worst it got, over all its public updates.
    pub impact: Indicator,
    /// Its first public update.
    pub created_at: DateTime<Utc>,
    /// Its latest public update.
    pub updated_at: DateTime<Utc>,
    /// When its latest public update said `resolved`.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The next update its latest public update promised (open incidents only).
    pub next_update_at: Option<DateTime<Utc>>,
    /// Its public updates, newest first.
    pub updates: Vec<PageUpdate>,
}

impl PageIncident {
    /// `INC-<n>`, the incident's public identifier.
    pub fn code(&self) -> String {
        format!("INC-{}", self.number)
    }

    /// Whether it is still open on the page (its latest public update is not `resolved`).
    pub fn is_open(&self) -> bool {
        self.status != PageStatus::Resolved
    }
}

/// The whole page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page's title.
    pub title: String,
    /// The headline.
    pub headline: Headline,
    /// The latest public update shown, or the time the page was built when there is none.
    pub updated_at: DateTime<Utc>,
    /// When the page was built.
    pub generated_at: DateTime<Utc>,
    /// Every configured component, in order.
    pub components: Vec<ComponentStatus>,
    /// Open incidents first (latest update first), then those resolved within
    /// [`HISTORY_DAYS`] (latest first).
    pub incidents: Vec<PageIncident>,
}

impl Page {
    /// Builds the page from public updates (any order). Updates whose audience is not public
    /// are ignored, whatever the caller passed; incidents resolved more than [`HISTORY_DAYS`]
    /// before `now` are left out; open ones stay however old they are.
    pub fn build(config: &PageConfig, updates: Vec<PublishedUpdate>, now: DateTime<Utc>) -> Page {
        let mut by_incident: BTreeMap<i64, Vec<PublishedUpdate>> = BTreeMap::new();
        for published in updates {
            if published.update.audience == crate::domain::status_update::Audience::Public {
                by_incident
                    .entry(published.incident_number)
                    .or_default()
                    .push(published);
            }
        }
        let since = now - Duration::days(HISTORY_DAYS);
        let mut incidents: Vec<PageIncident> = by_incident
            .into_iter()
            .filter_map(|(number, updates)| incident(config, number, updates))
            .filter(|i| i.is_open() || i.updated_at >= since)
            .collect();
        incidents.sort_by(|a, b| {
            b.is_open()
                .cmp(&a.is_open())
                .then(b.updated_at.cmp(&a.updated_at))
                .then(b.number.cmp(&a.number))
        });
        let components = components(config, &incidents);
        let worst = components
            .iter()
            .fold(ServiceState::Operational, |w, c| worse(w, c.state));
        let headline = Headline::of(worst, incidents.iter().any(PageIncident::is_open));
        let updated_at = incidents.iter().map(|i| i.updated_at).max().unwrap_or(now);
        Page {
            title: config.title.clone(),
            headline,
            updated_at,
            generated_at: now,
            components,
            incidents,
        }
    }

    /// The `limit` newest updates of every incident shown, newest first, each with its incident.
    pub fn recent_updates(&self, limit: usize) -> Vec<(&PageIncident, &PageUpdate)> {
        let mut all: Vec<(&PageIncident, &PageUpdate)> = self
            .incidents
            .iter()
            .flat_map(|i| i.updates.iter().map(move |u| (i, u)))
            .collect();
        all.sort_by_key(|(_, u)| std::cmp::Reverse(u.published_at));
        all.truncate(limit);
        all
    }
}

/// One incident from its public updates; `None` when it has none.
fn incident(
    config: &PageConfig,
    number: i64,
    mut updates: Vec<PublishedUpdate>,
) -> Option<PageIncident> {
    // Newest first; the id breaks ties between updates of the same instant (UUID v7 ids
    // follow insertion order).
    updates.sort_by_key(|u| std::cmp::Reverse((u.published_at, u.id)));
    let latest = updates.first()?;
    let (status, updated_at, next) = (
        latest.update.status,
        latest.published_at,
        latest.update.next_update_at,
    );
    let created_at = updates.last().map_or(updated_at, |u| u.published_at);
    let name = updates
        .iter()
        .find_map(|u| u.update.public_title.clone())
        .unwrap_or_else(|| format!("Incident INC-{number}"));
    let updates: Vec<PageUpdate> = updates
        .into_iter()
        .map(|u| page_update(config, u))
        .collect();
    let impact = updates
        .iter()
        .flat_map(|u| u.affected.iter().map(|(_, state)| Indicator::of(*state)))
        .max()
        .unwrap_or(Indicator::None);
    let is_resolved = status == PageStatus::Resolved;
    Some(PageIncident {
        number,
        name,
        status,
        impact,
        created_at,
        updated_at,
        resolved_at: is_resolved.then_some(updated_at),
        next_update_at: if is_resolved { None } else { next },
        updates,
    })
}

fn page_update(config: &PageConfig, published: PublishedUpdate) -> PageUpdate {
    let affected = published
        .update
        .services
        .iter()
        .filter_map(|s| config.component(&s.service).map(|c| (c.clone(), s.state)))
        .collect();
    PageUpdate {
        id: published.id,
        status: published.update.status,
        message: published.message,
        published_at: published.published_at,
        affected,
    }
}

/// Each configured component's state: the worst that the latest public update of an open
/// incident names for it, or operational.
fn components(config: &PageConfig, incidents: &[PageIncident]) -> Vec<ComponentStatus> {
    config
        .components
        .iter()
        .map(|component| {
            let mut state = ServiceState::Operational;
            for latest in incidents
                .iter()
                .filter(|i| i.is_open())
                .filter_map(|i| i.updates.first())
            {
                for (named, named_state) in &latest.affected {
                    if named.service == component.service {
                        state = worse(state, *named_state);
                    }
                }
            }
            let updated_at = incidents
                .iter()
                .flat_map(|i| &i.updates)
                .filter(|u| {
                    u.affected
                        .iter()
                        .any(|(c, _)| c.service == component.service)
                })
                .map(|u| u.published_at)
                .max();
            ComponentStatus {
                component: component.clone(),
                state,
                updated_at,
            }
        })
        .collect()
}
