//! The real senders against the real endpoints: a Prometheus Alertmanager delivering its
//! webhook (grouping, repeats, resolves), PagerDuty's official Python client, GitHub's own
//! example payloads signed by Octokit, and the Wazuh forwarder script of `contrib/`.
//!
//! The clients are installed by `.ci/signal-clients.sh`, which exports where they are
//! (`ALERTMANAGER_BIN`, `PAGERDUTY_PYTHON`, `OCTOKIT_EXAMPLES`, `OCTOKIT_METHODS`); without
//! those variables the tests look where the script puts them. A missing client fails the
//! test, naming the script: these tests are never skipped.
//!
//! One module per client with its test; [`support`] finds the clients, runs them and reads
//! what their deliveries wrote.

mod alertmanager;
mod github;
mod pagerduty;
mod support;
mod wazuh;
