//! Enum values as they travel on the wire, spelled as people say them (`SEV1`, `investigating`).
//! Each converts into its domain twin. The schemas are inlined plain `enum`s (variant notes are
//! `//` comments on purpose: documented variants would become `oneOf` lists, which some clients
//! handle poorly), so tool schemas stay flat.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::app::StatusFilter;
use crate::domain::{EntryKind, Role, Severity, Status, Visibility};

/// Severity: SEV1 is the worst (broad customer impact), SEV5 cosmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(inline)]
pub(crate) enum SeverityParam {
    // Critical: broad customer impact, public communication.
    #[serde(rename = "SEV1")]
    Sev1,
    // Major: many customers cannot use the product.
    #[serde(rename = "SEV2")]
    Sev2,
    // Minor customer impact, or at risk of escalating.
    #[serde(rename = "SEV3")]
    Sev3,
    // Needs action, no customer impact.
    #[serde(rename = "SEV4")]
    Sev4,
    // Cosmetic.
    #[serde(rename = "SEV5")]
    Sev5,
}

impl From<SeverityParam> for Severity {
    fn from(value: SeverityParam) -> Self {
        match value {
            SeverityParam::Sev1 => Severity::Sev1,
            SeverityParam::Sev2 => Severity::Sev2,
            SeverityParam::Sev3 => Severity::Sev3,
            SeverityParam::Sev4 => Severity::Sev4,
            SeverityParam::Sev5 => Severity::Sev5,
        }
    }
}

/// A lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum StatusParam {
    // Reported, not yet confirmed.
    Triage,
    // Live: looking for the cause.
    Investigating,
    // Live: cause known, fix under way.
    Identified,
    // Live: mitigated, watching.
    Monitoring,
    // Impact ended.
    Resolved,
    // Post-incident work done (terminal).
    Closed,
    // Not an incident (terminal).
    Declined,
    // Merged into another incident (terminal; needs `merged_into`).
    Merged,
}

impl From<StatusParam> for Status {
    fn from(value: StatusParam) -> Self {
        match value {
            StatusParam::Triage => Status::Triage,
            StatusParam::Investigating => Status::Investigating,
            StatusParam::Identified => Status::Identified,
            StatusParam::Monitoring => Status::Monitoring,
            StatusParam::Resolved => Status::Resolved,
            StatusParam::Closed => Status::Closed,
            StatusParam::Declined => Status::Declined,
            StatusParam::Merged => Status::Merged,
        }
    }
}

/// A status to filter by; `open` means triage or any live state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum StatusFilterParam {
    // Triage, investigating, identified or monitoring.
    Open,
    // Reported, not yet confirmed.
    Triage,
    // Live: looking for the cause.
    Investigating,
    // Live: cause known.
    Identified,
    // Live: mitigated, watching.
    Monitoring,
    // Impact ended.
    Resolved,
    // Done.
    Closed,
    // Not an incident.
    Declined,
    // Merged into another.
    Merged,
}

impl From<StatusFilterParam> for StatusFilter {
    fn from(value: StatusFilterParam) -> Self {
        let status = match value {
            StatusFilterParam::Open => return StatusFilter::Open,
            StatusFilterParam::Triage => StatusParam::Triage,
            StatusFilterParam::Investigating => StatusParam::Investigating,
            StatusFilterParam::Identified => StatusParam::Identified,
            StatusFilterParam::Monitoring => StatusParam::Monitoring,
            StatusFilterParam::Resolved => StatusParam::Resolved,
            StatusFilterParam::Closed => StatusParam::Closed,
            StatusFilterParam::Declined => StatusParam::Declined,
            StatusFilterParam::Merged => StatusParam::Merged,
        };
        StatusFilter::Is(status.into())
    }
}

/// An incident role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum RoleParam {
    // Leads the response (one holder).
    Commander,
    // Leads the technical work (one holder).
    TechLead,
    // Owns communication (one holder).
    CommsLead,
    // Keeps the timeline (one holder).
    Scribe,
    // Works the incident (any number).
    Responder,
}

impl From<RoleParam> for Role {
    fn from(value: RoleParam) -> Self {
        match value {
            RoleParam::Commander => Role::Commander,
            RoleParam::TechLead => Role::TechLead,
            RoleParam::CommsLead => Role::CommsLead,
            RoleParam::Scribe => Role::Scribe,
            RoleParam::Responder => Role::Responder,
        }
    }
}

/// The kinds of timeline entry a responder writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum ManualKindParam {
    // A free note.
    Note,
    // Something observed to be true (evidence).
    Finding,
    // A suspected cause, with evidence and confidence.
    Hypothesis,
    // A decision taken, and why.
    Decision,
    // An action taken.
    Action,
}

impl From<ManualKindParam> for EntryKind {
    fn from(value: ManualKindParam) -> Self {
        match value {
            ManualKindParam::Note => EntryKind::Note,
            ManualKindParam::Finding => EntryKind::Finding,
            ManualKindParam::Hypothesis => EntryKind::Hypothesis,
            ManualKindParam::Decision => EntryKind::Decision,
            ManualKindParam::Action => EntryKind::Action,
        }
    }
}

/// Any timeline entry kind (for filtering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum EntryKindParam {
    // A free note.
    Note,
    // Status changes.
    StatusChange,
    // Severity changes.
    SeverityChange,
    // Role changes.
    RoleChange,
    // Field changes.
    FieldChange,
    // Findings.
    Finding,
    // Hypotheses.
    Hypothesis,
    // Decisions.
    Decision,
    // Actions.
    Action,
    // Runbook steps.
    RunbookStep,
    // Stakeholder updates.
    StakeholderUpdate,
    // Alerts and repeat signals.
    Alert,
    // Related changes (deploys, config).
    Change,
}

impl From<EntryKindParam> for EntryKind {
    fn from(value: EntryKindParam) -> Self {
        let index = value as usize;
        EntryKind::ALL[index]
    }
}

/// Who may see a timeline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum VisibilityParam {
    // Responders only.
    #[default]
    Internal,
    // Fit for a status page.
    Public,
}

impl From<VisibilityParam> for Visibility {
    fn from(value: VisibilityParam) -> Self {
        match value {
            VisibilityParam::Internal => Visibility::Internal,
            VisibilityParam::Public => Visibility::Public,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_kind_param_maps_to_the_kind_of_the_same_name() {
        let names = [
            "note",
            "status_change",
            "severity_change",
            "role_change",
            "field_change",
            "finding",
            "hypothesis",
            "decision",
            "action",
            "runbook_step",
            "stakeholder_update",
            "alert",
            "change",
        ];
        for name in names {
            let param: EntryKindParam = serde_json::from_value(name.into()).unwrap();
            assert_eq!(EntryKind::from(param).as_str(), name);
        }
    }
}
