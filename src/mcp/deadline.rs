//! The per-call deadline. Every tool call, resource read, prompt and completion is answered
//! within it: when the database hangs, the caller gets `unavailable` instead of waiting, and
//! the work it gave up on is abandoned (the connection's timeouts end it in PostgreSQL, and the
//! deadline guard refuses to commit a write that arrives late).

use std::time::Duration;

use rmcp::ErrorData;
use rmcp::model::CallToolResult;
use serde_json::json;

use crate::mcp::tool_error::error_result;

/// Runs `call`, or gives up after `limit` (`None`).
pub(crate) async fn within<T>(limit: Duration, call: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(limit, call).await.ok()
}

/// The `unavailable` tool error for a tool call that did not finish within `limit`. For a
/// write it says what became of it and how to retry safely.
pub(crate) fn tool_error(tool: &str, is_write: bool, limit: Duration) -> CallToolResult {
    tracing::warn!(tool, ?limit, "call deadline passed");
    let mut message = format!(
        "{tool} did not finish within {}: the database is slow or unreachable right now",
        seconds(limit)
    );
    if is_write {
        message.push_str(
            ". It was not applied: a write that reaches the database after its deadline is \
             refused there. Retry it; pass the same idempotency_key you sent (or one, if you \
             sent none) so that a retry applies it at most once, whatever happened",
        );
    } else {
        message.push_str("; retry in a few seconds");
    }
    error_result(
        "unavailable",
        &message,
        json!({"deadline_ms": limit.as_millis() as u64, "retryable": true}),
    )
}

/// The JSON-RPC error for a resource read, prompt or completion that did not finish in time.
pub(crate) fn protocol_error(what: &str, limit: Duration) -> ErrorData {
    tracing::warn!(what, ?limit, "call deadline passed");
    ErrorData::internal_error(
        format!(
            "unavailable: {what} did not finish within {}: the database is slow or unreachable; retry in a few seconds",
            seconds(limit)
        ),
        None,
    )
}

fn seconds(limit: Duration) -> String {
    if limit.subsec_millis() == 0 {
        format!("{} s", limit.as_secs())
    } else {
        format!("{} ms", limit.as_millis())
    }
}
