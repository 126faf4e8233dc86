//! The one place errors meet the wire. Anything the agent can act on becomes a tool error
//! (`isError: true`) whose text starts with a stable code and says what to do next, with the
//! same facts as structured content. Internal failures are logged once and answered with a bare
//! JSON-RPC internal error.

use rmcp::ErrorData;
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use serde_json::{Value, json};

use crate::app;
use crate::domain::{TransitionError, ValidationError};

/// A failed tool call.
#[derive(Debug)]
pub struct ToolError(pub app::Error);

impl From<app::Error> for ToolError {
    fn from(err: app::Error) -> Self {
        ToolError(err)
    }
}

impl From<ValidationError> for ToolError {
    fn from(err: ValidationError) -> Self {
        ToolError(app::Error::Invalid(err))
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, ErrorData> {
        let err = self.0;
        match &err {
            app::Error::Internal(source) => {
                tracing::error!(error = ?source, "tool call failed");
                return Err(ErrorData::internal_error("internal error", None));
            }
            app::Error::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
            }
            _ => {}
        }
        Ok(error_result(err.code(), &err.to_string(), details(&err)).into())
    }
}

/// A tool error result: `code: message` as text, `{"error": {...}}` as structured content.
pub fn error_result(code: &str, message: &str, extra: Value) -> CallToolResult {
    let mut error = json!({ "code": code, "message": message });
    if let (Value::Object(error), Value::Object(extra)) = (&mut error, extra) {
        error.extend(extra);
    }
    let mut result = CallToolResult::structured_error(json!({ "error": error }));
    result.content = vec![ContentBlock::text(format!("{code}: {message}"))];
    result
}

/// Facts the agent can use to recover, beyond the message.
fn details(err: &app::Error) -> Value {
    match err {
        app::Error::StaleVersion {
            current_version,
            current_status,
            ..
        } => {
            json!({ "current_version": current_version, "current_status": current_status.as_str() })
        }
        app::Error::Transition {
            source: TransitionError::NotAllowed { from, allowed, .. },
            ..
        } => json!({
            "current_status": from.as_str(),
            "allowed": allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        }),
        app::Error::Invalid(invalid) => json!({ "field": invalid.field }),
        app::Error::StaleObject {
            current_version, ..
        } => json!({ "current_version": current_version }),
        app::Error::Template(template) => json!({ "template_line": template.line }),
        app::Error::InsufficientScope(missing) => json!({
            "needed_scope": missing.needed.as_str(),
            "held_scopes": missing.held.names(),
        }),
        _ => json!({}),
    }
}

/// The JSON-RPC error for a use-case failure behind a resource read, a prompt or a completion,
/// which have no tool-error channel (callers answer `not_found` themselves, in the shape their
/// method calls for). Internal failures are logged once and answered without details; anything
/// else keeps its code and message, as `invalid_params`.
pub fn protocol_error(err: &app::Error) -> ErrorData {
    match err {
        app::Error::Internal(source) => {
            tracing::error!(error = ?source, "request failed");
            ErrorData::internal_error("internal error", None)
        }
        app::Error::Unavailable(source) => {
            tracing::warn!(error = %source, "database unavailable");
            ErrorData::internal_error(format!("{}: {err}", err.code()), None)
        }
        _ => {
            let mut error = json!({ "code": err.code(), "message": err.to_string() });
            if let (Value::Object(error), Value::Object(extra)) = (&mut error, details(err)) {
                error.extend(extra);
            }
            ErrorData::invalid_params(
                format!("{}: {err}", err.code()),
                Some(json!({ "error": error })),
            )
        }
    }
}
