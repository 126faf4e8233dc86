//! Unit tests for `domain::postmortem`: generation, provenance on refresh, the status flow,
//! the close gate and rendering.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::*;
use crate::domain::actor::Channel;
use crate::domain::incident::Severity;
use crate::domain::incident::fixtures::{at, incident, now};
use crate::domain::timeline::{EntryKind, TimelineEntry, Visibility};

mod flow;

fn actor() -> Actor {
    Actor {
        principal: "bob".into(),
        client: None,
        channel: Channel::Mcp,
    }
}

fn entry(seq: i64, kind: EntryKind, when: &str, body: &str) -> TimelineEntry {
    TimelineEntry {
        id: Uuid::from_u128(seq as u128),
        seq,
        kind,
        body: body.into(),
        occurred_at: at(when),
        recorded_at: at(when),
        visibility: Visibility::Internal,
        actor: actor(),
        data: None,
    }
}

/// The generated sections of `incident` with one hypothesis, one finding and one change.
fn generated(incident: &Incident, extra_finding: Option<&str>) -> Vec<(SectionName, String)> {
    let mut key = vec![
        entry(
            1,
            EntryKind::StatusChange,
            "2024-05-01T10:05:00Z",
            "Status triage → investigating",
        ),
        entry(
            2,
            EntryKind::Hypothesis,
            "2024-05-01T10:10:00Z",
            "Pool exhausted | after deploy",
        ),
        entry(
            3,
            EntryKind::Finding,
            "2024-05-01T10:15:00Z",
            "Pool at 100% on db-1",
        ),
    ];
    if let Some(body) = extra_finding {
        key.push(entry(4, EntryKind::Finding, "2024-05-01T10:30:00Z", body));
    }
    let signals = [entry(
        9,
        EntryKind::Change,
        "2024-05-01T09:45:00Z",
        "Deploy 4312 of checkout-api",
    )];
    let history = [
        SeverityStep {
            at: at("2024-05-01T10:00:00Z"),
            severity: Severity::Sev3,
            by: "alice".into(),
        },
        SeverityStep {
            at: at("2024-05-01T10:12:00Z"),
            severity: Severity::Sev2,
            by: "bob".into(),
        },
    ];
    let facts = Facts {
        incident,
        severity_history: &history,
        roles: &[],
        key_entries: &key,
        has_more_key_entries: false,
        signals: &signals,
        action_items: &[],
    };
    generate(&facts, now())
}

fn body(sections: &[(SectionName, String)], name: SectionName) -> &str {
    sections
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b.as_str())
        .unwrap()
}

fn edits(pairs: &[(&str, &str)]) -> SectionEdits {
    let raw: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    SectionEdits::parse(raw).unwrap()
}

/// Every writer section written, so that publishing is possible.
fn written() -> SectionEdits {
    edits(&[
        ("root_causes", "Pool sized for last year's traffic."),
        ("trigger", "Deploy 4312 doubled connections per pod."),
        ("detection", "The 5xx alert fired after 5 minutes."),
        ("resolution", "Rolled back, then resized the pool."),
        ("what_went_well", "Rollback took two minutes."),
        ("what_went_wrong", "No alert on pool saturation."),
        ("where_we_got_lucky", "It happened off-peak."),
        ("lessons", "Load-test connection counts."),
    ])
}

#[test]
fn a_draft_has_every_section_in_document_order_with_facts_and_prompts() {
    let sections = generated(&incident(Status::Resolved), None);
    let names: Vec<SectionName> = sections.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, SectionName::ALL);
    let durations = body(&sections, SectionName::Durations);
    assert!(durations.contains("| Time to acknowledge | 10m 0s | `detected_at` 2024-05-01 09:55 UTC | `acknowledged_at` 2024-05-01 10:05 UTC |"), "{durations}");
    assert!(durations.contains("| Time to resolve | 1h 10m | `impact_started_at`"));
    let roots = body(&sections, SectionName::RootCauses);
    assert!(roots.starts_with(PROMPT_MARKER));
    assert!(roots.contains("Pool exhausted | after deploy (bob)"));
    assert!(roots.contains("**Findings**\n\n- 2024-05-01 10:15 UTC — Pool at 100% on db-1 (bob)"));
    let timeline = body(&sections, SectionName::Timeline);
    assert!(
        timeline.contains(
            "| 2024-05-01 10:10:00 | hypothesis | Pool exhausted \\| after deploy | bob |"
        ),
        "{timeline}"
    );
    assert!(body(&sections, SectionName::Trigger).contains("Deploy 4312 of checkout-api"));
    let history = body(&sections, SectionName::SeverityHistory);
    assert!(history.contains("| 2024-05-01 10:00 UTC | SEV3 | alice (declared) |"));
    assert!(history.contains("| 2024-05-01 10:12 UTC | SEV2 | bob |"));
    assert!(body(&sections, SectionName::Impact).contains("- Highest severity: SEV2"));
    for name in [
        SectionName::WhatWentWell,
        SectionName::WhatWentWrong,
        SectionName::WhereWeGotLucky,
        SectionName::Lessons,
    ] {
        assert!(body(&sections, name).starts_with(PROMPT_MARKER), "{name}");
    }
    assert!(body(&sections, SectionName::ActionItems).contains("add_action_item"));
}

#[test]
fn a_draft_of_a_live_incident_says_it_is_not_resolved() {
    let live = incident(Status::Identified);
    let sections = generated(&live, None);
    assert!(
        body(&sections, SectionName::Summary).contains("**not resolved** (still `identified`)")
    );
    assert!(body(&sections, SectionName::Durations).contains("(ongoing)"));
    let postmortem = Postmortem::draft(&live, sections, &actor(), now());
    let notice = postmortem.notice(&live).unwrap();
    assert!(notice.contains("INC-42 was `identified`"), "{notice}");
    let markdown = render(None, &live, &postmortem).unwrap();
    assert!(
        markdown.contains("> **Not resolved.** INC-42 was `identified`"),
        "{markdown}"
    );
}

#[test]
fn refreshing_rewrites_generated_sections_and_keeps_edited_ones() {
    let resolved = incident(Status::Resolved);
    let mut postmortem = Postmortem::draft(&resolved, generated(&resolved, None), &actor(), now());
    let edit = postmortem
        .edit(
            &resolved,
            edits(&[
                ("what_went_well", "Fast rollback."),
                ("timeline", "Hand-written timeline."),
            ]),
            None,
            "carol",
            now(),
        )
        .unwrap();
    assert_eq!(
        edit.sections,
        [SectionName::Timeline, SectionName::WhatWentWell]
    );
    let refresh = postmortem
        .refresh(
            &resolved,
            generated(&resolved, Some("Retry storm from the mobile app")),
            "bob",
            now(),
        )
        .unwrap();
    assert_eq!(refresh.refreshed, [SectionName::RootCauses]);
    assert_eq!(
        refresh.kept_edited,
        [SectionName::Timeline, SectionName::WhatWentWell]
    );
    assert_eq!(
        postmortem.section(SectionName::Timeline).unwrap().body,
        "Hand-written timeline."
    );
    assert!(
        postmortem
            .section(SectionName::RootCauses)
            .unwrap()
            .body
            .contains("Retry storm")
    );
    let well = postmortem.section(SectionName::WhatWentWell).unwrap();
    assert_eq!(
        (well.origin, well.updated_by.as_str()),
        (Origin::Edited, "carol")
    );
}

#[test]
fn sending_a_section_back_unchanged_is_not_an_edit() {
    let resolved = incident(Status::Resolved);
    let sections = generated(&resolved, None);
    let summary = body(&sections, SectionName::Summary).to_owned();
    let lucky = body(&sections, SectionName::WhereWeGotLucky).to_owned();
    let mut postmortem = Postmortem::draft(&resolved, sections, &actor(), now());
    let edit = postmortem
        .edit(
            &resolved,
            edits(&[("summary", &summary), ("where_we_got_lucky", &lucky)]),
            None,
            "carol",
            now(),
        )
        .unwrap();
    assert!(edit.is_empty());
    assert_eq!(
        postmortem.section(SectionName::Summary).unwrap().origin,
        Origin::Generated
    );
}

#[test]
fn a_written_section_must_replace_the_prompt() {
    let resolved = incident(Status::Resolved);
    let mut postmortem = Postmortem::draft(&resolved, generated(&resolved, None), &actor(), now());
    let text = format!("{PROMPT_MARKER} What went well?\nThe rollback.");
    let err = postmortem
        .edit(
            &resolved,
            edits(&[("what_went_well", &text)]),
            None,
            "carol",
            now(),
        )
        .unwrap_err();
    let EditError::Invalid(invalid) = err else {
        panic!("{err:?}")
    };
    assert_eq!(invalid.field, "sections.what_went_well");
}

#[test]
fn an_unknown_or_blank_section_is_refused_naming_it_and_listing_the_sections() {
    let raw = BTreeMap::from([("conclusions".to_owned(), "x".to_owned())]);
    let err = SectionEdits::parse(raw).unwrap_err();
    assert_eq!(err.field, "sections.conclusions");
    assert!(
        err.reason.contains("summary, impact, durations"),
        "{}",
        err.reason
    );
    assert!(
        err.reason
            .contains("where_we_got_lucky, lessons, action_items")
    );
    let blank = BTreeMap::from([("lessons".to_owned(), "  ".to_owned())]);
    assert_eq!(
        SectionEdits::parse(blank).unwrap_err().field,
        "sections.lessons"
    );
}

#[test]
fn the_default_template_renders_every_section_under_its_heading() {
    let resolved = incident(Status::Resolved);
    let postmortem = Postmortem::draft(&resolved, generated(&resolved, None), &actor(), now());
    let markdown = render(None, &resolved, &postmortem).unwrap();
    assert!(
        markdown.starts_with("# Postmortem: INC-42 — Checkout returns 502\n"),
        "{markdown}"
    );
    assert!(markdown.contains("| Services | checkout-api, payments |"));
    assert!(!markdown.contains("Not resolved"));
    assert!(markdown.contains("blameless"));
    let headings: Vec<&str> = markdown.lines().filter(|l| l.starts_with("## ")).collect();
    let titles: Vec<String> = SectionName::ALL
        .iter()
        .map(|n| format!("## {}", n.title()))
        .collect();
    assert_eq!(headings, titles);
}

#[test]
fn a_custom_template_sees_the_incident_the_postmortem_and_each_section() {
    let resolved = incident(Status::Resolved);
    let postmortem = Postmortem::draft(&resolved, generated(&resolved, None), &actor(), now());
    let template = "{{ incident.reference }} {{ postmortem.status }} v{{ postmortem.version }}\n\
        {% for s in sections if s.needs_writing %}{{ s.name }} {% endfor %}\n\
        {{ section.lessons.title }}";
    let markdown = render(Some(template), &resolved, &postmortem).unwrap();
    assert_eq!(
        markdown,
        // trim_blocks eats the line break after `{% endfor %}`.
        "INC-42 draft v0\nroot_causes trigger detection resolution what_went_well what_went_wrong where_we_got_lucky lessons Lessons learned"
    );
}

#[test]
fn a_broken_template_names_its_line() {
    let misspelt = "# {{ incident.reference }}\n\n{{ incidnt.title }}\n";
    let err = check_template(misspelt).unwrap_err();
    assert_eq!(err.line, Some(3));
    let message = err.to_string();
    assert!(
        message.contains("at line 3 (`{{ incidnt.title }}`)"),
        "{message}"
    );
    assert!(message.contains("--postmortem-template"));
    let unclosed = check_template("ok\n{% for s in sections %}\n").unwrap_err();
    assert!(unclosed.line.is_some(), "{unclosed}");
    check_template(DEFAULT_TEMPLATE).unwrap();
}
