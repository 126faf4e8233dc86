//! `post_status_update`: tell an audience where the response stands.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::domain::IncidentRef;
use crate::domain::status_update::{Audience, PageStatus, ServiceState, UpdateDraft};
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::PostedUpdateView;
use crate::mcp::wire::{Upcoming, Word};
use crate::mcp::writes::{WriteAnswer, rendered};

// One affected service (undocumented on purpose: see its fields).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub(crate) struct ServiceStateParam {
    // No doc comments here: they would become schema descriptions the model reads.
    pub(crate) service: String,
    pub(crate) state: Word<ServiceState>,
}

/// Parameters of `post_status_update`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostStatusUpdateParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// Who reads it: public goes on the status page and names no one.
    pub(crate) audience: Word<Audience>,
    /// Where the response stands.
    pub(crate) status: Word<PageStatus>,
    /// As readers will see it.
    pub(crate) message: String,
    /// Affected services (public: page components only).
    pub(crate) services: Option<Vec<ServiceStateParam>>,
    /// When the next update is due (RFC 3339 or e.g. +30m).
    pub(crate) next_update_at: Option<Upcoming>,
    /// Its status page name (first public update).
    pub(crate) public_title: Option<String>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

#[tool_router(router = status_update_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Post a stakeholder update for an audience, with affected services and when the next is
    /// due; answers with exactly what was published.
    #[tool(annotations(
        title = "Post status update",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn post_status_update(
        &self,
        Parameters(p): Parameters<PostStatusUpdateParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<PostedUpdateView>>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "post_status_update",
            p.idempotency_key,
            rendered::<_, PostedUpdateView>,
        )?;
        let draft = UpdateDraft {
            audience: p.audience.0,
            status: p.status.0,
            message: p.message,
            services: p
                .services
                .unwrap_or_default()
                .into_iter()
                .map(|s| (s.service, s.state.0))
                .collect(),
            next_update_at: Upcoming::resolve(p.next_update_at),
            public_title: p.public_title,
        };
        let posted = self
            .app
            .post_status_update(&write, reference, draft)
            .await?;
        Ok(Json(WriteAnswer::new(posted)))
    }
}
