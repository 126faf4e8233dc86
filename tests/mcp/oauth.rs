//! Firebreak as an OAuth resource server, through real HTTP: a local issuer (metadata and a
//! JWKS of keys made in the test) on a free port, `firebreak serve --http` with the `--oauth-*`
//! options, and JWT access tokens signed in the test. No real identity provider.

#[path = "../../src/http/oauth/test_keys.rs"]
mod test_keys;

use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::support::children::{HttpServer, handshake};
use crate::support::{TestDb, call, client_config, ok};
use test_keys::{EC_A, RSA_A, claims, jwks, now};

/// The public URL the server is told it has: tokens must be minted for it.
const RESOURCE: &str = "https://firebreak.example.com/mcp";

/// Serves RFC 8414 metadata and a JWKS holding `RSA_A` and `EC_A` on a free loopback port;
/// returns the issuer identifier.
async fn start_issuer() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let metadata = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks"),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token")});
    let keys = jwks(&[&*RSA_A, &*EC_A]);
    let router = axum::Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            axum::routing::get(move || async move { axum::Json(metadata) }),
        )
        .route(
            "/jwks",
            axum::routing::get(move || async move { axum::Json(keys) }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });
    issuer
}

/// `firebreak serve --http` accepting tokens from `issuer`, principal from `email`, and the
/// identity provider scope `firebreak.write` for `incidents:write`.
async fn start_server(db: &TestDb, issuer: &str) -> HttpServer {
    HttpServer::start_with(&db.url(), |c| {
        c.args(["--oauth-issuer", issuer, "--oauth-resource", RESOURCE])
            .args(["--oauth-principal-claim", "email"])
            .env(
                "FIREBREAK_OAUTH_SCOPE_MAP",
                "firebreak.write=incidents:write",
            );
    })
    .await
}

/// Claims for `email` with `scope`, from `issuer` for this server.
fn token_claims(issuer: &str, email: &str, scope: &str) -> Value {
    let mut claims = claims(issuer, RESOURCE, "user-123", scope);
    claims["email"] = json!(email);
    claims
}

/// `POST /mcp` with `body`, as `token` (if any): status, `WWW-Authenticate`, JSON answer.
async fn post(
    server: &HttpServer,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, String, Value) {
    let mut request = reqwest::Client::new()
        .post(server.mcp())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
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

#[tokio::test]
async fn the_metadata_names_the_issuer_and_a_bare_request_is_pointed_at_it() {
    let db = TestDb::new().await;
    let issuer = start_issuer().await;
    let server = start_server(&db, &issuer).await;
    let http = reqwest::Client::new();
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let response = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let document: Value = response.json().await.unwrap();
        assert_eq!(document["resource"], RESOURCE);
        assert_eq!(document["authorization_servers"], json!([issuer]));
        assert_eq!(
            document["scopes_supported"],
            json!(["incidents:read", "incidents:write", "admin"])
        );
        assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    }
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let (status, challenge, _) = post(&server, None, list).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains(
                "resource_metadata=\"https://firebreak.example.com/.well-known/oauth-protected-resource/mcp\""
            ),
        "{challenge}"
    );
}

#[tokio::test]
async fn rs256_and_es256_tokens_call_tools_and_their_principal_is_recorded() {
    let db = TestDb::new().await;
    let issuer = start_issuer().await;
    let server = start_server(&db, &issuer).await;
    // A read token (RS256) through a real MCP client: it lists and reads.
    let reader = RSA_A.sign(&token_claims(
        &issuer,
        "reader@example.com",
        "openid incidents:read",
    ));
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(server.mcp()).auth_header(reader.clone()),
    );
    let client = handshake(client_config().serve(transport), &server.stderr).await;
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "list_incidents"));
    assert!(
        !tools.iter().any(|t| t.name == "declare_incident"),
        "reads only"
    );
    ok(call(&client, "list_incidents", json!({})).await);
    // A write token (ES256, the IdP's own scope name mapped) declares; its email is the actor.
    let writer = EC_A.sign(&token_claims(
        &issuer,
        "alice@example.com",
        "firebreak.write",
    ));
    let declare = tools_call(
        "declare_incident",
        &json!({"title": "Checkout errors", "severity": "SEV2"}),
    );
    let (status, _, answer) = post(&server, Some(&writer), declare).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{answer}; stderr:\n{}",
        server.stderr.text()
    );
    let declared = &answer["result"]["structuredContent"];
    assert_eq!(
        declared["incident"]["created_by"]["principal"], "alice@example.com",
        "{answer}"
    );
    let incident = declared["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let timeline = ok(call(&client, "get_timeline", json!({"incident": incident})).await);
    assert_eq!(
        timeline["entries"][0]["actor"]["principal"], "alice@example.com",
        "{timeline}"
    );
}

#[tokio::test]
async fn foreign_expired_and_under_scoped_tokens_are_refused_with_the_right_challenge() {
    let db = TestDb::new().await;
    let issuer = start_issuer().await;
    let server = start_server(&db, &issuer).await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let mut foreign = token_claims(&issuer, "eve@example.com", "incidents:write");
    foreign["aud"] = json!("https://other.example.com/mcp");
    let mut expired = token_claims(&issuer, "bob@example.com", "incidents:write");
    expired["exp"] = json!(now() - 600);
    for (what, token) in [
        ("foreign audience", RSA_A.sign(&foreign)),
        ("expired", EC_A.sign(&expired)),
    ] {
        let (status, challenge, _) = post(&server, Some(&token), list.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
        assert!(
            challenge.contains("resource_metadata="),
            "{what}: {challenge}"
        );
        assert!(
            !challenge.contains(&token),
            "{what}: the token is never echoed"
        );
    }
    let reader = RSA_A.sign(&token_claims(
        &issuer,
        "reader@example.com",
        "incidents:read",
    ));
    let declare = tools_call(
        "declare_incident",
        &json!({"title": "Nope", "severity": "SEV3"}),
    );
    let (status, challenge, answer) = post(&server, Some(&reader), declare).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"incidents:write\""),
        "{challenge}"
    );
    assert_eq!(db.count("incident").await, 0);
}
