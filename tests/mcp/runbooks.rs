//! Runbooks through the client: folder sync (add, change, remove, invalid files), the shipped
//! runbooks, `find_runbooks` ranking and reasons, `get_runbook`, and `record_runbook_step` with
//! the steps shown in the incident brief.

mod bad_input;
mod sync;

use std::path::Path;

use firebreak::app::App;
use firebreak::app::runbooks::SyncReport;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::{Client, TestDb, call, failure, ok};

/// A runbook file with the given extra front matter lines and the standard three steps.
pub(crate) fn runbook(slug: &str, title: &str, front: &str) -> String {
    format!(
        "---\nslug: {slug}\ntitle: {title}\n{front}---\n# {title}\n\n## Meaning\n\n\
         Something is wrong with {title}.\n\n## Diagnosis\n\n\
         1. [diagnostic] Check the dashboard.\n\n## Mitigation\n\n\
         2. [risky] Restart the service:\n\n   ```sh\n   kubectl rollout restart deployment/x\n   ```\n\n\
         3. Scale out.\n"
    )
}

/// A temporary folder holding `files` (name, content).
pub(crate) fn folder(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        write(dir.path(), name, content);
    }
    dir
}

/// Writes `content` to `name` (which may contain folders) under `dir`.
pub(crate) fn write(dir: &Path, name: &str, content: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// Syncs `dir` into the test database.
pub(crate) async fn sync(db: &TestDb, dir: &Path) -> SyncReport {
    App::from_pool(db.pool.clone())
        .sync_runbooks(dir)
        .await
        .unwrap()
}

/// The slugs of a `find_runbooks` answer, in order.
pub(crate) fn slugs(found: &Value) -> Vec<String> {
    found["runbooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// The answer of `find_runbooks`.
pub(crate) async fn find(client: &Client, args: Value) -> Value {
    ok(call(client, "find_runbooks", args).await)
}

/// Four runbooks: one matching alert + service + words, one service + words, one words only,
/// one nothing.
async fn ranking_fixture(db: &TestDb) -> TempDir {
    let dir = folder(&[
        (
            "a.md",
            &runbook(
                "checkout-errors",
                "Checkout errors",
                "services: [checkout-api]\nalerts: [HighErrorRate]\n",
            ),
        ),
        (
            "b.md",
            &runbook(
                "checkout-latency",
                "Checkout latency",
                "services: [checkout-api]\n",
            ),
        ),
        (
            "c.md",
            &runbook(
                "payment-timeouts",
                "Payment timeouts during checkout",
                "services: [payments]\n",
            ),
        ),
        (
            "d.md",
            &runbook("disk-full", "Disk full", "services: [db]\n"),
        ),
    ]);
    let report = sync(db, dir.path()).await;
    assert!(report.invalid.is_empty(), "{report}");
    dir
}

#[tokio::test]
async fn find_runbooks_ranks_alerts_over_services_over_text_and_says_why() {
    let db = TestDb::new().await;
    let _dir = ranking_fixture(&db).await;
    let client = db.client().await;
    let found = find(
        &client,
        json!({"alert": "higherrorrate", "service": "checkout-api", "text": "checkout"}),
    )
    .await;
    assert_eq!(
        slugs(&found),
        ["checkout-errors", "checkout-latency", "payment-timeouts"]
    );
    let best = &found["runbooks"][0];
    assert_eq!(best["matched_alerts"], json!(["HighErrorRate"]));
    assert_eq!(best["matched_services"], json!(["checkout-api"]));
    let reasons = best["reasons"].as_array().unwrap();
    assert_eq!(reasons[0], "alert `HighErrorRate`");
    assert_eq!(reasons[1], "service `checkout-api`");
    assert!(reasons[2].as_str().unwrap().starts_with("text rank "));
    let text_only = &found["runbooks"][2];
    assert!(text_only.get("matched_services").is_none(), "{text_only}");
    assert!(text_only["text_rank"].as_f64().unwrap() > 0.0);
    assert!(best["score"].as_f64().unwrap() > found["runbooks"][1]["score"].as_f64().unwrap());
    assert_eq!(found["truncated"], false);

    let limited = find(&client, json!({"text": "checkout", "limit": 1})).await;
    assert_eq!(slugs(&limited).len(), 1);
    assert_eq!(limited["truncated"], true);
    let none = find(&client, json!({"text": "kafka consumer lag"})).await;
    assert_eq!(slugs(&none), Vec::<String>::new());
}

#[tokio::test]
async fn find_runbooks_by_incident_uses_its_services_alertname_and_title() {
    let db = TestDb::new().await;
    let _dir = ranking_fixture(&db).await;
    let client = db.client().await;
    ok(call(
        &client,
        "declare_incident",
        json!({"title": "Checkout API returning 5xx", "severity": "SEV2",
               "services": ["checkout-api"], "labels": {"alertname": "HighErrorRate"}}),
    )
    .await);
    let found = find(&client, json!({"incident": "INC-1"})).await;
    assert_eq!(found["criteria"]["incident"], "INC-1");
    assert_eq!(found["criteria"]["alerts"], json!(["HighErrorRate"]));
    assert_eq!(found["criteria"]["services"], json!(["checkout-api"]));
    assert_eq!(
        slugs(&found),
        ["checkout-errors", "checkout-latency", "payment-timeouts"]
    );
    let reasons = &found["runbooks"][0]["reasons"];
    assert_eq!(reasons[0], "alert `HighErrorRate`");
    assert_eq!(reasons[1], "service `checkout-api`");
}

#[tokio::test]
async fn get_runbook_returns_steps_sections_version_and_hash() {
    let db = TestDb::new().await;
    let text = runbook(
        "disk-full",
        "Disk full",
        "alerts: [DiskFull]\nseverity_hint: SEV3\n",
    );
    let _dir = {
        let dir = folder(&[("disk-full.md", &text)]);
        sync(&db, dir.path()).await;
        dir
    };
    let client = db.client().await;
    let got = ok(call(&client, "get_runbook", json!({"slug": "disk-full"})).await);
    assert_eq!(got["source"], "local");
    assert_eq!(got["title"], "Disk full");
    assert_eq!(got["alerts"], json!(["DiskFull"]));
    assert_eq!(got["severity_hint"], "SEV3");
    assert_eq!(got["version"], 1);
    assert_eq!(got["markdown"], text.as_str());
    assert_eq!(got["content_hash"].as_str().unwrap().len(), 64);
    assert_eq!(got["stale"], false);
    let steps = got["steps"].as_array().unwrap();
    let kinds: Vec<(i64, &str, bool)> = steps
        .iter()
        .map(|s| {
            (
                s["number"].as_i64().unwrap(),
                s["kind"].as_str().unwrap(),
                s["risky"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (1, "diagnostic", false),
            (2, "risky", true),
            (3, "risky", true)
        ],
        "an unmarked step counts as risky"
    );
    assert_eq!(steps[2]["marked"], false);
    assert_eq!(steps[1]["marked"], true);
    assert_eq!(steps[0]["section"], "Diagnosis");
    assert_eq!(steps[0]["detail"], Value::Null);
    assert!(
        steps[1]["detail"]
            .as_str()
            .unwrap()
            .contains("kubectl rollout restart")
    );
    assert_eq!(got["sections"][2]["name"], "Mitigation");
}

#[tokio::test]
async fn recorded_steps_go_on_the_timeline_and_into_the_brief() {
    let db = TestDb::new().await;
    let dir = folder(&[("disk-full.md", &runbook("disk-full", "Disk full", ""))]);
    sync(&db, dir.path()).await;
    let client = db.client().await;
    let reference = crate::support::declare(&client, "Disk full on db-3", "SEV3").await;
    let recorded = ok(call(
        &client,
        "record_runbook_step",
        json!({"incident": reference, "runbook": "disk-full", "step": 1,
               "outcome": "succeeded", "output": "/var at 97%"}),
    )
    .await);
    assert_eq!(recorded["incident"], reference.as_str());
    assert_eq!(recorded["risky"], false);
    assert_eq!(recorded["entry"]["kind"], "runbook_step");
    let data = &recorded["entry"]["data"];
    assert_eq!(data["runbook"], "disk-full");
    assert_eq!(data["version"], 1);
    assert_eq!(data["step"], 1);
    assert_eq!(data["text"], "Check the dashboard.");
    assert_eq!(data["outcome"], "succeeded");
    assert_eq!(data["output"], "/var at 97%");
    assert_eq!(data["content_hash"].as_str().unwrap().len(), 64);
    assert_eq!(recorded["entry"]["actor"]["principal"], "tester");
    ok(call(
        &client,
        "record_runbook_step",
        json!({"incident": reference, "runbook": "disk-full", "step": 2, "version": 1,
               "outcome": "failed"}),
    )
    .await);

    // A later version of the runbook does not change what was recorded.
    write(
        dir.path(),
        "disk-full.md",
        &runbook("disk-full", "Disk full", "").replace("Check the dashboard.", "Look."),
    );
    sync(&db, dir.path()).await;
    let brief = ok(call(&client, "get_incident", json!({"incident": reference})).await);
    let steps = brief["runbook_steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["runbook"], "disk-full");
    assert_eq!(steps[0]["step"], 1);
    assert_eq!(steps[0]["text"], "Check the dashboard.");
    assert_eq!(steps[0]["outcome"], "succeeded");
    assert_eq!(steps[0]["risky"], false);
    assert_eq!(steps[0]["actor"], "tester");
    assert_eq!(steps[1]["outcome"], "failed");
    assert_eq!(steps[1]["risky"], true);
    let timeline = ok(call(
        &client,
        "get_timeline",
        json!({"incident": reference, "kinds": ["runbook_step"]}),
    )
    .await);
    assert_eq!(timeline["entries"].as_array().unwrap().len(), 2);

    let stale = failure(
        call(
            &client,
            "record_runbook_step",
            json!({"incident": reference, "runbook": "disk-full", "step": 4,
                   "outcome": "skipped"}),
        )
        .await,
    );
    assert_eq!(stale.code, "invalid_argument");
    assert!(
        stale.message.contains("version 2 has steps 1–3"),
        "{}",
        stale.message
    );
}
