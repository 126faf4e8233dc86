//! Signals in: alert and change deliveries through the real HTTP endpoints, what they write,
//! what agents then see through MCP, and the real senders (Alertmanager, PagerDuty's client,
//! GitHub's examples, Wazuh's forwarder).

mod alerts;
mod changes;
mod clients;
mod config;
mod hooks;
mod races;
mod tools;
