//! Tools to write to and read an incident's timeline.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::ManualEntry;
use crate::domain::{EntryKind, IncidentRef, Visibility};
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{EntryAddedView, TimelineView};
use crate::mcp::wire::{ManualKind, When, Word, Words};
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `add_timeline_entry`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddEntryParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// finding = observed evidence; hypothesis = suspected cause (give evidence and confidence).
    pub(crate) kind: Word<ManualKind>,
    /// The text (markdown).
    pub(crate) body: String,
    /// When it happened, if earlier (RFC 3339 or e.g. -10m).
    pub(crate) occurred_at: Option<When>,
    /// `public` if fit for a status page (default internal).
    pub(crate) visibility: Option<Word<Visibility>>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `get_timeline`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetTimelineParams {
    /// e.g. `INC-42`.
    pub(crate) incident: String,
    /// Only these kinds (one or a list).
    pub(crate) kinds: Option<Words<Word<EntryKind>>>,
    /// Page size, 1–200 (default 50).
    pub(crate) limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
}

#[tool_router(router = timeline_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Add a note, finding, hypothesis, decision or action to an incident's timeline
    /// (append-only, with its author).
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
            kind: p.kind.0.into(),
            body: p.body,
            occurred_at: When::resolve(p.occurred_at),
            visibility: p.visibility.map(|w| w.0).unwrap_or_default(),
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
        let kinds: Option<Vec<EntryKind>> = p.kinds.map(Words::values);
        let page = self
            .app
            .timeline(reference, kinds, p.limit, p.cursor.as_deref())
            .await?;
        Ok(Json(TimelineView::from(&page)))
    }
}
