//! Tools to find and read runbooks (local, or remote from allow-listed hosts) and to record
//! the steps taken on an incident.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::runbooks::{FindRequest, RunbookSource, StepReport};
use crate::domain::IncidentRef;
use crate::domain::runbook::StepOutcome;
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{FoundRunbooksView, RunbookView, StepRecordedView};
use crate::mcp::wire::{When, Word};
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `find_runbooks`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FindRunbooksParams {
    /// Words to look for (any matches; more rank higher).
    pub(crate) text: Option<String>,
    /// A service slug.
    pub(crate) service: Option<String>,
    /// An alert name (any case).
    pub(crate) alert: Option<String>,
    /// An incident: its services, `alertname` / `service` labels and title words are used.
    pub(crate) incident: Option<String>,
    /// Most matches, 1–50 (default 10).
    pub(crate) limit: Option<i64>,
}

/// Parameters of `get_runbook`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetRunbookParams {
    /// A local runbook's slug (or give `url`).
    pub(crate) slug: Option<String>,
    /// With `slug`: an older version (e.g. one an incident's steps cite). Default: newest.
    pub(crate) version: Option<i64>,
    /// A remote runbook (e.g. an alert's `runbook_url`): allow-listed hosts only, cached.
    pub(crate) url: Option<String>,
}

/// Parameters of `record_runbook_step`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordRunbookStepParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// The runbook's slug.
    pub(crate) runbook: String,
    /// The step number, as `get_runbook` lists it.
    pub(crate) step: i64,
    /// How it went.
    pub(crate) outcome: Word<StepOutcome>,
    /// What it printed or showed (the relevant part).
    pub(crate) output: Option<String>,
    /// The runbook version followed (default: newest).
    pub(crate) version: Option<i64>,
    /// When it was taken, if earlier (RFC 3339 or e.g. -5m).
    pub(crate) occurred_at: Option<When>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

#[tool_router(router = runbook_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Find runbooks by text, service, alert or incident, best first, each with why it matched;
    /// no criteria lists them all.
    #[tool(annotations(
        title = "Find runbooks",
        read_only_hint = true,
        open_world_hint = false
    ))]
    async fn find_runbooks(
        &self,
        Parameters(p): Parameters<FindRunbooksParams>,
    ) -> Result<Json<FoundRunbooksView>, ToolError> {
        let request = FindRequest {
            incident: p
                .incident
                .map(|raw| IncidentRef::parse("incident", &raw))
                .transpose()?,
            text: p.text,
            service: p.service,
            alert: p.alert,
            limit: p.limit,
        };
        let found = self.app.find_runbooks(request).await?;
        Ok(Json(FoundRunbooksView::from(&found)))
    }

    /// A runbook's markdown, sections and numbered steps (`risky` or `diagnostic`), by `slug` or
    /// `url`. Ask a human before any risky step.
    #[tool(annotations(title = "Get runbook", read_only_hint = true, open_world_hint = true))]
    async fn get_runbook(
        &self,
        Parameters(p): Parameters<GetRunbookParams>,
    ) -> Result<Json<RunbookView>, ToolError> {
        let source = RunbookSource::parse(p.slug, p.version, p.url)?;
        let read = self.app.read_runbook(source).await?;
        Ok(Json(RunbookView::from(&read)))
    }

    /// Record a runbook step taken on an incident, with its outcome and output (a
    /// `runbook_step` timeline entry).
    #[tool(annotations(
        title = "Record runbook step",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn record_runbook_step(
        &self,
        Parameters(p): Parameters<RecordRunbookStepParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<StepRecordedView>>, ToolError> {
        let report = StepReport {
            incident: IncidentRef::parse("incident", &p.incident)?,
            runbook: p.runbook,
            version: p.version,
            step: p.step,
            outcome: p.outcome.0,
            output: p.output,
            occurred_at: When::resolve(p.occurred_at),
        };
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "record_runbook_step",
            p.idempotency_key,
            rendered::<_, StepRecordedView>,
        )?;
        let recorded = self.app.record_runbook_step(&write, report).await?;
        Ok(Json(WriteAnswer::new(recorded)))
    }
}
