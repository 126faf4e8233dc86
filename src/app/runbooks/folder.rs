//! Reading a folder of runbook files: every `*.md` below it (hidden entries and `README.md`
//! files skipped, symlinked folders not followed), each read as UTF-8 up to the size cap.
//!
//! Only regular files inside the folder are read. A symlink is followed only when it resolves
//! to a regular file inside the folder; FIFOs, sockets and devices are refused without being
//! opened for a blocking read (a FIFO would hang the sync, `/dev/zero` would never end), and a
//! file is read at most one byte past the cap, so a huge file costs no more memory than the cap.
//! Each refusal is reported with its reason and the other files still load.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt;

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

/// A `*.md` entry found in the folder: where it really is, or why it is refused.
struct Candidate {
    path: PathBuf,
    is_link: bool,
    target: std::result::Result<PathBuf, String>,
}

/// Every runbook file under `dir`, sorted by path, or why each could not be read.
pub(super) async fn read(dir: &Path) -> Result<(Vec<FileText>, Vec<InvalidFile>)> {
    let unreadable = || {
        ValidationError::new(
            "dir",
            format!("`{}` is not a folder that can be read", dir.display()),
        )
    };
    let is_folder = tokio::fs::metadata(dir).await.is_ok_and(|m| m.is_dir());
    if !is_folder {
        return Err(unreadable().into());
    }
    let root = tokio::fs::canonicalize(dir)
        .await
        .map_err(|_| unreadable())?;
    let mut candidates = Vec::new();
    collect(dir, &root, &root, 0, &mut candidates).await?;
    candidates.sort_by(|a, b| a.path.cmp(&b.path));
    drop_aliases(&mut candidates);
    let mut texts = Vec::with_capacity(candidates.len());
    let mut invalid = Vec::new();
    for candidate in candidates {
        let relative = relative(dir, &candidate.path);
        let read = match candidate.target {
            Ok(target) => read_file(&target).await,
            Err(reason) => Err((1, reason)),
        };
        match read {
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

/// Adds the runbook files under `dir` to `found`. `here` is `dir`'s canonical path, below
/// `root` (the folder's canonical path).
async fn collect(
    dir: &Path,
    here: &Path,
    root: &Path,
    depth: usize,
    found: &mut Vec<Candidate>,
) -> Result<()> {
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
        // The entry's own type: a symlink is reported as a symlink, not as its target.
        let kind = entry.file_type().await.map_err(unreadable)?;
        if kind.is_dir() {
            if depth < DEPTH_MAX {
                let below = here.join(entry.file_name());
                Box::pin(collect(&path, &below, root, depth + 1, found)).await?;
            }
            continue;
        }
        if !is_markdown(&path) {
            continue;
        }
        if found.len() == FILES_MAX {
            return Err(ValidationError::new(
                "dir",
                format!("holds more than {FILES_MAX} markdown files; sync a smaller folder"),
            )
            .into());
        }
        let target = if kind.is_symlink() {
            resolve_symlink(&path, root).await
        } else if kind.is_file() {
            // Canonical without a lookup: the folders walked are real ones below `root`.
            Ok(here.join(entry.file_name()))
        } else {
            Err(not_regular(&kind))
        };
        if target.as_ref().is_ok_and(|t| t.is_dir()) {
            continue; // a symlinked folder named `*.md`: folders behind symlinks are not followed
        }
        found.push(Candidate {
            path,
            is_link: kind.is_symlink(),
            target,
        });
    }
    Ok(())
}

/// Drops symlinks that lead to a file listed anyway (under its own name or another link), so a
/// linked runbook is loaded once, not reported as a duplicate slug.
fn drop_aliases(candidates: &mut Vec<Candidate>) {
    let mut seen = std::collections::HashSet::new();
    // Real files first, so they win over links to them.
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| candidates[i].is_link);
    let mut keep = vec![true; candidates.len()];
    for i in order {
        if let Ok(target) = &candidates[i].target
            && !seen.insert(target.clone())
        {
            keep[i] = false;
        }
    }
    let mut index = 0;
    candidates.retain(|_| {
        index += 1;
        keep[index - 1]
    });
}

/// Where a symlink leads, if that is a regular file inside `root`.
async fn resolve_symlink(path: &Path, root: &Path) -> std::result::Result<PathBuf, String> {
    let target = tokio::fs::canonicalize(path)
        .await
        .map_err(|err| format!("is a symlink that cannot be followed: {err}"))?;
    if !target.starts_with(root) {
        return Err(
            "is a symlink to a file outside the runbook folder; only files inside it are read"
                .to_owned(),
        );
    }
    let kind = tokio::fs::metadata(&target)
        .await
        .map_err(|err| format!("is a symlink whose target cannot be read: {err}"))?
        .file_type();
    if kind.is_file() || kind.is_dir() {
        Ok(target)
    } else {
        Err(not_regular(&kind))
    }
}

fn not_regular(kind: &std::fs::FileType) -> String {
    let what = if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    };
    format!("is {what}; only regular files are read as runbooks")
}

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("md"))
}

/// Reads one regular file, at most one byte past the cap, or says why it cannot be used (with
/// the line for text that is not UTF-8).
async fn read_file(path: &Path) -> std::result::Result<String, (u64, String)> {
    let cannot = |err: std::io::Error| (1, format!("cannot be read: {err}"));
    // O_NONBLOCK: should the file have been swapped for a FIFO since it was listed, the open
    // does not wait for a writer. O_NOFOLLOW: nor for a symlink.
    let file = tokio::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOFOLLOW)
        .open(path)
        .await
        .map_err(cannot)?;
    let kind = file.metadata().await.map_err(cannot)?.file_type();
    if !kind.is_file() {
        return Err((1, not_regular(&kind)));
    }
    let mut bytes = Vec::new();
    file.take(DOCUMENT_MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(cannot)?;
    if bytes.len() > DOCUMENT_MAX_BYTES {
        return Err((
            1,
            format!(
                "is larger than {DOCUMENT_MAX_BYTES} bytes (1 MiB), the most a runbook may have"
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
