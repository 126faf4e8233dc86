//! The audit record of every MCP request that does something: a tool call, a resource read, a
//! prompt. The record is made when the request arrives and goes into the request's extensions
//! as an [`AuditSlot`]; a write commits it in its own transaction (see `app::write`), and
//! everything else is queued with its outcome when the request is answered.

use rmcp::model::CallToolResponse;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::Value;

use crate::app::audit::{self, AuditKind, AuditRecord};
use crate::app::write::AuditSlot;
use crate::domain::{Channel, Grant};
use crate::mcp::{FirebreakServer, Transport, client_name};

impl FirebreakServer {
    /// How requests reach this server, as the audit trail names it.
    pub(crate) fn channel(&self) -> Channel {
        match &self.transport {
            Transport::Stdio { .. } => Channel::Mcp,
            Transport::Cli { .. } => Channel::Cli,
            Transport::Http => Channel::Http,
        }
    }

    /// The audit slot of a request beginning now.
    pub(crate) fn audit_slot(
        &self,
        context: &RequestContext<RoleServer>,
        kind: AuditKind,
        name: &str,
        arguments: &Value,
    ) -> AuditSlot {
        let parts = context.extensions.get::<http::request::Parts>();
        let client = client_name(context, parts);
        let grant = self.grant(context);
        let record = AuditRecord::for_call(
            &grant,
            client.as_deref(),
            self.channel(),
            kind,
            name,
            arguments,
        );
        AuditSlot::new(record)
    }

    /// Records a request the HTTP layer refused for want of a scope (`403`), which never
    /// reaches the handlers.
    pub fn audit_refusal(
        &self,
        grant: &Grant,
        client: Option<&str>,
        method: &str,
        params: Option<&Value>,
    ) {
        let param = |key: &str| {
            params
                .and_then(|p| p.get(key))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (kind, name, arguments) = match method {
            "tools/call" => (
                AuditKind::Tool,
                param("name"),
                params
                    .and_then(|p| p.get("arguments"))
                    .cloned()
                    .unwrap_or(Value::Null),
            ),
            "resources/read" => (AuditKind::Resource, param("uri"), Value::Null),
            "prompts/get" => (
                AuditKind::Prompt,
                param("name"),
                params
                    .and_then(|p| p.get("arguments"))
                    .cloned()
                    .unwrap_or(Value::Null),
            ),
            // A completion: recorded under its method, as the prompt kind nearest to it.
            other => (AuditKind::Prompt, other.to_owned(), Value::Null),
        };
        let record = AuditRecord::for_call(grant, client, self.channel(), kind, &name, &arguments)
            .finished("insufficient_scope", std::time::Duration::ZERO);
        self.app.audit_log().record(record);
    }
}

/// A tool call's outcome code and the incident its answer names.
pub(crate) fn tool_outcome(answer: &Result<CallToolResponse, ErrorData>) -> (String, Option<i64>) {
    match answer {
        Ok(CallToolResponse::Complete(result)) => {
            let structured = result.structured_content.as_ref();
            if result.is_error == Some(true) {
                let code = structured
                    .and_then(|s| s.pointer("/error/code"))
                    .and_then(Value::as_str)
                    .unwrap_or("tool_error");
                (code.to_owned(), None)
            } else {
                (
                    "ok".to_owned(),
                    structured.and_then(audit::incident_in_answer),
                )
            }
        }
        Ok(_) => ("ok".to_owned(), None),
        Err(error) => (protocol_outcome(error), None),
    }
}

/// The outcome code of a protocol error: the code our errors start with (`not_found: …`), or
/// what its JSON-RPC code means.
pub(crate) fn protocol_outcome(error: &ErrorData) -> String {
    let prefix = error.message.split(':').next().unwrap_or_default();
    if !prefix.is_empty()
        && prefix.len() <= 32
        && prefix.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    {
        return prefix.to_owned();
    }
    match error.code.0 {
        -32602 => "invalid_argument",
        -32601 | -32002 => "not_found",
        _ => "internal",
    }
    .to_owned()
}

/// The outcome code of a resource read or prompt.
pub(crate) fn outcome<T>(answer: &Result<T, ErrorData>) -> String {
    match answer {
        Ok(_) => "ok".to_owned(),
        Err(error) => protocol_outcome(error),
    }
}

/// The incident a resource URI names (`incident://INC-42/timeline`, `postmortem://INC-42`).
pub(crate) fn incident_of_uri(uri: &str) -> Option<i64> {
    let (scheme, rest) = uri.split_once("://")?;
    if scheme != "incident" && scheme != "postmortem" {
        return None;
    }
    let reference = rest.split(['/', '?']).next()?;
    audit::incident_of(&serde_json::json!({ "incident": reference }))
}
