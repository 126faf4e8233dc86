//! The incident aggregate: severity, the fields responders edit, and the measured durations.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::actor::Actor;
use crate::domain::error::ValidationError;
use crate::domain::reference::IncidentRef;
use crate::domain::status::Status;
use crate::domain::validation;
use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// How bad an incident is: `SEV1` is the worst, `SEV5` cosmetic.
    #[derive(PartialOrd, Ord)]
    pub enum Severity ("severity") {
        /// Critical: broad customer impact, public communication.
        Sev1 = "SEV1",
        /// Major: many customers cannot use the product.
        Sev2 = "SEV2",
        /// Minor customer impact, or at risk of escalating.
        Sev3 = "SEV3",
        /// Needs action, no customer impact.
        Sev4 = "SEV4",
        /// Cosmetic.
        Sev5 = "SEV5",
    }
}

impl Severity {
    /// The level as stored: 1 (worst) to 5.
    pub fn level(self) -> i16 {
        match self {
            Severity::Sev1 => 1,
            Severity::Sev2 => 2,
            Severity::Sev3 => 3,
            Severity::Sev4 => 4,
            Severity::Sev5 => 5,
        }
    }

    /// The severity for a stored level, if it is 1–5.
    pub fn from_level(level: i16) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.level() == level)
    }

    /// SEV1 and SEV2 are major incidents: they need a coordinated response and a postmortem.
    pub fn is_major(self) -> bool {
        self.level() <= 2
    }
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Stable identifier (UUID v7).
    pub id: Uuid,
    /// Human number: the incident is `INC-<number>`.
    pub number: i64,
    /// One line saying what is wrong.
    pub title: String,
    /// What is known so far.
    pub summary: String,
    /// Who or what is affected, and how.
    pub impact: String,
    /// How it was resolved; set when the incident enters `resolved`.
    pub resolution: Option<String>,
    /// Current severity.
    pub severity: Severity,
    /// Current status.
    pub status: Status,
    /// Affected services (slugs).
    pub services: Vec<String>,
    /// Free key/value labels, e.g. `alertname`.
    pub labels: BTreeMap<String, String>,
    /// Repeat signals with this key fold into this incident while it is open.
    pub dedup_key: Option<String>,
    /// Set when the incident was merged into another one.
    pub merged_into: Option<Uuid>,
    /// Bumped by every change to the incident; writes may name the version they expect.
    pub version: i64,
    /// Who declared it.
    pub created_by: Actor,
    /// When impact began (may precede detection).
    pub impact_started_at: Option<DateTime<Utc>>,
    /// When a monitor or a human noticed.
    pub detected_at: Option<DateTime<Utc>>,
    /// When it was declared here.
    pub declared_at: DateTime<Utc>,
    /// First move out of triage.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// First entry into `identified`.
    pub identified_at: Option<DateTime<Utc>>,
    /// First entry into `monitoring` (or `resolved` when monitoring was skipped).
    pub mitigated_at: Option<DateTime<Utc>>,
    /// Entry into `resolved` (cleared on reopen).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Entry into `closed`.
    pub closed_at: Option<DateTime<Utc>>,
    /// Last change to the incident's fields or status.
    pub updated_at: DateTime<Utc>,
}

/// The raw fields of a declaration, before validation.
#[derive(Debug, Clone)]
pub struct DeclareRequest {
    /// See [`Incident::title`].
    pub title: String,
    /// See [`Incident::severity`]: required, so there is no declaration without one.
    pub severity: Severity,
    /// See [`Incident::summary`].
    pub summary: Option<String>,
    /// See [`Incident::impact`].
    pub impact: Option<String>,
    /// See [`Incident::services`].
    pub services: Vec<String>,
    /// See [`Incident::labels`].
    pub labels: BTreeMap<String, String>,
    /// Who commands the response, if known at declaration.
    pub commander: Option<String>,
    /// See [`Incident::impact_started_at`].
    pub impact_started_at: Option<DateTime<Utc>>,
    /// See [`Incident::detected_at`]; defaults to the declaration time.
    pub detected_at: Option<DateTime<Utc>>,
    /// See [`Incident::dedup_key`].
    pub dedup_key: Option<String>,
}

/// A validated declaration: the only way to create an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    /// Title, trimmed, 1–200 characters.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Summary (may be empty).
    pub summary: String,
    /// Impact (may be empty).
    pub impact: String,
    /// Services, deduplicated, in the order given.
    pub services: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// First commander, if named.
    pub commander: Option<String>,
    /// When impact began.
    pub impact_started_at: Option<DateTime<Utc>>,
    /// When it was detected.
    pub detected_at: DateTime<Utc>,
    /// Dedup key.
    pub dedup_key: Option<String>,
}

impl NewIncident {
    /// Checks a proposed incident against every field rule.
    pub fn parse(request: DeclareRequest, now: DateTime<Utc>) -> Result<Self, ValidationError> {
        let impact_started_at =
            validation::timestamp("impact_started_at", request.impact_started_at, now)?;
        let detected_at = validation::timestamp("detected_at", request.detected_at, now)?;
        // Detection defaults to now, so an impact start in the (skew-tolerated) future is refused too.
        let detected = detected_at.unwrap_or(now);
        if let Some(started) = impact_started_at
            && started > detected
        {
            return Err(ValidationError::new(
                "impact_started_at",
                format!("({started}) must not be after `detected_at` ({detected})"),
            ));
        }
        Ok(NewIncident {
            title: validation::title("title", &request.title)?,
            severity: request.severity,
            summary: validation::text("summary", request.summary.unwrap_or_default())?,
            impact: validation::text("impact", request.impact.unwrap_or_default())?,
            services: validation::services("services", request.services)?,
            labels: validation::labels("labels", request.labels)?,
            commander: validation::optional_name("commander", request.commander)?,
            impact_started_at,
            detected_at: detected_at.unwrap_or(now),
            dedup_key: validation::optional_key("dedup_key", request.dedup_key)?,
        })
    }
}

/// Requested edits to an incident's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentChanges {
    /// New title.
    pub title: Option<String>,
    /// New summary.
    pub summary: Option<String>,
    /// New impact.
    pub impact: Option<String>,
    /// New severity.
    pub severity: Option<Severity>,
    /// Replacement list of services.
    pub services: Option<Vec<String>>,
    /// Replacement labels.
    pub labels: Option<BTreeMap<String, String>>,
}

/// One field that an update changed, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// Field name.
    pub field: &'static str,
    /// Old value, rendered for people.
    pub from: String,
    /// New value, rendered for people.
    pub to: String,
}

/// Edits that passed every field rule: the only kind [`Incident::apply`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidChanges(IncidentChanges);

/// Read access to the checked edits (they cannot be changed once checked).
impl std::ops::Deref for ValidChanges {
    type Target = IncidentChanges;

    fn deref(&self) -> &IncidentChanges {
        &self.0
    }
}

impl IncidentChanges {
    /// Validates each given field.
    pub fn parse(self) -> Result<ValidChanges, ValidationError> {
        Ok(ValidChanges(IncidentChanges {
            title: self
                .title
                .map(|t| validation::title("title", &t))
                .transpose()?,
            summary: self
                .summary
                .map(|t| validation::text("summary", t))
                .transpose()?,
            impact: self
                .impact
                .map(|t| validation::text("impact", t))
                .transpose()?,
            severity: self.severity,
            services: self
                .services
                .map(|s| validation::services("services", s))
                .transpose()?,
            labels: self
                .labels
                .map(|l| validation::labels("labels", l))
                .transpose()?,
        }))
    }

    /// True when no field was given.
    pub fn is_empty(&self) -> bool {
        *self == IncidentChanges::default()
    }
}

/// What a list shows of an incident: enough to recognise it and pick it, without its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSummary {
    /// Stable identifier.
    pub id: Uuid,
    /// Human number: the incident is `INC-<number>`.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Lifecycle status.
    pub status: Status,
    /// Affected services.
    pub services: Vec<String>,
    /// When it was declared.
    pub declared_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Current version.
    pub version: i64,
}

impl IncidentSummary {
    /// The human reference, `INC-<number>`.
    pub fn reference(&self) -> IncidentRef {
        IncidentRef::Number(self.number)
    }
}

impl Incident {
    /// The human reference, `INC-<number>`.
    pub fn reference(&self) -> IncidentRef {
        IncidentRef::Number(self.number)
    }

    /// Applies validated edits and returns what actually changed (unchanged values are skipped).
    pub fn apply(&mut self, changes: ValidChanges) -> Vec<FieldChange> {
        let ValidChanges(changes) = changes;
        let mut changed = Vec::new();
        if let Some(severity) = changes.severity.filter(|s| *s != self.severity) {
            changed.push(change("severity", self.severity, severity));
            self.severity = severity;
        }
        replace(&mut changed, "title", &mut self.title, changes.title);
        replace(&mut changed, "summary", &mut self.summary, changes.summary);
        replace(&mut changed, "impact", &mut self.impact, changes.impact);
        if let Some(services) = changes.services.filter(|s| *s != self.services) {
            changed.push(change(
                "services",
                self.services.join(", "),
                services.join(", "),
            ));
            self.services = services;
        }
        if let Some(labels) = changes.labels.filter(|l| *l != self.labels) {
            changed.push(change(
                "labels",
                render_labels(&self.labels),
                render_labels(&labels),
            ));
            self.labels = labels;
        }
        changed
    }
}

fn replace(
    changed: &mut Vec<FieldChange>,
    field: &'static str,
    slot: &mut String,
    value: Option<String>,
) {
    if let Some(value) = value.filter(|v| v != slot) {
        changed.push(change(field, slot.as_str(), value.as_str()));
        *slot = value;
    }
}

fn change(field: &'static str, from: impl fmt::Display, to: impl fmt::Display) -> FieldChange {
    FieldChange {
        field,
        from: from.to_string(),
        to: to.to_string(),
    }
}

fn render_labels(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(", ")
}

/// Incidents with fixed timestamps, shared by the domain tests.
#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests;
