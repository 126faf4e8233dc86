//! Unit tests for `domain::incident`.

#![allow(clippy::unwrap_used, reason = "a failing test should panic")]

use super::fixtures::{at, incident, now};
use super::*;

fn request() -> DeclareRequest {
    DeclareRequest {
        title: "  Checkout returns 502  ".into(),
        severity: Severity::Sev2,
        summary: None,
        impact: None,
        services: Vec::new(),
        labels: BTreeMap::new(),
        commander: None,
        impact_started_at: None,
        detected_at: None,
        dedup_key: None,
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
    assert!(
        error.contains("`SEV6`") && error.contains("SEV1") && error.contains("SEV5"),
        "{error}"
    );
}

#[test]
fn reference_is_inc_dash_number() {
    assert_eq!(incident(Status::Triage).reference().to_string(), "INC-42");
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
        services: vec![
            "checkout-api".into(),
            "payments".into(),
            "checkout-api".into(),
        ],
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
    let request = DeclareRequest {
        impact_started_at: same,
        detected_at: same,
        ..request()
    };
    assert!(NewIncident::parse(request, now()).is_ok());
}

#[test]
fn every_field_error_names_its_field() {
    let too_long = || "x".repeat(validation::TEXT_MAX_BYTES + 1);
    let future = || Some(now() + chrono::Duration::minutes(6));
    let cases: [(&str, DeclareRequest); 10] = [
        (
            "title",
            DeclareRequest {
                title: "  ".into(),
                ..request()
            },
        ),
        (
            "summary",
            DeclareRequest {
                summary: Some(too_long()),
                ..request()
            },
        ),
        (
            "impact",
            DeclareRequest {
                impact: Some(too_long()),
                ..request()
            },
        ),
        (
            "services",
            DeclareRequest {
                services: vec!["Checkout".into()],
                ..request()
            },
        ),
        (
            "labels.bad key",
            DeclareRequest {
                labels: BTreeMap::from([("bad key".into(), "v".into())]),
                ..request()
            },
        ),
        (
            "commander",
            DeclareRequest {
                commander: Some("   ".into()),
                ..request()
            },
        ),
        (
            "dedup_key",
            DeclareRequest {
                dedup_key: Some(String::new()),
                ..request()
            },
        ),
        (
            "dedup_key",
            DeclareRequest {
                dedup_key: Some("a\nb".into()),
                ..request()
            },
        ),
        (
            "impact_started_at",
            DeclareRequest {
                impact_started_at: future(),
                ..request()
            },
        ),
        (
            "detected_at",
            DeclareRequest {
                detected_at: future(),
                ..request()
            },
        ),
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
        IncidentChanges {
            title: Some("t".into()),
            ..Default::default()
        },
        IncidentChanges {
            summary: Some(String::new()),
            ..Default::default()
        },
        IncidentChanges {
            impact: Some(String::new()),
            ..Default::default()
        },
        IncidentChanges {
            severity: Some(Severity::Sev1),
            ..Default::default()
        },
        IncidentChanges {
            services: Some(vec![]),
            ..Default::default()
        },
        IncidentChanges {
            labels: Some(BTreeMap::new()),
            ..Default::default()
        },
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
        (
            "title",
            IncidentChanges {
                title: Some("a\nb".into()),
                ..Default::default()
            },
        ),
        (
            "summary",
            IncidentChanges {
                summary: Some(too_long()),
                ..Default::default()
            },
        ),
        (
            "impact",
            IncidentChanges {
                impact: Some(too_long()),
                ..Default::default()
            },
        ),
        (
            "services",
            IncidentChanges {
                services: Some(vec!["a_b".into()]),
                ..Default::default()
            },
        ),
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
    let changed = incident.apply(
        IncidentChanges {
            severity: Some(Severity::Sev1),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    );
    assert_eq!(
        changed,
        [FieldChange {
            field: "severity",
            from: "SEV3".into(),
            to: "SEV1".into()
        }]
    );
    assert_eq!(incident.severity, Severity::Sev1);
}

#[test]
fn only_fields_that_differ_are_reported() {
    let mut incident = incident(Status::Investigating);
    let changed = incident.apply(
        IncidentChanges {
            title: Some("Checkout returns 502".into()), // same
            summary: Some("Rollback started".into()),   // different
            severity: Some(Severity::Sev3),             // same
            ..Default::default()
        }
        .parse()
        .unwrap(),
    );
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
    let changed = after.apply(
        IncidentChanges {
            title: Some(before.title.clone()),
            summary: Some(before.summary.clone()),
            impact: Some(before.impact.clone()),
            severity: Some(before.severity),
            services: Some(before.services.clone()),
            labels: Some(before.labels.clone()),
        }
        .parse()
        .unwrap(),
    );
    assert_eq!(changed, []);
    assert_eq!(after, before);
}

#[test]
fn every_changed_field_is_reported_in_a_fixed_order_with_readable_values() {
    let mut incident = incident(Status::Monitoring);
    let changed = incident.apply(
        IncidentChanges {
            title: Some("Checkout slow".into()),
            summary: Some("s".into()),
            impact: Some("i".into()),
            severity: Some(Severity::Sev4),
            services: Some(vec!["checkout-api".into()]),
            labels: Some(BTreeMap::from([
                ("env".into(), "prod".into()),
                ("region".into(), "eu-west-1".into()),
            ])),
        }
        .parse()
        .unwrap(),
    );
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
    let changed = incident.apply(
        IncidentChanges {
            services: Some(vec![]),
            labels: Some(BTreeMap::new()),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    );
    let fields: Vec<&str> = changed.iter().map(|c| c.field).collect();
    assert_eq!(fields, ["services", "labels"]);
    assert_eq!(changed[0].to, "");
    assert!(incident.services.is_empty() && incident.labels.is_empty());
}

#[test]
fn impact_cannot_start_after_a_defaulted_detection_time() {
    let mut request = request();
    request.detected_at = None;
    request.impact_started_at = Some(now() + chrono::Duration::minutes(2));
    let err = NewIncident::parse(request, now()).unwrap_err();
    assert_eq!(err.field, "impact_started_at");
}
