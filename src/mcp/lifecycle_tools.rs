//! Tools that move an incident through its lifecycle and staff it.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::StatusRequest;
use crate::domain::{IncidentRef, Role, Status};
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{IncidentView, RolesView};
use crate::mcp::wire::Word;
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `change_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeStatusParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// Target. From triage: a live state, declined or merged; live states move among
    /// themselves and to resolved; resolved → closed, or investigating to reopen.
    pub(crate) to: Word<Status>,
    /// Why; required to reopen; the resolution when `to` is resolved.
    pub(crate) note: Option<String>,
    /// With `to: merged`: the incident absorbing this one.
    pub(crate) merged_into: Option<String>,
    /// Version you read; `conflict` if it changed since.
    pub(crate) expected_version: Option<i64>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `resolve_incident`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// How impact ended: what was done, and the state now.
    pub(crate) resolution: String,
    /// Version you read; `conflict` if it changed since.
    pub(crate) expected_version: Option<i64>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `assign_role`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignRoleParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// One holder each (the previous one is relieved), except any number of `responder`s.
    pub(crate) role: Word<Role>,
    /// Who takes it (a handle or name).
    pub(crate) assignee: String,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

#[tool_router(router = lifecycle_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Move an incident to another status: checks the lifecycle allows it, stamps the first
    /// entry's time, records it. Also reopens, declines and merges. A refusal lists what is
    /// allowed.
    #[tool(annotations(
        title = "Change incident status",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn change_status(
        &self,
        Parameters(p): Parameters<ChangeStatusParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<IncidentView>>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let merged_into = p
            .merged_into
            .as_deref()
            .map(|raw| IncidentRef::parse("merged_into", raw))
            .transpose()?;
        let request = StatusRequest {
            to: p.to.0,
            note: p.note,
            merged_into,
            expected_version: p.expected_version,
        };
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "change_status",
            p.idempotency_key,
            rendered::<_, IncidentView>,
        )?;
        let changed = self.app.change_status(&write, reference, request).await?;
        Ok(Json(WriteAnswer::new(changed)))
    }

    /// Resolve an incident: impact has ended. Reopen with `change_status` if it returns.
    #[tool(annotations(
        title = "Resolve incident",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn resolve_incident(
        &self,
        Parameters(p): Parameters<ResolveParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<IncidentView>>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "resolve_incident",
            p.idempotency_key,
            rendered::<_, IncidentView>,
        )?;
        let resolved = self
            .app
            .resolve_incident(&write, reference, p.resolution, p.expected_version)
            .await?;
        Ok(Json(WriteAnswer::new(resolved)))
    }

    /// Assign a role; the change goes on the timeline (history kept). Returns the current roles.
    #[tool(annotations(
        title = "Assign role",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn assign_role(
        &self,
        Parameters(p): Parameters<AssignRoleParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<RolesView>>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "assign_role",
            p.idempotency_key,
            rendered::<_, RolesView>,
        )?;
        let roles = self
            .app
            .assign_role(&write, reference, p.role.0, &p.assignee)
            .await?;
        Ok(Json(WriteAnswer::new(roles)))
    }
}
