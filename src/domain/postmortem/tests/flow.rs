//! The status flow, the publication rules and the close gate.

use super::*;

#[test]
fn the_status_flow_goes_through_review_and_publishing_needs_a_complete_postmortem() {
    let resolved = incident(Status::Resolved);
    let mut postmortem = Postmortem::draft(&resolved, generated(&resolved, None), &actor(), now());
    let skip = postmortem
        .edit(
            &resolved,
            SectionEdits::default(),
            Some(PostmortemStatus::Published),
            "bob",
            now(),
        )
        .unwrap_err();
    assert!(
        skip.to_string().contains("move it to `in_review` first"),
        "{skip}"
    );
    postmortem
        .edit(
            &resolved,
            SectionEdits::default(),
            Some(PostmortemStatus::InReview),
            "bob",
            now(),
        )
        .unwrap();
    let unwritten = postmortem
        .edit(
            &resolved,
            SectionEdits::default(),
            Some(PostmortemStatus::Published),
            "bob",
            now(),
        )
        .unwrap_err();
    assert!(unwritten.to_string().contains("unwritten sections: root_causes, trigger, detection, resolution, what_went_well, what_went_wrong, where_we_got_lucky, lessons"), "{unwritten}");
    assert_eq!(
        postmortem.status,
        PostmortemStatus::InReview,
        "a refusal changes nothing"
    );
    let edit = postmortem
        .edit(
            &resolved,
            written(),
            Some(PostmortemStatus::Published),
            "bob",
            now(),
        )
        .unwrap();
    assert_eq!(
        edit.status,
        Some((PostmortemStatus::InReview, PostmortemStatus::Published))
    );
    assert_eq!(postmortem.published_at, Some(now()));
    let read_only = postmortem
        .edit(
            &resolved,
            edits(&[("lessons", "More.")]),
            None,
            "bob",
            now(),
        )
        .unwrap_err();
    assert!(read_only.to_string().contains("read-only"));
    let refresh = postmortem.refresh(&resolved, generated(&resolved, None), "bob", now());
    assert!(refresh.unwrap_err().to_string().contains("status: draft"));
    let reopened = postmortem
        .edit(
            &resolved,
            edits(&[("lessons", "More.")]),
            Some(PostmortemStatus::Draft),
            "bob",
            now(),
        )
        .unwrap();
    assert_eq!(
        reopened.status,
        Some((PostmortemStatus::Published, PostmortemStatus::Draft))
    );
}

#[test]
fn publishing_needs_the_incident_resolved_and_the_facts_gathered_after() {
    let live = incident(Status::Monitoring);
    let mut postmortem = Postmortem::draft(&live, generated(&live, None), &actor(), now());
    postmortem
        .edit(
            &live,
            written(),
            Some(PostmortemStatus::InReview),
            "bob",
            now(),
        )
        .unwrap();
    let open = postmortem
        .edit(
            &live,
            SectionEdits::default(),
            Some(PostmortemStatus::Published),
            "bob",
            now(),
        )
        .unwrap_err();
    assert!(
        open.to_string()
            .contains("INC-42 is still `monitoring`: resolve it first"),
        "{open}"
    );
    let resolved = incident(Status::Resolved);
    let stale = postmortem
        .edit(
            &resolved,
            SectionEdits::default(),
            Some(PostmortemStatus::Published),
            "bob",
            now(),
        )
        .unwrap_err();
    assert!(
        stale.to_string().contains("run draft_postmortem again"),
        "{stale}"
    );
    postmortem
        .refresh(&resolved, generated(&resolved, None), "bob", now())
        .unwrap();
    postmortem
        .edit(
            &resolved,
            SectionEdits::default(),
            Some(PostmortemStatus::Published),
            "bob",
            now(),
        )
        .unwrap();
}

#[test]
fn only_major_incidents_need_a_published_postmortem_to_close() {
    let mut major = incident(Status::Resolved);
    major.severity = Severity::Sev2;
    let missing = close_gate(&major, None).unwrap_err().to_string();
    assert!(
        missing.contains("INC-42 is SEV2 (a major incident) and has no postmortem yet"),
        "{missing}"
    );
    assert!(missing.contains("draft_postmortem") && missing.contains("`published`"));
    let draft = close_gate(&major, Some(PostmortemStatus::InReview)).unwrap_err();
    assert!(
        draft
            .to_string()
            .contains("has a postmortem in `in_review`")
    );
    close_gate(&major, Some(PostmortemStatus::Published)).unwrap();
    close_gate(&incident(Status::Resolved), None).unwrap();
}
