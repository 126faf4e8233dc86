//! Outbound HTTP: fetching remote runbooks from allow-listed hosts. May use `domain`
//! (and reqwest); knows nothing about the store or MCP.

pub mod notify;
pub mod runbook_fetch;
