//! The `firebreak` binary: parse the command line, start logging, run the command.

use std::process::ExitCode;

use clap::Parser;
use firebreak::{cli, config::Cli, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Cli::parse();
    telemetry::init();
    match cli::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A message for the person at the terminal (stderr: stdout may carry the protocol),
            // without a backtrace: every error here says what to do.
            let mut text = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                let cause = cause.to_string();
                if !text.contains(&cause) {
                    text.push_str(": ");
                    text.push_str(&cause);
                }
                source = cause_of(source);
            }
            let _ = writeln_stderr(&text);
            ExitCode::FAILURE
        }
    }
}

fn cause_of<'a>(
    error: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    error.and_then(std::error::Error::source)
}

fn writeln_stderr(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stderr().lock(), "firebreak: {text}")
}
