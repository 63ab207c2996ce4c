//! What the CLI prints, and how: stdout writes that report a closed pipe instead of panicking,
//! colour and quiet settings, and `up`'s progress (a spinner on a terminal, lines elsewhere).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Stdout was closed by its reader (`minicloud render … | head -1`): not a failure of the
/// command, so the process ends quietly with the command's code (see [`code_on_closed_stdout`]).
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout was closed by its reader")
    }
}

impl std::error::Error for StdoutClosed {}

/// A failed write to stdout as an error: [`StdoutClosed`] for a broken pipe, kept apart from
/// other broken pipes (an SSH channel's is a real failure and must not end the run quietly).
pub fn stdout_error(err: std::io::Error) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(StdoutClosed)
    } else {
        anyhow::Error::new(err).context("cannot write to stdout")
    }
}

/// `print!` that returns `anyhow::Result<()>`: use with `?`.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*).map_err($crate::output::stdout_error)
    }};
}

/// `println!` that returns `anyhow::Result<()>`: use with `?`.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::output::stdout_error)
    }};
}

/// The exit code when stdout closes early: 0 unless the command already knows its outcome
/// (status, for one, decides its verdict before printing it).
static CLOSED_STDOUT_CODE: AtomicU8 = AtomicU8::new(0);

/// Set the code to exit with should stdout close while the outcome is printed.
pub fn set_code_on_closed_stdout(code: u8) {
    CLOSED_STDOUT_CODE.store(code, Ordering::Relaxed);
}

/// The code to exit with after [`StdoutClosed`].
pub fn code_on_closed_stdout() -> u8 {
    CLOSED_STDOUT_CODE.load(Ordering::Relaxed)
}

/// Whether `err` (or one of its causes) is stdout closed by its reader.
pub fn is_stdout_closed(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<StdoutClosed>())
}

/// A line to stderr; a closed stderr is ignored (nowhere left to say anything).
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `--color`: when to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set (to anything but "") or TERM is dumb.
    #[default]
    Auto,
    /// Always colour, even into a pipe or with NO_COLOR.
    Always,
    /// Never colour.
    Never,
}

/// How this run prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    /// Colour what goes to stdout.
    pub color_stdout: bool,
    /// Colour what goes to stderr (logs).
    pub color_stderr: bool,
    /// `-q`: only errors and the final verdict.
    pub quiet: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Decide colour for one stream: `is_terminal` of that stream, `no_color` the NO_COLOR value.
pub fn wants_color(
    choice: ColorChoice,
    is_terminal: bool,
    no_color: Option<&str>,
    term: Option<&str>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        // https://no-color.org: set and not empty means no colour.
        ColorChoice::Auto => {
            is_terminal && no_color.is_none_or(str::is_empty) && term != Some("dumb")
        }
    }
}

/// Fix this run's settings from the command line and the environment (once, at start).
pub fn init(choice: ColorChoice, quiet: bool) -> Settings {
    let no_color = std::env::var("NO_COLOR").ok();
    let term = std::env::var("TERM").ok();
    let settings = Settings {
        color_stdout: wants_color(
            choice,
            std::io::stdout().is_terminal(),
            no_color.as_deref(),
            term.as_deref(),
        ),
        color_stderr: wants_color(
            choice,
            std::io::stderr().is_terminal(),
            no_color.as_deref(),
            term.as_deref(),
        ),
        quiet,
    };
    let _ = SETTINGS.set(settings);
    settings
}

/// This run's settings (plain and not quiet until [`init`]).
pub fn settings() -> Settings {
    SETTINGS.get().copied().unwrap_or_default()
}

/// Colour one line of a unified diff for a terminal: additions green, removals red, hunk
/// headers cyan; other lines as they are.
pub fn color_diff_line(line: &str) -> String {
    let code = if line.starts_with("+++") || line.starts_with("---") {
        "1"
    } else if line.starts_with('+') {
        "32"
    } else if line.starts_with('-') {
        "31"
    } else if line.starts_with("@@") {
        "36"
    } else {
        return line.to_string();
    };
    format!("\x1b[{code}m{line}\x1b[0m")
}

/// Progress of a long run: a spinner on a terminal; elsewhere (CI, `| tee`) each step as a
/// line `HOST: step (elapsed)` on stderr, since a spinner there shows nothing at all; nothing
/// with `-q`.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    lines: bool,
}

impl Progress {
    /// A spinner when stderr is a terminal, else lines; silent when quiet.
    pub fn start() -> Progress {
        let quiet = settings().quiet;
        let terminal = std::io::stderr().is_terminal();
        let bar = (terminal && !quiet).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(150));
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            lines: !terminal && !quiet,
        }
    }

    /// The step now under way.
    pub fn set_message(&self, message: impl Into<String>) {
        let message = message.into();
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        } else if self.lines {
            say(&step_line(&message, self.started.elapsed()));
        }
    }

    /// A line kept above the spinner (or printed as is without one).
    pub fn println(&self, line: impl AsRef<str>) {
        if let Some(bar) = &self.bar {
            bar.println(line);
        } else if self.lines {
            say(line.as_ref());
        }
    }

    /// Remove the spinner.
    pub fn finish_and_clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `message (elapsed)`, the elapsed time since the run started in seconds.
pub fn step_line(message: &str, elapsed: Duration) -> String {
    format!("{message} ({:.1}s)", elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_follows_the_flag_then_no_color_then_the_terminal() {
        use ColorChoice::*;
        assert!(wants_color(Auto, true, None, Some("xterm")));
        assert!(!wants_color(Auto, false, None, Some("xterm")));
        assert!(!wants_color(Auto, true, Some("1"), Some("xterm")));
        assert!(wants_color(Auto, true, Some(""), None), "empty NO_COLOR");
        assert!(!wants_color(Auto, true, None, Some("dumb")));
        assert!(wants_color(Always, false, Some("1"), None));
        assert!(!wants_color(Never, true, None, None));
    }

    #[test]
    fn diff_lines_are_coloured_by_kind() {
        assert_eq!(color_diff_line("+a"), "\x1b[32m+a\x1b[0m");
        assert_eq!(color_diff_line("-a"), "\x1b[31m-a\x1b[0m");
        assert_eq!(color_diff_line("@@ -1 +1 @@"), "\x1b[36m@@ -1 +1 @@\x1b[0m");
        assert_eq!(color_diff_line(" same"), " same");
    }

    #[test]
    fn a_step_line_names_the_step_and_the_time() {
        assert_eq!(
            step_line(
                "lb1: writing /etc/haproxy/haproxy.cfg",
                Duration::from_millis(12_340)
            ),
            "lb1: writing /etc/haproxy/haproxy.cfg (12.3s)"
        );
    }

    #[test]
    fn only_a_broken_pipe_is_stdout_closed() {
        let closed = stdout_error(std::io::ErrorKind::BrokenPipe.into());
        assert!(is_stdout_closed(&closed));
        let other = stdout_error(std::io::ErrorKind::PermissionDenied.into());
        assert!(!is_stdout_closed(&other));
        let ssh_pipe = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(!is_stdout_closed(&ssh_pipe));
    }
}
