//! Signals in: the operator's sources and routes (a YAML file), the credentials each source is
//! checked with, and the payload formats translated to alert and change events (Alertmanager,
//! Grafana, PagerDuty Events v2, GitHub, and Firebreak's own). May use `domain` and `config`;
//! knows nothing about the store, use cases or transports.

pub mod config;
pub mod formats;
pub mod verify;

pub use config::{Alerting, Source, SourceKind};
pub use formats::{Parsed, parse};
