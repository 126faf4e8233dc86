//! Signed webhooks, verified by the Standard Webhooks reference library (`PyPI`
//! `standardwebhooks`), during a secret rotation: the same deliveries verify with the new
//! secret and with the old one.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use super::{NotificationsFile, OLD_SECRET, PATIENCE, SECRET, declare_with, serve};
use crate::support::children::free_port;
use crate::support::{TestDb, call, ok};

/// The venv's Python, which has `standardwebhooks` (.ci/signal-clients.sh installs it).
fn python() -> std::path::PathBuf {
    let path = std::env::var_os("PAGERDUTY_PYTHON")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/work/pyenv/bin/python")
        });
    assert!(
        path.exists(),
        "{} does not exist: run `bash .ci/signal-clients.sh`, which installs standardwebhooks",
        path.display()
    );
    path
}

struct PythonReceiver {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    url: String,
}

impl PythonReceiver {
    async fn start(secret: &str) -> PythonReceiver {
        let port = free_port();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/clients/standardwebhooks_receiver.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .env("RECEIVER_SECRET", secret)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("the receiver starts")
            .unwrap()
            .expect("a first line");
        assert!(first.contains("listening"), "{first}");
        PythonReceiver {
            _child: child,
            lines,
            url: format!("http://127.0.0.1:{port}/hook"),
        }
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(PATIENCE, self.lines.next_line())
            .await
            .expect("a delivery within the patience")
            .unwrap()
            .expect("a line");
        serde_json::from_str(&line).unwrap()
    }
}

#[tokio::test]
async fn deliveries_verify_with_the_reference_library_during_a_rotation() {
    let db = TestDb::new().await;
    let mut current = PythonReceiver::start(SECRET).await;
    let mut old = PythonReceiver::start(OLD_SECRET).await;
    let file = NotificationsFile::new(&format!(
        "delivery: {{timeout: 2s, first_retry: 100ms}}\n\
         targets:\n\
         \x20 - name: current\n    kind: webhook\n    url: {}\n    secret_env: HOOK_SECRET\n    previous_secret_env: HOOK_SECRET_OLD\n\
         \x20 - name: old\n    kind: webhook\n    url: {}\n    secret_env: HOOK_SECRET\n    previous_secret_env: HOOK_SECRET_OLD\n",
        current.url, old.url
    ));
    let server = serve(&db, &file).await;
    let client = server.client().await;
    let incident = declare_with(&client, "Checkout errors", "SEV3", &["checkout"]).await;
    ok(call(
        &client,
        "update_incident",
        json!({"incident": incident, "severity": "SEV1"}),
    )
    .await);
    ok(call(
        &client,
        "post_status_update",
        json!({"incident": incident, "audience": "stakeholders", "status": "identified",
               "message": "Rolling back release 2026.12.1.", "next_update_at": "+30m"}),
    )
    .await);
    ok(call(
        &client,
        "change_status",
        json!({"incident": incident, "to": "investigating"}),
    )
    .await);
    ok(call(
        &client,
        "resolve_incident",
        json!({"incident": incident, "resolution": "Rolled back."}),
    )
    .await);
    let wanted = [
        "incident.declared",
        "incident.severity_changed",
        "incident.status_update",
        "incident.status_changed",
        "incident.resolved",
    ];
    for receiver in [&mut current, &mut old] {
        let mut types = Vec::new();
        let mut ids = Vec::new();
        for _ in wanted {
            let got = receiver.next().await;
            assert_eq!(got["verified"], true, "{got}");
            let signatures = got["signature"].as_str().unwrap();
            assert_eq!(
                signatures.split(' ').count(),
                2,
                "both secrets sign: {signatures}"
            );
            let payload = &got["payload"];
            assert_eq!(payload["data"]["incident"]["reference"], incident.as_str());
            types.push(got["type"].as_str().unwrap().to_owned());
            ids.push(got["id"].as_str().unwrap().to_owned());
        }
        types.sort();
        let mut expected: Vec<String> = wanted.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        assert_eq!(types, expected);
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), wanted.len(), "one webhook-id per event");
    }
    // A body changed in transit does not verify: the library refuses a tampered request.
    let http = reqwest::Client::new();
    let tampered = http
        .post(&current.url)
        .header("webhook-id", "msg_1")
        .header(
            "webhook-timestamp",
            chrono::Utc::now().timestamp().to_string(),
        )
        .header(
            "webhook-signature",
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    let refused = current.next().await;
    assert_eq!(refused["verified"], false);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
