//! Incidents, their briefs, roles and lists.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::app::{Declared, IncidentBrief, IncidentPage, Roles, StatusChanged};
use crate::domain::durations::human;
use crate::domain::runbook::{StepKind, StepTaken};
use crate::domain::{Incident, IncidentRef, IncidentSummary, RoleAssignment, SpanMeasure};
use crate::mcp::views::signal::AlertsDigestView;
use crate::mcp::views::{ActionItemRowView, ActorView, ChangeView, EntryView};

/// An incident with all its fields.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IncidentView {
    /// `INC-<number>`: use it to refer to the incident.
    pub reference: String,
    /// Stable UUID.
    pub id: String,
    /// One line saying what is wrong.
    pub title: String,
    /// `SEV1` (worst) to `SEV5`.
    pub severity: String,
    /// Lifecycle status.
    pub status: String,
    /// Statuses `change_status` accepts from here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_next_statuses: Vec<String>,
    /// What is known so far.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// Who or what is affected.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub impact: String,
    /// How it was resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Affected services.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Repeat signals with this key fold into the incident while it is open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// The incident this one was merged into (`INC-<n>`), if merged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// Pass as `expected_version` to make sure nobody changed it since you read it.
    pub version: i64,
    /// Who declared it.
    pub created_by: ActorView,
    /// The lifecycle times that have happened, by name: `impact_started_at`, `detected_at`,
    /// `declared_at`, `acknowledged_at`, `identified_at`, `mitigated_at`, `resolved_at`,
    /// `closed_at`.
    pub times: BTreeMap<&'static str, DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl IncidentView {
    /// The view of `incident`; `merged_into` is the target's number when known.
    pub fn new(incident: &Incident, merged_into: Option<i64>) -> Self {
        IncidentView {
            reference: incident.reference().to_string(),
            id: incident.id.to_string(),
            title: incident.title.clone(),
            severity: incident.severity.to_string(),
            status: incident.status.to_string(),
            allowed_next_statuses: incident
                .status
                .allowed_next()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            summary: incident.summary.clone(),
            impact: incident.impact.clone(),
            resolution: incident.resolution.clone(),
            services: incident.services.clone(),
            labels: incident.labels.clone(),
            dedup_key: incident.dedup_key.clone(),
            merged_into: merged_into
                .map(|n| IncidentRef::Number(n).to_string())
                .or_else(|| incident.merged_into.map(|id| id.to_string())),
            version: incident.version,
            created_by: (&incident.created_by).into(),
            times: lifecycle_times(incident),
            updated_at: incident.updated_at,
        }
    }
}

/// The lifecycle timestamps of `incident` that are set.
fn lifecycle_times(incident: &Incident) -> BTreeMap<&'static str, DateTime<Utc>> {
    [
        ("impact_started_at", incident.impact_started_at),
        ("detected_at", incident.detected_at),
        ("declared_at", Some(incident.declared_at)),
        ("acknowledged_at", incident.acknowledged_at),
        ("identified_at", incident.identified_at),
        ("mitigated_at", incident.mitigated_at),
        ("resolved_at", incident.resolved_at),
        ("closed_at", incident.closed_at),
    ]
    .into_iter()
    .filter_map(|(name, at)| at.map(|at| (name, at)))
    .collect()
}

impl From<&Incident> for IncidentView {
    fn from(incident: &Incident) -> Self {
        IncidentView::new(incident, None)
    }
}

impl From<&StatusChanged> for IncidentView {
    fn from(changed: &StatusChanged) -> Self {
        IncidentView::new(&changed.incident, changed.merged_into)
    }
}

/// The answer to `declare_incident`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DeclaredView {
    /// The incident.
    pub incident: IncidentView,
    /// True when an open incident with the same `dedup_key` absorbed this signal (a timeline
    /// entry records the repeat); no new incident was created.
    pub deduplicated: bool,
}

impl From<&Declared> for DeclaredView {
    fn from(declared: &Declared) -> Self {
        DeclaredView {
            incident: (&declared.incident).into(),
            deduplicated: declared.is_deduplicated,
        }
    }
}

/// A current role holder.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RoleView {
    /// `commander`, `tech_lead`, `comms_lead`, `scribe` or `responder`.
    pub role: String,
    /// Who holds it.
    pub assignee: String,
    /// Since when.
    pub assigned_at: DateTime<Utc>,
    /// Who assigned it.
    pub assigned_by: String,
}

impl From<&RoleAssignment> for RoleView {
    fn from(assignment: &RoleAssignment) -> Self {
        RoleView {
            role: assignment.role.to_string(),
            assignee: assignment.assignee.clone(),
            assigned_at: assignment.assigned_at,
            assigned_by: assignment.assigned_by.principal.clone(),
        }
    }
}

/// A measured duration and the timestamps it runs between.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DurationView {
    /// `time_to_acknowledge`, `time_to_mitigate` or `time_to_resolve`.
    pub name: String,
    /// Start anchor (e.g. `impact_started_at`, or `detected_at` when impact start is unknown).
    pub from: String,
    /// End anchor.
    pub to: String,
    /// Length in seconds.
    pub seconds: i64,
    /// The same, for people (`1h 12m`).
    pub human: String,
    /// True when the end has not happened yet: measured up to `now`.
    pub ongoing: bool,
}

impl From<&SpanMeasure> for DurationView {
    fn from(span: &SpanMeasure) -> Self {
        DurationView {
            name: span.name.to_owned(),
            from: span.from_anchor.to_owned(),
            to: span.to_anchor.to_owned(),
            seconds: span.seconds,
            human: human(span.seconds),
            ongoing: span.is_ongoing,
        }
    }
}

/// The brief of an incident: everything needed to pick it up.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BriefView {
    /// The incident.
    pub incident: IncidentView,
    /// Current role holders.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleView>,
    /// The newest timeline entries (at most 20), oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recent_timeline: Vec<EntryView>,
    /// How many timeline entries exist; read them all with `get_timeline`.
    pub timeline_total: i64,
    /// True when the timeline has more entries than `recent_timeline` shows.
    pub timeline_truncated: bool,
    /// Durations measured so far, and the first one still running.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub durations: Vec<DurationView>,
    /// Incidents merged into this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// Runbook steps taken, oldest first (at most 100).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runbook_steps: Vec<RunbookStepTakenView>,
    /// Open and in-progress action items, soonest due first (at most 20); all of them:
    /// `list_action_items` with `incident`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub open_action_items: Vec<ActionItemRowView>,
    /// Its alerts: counts and the newest three; all of them: `list_alerts` with `incident`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertsDigestView>,
    /// Changes that may have caused it (score 0–1 with reasons; a suggestion): all of them
    /// with `list_changes` and `incident`; record a verdict with `link_change`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suspected_changes: Vec<ChangeView>,
    /// Past incidents much like this one, with what resolved them; more with
    /// `find_similar_incidents`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub similar_incidents: Vec<String>,
    /// The newest stakeholder update per audience; post with `post_status_update`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_updates: Vec<crate::mcp::views::LastUpdateView>,
    /// Notifications about it that failed (operators resend them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_notifications: Vec<String>,
    /// The server time the durations were measured at.
    pub now: DateTime<Utc>,
}

/// A runbook step taken on the incident.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunbookStepTakenView {
    /// The runbook's slug.
    pub runbook: String,
    /// The runbook version followed.
    pub version: i64,
    /// The step number.
    pub step: i64,
    /// The step's text.
    pub text: String,
    /// True when the step changes production.
    pub risky: bool,
    /// `succeeded`, `failed` or `skipped`.
    pub outcome: String,
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub actor: String,
}

impl From<&StepTaken> for RunbookStepTakenView {
    fn from(step: &StepTaken) -> Self {
        RunbookStepTakenView {
            runbook: step.runbook.clone(),
            version: step.version,
            step: step.step,
            text: step.text.clone(),
            risky: step.kind == StepKind::Risky,
            outcome: step.outcome.to_string(),
            at: step.at,
            actor: step.actor.principal.clone(),
        }
    }
}

/// The durations measured, and of those still running only the first: the later ones run
/// from the same start and say nothing more yet.
fn shown_durations(spans: &[SpanMeasure]) -> Vec<DurationView> {
    let first_ongoing = spans.iter().position(|span| span.is_ongoing);
    spans
        .iter()
        .enumerate()
        .filter(|(n, span)| !span.is_ongoing || Some(*n) == first_ongoing)
        .map(|(_, span)| DurationView::from(span))
        .collect()
}

impl From<&IncidentBrief> for BriefView {
    fn from(brief: &IncidentBrief) -> Self {
        BriefView {
            incident: IncidentView::new(&brief.incident, brief.merged_into_number),
            roles: brief.roles.iter().map(RoleView::from).collect(),
            recent_timeline: brief.recent_timeline.iter().map(EntryView::from).collect(),
            timeline_total: brief.timeline_total,
            timeline_truncated: brief.timeline_total > brief.recent_timeline.len() as i64,
            durations: shown_durations(&brief.durations),
            merged_from: brief
                .merged_from
                .iter()
                .map(|n| IncidentRef::Number(*n).to_string())
                .collect(),
            runbook_steps: brief
                .runbook_steps
                .iter()
                .map(RunbookStepTakenView::from)
                .collect(),
            open_action_items: brief
                .open_action_items
                .iter()
                .map(|item| ActionItemRowView::new(item, brief.now.date_naive()))
                .collect(),
            alerts: AlertsDigestView::new(&brief.alert_counts, &brief.newest_alerts),
            suspected_changes: brief.suspects.iter().map(ChangeView::from).collect(),
            similar_incidents: brief.similar.iter().map(similar_line).collect(),
            status_updates: brief
                .last_updates
                .iter()
                .map(crate::mcp::views::LastUpdateView::from)
                .collect(),
            failed_notifications: brief.troubled_deliveries.iter().map(|d| d.line()).collect(),
            now: brief.now,
        }
    }
}

/// A compact incident row for lists.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IncidentRowView {
    /// `INC-<number>`.
    pub reference: String,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: String,
    /// Status.
    pub status: String,
    /// Affected services.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// When it was declared.
    pub declared_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Current version.
    pub version: i64,
}

impl From<&IncidentSummary> for IncidentRowView {
    fn from(incident: &IncidentSummary) -> Self {
        IncidentRowView {
            reference: incident.reference().to_string(),
            title: incident.title.clone(),
            severity: incident.severity.to_string(),
            status: incident.status.to_string(),
            services: incident.services.clone(),
            declared_at: incident.declared_at,
            updated_at: incident.updated_at,
            version: incident.version,
        }
    }
}

/// A page of incidents.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IncidentListView {
    /// Matching incidents: newest first, or best match first when `text` was given.
    pub incidents: Vec<IncidentRowView>,
    /// True when more incidents match: pass `next_cursor` as `cursor` to read on.
    pub truncated: bool,
    /// Cursor of the next page, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The server time of this answer.
    pub now: DateTime<Utc>,
}

impl From<&IncidentPage> for IncidentListView {
    fn from(page: &IncidentPage) -> Self {
        IncidentListView {
            incidents: page.incidents.iter().map(IncidentRowView::from).collect(),
            truncated: page.next_cursor.is_some(),
            next_cursor: page.next_cursor.clone(),
            now: page.now,
        }
    }
}

/// The roles of an incident after an assignment.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RolesView {
    /// The incident.
    pub incident: String,
    /// Current role holders.
    pub roles: Vec<RoleView>,
}

impl From<&Roles> for RolesView {
    fn from(roles: &Roles) -> Self {
        RolesView {
            incident: roles.incident.to_string(),
            roles: roles.roles.iter().map(RoleView::from).collect(),
        }
    }
}

/// One similar incident in a line: reference, score, title, what resolved it and why it matched.
fn similar_line(similar: &crate::app::similar::SimilarIncident) -> String {
    let mut line = format!(
        "INC-{} ({:.2}, {}): {}",
        similar.number, similar.score, similar.status, similar.title
    );
    let history = similar.history.as_ref();
    let resolved_by = history.and_then(|h| {
        h.postmortem_resolution
            .as_deref()
            .or(h.resolution.as_deref())
    });
    if let Some(resolution) = resolved_by {
        line.push_str(&format!(" | resolved: {resolution}"));
    }
    let why: Vec<String> = similar
        .reasons
        .iter()
        .take(3)
        .map(ToString::to_string)
        .collect();
    if !why.is_empty() {
        line.push_str(&format!(" | why: {}", why.join("; ")));
    }
    line
}
