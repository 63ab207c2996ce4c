//! Ctrl-C during `up`: the first stops the run after the commands in progress, the second
//! stops it at once.
//!
//! Stopping between commands keeps every host in a state the next run understands: a file is
//! written whole or not at all (uploads are atomic), a package installation finishes on the
//! host (it must), and new firewall rules that were not yet confirmed are rolled back by their
//! dead-man switch. The run then reports what it did and what it did not.

use anyhow::{Result, bail};
use std::sync::atomic::{AtomicBool, Ordering};

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether a stop was asked for.
pub fn requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

/// Ask the run to stop before its next command.
pub fn request() {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Resolves once a stop was asked for: for waits that no command of this run ends, such as
/// the wait for another run's lock.
pub async fn stop_requested() {
    while !requested() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// An error, if a stop was asked for, instead of starting `step` on `host`.
pub fn refuse_after_ctrl_c(host: &str, step: &str) -> Result<()> {
    if requested() {
        bail!("{host}: stopped by Ctrl-C before {step}");
    }
    Ok(())
}

/// Listen for Ctrl-C for the rest of the process: the first asks the run to stop after the
/// commands in progress, the second ends the process at once (exit 130, as shells do).
pub fn listen(say: impl Fn(&str) + Send + 'static) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        request();
        say("Ctrl-C: stopping after the commands in progress (Ctrl-C again to stop at once)");
        if tokio::signal::ctrl_c().await.is_ok() {
            say("Ctrl-C again: stopping now");
            std::process::exit(130);
        }
    });
}
