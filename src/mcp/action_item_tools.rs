//! TODO(issue 3): action item tools.

use rmcp::tool_router;

use crate::mcp::FirebreakServer;

#[tool_router(router = action_item_tools, vis = "pub(crate)", allow_empty)]
impl FirebreakServer {}
