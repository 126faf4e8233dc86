//! Tools to draft, read and finish an incident's blameless postmortem.

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::postmortems::PostmortemUpdate;
use crate::domain::IncidentRef;
use crate::domain::postmortem::PostmortemStatus;
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{DraftedView, PostmortemView, UpdatedView};
use crate::mcp::writes::{WriteAnswer, rendered};

/// A postmortem's review status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum PostmortemStatusParam {
    // Being written.
    Draft,
    // Written, being reviewed.
    InReview,
    // Reviewed and shared (needs in_review first).
    Published,
}

impl From<PostmortemStatusParam> for PostmortemStatus {
    fn from(value: PostmortemStatusParam) -> Self {
        match value {
            PostmortemStatusParam::Draft => PostmortemStatus::Draft,
            PostmortemStatusParam::InReview => PostmortemStatus::InReview,
            PostmortemStatusParam::Published => PostmortemStatus::Published,
        }
    }
}

/// How `get_postmortem` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum FormatParam {
    // The rendered document in `markdown`; sections without bodies.
    #[default]
    Markdown,
    // Each section's markdown in `sections[].body`; no rendered document.
    Json,
}

/// Parameters of `draft_postmortem`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DraftPostmortemParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `get_postmortem`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetPostmortemParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// `markdown` (default): the whole rendered document; `json`: each section's text with
    /// its provenance, to edit sections one by one.
    pub(crate) format: Option<FormatParam>,
}

/// Parameters of `update_postmortem`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdatePostmortemParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// The postmortem's version you last read (from `draft_postmortem` or `get_postmortem`); fails
    /// with `conflict` if someone changed it since.
    pub(crate) expected_version: i64,
    /// Section name → new markdown (replaces the section; it becomes `edited` and refreshes no
    /// longer touch it). Names: `summary`, `impact`, `durations`, `severity_history`, `roles`,
    /// `timeline`, `root_causes`, `trigger`, `detection`, `resolution`, `what_went_well`,
    /// `what_went_wrong`, `where_we_got_lucky`, `lessons`, `action_items`. Replace the "To write"
    /// prompt line; keep the writing blameless (systems and decisions, not people).
    pub(crate) sections: Option<BTreeMap<String, String>>,
    /// Move the postmortem: `draft` → `in_review` → `published`; `in_review` or `published` →
    /// `draft`. Publishing needs the incident resolved, facts refreshed after resolution, and
    /// every seeded and narrative section written.
    pub(crate) status: Option<PostmortemStatusParam>,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
}

#[tool_router(router = postmortem_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Draft the incident's blameless postmortem from what was recorded, or refresh it:
    /// summary, impact, durations (with their anchors), severity history, roles, key timeline,
    /// root causes seeded from hypotheses and findings, trigger, detection, resolution and
    /// action items. Sections someone edited are never overwritten. Narrative sections (what
    /// went well, what went wrong, where we got lucky, lessons) are prompts to write with
    /// `update_postmortem`. Works on a live incident (the draft says it is not resolved); run it
    /// again after resolution. Returns the rendered markdown.
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

    /// Get an incident's postmortem: status, version, each section's provenance (generated or
    /// edited) and what is still to write; the rendered document (`format: markdown`, the
    /// default) or each section's text (`format: json`).
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
        let is_json = p.format.unwrap_or_default() == FormatParam::Json;
        let document = self.app.postmortem(reference, !is_json).await?;
        Ok(Json(PostmortemView::new(&document, is_json)))
    }

    /// Write postmortem sections and/or move its status (`draft` → `in_review` → `published`).
    /// Written sections replace the old text and are kept by later refreshes. Each change is
    /// recorded on the incident's timeline.
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
            status: p.status.map(Into::into),
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
