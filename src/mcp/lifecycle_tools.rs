//! Tools that move an incident through its lifecycle and staff it.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::StatusRequest;
use crate::domain::IncidentRef;
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{IncidentView, RolesView};
use crate::mcp::wire::{RoleParam, StatusParam};
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `change_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeStatusParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// The status to move to. From triage: investigating, identified, monitoring, declined,
    /// merged. Live states move freely among themselves and to resolved. Resolved → closed, or
    /// → investigating to reopen.
    pub(crate) to: StatusParam,
    /// Why. Required to reopen, and used as the resolution when `to` is `resolved`.
    pub(crate) note: Option<String>,
    /// With `to: merged`: the incident that absorbs this one (`INC-12`, `12` or UUID).
    pub(crate) merged_into: Option<String>,
    /// The version you last read; fails with `conflict` if someone changed it since.
    pub(crate) expected_version: Option<i64>,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `resolve_incident`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// How impact ended: what was done and what state the system is in now.
    pub(crate) resolution: String,
    /// The version you last read; fails with `conflict` if someone changed it since.
    pub(crate) expected_version: Option<i64>,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `assign_role`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignRoleParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// The role. `commander`, `tech_lead`, `comms_lead` and `scribe` have one holder (the previous one
    /// is relieved); any number of people can be `responder`.
    pub(crate) role: RoleParam,
    /// Who takes the role (a person's handle or name, 1–200 characters).
    pub(crate) assignee: String,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
}

#[tool_router(router = lifecycle_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Move an incident to another status in one step: checks the transition is allowed,
    /// stamps the lifecycle timestamp (acknowledged, identified, mitigated, resolved, closed)
    /// and records it on the timeline. Also reopens (resolved → investigating, with a note),
    /// declines, and merges (with `merged_into`). A refused transition lists the allowed ones.
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
            to: p.to.into(),
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

    /// Resolve an incident: impact has ended. Requires a resolution summary; stamps
    /// `resolved_at` (and `mitigated_at` if it was never mitigated). Reopen later with
    /// `change_status` if impact returns.
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

    /// Assign a role on an incident. The previous holder of a single-holder role is relieved
    /// (history is kept) and the change is recorded on the timeline. Returns the current roles.
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
            .assign_role(&write, reference, p.role.into(), &p.assignee)
            .await?;
        Ok(Json(WriteAnswer::new(roles)))
    }
}
