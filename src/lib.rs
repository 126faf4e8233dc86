//! Firebreak: an incident-response server that LLM agents drive through MCP.
//!
//! # Layout
//!
//! Layers point down only; nothing imports upward.
//!
//! ```text
//! cli (commands) ──► http (/mcp, /healthz, auth, limits) ──► mcp (tools: parse → app → view)
//!                                                                │
//!                    app (use cases: one transaction per write) ◄┘
//!                     │                         │
//!   store (SQL, only here; the embedded cluster)   integrations (outbound HTTP: remote runbooks)
//!                     │                         │
//!                  domain (pure types and rules: no I/O, no async)
//! ```
//!
//! - [`domain`]: the vocabulary and the rules (lifecycle, validation, durations).
//! - [`store`]: PostgreSQL; every function takes `&mut PgConnection` so `app` owns the transaction.
//! - [`app`]: one use case per method; every write is one transaction, reads that need one
//!   consistent view take one, single-statement reads run on the pool; its error is the only
//!   one `mcp` sees.
//! - [`mcp`]: the MCP server: tools, their schemas and views, errors meeting the wire.
//! - [`integrations`]: outbound HTTP (remote runbooks from allow-listed hosts).
//! - [`ingest`]: signals in: the alerting file (sources, routes), credentials, and the
//!   payload formats (Alertmanager, Grafana, Events v2, GitHub, generic) as domain events.
//! - [`http`]: Streamable HTTP transport with bearer tokens, Host/Origin checks and `/healthz`.
//! - [`config`] and [`telemetry`]: command line and logging; they import nothing from the crate.
//! - [`cli`]: the commands behind `firebreak` (serve, tool, migrate, runbooks sync, db status/stop).

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod ingest;
pub mod integrations;
pub mod mcp;
pub mod store;
pub mod telemetry;
