//! `firebreak report`: the real binary prints the tool's numbers as markdown on stdout, and
//! fails on bad options with the tool's error on stderr.

use std::process::Stdio;

use firebreak::domain::durations::human;
use serde_json::{Value, json};

use super::history::{Rng, Row, history, insert};
use super::{at, metrics};
use crate::support::TestDb;
use crate::support::children::firebreak;

/// stdout, stderr and success of `firebreak report ARGS…` on `db`.
async fn report(db: &TestDb, args: &[&str]) -> (String, String, bool) {
    let output = firebreak()
        .arg("report")
        .args(args)
        .env("DATABASE_URL", db.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("firebreak runs");
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.success(),
    )
}

/// A duration cell as the report writes it.
fn cell(seconds: &Value) -> String {
    match seconds.as_i64() {
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) => format!("{} ({s} s)", human(s)),
        None => "–".to_owned(),
    }
}

#[tokio::test]
async fn the_report_prints_the_tools_numbers_as_markdown() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let mut rng = Rng::new(7);
    let rows: Vec<Row> = history(
        &mut rng,
        60,
        at("2024-12-01T00:00:00Z"),
        at("2025-03-01T00:00:00Z"),
    );
    insert(&db, &rows).await;
    let (from, to) = ("2025-01-15T00:00:00Z", "2025-03-01T00:00:00Z");
    let (stdout, stderr, success) = report(
        &db,
        &[
            "--from",
            from,
            "--to",
            to,
            "--group-by",
            "month",
            "--severity",
            "sev2,sev3,sev4",
        ],
    )
    .await;
    assert!(success, "stderr: {stderr}");
    let answer = metrics(
        &client,
        json!({"from": from, "to": to, "group_by": "month", "severity": ["SEV2", "SEV3", "SEV4"]}),
    )
    .await;
    let (current, previous) = (&answer["current"], &answer["previous"]);
    assert!(stdout.starts_with("# Incident metrics"), "{stdout}");
    assert!(
        stdout.contains("Only: severities SEV2, SEV3, SEV4."),
        "{stdout}"
    );
    let counted = format!(
        "| incidents counted | {} | {} |",
        current["incidents"], previous["incidents"]
    );
    assert!(stdout.contains(&counted), "{counted} in:\n{stdout}");
    for (name, key) in [
        (
            "time to acknowledge (detected_at → acknowledged_at)",
            "time_to_acknowledge",
        ),
        (
            "time to mitigate (impact_started_at → mitigated_at)",
            "time_to_mitigate",
        ),
        (
            "time to resolve (impact_started_at → resolved_at)",
            "time_to_resolve",
        ),
    ] {
        for stat in ["median", "p90", "mean"] {
            let line = format!(
                "| {name}, {stat} | {} | {} |",
                cell(&current[key][stat]),
                cell(&previous[key][stat])
            );
            assert!(stdout.contains(&line), "{line} in:\n{stdout}");
        }
    }
    let open = current["excluded"]["open"].as_i64().unwrap_or(0);
    let open_before = previous["excluded"]["open"].as_i64().unwrap_or(0);
    if open + open_before > 0 {
        assert!(
            stdout.contains(&format!("| left out: open | {open} | {open_before} |")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("\n## By month\n"), "{stdout}");
    for group in answer["breakdown"]["groups"].as_array().unwrap() {
        let row = format!(
            "| {} | {} |",
            group["group"].as_str().unwrap(),
            group["incidents"]
        );
        assert!(stdout.contains(&row), "{row} in:\n{stdout}");
    }
    assert!(stdout.contains("linear interpolation"), "{stdout}");
}

#[tokio::test]
async fn the_report_takes_relative_times_and_refuses_bad_options_with_the_tools_error() {
    let db = TestDb::new().await;
    insert(
        &db,
        &[Row::resolved(
            "Yesterday",
            chrono::Utc::now() - chrono::Duration::days(1),
        )],
    )
    .await;
    let (stdout, stderr, success) = report(&db, &["--from", "-7d", "--include-test"]).await;
    assert!(success, "stderr: {stderr}");
    assert!(stdout.contains("| incidents counted | 1 | 0 |"), "{stdout}");
    assert!(stdout.contains("test incidents included"), "{stdout}");

    let (stdout, stderr, success) = report(&db, &["--group-by", "daily"]).await;
    assert!(!success);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("invalid_argument") && stderr.contains("group_by"),
        "{stderr}"
    );
    assert!(stderr.contains("`week`"), "{stderr}");

    let (_, stderr, success) = report(
        &db,
        &[
            "--from",
            "2025-03-01T00:00:00Z",
            "--to",
            "2025-02-01T00:00:00Z",
        ],
    )
    .await;
    assert!(!success);
    assert!(
        stderr.contains("`from`") && stderr.contains("before `to`"),
        "{stderr}"
    );
}
