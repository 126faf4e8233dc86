//! Tools to write to and read an incident's timeline.

use chrono::{DateTime, Utc};
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::ManualEntry;
use crate::domain::{EntryKind, IncidentRef};
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{EntryAddedView, TimelineView};
use crate::mcp::wire::{EntryKindParam, ManualKindParam, VisibilityParam};
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `add_timeline_entry`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddEntryParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// note, finding (observed evidence), hypothesis (suspected cause: state the evidence and
    /// your confidence), decision, or action (something done).
    pub(crate) kind: ManualKindParam,
    /// The text (markdown, 1 byte to 64 KiB).
    pub(crate) body: String,
    /// When it happened (RFC 3339), if earlier than now.
    pub(crate) occurred_at: Option<DateTime<Utc>>,
    /// `internal` (default) or `public` (fit for a status page).
    pub(crate) visibility: Option<VisibilityParam>,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `get_timeline`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetTimelineParams {
    /// The incident: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// Only these kinds of entry. Default: all.
    pub(crate) kinds: Option<Vec<EntryKindParam>>,
    /// Page size, 1–200 (default 50).
    pub(crate) limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub(crate) cursor: Option<String>,
}

#[tool_router(router = timeline_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Add an entry to an incident's timeline: a note, a finding, a hypothesis, a decision or
    /// an action. Entries are append-only and record who wrote them. Back-date with `occurred_at`.
    #[tool(annotations(
        title = "Add timeline entry",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn add_timeline_entry(
        &self,
        Parameters(p): Parameters<AddEntryParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<EntryAddedView>>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "add_timeline_entry",
            p.idempotency_key,
            rendered::<_, EntryAddedView>,
        )?;
        let entry = ManualEntry {
            kind: p.kind.into(),
            body: p.body,
            occurred_at: p.occurred_at,
            visibility: p.visibility.unwrap_or_default().into(),
        };
        let added = self
            .app
            .add_timeline_entry(&write, reference, entry)
            .await?;
        Ok(Json(WriteAnswer::new(added)))
    }

    /// Read an incident's timeline in chronological order, optionally only some kinds of
    /// entry. Pages with `next_cursor`.
    #[tool(annotations(title = "Get timeline", read_only_hint = true, open_world_hint = false))]
    async fn get_timeline(
        &self,
        Parameters(p): Parameters<GetTimelineParams>,
    ) -> Result<Json<TimelineView>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let kinds: Option<Vec<EntryKind>> = p
            .kinds
            .map(|kinds| kinds.into_iter().map(Into::into).collect());
        let page = self
            .app
            .timeline(reference, kinds, p.limit, p.cursor.as_deref())
            .await?;
        Ok(Json(TimelineView::from(&page)))
    }
}
