//! The `minicloud` binary: parse the command line, run it, map the outcome to an exit code
//! (0 ok, 1 ran but unhealthy, 2 error) and print the whole error chain.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = minicloud::cli::Cli::parse();
    match minicloud::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
