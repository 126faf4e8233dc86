//! nginx (`NGINX_BIN`) as a child on a loopback port, configured by the file we ship,
//! `deploy/nginx.conf`, rendered with the test's ports and a private prefix: its pid, logs and
//! temporary files live in a temp dir removed when the test ends.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::support::children::{Captured, free_port};

/// The shipped configuration.
const SHIPPED: &str = include_str!("../../../deploy/nginx.conf");

/// The nginx binary, from `NGINX_BIN` (exported by `.ci/signal-clients.sh`).
pub(crate) fn binary() -> PathBuf {
    match std::env::var_os("NGINX_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "NGINX_BIN is not set: run `source .ci/signal-clients.sh` first (it installs \
             Debian's nginx-light and exports NGINX_BIN=/usr/sbin/nginx)"
        ),
    }
}

/// Replaces the lines from the one containing `begin` to the one containing `end` (both
/// included) with `with`; panics when the markers are missing, so the shipped file and this
/// harness cannot drift apart silently.
fn replace_block(text: &str, begin: &str, end: &str, with: &str) -> String {
    let start = text
        .find(begin)
        .unwrap_or_else(|| panic!("deploy/nginx.conf lost its `{begin}` marker"));
    let start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let stop = text[start..]
        .find(end)
        .map(|i| start + i)
        .unwrap_or_else(|| panic!("deploy/nginx.conf lost its `{end}` marker"));
    let stop = text[stop..].find('\n').map_or(text.len(), |i| stop + i + 1);
    format!("{}{with}{}", &text[..start], &text[stop..])
}

/// How the replicas behind nginx serve MCP: the shipped config's `$firebreak_sessions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `off`: stateless replicas, every request to any replica.
    Stateless,
    /// `on`: replicas with `--http-sessions`, an agent's requests to one replica.
    Sessions,
}

/// `deploy/nginx.conf` with `listen` on `127.0.0.1:port`, the replicas on `upstreams`, every
/// path under `prefix` and `$firebreak_sessions` set for `mode`.
pub(crate) fn render(port: u16, upstreams: &[u16], prefix: &Path, mode: Mode) -> String {
    let p = prefix.display();
    let servers: String = upstreams
        .iter()
        .map(|u| format!("        server 127.0.0.1:{u} max_fails=1 fail_timeout=2s;\n"))
        .collect();
    let text = replace_block(
        SHIPPED,
        "# upstream servers: begin",
        "# upstream servers: end",
        &servers,
    );
    let text = replace_block(
        &text,
        "# paths: begin",
        "# paths: end",
        &format!("pid {p}/nginx.pid;\nerror_log {p}/error.log info;\n"),
    );
    let temp: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        .iter()
        .map(|kind| format!("    {kind}_temp_path {p}/{kind};\n"))
        .collect();
    // The upstream's address in the access log says which replica served each request; the
    // session id a request carried (`sid=`) or its answer created (`new_sid=`) says which
    // session it belonged to.
    let text = replace_block(
        &text,
        "# paths (temporary files): begin",
        "# paths (temporary files): end",
        &format!(
            "{temp}    log_format replicas '$request_method $uri $status \
             sid=$http_mcp_session_id new_sid=$upstream_http_mcp_session_id \
             $upstream_addr';\n    access_log {p}/access.log replicas;\n"
        ),
    );
    let listen = "        listen 80;\n";
    assert!(
        text.contains(listen),
        "deploy/nginx.conf lost its `listen 80;` line"
    );
    let sessions = "        set $firebreak_sessions off;\n";
    assert!(
        text.contains(sessions),
        "deploy/nginx.conf lost its `set $firebreak_sessions off;` line"
    );
    let text = match mode {
        Mode::Stateless => text,
        Mode::Sessions => text.replace(sessions, "        set $firebreak_sessions on;\n"),
    };
    text.replace(listen, &format!("        listen 127.0.0.1:{port};\n"))
}

/// A running nginx; stopped (master and workers) when dropped.
pub(crate) struct Nginx {
    child: Child,
    stderr: Captured,
    /// The port it listens on.
    pub(crate) port: u16,
    prefix: tempfile::TempDir,
}

impl Nginx {
    /// A fresh prefix directory that the workers (which run as `www-data` when we are root)
    /// can enter.
    pub(crate) fn prefix() -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("fbnginx")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    /// `nginx -t` on the config rendered for `upstreams` and `mode`: its status and output.
    pub(crate) async fn test_config(upstreams: &[u16], mode: Mode) -> (bool, String) {
        let prefix = Nginx::prefix();
        let conf = write_conf(prefix.path(), free_port(), upstreams, mode);
        let output = Command::new(binary())
            .arg("-t")
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run nginx -t");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }

    /// Starts nginx in front of the replicas on `upstreams`, configured for `mode`, and waits
    /// until it accepts.
    pub(crate) async fn start(upstreams: &[u16], mode: Mode) -> Nginx {
        let prefix = Nginx::prefix();
        let port = free_port();
        let conf = write_conf(prefix.path(), port, upstreams, mode);
        let mut child = Command::new(binary())
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&conf)
            // In the foreground, so it is our child and stops with the test.
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn nginx");
        let stderr = Captured::collect(child.stderr.take().unwrap());
        let nginx = Nginx {
            child,
            stderr,
            port,
            prefix,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "nginx did not listen within 30 s: {}",
                nginx.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        nginx
    }

    /// nginx's MCP endpoint.
    pub(crate) fn mcp(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// The base URL (for `/hooks/…`).
    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The access log: one line per request,
    /// `METHOD URI STATUS sid=SESSION new_sid=SESSION UPSTREAM[, UPSTREAM…]`
    /// (several when nginx tried more than one replica).
    pub(crate) fn access_log(&self) -> String {
        std::fs::read_to_string(self.prefix.path().join("access.log")).unwrap_or_default()
    }

    /// The error log and stderr, for failure messages.
    pub(crate) fn logs(&self) -> String {
        let error_log =
            std::fs::read_to_string(self.prefix.path().join("error.log")).unwrap_or_default();
        format!(
            "nginx stderr:\n{}\nnginx error.log:\n{error_log}",
            self.stderr.text()
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; SIGKILL (kill_on_drop) would orphan them,
        // still holding the port.
        let Some(pid) = self.child.id() else { return };
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for worker in children_of(pid.as_raw()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(worker),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Writes the rendered config into `prefix`; returns its path.
fn write_conf(prefix: &Path, port: u16, upstreams: &[u16], mode: Mode) -> PathBuf {
    let conf = prefix.join("nginx.conf");
    std::fs::write(&conf, render(port, upstreams, prefix, mode)).unwrap();
    conf
}

/// The processes whose parent is `parent`.
fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let ppid: i32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}
