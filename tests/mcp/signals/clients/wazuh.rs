//! The Wazuh forwarder script of `contrib/wazuh`, run as wazuh-integratord runs it, paging
//! Firebreak through its `wazuh` source.

use std::path::PathBuf;

use serde_json::json;
use tokio::process::Command;

use super::support::{
    Ran, brief, expect_rows, expect_scalar, expect_text, ledger, no_log, picked, repo, run,
    system_program,
};
use crate::support::TestDb;
use crate::support::signals::{Signals, secret};

/// An sshd brute-force alert, rule 5712 at level 10, of agent 003 (`web-01`).
const BRUTE_FORCE: &str = "tests/fixtures/wazuh/alert.json";

/// A file integrity alert, rule 550 at level 7, of agent 005 (`db-01`).
const FILE_INTEGRITY: &str = "tests/fixtures/wazuh/alert-fim.json";

/// `contrib/wazuh/custom-firebreak`, pointed at the `wazuh` hook of a server.
struct Forwarder {
    /// The `python3` it runs with (wazuh-integratord finds it on PATH too).
    python: PathBuf,
    /// `<base>/hooks/generic/wazuh`.
    hook: String,
}

impl Forwarder {
    /// The forwarder run by `python`, delivering to `signals`.
    fn new(python: PathBuf, signals: &Signals) -> Forwarder {
        Forwarder {
            python,
            hook: format!("{}/hooks/generic/wazuh", signals.base),
        }
    }

    /// `custom-firebreak ALERT_FILE API_KEY HOOK_URL`, as wazuh-integratord runs it, with the
    /// fixture `alert` (a path in the repository).
    async fn forward(&self, alert: &str, api_key: &str) -> Ran {
        let mut command = Command::new(&self.python);
        command
            .arg(repo("contrib/wazuh/custom-firebreak"))
            .arg(repo(alert))
            .arg(api_key)
            .arg(&self.hook);
        run(&mut command, "custom-firebreak").await
    }

    /// Forwards `alert` with the source's key, which must succeed; `what` names the attempt.
    async fn forwarded(&self, db: &TestDb, alert: &str, what: &str) {
        let ran = self.forward(alert, secret("WAZUH_SECRET")).await;
        assert!(
            ran.success(),
            "custom-firebreak {alert} ({what}): {ran}\n{}",
            ledger(db).await
        );
    }
}

#[tokio::test]
async fn the_wazuh_forwarder_script_pages_firebreak() {
    let python = system_program("python3", "contrib/wazuh/custom-firebreak");
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let wazuh = Forwarder::new(python, &signals);

    // Rule level 10: the `wazuh` route maps levels of 8 and more to SEV2.
    wazuh.forwarded(&db, BRUTE_FORCE, "the first alert").await;
    expect_rows(&db, "the alert declares", &[("incident", 1)], &no_log).await;
    let incident = brief(&signals, 1).await;
    assert_eq!(
        picked(&incident, &["severity", "title", "services"]),
        json!([
            "SEV2",
            "sshd: brute force trying to get access to the system. Non existent user.",
            ["web-01"]
        ]),
        "{incident:#}"
    );
    expect_text(
        &db,
        "the alert's key, route and group",
        "select concat_ws(' ', alert_key, route, group_key) from alert",
        Some("wazuh:003:5712 wazuh rule_id=5712,agent_id=003"),
        &no_log,
    )
    .await;

    // Wazuh fires the rule again: the same alert, no second incident.
    wazuh.forwarded(&db, BRUTE_FORCE, "again").await;
    let same = "the same alert again, no second incident";
    expect_rows(&db, same, &[("incident", 1), ("alert", 1)], &no_log).await;
    expect_scalar(
        &db,
        "the repeat is deduplicated",
        "select count(*) from alert_decision where decision = 'deduplicated'",
        1,
        &no_log,
    )
    .await;

    // A file integrity alert (level 7, below every threshold: the route's default SEV4) of
    // another rule and agent is another group, so another incident.
    wazuh.forwarded(&db, FILE_INTEGRITY, "another group").await;
    let another = "another group, another incident";
    expect_rows(&db, another, &[("incident", 2)], &no_log).await;
    let fim = brief(&signals, 2).await;
    assert_eq!(
        picked(&fim, &["severity", "services"]),
        json!(["SEV4", ["db-01"]]),
        "{fim:#}"
    );
    expect_text(
        &db,
        "the file integrity alert's key and group",
        "select concat_ws(' ', alert_key, group_key) from alert where route = 'wazuh' \
         and labels->>'rule_id' = '550'",
        Some("wazuh:005:550:/etc/passwd rule_id=550,agent_id=005"),
        &no_log,
    )
    .await;

    // The wrong key: the forwarder fails (integratord logs it), nothing is stored.
    let ran = wazuh.forward(FILE_INTEGRITY, "not-the-key").await;
    assert_eq!(ran.code, Some(1), "a refused delivery exits 1: {ran}");
    assert!(
        ran.stderr.contains("401"),
        "it says Firebreak answered 401: {ran}"
    );
    let nothing = "a refused delivery stores nothing";
    expect_rows(&db, nothing, &[("alert", 2)], &no_log).await;
}
