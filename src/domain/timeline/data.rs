//! The structured part of a timeline entry: one shape per kind of write, stored as JSON with
//! the keys below (the keys are the storage format, so they never change meaning). Writers build
//! these values, the store encodes and decodes them once, and readers match on them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::action_item::{ActionItemKind, Priority};
use crate::domain::incident::Severity;
use crate::domain::postmortem::{PostmortemStatus, SectionName};
use crate::domain::role::Role;
use crate::domain::runbook::{StepKind, StepOutcome};
use crate::domain::status::Status;

/// What an entry records in structured form.
///
/// Stored untagged: each shape has its own set of keys (and refuses others), so a stored value
/// decodes into the one shape it was written as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EntryData {
    /// The incident was declared.
    Declared(Declaration),
    /// The status changed.
    StatusMoved(StatusMoved),
    /// Another incident was merged into this one.
    MergedFrom(MergedFrom),
    /// A field of the incident (or its severity) changed.
    FieldChanged(FieldChanged),
    /// A role changed hands.
    RoleChanged(RoleChanged),
    /// A repeat signal was folded in by its dedup key.
    RepeatSignal(RepeatSignal),
    /// A runbook step was taken.
    RunbookStep(RunbookStep),
    /// An action item was added.
    ActionItemAdded(ActionItemAdded),
    /// An action item was edited.
    ActionItemUpdated(ActionItemUpdated),
    /// The postmortem was drafted or its facts refreshed.
    PostmortemDrafted(PostmortemDrafted),
    /// Postmortem sections were written or its status moved.
    PostmortemUpdated(PostmortemUpdated),
    /// An alert fired, resolved or was acknowledged.
    AlertSignal(AlertSignal),
    /// A change was linked to the incident.
    ChangeLinked(ChangeLinked),
    /// A stakeholder update was posted.
    StakeholderUpdate(crate::domain::status_update::StakeholderUpdate),
}

/// `{"to": "triage", "severity": "SEV2"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// The first status (always `triage`).
    pub to: Status,
    /// The declared severity.
    pub severity: Severity,
}

/// `{"from", "to", "stamped", "reopen", "merged_into"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusMoved {
    /// The status before.
    pub from: Status,
    /// The status after.
    pub to: Status,
    /// The lifecycle timestamps this change set for the first time, by column name.
    pub stamped: Vec<String>,
    /// True when a resolved incident was reopened.
    pub reopen: bool,
    /// The incident absorbing this one, when merged.
    pub merged_into: Option<Uuid>,
}

/// `{"merged_from": 12}`: the number of the incident merged in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergedFrom {
    /// Its number.
    pub merged_from: i64,
}

/// `{"field", "from", "to"}`, values as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldChanged {
    /// The field, e.g. `severity` or `summary`.
    pub field: String,
    /// Its value before.
    pub from: String,
    /// Its value after.
    pub to: String,
}

/// `{"role", "from", "to"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChanged {
    /// The role.
    pub role: Role,
    /// The holder relieved, if there was one.
    #[serde(default)]
    pub from: Option<String>,
    /// The new holder.
    pub to: String,
}

/// `{"dedup_key", "title", "severity", "services", "labels"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatSignal {
    /// The key the signal carried.
    pub dedup_key: String,
    /// Its title.
    pub title: String,
    /// Its severity.
    pub severity: Severity,
    /// Its services.
    pub services: Vec<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// `{"runbook", "version", "content_hash", "step", "text", "kind", "risky", "outcome", "output"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookStep {
    /// The runbook's slug.
    pub runbook: String,
    /// The version followed.
    pub version: i64,
    /// That version's content hash.
    pub content_hash: String,
    /// The step number.
    pub step: i64,
    /// The step's text.
    pub text: String,
    /// Diagnostic or risky.
    pub kind: StepKind,
    /// `kind == risky`, spelled out for readers of the raw record.
    pub risky: bool,
    /// How it went.
    pub outcome: StepOutcome,
    /// What it printed or showed.
    pub output: Option<String>,
}

/// Which object an edit entry is about (`"object"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditedObject {
    /// An action item.
    ActionItem,
    /// The postmortem.
    Postmortem,
}

/// What happened to it (`"action"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditAction {
    /// Created.
    Added,
    /// Edited.
    Updated,
    /// A postmortem's first draft.
    Drafted,
    /// A postmortem's facts refreshed.
    Refreshed,
}

/// An action item added: `{"object": "action_item", "action": "added", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionItemAdded {
    /// `action_item`.
    pub object: EditedObject,
    /// `added`.
    pub action: EditAction,
    /// `AI-<n>`.
    pub action_item: String,
    /// Its title.
    pub title: String,
    /// Its kind.
    pub kind: ActionItemKind,
    /// Its priority.
    pub priority: Priority,
    /// Its owner.
    pub owner: Option<String>,
    /// Its due date, `YYYY-MM-DD`.
    pub due_on: Option<String>,
    /// Its tracker link.
    pub external_url: Option<String>,
}

/// An action item edited: `{"object": "action_item", "action": "updated", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionItemUpdated {
    /// `action_item`.
    pub object: EditedObject,
    /// `updated`.
    pub action: EditAction,
    /// `AI-<n>`.
    pub action_item: String,
    /// Its version after the edit.
    pub version: i64,
    /// What changed.
    pub changes: Vec<FieldChanged>,
}

/// A postmortem drafted or refreshed: `{"object": "postmortem", "action": "drafted", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmortemDrafted {
    /// `postmortem`.
    pub object: EditedObject,
    /// `drafted` or `refreshed`.
    pub action: EditAction,
    /// Its version after.
    pub version: i64,
    /// The sections written from the facts.
    pub refreshed: Vec<SectionName>,
    /// The edited sections left alone.
    pub kept_edited: Vec<SectionName>,
    /// The incident's status when the facts were gathered.
    pub incident_status: Status,
}

/// A postmortem edited: `{"object": "postmortem", "action": "updated", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmortemUpdated {
    /// `postmortem`.
    pub object: EditedObject,
    /// `updated`.
    pub action: EditAction,
    /// Its version after.
    pub version: i64,
    /// The sections written.
    pub sections: Vec<SectionName>,
    /// The status move, if any.
    pub status: Option<StatusStep>,
}

/// A postmortem status move: `{"from", "to"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusStep {
    /// Before.
    pub from: PostmortemStatus,
    /// After.
    pub to: PostmortemStatus,
}

/// What happened to an alert, as its timeline entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertTransition {
    /// It started firing and joined (or opened) the incident.
    Fired,
    /// It resolved.
    Resolved,
    /// It was acknowledged at the sender.
    Acknowledged,
}

/// An alert entry: `{"alert", "source", "alert_key", "transition", "title", "labels",
/// "annotations", "runbook_url", "source_url", "still_firing"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSignal {
    /// The alert's id.
    pub alert: Uuid,
    /// The source it came from.
    pub source: String,
    /// Its identity within the source.
    pub alert_key: String,
    /// What happened.
    pub transition: AlertTransition,
    /// Its title.
    pub title: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
    /// The runbook it names.
    pub runbook_url: Option<String>,
    /// Where to see it.
    pub source_url: Option<String>,
    /// Alerts of the incident still firing after this one (on resolve).
    pub still_firing: Option<i64>,
}

/// A change linked to the incident: `{"change", "change_id", "relation", "kind", "summary",
/// "note"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeLinked {
    /// `CHG-<n>`.
    pub change: String,
    /// Its id.
    pub change_id: Uuid,
    /// Suspected, confirmed or ruled out.
    pub relation: crate::domain::signals::ChangeRelation,
    /// Its kind.
    pub kind: crate::domain::signals::ChangeKind,
    /// What changed.
    pub summary: String,
    /// Why, in the linker's words.
    pub note: Option<String>,
}
