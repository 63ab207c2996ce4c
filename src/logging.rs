//! `-v` logging: minicloud's own events to stderr, every secret value masked on the way out.
//!
//! Only minicloud's targets are enabled: the SSH library logs at debug level what it sends,
//! which may include a password going to a host on stdin.

use std::io::Write;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Stderr, with [`crate::secrets::redact`] applied to each write.
struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = crate::secrets::redact(&String::from_utf8_lossy(buf));
        std::io::stderr().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Turn logging on: 0 off, 1 steps (info), 2 or more every SSH command too (debug); `color`
/// as decided by `--color` and NO_COLOR for stderr.
pub fn init(verbosity: u8, color: bool) {
    let level = match verbosity {
        0 => return,
        1 => LevelFilter::INFO,
        _ => LevelFilter::DEBUG,
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(|| RedactingStderr)
        .with_target(false)
        .with_ansi(color);
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(Targets::new().with_target("minicloud", level)))
        .try_init();
}
