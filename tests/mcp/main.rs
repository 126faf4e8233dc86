//! End-to-end tests: a real rmcp client drives the real Firebreak server on a real PostgreSQL.
//! One integration binary, so there is one link step.

mod bad_input;
mod incidents;
mod lifecycle;
mod races;
mod tool_list;
mod support;
