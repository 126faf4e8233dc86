//! The vocabulary of incident response and its rules. Pure: no I/O, no async, no SQL, no MCP.
//! Functions that depend on time take `now` as an argument.
//!
//! Glossary:
//! - **Incident**: an unplanned disruption worked by responders, referenced as `INC-<n>`.
//! - **Severity**: `SEV1` (worst) to `SEV5`; SEV1 and SEV2 are *major* incidents.
//! - **Status**: where the incident is in its lifecycle (`triage`, the live states
//!   `investigating` / `identified` / `monitoring`, then `resolved` and `closed`; or the
//!   terminal side exits `declined` and `merged`).
//! - **Timeline entry**: an append-only record of something that happened or was said.
//! - **Role**: commander, tech lead, comms lead, scribe (one holder each) and responders.
//! - **Actor**: who did a write: principal, MCP client, channel.

pub mod access;
pub mod action_item;
pub mod actor;
pub mod delivery;
pub mod durations;
pub mod error;
pub mod incident;
pub mod lifecycle;
pub mod metrics;
pub mod notification;
pub mod postmortem;
pub mod reference;
pub mod role;
pub mod runbook;
pub mod signals;
pub mod similarity;
pub mod status;
pub mod status_page;
pub mod status_update;
pub mod timeline;
pub mod validation;
pub mod vocabulary;

pub use access::{AuthMethod, Grant, MissingScope, Scope, Scopes};
pub use actor::{Actor, Channel};
pub use durations::SpanMeasure;
pub use error::{TransitionError, ValidationError};
pub use incident::{
    DeclareRequest, FieldChange, Incident, IncidentChanges, IncidentSummary, NewIncident, Severity,
    ValidChanges,
};
pub use lifecycle::{MergeTarget, StatusChange, Transition};
pub use reference::IncidentRef;
pub use role::{NewRoleAssignment, Role, RoleAssignment};
pub use status::Status;
pub use timeline::{EntryData, EntryKind, NewEntry, TimelineEntry, Visibility};
