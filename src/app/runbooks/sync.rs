//! Syncing a folder of runbooks into the database, in one transaction: new slugs are added,
//! changed content becomes a new version, files that left the folder archive their runbook,
//! and invalid files are reported without stopping the others.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use chrono::Utc;

use crate::app::runbooks::folder;
use crate::app::{App, Result, commit};
use crate::domain::runbook::{Runbook, content_hash};
use crate::store;
use crate::store::runbooks::NewVersion;

/// A file that could not be loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidFile {
    /// Its path, relative to the folder.
    pub path: String,
    /// The line (1-based) the problem is on.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// What a folder sync did, slug by slug.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// New slugs, loaded as version 1.
    pub added: Vec<String>,
    /// Slugs whose content changed, with their new version.
    pub updated: Vec<(String, i64)>,
    /// Archived slugs whose file came back unchanged.
    pub restored: Vec<String>,
    /// Slugs whose content is the same.
    pub unchanged: Vec<String>,
    /// Slugs whose file left the folder.
    pub archived: Vec<String>,
    /// Files that could not be loaded.
    pub invalid: Vec<InvalidFile>,
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "runbooks: {} added, {} updated, {} restored, {} unchanged, {} archived, {} invalid",
            self.added.len(),
            self.updated.len(),
            self.restored.len(),
            self.unchanged.len(),
            self.archived.len(),
            self.invalid.len()
        )?;
        let updated: Vec<String> = self
            .updated
            .iter()
            .map(|(slug, version)| format!("{slug} (v{version})"))
            .collect();
        for (label, slugs) in [
            ("added", &self.added),
            ("updated", &updated),
            ("restored", &self.restored),
            ("archived", &self.archived),
        ] {
            if !slugs.is_empty() {
                write!(f, "\n  {label}: {}", slugs.join(", "))?;
            }
        }
        for file in &self.invalid {
            write!(
                f,
                "\n  invalid: {} line {}: {}",
                file.path, file.line, file.reason
            )?;
        }
        Ok(())
    }
}

/// A file that parsed.
struct Parsed {
    path: String,
    text: String,
    runbook: Runbook,
}

impl App {
    /// Loads the runbook files under `dir` (every `*.md`, recursively; `README.md` and hidden
    /// entries are skipped) into the database in one transaction, keyed by slug and versioned
    /// by content hash. The folder is the whole set: a runbook whose file is gone is archived
    /// (never deleted), unless its file is merely invalid for now. Fails only when the folder
    /// cannot be read; invalid files are listed in the report.
    #[tracing::instrument(skip_all, fields(dir = %dir.display()))]
    pub async fn sync_runbooks(&self, dir: &Path) -> Result<SyncReport> {
        let (files, mut invalid) = folder::read(dir).await?;
        let parsed = parse_all(files, &mut invalid);
        let now = Utc::now();
        let mut report = SyncReport::default();
        let mut tx = self.begin().await?;
        // Replicas started with --runbooks-dir sync at the same moment: one at a time.
        store::lock_scope(&mut tx, "runbook-sync").await?;
        let heads: BTreeMap<String, store::runbooks::Head> = store::runbooks::heads(&mut tx)
            .await?
            .into_iter()
            .map(|head| (head.slug.clone(), head))
            .collect();
        for file in &parsed {
            let slug = file.runbook.meta.slug.clone();
            let hash = content_hash(&file.text);
            let new = NewVersion {
                runbook: &file.runbook,
                markdown: &file.text,
                content_hash: &hash,
                source_path: &file.path,
            };
            match heads.get(&slug) {
                None => {
                    store::runbooks::save_version(&mut tx, new, 1, now).await?;
                    report.added.push(slug);
                }
                Some(head) if head.content_hash == hash && head.is_archived => {
                    store::runbooks::restore(&mut tx, &slug, &file.path, now).await?;
                    report.restored.push(slug);
                }
                Some(head) if head.content_hash == hash => {
                    store::runbooks::move_source(&mut tx, &slug, &file.path).await?;
                    report.unchanged.push(slug);
                }
                Some(head) => {
                    let version = head.version + 1;
                    store::runbooks::save_version(&mut tx, new, version, now).await?;
                    report.updated.push((slug, version));
                }
            }
        }
        let present: BTreeSet<&str> = parsed
            .iter()
            .map(|p| p.runbook.meta.slug.as_str())
            .collect();
        let broken: BTreeSet<&str> = invalid.iter().map(|i| i.path.as_str()).collect();
        report.archived = heads
            .values()
            .filter(|head| !head.is_archived && !present.contains(head.slug.as_str()))
            .filter(|head| !broken.contains(head.source_path.as_str()))
            .map(|head| head.slug.clone())
            .collect();
        store::runbooks::archive(&mut tx, &report.archived, now).await?;
        commit(tx).await?;
        invalid.sort_by(|a, b| a.path.cmp(&b.path));
        report.invalid = invalid;
        for file in &report.invalid {
            tracing::warn!(path = %file.path, line = file.line, reason = %file.reason, "invalid runbook skipped");
        }
        Ok(report)
    }
}

/// Parses every file; a file whose slug an earlier file (in path order) already took is invalid.
fn parse_all(files: Vec<folder::FileText>, invalid: &mut Vec<InvalidFile>) -> Vec<Parsed> {
    let mut parsed: Vec<Parsed> = Vec::with_capacity(files.len());
    for file in files {
        match Runbook::parse(&file.text) {
            Ok(runbook) => {
                let taken = parsed
                    .iter()
                    .find(|p| p.runbook.meta.slug == runbook.meta.slug);
                if let Some(first) = taken {
                    invalid.push(InvalidFile {
                        reason: format!(
                            "front matter: slug `{}` is already used by {}; slugs must be unique",
                            runbook.meta.slug, first.path
                        ),
                        path: file.path,
                        line: 1,
                    });
                } else {
                    parsed.push(Parsed {
                        path: file.path,
                        text: file.text,
                        runbook,
                    });
                }
            }
            Err(err) => invalid.push(InvalidFile {
                path: file.path,
                line: err.line,
                reason: err.reason,
            }),
        }
    }
    parsed
}
