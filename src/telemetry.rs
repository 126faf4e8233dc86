//! Logging: `tracing` to stderr (stdout carries the protocol on stdio). Imports nothing from
//! the crate.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber. `RUST_LOG` overrides the default filter, which keeps rmcp (and
/// sqlx) at `warn`, so request and response payloads (incident data) and statements stay out of
/// the logs.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
