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
use crate::mcp::wire::{Word, Words};
use crate::mcp::writes::{WriteAnswer, rendered};

/// Parameters of `add_action_item`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddActionItemParams {
    /// The incident it follows up (`INC-42`, `42` or UUID).
    pub(crate) incident: String,
    /// What to do: a verb, specific and bounded (e.g. "Alert when the DB pool is above 90%").
    pub(crate) title: String,
    /// Who does it.
    pub(crate) owner: Option<String>,
    /// Due date, YYYY-MM-DD.
    pub(crate) due_on: Option<String>,
    /// P1 do now, P2 weeks, P3 this quarter, P4 nice to have.
    pub(crate) priority: Word<Priority>,
    /// What it improves.
    pub(crate) kind: Word<ActionItemKind>,
    /// Its ticket (http or https URL).
    pub(crate) external_url: Option<String>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `update_action_item`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateActionItemParams {
    /// `AI-7`, `7` or UUID.
    pub(crate) action_item: String,
    /// Version you read; `conflict` if it changed since.
    pub(crate) expected_version: Option<i64>,
    // New title.
    pub(crate) title: Option<String>,
    /// New owner ("" clears it).
    pub(crate) owner: Option<String>,
    /// New due date, YYYY-MM-DD ("" clears it).
    pub(crate) due_on: Option<String>,
    // New priority.
    pub(crate) priority: Option<Word<Priority>>,
    /// New status (say why a `wont_do` with `add_timeline_entry`).
    pub(crate) status: Option<Word<ActionItemStatus>>,
    /// New ticket link ("" clears it).
    pub(crate) external_url: Option<String>,
    /// Retry key (24 h).
    pub(crate) idempotency_key: Option<String>,
}

/// Parameters of `list_action_items`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListActionItemsParams {
    /// Only items of this incident.
    pub(crate) incident: Option<String>,
    /// Only items of this owner (any case).
    pub(crate) owner: Option<String>,
    /// Only these statuses (one or a list).
    pub(crate) status: Option<Words<Word<ActionItemStatus>>>,
    /// true: only overdue items (open or in progress, due before today UTC); false: the others.
    pub(crate) overdue: Option<bool>,
    /// Page size, 1–100 (default 20).
    pub(crate) limit: Option<i64>,
    /// `next_cursor` of the previous page (same filters).
    pub(crate) cursor: Option<String>,
}

#[tool_router(router = action_item_tools, vis = "pub(crate)")]
impl FirebreakServer {
    /// Add an action item (`AI-<n>`, starts `open`): follow-up work that prevents, detects or
    /// mitigates a recurrence, or improves the process.
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
            priority: p.priority.0,
            kind: p.kind.0,
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

    /// Edit or complete an action item; recorded on its incident's timeline.
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
            priority: p.priority.map(|w| w.0),
            status: p.status.map(|w| w.0),
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

    /// Action items as compact rows, soonest due first, filtered; pages with `next_cursor`.
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
            statuses: p.status.map(Words::values).unwrap_or_default(),
            overdue: p.overdue,
            limit: p.limit,
            cursor: p.cursor,
        };
        let page = self.app.list_action_items(query).await?;
        Ok(Json(ActionItemListView::from(&page)))
    }
}
