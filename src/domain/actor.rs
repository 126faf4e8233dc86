//! Who did something: recorded on every write.

use std::fmt;

/// The way a write reached Firebreak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// MCP over stdio (a local agent).
    Mcp,
    /// MCP over Streamable HTTP.
    Http,
    /// The command line.
    Cli,
    /// An inbound webhook.
    Webhook,
}

impl Channel {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Mcp => "mcp",
            Channel::Http => "http",
            Channel::Cli => "cli",
            Channel::Webhook => "webhook",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Channel> {
        [Channel::Mcp, Channel::Http, Channel::Cli, Channel::Webhook]
            .into_iter()
            .find(|c| c.as_str() == s)
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
