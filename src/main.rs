//! The `firebreak` binary: parse the command line, start logging, run the command.

use clap::Parser;
use firebreak::{cli, config::Cli, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Cli::parse();
    telemetry::init();
    cli::run(args).await?;
    Ok(())
}
