//! Explains arguments that do not fit a tool's input schema. rmcp reports serde's message,
//! which for a wrong type does not say where; deserializing again with a path tracker names
//! the field (`limit`, `labels.region`), so the agent knows what to fix.

use rmcp::model::{CallToolResult, JsonObject};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::mcp::action_item_tools::{
    AddActionItemParams, ListActionItemsParams, UpdateActionItemParams,
};
use crate::mcp::incident_tools::{
    DeclareParams, GetIncidentParams, ListIncidentsParams, UpdateIncidentParams,
};
use crate::mcp::lifecycle_tools::{AssignRoleParams, ChangeStatusParams, ResolveParams};
use crate::mcp::metrics_tools::IncidentMetricsParams;
use crate::mcp::postmortem_tools::{
    DraftPostmortemParams, GetPostmortemParams, UpdatePostmortemParams,
};
use crate::mcp::runbook_tools::{FindRunbooksParams, GetRunbookParams, RecordRunbookStepParams};
use crate::mcp::signal_tools::{LinkChangeParams, ListAlertsParams, ListChangesParams};
use crate::mcp::similar_tools::FindSimilarParams;
use crate::mcp::status_update_tools::PostStatusUpdateParams;
use crate::mcp::timeline_tools::{AddEntryParams, GetTimelineParams};
use crate::mcp::tool_error::error_result;

/// Rewrites rmcp's "failed to deserialize parameters" result into an `invalid_argument` error
/// that names the field. Results that are already ours (structured) pass through.
pub(super) fn explain(
    tool: &str,
    arguments: &JsonObject,
    result: CallToolResult,
) -> CallToolResult {
    if result.structured_content.is_some() {
        return result;
    }
    let (field, reason) = locate(tool, arguments).unwrap_or_else(|| (None, rmcp_reason(&result)));
    let located = match &field {
        Some(field) => format!("`{field}`: {reason}"),
        None => reason,
    };
    let message = format!(
        "the arguments of {tool} do not match its input schema: {located}. Check the field names, types and allowed values in the tool's inputSchema"
    );
    let details = field.map_or_else(|| json!({}), |field| json!({ "field": field }));
    error_result("invalid_argument", &message, details)
}

fn rmcp_reason(result: &CallToolResult) -> String {
    let text = result
        .content
        .iter()
        .find_map(|block| block.as_text().map(|text| text.text.clone()))
        .unwrap_or_default();
    text.strip_prefix("failed to deserialize parameters: ")
        .unwrap_or(&text)
        .to_owned()
}

/// Deserializes the arguments again into the tool's parameters, tracking the path.
fn locate(tool: &str, arguments: &JsonObject) -> Option<(Option<String>, String)> {
    match tool {
        "declare_incident" => path_error::<DeclareParams>(arguments),
        "get_incident" => path_error::<GetIncidentParams>(arguments),
        "list_incidents" => path_error::<ListIncidentsParams>(arguments),
        "update_incident" => path_error::<UpdateIncidentParams>(arguments),
        "change_status" => path_error::<ChangeStatusParams>(arguments),
        "resolve_incident" => path_error::<ResolveParams>(arguments),
        "assign_role" => path_error::<AssignRoleParams>(arguments),
        "add_timeline_entry" => path_error::<AddEntryParams>(arguments),
        "get_timeline" => path_error::<GetTimelineParams>(arguments),
        "find_runbooks" => path_error::<FindRunbooksParams>(arguments),
        "get_runbook" => path_error::<GetRunbookParams>(arguments),
        "record_runbook_step" => path_error::<RecordRunbookStepParams>(arguments),
        "draft_postmortem" => path_error::<DraftPostmortemParams>(arguments),
        "get_postmortem" => path_error::<GetPostmortemParams>(arguments),
        "update_postmortem" => path_error::<UpdatePostmortemParams>(arguments),
        "add_action_item" => path_error::<AddActionItemParams>(arguments),
        "update_action_item" => path_error::<UpdateActionItemParams>(arguments),
        "list_action_items" => path_error::<ListActionItemsParams>(arguments),
        "list_alerts" => path_error::<ListAlertsParams>(arguments),
        "list_changes" => path_error::<ListChangesParams>(arguments),
        "link_change" => path_error::<LinkChangeParams>(arguments),
        "incident_metrics" => path_error::<IncidentMetricsParams>(arguments),
        "find_similar_incidents" => path_error::<FindSimilarParams>(arguments),
        "post_status_update" => path_error::<PostStatusUpdateParams>(arguments),
        _ => None,
    }
}

fn path_error<T: DeserializeOwned>(arguments: &JsonObject) -> Option<(Option<String>, String)> {
    let value = Value::Object(arguments.clone());
    let err = serde_path_to_error::deserialize::<_, T>(value).err()?;
    let path = err.path().to_string();
    // A missing or unknown field is reported at the root; serde's message names it already.
    let field = (path != ".").then_some(path);
    Some((field, err.into_inner().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::FirebreakServer;

    /// A tool missing from [`locate`] would lose the field name in its argument errors.
    #[test]
    fn every_routed_tool_has_an_arm_that_locates_bad_arguments() {
        let arguments: JsonObject = [("no_such_field".to_owned(), json!(1))]
            .into_iter()
            .collect();
        for tool in FirebreakServer::tools().list_all() {
            assert!(
                locate(&tool.name, &arguments).is_some(),
                "{} has no arm in arguments::locate",
                tool.name
            );
        }
    }
}
