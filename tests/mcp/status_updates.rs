//! `post_status_update`: the audience is required, public updates name no one and only the
//! status page's components, the answer shows exactly what was published, and the brief shows
//! the newest update per audience and whether the promised next one is late.

use firebreak::app::{App, Settings};
use firebreak::domain::status_page::{Component, PageConfig};
use serde_json::{Value, json};

use crate::support::refusals::{assert_refused, invalid, with, without};
use crate::support::{Client, TestDb, call, connect_app, declare, failure, ok};

/// A client whose server shows `checkout` and `api` on its status page.
async fn client_with_page(db: &TestDb, principal: &str) -> Client {
    let settings = Settings {
        status_page: PageConfig {
            title: "Example status".into(),
            components: ["checkout", "api"]
                .iter()
                .map(|s| Component {
                    service: (*s).into(),
                    name: s.to_uppercase(),
                    description: None,
                })
                .collect(),
            public_url: Some("https://status.example.com".into()),
        },
        ..Settings::default()
    };
    connect_app(App::new(db.pool.clone(), settings), principal).await
}

fn public_update(incident: &str, message: &str) -> Value {
    json!({
        "incident": incident,
        "audience": "public",
        "status": "investigating",
        "message": message,
        "services": [{"service": "checkout", "state": "partial outage"}],
        "next_update_at": "+30m",
        "public_title": "Checkout errors",
    })
}

#[tokio::test]
async fn a_public_update_is_published_exactly_as_written() {
    let db = TestDb::new().await;
    let client = client_with_page(&db, "alice").await;
    let incident = declare(&client, "pgbouncer pool exhausted on db-7", "SEV2").await;
    let posted = ok(call(
        &client,
        "post_status_update",
        public_update(
            &incident,
            "Some checkouts fail. We are rolling back a change.",
        ),
    )
    .await);
    let published = &posted["published"];
    assert_eq!(published["audience"], "public");
    assert_eq!(published["status"], "investigating");
    assert_eq!(
        published["message"],
        "Some checkouts fail. We are rolling back a change."
    );
    assert_eq!(published["services"][0]["state"], "partial_outage");
    assert_eq!(published["public_title"], "Checkout errors");
    assert!(published["next_update_at"].is_string());
    assert!(
        posted["shown_on"]
            .as_str()
            .unwrap()
            .contains("https://status.example.com/status")
    );
    // The incident's own status is untouched, and the entry is public.
    assert_eq!(posted["incident_status"], "triage");
    let timeline = ok(call(
        &client,
        "get_timeline",
        json!({"incident": incident, "kinds": "stakeholder_update"}),
    )
    .await);
    let entry = &timeline["entries"][0];
    assert_eq!(entry["visibility"], "public");
    assert_eq!(entry["body"], published["message"]);
}

#[tokio::test]
async fn the_audience_must_be_chosen() {
    let db = TestDb::new().await;
    let client = client_with_page(&db, "alice").await;
    let incident = declare(&client, "Checkout errors", "SEV2").await;
    let mut args = public_update(&incident, "x");
    args.as_object_mut().unwrap().remove("audience");
    let refused = failure(call(&client, "post_status_update", args).await);
    assert_eq!(refused.code, "invalid_argument");
    assert!(refused.message.contains("audience"), "{}", refused.message);
    let mut args = public_update(&incident, "x");
    args["audience"] = json!("everyone");
    let refused = failure(call(&client, "post_status_update", args).await);
    assert!(
        refused.message.contains("`stakeholders`"),
        "{}",
        refused.message
    );
}

#[tokio::test]
async fn public_updates_carry_no_names_and_only_public_components() {
    let db = TestDb::new().await;
    let client = client_with_page(&db, "alice").await;
    let incident = declare(&client, "Checkout errors", "SEV1").await;
    ok(call(
        &client,
        "assign_role",
        json!({"incident": incident, "role": "commander", "assignee": "Dana Whitfield"}),
    )
    .await);
    let before = db.fingerprint().await;
    for (message, field) in [
        ("Dana Whitfield is rolling back the release", "message"),
        ("alice is on it", "message"),
        ("Mail support@example.com for help", "message"),
    ] {
        let refused = failure(
            call(
                &client,
                "post_status_update",
                public_update(&incident, message),
            )
            .await,
        );
        assert_eq!(refused.code, "invalid_argument", "{message}");
        assert_eq!(
            refused.details["field"], field,
            "{message}: {}",
            refused.message
        );
    }
    let mut internal_service = public_update(&incident, "Payments are slow");
    internal_service["services"] = json!([{"service": "payments-db", "state": "major_outage"}]);
    let refused = failure(call(&client, "post_status_update", internal_service).await);
    assert_eq!(refused.details["field"], "services[0].service");
    assert!(
        refused.message.contains("checkout, api"),
        "{}",
        refused.message
    );
    let mut untitled = public_update(&incident, "Checkout is failing for some");
    untitled.as_object_mut().unwrap().remove("public_title");
    let refused = failure(call(&client, "post_status_update", untitled).await);
    assert_eq!(refused.details["field"], "public_title");
    assert_eq!(
        db.fingerprint().await,
        before,
        "refused updates write nothing"
    );

    // Internally the same words are fine, and the services need not be public.
    ok(call(
        &client,
        "post_status_update",
        json!({"incident": incident, "audience": "internal", "status": "identified",
               "message": "Dana Whitfield is rolling back the release",
               "services": [{"service": "payments-db", "state": "major_outage"}]}),
    )
    .await);
}

#[tokio::test]
async fn the_brief_shows_the_last_update_per_audience_and_a_late_promise() {
    let db = TestDb::new().await;
    let client = client_with_page(&db, "alice").await;
    let incident = declare(&client, "Checkout errors", "SEV2").await;
    ok(call(
        &client,
        "post_status_update",
        public_update(&incident, "We are looking into it."),
    )
    .await);
    ok(call(
        &client,
        "post_status_update",
        json!({"incident": incident, "audience": "public", "status": "identified",
               "message": "We found the cause and are fixing it.",
               "services": [{"service": "checkout", "state": "degraded_performance"}]}),
    )
    .await);
    ok(call(
        &client,
        "post_status_update",
        json!({"incident": incident, "audience": "stakeholders", "status": "identified",
               "message": "Rollback of release 2026.12.1 under way; ETA 15 min.",
               "next_update_at": "+1s"}),
    )
    .await);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let brief = ok(call(&client, "get_incident", json!({"incident": incident})).await);
    let updates = brief["status_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2, "{updates:?}");
    let public = updates.iter().find(|u| u["audience"] == "public").unwrap();
    assert_eq!(public["message"], "We found the cause and are fixing it.");
    assert_eq!(public["public_title"], "Checkout errors", "inherited");
    assert!(public.get("next_update_overdue").is_none());
    let stakeholders = updates
        .iter()
        .find(|u| u["audience"] == "stakeholders")
        .unwrap();
    assert_eq!(stakeholders["next_update_overdue"], true);
    assert_eq!(stakeholders["by"], "alice");

    // Resolved, but the page still says `identified`: the brief says so; a late promise on an
    // incident that is over is no longer a reminder.
    ok(call(
        &client,
        "change_status",
        json!({"incident": incident, "to": "investigating"}),
    )
    .await);
    ok(call(
        &client,
        "resolve_incident",
        json!({"incident": incident, "resolution": "Rolled back."}),
    )
    .await);
    let brief = ok(call(&client, "get_incident", json!({"incident": incident})).await);
    let updates = brief["status_updates"].as_array().unwrap();
    let public = updates.iter().find(|u| u["audience"] == "public").unwrap();
    assert_eq!(public["page_still_open"], true, "{public}");
    let stakeholders = updates
        .iter()
        .find(|u| u["audience"] == "stakeholders")
        .unwrap();
    assert!(stakeholders.get("next_update_overdue").is_none());
    ok(call(
        &client,
        "post_status_update",
        json!({"incident": incident, "audience": "public", "status": "resolved",
               "message": "Checkout works normally again.",
               "services": [{"service": "checkout", "state": "operational"}]}),
    )
    .await);
    let brief = ok(call(&client, "get_incident", json!({"incident": incident})).await);
    let public = brief["status_updates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["audience"] == "public")
        .cloned()
        .unwrap();
    assert!(public.get("page_still_open").is_none(), "{public}");
}

#[tokio::test]
async fn the_stakeholder_update_prompt_sends_the_agent_to_the_tool() {
    let db = TestDb::new().await;
    let client = client_with_page(&db, "alice").await;
    let incident = declare(&client, "Checkout errors", "SEV2").await;
    for audience in ["internal", "public"] {
        let mut arguments = serde_json::Map::new();
        arguments.insert("incident".into(), json!(incident));
        arguments.insert("audience".into(), json!(audience));
        let prompt = client
            .get_prompt(
                rmcp::model::GetPromptRequestParams::new("stakeholder_update")
                    .with_arguments(arguments),
            )
            .await
            .unwrap();
        let text = serde_json::to_string(&prompt.messages).unwrap();
        assert!(text.contains("post_status_update"), "{audience}: {text}");
    }
}

#[tokio::test]
async fn bad_updates_are_refused_naming_the_field() {
    let db = TestDb::new().await;
    let client = client_with_page(&db, "alice").await;
    let incident = declare(&client, "Checkout errors", "SEV2").await;
    let base = public_update(&incident, "Some checkouts fail.");
    let cases = vec![
        invalid(
            "no message",
            with(&base, "message", json!("  ")),
            "`message`",
        ),
        invalid(
            "a long message",
            with(&base, "message", json!("x".repeat(4001))),
            "4000",
        ),
        invalid("no status", without(&base, "status"), "status"),
        invalid(
            "an unknown status",
            with(&base, "status", json!("fixed")),
            "`monitoring`",
        ),
        invalid(
            "an unknown state",
            with(
                &base,
                "services",
                json!([{"service": "checkout", "state": "on fire"}]),
            ),
            "`major_outage`",
        ),
        invalid(
            "a service without a state",
            with(&base, "services", json!([{"service": "checkout"}])),
            "state",
        ),
        invalid(
            "a past promise",
            with(&base, "next_update_at", json!("-5m")),
            "next_update_at",
        ),
        invalid(
            "a far promise",
            with(&base, "next_update_at", json!("+9d")),
            "7 days",
        ),
        invalid(
            "a bad time",
            with(&base, "next_update_at", json!("soon")),
            "RFC 3339",
        ),
        invalid(
            "a promise after resolution",
            with(
                &with(&base, "status", json!("resolved")),
                "next_update_at",
                json!("+10m"),
            ),
            "next_update_at",
        ),
        invalid(
            "a title on an internal update",
            with(&base, "audience", json!("internal")),
            "public_title",
        ),
        invalid(
            "an unknown field",
            with(&base, "channel", json!("#ops")),
            "channel",
        ),
        invalid(
            "a bad reference",
            with(&base, "incident", json!("INC-x")),
            "incident",
        ),
    ];
    assert_refused(&db, &client, "post_status_update", &cases).await;
    let missing = failure(
        call(
            &client,
            "post_status_update",
            with(&base, "incident", json!("INC-99")),
        )
        .await,
    );
    assert_eq!(missing.code, "not_found");
}

#[tokio::test]
async fn only_people_count_as_names_and_every_part_of_a_name_does() {
    let db = TestDb::new().await;
    let client = client_with_page(&db, "alice.smith").await;
    let declared = ok(call(
        &client,
        "declare_incident",
        json!({"title": "Checkout errors", "severity": "SEV2", "services": ["billing"]}),
    )
    .await);
    let incident = declared["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(call(
        &client,
        "assign_role",
        json!({"incident": incident, "role": "commander", "assignee": "Dana Whitfield (SRE)"}),
    )
    .await);
    // A person whose principal is one of the incident's services, and an alert source.
    let billing = client_with_page(&db, "billing").await;
    ok(call(
        &billing,
        "add_timeline_entry",
        json!({"incident": incident, "kind": "note", "body": "looking"}),
    )
    .await);
    let number: i64 = incident.trim_start_matches("INC-").parse().unwrap();
    sqlx::query(
        "insert into timeline_entry (id, incident_id, kind, body, occurred_at, recorded_at, \
         visibility, actor_principal, actor_channel) \
         select $1, id, 'note', 'Payments error rate high', now(), now(), 'internal', \
         'payments', 'webhook' from incident where number = $2",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(number)
    .execute(&db.pool)
    .await
    .unwrap();

    for message in [
        "Whitfield, Dana is rolling back",
        "Dana is rolling back",
        "Alice Smith has a fix",
    ] {
        let refused = failure(
            call(
                &client,
                "post_status_update",
                public_update(&incident, message),
            )
            .await,
        );
        assert_eq!(refused.details["field"], "message", "{message}");
    }
    ok(call(
        &client,
        "post_status_update",
        public_update(
            &incident,
            "Payments and billing are slow for some; our SRE team is rolling back. \
             Next update @ 14:00.",
        ),
    )
    .await);
}
