//! One tool call from a script (`firebreak tool NAME '{json}'`), through the same server and
//! router an MCP client reaches: the server is served over an in-memory pipe and this side
//! speaks JSON-RPC to it, handshake included, so a scripted call is checked, deadlined,
//! explained and recorded exactly like any other (with channel `cli`).

use rmcp::ServiceExt;
use rmcp::model::ProtocolVersion;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{FirebreakServer, Transport, stdio};
use crate::app::App;
use crate::domain::Grant;

/// Room in the in-memory pipe, each way; answers larger than this simply take several writes.
const PIPE_BYTES: usize = 256 * 1024;

/// What a tool answered.
#[derive(Debug)]
pub struct ToolAnswer {
    /// The structured content (the answer, or `{"error": {...}}` for a tool error).
    pub structured: Option<Value>,
    /// The text content, joined: for a tool error, `code: message`.
    pub text: String,
    /// Whether the tool refused or failed (`isError`).
    pub is_error: bool,
}

/// Why a scripted call got no tool answer at all.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The server answered with a JSON-RPC error (an unknown tool, an internal error).
    #[error("{0}")]
    Protocol(String),
    /// The in-memory conversation failed (a bug: both ends are in this process).
    #[error("the in-process MCP session failed: {0}")]
    Session(String),
}

/// Names and one-line descriptions of every tool, in name order.
pub fn tool_summaries() -> Vec<(String, String)> {
    let mut tools: Vec<(String, String)> = FirebreakServer::tools()
        .list_all()
        .into_iter()
        .map(|tool| {
            let description = tool.description.as_deref().unwrap_or_default();
            let words: Vec<&str> = first_sentence(description).split_whitespace().collect();
            (tool.name.to_string(), words.join(" "))
        })
        .collect();
    tools.sort();
    tools
}

/// Up to the first full stop that ends a sentence.
fn first_sentence(text: &str) -> &str {
    text.find(". ")
        .map_or(text.trim_end_matches('.'), |end| &text[..end])
}

/// Calls `name` with `arguments` under `grant`, in this process.
pub async fn call_tool(
    app: App,
    grant: Grant,
    name: &str,
    arguments: Map<String, Value>,
) -> Result<ToolAnswer, ScriptError> {
    let (client_end, server_end) = tokio::io::duplex(PIPE_BYTES);
    let (server_read, server_write) = tokio::io::split(server_end);
    let server = FirebreakServer::new(app, Transport::Cli { grant });
    let serving = tokio::spawn(async move {
        let transport = stdio::LineTransport::new(server_read, server_write);
        // A failed handshake shows up on the client side as a closed session.
        if let Ok(running) = server.serve(transport).await {
            let _ = running.waiting().await;
        }
    });
    let (client_read, client_write) = tokio::io::split(client_end);
    let mut session = Session {
        write: client_write,
        lines: BufReader::new(client_read).lines(),
    };
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": ProtocolVersion::LATEST,
            "capabilities": {},
            "clientInfo": { "name": "firebreak-cli", "version": env!("CARGO_PKG_VERSION") },
        },
    });
    session.request(1, initialize).await?;
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    session.send(&initialized).await?;
    let call = json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": name, "arguments": arguments },
    });
    let answer = session.request(2, call).await?;
    // Closing our end ends the session; the server task then finishes.
    drop(session);
    let _ = serving.await;
    tool_answer(answer)
}

/// The client side of the in-memory conversation.
struct Session<R, W> {
    write: W,
    lines: tokio::io::Lines<BufReader<R>>,
}

impl<R: tokio::io::AsyncRead + Unpin, W: tokio::io::AsyncWrite + Unpin> Session<R, W> {
    /// Writes one message as a line.
    async fn send(&mut self, message: &Value) -> Result<(), ScriptError> {
        let mut line = message.to_string();
        line.push('\n');
        self.write.write_all(line.as_bytes()).await?;
        Ok(())
    }

    /// Sends a request and waits for the response with its id.
    async fn request(&mut self, id: i64, message: Value) -> Result<Value, ScriptError> {
        self.send(&message).await?;
        while let Some(line) = self.lines.next_line().await? {
            let answer: Value =
                serde_json::from_str(&line).map_err(|err| ScriptError::Session(err.to_string()))?;
            if answer.get("id") == Some(&json!(id)) {
                return Ok(answer);
            }
        }
        Err(ScriptError::Session("the server closed the session".into()))
    }
}

impl From<std::io::Error> for ScriptError {
    fn from(err: std::io::Error) -> Self {
        ScriptError::Session(err.to_string())
    }
}

/// The tool answer in a JSON-RPC response, or the protocol error it carries instead.
fn tool_answer(mut response: Value) -> Result<ToolAnswer, ScriptError> {
    if let Some(error) = response.get("error") {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(ScriptError::Protocol(message.to_owned()));
    }
    let mut result = response
        .get_mut("result")
        .map(Value::take)
        .unwrap_or_default();
    let text = result
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(ToolAnswer {
        structured: result.get_mut("structuredContent").map(Value::take),
        text,
        is_error: result.get("isError").and_then(Value::as_bool) == Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_the_first_sentence() {
        assert_eq!(first_sentence("Declare. Then more."), "Declare");
        assert_eq!(first_sentence("One sentence."), "One sentence");
        assert_eq!(first_sentence("v1.2 is fine. Next"), "v1.2 is fine");
    }

    #[test]
    fn every_tool_has_a_summary() {
        let tools = tool_summaries();
        assert!(tools.iter().any(|(name, _)| name == "declare_incident"));
        assert!(tools.iter().all(|(_, summary)| !summary.is_empty()));
    }

    #[test]
    fn a_protocol_error_is_not_a_tool_answer() {
        let response = json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32602, "message": "tool not found"}});
        let err = tool_answer(response).unwrap_err();
        assert_eq!(err.to_string(), "tool not found");
    }
}
