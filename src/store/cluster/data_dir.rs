//! The data directory and the files beside it: checking its path, creating its parent folders,
//! the lock and log files next to it, and the cluster version recorded in it.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{ClusterError, EmbeddedCluster, data_dir_error, io_error};

const SOCKET_FILE: &str = ".s.PGSQL.5432";
/// `sizeof(sun_path)` minus the terminating NUL.
pub(super) const MAX_SOCKET_PATH: usize = if cfg!(any(target_os = "linux", target_os = "android")) {
    107
} else {
    103
};

impl EmbeddedCluster {
    pub(super) fn create_parent_dirs(&self) -> Result<(), ClusterError> {
        let parent = self.data_dir.parent().unwrap_or(Path::new("/"));
        let context = format!("cannot create {}", parent.display());
        if self.run_as.is_none() {
            return fs::create_dir_all(parent).map_err(io_error(context));
        }
        // As root, whatever our umask, new folders must be enterable by `postgres`.
        let missing: Vec<&Path> = parent.ancestors().take_while(|dir| !dir.exists()).collect();
        for dir in missing.into_iter().rev() {
            create_dir_if_missing(DirBuilder::new().mode(0o755), dir)?;
            fs::set_permissions(dir, Permissions::from_mode(0o755)).map_err(io_error(&context))?;
        }
        Ok(())
    }

    /// Takes the per-cluster file lock that serialises concurrent Firebreak processes.
    pub(super) fn lock(&self) -> Result<File, ClusterError> {
        let path = sibling(&self.data_dir, "lock");
        let context = format!("cannot lock {}", path.display());
        let mut options = OpenOptions::new();
        let file = options.create(true).truncate(false).write(true).open(&path);
        let file = file.map_err(io_error(&context))?;
        tracing::debug!(path = %path.display(), "waiting for the embedded cluster lock");
        file.lock().map_err(io_error(context))?;
        Ok(file)
    }
}

/// Rejects paths that `pg_ctl` (which builds a shell command line) or a socket cannot take.
pub(super) fn check_path(data_dir: &Path) -> Result<(), ClusterError> {
    let Some(text) = data_dir.to_str() else {
        return Err(data_dir_error(data_dir, "its path is not valid UTF-8"));
    };
    // pg_ctl pastes the path between double quotes into a `/bin/sh` command line.
    if text.contains(['"', '$', '`', '\\', '\n']) {
        let problem = "its path contains a character pg_ctl cannot quote (\" $ ` \\ or newline)";
        return Err(data_dir_error(data_dir, problem));
    }
    if data_dir.file_name().is_none() {
        return Err(data_dir_error(
            data_dir,
            "it must be a folder inside a parent folder",
        ));
    }
    let socket = data_dir.join(SOCKET_FILE);
    let len = socket.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        let (socket, max) = (socket.display(), MAX_SOCKET_PATH);
        let problem = format!("its socket path {socket} is {len} bytes, Unix allows {max}");
        return Err(data_dir_error(data_dir, problem));
    }
    Ok(())
}

pub(super) fn create_dir_if_missing(builder: &DirBuilder, dir: &Path) -> Result<(), ClusterError> {
    match builder.create(dir) {
        Err(error) if error.kind() != io::ErrorKind::AlreadyExists => Err(io_error(format_args!(
            "cannot create {}",
            dir.display()
        ))(error)),
        _ => Ok(()),
    }
}

/// `<data_dir>.<ext>` next to the data directory (lock and log files).
pub(super) fn sibling(data_dir: &Path, ext: &str) -> PathBuf {
    let mut name = data_dir.as_os_str().to_owned();
    name.push(format!(".{ext}"));
    PathBuf::from(name)
}

pub(super) fn read_pg_version(data_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(data_dir.join("PG_VERSION")).ok()?;
    Some(text.trim().to_owned()).filter(|v| !v.is_empty())
}
