//! What the client tests share: finding the clients `.ci/signal-clients.sh` installs, running
//! a client to its end, and reading (or waiting for) what the deliveries wrote.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use tokio::process::Command;

use crate::support::signals::Signals;
use crate::support::{TestDb, call, ok};

/// What every failure to find a client says.
pub(super) const INSTALL: &str = "run `source .ci/signal-clients.sh` once: it installs the real \
     signal clients (Alertmanager, PagerDuty's Python client, Octokit's webhook packages) and \
     exports ALERTMANAGER_BIN, PAGERDUTY_PYTHON, OCTOKIT_EXAMPLES and OCTOKIT_METHODS";

/// How long anything a sender must do may take (Alertmanager's waits are a second or two).
pub(super) const PATIENCE: Duration = Duration::from_secs(30);

// --- Finding the clients ------------------------------------------------------------------

/// A path inside the repository.
pub(super) fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The file `variable` names or else `default`, which must exist; the failure names the
/// setup script.
fn located(variable: &str, default: Option<PathBuf>, what: &str) -> PathBuf {
    let (path, from) = match std::env::var_os(variable).filter(|v| !v.is_empty()) {
        Some(value) => (PathBuf::from(value), format!("${variable}")),
        None => match default {
            Some(path) => (path, format!("the default, as ${variable} is not set")),
            None => panic!("{what}: ${variable} is not set and none is on PATH; {INSTALL}"),
        },
    };
    assert!(
        path.exists(),
        "{what}: {} ({from}) does not exist; {INSTALL}",
        path.display()
    );
    path
}

/// The first of `names` found on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// The Alertmanager binary (Debian names it `prometheus-alertmanager`).
pub(super) fn alertmanager_bin() -> PathBuf {
    located(
        "ALERTMANAGER_BIN",
        on_path(&["prometheus-alertmanager", "alertmanager"]),
        "Prometheus Alertmanager",
    )
}

/// The venv's Python, which can `import pagerduty`.
pub(super) fn pagerduty_python() -> PathBuf {
    located(
        "PAGERDUTY_PYTHON",
        Some(repo(".ci/work/pyenv/bin/python")),
        "the Python with PagerDuty's client",
    )
}

/// The examples file and the methods package of Octokit, as the signing helper takes them.
pub(super) fn octokit_packages() -> [(&'static str, PathBuf); 2] {
    let modules = repo(".ci/work/octokit/node_modules/@octokit");
    let examples = located(
        "OCTOKIT_EXAMPLES",
        Some(modules.join("webhooks-examples/api.github.com/index.json")),
        "@octokit/webhooks-examples",
    );
    let methods = located(
        "OCTOKIT_METHODS",
        Some(modules.join("webhooks-methods")),
        "@octokit/webhooks-methods",
    );
    assert!(
        methods.join("package.json").is_file(),
        "@octokit/webhooks-methods: {} holds no package.json; {INSTALL}",
        methods.display()
    );
    [("OCTOKIT_EXAMPLES", examples), ("OCTOKIT_METHODS", methods)]
}

/// A program a client needs that is not one the script installs (`node`, `python3`).
pub(super) fn system_program(name: &str, needed_for: &str) -> PathBuf {
    on_path(&[name]).unwrap_or_else(|| panic!("`{name}` is not on PATH; {needed_for} needs it"))
}

// --- Running them -------------------------------------------------------------------------

/// What a finished client process did.
pub(super) struct Ran {
    /// Its exit code (`None`: killed by a signal).
    pub(super) code: Option<i32>,
    /// Its standard output, trimmed.
    pub(super) stdout: String,
    /// Its standard error, trimmed.
    pub(super) stderr: String,
}

impl Ran {
    /// Whether it exited 0.
    pub(super) fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `command` to its end (killed after [`PATIENCE`]).
pub(super) async fn run(command: &mut Command, what: &str) -> Ran {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .unwrap_or_else(|_| panic!("{what} still running after {PATIENCE:?}"))
        .unwrap_or_else(|err| panic!("{what} could not be started: {err}"));
    Ran {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    }
}

// --- Looking at the database --------------------------------------------------------------

/// The one `bigint` `sql` selects.
pub(super) async fn scalar(db: &TestDb, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(AssertSqlSafe(sql.to_owned()))
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    n
}

/// The one text `sql` selects (`None` for no row or null).
pub(super) async fn text(db: &TestDb, sql: &str) -> Option<String> {
    let row: Option<(Option<String>,)> = sqlx::query_as(AssertSqlSafe(sql.to_owned()))
        .fetch_optional(&db.pool)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    row.and_then(|(value,)| value)
}

/// Every line of the alert ledger, for failure messages.
pub(super) async fn ledger(db: &TestDb) -> String {
    text(
        db,
        "select string_agg(format('%s %s %s %s: %s', seq, source, decision, \
         coalesce(alert_key, '-'), reason), E'\\n' order by seq) from alert_decision",
    )
    .await
    .unwrap_or_else(|| "(empty)".to_owned())
}

/// The log of a sender that keeps none while it runs (a script run to its end, whose output
/// is in its [`Ran`]).
pub(super) fn no_log() -> String {
    String::new()
}

/// The ledger and a sender's log, for failure messages.
pub(super) async fn evidence(db: &TestDb, log: &dyn Fn() -> String) -> String {
    format!("ledger:\n{}\n{}", ledger(db).await, log())
}

/// Asserts that `sql` selects `want`; the failure says `why` and shows the ledger and `log`.
pub(super) async fn expect_scalar(
    db: &TestDb,
    why: &str,
    sql: &str,
    want: i64,
    log: &dyn Fn() -> String,
) {
    let got = scalar(db, sql).await;
    if got != want {
        panic!(
            "{why}: `{sql}` is {got}, wanted {want}\n{}",
            evidence(db, log).await
        );
    }
}

/// Asserts how many rows each of `tables` holds, as `(table, rows)`; the failure says `why`
/// and shows the ledger and `log`.
pub(super) async fn expect_rows(
    db: &TestDb,
    why: &str,
    tables: &[(&str, i64)],
    log: &dyn Fn() -> String,
) {
    for (table, rows) in tables {
        let sql = format!("select count(*) from {table}");
        expect_scalar(db, why, &sql, *rows, log).await;
    }
}

/// Asserts that `sql` selects the text `want`; the failure says `why` and shows the ledger
/// and `log`.
pub(super) async fn expect_text(
    db: &TestDb,
    why: &str,
    sql: &str,
    want: Option<&str>,
    log: &dyn Fn() -> String,
) {
    let got = text(db, sql).await;
    if got.as_deref() != want {
        panic!(
            "{why}: `{sql}` is {got:?}, wanted {want:?}\n{}",
            evidence(db, log).await
        );
    }
}

/// Polls until `sql` selects `want`, failing after [`PATIENCE`] with the ledger and `log`.
pub(super) async fn eventually(
    db: &TestDb,
    what: &str,
    sql: &str,
    want: i64,
    log: &dyn Fn() -> String,
) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let got = scalar(db, sql).await;
        if got == want {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "{what}: not within {PATIENCE:?} (`{sql}` is {got}, wanted {want})\n{}",
                evidence(db, log).await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// --- Looking through MCP ------------------------------------------------------------------

/// The brief of `INC-<number>` as an agent reads it.
pub(super) async fn brief(signals: &Signals, number: i64) -> Value {
    ok(call(
        &signals.client,
        "get_incident",
        json!({"incident": format!("INC-{number}")}),
    )
    .await)
}

/// The `fields` of a brief's incident, in order: one value to compare at once.
pub(super) fn picked(brief: &Value, fields: &[&str]) -> Value {
    fields
        .iter()
        .map(|field| brief["incident"][*field].clone())
        .collect()
}
