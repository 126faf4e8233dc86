//! Tools to find and read runbooks (local, or remote from allow-listed hosts) and to record
//! the steps taken on an incident.

mod views;

use views::{FoundRunbooksView, RunbookView, StepRecordedView};

use chrono::{DateTime, Utc};
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::runbooks::{FindRequest, StepReport, slug};
use crate::domain::runbook::StepOutcome;
use crate::domain::{IncidentRef, ValidationError};
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `find_runbooks`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FindRunbooksParams {
    /// Words to look for in titles, alert names, services, tags and bodies (any word matches;
    /// more matching words rank higher), up to 500 characters.
    pub(crate) text: Option<String>,
    /// A service slug (e.g. `checkout-api`): runbooks listing it match.
    pub(crate) service: Option<String>,
    /// An alert name (e.g. `HighErrorRate`, any case): runbooks answering it match.
    pub(crate) alert: Option<String>,
    /// An incident (`INC-42`, `42` or its UUID): its services, its `alertname` / `service`
    /// labels and the words of its title are looked for too.
    pub(crate) incident: Option<String>,
    /// Most matches, 1–50 (default 10).
    pub(crate) limit: Option<i64>,
}

/// Parameters of `get_runbook`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetRunbookParams {
    /// A local runbook's slug (e.g. `high-error-rate`), as `find_runbooks` lists it. Give
    /// either `slug` or `url`.
    pub(crate) slug: Option<String>,
    /// With `slug`: an older version to read (e.g. the one an incident's steps cite).
    /// Default: the newest.
    pub(crate) version: Option<i64>,
    /// A remote runbook's URL (e.g. an alert's `runbook_url`), fetched only from hosts on the
    /// server's allow-list and cached. Give either `slug` or `url`.
    pub(crate) url: Option<String>,
}

/// How a runbook step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum OutcomeParam {
    // It ran and did what it should.
    Succeeded,
    // It ran and did not work.
    Failed,
    // It was not run.
    Skipped,
}

impl From<OutcomeParam> for StepOutcome {
    fn from(value: OutcomeParam) -> Self {
        match value {
            OutcomeParam::Succeeded => StepOutcome::Succeeded,
            OutcomeParam::Failed => StepOutcome::Failed,
            OutcomeParam::Skipped => StepOutcome::Skipped,
        }
    }
}

/// Parameters of `record_runbook_step`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordRunbookStepParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// The runbook's slug (e.g. `high-error-rate`).
    pub(crate) runbook: String,
    /// The step number, as `get_runbook` lists it.
    pub(crate) step: i64,
    /// `succeeded`, `failed` or `skipped`.
    pub(crate) outcome: OutcomeParam,
    /// What the step printed or showed (up to 64 KiB); keep the relevant part.
    pub(crate) output: Option<String>,
    /// The runbook version you followed (from `get_runbook`); the step is checked against it.
    /// Default: the newest.
    pub(crate) version: Option<i64>,
    /// When the step was taken (RFC 3339), if earlier than now.
    pub(crate) occurred_at: Option<DateTime<Utc>>,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
}

#[tool_router(router = runbook_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Find runbooks by text, service, alert name or incident, best match first. Each match
    /// says why it matched (alert, service, text rank). With `incident`, the incident's
    /// services, `alertname` label and title are used. Archived runbooks are not found; with
    /// no criteria, every runbook is listed.
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

    /// Read a runbook: its markdown, sections, numbered steps (each `risky` or `diagnostic`),
    /// version and content hash. Give `slug` for a local runbook, or `url` for a remote one
    /// (an alert's `runbook_url`; allow-listed hosts only, cached, and marked `stale` when the
    /// host could not be reached). Ask a human before running any risky step.
    #[tool(annotations(title = "Get runbook", read_only_hint = true, open_world_hint = true))]
    async fn get_runbook(
        &self,
        Parameters(p): Parameters<GetRunbookParams>,
    ) -> Result<Json<RunbookView>, ToolError> {
        match (p.slug, p.url) {
            (Some(raw), None) => {
                let slug = slug("slug", &raw)?;
                let runbook = self.app.runbook_version(&slug, p.version).await?;
                Ok(Json(RunbookView::local(&runbook)))
            }
            (None, Some(url)) => {
                if p.version.is_some() {
                    return Err(ValidationError::new(
                        "version",
                        "applies to local runbooks only: pass it with `slug`, not with `url`",
                    )
                    .into());
                }
                let read = self.app.remote_runbook(&url).await?;
                Ok(Json(RunbookView::remote(&read)))
            }
            (Some(_), Some(_)) => Err(ValidationError::new(
                "slug",
                "and `url` were both given; pass exactly one: `slug` for a local runbook or `url` for a remote one",
            )
            .into()),
            (None, None) => Err(ValidationError::new(
                "slug",
                "or `url` is required: pass `slug` for a local runbook (see find_runbooks) or `url` for a remote one",
            )
            .into()),
        }
    }

    /// Record a runbook step taken on an incident, with its outcome and output. Appends a
    /// `runbook_step` entry to the timeline (the brief lists the steps taken); the step must
    /// exist in the runbook version followed.
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
            outcome: p.outcome.into(),
            output: p.output,
            occurred_at: p.occurred_at,
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
