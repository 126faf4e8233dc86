//! The alerting file through the real binary: `firebreak alerting check` names the line at
//! fault, `alerting test` shows a payload's fate without writing, and `serve --alerting`
//! reloads the file on SIGHUP, keeping the old one when the new one does not check.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::TestDb;
use crate::support::children::{HttpServer, firebreak};
use crate::support::signals::alertmanager;

const ONE_SOURCE: &str = "sources:\n  - {name: am, kind: alertmanager, secret_env: FB_TEST_AM}\n";
const SECRET: &str = "am-secret-0123456789";

fn body() -> String {
    alertmanager(&[(
        "firing",
        "fp",
        &[("alertname", "Probe"), ("service", "api")],
    )])
}

async fn post(server: &HttpServer, source: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/hooks/alertmanager/{source}", server.base))
        .bearer_auth(SECRET)
        .body(body())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn alerting_check_names_the_line_and_alerting_test_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerting.yml");
    std::fs::write(
        &file,
        format!("{ONE_SOURCE}routes:\n  - name: r\n    action: page\n"),
    )
    .unwrap();
    let out = firebreak()
        .args(["alerting", "check"])
        .arg(&file)
        .env("FB_TEST_AM", SECRET)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 5") && stderr.contains("unknown route action `page`"),
        "{stderr}"
    );
    let out = firebreak()
        .args(["alerting", "check"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("`FB_TEST_AM` is not set"));

    std::fs::write(&file, ONE_SOURCE).unwrap();
    let out = firebreak()
        .args(["alerting", "check"])
        .arg(&file)
        .env("FB_TEST_AM", SECRET)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 sources, 0 routes"));

    let db = TestDb::new().await;
    let payload = dir.path().join("payload.json");
    std::fs::write(&payload, body()).unwrap();
    let before = db.fingerprint().await;
    let out = firebreak()
        .args(["alerting", "test", "--source", "am", "--alerting"])
        .arg(&file)
        .arg(&payload)
        .env("FB_TEST_AM", SECRET)
        .env("DATABASE_URL", db.url())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["alerts"][0]["would"], "recorded",
        "no route: recorded only: {report}"
    );
    assert_eq!(
        report["alerts"][0]["reason"],
        "recorded only: no route matched"
    );
    assert_eq!(db.fingerprint().await, before, "a dry run writes nothing");
}

#[tokio::test]
async fn sighup_reloads_the_alerting_file_and_a_broken_one_keeps_the_old() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerting.yml");
    std::fs::write(&file, ONE_SOURCE).unwrap();
    let path = file.clone();
    let server = HttpServer::start_with(&db.url(), |command| {
        command
            .arg("--alerting")
            .arg(&path)
            .env("FB_TEST_AM", SECRET);
    })
    .await;
    assert_eq!(post(&server, "am").await, 200);
    assert_eq!(post(&server, "am2").await, 404);
    let pid = Pid::from_raw(i32::try_from(server.child.id().unwrap()).unwrap());
    let two =
        format!("{ONE_SOURCE}  - {{name: am2, kind: alertmanager, secret_env: FB_TEST_AM}}\n");
    std::fs::write(&file, two).unwrap();
    kill(pid, Signal::SIGHUP).unwrap();
    let mut reloaded = false;
    for _ in 0..100 {
        if post(&server, "am2").await == 200 {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        reloaded,
        "am2 served after SIGHUP; stderr:\n{}",
        server.stderr.text()
    );
    std::fs::write(&file, "sources: [oops").unwrap();
    kill(pid, Signal::SIGHUP).unwrap();
    for _ in 0..100 {
        if server.stderr.text().contains("alerting file not reloaded") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        server.stderr.text().contains("alerting file not reloaded"),
        "{}",
        server.stderr.text()
    );
    assert_eq!(post(&server, "am2").await, 200, "the file in force stays");
}
