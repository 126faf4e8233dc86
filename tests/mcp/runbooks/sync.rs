//! Folder sync: the shipped runbooks, adding, changing, archiving and restoring, invalid files
//! and duplicate slugs, and a missing folder.

use std::path::{Path, PathBuf};

use firebreak::app::App;
use serde_json::json;

use crate::runbooks::{find, folder, runbook, slugs, sync, write};
use crate::support::{TestDb, call, ok};

#[tokio::test]
async fn the_shipped_runbooks_are_all_valid_and_findable() {
    let db = TestDb::new().await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let report = sync(&db, &dir).await;
    assert!(report.invalid.is_empty(), "{report}");
    assert!(report.added.len() >= 5, "{report}");
    for slug in [
        "high-error-rate",
        "database-connection-saturation",
        "disk-full",
        "certificate-expiry",
        "bad-deploy-rollback",
    ] {
        assert!(report.added.contains(&slug.to_owned()), "{slug}: {report}");
    }
    let client = db.client().await;
    let found = find(&client, json!({"alert": "highErrorRate"})).await;
    assert_eq!(slugs(&found)[0], "high-error-rate");
    let found = find(&client, json!({"text": "certificate expired TLS"})).await;
    assert_eq!(slugs(&found)[0], "certificate-expiry");
    for slug in &report.added {
        let runbook = ok(call(&client, "get_runbook", json!({"slug": slug})).await);
        let steps = runbook["steps"].as_array().unwrap();
        assert!(steps.len() >= 3, "{slug} has steps");
        assert!(
            steps.iter().all(|s| s["text"] != ""),
            "{slug}: every step has text"
        );
        let sections: Vec<&str> = runbook["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            sections,
            ["Meaning", "Impact", "Diagnosis", "Mitigation"],
            "{slug}"
        );
    }
}

#[tokio::test]
async fn sync_adds_updates_archives_and_restores_keeping_every_version() {
    let db = TestDb::new().await;
    let a1 = runbook("disk-full", "Disk full", "services: [db]\n");
    let b = runbook("cert-expiry", "Certificate expiry", "");
    let dir = folder(&[
        ("disk-full.md", &a1),
        ("nested/cert-expiry.md", &b),
        ("README.md", "# not a runbook"),
        (".hidden.md", "not read"),
        ("notes.txt", "not markdown"),
        (
            "broken.md",
            "---\nslug: broken\ntitle: Broken\nowner: me\n---\n1. x\n",
        ),
    ]);
    let first = sync(&db, dir.path()).await;
    assert_eq!(first.added, ["disk-full", "cert-expiry"]);
    assert_eq!(first.invalid.len(), 1, "{first}");
    assert_eq!(first.invalid[0].path, "broken.md");
    assert_eq!(first.invalid[0].line, 4);
    assert!(first.invalid[0].reason.contains("owner"), "{first}");
    assert!(first.to_string().contains("broken.md line 4"), "{first}");

    let again = sync(&db, dir.path()).await;
    assert_eq!(again.unchanged, ["disk-full", "cert-expiry"]);
    assert!(
        again.added.is_empty() && again.updated.is_empty(),
        "{again}"
    );
    assert_eq!(db.count("runbook_version").await, 2);

    let a2 = a1.replace("Check the dashboard.", "Check the disk dashboard.");
    write(dir.path(), "disk-full.md", &a2);
    std::fs::remove_file(dir.path().join("nested/cert-expiry.md")).unwrap();
    let changed = sync(&db, dir.path()).await;
    assert_eq!(changed.updated, [("disk-full".to_owned(), 2)]);
    assert_eq!(changed.archived, ["cert-expiry"]);
    assert_eq!(db.count("runbook").await, 2, "archived, never deleted");
    assert_eq!(db.count("runbook_version").await, 3);

    let client = db.client().await;
    let newest = ok(call(&client, "get_runbook", json!({"slug": "disk-full"})).await);
    assert_eq!(newest["version"], 2);
    assert_eq!(newest["latest_version"], 2);
    assert_eq!(newest["steps"][0]["text"], "Check the disk dashboard.");
    let old = ok(call(
        &client,
        "get_runbook",
        json!({"slug": "disk-full", "version": 1}),
    )
    .await);
    assert_eq!(old["steps"][0]["text"], "Check the dashboard.");
    assert_eq!(old["markdown"], a1.as_str());
    assert_ne!(old["content_hash"], newest["content_hash"]);
    let archived = ok(call(&client, "get_runbook", json!({"slug": "cert-expiry"})).await);
    assert!(archived["archived_at"].is_string(), "{archived}");
    let listed = find(&client, json!({})).await;
    assert_eq!(
        slugs(&listed),
        ["disk-full"],
        "archived runbooks are not found"
    );

    write(dir.path(), "cert-expiry.md", &b);
    let back = sync(&db, dir.path()).await;
    assert_eq!(back.restored, ["cert-expiry"]);
    let listed = find(&client, json!({})).await;
    assert_eq!(slugs(&listed), ["cert-expiry", "disk-full"]);
}

#[tokio::test]
async fn a_file_that_turns_invalid_keeps_its_runbook_and_duplicate_slugs_are_refused() {
    let db = TestDb::new().await;
    let good = runbook("disk-full", "Disk full", "");
    let dir = folder(&[("disk-full.md", &good)]);
    sync(&db, dir.path()).await;
    write(
        dir.path(),
        "disk-full.md",
        &good.replace("title: Disk full", "title: [unclosed"),
    );
    write(
        dir.path(),
        "z-copy.md",
        &runbook("cert-expiry", "Certs", ""),
    );
    write(
        dir.path(),
        "zz-copy.md",
        &runbook("cert-expiry", "Certs again", ""),
    );
    let report = sync(&db, dir.path()).await;
    assert!(report.archived.is_empty(), "{report}");
    assert_eq!(report.added, ["cert-expiry"]);
    let invalid: Vec<(&str, u64)> = report
        .invalid
        .iter()
        .map(|i| (i.path.as_str(), i.line))
        .collect();
    assert_eq!(
        invalid,
        [("disk-full.md", 3), ("zz-copy.md", 1)],
        "{report}"
    );
    assert!(
        report.invalid[1]
            .reason
            .contains("already used by z-copy.md"),
        "{report}"
    );
    let client = db.client().await;
    let listed = find(&client, json!({})).await;
    assert_eq!(slugs(&listed), ["cert-expiry", "disk-full"]);
}

#[tokio::test]
async fn syncing_a_missing_folder_is_an_error_and_changes_nothing() {
    let db = TestDb::new().await;
    let err = App::from_pool(db.pool.clone())
        .sync_runbooks(Path::new("/nonexistent/runbooks"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
    assert!(err.to_string().contains("/nonexistent/runbooks"), "{err}");
    assert_eq!(db.count("runbook").await, 0);
}

/// The reason reported for `path`, if it was refused.
fn refusal<'a>(report: &'a firebreak::app::runbooks::SyncReport, path: &str) -> Option<&'a str> {
    report
        .invalid
        .iter()
        .find(|invalid| invalid.path == path)
        .map(|invalid| invalid.reason.as_str())
}

#[tokio::test]
async fn sync_reads_only_regular_files_inside_the_folder_and_loads_the_rest() {
    let db = TestDb::new().await;
    let outside = folder(&[("secret.md", &runbook("outside", "Outside the folder", ""))]);
    let dir = folder(&[
        ("good.md", &runbook("good", "A good runbook", "")),
        (
            "nested/linked-target.md",
            &runbook("inner", "Inner runbook", ""),
        ),
        (
            "nul.md",
            &runbook("nul", "Has a NUL", "").replace("Check the dashboard", "Check\0 it"),
        ),
    ]);
    let root = dir.path();
    std::os::unix::fs::symlink("/dev/zero", root.join("zero.md")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.md"), root.join("escape.md")).unwrap();
    std::os::unix::fs::symlink(root.join("nested/linked-target.md"), root.join("inside.md"))
        .unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(root.join("pipe.md"))
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo");
    // Sparse: 300 MB long, nothing written; reading it whole would take 300 MB.
    let big = std::fs::File::create(root.join("huge.md")).unwrap();
    big.set_len(300 * 1024 * 1024).unwrap();

    let report = tokio::time::timeout(std::time::Duration::from_secs(30), sync(&db, root))
        .await
        .expect("sync finishes: a FIFO or /dev/zero must not hang it");
    assert_eq!(report.added, ["good", "inner"], "{report}");
    let expectations = [
        ("zero.md", "outside the runbook folder"),
        ("escape.md", "outside the runbook folder"),
        ("pipe.md", "is a FIFO"),
        ("huge.md", "larger than 1048576 bytes"),
        ("nul.md", "NUL"),
    ];
    for (path, says) in expectations {
        let reason =
            refusal(&report, path).unwrap_or_else(|| panic!("{path} not refused: {report}"));
        assert!(reason.contains(says), "{path}: {reason}");
    }
    let nul_line = report
        .invalid
        .iter()
        .find(|i| i.path == "nul.md")
        .unwrap()
        .line;
    assert!(nul_line > 1, "the NUL's line is named: {nul_line}");
    assert_eq!(report.invalid.len(), expectations.len(), "{report}");
    let (n,): (i64,) = sqlx::query_as("select count(*) from runbook where slug = 'outside'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing from outside the folder was loaded");
}
