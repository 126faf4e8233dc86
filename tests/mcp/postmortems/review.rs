//! The review flow (`draft` → `in_review` → `published`, and back), the close gate (SEV1 and SEV2
//! incidents close only once their postmortem is published), and concurrent writers.

use serde_json::json;

use crate::postmortems::{draft, move_to, publish, resolve, writer_sections};
use crate::support::{TestDb, call, declare, failure, ok};

#[tokio::test]
async fn a_postmortem_is_reviewed_then_published_once_complete() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let incident = declare(&client, "Checkout returns 502", "SEV2").await;
    resolve(&client, &incident).await;
    draft(&client, &incident).await;
    let skip = failure(
        call(
            &client,
            "update_postmortem",
            json!({"incident": incident, "expected_version": 1, "status": "published"}),
        )
        .await,
    );
    assert_eq!(skip.code, "invalid_transition");
    assert!(
        skip.message.contains("move it to `in_review` first"),
        "{}",
        skip.message
    );
    ok(call(
        &client,
        "update_postmortem",
        json!({"incident": incident, "expected_version": 1, "status": "in_review"}),
    )
    .await);
    let incomplete = failure(
        call(
            &client,
            "update_postmortem",
            json!({"incident": incident, "expected_version": 2, "status": "published"}),
        )
        .await,
    );
    assert_eq!(incomplete.code, "invalid_transition");
    assert!(
        incomplete
            .message
            .contains("unwritten sections: root_causes, trigger"),
        "{}",
        incomplete.message
    );
    let published = ok(call(
        &client,
        "update_postmortem",
        json!({"incident": incident, "expected_version": 2, "sections": writer_sections(), "status": "published"}),
    )
    .await);
    assert_eq!(published["previous_status"], "in_review");
    assert!(published["postmortem"].get("unwritten_sections").is_none());
    assert!(published["postmortem"]["published_at"].is_string());
    let markdown =
        ok(call(&client, "get_postmortem", json!({"incident": incident})).await)["markdown"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(markdown.contains("## Where we got lucky\n\nIt happened off-peak."));
    assert!(!markdown.contains("To write"));

    let timeline = ok(call(
        &client,
        "get_timeline",
        json!({"incident": incident, "kinds": ["field_change"]}),
    )
    .await);
    let bodies: Vec<&str> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies[1], "Postmortem status draft → in_review (version 2)");
    assert!(
        bodies[2].starts_with("Postmortem edited detection, lessons,")
            && bodies[2].ends_with("; status in_review → published (version 3)"),
        "{}",
        bodies[2]
    );
    let reopened = ok(call(
        &client,
        "update_postmortem",
        json!({"incident": incident, "expected_version": 3, "status": "draft"}),
    )
    .await);
    assert_eq!(
        reopened["postmortem"]["allowed_next_statuses"],
        json!(["in_review"])
    );
}

#[tokio::test]
async fn major_incidents_close_only_once_their_postmortem_is_published() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let sev1 = declare(&client, "Payments down", "SEV1").await;
    resolve(&client, &sev1).await;
    let before = db.fingerprint().await;
    let refused = failure(
        call(
            &client,
            "change_status",
            json!({"incident": sev1, "to": "closed"}),
        )
        .await,
    );
    assert_eq!(refused.code, "invalid_transition");
    for needle in [
        "INC-1 is SEV1",
        "has no postmortem yet",
        "draft_postmortem",
        "update_postmortem",
        "`published`",
    ] {
        assert!(
            refused.message.contains(needle),
            "{needle}: {}",
            refused.message
        );
    }
    assert_eq!(
        db.fingerprint().await,
        before,
        "a refused close writes nothing"
    );
    draft(&client, &sev1).await;
    ok(call(&client, "update_postmortem", json!({"incident": sev1, "expected_version": 1, "sections": writer_sections(), "status": "in_review"})).await);
    let in_review = failure(
        call(
            &client,
            "change_status",
            json!({"incident": sev1, "to": "closed"}),
        )
        .await,
    );
    assert!(
        in_review
            .message
            .contains("has a postmortem in `in_review`"),
        "{}",
        in_review.message
    );
    ok(call(
        &client,
        "update_postmortem",
        json!({"incident": sev1, "expected_version": 2, "status": "published"}),
    )
    .await);
    assert_eq!(move_to(&client, &sev1, "closed").await["status"], "closed");

    let sev2 = declare(&client, "Search slow", "SEV2").await;
    resolve(&client, &sev2).await;
    assert_eq!(
        failure(
            call(
                &client,
                "change_status",
                json!({"incident": sev2, "to": "closed"})
            )
            .await
        )
        .code,
        "invalid_transition"
    );
    draft(&client, &sev2).await;
    publish(&client, &sev2).await;
    assert_eq!(move_to(&client, &sev2, "closed").await["status"], "closed");
    let sev3 = declare(&client, "Typo on status page", "SEV3").await;
    resolve(&client, &sev3).await;
    assert_eq!(move_to(&client, &sev3, "closed").await["status"], "closed");
}

#[tokio::test]
async fn declined_and_merged_incidents_get_no_postmortem() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let target = declare(&client, "Checkout returns 502", "SEV2").await;
    let declined = declare(&client, "False alarm", "SEV4").await;
    move_to(&client, &declined, "declined").await;
    let refused = failure(call(&client, "draft_postmortem", json!({"incident": declined})).await);
    assert_eq!(refused.code, "invalid_transition");
    assert!(refused.message.contains("declined"));
    let merged = declare(&client, "Duplicate of checkout", "SEV2").await;
    ok(call(
        &client,
        "change_status",
        json!({"incident": merged, "to": "merged", "merged_into": target}),
    )
    .await);
    let refused = failure(call(&client, "draft_postmortem", json!({"incident": merged})).await);
    assert!(
        refused
            .message
            .contains("draft the postmortem of that incident"),
        "{}",
        refused.message
    );
}

#[tokio::test]
async fn concurrent_first_drafts_create_one_postmortem() {
    let db = TestDb::new().await;
    let (one, two) = (db.client().await, db.client().await);
    let incident = declare(&one, "Checkout returns 502", "SEV2").await;
    let args = json!({"incident": incident});
    let (a, b) = tokio::join!(
        call(&one, "draft_postmortem", args.clone()),
        call(&two, "draft_postmortem", args)
    );
    let (a, b) = (ok(a), ok(b));
    let mut created = [
        a["created"].as_bool().unwrap(),
        b["created"].as_bool().unwrap(),
    ];
    created.sort_unstable();
    assert_eq!(created, [false, true], "one creates, the other finds it");
    assert_eq!(db.count("postmortem").await, 1);
}

#[tokio::test]
async fn of_two_writers_holding_the_same_version_one_wins_and_the_other_gets_a_conflict() {
    let db = TestDb::new().await;
    let (one, two) = (db.client().await, db.client().await);
    let incident = declare(&one, "Checkout returns 502", "SEV2").await;
    draft(&one, &incident).await;
    let (a, b) = tokio::join!(
        call(
            &one,
            "update_postmortem",
            json!({"incident": incident, "expected_version": 1, "sections": {"lessons": "From one."}})
        ),
        call(
            &two,
            "update_postmortem",
            json!({"incident": incident, "expected_version": 1, "sections": {"lessons": "From two."}})
        )
    );
    let outcomes = [a.is_error == Some(true), b.is_error == Some(true)];
    assert_eq!(
        outcomes.iter().filter(|failed| **failed).count(),
        1,
        "{a:?} {b:?}"
    );
    let loser = if outcomes[0] { a } else { b };
    assert_eq!(failure(loser).code, "conflict");
    let postmortem = ok(call(
        &one,
        "get_postmortem",
        json!({"incident": incident, "format": "json"}),
    )
    .await);
    assert_eq!(postmortem["version"], 2);
}
