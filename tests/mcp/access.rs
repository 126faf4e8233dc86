//! Scopes and read-only mode through the real server: what a credential sees in `tools/list`,
//! and that every route to a write refuses it (a tool call in process, over stdio, over HTTP
//! with `403 insufficient_scope`, from `firebreak tool`), writing nothing.

use firebreak::app::App;
use firebreak::domain::{Scope, Scopes};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::children::{HttpServer, TOKEN, TOKEN_NAME, firebreak, stdio_client};
use crate::support::{Client, TestDb, call, connect_granted, declare, failure, local_grant, ok};

const READER: &str = "reader-0123456789abcdef";
const ADMIN: &str = "auditor-0123456789abcdef";

/// The tools a client is shown.
async fn tool_names(client: &Client) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    names
}

fn declare_args() -> Value {
    json!({"title": "Checkout errors", "severity": "SEV2"})
}

#[tokio::test]
async fn a_read_grant_sees_only_reads_and_every_write_is_refused_naming_the_scope() {
    let db = TestDb::new().await;
    let writer = db.client().await;
    let incident = declare(&writer, "Already here", "SEV3").await;
    let reader = connect_granted(
        App::from_pool(db.pool.clone()),
        local_grant("reader", Scopes::of(&[Scope::IncidentsRead])),
    )
    .await;
    let all = tool_names(&writer).await;
    let shown = tool_names(&reader).await;
    assert!(shown.contains(&"get_incident".to_owned()), "{shown:?}");
    assert!(!shown.contains(&"declare_incident".to_owned()), "{shown:?}");
    assert!(shown.len() < all.len() && !shown.is_empty());
    let before = db.fingerprint().await;
    // Hiding is not the boundary: every write tool, called anyway, is refused.
    for tool in all.iter().filter(|t| !shown.contains(t)) {
        let refused = failure(call(&reader, tool, json!({"incident": incident})).await);
        assert_eq!(
            refused.code, "insufficient_scope",
            "{tool}: {}",
            refused.message
        );
        assert!(
            refused.message.contains("`incidents:write`"),
            "{}",
            refused.message
        );
        assert_eq!(refused.details["needed_scope"], "incidents:write");
    }
    assert_eq!(db.fingerprint().await, before, "nothing was written");
    // Reads, resources and prompts still work.
    ok(call(&reader, "get_incident", json!({"incident": incident})).await);
    let prompts = reader.list_all_prompts().await.unwrap();
    assert!(!prompts.is_empty());
}

#[tokio::test]
async fn an_admin_only_grant_touches_no_incident() {
    let db = TestDb::new().await;
    let writer = db.client().await;
    let incident = declare(&writer, "Secret outage", "SEV2").await;
    let auditor = connect_granted(
        App::from_pool(db.pool.clone()),
        local_grant("auditor", Scopes::of(&[Scope::Admin])),
    )
    .await;
    assert_eq!(tool_names(&auditor).await, Vec::<String>::new());
    let refused = failure(call(&auditor, "get_incident", json!({"incident": incident})).await);
    assert_eq!(refused.code, "insufficient_scope");
    let read = auditor
        .read_resource(rmcp::model::ReadResourceRequestParams::new(format!(
            "incident://{incident}"
        )))
        .await
        .unwrap_err()
        .to_string();
    assert!(read.contains("insufficient_scope"), "{read}");
    assert!(auditor.list_all_prompts().await.unwrap().is_empty());
}

/// `POST /mcp` with `token`: the status, the `WWW-Authenticate` header and the JSON answer.
async fn post_as(server: &HttpServer, token: &str, body: Value) -> (StatusCode, String, Value) {
    let response = reqwest::Client::new()
        .post(server.mcp())
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        challenge,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn tools_call(tool: &str, arguments: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}})
}

fn tools_list() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
}

#[tokio::test]
async fn over_http_a_scoped_token_gets_403_insufficient_scope_and_read_only_binds_everyone() {
    let db = TestDb::new().await;
    let tokens =
        format!("{TOKEN_NAME}:{TOKEN},reader[incidents:read]:{READER},auditor[admin]:{ADMIN}");
    let server = HttpServer::start_with(&db.url(), |c| {
        c.env("FIREBREAK_TOKENS", &tokens);
    })
    .await;
    let (status, challenge, answer) = post_as(
        &server,
        READER,
        tools_call("declare_incident", &declare_args()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"incidents:write\""),
        "{challenge}"
    );
    assert_eq!(answer["id"], 3);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("incidents:write")
    );
    assert_eq!(db.count("incident").await, 0);
    // The reader lists reads only and may call them.
    let (status, _, listed) = post_as(&server, READER, tools_list()).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"list_incidents") && !names.contains(&"declare_incident"));
    let (status, _, _) = post_as(&server, READER, tools_call("list_incidents", &json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    // An admin token may not read incidents.
    let (status, challenge, _) =
        post_as(&server, ADMIN, tools_call("list_incidents", &json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.contains("scope=\"incidents:read\""),
        "{challenge}"
    );
    // The writer may write.
    let (status, _, answer) = post_as(
        &server,
        TOKEN,
        tools_call("declare_incident", &declare_args()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(db.count("incident").await, 1);

    // --read-only: the same full token now reads only, everywhere.
    let read_only = HttpServer::start_with(&db.url(), |c| {
        c.arg("--read-only");
    })
    .await;
    let (status, challenge, _) = post_as(
        &read_only,
        TOKEN,
        tools_call("declare_incident", &declare_args()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.contains("insufficient_scope"));
    let (_, _, listed) = post_as(&read_only, TOKEN, tools_list()).await;
    let tools = listed["result"]["tools"].as_array().unwrap();
    assert!(!tools.is_empty());
    assert!(
        tools
            .iter()
            .all(|t| t["annotations"]["readOnlyHint"] == true),
        "only reads are shown: {listed}"
    );
    assert_eq!(db.count("incident").await, 1, "nothing more was written");
}

#[tokio::test]
async fn stdio_and_the_command_line_obey_read_only() {
    let db = TestDb::new().await;
    let mut command = firebreak();
    command
        .args(["serve", "--read-only"])
        .env("DATABASE_URL", db.url());
    let (client, _stderr) = stdio_client(command).await;
    let refused = failure(call(&client, "declare_incident", declare_args()).await);
    assert_eq!(refused.code, "insufficient_scope");
    assert!(
        !tool_names(&client)
            .await
            .contains(&"declare_incident".to_owned())
    );

    let output = firebreak()
        .args(["tool", "--read-only", "declare_incident"])
        .arg(declare_args().to_string())
        .env("DATABASE_URL", db.url())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("insufficient_scope"), "{stderr}");
    assert_eq!(db.count("incident").await, 0);
}

#[tokio::test]
async fn revoking_the_last_database_token_does_not_open_the_server_to_anonymous_callers() {
    let db = TestDb::new().await;
    let tokens = |args: &[&str]| {
        let mut command = firebreak();
        command
            .arg("tokens")
            .args(args)
            .env("DATABASE_URL", db.url());
        command
    };
    let made = tokens(&["create", "only", "--scopes", "incidents:write"])
        .output()
        .await
        .unwrap();
    assert!(made.status.success());
    let server = HttpServer::start_with(&db.url(), |c| {
        c.env_remove("FIREBREAK_TOKENS");
    })
    .await;
    let anonymous = || async {
        reqwest::Client::new()
            .post(server.mcp())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(tools_list().to_string())
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(anonymous().await, StatusCode::UNAUTHORIZED);
    let revoked = tokens(&["revoke", "only"]).output().await.unwrap();
    assert!(revoked.status.success());
    // Past the registry's reload (about a second), the server still wants a credential.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(anonymous().await, StatusCode::UNAUTHORIZED);
}
