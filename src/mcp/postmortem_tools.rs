//! TODO(issue 3): postmortem tools.

use rmcp::tool_router;

use crate::mcp::FirebreakServer;

#[tool_router(router = postmortem_tools, vis = "pub(crate)", allow_empty)]
impl FirebreakServer {}
