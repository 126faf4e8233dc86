//! Postgres refuses to run as root: when we are root, the server runs as the unprivileged
//! `postgres` user, which must be able to enter the data directory's parents and own its files.

use std::fs;
use std::os::unix::fs::{MetadataExt, chown};
use std::path::Path;

use nix::unistd::{Gid, Uid, User};

use super::{ClusterError, data_dir_error, io_error};

/// The user to run the server as when we are root, else `None`.
pub(super) fn unprivileged_user() -> Result<Option<(Uid, Gid)>, ClusterError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match User::from_name("postgres") {
        Ok(Some(user)) if !user.uid.is_root() => Ok(Some((user.uid, user.gid))),
        _ => Err(ClusterError::NoUnprivilegedUser),
    }
}

/// Every existing parent folder must be enterable by the user running the server.
pub(super) fn check_reachable(data_dir: &Path, (uid, gid): (Uid, Gid)) -> Result<(), ClusterError> {
    for dir in data_dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(dir) else {
            continue;
        };
        let bit = match (meta.uid() == uid.as_raw(), meta.gid() == gid.as_raw()) {
            (true, _) => 0o100,
            (false, true) => 0o010,
            (false, false) => 0o001,
        };
        if meta.mode() & bit == 0 {
            let problem = format!(
                "the `postgres` user, which runs PostgreSQL because Firebreak runs as root, cannot \
                 enter {} (allow it with `chmod o+x`; the default /var/lib/firebreak/postgres works)",
                dir.display()
            );
            return Err(data_dir_error(data_dir, problem));
        }
    }
    Ok(())
}

pub(super) fn give_to(path: &Path, (uid, gid): (Uid, Gid)) -> Result<(), ClusterError> {
    let context = format!("cannot give {} to the postgres user", path.display());
    chown(path, Some(uid.as_raw()), Some(gid.as_raw())).map_err(io_error(context))
}
