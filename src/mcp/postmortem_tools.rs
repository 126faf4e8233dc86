//! Tools to draft, read and finish an incident's blameless postmortem.

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::postmortems::{PostmortemUpdate, Rendering};
use crate::domain::IncidentRef;
use crate::domain::postmortem::PostmortemStatus;
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{DraftedView, PostmortemView, UpdatedView};
use crate::mcp::wire::{Format, Word};
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `draft_postmortem`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DraftPostmortemParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `get_postmortem`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetPostmortemParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// `markdown` (default): the rendered document; `json`: each section's text, to edit.
    pub(crate) format: Option<Word<Format>>,
}

/// Parameters of `update_postmortem`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdatePostmortemParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// The postmortem version you read; if it changed since, the call is a `conflict`.
    pub(crate) expected_version: i64,
    /// Section name → new markdown; written sections are kept by later drafts. Replace the "To
    /// write" prompt; blameless (systems and decisions, not people). Names as `get_postmortem`
    /// lists them.
    pub(crate) sections: Option<BTreeMap<String, String>>,
    /// `draft` → `in_review` → `published` (back to `draft` from either). Publishing needs the incident
    /// resolved, facts refreshed after it, and every section written.
    pub(crate) status: Option<Word<PostmortemStatus>>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

#[tool_router(router = postmortem_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Draft the blameless postmortem from the record, or refresh its facts (edited sections
    /// are kept). Narrative sections are prompts to write with `update_postmortem`. Run again
    /// after resolution. Returns the markdown.
    #[tool(annotations(
        title = "Draft postmortem",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn draft_postmortem(
        &self,
        Parameters(p): Parameters<DraftPostmortemParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<DraftedView>>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "draft_postmortem",
            p.idempotency_key,
            rendered::<_, DraftedView>,
        )?;
        let drafted = self.app.draft_postmortem(&write, reference).await?;
        Ok(Json(WriteAnswer::new(drafted)))
    }

    /// An incident's postmortem: status, version, each section's provenance and what is
    /// still to write, with the document or each section's text.
    #[tool(annotations(
        title = "Get postmortem",
        read_only_hint = true,
        open_world_hint = false
    ))]
    async fn get_postmortem(
        &self,
        Parameters(p): Parameters<GetPostmortemParams>,
    ) -> Result<Json<PostmortemView>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let is_json = p.format.map(|w| w.0).unwrap_or_default() == Format::Json;
        let rendering = if is_json {
            Rendering::SectionsOnly
        } else {
            Rendering::Markdown
        };
        let document = self.app.postmortem(reference, rendering).await?;
        Ok(Json(PostmortemView::new(&document, is_json)))
    }

    /// Write postmortem sections and/or move its review status; recorded on the timeline.
    #[tool(annotations(
        title = "Update postmortem",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn update_postmortem(
        &self,
        Parameters(p): Parameters<UpdatePostmortemParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<UpdatedView>>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let update = PostmortemUpdate {
            sections: p.sections.unwrap_or_default(),
            status: p.status.map(|w| w.0),
            expected_version: Some(p.expected_version),
        };
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "update_postmortem",
            p.idempotency_key,
            rendered::<_, UpdatedView>,
        )?;
        let updated = self
            .app
            .update_postmortem(&write, reference, update)
            .await?;
        Ok(Json(WriteAnswer::new(updated)))
    }
}
