//! `firebreak report`: incident metrics as markdown on stdout. The options become the
//! arguments of the `incident_metrics` tool, called through the MCP server in this process
//! (see [`crate::mcp::script`]), so the report checks its options, counts and rounds exactly
//! as the tool does; its answer is then rendered for people.

use std::io::Write;

use serde_json::{Map, Value, json};

use super::{Error, connect_with_cluster, local_grant, outbound, settings};
use crate::app::App;
use crate::config::{DatabaseArgs, ReportArgs};
use crate::mcp::script;
use crate::mcp::views::MetricsView;

/// `firebreak report`: prints the markdown report, or fails with the tool's `code: message`.
pub(super) async fn run(database: &DatabaseArgs, args: &ReportArgs) -> Result<(), Error> {
    let mut settings = settings(&args.calls, outbound(&args.calls)?.as_ref())?;
    settings.pooling = super::pooler::pooling(database, Some(settings.call_timeout))?;
    let (pool, _cluster) = connect_with_cluster(database, Some(settings.call_timeout)).await?;
    let app = App::new(pool, settings);
    let answer = script::call_tool(
        app.clone(),
        local_grant(&args.calls, true),
        "incident_metrics",
        arguments(args),
    )
    .await;
    // The run's audit record is queued: write it before the process ends.
    app.audit_log().flush().await;
    let answer = answer.map_err(|err| Error::Tool(err.to_string()))?;
    if answer.is_error {
        return Err(Error::Tool(answer.text));
    }
    let view: MetricsView = answer
        .structured
        .ok_or_else(|| "no structured content".to_owned())
        .and_then(|value| serde_json::from_value(value).map_err(|err| err.to_string()))
        .map_err(|reason| Error::Tool(format!("the metrics answer could not be read: {reason}")))?;
    // A person (or a script collecting the report) asked for it: stdout is right here.
    write!(std::io::stdout().lock(), "{}", view.markdown())?;
    Ok(())
}

/// The tool arguments the options stand for.
fn arguments(args: &ReportArgs) -> Map<String, Value> {
    let mut arguments = Map::new();
    let texts = [
        ("from", &args.from),
        ("to", &args.to),
        ("service", &args.service),
        ("group_by", &args.group_by),
    ];
    for (name, value) in texts {
        if let Some(value) = value {
            arguments.insert(name.to_owned(), json!(value));
        }
    }
    if !args.severity.is_empty() {
        arguments.insert("severity".to_owned(), json!(args.severity));
    }
    if args.include_test {
        arguments.insert("include_test".to_owned(), json!(true));
    }
    arguments
}
