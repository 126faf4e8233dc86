//! The incident aggregate: severity, the fields responders edit, and the measured durations.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::actor::Actor;
use crate::domain::error::ValidationError;
use crate::domain::lifecycle::Status;
use crate::domain::validation;

/// How bad an incident is: `SEV1` is the worst, `SEV5` cosmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Critical: broad customer impact, public communication.
    Sev1,
    /// Major: many customers cannot use the product.
    Sev2,
    /// Minor customer impact, or at risk of escalating.
    Sev3,
    /// Needs action, no customer impact.
    Sev4,
    /// Cosmetic.
    Sev5,
}

impl Severity {
    /// Every severity, worst first.
    pub const ALL: [Severity; 5] = [
        Severity::Sev1,
        Severity::Sev2,
        Severity::Sev3,
        Severity::Sev4,
        Severity::Sev5,
    ];

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

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SEV{}", self.level())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.to_string() == s)
            .ok_or_else(|| format!("unknown severity `{s}`; use SEV1 (worst) to SEV5"))
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
#[derive(Debug, Clone, Default)]
pub struct DeclareRequest {
    /// See [`Incident::title`].
    pub title: String,
    /// See [`Incident::severity`].
    pub severity: Option<Severity>,
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
        let severity = request.severity.ok_or_else(|| {
            ValidationError::new("severity", "is required: one of SEV1 (worst) to SEV5")
        })?;
        let impact_started_at =
            validation::timestamp("impact_started_at", request.impact_started_at, now)?;
        let detected_at = validation::timestamp("detected_at", request.detected_at, now)?;
        if let (Some(started), Some(detected)) = (impact_started_at, detected_at) {
            if started > detected {
                return Err(ValidationError::new(
                    "impact_started_at",
                    format!("({started}) must not be after `detected_at` ({detected})"),
                ));
            }
        }
        Ok(NewIncident {
            title: validation::title("title", &request.title)?,
            severity,
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

impl IncidentChanges {
    /// Validates each given field.
    pub fn parse(self) -> Result<Self, ValidationError> {
        Ok(IncidentChanges {
            title: self.title.map(|t| validation::title("title", &t)).transpose()?,
            summary: self.summary.map(|t| validation::text("summary", t)).transpose()?,
            impact: self.impact.map(|t| validation::text("impact", t)).transpose()?,
            severity: self.severity,
            services: self
                .services
                .map(|s| validation::services("services", s))
                .transpose()?,
            labels: self
                .labels
                .map(|l| validation::labels("labels", l))
                .transpose()?,
        })
    }

    /// True when no field was given.
    pub fn is_empty(&self) -> bool {
        *self == IncidentChanges::default()
    }
}

impl Incident {
    /// The human reference, `INC-<number>`.
    pub fn reference(&self) -> String {
        format!("INC-{}", self.number)
    }

    /// Applies validated edits and returns what actually changed (unchanged values are skipped).
    pub fn apply(&mut self, changes: IncidentChanges) -> Vec<FieldChange> {
        let mut changed = Vec::new();
        if let Some(severity) = changes.severity.filter(|s| *s != self.severity) {
            changed.push(change("severity", self.severity, severity));
            self.severity = severity;
        }
        replace(&mut changed, "title", &mut self.title, changes.title);
        replace(&mut changed, "summary", &mut self.summary, changes.summary);
        replace(&mut changed, "impact", &mut self.impact, changes.impact);
        if let Some(services) = changes.services.filter(|s| *s != self.services) {
            changed.push(change("services", self.services.join(", "), services.join(", ")));
            self.services = services;
        }
        if let Some(labels) = changes.labels.filter(|l| *l != self.labels) {
            changed.push(change("labels", render_labels(&self.labels), render_labels(&labels)));
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
#[allow(clippy::unwrap_used, reason = "a malformed fixture literal should panic")]
pub(crate) mod fixtures {
    use std::collections::BTreeMap;

    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    use crate::domain::actor::{Actor, Channel};
    use crate::domain::incident::{Incident, Severity};
    use crate::domain::lifecycle::Status;

    /// When impact began.
    pub(crate) const IMPACT_STARTED: &str = "2024-05-01T09:50:00Z";
    /// When a monitor noticed.
    pub(crate) const DETECTED: &str = "2024-05-01T09:55:00Z";
    /// When it was declared.
    pub(crate) const DECLARED: &str = "2024-05-01T10:00:00Z";
    /// First move out of triage.
    pub(crate) const ACKNOWLEDGED: &str = "2024-05-01T10:05:00Z";
    /// First entry into `identified`.
    pub(crate) const IDENTIFIED: &str = "2024-05-01T10:20:00Z";
    /// First entry into `monitoring`.
    pub(crate) const MITIGATED: &str = "2024-05-01T10:40:00Z";
    /// Entry into `resolved`.
    pub(crate) const RESOLVED: &str = "2024-05-01T11:00:00Z";
    /// Entry into `closed`.
    pub(crate) const CLOSED: &str = "2024-05-01T12:00:00Z";
    /// The server's clock in the tests: after every fixture timestamp.
    pub(crate) const NOW: &str = "2024-05-01T13:00:00Z";

    /// Parses an RFC 3339 literal.
    pub(crate) fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().with_timezone(&Utc)
    }

    /// [`NOW`], parsed.
    pub(crate) fn now() -> DateTime<Utc> {
        at(NOW)
    }

    /// The id of the incident that [`incident`]`(Status::Merged)` was merged into.
    pub(crate) fn other_id() -> Uuid {
        Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0007)
    }

    /// INC-42 in `status`, stamped as if it took the shortest path there:
    /// triage → investigating → identified → monitoring → resolved → closed.
    /// `declined` and `merged` left straight from triage, so they carry no lifecycle stamps.
    pub(crate) fn incident(status: Status) -> Incident {
        let path = [
            Status::Triage,
            Status::Investigating,
            Status::Identified,
            Status::Monitoring,
            Status::Resolved,
            Status::Closed,
        ];
        let reached = path.iter().position(|s| *s == status).unwrap_or(0);
        let stamp = |step: usize, when: &str| (reached >= step).then(|| at(when));
        Incident {
            id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0042),
            number: 42,
            title: "Checkout returns 502".into(),
            summary: "Errors since the 09:45 deploy".into(),
            impact: "Customers cannot pay".into(),
            resolution: stamp(4, RESOLVED).map(|_| "Rolled back the deploy".to_owned()),
            severity: Severity::Sev3,
            status,
            services: vec!["checkout-api".into(), "payments".into()],
            labels: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
            dedup_key: Some("alert:checkout-5xx".into()),
            merged_into: (status == Status::Merged).then(other_id),
            version: 1,
            created_by: Actor {
                principal: "alice".into(),
                client: Some("claude-code 2.1.0".into()),
                channel: Channel::Mcp,
            },
            impact_started_at: Some(at(IMPACT_STARTED)),
            detected_at: Some(at(DETECTED)),
            declared_at: at(DECLARED),
            acknowledged_at: stamp(1, ACKNOWLEDGED),
            identified_at: stamp(2, IDENTIFIED),
            mitigated_at: stamp(3, MITIGATED),
            resolved_at: stamp(4, RESOLVED),
            closed_at: stamp(5, CLOSED),
            updated_at: at(DECLARED),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failing test should panic")]
mod tests {
    use super::fixtures::{at, incident, now};
    use super::*;

    fn request() -> DeclareRequest {
        DeclareRequest {
            title: "  Checkout returns 502  ".into(),
            severity: Some(Severity::Sev2),
            ..DeclareRequest::default()
        }
    }

    fn error_of(request: DeclareRequest) -> ValidationError {
        NewIncident::parse(request, now()).unwrap_err()
    }

    // ── Severity ────────────────────────────────────────────────────────────

    #[test]
    fn severities_render_and_parse_as_people_say_them() {
        for (severity, text, level, major) in [
            (Severity::Sev1, "SEV1", 1, true),
            (Severity::Sev2, "SEV2", 2, true),
            (Severity::Sev3, "SEV3", 3, false),
            (Severity::Sev4, "SEV4", 4, false),
            (Severity::Sev5, "SEV5", 5, false),
        ] {
            assert_eq!(severity.to_string(), text);
            assert_eq!(text.parse::<Severity>(), Ok(severity));
            assert_eq!(severity.level(), level);
            assert_eq!(Severity::from_level(level), Some(severity));
            assert_eq!(severity.is_major(), major, "{severity}");
        }
    }

    #[test]
    fn sev1_is_worse_than_sev5_in_ordering() {
        assert!(Severity::Sev1 < Severity::Sev5);
    }

    #[test]
    fn unknown_severities_are_refused_with_the_allowed_range() {
        assert_eq!(Severity::from_level(0), None);
        assert_eq!(Severity::from_level(6), None);
        let error = "SEV6".parse::<Severity>().unwrap_err();
        assert!(error.contains("`SEV6`") && error.contains("SEV1") && error.contains("SEV5"), "{error}");
    }

    #[test]
    fn reference_is_inc_dash_number() {
        assert_eq!(incident(Status::Triage).reference(), "INC-42");
    }

    // ── NewIncident::parse ──────────────────────────────────────────────────

    #[test]
    fn a_minimal_declaration_gets_defaults_and_a_trimmed_title() {
        let new = NewIncident::parse(request(), now()).unwrap();
        assert_eq!(
            new,
            NewIncident {
                title: "Checkout returns 502".into(),
                severity: Severity::Sev2,
                summary: String::new(),
                impact: String::new(),
                services: vec![],
                labels: BTreeMap::new(),
                commander: None,
                impact_started_at: None,
                detected_at: now(),
                dedup_key: None,
            }
        );
    }

    #[test]
    fn a_full_declaration_keeps_every_field() {
        let request = DeclareRequest {
            summary: Some("5xx since deploy".into()),
            impact: Some("No payments".into()),
            services: vec!["checkout-api".into(), "payments".into(), "checkout-api".into()],
            labels: BTreeMap::from([("alertname".into(), "Checkout5xx".into())]),
            commander: Some("  bob  ".into()),
            impact_started_at: Some(at("2024-05-01T09:50:00Z")),
            detected_at: Some(at("2024-05-01T09:55:00Z")),
            dedup_key: Some("alert:checkout-5xx".into()),
            ..request()
        };
        let new = NewIncident::parse(request, now()).unwrap();
        assert_eq!(new.summary, "5xx since deploy");
        assert_eq!(new.impact, "No payments");
        assert_eq!(new.services, ["checkout-api", "payments"]);
        assert_eq!(new.labels["alertname"], "Checkout5xx");
        assert_eq!(new.commander.as_deref(), Some("bob"));
        assert_eq!(new.impact_started_at, Some(at("2024-05-01T09:50:00Z")));
        assert_eq!(new.detected_at, at("2024-05-01T09:55:00Z"));
        assert_eq!(new.dedup_key.as_deref(), Some("alert:checkout-5xx"));
    }

    #[test]
    fn detected_at_defaults_to_now() {
        let new = NewIncident::parse(request(), now()).unwrap();
        assert_eq!(new.detected_at, now());
    }

    #[test]
    fn severity_is_required_and_the_error_names_the_choices() {
        let error = error_of(DeclareRequest { severity: None, ..request() });
        assert_eq!(error.field, "severity");
        assert!(error.reason.contains("SEV1") && error.reason.contains("SEV5"), "{error}");
    }

    #[test]
    fn impact_cannot_start_after_detection() {
        let error = error_of(DeclareRequest {
            impact_started_at: Some(at("2024-05-01T10:00:01Z")),
            detected_at: Some(at("2024-05-01T10:00:00Z")),
            ..request()
        });
        assert_eq!(error.field, "impact_started_at");
        assert!(error.reason.contains("`detected_at`"), "{error}");
    }

    #[test]
    fn impact_may_start_at_the_moment_of_detection() {
        let same = Some(at("2024-05-01T10:00:00Z"));
        let request = DeclareRequest { impact_started_at: same, detected_at: same, ..request() };
        assert!(NewIncident::parse(request, now()).is_ok());
    }

    #[test]
    fn every_field_error_names_its_field() {
        let too_long = || "x".repeat(validation::TEXT_MAX_BYTES + 1);
        let future = || Some(now() + chrono::Duration::minutes(6));
        let cases: [(&str, DeclareRequest); 10] = [
            ("title", DeclareRequest { title: "  ".into(), ..request() }),
            ("summary", DeclareRequest { summary: Some(too_long()), ..request() }),
            ("impact", DeclareRequest { impact: Some(too_long()), ..request() }),
            ("services", DeclareRequest { services: vec!["Checkout".into()], ..request() }),
            (
                "labels.bad key",
                DeclareRequest {
                    labels: BTreeMap::from([("bad key".into(), "v".into())]),
                    ..request()
                },
            ),
            ("commander", DeclareRequest { commander: Some("   ".into()), ..request() }),
            ("dedup_key", DeclareRequest { dedup_key: Some(String::new()), ..request() }),
            ("dedup_key", DeclareRequest { dedup_key: Some("a\nb".into()), ..request() }),
            ("impact_started_at", DeclareRequest { impact_started_at: future(), ..request() }),
            ("detected_at", DeclareRequest { detected_at: future(), ..request() }),
        ];
        for (field, request) in cases {
            let error = error_of(request);
            assert_eq!(error.field, field, "{error}");
        }
    }

    // ── IncidentChanges ─────────────────────────────────────────────────────

    #[test]
    fn no_changes_is_empty_and_any_single_field_is_not() {
        assert!(IncidentChanges::default().is_empty());
        let one_field = [
            IncidentChanges { title: Some("t".into()), ..Default::default() },
            IncidentChanges { summary: Some(String::new()), ..Default::default() },
            IncidentChanges { impact: Some(String::new()), ..Default::default() },
            IncidentChanges { severity: Some(Severity::Sev1), ..Default::default() },
            IncidentChanges { services: Some(vec![]), ..Default::default() },
            IncidentChanges { labels: Some(BTreeMap::new()), ..Default::default() },
        ];
        for changes in one_field {
            assert!(!changes.is_empty(), "{changes:?}");
        }
    }

    #[test]
    fn parsing_changes_validates_and_normalises_each_given_field() {
        let changes = IncidentChanges {
            title: Some("  New title ".into()),
            services: Some(vec!["a".into(), "b".into(), "a".into()]),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(changes.title.as_deref(), Some("New title"));
        assert_eq!(changes.services, Some(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn parsing_changes_reports_the_offending_field() {
        let too_long = || "x".repeat(validation::TEXT_MAX_BYTES + 1);
        let cases: [(&str, IncidentChanges); 5] = [
            ("title", IncidentChanges { title: Some("a\nb".into()), ..Default::default() }),
            ("summary", IncidentChanges { summary: Some(too_long()), ..Default::default() }),
            ("impact", IncidentChanges { impact: Some(too_long()), ..Default::default() }),
            ("services", IncidentChanges { services: Some(vec!["a_b".into()]), ..Default::default() }),
            (
                "labels.a b",
                IncidentChanges {
                    labels: Some(BTreeMap::from([("a b".into(), String::new())])),
                    ..Default::default()
                },
            ),
        ];
        for (field, changes) in cases {
            let error = changes.parse().unwrap_err();
            assert_eq!(error.field, field, "{error}");
        }
    }

    #[test]
    fn a_severity_change_is_reported_as_sev_names() {
        let mut incident = incident(Status::Investigating);
        let changed = incident.apply(IncidentChanges {
            severity: Some(Severity::Sev1),
            ..Default::default()
        });
        assert_eq!(
            changed,
            [FieldChange { field: "severity", from: "SEV3".into(), to: "SEV1".into() }]
        );
        assert_eq!(incident.severity, Severity::Sev1);
    }

    #[test]
    fn only_fields_that_differ_are_reported() {
        let mut incident = incident(Status::Investigating);
        let changed = incident.apply(IncidentChanges {
            title: Some("Checkout returns 502".into()), // same
            summary: Some("Rollback started".into()),   // different
            severity: Some(Severity::Sev3),             // same
            ..Default::default()
        });
        assert_eq!(
            changed,
            [FieldChange {
                field: "summary",
                from: "Errors since the 09:45 deploy".into(),
                to: "Rollback started".into(),
            }]
        );
        assert_eq!(incident.summary, "Rollback started");
    }

    #[test]
    fn applying_identical_values_changes_nothing() {
        let before = incident(Status::Identified);
        let mut after = before.clone();
        let changed = after.apply(IncidentChanges {
            title: Some(before.title.clone()),
            summary: Some(before.summary.clone()),
            impact: Some(before.impact.clone()),
            severity: Some(before.severity),
            services: Some(before.services.clone()),
            labels: Some(before.labels.clone()),
        });
        assert_eq!(changed, []);
        assert_eq!(after, before);
    }

    #[test]
    fn every_changed_field_is_reported_in_a_fixed_order_with_readable_values() {
        let mut incident = incident(Status::Monitoring);
        let changed = incident.apply(IncidentChanges {
            title: Some("Checkout slow".into()),
            summary: Some("s".into()),
            impact: Some("i".into()),
            severity: Some(Severity::Sev4),
            services: Some(vec!["checkout-api".into()]),
            labels: Some(BTreeMap::from([
                ("env".into(), "prod".into()),
                ("region".into(), "eu-west-1".into()),
            ])),
        });
        let rendered: Vec<(&str, &str, &str)> = changed
            .iter()
            .map(|c| (c.field, c.from.as_str(), c.to.as_str()))
            .collect();
        assert_eq!(
            rendered,
            [
                ("severity", "SEV3", "SEV4"),
                ("title", "Checkout returns 502", "Checkout slow"),
                ("summary", "Errors since the 09:45 deploy", "s"),
                ("impact", "Customers cannot pay", "i"),
                ("services", "checkout-api, payments", "checkout-api"),
                ("labels", "env=prod", "env=prod, region=eu-west-1"),
            ]
        );
        assert_eq!(incident.title, "Checkout slow");
        assert_eq!(incident.impact, "i");
        assert_eq!(incident.services, ["checkout-api"]);
        assert_eq!(incident.labels.len(), 2);
    }

    #[test]
    fn clearing_services_and_labels_is_a_change() {
        let mut incident = incident(Status::Investigating);
        let changed = incident.apply(IncidentChanges {
            services: Some(vec![]),
            labels: Some(BTreeMap::new()),
            ..Default::default()
        });
        let fields: Vec<&str> = changed.iter().map(|c| c.field).collect();
        assert_eq!(fields, ["services", "labels"]);
        assert_eq!(changed[0].to, "");
        assert!(incident.services.is_empty() && incident.labels.is_empty());
    }
}
