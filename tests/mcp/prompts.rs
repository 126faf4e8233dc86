//! Prompts (`prompts/list`, `prompts/get`) and the completion of their arguments, through the
//! client: each prompt fills itself with the incident's current facts.

use rmcp::ServiceError;
use rmcp::model::{ErrorCode, GetPromptRequestParams, Reference};
use serde_json::{Value, json};

use crate::resources::complete;
use crate::support::{Client, TestDb, call, ok};

/// The text of a prompt, which is one user message.
pub(crate) async fn prompt(client: &Client, name: &str, arguments: Value) -> String {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    let result = client
        .get_prompt(GetPromptRequestParams::new(name).with_arguments(arguments))
        .await
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    assert!(result.description.is_some(), "{name} has a description");
    assert_eq!(result.messages.len(), 1);
    result.messages[0]
        .content
        .as_text()
        .expect("a text message")
        .text
        .clone()
}

/// The JSON-RPC error of a prompt that must fail.
async fn prompt_error(client: &Client, name: &str, arguments: Value) -> rmcp::ErrorData {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    match client
        .get_prompt(GetPromptRequestParams::new(name).with_arguments(arguments))
        .await
    {
        Err(ServiceError::McpError(error)) => error,
        other => panic!("{name}: expected an error, got {other:?}"),
    }
}

/// Declares INC-1 (SEV2, commander alice) with an internal hypothesis and a public update.
async fn checkout_incident(client: &Client) {
    ok(call(
        client,
        "declare_incident",
        json!({"title": "Checkout API returning 5xx", "severity": "SEV2",
               "impact": "12% of checkouts fail", "services": ["checkout-api"],
               "commander": "alice"}),
    )
    .await);
    ok(call(
        client,
        "change_status",
        json!({"incident": "INC-1", "to": "investigating"}),
    )
    .await);
    ok(call(
        client,
        "add_timeline_entry",
        json!({"incident": "INC-1", "kind": "hypothesis",
               "body": "Pool exhaustion on db-3 after deploy. Evidence: pool wait 4s. Confidence: medium"}),
    )
    .await);
    ok(call(
        client,
        "add_timeline_entry",
        json!({"incident": "INC-1", "kind": "note", "body": "Paged the payments team"}),
    )
    .await);
    ok(call(
        client,
        "add_timeline_entry",
        json!({"incident": "INC-1", "kind": "action", "visibility": "public",
               "body": "We are investigating failed payments at checkout."}),
    )
    .await);
}

#[tokio::test]
async fn prompts_list_three_described_prompts_with_no_data() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let prompts = client.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "respond_to_incident",
            "stakeholder_update",
            "write_postmortem"
        ]
    );
    for prompt in &prompts {
        assert!(prompt.description.is_some(), "{}", prompt.name);
        let arguments = prompt.arguments.as_ref().unwrap();
        let incident = arguments.iter().find(|a| a.name == "incident").unwrap();
        assert_eq!(incident.required, Some(true), "{}", prompt.name);
        assert!(incident.description.is_some());
    }
    let update = prompts
        .iter()
        .find(|p| p.name == "stakeholder_update")
        .unwrap();
    let arguments = update.arguments.as_ref().unwrap();
    let names: Vec<&str> = arguments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["incident", "audience"],
        "in the order people fill them"
    );
    assert_eq!(arguments[1].required, Some(true));
}

#[tokio::test]
async fn respond_to_incident_fills_the_facts_and_names_the_next_tools() {
    let db = TestDb::new().await;
    let client = db.client().await;
    checkout_incident(&client).await;
    let text = prompt(&client, "respond_to_incident", json!({"incident": "INC-1"})).await;
    for expected in [
        "# INC-1: Checkout API returning 5xx",
        "**Severity:** SEV2",
        "**Status:** investigating",
        "12% of checkouts fail",
        "**commander:** alice",
        "Time to mitigate",
        "Pool exhaustion on db-3 after deploy",
        "`find_runbooks`",
        "`record_runbook_step`",
        "`change_status` to `identified`",
        "`expected_version`",
        "ask the human for approval",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // Prompt arguments are strings on the wire, but a number is understood too.
    let by_number = prompt(&client, "respond_to_incident", json!({"incident": 1})).await;
    assert!(by_number.contains("# INC-1: Checkout API returning 5xx"));
}

#[tokio::test]
async fn write_postmortem_shows_the_timeline_highlights_and_how_to_publish() {
    let db = TestDb::new().await;
    let client = db.client().await;
    checkout_incident(&client).await;
    ok(call(
        &client,
        "resolve_incident",
        json!({"incident": "INC-1", "resolution": "Rolled back deploy 2026.11.27-3"}),
    )
    .await);
    let text = prompt(&client, "write_postmortem", json!({"incident": "inc-1"})).await;
    assert!(
        text.contains("## Current postmortem\n\n_Not drafted yet._"),
        "{text}"
    );
    for expected in [
        "# INC-1: Checkout API returning 5xx",
        "Rolled back deploy 2026.11.27-3",
        "## Timeline highlights",
        "**hypothesis**",
        "Pool exhaustion on db-3 after deploy",
        "**status_change**",
        "cannot be closed until its postmortem is published",
        "`draft_postmortem`",
        "`update_postmortem`",
        "`add_action_item`",
        "Blameless",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(
        !text.contains("Paged the payments team"),
        "notes are not highlights"
    );
    assert!(!text.contains("is still"), "the incident is resolved");

    ok(call(&client, "draft_postmortem", json!({"incident": "INC-1"})).await);
    let text = prompt(&client, "write_postmortem", json!({"incident": "INC-1"})).await;
    let (_, current) = text.split_once("## Current postmortem\n\n```").unwrap();
    assert!(
        current.starts_with("markdown\n") || current.starts_with("`"),
        "{current}"
    );
    assert!(current.contains("Checkout API returning 5xx"), "{current}");
}

#[tokio::test]
async fn a_public_stakeholder_update_leaves_out_internal_entries_and_names() {
    let db = TestDb::new().await;
    let client = db.client().await;
    checkout_incident(&client).await;

    let public = prompt(
        &client,
        "stakeholder_update",
        json!({"incident": "INC-1", "audience": "public"}),
    )
    .await;
    assert!(public.contains("We are investigating failed payments at checkout."));
    assert!(public.contains("**Status:** investigating"));
    assert!(public.contains("12% of checkouts fail"));
    for internal in [
        "Pool exhaustion",
        "Paged the payments team",
        "alice",
        "tester",
        "SEV2",
    ] {
        assert!(
            !public.contains(internal),
            "{internal:?} leaked into\n{public}"
        );
    }

    let internal = prompt(
        &client,
        "stakeholder_update",
        json!({"incident": "INC-1", "audience": "Internal"}),
    )
    .await;
    for expected in [
        "SEV2",
        "**commander:** alice",
        "Pool exhaustion",
        "Paged the payments team",
        "every 30 minutes",
    ] {
        assert!(
            internal.contains(expected),
            "missing {expected:?} in\n{internal}"
        );
    }
}

#[tokio::test]
async fn a_bad_incident_or_audience_is_an_invalid_params_error_naming_the_argument() {
    let db = TestDb::new().await;
    let client = db.client().await;
    for name in ["respond_to_incident", "write_postmortem"] {
        for incident in ["INC-99", "banana"] {
            let error = prompt_error(&client, name, json!({"incident": incident})).await;
            assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{name} {incident}");
            assert!(
                error.message.contains("`incident`"),
                "{name} {incident}: {error:?}"
            );
        }
    }
    let error = prompt_error(&client, "respond_to_incident", json!({})).await;
    assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
    assert!(error.message.contains("incident"), "{error:?}");

    checkout_incident(&client).await;
    let error = prompt_error(
        &client,
        "stakeholder_update",
        json!({"incident": "INC-1", "audience": "everyone"}),
    )
    .await;
    assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
    assert!(error.message.contains("`audience`"), "{error:?}");
}

#[tokio::test]
async fn audience_completions_offer_internal_and_public() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let update = || Reference::for_prompt("stakeholder_update");
    let (values, has_more) = complete(&client, update(), "audience", "").await;
    assert_eq!(values, ["internal", "public"]);
    assert_eq!(has_more, Some(false));
    let (values, _) = complete(&client, update(), "audience", "Pu").await;
    assert_eq!(values, ["public"]);
    let (values, _) = complete(
        &client,
        Reference::for_prompt("respond_to_incident"),
        "audience",
        "",
    )
    .await;
    assert!(values.is_empty(), "respond_to_incident has no audience");
}
