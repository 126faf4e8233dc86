//! Scopes at the MCP surface: which scope each tool, resource and prompt needs, the grant a
//! request runs under, and the refusal when it falls short.
//!
//! A tool is a read when its annotations say `readOnlyHint: true`, and a write otherwise, so a
//! new tool is a write until it is declared a read (failing closed). The same rule decides what
//! `tools/list` shows a credential and what the server permits: hiding alone is not a boundary,
//! every call is checked again.

use rmcp::RoleServer;
use rmcp::model::Tool;
use rmcp::service::RequestContext;
use serde_json::Value;

use crate::app;
use crate::domain::{AuthMethod, Grant, Scope, Scopes};
use crate::mcp::{FirebreakServer, Transport};

/// Resources whose URIs start with this are the audit trail, for `admin` only.
const AUDIT_URI_PREFIX: &str = "audit://";

/// The scope calling `tool` needs.
pub(crate) fn tool_scope(tool: &Tool) -> Scope {
    let read_only = tool
        .annotations
        .as_ref()
        .is_some_and(|a| a.read_only_hint == Some(true));
    if read_only {
        Scope::IncidentsRead
    } else {
        Scope::IncidentsWrite
    }
}

/// The scope reading the resource at `uri` needs.
pub(crate) fn resource_scope(uri: &str) -> Scope {
    if uri.starts_with(AUDIT_URI_PREFIX) {
        Scope::Admin
    } else {
        Scope::IncidentsRead
    }
}

/// What a JSON-RPC request needs, by method: `None` for what any authenticated caller may do
/// (the handshake, listings, which are filtered instead, pings, notifications).
pub(crate) fn method_scope(
    server: &FirebreakServer,
    method: &str,
    params: Option<&Value>,
) -> Option<(Scope, String)> {
    let param = |name: &str| {
        params
            .and_then(|p| p.get(name))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match method {
        "tools/call" => {
            let name = param("name");
            // An unknown tool needs nothing here: rmcp answers it with its own error.
            let tool = server.tool_router.get(&name)?;
            Some((tool_scope(tool), format!("tool `{name}`")))
        }
        "resources/read" => {
            let uri = param("uri");
            Some((resource_scope(&uri), format!("resource `{uri}`")))
        }
        "resources/subscribe" => {
            let uri = param("uri");
            Some((resource_scope(&uri), format!("subscription to `{uri}`")))
        }
        "prompts/get" => Some((Scope::IncidentsRead, format!("prompt `{}`", param("name")))),
        "completion/complete" => Some((Scope::IncidentsRead, "completion".to_owned())),
        _ => None,
    }
}

impl FirebreakServer {
    /// The grant the current request runs under: the transport's for stdio and the command
    /// line; the one the HTTP authentication put into the request otherwise (none at all if it
    /// is missing, so a request that bypassed authentication can do nothing).
    pub(crate) fn grant(&self, context: &RequestContext<RoleServer>) -> Grant {
        match &self.transport {
            Transport::Stdio { grant } | Transport::Cli { grant } => grant.clone(),
            Transport::Http => context
                .extensions
                .get::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<Grant>())
                .cloned()
                .unwrap_or_else(|| Grant {
                    principal: "anonymous".into(),
                    scopes: Scopes::NONE,
                    method: AuthMethod::Anonymous,
                }),
        }
    }

    /// `Ok` when the request's grant holds `scope`; the `insufficient_scope` error otherwise.
    pub(crate) fn require(
        &self,
        context: &RequestContext<RoleServer>,
        scope: Scope,
        what: &str,
    ) -> Result<(), app::Error> {
        self.grant(context)
            .require(scope, what)
            .map_err(app::Error::InsufficientScope)
    }

    /// The scopes a credential needs for what this JSON-RPC request asks, if it lacks them:
    /// the HTTP layer answers `403 insufficient_scope` before the request reaches rmcp.
    pub fn missing_scope(
        &self,
        grant: &Grant,
        method: &str,
        params: Option<&Value>,
    ) -> Option<crate::domain::MissingScope> {
        let (scope, what) = method_scope(self, method, params)?;
        grant.require(scope, &what).err()
    }
}
