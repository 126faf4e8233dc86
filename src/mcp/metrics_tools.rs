//! The history tool `incident_metrics`: how fast incidents were acknowledged, mitigated and
//! resolved over a period, beside the period before it, and the follow-up they left.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::metrics::{MetricsGrouping, MetricsRequest};
use crate::domain::Severity;
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::MetricsView;
use crate::mcp::wire::{When, Word, Words};

/// Parameters of `incident_metrics`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentMetricsParams {
    /// Declared at or after (RFC 3339 or e.g. -90d); default 90 days before `to`.
    #[serde(alias = "since")]
    pub(crate) from: Option<When>,
    /// Declared before; default now.
    #[serde(alias = "until")]
    pub(crate) to: Option<When>,
    /// Only this service slug.
    pub(crate) service: Option<String>,
    /// Only these severities (one or a list).
    #[serde(alias = "severities")]
    pub(crate) severity: Option<Words<Word<Severity>>>,
    /// One row per week, month, service or severity.
    pub(crate) group_by: Option<Word<MetricsGrouping>>,
    /// Count `test`-labelled incidents too.
    pub(crate) include_test: Option<bool>,
}

#[tool_router(router = metrics_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Incident metrics for a period (default 90 days) beside the one before: counts by
    /// severity, time to acknowledge, mitigate and resolve (median, p90, mean), exclusions,
    /// busiest services, noisiest alerts, overdue action items, postmortems owed.
    #[tool(annotations(
        title = "Incident metrics",
        read_only_hint = true,
        open_world_hint = false
    ))]
    async fn incident_metrics(
        &self,
        Parameters(p): Parameters<IncidentMetricsParams>,
    ) -> Result<Json<MetricsView>, ToolError> {
        let request = MetricsRequest {
            from: When::resolve(p.from),
            to: When::resolve(p.to),
            service: p.service,
            severities: p.severity.map(Words::values).unwrap_or_default(),
            group_by: p.group_by.map(|w| w.0),
            include_test: p.include_test.unwrap_or(false),
        };
        let report = self.app.incident_metrics(request).await?;
        Ok(Json(MetricsView::from(&report)))
    }
}
