//! Signals in: alert deliveries applied (declare, attach, deduplicate, record, resolve) with
//! the ledger of every decision, changes stored and correlated with incidents.

mod alerts;
mod changes;
mod delivery;
mod status;

pub use alerts::{AlertPage, AlertQuery};
pub(crate) use changes::score_suspects;
pub use changes::{ChangeOutcome, ChangePage, ChangeQuery, LinkedChange, Suspect};

use std::sync::{Arc, RwLock};

use crate::domain::signals::Routing;
use crate::domain::{Actor, Channel};

/// The routing in force, shared by every request and replaced whole on reload (SIGHUP).
#[derive(Debug, Clone, Default)]
pub struct RoutingHandle(Arc<RwLock<Arc<Routing>>>);

impl RoutingHandle {
    /// A handle on `routing`.
    pub fn new(routing: Routing) -> Self {
        RoutingHandle(Arc::new(RwLock::new(Arc::new(routing))))
    }

    /// The routing now in force.
    pub fn current(&self) -> Arc<Routing> {
        match self.0.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the routing; requests already running keep the one they started with.
    pub fn replace(&self, routing: Routing) {
        let routing = Arc::new(routing);
        match self.0.write() {
            Ok(mut guard) => *guard = routing,
            Err(poisoned) => *poisoned.into_inner() = routing,
        }
    }
}

/// Where a delivery came from: the configured source's name and its format.
#[derive(Debug, Clone, Copy)]
pub struct SignalSource<'a> {
    /// The source's name, as configured (`prometheus`, `github`).
    pub name: &'a str,
    /// Its format (`alertmanager`, `events_v2` …).
    pub kind: &'a str,
}

impl SignalSource<'_> {
    /// The actor its writes are recorded as: the source's name, its format as the client,
    /// channel `webhook`.
    fn actor(&self) -> Actor {
        Actor {
            principal: self.name.to_owned(),
            client: Some(self.kind.to_owned()),
            channel: Channel::Webhook,
        }
    }
}

/// What one alert of a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOutcome {
    /// The alert's identity.
    pub key: String,
    /// `declared`, `attached`, `deduplicated`, `recorded`, `resolved`, `acknowledged` or
    /// `ignored`.
    pub decision: &'static str,
    /// Why, as the ledger records it.
    pub reason: String,
    /// The incident it concerns.
    pub incident: Option<i64>,
    /// The route that matched.
    pub route: Option<String>,
    /// The group key.
    pub group_key: String,
}
