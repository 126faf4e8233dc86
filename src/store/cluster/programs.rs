//! Finding the PostgreSQL server programs: on PATH, through `pg_config`, or in the usual Debian
//! and Homebrew install locations, of the major version an existing cluster needs.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::data_dir::read_pg_version;
use super::{ClusterError, data_dir_error};

pub(super) const SERVER_PROGRAMS: [&str; 3] = ["postgres", "initdb", "pg_ctl"];

/// First folder of server programs, of the same major version as an existing cluster.
pub(super) fn pick_bin_dir(data_dir: &Path) -> Result<PathBuf, ClusterError> {
    let path_var = std::env::var_os("PATH");
    let pg_config = || program_output(Path::new("pg_config"), "--bindir").map(PathBuf::from);
    let mut candidates = candidate_dirs(path_var.as_deref(), pg_config, prefix_dirs);
    let first = candidates.next().ok_or(ClusterError::ProgramsNotFound)?;
    let Some(wanted) = read_pg_version(data_dir) else {
        return Ok(first);
    };
    let found = programs_version(&first).unwrap_or_else(|| "unknown".to_owned());
    if major_version(&found) == wanted {
        return Ok(first);
    }
    let same_major =
        |dir: &PathBuf| programs_version(dir).is_some_and(|v| major_version(&v) == wanted);
    candidates.find(same_major).ok_or_else(|| {
        let problem = format!(
            "it was created by PostgreSQL {wanted}, but the server programs found ({}) are version \
             {found}; install the PostgreSQL {wanted} server programs or upgrade it with pg_upgrade",
            first.display()
        );
        data_dir_error(data_dir, problem)
    })
}

/// Folders holding all server programs, in order: PATH, `pg_config --bindir`, usual prefixes.
/// Lazy, so `pg_config` runs and prefixes are listed only when PATH has no server programs.
pub(super) fn candidate_dirs<'a>(
    path_var: Option<&'a OsStr>,
    pg_config: impl FnOnce() -> Option<PathBuf> + 'a,
    prefixes: impl FnOnce() -> Vec<PathBuf> + 'a,
) -> impl Iterator<Item = PathBuf> + 'a {
    let mut seen = Vec::new();
    path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .chain(std::iter::once_with(pg_config).flatten())
        .chain(std::iter::once_with(prefixes).flatten())
        .filter(|dir| has_server_programs(dir))
        .filter(move |dir| {
            let new = !seen.contains(dir);
            if new {
                seen.push(dir.clone());
            }
            new
        })
}

fn has_server_programs(dir: &Path) -> bool {
    SERVER_PROGRAMS.iter().all(|name| {
        fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
    })
}

/// Debian and Homebrew install locations (highest version first), then fixed prefixes.
fn prefix_dirs() -> Vec<PathBuf> {
    let mut dirs = versioned_bin_dirs(Path::new("/usr/lib/postgresql"), "");
    for homebrew in ["/opt/homebrew/opt", "/usr/local/opt"] {
        dirs.extend(versioned_bin_dirs(Path::new(homebrew), "postgresql@"));
    }
    dirs.extend(["/opt/homebrew/bin", "/usr/local/pgsql/bin"].map(PathBuf::from));
    dirs
}

/// `<parent>/<prefix><version>/bin` for every version found, highest first.
pub(super) fn versioned_bin_dirs(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name.strip_prefix(prefix)?.split('.');
            let key: Option<Vec<u32>> = version.map(|part| part.parse().ok()).collect();
            Some((key?, entry.path().join("bin")))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

fn programs_version(bin_dir: &Path) -> Option<String> {
    parse_version(&program_output(&bin_dir.join("postgres"), "--version")?)
}

/// Stdout of a short-lived helper program, if it succeeds.
fn program_output(program: &Path, arg: &str) -> Option<String> {
    let output = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_owned()).filter(|_| output.status.success())
}

/// The version in `postgres --version` output, e.g. `15.18`.
pub(super) fn parse_version(output: &str) -> Option<String> {
    let rest = output.split("(PostgreSQL) ").nth(1)?;
    rest.split_whitespace().next().map(str::to_owned)
}

/// Major version as written in `PG_VERSION`: `15.18` → `15`, `9.6.24` → `9.6`, `17beta1` → `17`.
pub(super) fn major_version(version: &str) -> String {
    let mut numbers = version.split(|c: char| !c.is_ascii_digit());
    let major = numbers.next().unwrap_or_default();
    match major.parse::<u32>() {
        Ok(n) if n < 10 => format!("{major}.{}", numbers.next().unwrap_or_default()),
        _ => major.to_owned(),
    }
}
