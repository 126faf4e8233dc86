//! What Slack and Teams receive (Block Kit with its plain-text fallback and Slack's limits; an
//! Adaptive Card), and how subscriptions filter by event, severity, service and audience.

use std::time::Duration;

use serde_json::json;

use super::{NotificationsFile, PATIENCE, declare_with};
use crate::support::children::HttpServer;
use crate::support::receiver::Receiver;
use crate::support::{TestDb, call, ok};

#[tokio::test]
async fn slack_and_teams_get_their_formats_for_what_they_subscribe_to() {
    let db = TestDb::new().await;
    let slack = Receiver::accepting().await;
    let teams = Receiver::accepting().await;
    let file = NotificationsFile::new(
        "incident_url: https://firebreak.example.com/incidents/{reference}\n\
         status_page:\n  components:\n    - service: checkout\n      name: Checkout\n\
         delivery: {timeout: 2s, first_retry: 100ms}\n\
         targets:\n\
         \x20 - name: ops-slack\n    kind: slack\n    url_env: SLACK_URL\n    events: [declared, status_update]\n    severities: [SEV1]\n    audiences: [public]\n\
         \x20 - name: ops-teams\n    kind: teams\n    url_env: TEAMS_URL\n    services: [checkout]\n",
    );
    let (path, slack_url, teams_url) = (file.path.clone(), slack.url.clone(), teams.url.clone());
    let server = HttpServer::start_with(&db.url(), move |command| {
        command
            .arg("--notifications")
            .arg(&path)
            .env("SLACK_URL", slack_url)
            .env("TEAMS_URL", teams_url);
    })
    .await;
    let client = server.client().await;
    // Neither wants this one: SEV3 (Slack wants SEV1) on payments (Teams wants checkout).
    declare_with(&client, "Payments slow", "SEV3", &["payments"]).await;
    let long_title = format!("Checkout errors {}", "x".repeat(180));
    let incident = declare_with(&client, &long_title, "SEV1", &["checkout"]).await;
    ok(call(
        &client,
        "post_status_update",
        json!({"incident": incident, "audience": "internal", "status": "investigating",
               "message": "Looking at the <checkout> pods & their *limits*."}),
    )
    .await);
    ok(call(
        &client,
        "post_status_update",
        json!({"incident": incident, "audience": "public", "status": "investigating",
               "message": "Some checkouts fail.", "public_title": "Checkout errors",
               "services": [{"service": "checkout", "state": "partial_outage"}]}),
    )
    .await);

    // Slack: the SEV1 declaration and the public update, not the internal one.
    let got = slack.wait_for(2, PATIENCE).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = slack.received();
    assert_eq!(
        got_now.len(),
        2,
        "{:?}",
        got_now.iter().map(|r| r.json()).collect::<Vec<_>>()
    );
    for request in &got {
        let body = request.json();
        let text = body["text"].as_str().unwrap();
        assert!(
            text.contains("[SEV1]") && text.contains(&incident),
            "{text}"
        );
        let blocks = body["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50);
        let header = blocks[0]["text"]["text"].as_str().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert!(
            header.chars().count() <= 150,
            "{} chars",
            header.chars().count()
        );
        assert!(body.to_string().contains(&format!(
            "https://firebreak.example.com/incidents/{incident}"
        )));
        assert!(
            request.header("webhook-signature").is_none(),
            "Slack URLs are the credential"
        );
    }
    let public = got
        .iter()
        .map(|r| r.json().to_string())
        .find(|b| b.contains("Some checkouts fail"))
        .unwrap();
    assert!(
        !public.contains("pods"),
        "the internal update was not sent to Slack"
    );

    // Teams: the SEV1 on checkout (declared, internal and public updates), as Adaptive Cards.
    let got = teams.wait_for(3, PATIENCE).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(teams.received().len(), 3);
    for request in &got {
        let body = request.json();
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(attachment["content"]["type"], "AdaptiveCard");
        assert!(
            attachment["content"]["body"]
                .as_array()
                .is_some_and(|b| !b.is_empty())
        );
    }
    let internal = got
        .iter()
        .map(|r| r.json().to_string())
        .find(|b| b.contains("pods"))
        .expect("the internal update reached Teams");
    assert!(
        internal.contains("<checkout>"),
        "Teams text is not Slack-escaped"
    );
}
