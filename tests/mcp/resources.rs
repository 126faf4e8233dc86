//! Resources (`resources/list`, `resources/templates/list`, `resources/read`) and completions
//! of incident references, read through the client.

use std::path::Path;

use firebreak::app::App;
use rmcp::ServiceError;
use rmcp::model::{
    ArgumentInfo, CompleteRequestParams, ErrorCode, ReadResourceRequestParams, Reference,
    ResourceContents,
};
use serde_json::json;

use crate::support::{Client, TestDb, call, connect_granted, declare, local_grant, ok};
use firebreak::domain::{Scope, Scopes};

/// Reads a resource and returns its markdown, checking the MIME type and URI.
async fn read(client: &Client, uri: &str) -> String {
    let result = client
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .unwrap_or_else(|err| panic!("{uri}: {err}"));
    assert_eq!(result.contents.len(), 1);
    match &result.contents[0] {
        ResourceContents::TextResourceContents {
            uri: read_uri,
            mime_type,
            text,
            ..
        } => {
            assert_eq!(read_uri, uri);
            assert_eq!(mime_type.as_deref(), Some("text/markdown"));
            text.clone()
        }
        other => panic!("{uri}: expected text, got {other:?}"),
    }
}

/// The JSON-RPC error of a read that must fail.
async fn read_error(client: &Client, uri: &str) -> rmcp::ErrorData {
    match client
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
    {
        Err(ServiceError::McpError(error)) => error,
        other => panic!("{uri}: expected an error, got {other:?}"),
    }
}

/// The values offered for `argument` = `typed` of `reference`.
pub(crate) async fn complete(
    client: &Client,
    reference: Reference,
    argument: &str,
    typed: &str,
) -> (Vec<String>, Option<bool>) {
    let result = client
        .complete(CompleteRequestParams::new(
            reference,
            ArgumentInfo::new(argument, typed),
        ))
        .await
        .unwrap();
    (result.completion.values, result.completion.has_more)
}

#[tokio::test]
async fn the_templates_name_the_resource_forms_a_credential_may_read() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let templates = client.list_all_resource_templates().await.unwrap();
    let uris: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
    let audit = "audit://log{?principal,tool,incident,outcome,since,until,limit,before}";
    assert_eq!(
        uris,
        [
            "incident://{incident}",
            "incident://{incident}/timeline",
            "incident://{incident}/alerts",
            "postmortem://{incident}",
            "runbook://{slug}",
            audit,
        ]
    );
    for template in &templates {
        let mime = if template.uri_template == audit {
            "application/json"
        } else {
            "text/markdown"
        };
        assert_eq!(template.mime_type.as_deref(), Some(mime));
        assert!(template.description.is_some(), "{}", template.uri_template);
    }
    // Without `admin`, the audit trail is not offered.
    let reader = connect_granted(
        firebreak::app::App::from_pool(db.pool.clone()),
        local_grant("reader", Scopes::of(&[Scope::IncidentsRead])),
    )
    .await;
    let offered = reader.list_all_resource_templates().await.unwrap();
    assert_eq!(offered.len(), 5);
    assert!(
        offered
            .iter()
            .all(|t| !t.uri_template.starts_with("audit://"))
    );
}

#[tokio::test]
async fn resources_list_shows_open_incidents_only_and_works_with_no_data() {
    let db = TestDb::new().await;
    let client = db.client().await;
    assert!(client.list_all_resources().await.unwrap().is_empty());

    declare(&client, "Checkout API returning 5xx", "SEV2").await;
    declare(&client, "False alarm on db-3", "SEV4").await;
    ok(call(
        &client,
        "change_status",
        json!({"incident": "INC-2", "to": "declined", "note": "flapping probe"}),
    )
    .await);
    let resources = client.list_all_resources().await.unwrap();
    assert_eq!(resources.len(), 1, "{resources:?}");
    let resource = &resources[0];
    assert_eq!(resource.uri, "incident://INC-1");
    assert_eq!(resource.name, "INC-1");
    assert_eq!(
        resource.title.as_deref(),
        Some("INC-1: Checkout API returning 5xx")
    );
    assert_eq!(resource.mime_type.as_deref(), Some("text/markdown"));
    assert!(resource.description.as_deref().unwrap().contains("SEV2"));
}

#[tokio::test]
async fn the_incident_resource_is_a_markdown_brief() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let declared = ok(call(
        &client,
        "declare_incident",
        json!({"title": "Checkout API returning 5xx", "severity": "SEV2",
               "impact": "12% of checkouts fail", "services": ["checkout-api"],
               "commander": "alice"}),
    )
    .await);
    let id = declared["incident"]["id"].as_str().unwrap().to_owned();
    ok(call(
        &client,
        "add_timeline_entry",
        json!({"incident": "INC-1", "kind": "finding",
               "body": "Error rate rose at 14:02\nright after deploy 2026.11.27-3"}),
    )
    .await);

    let brief = read(&client, "incident://INC-1").await;
    assert!(
        brief.starts_with("# INC-1: Checkout API returning 5xx"),
        "{brief}"
    );
    for expected in [
        "**Severity:** SEV2 (major)",
        "**Status:** triage",
        "**Version:** 1",
        "checkout-api",
        "12% of checkouts fail",
        "**commander:** alice",
        "Time to acknowledge",
        "**finding** · tester: Error rate rose at 14:02\n  right after deploy",
        "All 3 entries",
    ] {
        assert!(brief.contains(expected), "missing {expected:?} in\n{brief}");
    }
    for uri in [
        "incident://1",
        "incident://inc-1",
        &format!("incident://{id}"),
    ] {
        assert!(read(&client, uri).await.starts_with("# INC-1:"), "{uri}");
    }
}

#[tokio::test]
async fn the_timeline_resource_keeps_the_newest_200_entries_and_says_so() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let reference = declare(&client, "Queue backlog", "SEV3").await;
    for n in 0..205 {
        let body = format!("note {n}");
        ok(call(
            &client,
            "add_timeline_entry",
            json!({"incident": reference, "kind": "note", "body": body}),
        )
        .await);
    }
    let timeline = read(&client, "incident://INC-1/timeline").await;
    assert!(timeline.starts_with("# INC-1 timeline: Queue backlog"));
    assert!(
        timeline.contains("The last 200 of 206 entries, oldest first"),
        "{timeline}"
    );
    assert!(timeline.contains("`get_timeline`"));
    assert!(timeline.contains(": note 5\n"));
    assert!(timeline.contains(": note 204\n"));
    assert!(!timeline.contains(": note 4\n"));
    assert!(!timeline.contains("Declared INC-1"));
}

#[tokio::test]
async fn unknown_and_malformed_uris_are_resource_not_found() {
    let db = TestDb::new().await;
    let client = db.client().await;
    declare(&client, "Disk full on db-3", "SEV3").await;

    let missing = read_error(&client, "incident://INC-99").await;
    assert_eq!(missing.code, ErrorCode::RESOURCE_NOT_FOUND);
    assert!(missing.message.contains("incident://INC-99"), "{missing:?}");
    assert!(missing.message.contains("does not exist"), "{missing:?}");

    for uri in [
        "incident://INC-1/notes",
        "incident://banana",
        "tickets://INC-1",
        "INC-1",
    ] {
        let error = read_error(&client, uri).await;
        assert_eq!(error.code, ErrorCode::RESOURCE_NOT_FOUND, "{uri}");
        assert!(error.message.contains(uri), "{uri}: {error:?}");
        assert!(
            error.message.contains("incident://INC-42/timeline"),
            "{uri}: {error:?}"
        );
        assert_eq!(error.data.as_ref().unwrap()["uri"], uri);
    }
}

#[tokio::test]
async fn incident_completions_match_the_typed_number_with_open_incidents_first() {
    let db = TestDb::new().await;
    let client = db.client().await;
    for n in 1..=21 {
        declare(&client, &format!("Incident {n}"), "SEV4").await;
    }
    ok(call(
        &client,
        "change_status",
        json!({"incident": "INC-11", "to": "declined", "note": "duplicate page"}),
    )
    .await);
    let template = || Reference::for_resource("incident://{incident}");

    let (values, has_more) = complete(&client, template(), "incident", "INC-1").await;
    let expected: Vec<String> = [1, 10, 12, 13, 14, 15, 16, 17, 18, 19, 11]
        .iter()
        .map(|n| format!("INC-{n}"))
        .collect();
    assert_eq!(values, expected);
    assert_eq!(has_more, Some(false));

    let (values, has_more) = complete(&client, template(), "incident", "").await;
    assert_eq!(values.len(), 20);
    assert_eq!(values[0], "INC-21");
    assert!(!values.contains(&"INC-11".to_owned()));
    assert_eq!(has_more, Some(true));

    let timeline = Reference::for_resource("incident://{incident}/timeline");
    let (values, _) = complete(&client, timeline, "incident", "2").await;
    assert_eq!(values, ["INC-2", "INC-20", "INC-21"]);

    let prompt = Reference::for_prompt("respond_to_incident");
    let (values, _) = complete(&client, prompt, "incident", "inc-2").await;
    assert_eq!(values, ["INC-2", "INC-20", "INC-21"]);

    let (values, _) = complete(&client, template(), "incident", "checkout").await;
    assert!(values.is_empty());
    let (values, _) = complete(&client, template(), "nonsense", "1").await;
    assert!(values.is_empty());
}

/// Loads the runbooks shipped in `runbooks/`.
async fn sync_shipped_runbooks(db: &TestDb) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    App::from_pool(db.pool.clone())
        .sync_runbooks(&dir)
        .await
        .unwrap();
}

#[tokio::test]
async fn runbooks_are_listed_read_and_completed_by_slug() {
    let db = TestDb::new().await;
    sync_shipped_runbooks(&db).await;
    let client = db.client().await;

    let resources = client.list_all_resources().await.unwrap();
    let disk = resources
        .iter()
        .find(|r| r.uri == "runbook://disk-full")
        .expect("the disk-full runbook is listed");
    assert_eq!(disk.name, "disk-full");
    assert_eq!(disk.title.as_deref(), Some("Filesystem almost full"));
    assert_eq!(disk.mime_type.as_deref(), Some("text/markdown"));

    let runbook = read(&client, "runbook://disk-full").await;
    assert!(runbook.starts_with("---\nslug: disk-full\n"), "{runbook}");
    assert!(runbook.contains("## Mitigation"));

    let missing = read_error(&client, "runbook://no-such-runbook").await;
    assert_eq!(missing.code, ErrorCode::RESOURCE_NOT_FOUND);
    assert!(
        missing.message.contains("runbook://no-such-runbook"),
        "{missing:?}"
    );
    assert!(missing.message.contains("find_runbooks"), "{missing:?}");

    let template = || Reference::for_resource("runbook://{slug}");
    let (values, has_more) = complete(&client, template(), "slug", "d").await;
    assert_eq!(values, ["database-connection-saturation", "disk-full"]);
    assert_eq!(has_more, Some(false));
    let (values, _) = complete(&client, template(), "slug", "").await;
    assert!(values.len() >= 5, "{values:?}");
}

#[tokio::test]
async fn the_postmortem_resource_serves_the_draft_once_there_is_one() {
    let db = TestDb::new().await;
    let client = db.client().await;
    declare(&client, "Checkout API returning 5xx", "SEV2").await;

    let missing = read_error(&client, "postmortem://INC-1").await;
    assert_eq!(missing.code, ErrorCode::RESOURCE_NOT_FOUND);
    assert!(missing.message.contains("draft_postmortem"), "{missing:?}");
    let no_incident = read_error(&client, "postmortem://INC-7").await;
    assert_eq!(no_incident.code, ErrorCode::RESOURCE_NOT_FOUND);
    assert!(
        no_incident.message.contains("does not exist"),
        "{no_incident:?}"
    );

    ok(call(&client, "draft_postmortem", json!({"incident": "INC-1"})).await);
    let postmortem = read(&client, "postmortem://1").await;
    assert!(
        postmortem.contains("Checkout API returning 5xx"),
        "{postmortem}"
    );
}

#[tokio::test]
async fn the_brief_shows_runbook_steps_taken_and_open_action_items() {
    let db = TestDb::new().await;
    sync_shipped_runbooks(&db).await;
    let client = db.client().await;
    declare(&client, "Disk full on db-3", "SEV3").await;
    ok(call(
        &client,
        "record_runbook_step",
        json!({"incident": "INC-1", "runbook": "disk-full", "step": 1,
               "outcome": "succeeded", "output": "96% used on /var/lib/postgresql"}),
    )
    .await);
    ok(call(
        &client,
        "add_action_item",
        json!({"incident": "INC-1", "title": "Alert on disk usage above 80%",
               "priority": "P2", "kind": "detect", "owner": "bob"}),
    )
    .await);
    let brief = read(&client, "incident://INC-1").await;
    for expected in [
        "## Runbook steps taken",
        "`disk-full` v1 step 1",
        "**succeeded**",
        "## Open action items",
        "AI-1 [P2 detect, open] Alert on disk usage above 80% (owner bob)",
    ] {
        assert!(brief.contains(expected), "missing {expected:?} in\n{brief}");
    }
}
