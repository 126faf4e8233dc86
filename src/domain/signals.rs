//! Signals from outside: alerts from monitoring and changes (deploys, config, flags). Routes
//! turn an alert event into a decision with its reason; changes are scored against an incident
//! as suggestions, never as facts.

pub mod alert;
pub mod change;
pub mod correlation;
pub mod decision;
pub mod routing;

pub use alert::{Alert, AlertEvent, AlertStatus, EventAction};
pub use change::{ActorKind, Change, ChangeKind, ChangeRelation, NewChange};
pub use decision::{Decision, IncidentLink, Known, OpenAlert};
pub use routing::{ResolvedPolicy, Route, RouteAction, Routed, Routing};
