//! `firebreak tool NAME '{json}'`: a script calls a tool without an MCP client. The real binary
//! runs the same router in its own process, prints the structured answer as JSON on stdout,
//! fails with the error code on stderr, and records the actor with channel `cli`.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::support::TestDb;
use crate::support::children::firebreak;

/// What one `firebreak tool` run printed, and how it ended.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// stdout as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {}", self.stdout))
    }
}

/// Runs `firebreak tool ARGS…` on `db` as principal `cron`, writing `stdin` to it if given.
async fn tool(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Run {
    let mut command = firebreak();
    command
        .arg("tool")
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("FIREBREAK_PRINCIPAL", "cron")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().expect("firebreak starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).await.unwrap();
    }
    let output = child.wait_with_output().await.unwrap();
    Run {
        success: output.status.success(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[tokio::test]
async fn a_script_declares_and_reads_an_incident_recorded_as_cli() {
    let db = TestDb::new().await;
    let declared = tool(
        &db,
        &[
            "declare_incident",
            r#"{"title": "Nightly backup failed", "severity": "sev3", "idempotency_key": "backup-2026-12-01"}"#,
        ],
        None,
    )
    .await;
    assert!(declared.success, "{}", declared.stderr);
    let incident = &declared.json()["incident"];
    assert_eq!(incident["reference"], "INC-1");
    assert_eq!(incident["severity"], "SEV3");
    assert_eq!(incident["created_by"]["channel"], "cli");
    assert_eq!(incident["created_by"]["principal"], "cron");
    assert!(
        incident["created_by"]["client"]
            .as_str()
            .is_some_and(|c| c.starts_with("firebreak-cli ")),
        "{incident}"
    );

    // The cron job runs again: the key replays the first answer instead of declaring twice.
    let retried = tool(
        &db,
        &[
            "declare_incident",
            r#"{"title": "Nightly backup failed", "severity": "sev3", "idempotency_key": "backup-2026-12-01"}"#,
        ],
        None,
    )
    .await;
    assert!(retried.success, "{}", retried.stderr);
    assert_eq!(retried.json()["replayed"], true);
    assert_eq!(db.count("incident").await, 1);

    // Arguments from a file and from stdin.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.json");
    std::fs::write(
        &file,
        r#"{"incident": "INC-1", "kind": "note", "body": "restore tested from yesterday's copy"}"#,
    )
    .unwrap();
    let noted = tool(
        &db,
        &["add_timeline_entry", "--args-file", file.to_str().unwrap()],
        None,
    )
    .await;
    assert!(noted.success, "{}", noted.stderr);
    let read = tool(
        &db,
        &["get_timeline", "-"],
        Some(r#"{"incident": "INC-1"}"#),
    )
    .await;
    assert!(read.success, "{}", read.stderr);
    let timeline = read.json();
    let bodies: Vec<&str> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["body"].as_str())
        .collect();
    assert!(
        bodies.contains(&"restore tested from yesterday's copy"),
        "{bodies:?}"
    );
}

#[tokio::test]
async fn a_refused_call_fails_with_its_code_on_stderr_and_writes_nothing() {
    let db = TestDb::new().await;
    let before = db.fingerprint().await;
    let refused = tool(
        &db,
        &["declare_incident", r#"{"title": "", "severity": "SEV2"}"#],
        None,
    )
    .await;
    assert!(!refused.success);
    assert!(
        refused.stderr.contains("firebreak: invalid_argument: "),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.json()["error"]["field"], "title");
    let missing = tool(&db, &["get_incident", r#"{"incident": "INC-9"}"#], None).await;
    assert!(!missing.success);
    assert!(
        missing.stderr.contains("firebreak: not_found: "),
        "{}",
        missing.stderr
    );
    assert_eq!(db.fingerprint().await, before);
}

#[tokio::test]
async fn bad_command_lines_are_explained_before_anything_runs() {
    let db = TestDb::new().await;
    let unknown = tool(&db, &["delete_everything"], None).await;
    assert!(!unknown.success);
    assert!(
        unknown
            .stderr
            .contains("there is no tool delete_everything")
            && unknown.stderr.contains("declare_incident"),
        "{}",
        unknown.stderr
    );
    let not_json = tool(&db, &["get_incident", "{incident: 1}"], None).await;
    assert!(!not_json.success);
    assert!(
        not_json.stderr.contains("is not valid JSON"),
        "{}",
        not_json.stderr
    );
    let not_object = tool(&db, &["get_incident", "-"], Some("[1]")).await;
    assert!(
        not_object.stderr.contains("must be one JSON object"),
        "{}",
        not_object.stderr
    );
    assert_eq!(db.count("incident").await, 0);
}

#[tokio::test]
async fn the_list_names_every_tool_with_one_line() {
    let db = TestDb::new().await;
    let listed = tool(&db, &["--list"], None).await;
    assert!(listed.success, "{}", listed.stderr);
    let lines: Vec<&str> = listed.stdout.lines().collect();
    let client = db.client().await;
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(lines.len(), tools.len(), "{}", listed.stdout);
    for tool in tools {
        assert!(
            lines
                .iter()
                .any(|line| line.split_whitespace().next() == Some(tool.name.as_ref())),
            "{} is missing from:\n{}",
            tool.name,
            listed.stdout
        );
    }
    assert!(lines.iter().all(|line| line.split_whitespace().count() > 2));
}
