//! Unit tests for `store::cluster`.

#![allow(clippy::unwrap_used, reason = "a failing test should panic")]

use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::data_dir::{MAX_SOCKET_PATH, check_path};
use super::programs::{
    SERVER_PROGRAMS, candidate_dirs, major_version, parse_version, versioned_bin_dirs,
};
use super::server::{parse_pid, server_options, shared_buffers_mib};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fb-cluster-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn fake_bin(dir: PathBuf, programs: &[&str]) -> PathBuf {
    fs::create_dir_all(&dir).unwrap();
    for name in programs {
        fs::write(dir.join(name), "").unwrap();
        fs::set_permissions(dir.join(name), Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[test]
fn discovery_order_is_path_then_pg_config_then_prefixes() {
    let root = scratch("order");
    let partial = fake_bin(root.join("partial"), &["postgres", "pg_ctl"]);
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|n| fake_bin(root.join(n), &SERVER_PROGRAMS));
    let path = std::env::join_paths([&partial, &a, &b]).unwrap();
    let prefixes = || vec![d.clone(), a.clone()];
    let found: Vec<_> = candidate_dirs(Some(&path), || Some(c.clone()), prefixes).collect();
    assert_eq!(found, [a.clone(), b, c, d]);
    // pg_config does not even run when PATH has the programs.
    let first = candidate_dirs(Some(&path), || panic!("pg_config ran"), Vec::new).next();
    assert_eq!(first, Some(a));
    fs::remove_dir_all(root).unwrap();
}

#[test]
fn versioned_dirs_sort_highest_first() {
    let root = scratch("versions");
    for name in ["9.6", "15", "17", "13", "common", "postgresql@16"] {
        fs::create_dir(root.join(name)).unwrap();
    }
    let expected = ["17", "15", "13", "9.6"].map(|v| root.join(v).join("bin"));
    assert_eq!(versioned_bin_dirs(&root, ""), expected);
    let brew = [root.join("postgresql@16/bin")];
    assert_eq!(versioned_bin_dirs(&root, "postgresql@"), brew);
    fs::remove_dir_all(root).unwrap();
}

#[test]
fn parses_versions_and_pids() {
    let debian = parse_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n");
    assert_eq!(debian.as_deref(), Some("15.18"));
    assert_eq!(parse_version("garbage"), None);
    assert_eq!(major_version("15.18"), "15");
    assert_eq!(major_version("9.6.24"), "9.6");
    assert_eq!(major_version("17beta1"), "17");
    let status = "pg_ctl: server is running (PID: 4242)\n/usr/bin/postgres";
    assert_eq!(parse_pid(status), Some(4242));
}

#[test]
fn data_dir_paths_are_checked() {
    assert!(check_path(Path::new("/var/lib/firebreak/postgres")).is_ok());
    let long = PathBuf::from(format!("/tmp/{}", "x".repeat(MAX_SOCKET_PATH)));
    let error = check_path(&long).unwrap_err().to_string();
    assert!(error.contains("Unix allows 10"), "{error}");
    let quoted = check_path(Path::new("/tmp/a$b")).unwrap_err().to_string();
    assert!(quoted.contains("cannot quote"), "{quoted}");
    let root = check_path(Path::new("/")).unwrap_err().to_string();
    assert!(root.contains("inside a parent folder"), "{root}");
}

#[test]
fn shared_buffers_are_an_eighth_of_memory_within_bounds() {
    let gib = 1024 * 1024;
    assert_eq!(shared_buffers_mib(None), 128);
    assert_eq!(shared_buffers_mib(Some(512 * 1024)), 128);
    assert_eq!(shared_buffers_mib(Some(4 * gib)), 512);
    assert_eq!(shared_buffers_mib(Some(24 * gib)), 1024);
    assert!(server_options(Path::new("/tmp/pg")).contains("-c shared_buffers="));
}

#[test]
fn server_options_quote_the_socket_dir() {
    let options = server_options(Path::new("/home/o'neil/Application Support/pg"));
    let quoted = r#"-k '"/home/o'\''neil/Application Support/pg"'"#;
    assert!(options.contains(quoted), "{options}");
    assert!(options.contains("listen_addresses=''"));
}
