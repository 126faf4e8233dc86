//! Unit tests for `domain::runbook`: valid and invalid files, steps and sections, criteria.

#![allow(clippy::unwrap_used, reason = "a failing test should panic")]

use super::*;

use std::collections::BTreeMap;

use crate::domain::Severity;
use crate::domain::incident::fixtures;

const VALID: &str = "\
---
slug: high-error-rate
title: High error rate on an HTTP service
services: [checkout-api, payments]
alerts: [HighErrorRate, HTTP5xxRatio]
tags: [http, errors]
severity_hint: SEV2
---
# High error rate

## Meaning

More than 5% of requests fail.

## Diagnosis

1. [diagnostic] Check the error rate per route with `errors_by_route`.
2. [DIAGNOSTIC] Look for a deploy in the last hour.
   - nested bullets are part of the step
   1. and so are nested numbered lists

## Mitigation

7. [risky] Roll back the last deploy:

   ```sh
   kubectl rollout undo deployment/checkout-api
   ```

8. Scale the service out.

- an unordered list is not a step
";

fn parse_err(markdown: &str) -> ParseError {
    Runbook::parse(markdown).unwrap_err()
}

/// A valid file with `field_line` in place of its `services` line (line 4).
fn with_field(field_line: &str) -> String {
    VALID.replace("services: [checkout-api, payments]", field_line)
}

#[test]
fn a_valid_runbook_has_its_front_matter() {
    let runbook = Runbook::parse(VALID).unwrap();
    let meta = &runbook.meta;
    assert_eq!(meta.slug, "high-error-rate");
    assert_eq!(meta.title, "High error rate on an HTTP service");
    assert_eq!(meta.services, ["checkout-api", "payments"]);
    assert_eq!(meta.alerts, ["HighErrorRate", "HTTP5xxRatio"]);
    assert_eq!(meta.tags, ["http", "errors"]);
    assert_eq!(meta.severity_hint, Some(Severity::Sev2));
}

#[test]
fn sections_are_the_level_two_headings_with_their_content() {
    let body = Runbook::parse(VALID).unwrap().body;
    let names: Vec<&str> = body.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Meaning", "Diagnosis", "Mitigation"]);
    assert_eq!(body.sections[0].markdown, "More than 5% of requests fail.");
    assert_eq!(body.sections[0].line, 11);
    assert!(
        body.sections[2]
            .markdown
            .starts_with("7. [risky] Roll back")
    );
    assert!(
        body.sections[2]
            .markdown
            .ends_with("- an unordered list is not a step")
    );
}

#[test]
fn steps_are_numbered_through_the_document_with_their_markers() {
    let body = Runbook::parse(VALID).unwrap().body;
    let steps: Vec<(i64, StepKind, bool, &str)> = body
        .steps
        .iter()
        .map(|s| (s.number, s.kind, s.is_marked, s.text.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (
                1,
                StepKind::Diagnostic,
                true,
                "Check the error rate per route with `errors_by_route`."
            ),
            (
                2,
                StepKind::Diagnostic,
                true,
                "Look for a deploy in the last hour."
            ),
            (3, StepKind::Risky, true, "Roll back the last deploy:"),
            (4, StepKind::Risky, false, "Scale the service out."),
        ]
    );
    assert_eq!(body.steps[0].section.as_deref(), Some("Diagnosis"));
    assert_eq!(body.steps[2].section.as_deref(), Some("Mitigation"));
    assert_eq!(body.steps[0].line, 17);
    assert_eq!(body.steps[2].line, 24);
}

#[test]
fn a_step_keeps_its_commands_and_nested_lists_as_markdown() {
    let body = Runbook::parse(VALID).unwrap().body;
    assert!(
        body.steps[1]
            .markdown
            .contains("1. and so are nested numbered lists")
    );
    assert!(
        body.steps[2]
            .markdown
            .contains("kubectl rollout undo deployment/checkout-api")
    );
    assert_eq!(body.step(3).unwrap().text, "Roll back the last deploy:");
    assert!(body.step(5).is_none());
    assert!(body.step(0).is_none());
}

#[test]
fn windows_line_endings_and_a_byte_order_mark_are_accepted() {
    let crlf = format!("\u{feff}{}", VALID.replace('\n', "\r\n"));
    let runbook = Runbook::parse(&crlf).unwrap();
    assert_eq!(runbook.meta.slug, "high-error-rate");
    assert_eq!(runbook.body.steps.len(), 4);
    assert_eq!(runbook.body.steps[0].line, 17);
}

#[test]
fn optional_fields_may_be_left_out() {
    let minimal = "---\nslug: minimal\ntitle: Minimal\n---\n1. [risky] Restart it.\n";
    let runbook = Runbook::parse(minimal).unwrap();
    assert!(runbook.meta.services.is_empty());
    assert!(runbook.meta.alerts.is_empty());
    assert_eq!(runbook.meta.severity_hint, None);
    assert_eq!(runbook.body.steps[0].line, 5);
}

#[test]
fn a_file_without_front_matter_is_refused_at_line_one() {
    let err = parse_err("# Disk full\n\n1. Free space.\n");
    assert_eq!(err.line, 1);
    assert!(err.reason.contains("no front matter"), "{err}");
}

#[test]
fn unclosed_front_matter_is_refused_at_line_one() {
    let err = parse_err("---\nslug: open\ntitle: Never closed\n\n1. Step\n");
    assert_eq!(err.line, 1);
    assert!(err.reason.contains("not closed"), "{err}");
}

#[test]
fn broken_yaml_is_reported_at_its_line_in_the_file() {
    let err = parse_err(&with_field("services: [checkout-api"));
    assert!((4..=6).contains(&err.line), "{err}");
    assert!(err.reason.starts_with("front matter: "), "{err}");
}

#[test]
fn an_unknown_field_is_refused_at_its_line() {
    let err = parse_err(&with_field("owner: payments-sre"));
    assert_eq!(err.line, 4, "{err}");
    assert!(err.reason.contains("owner"), "{err}");
}

#[test]
fn a_missing_slug_is_refused() {
    let err = parse_err(&VALID.replace("slug: high-error-rate\n", ""));
    assert!(err.reason.contains("missing field `slug`"), "{err}");
    assert_eq!(
        err.line, 1,
        "a missing field is reported where the front matter opens"
    );
}

#[test]
fn each_field_rule_names_the_field_and_its_line() {
    let cases = [
        ("slug: High Error Rate", 2, "`slug`"),
        ("slug: [a, b]", 2, "slug"),
        ("title: ''", 3, "`title`"),
        ("severity_hint: SEV9", 7, "SEV1"),
        ("services: [Checkout API]", 4, "`services`"),
        ("tags: [Not A Slug]", 6, "`tags`"),
        ("alerts: ['']", 5, "`alerts`"),
    ];
    for (replacement, line, needle) in cases {
        let field = replacement.split(':').next().unwrap();
        let original = VALID
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap();
        let err = parse_err(&VALID.replace(original, replacement));
        assert_eq!(err.line, line, "{replacement}: {err}");
        assert!(err.reason.contains(needle), "{replacement}: {err}");
    }
}

#[test]
fn list_and_title_limits_are_enforced() {
    let long_title = format!("title: {}", "x".repeat(201));
    let err = parse_err(&VALID.replace("title: High error rate on an HTTP service", &long_title));
    assert!(err.reason.contains("1–200"), "{err}");
    let tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let err = parse_err(&VALID.replace(
        "tags: [http, errors]",
        &format!("tags: [{}]", tags.join(", ")),
    ));
    assert!(err.reason.contains("at most 20"), "{err}");
}

#[test]
fn a_runbook_without_steps_is_refused() {
    let err = parse_err("---\nslug: empty\ntitle: Empty\n---\n## Meaning\n\nNothing to do.\n");
    assert_eq!(err.line, 5);
    assert!(err.reason.contains("no steps"), "{err}");
}

#[test]
fn duplicate_values_in_lists_are_dropped() {
    let runbook = Runbook::parse(&with_field("services: [a, b, a]")).unwrap();
    assert_eq!(runbook.meta.services, ["a", "b"]);
}

#[test]
fn plain_remote_markdown_keeps_its_steps_without_metadata() {
    let remote = RemoteRunbook::parse("# KubePodCrashLooping\n\n## Mitigation\n\n1. Check logs\n");
    assert_eq!(remote.meta, None);
    assert_eq!(remote.meta_error, None);
    assert_eq!(remote.body.steps.len(), 1);
    assert_eq!(remote.body.steps[0].kind, StepKind::Risky);
    assert!(!remote.body.steps[0].is_marked);
}

#[test]
fn remote_markdown_with_foreign_front_matter_reports_it_and_keeps_the_body() {
    let remote =
        RemoteRunbook::parse("---\ntitle: Kube Pod Crash Looping\nweight: 20\n---\n1. x\n");
    assert_eq!(remote.meta, None);
    let err = remote.meta_error.unwrap();
    assert!(
        err.reason.contains("slug") || err.reason.contains("weight"),
        "{err}"
    );
    assert_eq!(remote.body.steps.len(), 1);
    let valid = RemoteRunbook::parse(VALID);
    assert_eq!(valid.meta.unwrap().slug, "high-error-rate");
}

#[test]
fn the_content_hash_is_hex_sha256() {
    assert_eq!(
        content_hash("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn criteria_split_text_into_plain_words() {
    let criteria =
        Criteria::parse(Some("Disk \"full\" -or- db-3 OR disk 502 x"), None, None).unwrap();
    assert_eq!(criteria.words, ["disk", "full", "db", "502"]);
    assert_eq!(criteria.text_query().unwrap(), "disk or full or db or 502");
    assert_eq!(
        Criteria::parse(Some("  "), None, None).unwrap_err().field,
        "text"
    );
    assert_eq!(
        Criteria::parse(Some("a 1"), None, None).unwrap_err().field,
        "text"
    );
    assert_eq!(
        Criteria::parse(None, Some("Not A Slug".into()), None)
            .unwrap_err()
            .field,
        "service"
    );
    assert_eq!(
        Criteria::parse(None, None, Some("".into()))
            .unwrap_err()
            .field,
        "alert"
    );
}

#[test]
fn an_incident_contributes_services_labels_and_title_words() {
    let mut incident = fixtures::incident(crate::domain::Status::Investigating);
    incident.title = "Checkout 5xx".into();
    incident.services = vec!["checkout-api".into()];
    incident.labels = BTreeMap::from([
        ("alertname".to_owned(), "HighErrorRate".to_owned()),
        ("service".to_owned(), "payments".to_owned()),
    ]);
    let mut criteria = Criteria::parse(None, None, Some("highErrorRate".into())).unwrap();
    criteria.add_incident(&incident);
    assert_eq!(criteria.services, ["checkout-api", "payments"]);
    assert_eq!(
        criteria.alerts,
        ["highErrorRate"],
        "case-insensitive duplicate dropped"
    );
    assert_eq!(criteria.alert_keys(), ["higherrorrate"]);
    assert_eq!(criteria.words, ["checkout", "5xx"]);
}

#[test]
fn a_step_record_checks_the_step_number_and_output_size() {
    let runbook = Runbook::parse(VALID).unwrap();
    let stored = StoredRunbook {
        runbook,
        version: 2,
        latest_version: 2,
        content_hash: content_hash(VALID),
        markdown: VALID.into(),
        source_path: "high-error-rate.md".into(),
        loaded_at: fixtures::now(),
        archived_at: None,
    };
    let record = StepRecord::parse(&stored, 3, StepOutcome::Succeeded, None).unwrap();
    assert_eq!(record.kind, StepKind::Risky);
    assert_eq!(
        record.summary(),
        "Runbook high-error-rate v2, step 3 (risky) succeeded: Roll back the last deploy:"
    );
    let err = StepRecord::parse(&stored, 9, StepOutcome::Failed, None).unwrap_err();
    assert_eq!(err.field, "step");
    assert!(err.reason.contains("1–4"), "{err}");
    let big = Some("x".repeat(64 * 1024 + 1));
    let err = StepRecord::parse(&stored, 1, StepOutcome::Failed, big).unwrap_err();
    assert_eq!(err.field, "output");
}
