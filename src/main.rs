//! The `minicloud` binary: parse the command line, run it, map the outcome to an exit code
//! (0 ok, 1 ran but unhealthy, 2 error) and print the whole error chain.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = minicloud::cli::Cli::parse();
    match minicloud::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // Redacted: a host's stderr quoted in an error must not carry a secret out.
            let redact = |text: String| minicloud::secrets::redact(&text);
            eprintln!("error: {}", redact(err.to_string()));
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {}", redact(cause.to_string()));
            }
            ExitCode::from(2)
        }
    }
}
