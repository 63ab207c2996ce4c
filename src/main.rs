//! The `minicloud` binary: parse the command line, run it, map the outcome to an exit code
//! (0 ok, 1 ran but unhealthy, 2 error, 3 `plan --detailed-exitcode` with changes pending)
//! and print the whole error chain.

use clap::Parser;
use minicloud::output;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = minicloud::cli::Cli::parse();
    match minicloud::cli::run(cli) {
        Ok(code) => code,
        // The reader of stdout stopped reading (`| head`): nothing failed, nothing to say.
        Err(err) if output::is_stdout_closed(&err) => {
            ExitCode::from(output::code_on_closed_stdout())
        }
        Err(err) => {
            // Redacted: a host's stderr quoted in an error must not carry a secret out.
            let redact = |text: String| minicloud::secrets::redact(&text);
            output::say(&format!("error: {}", redact(err.to_string())));
            for cause in err.chain().skip(1) {
                output::say(&format!("  caused by: {}", redact(cause.to_string())));
            }
            ExitCode::from(2)
        }
    }
}
