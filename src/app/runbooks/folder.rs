//! Reading a folder of runbook files: every `*.md` below it (hidden entries and `README.md`
//! files skipped, symlinked folders not followed), each read as UTF-8 up to the size cap.

use std::path::{Path, PathBuf};

use crate::app::Result;
use crate::app::runbooks::InvalidFile;
use crate::domain::ValidationError;
use crate::domain::runbook::DOCUMENT_MAX_BYTES;

/// Deepest folder nesting walked.
const DEPTH_MAX: usize = 8;
/// Most files one sync reads.
const FILES_MAX: usize = 10_000;

/// A file that was read: its path relative to the folder (with `/`), and its text.
pub(super) struct FileText {
    pub(super) path: String,
    pub(super) text: String,
}

/// Every runbook file under `dir`, sorted by path, or why each could not be read.
pub(super) async fn read(dir: &Path) -> Result<(Vec<FileText>, Vec<InvalidFile>)> {
    let is_folder = tokio::fs::metadata(dir).await.is_ok_and(|m| m.is_dir());
    if !is_folder {
        return Err(ValidationError::new(
            "dir",
            format!("`{}` is not a folder that can be read", dir.display()),
        )
        .into());
    }
    let mut paths = Vec::new();
    collect(dir, 0, &mut paths).await?;
    paths.sort();
    let mut texts = Vec::with_capacity(paths.len());
    let mut invalid = Vec::new();
    for path in paths {
        let relative = relative(dir, &path);
        match read_file(&path).await {
            Ok(text) => texts.push(FileText {
                path: relative,
                text,
            }),
            Err((line, reason)) => invalid.push(InvalidFile {
                path: relative,
                line,
                reason,
            }),
        }
    }
    Ok((texts, invalid))
}

/// Adds the runbook files under `dir` to `paths`.
async fn collect(dir: &Path, depth: usize, paths: &mut Vec<PathBuf>) -> Result<()> {
    let unreadable = |err: std::io::Error| {
        ValidationError::new("dir", format!("`{}` cannot be read: {err}", dir.display()))
    };
    let mut entries = tokio::fs::read_dir(dir).await.map_err(unreadable)?;
    while let Some(entry) = entries.next_entry().await.map_err(unreadable)? {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.eq_ignore_ascii_case("README.md") {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().await.map_err(unreadable)?;
        if kind.is_dir() {
            if depth < DEPTH_MAX {
                Box::pin(collect(&path, depth + 1, paths)).await?;
            }
        } else if is_markdown(&path) {
            if paths.len() == FILES_MAX {
                return Err(ValidationError::new(
                    "dir",
                    format!("holds more than {FILES_MAX} markdown files; sync a smaller folder"),
                )
                .into());
            }
            paths.push(path);
        }
    }
    Ok(())
}

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("md"))
}

/// Reads one file, or says why it cannot be used (with the line for text that is not UTF-8).
async fn read_file(path: &Path) -> std::result::Result<String, (u64, String)> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|err| (1, format!("cannot be read: {err}")))?;
    if bytes.len() > DOCUMENT_MAX_BYTES {
        return Err((
            1,
            format!(
                "is {} bytes; a runbook may have at most {DOCUMENT_MAX_BYTES} bytes (1 MiB)",
                bytes.len()
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        (line, "is not UTF-8 text".to_owned())
    })
}

/// `path` relative to `dir`, with `/` separators on every platform.
fn relative(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
