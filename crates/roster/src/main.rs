//! The `roster` binary: read the configuration, log to stderr (journald keeps it), serve.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_target(false)
        .with_ansi(false)
        .init();
    let config = roster::Config::parse();
    match roster::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "roster failed");
            ExitCode::from(2)
        }
    }
}
