//! Tools to declare, read, list and edit incidents.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::ListRequest;
use crate::domain::{DeclareRequest, IncidentChanges, IncidentRef};
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{BriefView, DeclaredView, IncidentListView, IncidentView};
use crate::mcp::wire::{SeverityParam, StatusFilterParam};
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `declare_incident`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeclareParams {
    /// One line saying what is wrong, 1–200 characters (e.g. "Checkout API returning 5xx").
    pub(crate) title: String,
    /// SEV1 (worst) to SEV5. If unsure between two, pick the worse one.
    pub(crate) severity: SeverityParam,
    /// What is known so far (markdown, up to 64 KiB).
    pub(crate) summary: Option<String>,
    /// Who or what is affected and how (markdown, up to 64 KiB).
    pub(crate) impact: Option<String>,
    /// Affected services as lowercase slugs (e.g. ["checkout-api"]), at most 20.
    pub(crate) services: Option<Vec<String>>,
    /// Key/value labels (e.g. `{"alertname": "HighErrorRate", "region": "eu-west-1"}`), at most 32.
    pub(crate) labels: Option<BTreeMap<String, String>>,
    /// Who commands the response; becomes the first `commander` assignment.
    pub(crate) commander: Option<String>,
    /// When impact began (RFC 3339), if before detection.
    pub(crate) impact_started_at: Option<DateTime<Utc>>,
    /// When a monitor or person noticed (RFC 3339); defaults to now.
    pub(crate) detected_at: Option<DateTime<Utc>>,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
    /// Groups repeat signals (e.g. an alert fingerprint): while an incident with this key is
    /// open, declaring again returns it with `deduplicated: true` and records the repeat.
    pub(crate) dedup_key: Option<String>,
}

/// Parameters of `get_incident`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetIncidentParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
}

/// Parameters of `list_incidents`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListIncidentsParams {
    /// Only these statuses (any of them); `open` means triage or live. Default: all.
    pub(crate) status: Option<Vec<StatusFilterParam>>,
    /// Only these severities (any of them). Default: all.
    pub(crate) severity: Option<Vec<SeverityParam>>,
    /// Only incidents affecting this service (slug).
    pub(crate) service: Option<String>,
    /// Full-text search over title, summary and impact (web-search syntax: words, "a phrase",
    /// -excluded, or). Results are then ordered by relevance.
    pub(crate) text: Option<String>,
    /// Only incidents declared at or after this time (RFC 3339).
    pub(crate) since: Option<DateTime<Utc>>,
    /// Only incidents declared before this time (RFC 3339).
    pub(crate) until: Option<DateTime<Utc>>,
    /// Page size, 1–100 (default 20).
    pub(crate) limit: Option<i64>,
    /// `next_cursor` from the previous page, with the same filters.
    pub(crate) cursor: Option<String>,
}

/// Parameters of `update_incident`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateIncidentParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// The version you last read; the update fails with `conflict` if someone changed it since.
    pub(crate) expected_version: Option<i64>,
    /// New title, 1–200 characters.
    pub(crate) title: Option<String>,
    /// New summary (replaces the old one).
    pub(crate) summary: Option<String>,
    /// New impact statement (replaces the old one).
    pub(crate) impact: Option<String>,
    /// New severity (recorded as a severity change).
    pub(crate) severity: Option<SeverityParam>,
    /// The full new list of affected services (replaces the old list).
    pub(crate) services: Option<Vec<String>>,
    /// The full new set of labels (replaces the old set).
    pub(crate) labels: Option<BTreeMap<String, String>>,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
}

#[tool_router(router = incident_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Declare a new incident (it starts in `triage`) and open its timeline. Use when an alert
    /// or a person reports customer impact or risk. Pass `idempotency_key` if you might retry,
    /// and `dedup_key` for alert signals so repeats fold into the open incident.
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
            severity: Some(p.severity.into()),
            summary: p.summary,
            impact: p.impact,
            services: p.services.unwrap_or_default(),
            labels: p.labels.unwrap_or_default(),
            commander: p.commander,
            impact_started_at: p.impact_started_at,
            detected_at: p.detected_at,
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

    /// Get an incident's brief: all fields, version, current roles, the last 20 timeline
    /// entries and the durations so far (time to acknowledge, mitigate, resolve).
    #[tool(annotations(title = "Get incident", read_only_hint = true, open_world_hint = false))]
    async fn get_incident(
        &self,
        Parameters(p): Parameters<GetIncidentParams>,
    ) -> Result<Json<BriefView>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let brief = self.app.incident_brief(reference).await?;
        Ok(Json(BriefView::from(&brief)))
    }

    /// List incidents as compact rows, newest first, filtered by status, severity, service,
    /// declaration time or full text. Pages with `next_cursor`; every answer carries the
    /// server's `now`.
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
            statuses: p
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            severities: p
                .severity
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            service: p.service,
            text: p.text,
            since: p.since,
            until: p.until,
            limit: p.limit,
            cursor: p.cursor,
        };
        let page = self.app.list_incidents(request).await?;
        Ok(Json(IncidentListView::from(&page)))
    }

    /// Change an incident's title, summary, impact, severity, services or labels. Each change
    /// is recorded on the timeline (severity changes as `severity_change`). Use `change_status`
    /// for the lifecycle.
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
            severity: p.severity.map(Into::into),
            services: p.services,
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
