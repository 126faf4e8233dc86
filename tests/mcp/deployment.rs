//! The deployment artifacts as shipped: the systemd unit passes `systemd-analyze verify` with
//! the built binary, the container definition's command starts a working server with the
//! image's environment and its health check passes against it, and the deployment guide names
//! only settings and files that exist, so none of them can drift from the code unnoticed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

use crate::support::children::{
    Captured, HttpServer, PATIENCE, TOKEN, TOKEN_NAME, exit_within, firebreak, free_port,
};
use crate::support::{TestDb, call, declare, ok};

/// Where the unit and the image install the binary.
const INSTALLED_BINARY: &str = "/usr/local/bin/firebreak";
/// The longest graceful stop: calls in flight (30 s), then notifications being sent (30 s),
/// the queued audit records (30 s) and the tokens' last uses (2 s), as `cli::serve` bounds them.
const LONGEST_STOP: Duration = Duration::from_secs(92);

fn repository_file(path: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    (path, text)
}

/// `systemd-analyze` with `args`; fails the test, naming the package, when it is missing.
fn systemd_analyze(args: &[&str], unit: &Path) -> (bool, String) {
    let output = std::process::Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .unwrap_or_else(|err| {
            panic!(
                "cannot run systemd-analyze ({err}): it comes with systemd (Debian package \
                 `systemd`) and is needed to check deploy/firebreak.service"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The unit with its `ExecStart` program replaced by `binary`, written as `firebreak.service`
/// into `dir`.
fn unit_running(unit: &str, binary: &str, dir: &Path) -> PathBuf {
    let prefix = format!("ExecStart={INSTALLED_BINARY} ");
    assert_eq!(
        unit.lines().filter(|l| l.starts_with(&prefix)).count(),
        1,
        "deploy/firebreak.service must start {INSTALLED_BINARY} in exactly one ExecStart line"
    );
    let replaced = unit.replace(&prefix, &format!("ExecStart={binary} "));
    let path = dir.join("firebreak.service");
    std::fs::write(&path, replaced).unwrap();
    path
}

/// What `verify` says about the unit itself (it may also report on unrelated system units).
fn complaints_about_the_unit(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|line| line.contains("firebreak.service"))
        .collect()
}

#[test]
fn the_systemd_unit_verifies_and_stays_hardened() {
    let (_, unit) = repository_file("deploy/firebreak.service");
    let dir = tempfile::tempdir().unwrap();
    let path = unit_running(&unit, env!("CARGO_BIN_EXE_firebreak"), dir.path());
    let (verified, report) = systemd_analyze(&["verify"], &path);
    assert!(
        verified && complaints_about_the_unit(&report).is_empty(),
        "systemd-analyze verify deploy/firebreak.service:\n{report}"
    );
    // Exposure 0.0 (locked down) to 10.0 (unprotected), times ten: a unit that lost its
    // hardening rises above 2.0.
    let (hardened, report) =
        systemd_analyze(&["security", "--offline=yes", "--threshold=20"], &path);
    assert!(hardened, "the unit's exposure is above 2.0:\n{report}");

    // The same check refuses a unit whose program does not exist, so the pass above means
    // something.
    let missing = dir.path().join("no-such-firebreak");
    let path = unit_running(&unit, missing.to_str().unwrap(), dir.path());
    let (verified, report) = systemd_analyze(&["verify"], &path);
    assert!(
        !verified || !complaints_about_the_unit(&report).is_empty(),
        "verify accepted a missing program:\n{report}"
    );

    let setting = |key: &str| -> Vec<&str> {
        unit.lines()
            .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .collect()
    };
    let stop = firebreak::config::parse_duration(setting("TimeoutStopSec")[0]).unwrap();
    assert!(
        stop > LONGEST_STOP,
        "TimeoutStopSec={stop:?} must outlast Firebreak's longest graceful stop ({LONGEST_STOP:?})"
    );
    assert_eq!(
        setting("Type"),
        ["exec"],
        "Firebreak does not speak sd_notify"
    );
    assert_eq!(
        setting("KillSignal"),
        ["SIGTERM"],
        "SIGTERM starts the drain"
    );
    assert_eq!(setting("EnvironmentFile"), ["/etc/firebreak/env"]);
}

/// The runtime stage of a Containerfile: its instructions after the last `FROM`, continuation
/// lines joined, comments dropped, as (instruction, rest) pairs.
fn runtime_stage(text: &str) -> Vec<(String, String)> {
    let mut instructions = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => pending.push_str(start),
            None => {
                pending.push_str(line);
                let (word, rest) = pending.split_once(' ').unwrap_or((&pending, ""));
                instructions.push((word.to_uppercase(), rest.trim().to_owned()));
                pending.clear();
            }
        }
    }
    let last_from = instructions.iter().rposition(|(word, _)| word == "FROM");
    instructions.split_off(last_from.expect("a FROM line") + 1)
}

/// The one `word` instruction of `stage`.
fn only<'a>(stage: &'a [(String, String)], word: &str) -> &'a str {
    let found: Vec<&str> = stage
        .iter()
        .filter(|(w, _)| w == word)
        .map(|(_, rest)| rest.as_str())
        .collect();
    assert_eq!(found.len(), 1, "one {word} in the runtime stage: {found:?}");
    found[0]
}

fn exec_form(rest: &str) -> Vec<String> {
    serde_json::from_str(rest).unwrap_or_else(|err| panic!("not a JSON array ({err}): {rest}"))
}

/// The image's `ENV` settings, as `KEY=value` pairs.
fn image_environment(stage: &[(String, String)]) -> Vec<(String, String)> {
    stage
        .iter()
        .filter(|(word, _)| word == "ENV")
        .flat_map(|(_, rest)| rest.split_whitespace())
        .map(|pair| {
            let (key, value) = pair.split_once('=').expect("ENV KEY=value");
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// Runs the image's health check command (bash) with `environment`, as the container engine
/// would; true when it reports healthy.
async fn healthy(check: &[String], environment: &[(String, String)]) -> bool {
    let mut command = tokio::process::Command::new(&check[0]);
    command
        .args(&check[1..])
        .envs(environment.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let status = tokio::time::timeout(Duration::from_secs(5), command.status()).await;
    matches!(status, Ok(Ok(status)) if status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_command_serves_and_its_health_check_sees_it() {
    let (_, text) = repository_file("deploy/Containerfile");
    let stage = runtime_stage(&text);
    let known = firebreak::config::environment_variables();
    let mut environment = image_environment(&stage);
    for (key, _) in &environment {
        assert!(
            known.contains(key),
            "the image sets {key}, which Firebreak does not read"
        );
    }
    let user = only(&stage, "USER");
    assert!(
        !["root", "0"].contains(&user.split(':').next().unwrap()),
        "the image runs as root: USER {user}"
    );
    let entrypoint = exec_form(only(&stage, "ENTRYPOINT"));
    assert_eq!(entrypoint[0], INSTALLED_BINARY);
    assert!(only(&stage, "COPY").ends_with(INSTALLED_BINARY));
    let arguments: Vec<String> = entrypoint[1..]
        .iter()
        .cloned()
        .chain(exec_form(only(&stage, "CMD")))
        .collect();
    let check_line = only(&stage, "HEALTHCHECK");
    let check =
        exec_form(&check_line[check_line.find("CMD [").expect("HEALTHCHECK CMD [...]") + 4..]);
    assert!(check.iter().any(|part| part.contains("GET /healthz ")));

    // The image listens on FIREBREAK_HTTP and exposes that port.
    let http = environment
        .iter_mut()
        .find(|(key, _)| key == "FIREBREAK_HTTP")
        .expect("the image sets FIREBREAK_HTTP");
    let (host, port) = http.1.rsplit_once(':').unwrap();
    assert_eq!(
        only(&stage, "EXPOSE"),
        port,
        "EXPOSE and FIREBREAK_HTTP disagree"
    );
    assert_eq!(
        host, "0.0.0.0",
        "a container must listen beyond its own loopback"
    );
    // The same address on a free port: tests share the machine.
    let port = free_port();
    http.1 = format!("{host}:{port}");

    let db = TestDb::new().await;
    let container = |command: &mut tokio::process::Command| {
        command
            .args(&arguments)
            .envs(environment.iter().map(|(k, v)| (k, v)))
            .env("DATABASE_URL", db.url())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
    };

    // Without credentials the container refuses to listen on every interface.
    let mut open = firebreak();
    container(&mut open);
    let mut child = open.spawn().unwrap();
    let stderr = Captured::collect(child.stderr.take().unwrap());
    let status = exit_within(&mut child, PATIENCE, &stderr).await;
    assert!(!status.success(), "served without credentials");
    assert!(
        stderr.text().contains("FIREBREAK_TOKENS"),
        "{}",
        stderr.text()
    );

    let mut command = firebreak();
    container(&mut command);
    command.env("FIREBREAK_TOKENS", format!("{TOKEN_NAME}:{TOKEN}"));
    let mut child = command.spawn().unwrap();
    let stderr = Captured::collect(child.stderr.take().unwrap());
    let mut server = HttpServer {
        child,
        stderr,
        base: format!("http://127.0.0.1:{port}"),
        port,
    };
    // As the engine would during the start period: check until healthy.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !healthy(&check, &environment).await {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("exited ({status}); stderr:\n{}", server.stderr.text());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the health check never passed; stderr:\n{}",
            server.stderr.text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let client = server.client().await;
    let reference = declare(&client, "checkout-api 5xx in the container", "SEV2").await;
    let brief = ok(call(&client, "get_incident", json!({"incident": reference})).await);
    assert_eq!(brief["incident"]["reference"], Value::from(reference));
    drop(client);

    // `docker stop` sends STOPSIGNAL; the server drains and exits cleanly, then the check fails.
    let stop_signal = only(&stage, "STOPSIGNAL");
    assert_eq!(stop_signal, "SIGTERM");
    let pid = Pid::from_raw(server.child.id().unwrap() as i32);
    kill(pid, Signal::SIGTERM).unwrap();
    let status = exit_within(&mut server.child, LONGEST_STOP, &server.stderr).await;
    assert!(
        status.success(),
        "{status}; stderr:\n{}",
        server.stderr.text()
    );
    assert!(
        !healthy(&check, &environment).await,
        "healthy after the server stopped"
    );
}

/// Every `FIREBREAK_…` name in `text`.
fn setting_names(text: &str) -> BTreeSet<String> {
    let pattern = regex::Regex::new(r"\bFIREBREAK_[A-Z][A-Z_]*[A-Z]\b").unwrap();
    pattern
        .find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect()
}

#[test]
fn the_deployment_guide_names_only_settings_and_files_that_exist() {
    let known = firebreak::config::environment_variables();
    let (_, guide) = repository_file("docs/deployment.md");
    let mut unknown = Vec::new();
    for file in [
        "docs/deployment.md",
        "deploy/firebreak.service",
        "deploy/Containerfile",
        "deploy/nginx.conf",
    ] {
        let (_, text) = repository_file(file);
        for name in setting_names(&text) {
            if !known.contains(&name) {
                unknown.push(format!("{file}: {name}"));
            }
        }
    }
    assert!(unknown.is_empty(), "not a Firebreak setting: {unknown:?}");
    // The guide really is about configuration: an emptied guide would pass the loop above.
    let named = setting_names(&guide);
    assert!(
        named.len() >= 10,
        "the guide names too few settings: {named:?}"
    );

    let paths =
        regex::Regex::new(r"\b(?:deploy|docs|src|tests|migrations)/[A-Za-z0-9_./-]*[A-Za-z0-9]")
            .unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let missing: Vec<&str> = paths
        .find_iter(&guide)
        .map(|m| m.as_str())
        .filter(|path| !root.join(path).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "the guide names files that do not exist: {missing:?}"
    );
}
