//! The `firebreak` binary: parse the command line, start logging, run the command.

use std::process::ExitCode;

use clap::Parser;
use firebreak::config::{Cli, Command};
use firebreak::{cli, telemetry};

fn main() -> ExitCode {
    let args = Cli::parse();
    telemetry::init();
    let runtime = match runtime(&args) {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = writeln_stderr(&format!("cannot start the async runtime: {err}"));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

/// One thread for a stdio server, which serves one client one message at a time: a
/// multi-threaded runtime would only add cross-thread wake-ups to every call. Everything else
/// (above all HTTP with many clients) gets a worker per core.
fn runtime(args: &Cli) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match &args.command {
        Command::Serve(serve) if serve.http.is_none() => {
            tokio::runtime::Builder::new_current_thread()
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build()
}

async fn run(args: Cli) -> ExitCode {
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
