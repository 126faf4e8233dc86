//! What `POST /mcp` answers to what is not a proper request, against the real binary: a body
//! that is not JSON-RPC gets HTTP 400 with a JSON-RPC error (`-32700` not JSON, `-32600` a
//! batch or a malformed message), an oversized body 413, a foreign browser Origin 403; the
//! bearer scheme is matched in any case.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::TestDb;
use crate::support::children::{HttpServer, TOKEN, raw_post, raw_tool_call};

async fn post(server: &HttpServer, body: impl Into<String>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let response = raw_post(&http, &server.mcp(), body.into())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let answer = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("HTTP {status} answered {text:?}, not JSON: {err}"));
    (status, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_are_not_json_rpc_get_json_rpc_errors() {
    let db = TestDb::new().await;
    let server = HttpServer::start(&db).await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let cases = [
        ("not json at all".to_owned(), 400, -32700, Value::Null),
        (
            "{\"jsonrpc\": \"2.0\", \"id\": 1,".to_owned(),
            400,
            -32700,
            Value::Null,
        ),
        (json!([ping, ping]).to_string(), 400, -32600, Value::Null),
        ("42".to_owned(), 400, -32600, Value::Null),
        (
            json!({"jsonrpc": "1.0", "id": 9, "method": "ping"}).to_string(),
            400,
            -32600,
            json!(9),
        ),
        (
            json!({"jsonrpc": "2.0", "id": 3}).to_string(),
            400,
            -32600,
            json!(3),
        ),
    ];
    for (body, status, code, id) in cases {
        let shown: String = body.chars().take(60).collect();
        let (got, answer) = post(&server, body).await;
        assert_eq!(got, status, "{shown}: {answer}");
        assert_eq!(answer["jsonrpc"], "2.0", "{shown}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{shown}: {answer}");
        assert_eq!(answer["id"], id, "{shown}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{answer}");
    }
    // A body declared over the 4 MiB cap is refused before it is read.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Content-Length: {}\r\n\r\n",
        5 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("-32600"), "{answer}");

    // The server still serves proper requests afterwards.
    let http = reqwest::Client::new();
    let listed = raw_tool_call(&http, &server.mcp(), "list_incidents", json!({})).await;
    assert!(
        listed["result"]["structuredContent"]["incidents"].is_array(),
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive_and_foreign_origins_are_refused() {
    let db = TestDb::new().await;
    let server = HttpServer::start(&db).await;
    let http = reqwest::Client::new();
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "list_incidents", "arguments": {}}})
    .to_string();
    let request = |authorization: String, origin: Option<&str>| {
        let mut builder = http
            .post(server.mcp())
            .header("authorization", authorization)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(call.clone());
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        builder.send()
    };
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = request(format!("{scheme} {TOKEN}"), None).await.unwrap();
        assert_eq!(response.status(), 200, "scheme {scheme}");
    }
    let basic = request(format!("Basic {TOKEN}"), None).await.unwrap();
    assert_eq!(basic.status(), 401);

    let same_host = format!("http://127.0.0.1:{}", server.port);
    for origin in [same_host.as_str(), "http://localhost:6274"] {
        let response = request(format!("Bearer {TOKEN}"), Some(origin))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "Origin {origin}");
    }
    for origin in [
        "https://evil.example",
        "http://127.0.0.1.evil.example:80",
        "null",
    ] {
        let response = request(format!("Bearer {TOKEN}"), Some(origin))
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "Origin {origin}");
    }
}
