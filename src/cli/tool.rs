//! `firebreak tool NAME '{json}'`: one tool call for scripts, through the MCP server in this
//! process (see [`crate::mcp::script`]).

use std::io::Write;

use super::{Error, connect_with_cluster, local_grant, outbound, settings};
use crate::app::App;
use crate::app::tokens::TokenRegistry;
use crate::config::{DatabaseArgs, ToolArgs};
use crate::domain::Grant;
use crate::mcp::script;

/// `firebreak tool`: one call through the MCP server in this process. The answer (or the
/// structured error) goes to stdout as JSON; a tool error also goes to stderr as `code:
/// message` and makes the command fail.
pub(super) async fn run(database: &DatabaseArgs, args: &ToolArgs) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    if args.list {
        for (name, summary) in script::tool_summaries() {
            // One line each, for grep and column.
            writeln!(stdout, "{name:<24} {summary}")?;
        }
        return Ok(());
    }
    let Some(name) = &args.name else {
        return Err(Error::Config(
            "name the tool to call (--list names them)".into(),
        ));
    };
    let tools = script::tool_summaries();
    if !tools.iter().any(|(known, _)| known == name) {
        let names: Vec<&str> = tools.iter().map(|(known, _)| known.as_str()).collect();
        return Err(Error::Config(format!(
            "there is no tool {name}; the tools are {}",
            names.join(", ")
        )));
    }
    let arguments = tool_arguments(args)?;
    let mut settings = settings(&args.calls, outbound(&args.calls)?.as_ref())?;
    settings.pooling = super::pooler::pooling(database, Some(settings.call_timeout))?;
    let (pool, _cluster) = connect_with_cluster(database, Some(settings.call_timeout)).await?;
    let app = App::new(pool, settings);
    let grant = match &args.token {
        None => local_grant(&args.calls, args.read_only),
        Some(secret) => token_grant(&app, secret.expose())
            .await?
            .limited(args.read_only),
    };
    let answer = script::call_tool(app.clone(), grant, name, arguments).await;
    // The run's audit record, if it was not a write's (committed with it), is written now.
    app.audit_log().flush().await;
    let answer = answer.map_err(|err| Error::Tool(err.to_string()))?;
    if let Some(structured) = &answer.structured {
        let text = serde_json::to_string_pretty(structured).map_err(std::io::Error::other)?;
        writeln!(stdout, "{text}")?;
    } else if !answer.is_error {
        writeln!(stdout, "{}", answer.text)?;
    }
    match answer.is_error {
        true => Err(Error::Tool(answer.text)),
        false => Ok(()),
    }
}

/// The JSON object of arguments: from the command line, a file, or stdin (`-`); `{}` if none.
fn tool_arguments(args: &ToolArgs) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let from_stdin = || -> Result<String, Error> {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        Ok(text)
    };
    let (text, from) = match (&args.arguments, &args.args_file) {
        (Some(dash), None) if dash == "-" => (from_stdin()?, "stdin".to_owned()),
        (Some(text), None) => (text.clone(), "the JSON argument".to_owned()),
        (None, Some(path)) if path.as_os_str() == "-" => (from_stdin()?, "stdin".to_owned()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|err| {
                Error::Config(format!("cannot read --args-file {}: {err}", path.display()))
            })?;
            (text, path.display().to_string())
        }
        _ => return Ok(serde_json::Map::new()),
    };
    match serde_json::from_str(&text) {
        Ok(serde_json::Value::Object(arguments)) => Ok(arguments),
        Ok(_) => Err(Error::Config(format!(
            "{from} must be one JSON object of arguments, e.g. '{{\"incident\": \"INC-1\"}}'"
        ))),
        Err(err) => Err(Error::Config(format!("{from} is not valid JSON: {err}"))),
    }
}

/// The grant of a database token, as the HTTP server would give it.
async fn token_grant(app: &App, secret: &str) -> Result<Grant, Error> {
    let stop = tokio_util::sync::CancellationToken::new();
    let registry = TokenRegistry::start(app, stop.clone()).await?;
    stop.cancel();
    registry
        .grant_for(secret, chrono::Utc::now())
        .ok_or_else(|| {
            Error::Config(
                "FIREBREAK_TOKEN (--token) is not a valid token: unknown, revoked or expired \
             (see `firebreak tokens list --all`)"
                    .into(),
            )
        })
}
