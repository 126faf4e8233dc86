//! Tools to add, edit and list action items: the follow-up work incidents leave behind.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::action_items::ActionItemQuery;
use crate::domain::IncidentRef;
use crate::domain::action_item::{
    ActionItemChanges, ActionItemKind, ActionItemRef, ActionItemRequest, ActionItemStatus, Priority,
};
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;
use crate::mcp::views::{ActionItemListView, ActionItemView};
use crate::mcp::writes::{WriteAnswer, rendered};

/// Priority: P1 is the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[schemars(inline)]
pub(crate) enum PriorityParam {
    // Do now: the incident can recur any day until it is done.
    P1,
    // Within weeks.
    P2,
    // This quarter.
    P3,
    // Nice to have.
    P4,
}

impl From<PriorityParam> for Priority {
    fn from(value: PriorityParam) -> Self {
        match value {
            PriorityParam::P1 => Priority::P1,
            PriorityParam::P2 => Priority::P2,
            PriorityParam::P3 => Priority::P3,
            PriorityParam::P4 => Priority::P4,
        }
    }
}

/// What an action item improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum KindParam {
    // Stop it (or its class) from happening again.
    Prevent,
    // Notice it sooner.
    Detect,
    // Limit or shorten the impact next time.
    Mitigate,
    // Improve the response itself.
    Process,
}

impl From<KindParam> for ActionItemKind {
    fn from(value: KindParam) -> Self {
        match value {
            KindParam::Prevent => ActionItemKind::Prevent,
            KindParam::Detect => ActionItemKind::Detect,
            KindParam::Mitigate => ActionItemKind::Mitigate,
            KindParam::Process => ActionItemKind::Process,
        }
    }
}

/// Where an action item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub(crate) enum ItemStatusParam {
    // Not started.
    Open,
    // Someone is on it.
    InProgress,
    // Finished.
    Done,
    // Decided against, on purpose.
    WontDo,
}

impl From<ItemStatusParam> for ActionItemStatus {
    fn from(value: ItemStatusParam) -> Self {
        match value {
            ItemStatusParam::Open => ActionItemStatus::Open,
            ItemStatusParam::InProgress => ActionItemStatus::InProgress,
            ItemStatusParam::Done => ActionItemStatus::Done,
            ItemStatusParam::WontDo => ActionItemStatus::WontDo,
        }
    }
}

/// Parameters of `add_action_item`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddActionItemParams {
    /// The incident it follows up: `INC-42`, `42` or its UUID.
    pub(crate) incident: String,
    /// What to do, starting with a verb, specific and bounded, 1–200 characters (e.g. "Alert
    /// when the checkout DB pool is above 90% for 5 minutes").
    pub(crate) title: String,
    /// Who does it (a person's handle or a team).
    pub(crate) owner: Option<String>,
    /// When it is due, YYYY-MM-DD (today or later).
    pub(crate) due_on: Option<String>,
    /// P1 (do now) to P4 (nice to have).
    pub(crate) priority: PriorityParam,
    /// prevent, detect, mitigate or process.
    pub(crate) kind: KindParam,
    /// The ticket in an external tracker (http or https URL).
    pub(crate) external_url: Option<String>,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `update_action_item`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateActionItemParams {
    /// The action item: `AI-7`, `7` or its UUID.
    pub(crate) action_item: String,
    /// The version you last read; fails with `conflict` if someone changed it since.
    pub(crate) expected_version: Option<i64>,
    /// New title, 1–200 characters.
    pub(crate) title: Option<String>,
    /// New owner; an empty string clears it.
    pub(crate) owner: Option<String>,
    /// New due date, YYYY-MM-DD; an empty string clears it.
    pub(crate) due_on: Option<String>,
    /// New priority.
    pub(crate) priority: Option<PriorityParam>,
    /// New status: `open`, `in_progress`, `done` or `wont_do` (say why with `add_timeline_entry`).
    pub(crate) status: Option<ItemStatusParam>,
    /// New tracker link; an empty string clears it.
    pub(crate) external_url: Option<String>,
    /// Makes a retry safe: the same key and arguments return the first answer without writing
    /// again (for 24 h); the key with other arguments is a conflict.
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `list_action_items`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListActionItemsParams {
    /// Only items of this incident (`INC-42`, `42` or UUID).
    pub(crate) incident: Option<String>,
    /// Only items of this owner (case-insensitive).
    pub(crate) owner: Option<String>,
    /// Only these statuses (any of them). Default: all.
    pub(crate) status: Option<Vec<ItemStatusParam>>,
    /// true: only overdue items (open or in progress, due before today, UTC); false: only items
    /// that are not overdue.
    pub(crate) overdue: Option<bool>,
    /// Page size, 1–100 (default 20).
    pub(crate) limit: Option<i64>,
    /// `next_cursor` from the previous page, with the same filters.
    pub(crate) cursor: Option<String>,
}

#[tool_router(router = action_item_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Add an action item to an incident: follow-up work that prevents a recurrence, detects
    /// it sooner, mitigates it faster, or improves the process. It is referenced as `AI-<n>`,
    /// starts `open`, is recorded on the incident's timeline, and appears in the incident brief
    /// and the postmortem.
    #[tool(annotations(
        title = "Add action item",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn add_action_item(
        &self,
        Parameters(p): Parameters<AddActionItemParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<ActionItemView>>, ToolError> {
        let reference = IncidentRef::parse("incident", &p.incident)?;
        let request = ActionItemRequest {
            title: p.title,
            owner: p.owner,
            due_on: p.due_on,
            priority: p.priority.into(),
            kind: p.kind.into(),
            external_url: p.external_url,
        };
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "add_action_item",
            p.idempotency_key,
            rendered::<_, ActionItemView>,
        )?;
        let item = self.app.add_action_item(&write, reference, request).await?;
        Ok(Json(WriteAnswer::new(item)))
    }

    /// Change an action item's title, owner, due date, priority, status or tracker link. The
    /// changes are recorded on its incident's timeline.
    #[tool(annotations(
        title = "Update action item",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn update_action_item(
        &self,
        Parameters(p): Parameters<UpdateActionItemParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<WriteAnswer<ActionItemView>>, ToolError> {
        let reference = ActionItemRef::parse("action_item", &p.action_item)?;
        let changes = ActionItemChanges {
            title: p.title,
            owner: p.owner,
            due_on: p.due_on,
            priority: p.priority.map(Into::into),
            status: p.status.map(Into::into),
            external_url: p.external_url,
        };
        let actor = self.actor(&context);
        let write = self.write(
            &actor,
            &context,
            "update_action_item",
            p.idempotency_key,
            rendered::<_, ActionItemView>,
        )?;
        let item = self
            .app
            .update_action_item(&write, reference, changes, p.expected_version)
            .await?;
        Ok(Json(WriteAnswer::new(item)))
    }

    /// List action items as compact rows, soonest due first (undated last), filtered by
    /// incident, owner, status or overdue. Pages with `next_cursor`; every answer carries the
    /// server's `now`.
    #[tool(annotations(
        title = "List action items",
        read_only_hint = true,
        open_world_hint = false
    ))]
    async fn list_action_items(
        &self,
        Parameters(p): Parameters<ListActionItemsParams>,
    ) -> Result<Json<ActionItemListView>, ToolError> {
        let incident = p
            .incident
            .as_deref()
            .map(|raw| IncidentRef::parse("incident", raw))
            .transpose()?;
        let query = ActionItemQuery {
            incident,
            owner: p.owner,
            statuses: p
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            overdue: p.overdue,
            limit: p.limit,
            cursor: p.cursor,
        };
        let page = self.app.list_action_items(query).await?;
        Ok(Json(ActionItemListView::from(&page)))
    }
}
