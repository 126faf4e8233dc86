//! Headless Chromium (Debian's `chromium`, which `.ci/run` installs): the DOM a visitor's
//! browser builds, and a screenshot at phone width.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

/// How long Chromium may take (its first start on a cold machine is slow).
const PATIENCE: Duration = Duration::from_secs(60);

fn chromium(profile: &Path) -> Command {
    let binary = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| {
            std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|dir| dir.join(name).is_file())
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "chromium is not installed: the status page test renders the page in headless \
                 Chromium. Install it (Debian: `apt-get install chromium`) and run again"
            )
        });
    let mut command = Command::new(binary);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .args(["--disable-dev-shm-usage", "--hide-scrollbars"])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("chromium").display()
        ))
        .env("HOME", profile)
        .kill_on_drop(true);
    command
}

async fn run(mut command: Command) -> std::process::Output {
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .unwrap_or_else(|_| panic!("chromium did not finish within {PATIENCE:?}"))
        .expect("run chromium");
    assert!(
        output.status.success(),
        "chromium failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The DOM Chromium builds for `url`, serialised.
pub(crate) async fn dump_dom(url: &str, profile: &Path) -> String {
    let mut command = chromium(profile);
    command.args(["--dump-dom", url]);
    String::from_utf8(run(command).await.stdout).expect("UTF-8 DOM")
}

/// A screenshot of `url` at `size` (width, height) written to `file`.
pub(crate) async fn screenshot(url: &str, profile: &Path, file: &Path, size: (u32, u32)) {
    let mut command = chromium(profile);
    command
        .arg(format!("--screenshot={}", file.display()))
        .arg(format!("--window-size={},{}", size.0, size.1))
        .arg(url);
    let output = run(command).await;
    assert!(
        file.is_file(),
        "chromium wrote no screenshot:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
