//! End-to-end tests: a real rmcp client drives the real Firebreak server on a real PostgreSQL.
//! One integration binary, so there is one link step.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod access;
mod action_items;
mod audit;
mod audit_calls;
mod connections;
mod deadlines;
mod deployment;
mod failover;
mod forgiving;
mod hostile_text;
mod http_wire;
mod incidents;
mod lifecycle;
mod listing;
mod live_updates;
mod metrics;
mod notifications;
mod oauth;
mod pooler;
mod postmortems;
mod prompts;
mod races;
mod read_replica;
mod remote_runbooks;
mod replicas;
mod resources;
mod retries;
mod runbooks;
mod scripts;
mod signals;
mod similar;
mod skills;
mod status_page;
mod status_updates;
mod support;
mod tokens;
mod tool_list;
mod transports;
mod whole_incident;
