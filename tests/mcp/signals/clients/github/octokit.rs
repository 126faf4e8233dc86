//! Octokit's side: GitHub's example payloads (`@octokit/webhooks-examples`) extracted to
//! files and signed with `sign` of `@octokit/webhooks-methods`, through
//! `tests/clients/sign_github.mjs`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokio::process::Command;

use super::super::support::{Ran, octokit_packages, repo, run, system_program};

/// GitHub's example payloads, signed with Octokit's `sign`.
pub(super) struct Octokit {
    node: PathBuf,
    packages: [(&'static str, PathBuf); 2],
    dir: tempfile::TempDir,
}

impl Octokit {
    /// Finds `node` and Octokit's packages; payloads go to a new temporary folder.
    pub(super) fn new() -> Octokit {
        Octokit {
            node: system_program("node", "tests/clients/sign_github.mjs"),
            packages: octokit_packages(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs `sign_github.mjs ARGS...` with the packages in its environment.
    async fn helper(&self, args: &[&str]) -> Ran {
        let mut command = Command::new(&self.node);
        command
            .arg(repo("tests/clients/sign_github.mjs"))
            .args(args);
        for (variable, path) in &self.packages {
            command.env(variable, path);
        }
        run(&mut command, "sign_github.mjs").await
    }

    /// The `n`-th example of `event` with `action` (`-`: none), in a file; `None` when there
    /// are fewer.
    pub(super) async fn example(&self, event: &str, action: &str, n: usize) -> Option<PathBuf> {
        let out = self.dir.path().join(format!("{event}-{action}-{n}.json"));
        let out_text = out.to_str().unwrap().to_owned();
        let ran = self
            .helper(&["--extract", event, action, &out_text, &n.to_string()])
            .await;
        if ran.success() {
            return Some(out);
        }
        assert!(
            ran.stderr.contains("example(s) with action"),
            "sign_github.mjs --extract {event} {action} {n}: {ran}"
        );
        None
    }

    /// The first example of `event` with `action` that `wanted` accepts, and its payload.
    pub(super) async fn find(
        &self,
        event: &str,
        action: &str,
        wanted: &dyn Fn(&Value) -> bool,
    ) -> (PathBuf, Value) {
        let mut n = 0;
        loop {
            let Some(file) = self.example(event, action, n).await else {
                panic!("no {event} example with action {action} has what this test needs");
            };
            let payload = read_json(&file);
            if wanted(&payload) {
                return (file, payload);
            }
            n += 1;
        }
    }

    /// `payload` written compactly to a file named `name`.
    pub(super) fn write(&self, name: &str, payload: &Value) -> PathBuf {
        let file = self.dir.path().join(name);
        std::fs::write(&file, payload.to_string()).unwrap();
        file
    }

    /// `sha256=<hex>` of `file` under `secret`, computed by Octokit.
    pub(super) async fn sign(&self, secret: &str, file: &Path) -> String {
        let ran = self.helper(&[secret, file.to_str().unwrap()]).await;
        assert!(ran.success(), "sign_github.mjs: {ran}");
        assert!(ran.stdout.starts_with("sha256="), "a signature: {ran}");
        ran.stdout
    }
}

/// The bytes of `file`.
pub(super) fn read(file: &Path) -> Vec<u8> {
    std::fs::read(file).unwrap_or_else(|err| panic!("{}: {err}", file.display()))
}

/// The JSON in `file`.
pub(super) fn read_json(file: &Path) -> Value {
    serde_json::from_slice(&read(file)).unwrap()
}
