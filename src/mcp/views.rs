//! What tools return, one file per area; the output schemas are derived from them. Times are
//! RFC 3339 in UTC. Answers leave out what is not there: a missing field means null, an empty
//! list or empty text, never "unknown".

use schemars::JsonSchema;
use serde::Serialize;

use crate::domain::Actor;

mod action_item;
mod incident;
mod metrics;
mod postmortem;
mod runbook;
pub(crate) mod signal;
mod similar;
mod status_update;
mod timeline;

pub use action_item::{ActionItemListView, ActionItemRowView, ActionItemView};
pub use incident::{
    BriefView, DeclaredView, DurationView, IncidentListView, IncidentRowView, IncidentView,
    RoleView, RolesView, RunbookStepTakenView,
};
pub use metrics::{
    AlertNoiseView, BreakdownView, FiguresView, GroupView, MeasureView, MetricsView, NO_SERVICE,
    OverdueItemView, OverdueView, OwedView, ServiceCountView,
};
pub use postmortem::{DraftedView, PostmortemView, SectionView, UpdatedView};
pub(crate) use runbook::{FoundRunbooksView, RunbookView, StepRecordedView};
pub use signal::{AlertListView, AlertRowView, ChangeListView, ChangeView, LinkedChangeView};
pub use similar::{PastPostmortemView, SimilarListView, SimilarView};
pub use status_update::{LastUpdateView, PostedUpdateView, PublishedView, ServiceStateView};
pub use timeline::{EntryAddedView, EntryView, TimelineView};

/// Who made a change.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActorView {
    /// The token name on HTTP, the local user on stdio.
    pub principal: String,
    /// The MCP client (name and version), when it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// `mcp` (stdio), `http`, `cli` or `webhook`.
    pub channel: String,
}

impl From<&Actor> for ActorView {
    fn from(actor: &Actor) -> Self {
        ActorView {
            principal: actor.principal.clone(),
            client: actor.client.clone(),
            channel: actor.channel.as_str().to_owned(),
        }
    }
}
