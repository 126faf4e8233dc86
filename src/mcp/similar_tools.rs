//! The history tool for "have we seen this before, and what fixed it?".

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::similar::SimilarRequest;
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::SimilarListView;
use crate::mcp::wire::Words;

/// Parameters of `find_similar_incidents`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FindSimilarParams {
    /// Compare with this incident, or describe one below.
    pub(crate) incident: Option<String>,
    /// What is happening, in words.
    pub(crate) text: Option<String>,
    /// Affected service slugs.
    pub(crate) services: Option<Words<String>>,
    /// Labels, e.g. alertname.
    pub(crate) labels: Option<BTreeMap<String, String>>,
    /// 1–20 (default 5).
    pub(crate) limit: Option<i64>,
    /// Also declined incidents.
    pub(crate) include_declined: Option<bool>,
    /// Also `test`-labelled incidents.
    pub(crate) include_test: Option<bool>,
}

#[tool_router(router = similar_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Past incidents most like an incident or a description, over all history, best first,
    /// with score, reasons, resolution, postmortem, runbooks. Use early: what fixed it last
    /// time? Skips merged, declined, `test`.
    #[tool(annotations(
        title = "Find similar incidents",
        read_only_hint = true,
        open_world_hint = false
    ))]
    async fn find_similar_incidents(
        &self,
        Parameters(p): Parameters<FindSimilarParams>,
    ) -> Result<Json<SimilarListView>, ToolError> {
        let request = SimilarRequest {
            incident: p.incident,
            text: p.text,
            services: p.services.map(|s| s.0).unwrap_or_default(),
            labels: p.labels.unwrap_or_default(),
            limit: p.limit,
            include_declined: p.include_declined.unwrap_or(false),
            include_test: p.include_test.unwrap_or(false),
        };
        let answer = self.app.find_similar_incidents(request).await?;
        Ok(Json(SimilarListView::from(&answer)))
    }
}
