//! TODO(issue 3): runbook tools.

use rmcp::tool_router;

use crate::mcp::FirebreakServer;

#[tool_router(router = runbook_tools, vis = "pub(crate)", allow_empty)]
impl FirebreakServer {}
