//! Tools for signals: the alerts behind incidents (with the ledger's reasons), the changes
//! that may have caused them, and recording what a responder decided about a change.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::signals::{AlertQuery, ChangeQuery};
use crate::domain::IncidentRef;
use crate::domain::signals::{AlertStatus, ChangeKind, ChangeRelation};
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{AlertListView, ChangeListView, LinkedChangeView};
use crate::mcp::wire::{When, Word};
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `list_alerts`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListAlertsParams {
    /// Only alerts of this incident.
    pub(crate) incident: Option<String>,
    /// Only from this source.
    pub(crate) source: Option<String>,
    /// `firing` or `resolved`.
    pub(crate) status: Option<Word<AlertStatus>>,
    /// Seen since (RFC 3339 or e.g. -1h).
    pub(crate) since: Option<When>,
    /// Seen before.
    pub(crate) until: Option<When>,
    /// Page size, 1–100 (default 20).
    pub(crate) limit: Option<i64>,
    /// `next_cursor` of the previous page (same filters).
    pub(crate) cursor: Option<String>,
}

/// Parameters of `list_changes`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListChangesParams {
    /// Score changes as suspects for this incident (best first, one page).
    pub(crate) incident: Option<String>,
    /// Only changes to this service.
    pub(crate) service: Option<String>,
    // Only this kind.
    pub(crate) kind: Option<Word<ChangeKind>>,
    /// Happened since (RFC 3339 or e.g. -2h).
    pub(crate) since: Option<When>,
    /// Happened before.
    pub(crate) until: Option<When>,
    /// Page size, 1–100 (default 20).
    pub(crate) limit: Option<i64>,
    /// `next_cursor` of the previous page (same filters).
    pub(crate) cursor: Option<String>,
}

/// Parameters of `link_change`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkChangeParams {
    /// The incident.
    pub(crate) incident: String,
    /// `CHG-<n>` from `list_changes`.
    pub(crate) change: String,
    /// `confirmed` seeds the postmortem's trigger.
    pub(crate) relation: Word<ChangeRelation>,
    /// Why (the evidence).
    pub(crate) note: Option<String>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

fn incident(raw: Option<&str>) -> Result<Option<IncidentRef>, ToolError> {
    Ok(raw.map(|r| IncidentRef::parse("incident", r)).transpose()?)
}

#[tool_router(router = signal_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Alerts from monitoring, newest first, each with why Firebreak declared, attached,
    /// deduplicated or only recorded it; pages with `next_cursor`.
    #[tool(annotations(title = "List alerts", read_only_hint = true, open_world_hint = false))]
    async fn list_alerts(
        &self,
        Parameters(p): Parameters<ListAlertsParams>,
    ) -> Result<Json<AlertListView>, ToolError> {
        let query = AlertQuery {
            incident: incident(p.incident.as_deref())?,
            source: p.source,
            status: p.status.map(|w| w.0),
            since: When::resolve(p.since),
            until: When::resolve(p.until),
            limit: p.limit,
            cursor: p.cursor,
        };
        let page = self.app.list_alerts(query).await?;
        Ok(Json(AlertListView::from(&page)))
    }

    /// Changes (deploys, config, flags, infra, pushes, releases), newest first; with
    /// `incident`, the suspects around its impact start, each with a score and reasons: a
    /// suggestion to check, not a cause.
    #[tool(annotations(title = "List changes", read_only_hint = true, open_world_hint = false))]
    async fn list_changes(
        &self,
        Parameters(p): Parameters<ListChangesParams>,
    ) -> Result<Json<ChangeListView>, ToolError> {
        let query = ChangeQuery {
            incident: incident(p.incident.as_deref())?,
            service: p.service,
            kind: p.kind.map(|w| w.0),
            since: When::resolve(p.since),
            until: When::resolve(p.until),
            limit: p.limit,
            cursor: p.cursor,
        };
        let page = self.app.list_changes(query).await?;
        Ok(Json(ChangeListView::from(&page)))
    }

    /// Record that a change is suspected, confirmed or ruled out as a cause of an incident
    /// (on its timeline).
    #[tool(annotations(
        title = "Link change",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn link_change(
        &self,
        Parameters(p): Parameters<LinkChangeParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<LinkedChangeView>>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "link_change",
            p.idempotency_key,
            rendered::<_, LinkedChangeView>,
        )?;
        let linked = self
            .app
            .link_change(&write, reference, &p.change, p.relation.0, p.note)
            .await?;
        Ok(Json(WriteAnswer::new(linked)))
    }
}
