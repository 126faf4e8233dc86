//! Tools to declare, read, list and edit incidents.

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::ListRequest;
use crate::domain::{DeclareRequest, IncidentChanges, IncidentRef, Severity};
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{BriefView, DeclaredView, IncidentListView, IncidentView};
use crate::mcp::wire::{StatusFilterWord, When, Word, Words};
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `declare_incident`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeclareParams {
    /// One line, e.g. "Checkout API returning 5xx".
    pub(crate) title: String,
    /// SEV1 worst. If unsure between two, pick the worse.
    pub(crate) severity: Word<Severity>,
    /// What is known so far (markdown).
    pub(crate) summary: Option<String>,
    /// Who or what is affected, and how (markdown).
    pub(crate) impact: Option<String>,
    /// Affected service slugs, e.g. ["checkout-api"].
    pub(crate) services: Option<Words<String>>,
    /// Key/value labels, e.g. `{"alertname": "HighErrorRate"}`.
    pub(crate) labels: Option<BTreeMap<String, String>>,
    /// Who commands the response.
    pub(crate) commander: Option<String>,
    /// When impact began, if before detection (RFC 3339 or e.g. -15m).
    pub(crate) impact_started_at: Option<When>,
    /// When it was noticed (default now).
    pub(crate) detected_at: Option<When>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
    /// An alert fingerprint: a repeat folds into the open incident with it.
    pub(crate) dedup_key: Option<String>,
}

/// Parameters of `get_incident`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetIncidentParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
}

/// Parameters of `list_incidents`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListIncidentsParams {
    /// Only these statuses (one or a list); `open` = triage or live.
    pub(crate) status: Option<Words<StatusFilterWord>>,
    /// Only these severities (one or a list).
    pub(crate) severity: Option<Words<Word<Severity>>>,
    /// Only incidents of this service slug.
    pub(crate) service: Option<String>,
    /// Search title, summary and impact (words, "a phrase", -excluded, or); best match first.
    pub(crate) text: Option<String>,
    /// Declared at or after (RFC 3339 or e.g. -2h).
    pub(crate) since: Option<When>,
    /// Declared before (RFC 3339 or e.g. -1h).
    pub(crate) until: Option<When>,
    /// Page size, 1–100 (default 20).
    pub(crate) limit: Option<i64>,
    /// `next_cursor` of the previous page (same filters).
    pub(crate) cursor: Option<String>,
}

/// Parameters of `update_incident`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateIncidentParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// Version you read; `conflict` if it changed since.
    pub(crate) expected_version: Option<i64>,
    // New title.
    pub(crate) title: Option<String>,
    // New summary.
    pub(crate) summary: Option<String>,
    // New impact.
    pub(crate) impact: Option<String>,
    // New severity.
    pub(crate) severity: Option<Word<Severity>>,
    /// The whole new list of services.
    pub(crate) services: Option<Words<String>>,
    /// The whole new set of labels.
    pub(crate) labels: Option<BTreeMap<String, String>>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

#[tool_router(router = incident_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Declare an incident (starts in `triage`) when an alert or a person reports impact or
    /// risk. With `dedup_key`, a repeat folds into the open incident (`deduplicated: true`).
    #[tool(annotations(
        title = "Declare incident",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn declare_incident(
        &self,
        Parameters(p): Parameters<DeclareParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<DeclaredView>>, ToolError> {
        let request = DeclareRequest {
            title: p.title,
            severity: p.severity.0,
            summary: p.summary,
            impact: p.impact,
            services: p.services.map(|s| s.0).unwrap_or_default(),
            labels: p.labels.unwrap_or_default(),
            commander: p.commander,
            impact_started_at: When::resolve(p.impact_started_at),
            detected_at: When::resolve(p.detected_at),
            dedup_key: p.dedup_key,
        };
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "declare_incident",
            p.idempotency_key,
            rendered::<_, DeclaredView>,
        )?;
        let declared = self.app.declare_incident(&write, request).await?;
        Ok(Json(WriteAnswer::new(declared)))
    }

    /// An incident's brief: fields, version, roles, last 20 timeline entries, durations so far,
    /// runbook steps taken, open action items.
    #[tool(annotations(title = "Get incident", read_only_hint = true, open_world_hint = false))]
    async fn get_incident(
        &self,
        Parameters(p): Parameters<GetIncidentParams>,
    ) -> Result<Json<BriefView>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let brief = self.app.incident_brief(reference).await?;
        Ok(Json(BriefView::from(&brief)))
    }

    /// Incidents as compact rows, newest first, filtered; with `text`, the 200 newest matches
    /// best first, then the next 200 older; pages with `next_cursor`.
    #[tool(annotations(
        title = "List incidents",
        read_only_hint = true,
        open_world_hint = false
    ))]
    async fn list_incidents(
        &self,
        Parameters(p): Parameters<ListIncidentsParams>,
    ) -> Result<Json<IncidentListView>, ToolError> {
        let request = ListRequest {
            statuses: p.status.map(Words::filters).unwrap_or_default(),
            severities: p.severity.map(Words::values).unwrap_or_default(),
            service: p.service,
            text: p.text,
            since: When::resolve(p.since),
            until: When::resolve(p.until),
            limit: p.limit,
            cursor: p.cursor,
        };
        let page = self.app.list_incidents(request).await?;
        Ok(Json(IncidentListView::from(&page)))
    }

    /// Change an incident's title, summary, impact, severity, services or labels; each change
    /// goes on the timeline. The lifecycle is `change_status`.
    #[tool(annotations(
        title = "Update incident",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn update_incident(
        &self,
        Parameters(p): Parameters<UpdateIncidentParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<IncidentView>>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let changes = IncidentChanges {
            title: p.title,
            summary: p.summary,
            impact: p.impact,
            severity: p.severity.map(|w| w.0),
            services: p.services.map(|s| s.0),
            labels: p.labels,
        };
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "update_incident",
            p.idempotency_key,
            rendered::<_, IncidentView>,
        )?;
        let incident = self
            .app
            .update_incident(&write, reference, p.expected_version, changes)
            .await?;
        Ok(Json(WriteAnswer::new(incident)))
    }
}
