//! Who did something: recorded on every write.

use crate::domain::vocabulary::vocabulary;
use std::fmt;

vocabulary! {
    /// The way a write reached Firebreak.
    pub enum Channel ("channel") {
        /// MCP over stdio (a local agent).
        Mcp = "mcp",
        /// MCP over Streamable HTTP.
        Http = "http",
        /// The command line.
        Cli = "cli",
        /// An inbound webhook.
        Webhook = "webhook",
    }
}

/// The author of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The authenticated principal: the token's name on HTTP, the configured local user on stdio.
    pub principal: String,
    /// The MCP client's name and version from the handshake, e.g. `claude-code 2.1.0`, if known.
    pub client: Option<String>,
    /// How the write arrived.
    pub channel: Channel,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} via {}", self.principal, self.channel.as_str())?;
        if let Some(client) = &self.client {
            write!(f, " ({client})")?;
        }
        Ok(())
    }
}
