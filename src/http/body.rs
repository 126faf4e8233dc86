//! The request body of `POST /mcp`: read within a time limit and a size cap (counted while it
//! streams in, whatever `Content-Length` claims), then checked to be one JSON-RPC message, so
//! that what is not gets a JSON-RPC error an agent's client can show: `-32700` for a body that
//! is not JSON, `-32600` for a batch (the protocol has not allowed them since 2025-06-18) or a
//! malformed message, `-32602` for a known method with malformed parameters.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{Value, json};

/// The limits on a request body.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest body, in bytes.
    pub max_bytes: usize,
    /// Longest time to receive it, once the request head has arrived.
    pub timeout: Duration,
}

/// Middleware: reads and checks the body of a POST before the MCP service sees it.
pub(super) async fn guard(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_bytes as u64) {
        return too_large(limits.max_bytes);
    }
    let bytes = match read_within(body, limits).await {
        Err(Unread::TimedOut) => return timed_out(limits.timeout),
        Err(Unread::TooLarge) => return too_large(limits.max_bytes),
        Err(Unread::Broken(reason)) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                &Value::Null,
                -32600,
                &format!("the request body could not be read: {reason}"),
            );
        }
        Ok(bytes) => bytes,
    };
    if is_json(&parts.headers)
        && let Some((id, code, message)) = check(&bytes)
    {
        return rpc_error(StatusCode::BAD_REQUEST, &id, code, &message);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Why a body was not read.
pub(super) enum Unread {
    /// It grew past the cap.
    TooLarge,
    /// It did not arrive in time.
    TimedOut,
    /// The connection failed.
    Broken(String),
}

/// The whole body within `limits`: refused as soon as it grows past the cap (whatever
/// `Content-Length` claims) or takes longer than the timeout.
pub(super) async fn read_within(body: Body, limits: BodyLimits) -> Result<Bytes, Unread> {
    match tokio::time::timeout(limits.timeout, read(body, limits.max_bytes)).await {
        Err(_elapsed) => Err(Unread::TimedOut),
        Ok(result) => result,
    }
}

/// The whole body, refused as soon as it grows past `max_bytes`.
async fn read(mut body: Body, max_bytes: usize) -> Result<Bytes, Unread> {
    let mut collected = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| Unread::Broken(err.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > max_bytes {
                return Err(Unread::TooLarge);
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(collected))
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json")
        })
}

/// Why `bytes` is not one JSON-RPC message: the id to answer with, the code and the message.
fn check(bytes: &[u8]) -> Option<(Value, i64, String)> {
    // The common case costs one parse; only a refusal looks closer.
    if serde_json::from_slice::<ClientJsonRpcMessage>(bytes).is_ok() {
        return None;
    }
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(err) => {
            return Some((
                Value::Null,
                -32700,
                format!("Parse error: the request body is not JSON ({err})"),
            ));
        }
    };
    let Value::Object(message) = value else {
        let reason = if value.is_array() {
            "Invalid Request: JSON-RPC batches are not supported (since MCP 2025-06-18 each request carries one message)"
        } else {
            "Invalid Request: the body must be one JSON-RPC message (an object)"
        };
        return Some((Value::Null, -32600, reason.to_owned()));
    };
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some((
            id,
            -32600,
            "Invalid Request: `jsonrpc` must be \"2.0\"".into(),
        ));
    }
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return Some((
            id,
            -32600,
            "Invalid Request: a message needs a `method` (a request or notification) or a `result` or `error` with the `id` it answers".into(),
        ));
    };
    let reason = serde_json::from_value::<ClientJsonRpcMessage>(Value::Object(message.clone()))
        .err()
        .map(|err| err.to_string())
        .unwrap_or_default();
    Some((
        id,
        -32602,
        format!("Invalid params for `{method}`: {reason}"),
    ))
}

/// A JSON-RPC error response with an HTTP status.
fn rpc_error(status: StatusCode, id: &Value, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

fn too_large(max_bytes: usize) -> Response {
    rpc_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &Value::Null,
        -32600,
        &format!("Invalid Request: the body is larger than {max_bytes} bytes"),
    )
}

fn timed_out(limit: Duration) -> Response {
    let mut response = rpc_error(
        StatusCode::REQUEST_TIMEOUT,
        &Value::Null,
        -32600,
        &format!(
            "Invalid Request: the body did not arrive within {} ms",
            limit.as_millis()
        ),
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_message_passes_and_others_get_the_code_that_fits() {
        let ping = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert_eq!(check(ping), None);
        let cases: [(&[u8], i64); 5] = [
            (b"not json", -32700),
            (br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, -32600),
            (br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, -32600),
            (br#"{"jsonrpc":"2.0","id":1}"#, -32600),
            (br#"{"jsonrpc":"2.0","id":1,"method":5}"#, -32600),
        ];
        for (body, code) in cases {
            let (_, got, message) =
                check(body).unwrap_or_else(|| panic!("passed: {}", String::from_utf8_lossy(body)));
            assert_eq!(got, code, "{}: {message}", String::from_utf8_lossy(body));
        }
        let (id, ..) = check(br#"{"jsonrpc":"1.0","id":"abc","method":"ping"}"#).unwrap();
        assert_eq!(id, json!("abc"));
    }
}
