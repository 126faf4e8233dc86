//! The MCP server: tools whose handlers parse parameters, call `app` and return views, plus
//! resources, prompts and completions. May use `app` and `domain`; never `store`, sqlx or HTTP
//! internals.

mod access;
mod action_item_tools;
mod arguments;
mod audited;
mod completions;
mod deadline;
mod incident_tools;
mod lifecycle_tools;
mod markdown;
mod metrics_tools;
mod postmortem_tools;
mod prompts;
mod resources;
mod runbook_tools;
mod schemas;
pub mod script;
mod signal_tools;
mod similar_tools;
mod status_update_tools;
mod stdio;
mod subscriptions;
mod timeline_tools;
pub mod tool_error;
pub mod views;
mod wire;
mod writes;

use std::sync::Arc;

use rmcp::handler::server::prompt::PromptContext;
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::{IntoCallToolResult, ToolCallContext};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
    GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig,
};
// Deprecated by rmcp for the 2026-07-28 revision (which has `subscriptions/listen`), and the
// way every session-based revision, the ones clients use today, subscribes.
#[allow(
    deprecated,
    reason = "resources/subscribe is how session-based protocol revisions subscribe"
)]
use rmcp::model::{SubscribeRequestParams, UnsubscribeRequestParams};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool_handler};

use crate::app::App;
use crate::app::audit::AuditKind;
use crate::app::live::LiveUpdates;
use crate::app::write::AuditSlot;
use crate::domain::{Actor, Grant, Scope};

/// What the server tells clients about itself at initialization.
const INSTRUCTIONS: &str = "Firebreak records incidents in PostgreSQL for responders. \
Refer to incidents as INC-42, 42 or their UUID. Start with list_incidents (status: open) or \
get_incident; declare with declare_incident (dedup_key for alert signals). Every write takes \
an idempotency_key: send one, and after a timeout or `unavailable` retry with the same key and \
arguments (it applies once; a retry of one that went through replays its answer). Every write \
is recorded on the timeline with who did it. Writes accept expected_version: pass the version \
you read to avoid overwriting someone else's change. \
Find the runbook for an alert or service with find_runbooks and record each step you take with \
record_runbook_step (ask a human before any step marked risky). Once resolved, draft the \
postmortem with draft_postmortem and track follow-ups with add_action_item. \
Errors start with a code (not_found, invalid_argument, invalid_transition, conflict, \
unavailable, invalid_template) and say what to do next. Resources: incident://INC-42 (brief), \
incident://INC-42/timeline, postmortem://INC-42, runbook://{slug}. Prompts: respond_to_incident, \
write_postmortem, stakeholder_update.";

/// How this server instance is reached, which decides how actors are identified.
#[derive(Debug, Clone)]
pub enum Transport {
    /// stdio: one local user, named by configuration.
    Stdio {
        /// The principal recorded on writes, and what it may do.
        grant: Grant,
    },
    /// Streamable HTTP: the grant comes from the credential of each request.
    Http,
    /// One call from the command line (`firebreak tool`), in process.
    Cli {
        /// The principal recorded on writes, and what it may do.
        grant: Grant,
    },
}

/// The Firebreak MCP server.
#[derive(Clone)]
pub struct FirebreakServer {
    app: App,
    transport: Transport,
    // Shared, not copied: stateless HTTP clones the server for every request, and cloning the
    // routers would copy every tool's name, description and schemas each time.
    tool_router: Arc<ToolRouter<FirebreakServer>>,
    prompt_router: Arc<PromptRouter<FirebreakServer>>,
    /// The changes subscribers hear of; `None` where the transport cannot deliver them
    /// (stateless HTTP, one command-line call): subscribing is then refused.
    live: Option<LiveUpdates>,
    /// This session's subscriptions.
    session: subscriptions::Session,
}

impl FirebreakServer {
    /// A server over `app` for the given transport.
    pub fn new(app: App, transport: Transport) -> Self {
        FirebreakServer {
            app,
            transport,
            tool_router: Arc::new(Self::tools()),
            prompt_router: Arc::new(Self::prompt_router()),
            live: None,
            session: subscriptions::Session::default(),
        }
    }

    /// The same server, delivering `live` changes to the resources its sessions subscribe to
    /// (and advertising `resources.subscribe`). Only for transports that keep a session.
    pub fn with_live_updates(mut self, live: LiveUpdates) -> Self {
        self.live = Some(live);
        self
    }

    /// A clone for a new session: the same routers and feed, no subscriptions yet.
    pub(crate) fn for_new_session(&self) -> Self {
        FirebreakServer {
            session: subscriptions::Session::default(),
            ..self.clone()
        }
    }

    /// Every tool, with its schemas compacted (see [`schemas`]).
    pub(crate) fn tools() -> ToolRouter<FirebreakServer> {
        let mut router = Self::incident_tools()
            + Self::lifecycle_tools()
            + Self::timeline_tools()
            + Self::runbook_tools()
            + Self::postmortem_tools()
            + Self::action_item_tools()
            + Self::signal_tools()
            + Self::metrics_tools()
            + Self::similar_tools()
            + Self::status_update_tools();
        for route in router.map.values_mut() {
            let mut input = (*route.attr.input_schema).clone();
            schemas::compact_input(&mut input);
            route.attr.input_schema = Arc::new(input);
            if let Some(output) = &route.attr.output_schema {
                let mut output = (**output).clone();
                schemas::compact_output(&mut output);
                route.attr.output_schema = Some(Arc::new(output));
            }
            if let Some(annotations) = &mut route.attr.annotations {
                schemas::compact_annotations(annotations);
            }
        }
        router
    }

    /// The author of the current request: principal, client and channel.
    fn actor(&self, context: &RequestContext<RoleServer>) -> Actor {
        let parts = context.extensions.get::<http::request::Parts>();
        Actor {
            principal: self.grant(context).principal,
            client: client_name(context, parts),
            channel: self.channel(),
        }
    }

    /// Serves MCP over stdin/stdout until the client disconnects or `shutdown` fires.
    pub async fn serve_stdio(
        self,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Result<(), std::io::Error> {
        let running = match stdio::pipes() {
            Some((stdin, stdout)) => {
                let transport = stdio::LineTransport::new(stdin, stdout);
                self.serve_with_ct(transport, shutdown).await
            }
            None => {
                tracing::debug!("stdin or stdout is not a pipe: using blocking stdio");
                let transport = stdio::LineTransport::new(tokio::io::stdin(), tokio::io::stdout());
                self.serve_with_ct(transport, shutdown).await
            }
        }
        .map_err(std::io::Error::other)?;
        running.waiting().await.map_err(std::io::Error::other)?;
        Ok(())
    }
}

/// The client's `name version` from the handshake (or the request's `_meta`), falling back to
/// the HTTP `User-Agent` for stateless requests that carry neither.
fn client_name(
    context: &RequestContext<RoleServer>,
    parts: Option<&http::request::Parts>,
) -> Option<String> {
    let rmcp_default = Implementation::default();
    let declared = context
        .client_info()
        .filter(|info| info.name != rmcp_default.name || info.version != rmcp_default.version)
        .map(|info| format!("{} {}", info.name, info.version));
    declared.or_else(|| {
        parts
            .and_then(|p| p.headers.get(http::header::USER_AGENT))
            .and_then(|ua| ua.to_str().ok())
            .map(|ua| ua.chars().take(200).collect())
    })
}

/// Whether the client's protocol revision knows `ttlMs` and `cacheScope` on listings.
fn supports_cache_hints(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28)
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for FirebreakServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .enable_completions()
            .build();
        let mut capabilities = capabilities;
        // Advertised only where updates can reach the client (see `subscriptions`).
        if self.live.is_some()
            && self.app.can_listen()
            && let Some(resources) = capabilities.resources.as_mut()
        {
            resources.subscribe = Some(true);
        }
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }

    /// Routes a tool call, turning argument errors into `invalid_argument` tool errors.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = request.name.clone();
        // Kept to explain argument errors and for the audit record; tool arguments are small.
        let arguments = request.arguments.clone().unwrap_or_default();
        let slot = self.audit_slot(
            &context,
            AuditKind::Tool,
            &tool,
            &serde_json::Value::Object(arguments.clone()),
        );
        let answer = self.call_checked(request, context, &arguments, &slot).await;
        let (outcome, incident) = audited::tool_outcome(&answer);
        slot.finish(&self.app, &outcome, incident);
        answer
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let arguments = serde_json::to_value(&request.arguments).unwrap_or_default();
        let slot = self.audit_slot(&context, AuditKind::Prompt, &request.name, &arguments);
        let answer = self.prompt_checked(request, context).await;
        slot.finish(&self.app, &audited::outcome(&answer), None);
        answer
    }

    /// The tools this request's credential may call (what it lacks the scope for is hidden,
    /// and refused if called anyway). Cache hints say `private`: the list depends on the caller.
    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let scopes = self.grant(&context).scopes;
        let tools = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|tool| scopes.allows(access::tool_scope(tool)))
            .collect();
        let mut result = ListToolsResult::with_all_items(tools);
        if supports_cache_hints(&context) {
            result.ttl_ms = Some(0);
            result.cache_scope = Some(CacheScope::Private);
        }
        Ok(result)
    }

    /// As rmcp's `prompt_handler` would list them (written out because `get_prompt` is), to a
    /// credential that may read.
    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let prompts = if self.grant(&context).scopes.allows(Scope::IncidentsRead) {
            self.prompt_router.list_all()
        } else {
            Vec::new()
        };
        let mut result = ListPromptsResult::with_all_items(prompts);
        if supports_cache_hints(&context) {
            result.ttl_ms = Some(0);
            result.cache_scope = Some(CacheScope::Private);
        }
        Ok(result)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let scopes = self.grant(&context).scopes;
        if !scopes.allows(Scope::IncidentsRead) {
            return Ok(ListResourcesResult::with_all_items(Vec::new()));
        }
        let limit = self.app.settings().call_timeout;
        let mut listed = deadline::within(limit, resources::list(&self.app))
            .await
            .unwrap_or_else(|| Err(deadline::protocol_error("resources/list", limit)))?;
        listed
            .resources
            .retain(|resource| scopes.allows(access::resource_scope(&resource.uri)));
        Ok(listed)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let scopes = self.grant(&context).scopes;
        let mut templates = resources::templates();
        templates
            .resource_templates
            .retain(|template| scopes.allows(access::resource_scope(&template.uri_template)));
        Ok(templates)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let slot = self.audit_slot(
            &context,
            AuditKind::Resource,
            &request.uri,
            &serde_json::Value::Null,
        );
        let answer = self.read_checked(&request, &context).await;
        let incident = audited::incident_of_uri(&request.uri);
        slot.finish(&self.app, &audited::outcome(&answer), incident);
        answer
    }

    /// Subscribes this session to an incident resource: its changes, made through any
    /// replica, are sent as `notifications/resources/updated` until it unsubscribes.
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscribe_checked(&request.uri, &context).await
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.unsubscribe_uri(&request.uri).await;
        Ok(())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        self.require(&context, Scope::IncidentsRead, "completion")
            .map_err(|refused| tool_error::protocol_error(&refused))?;
        let limit = self.app.settings().call_timeout;
        deadline::within(limit, completions::complete(self, &request))
            .await
            .unwrap_or_else(|| Err(deadline::protocol_error("completion/complete", limit)))
    }
}

impl FirebreakServer {
    /// A tool call once its audit slot exists: the scope check, the call within its deadline,
    /// argument errors explained.
    async fn call_checked(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
        arguments: &rmcp::model::JsonObject,
        slot: &AuditSlot,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = request.name.clone();
        if let Some(route) = self.tool_router.get(&tool)
            && let Err(refused) = self.require(
                &context,
                access::tool_scope(route),
                &format!("tool `{tool}`"),
            )
        {
            return tool_error::ToolError(refused).into_call_tool_result();
        }
        let mut context = context;
        if let Some(digest) = writes::RequestDigest::of(&tool, arguments) {
            context.extensions.insert(digest);
        }
        context.extensions.insert(slot.clone());
        let call = ToolCallContext::new(self, request, context);
        let limit = self.app.settings().call_timeout;
        let Some(answer) = deadline::within(limit, self.tool_router.call(call)).await else {
            let is_write = self
                .tool_router
                .get(&tool)
                .and_then(|t| t.annotations.as_ref())
                .is_some_and(|a| a.read_only_hint != Some(true));
            return Ok(deadline::tool_error(&tool, is_write, limit).into());
        };
        match answer {
            Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => {
                Ok(arguments::explain(&tool, arguments, result).into())
            }
            other => other,
        }
    }

    /// A prompt request: the scope check, then the prompt within the deadline.
    async fn prompt_checked(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let name = request.name.clone();
        self.require(&context, Scope::IncidentsRead, &format!("prompt `{name}`"))
            .map_err(|refused| tool_error::protocol_error(&refused))?;
        let prompt = PromptContext::new(self, request.name, request.arguments, context);
        let limit = self.app.settings().call_timeout;
        deadline::within(limit, self.prompt_router.get_prompt(prompt))
            .await
            .unwrap_or_else(|| Err(deadline::protocol_error(&format!("prompt {name}"), limit)))
    }

    /// A resource read: the scope check, then the read within the deadline.
    async fn read_checked(
        &self,
        request: &ReadResourceRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let scope = access::resource_scope(&request.uri);
        self.require(context, scope, &format!("resource `{}`", request.uri))
            .map_err(|refused| tool_error::protocol_error(&refused))?;
        let limit = self.app.settings().call_timeout;
        match deadline::within(limit, resources::read(&self.app, &request.uri)).await {
            Some(read) => Ok(read?.into()),
            None => Err(deadline::protocol_error(&request.uri, limit)),
        }
    }
}
