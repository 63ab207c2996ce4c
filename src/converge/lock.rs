//! One `up` at a time on each host: a lock taken on every host before anything changes, held
//! for the run by a command that waits on its SSH channel, so it is released when the run ends,
//! its connection drops or its process dies — never left behind.
//!
//! Two runs over overlapping hosts must not each take some hosts and wait for the others. So
//! every lock is first tried at once (the usual case: nobody else runs); if any host is busy,
//! what was taken is let go and the locks are taken again one host at a time in one order (by
//! address), waiting at each: of two runs started together, one gets all and the other waits
//! for it, or gives up after the wait saying who holds the host.

use super::commands;
use super::session::Session;
use crate::ssh::Held;
use anyhow::{Result, bail};
use futures_util::future::try_join_all;
use indexmap::IndexMap;
use std::time::Duration;

/// Locks held on every host of a run; dropping this releases them.
pub struct RunLocks {
    _held: Vec<Held>,
}

/// Who this run is, for another run that finds a host busy: the control machine, user,
/// process and start time.
pub fn holder_description() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    let user = std::env::var("USER").unwrap_or_else(|_| "?".into());
    let started = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
    let text = format!(
        "minicloud up by {user}@{host}, pid {}, started {started}",
        std::process::id()
    );
    // What another run prints must be one plain line.
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// What a lock command's first line says.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Locked,
    Busy(String),
}

/// Read a lock command's first line.
pub fn parse_answer(line: &str) -> Answer {
    match line.strip_prefix("busy: ") {
        Some(holder) => Answer::Busy(holder.trim().to_string()),
        None if line.trim() == "locked" => Answer::Locked,
        None => Answer::Busy(format!("unexpected answer {:?}", line.trim())),
    }
}

/// Take the lock on one host: the held lock, or who holds it.
async fn try_lock(session: &Session, wait: Duration, holder: &str) -> Result<Result<Held, String>> {
    let script = commands::run_lock(wait.as_secs(), holder);
    let line = match session.hold(&script).await {
        Ok((line, held)) => match parse_answer(&line) {
            Answer::Locked => return Ok(Ok(held)),
            Answer::Busy(other) => other,
        },
        Err(err) => match err.downcast_ref::<crate::ssh::Refused>() {
            Some(refused) if refused.status == 75 => match parse_answer(&refused.stdout) {
                Answer::Busy(other) => other,
                Answer::Locked => unreachable!("a lock that was taken is not refused"),
            },
            Some(refused) => bail!(
                "{}: cannot take the run lock (exit {}): {}",
                session.name,
                refused.status,
                refused.stderr
            ),
            None => return Err(err),
        },
    };
    Ok(Err(line))
}

/// Take the run lock on every host, waiting up to `wait` for a host another run holds.
pub async fn lock_all(sessions: &IndexMap<String, Session>, wait: Duration) -> Result<RunLocks> {
    let holder = holder_description();
    let first: Vec<Result<Held, String>> = try_join_all(
        sessions
            .values()
            .map(|session| try_lock(session, Duration::ZERO, &holder)),
    )
    .await?;
    if first.iter().all(Result::is_ok) {
        return Ok(RunLocks {
            _held: first.into_iter().filter_map(Result::ok).collect(),
        });
    }
    // Let go of what was taken, and wait until it is free: a run must not wait for itself.
    futures_util::future::join_all(first.into_iter().filter_map(Result::ok).map(Held::release))
        .await;
    let mut ordered: Vec<&Session> = sessions.values().collect();
    ordered.sort_by_key(|s| (s.conn.target().address.clone(), s.conn.target().port));
    let mut held = Vec::new();
    for session in ordered {
        // Ctrl-C ends the wait at once: nothing has changed yet. (The remote `flock` waits on
        // until it times out or gets the lock; its shell then dies writing `locked` to the
        // connection this process closed on exit, which lets the lock go.)
        let taken = tokio::select! {
            taken = try_lock(session, wait, &holder) => taken?,
            () = super::interrupt::stop_requested() => bail!(
                "{}: stopped by Ctrl-C while waiting for another run's lock; nothing was changed \
                 on any host",
                session.name
            ),
        };
        match taken {
            Ok(lock) => held.push(lock),
            Err(other) => bail!(
                "{}: another run holds this host ({other}); waited {} s; nothing was changed on \
                 any host\n  hint: wait for it to end and run again (or raise --lock-wait); a run \
                 whose connection dropped lets go of its hosts by itself",
                session.name,
                wait.as_secs()
            ),
        }
    }
    Ok(RunLocks { _held: held })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        assert_eq!(parse_answer("locked"), Answer::Locked);
        assert_eq!(
            parse_answer("busy: minicloud up by ops@ctl, pid 7"),
            Answer::Busy("minicloud up by ops@ctl, pid 7".into())
        );
        assert!(matches!(
            parse_answer("sudo: a password is required"),
            Answer::Busy(_)
        ));
    }

    #[test]
    fn the_holder_is_one_printable_line() {
        let holder = holder_description();
        assert!(holder.starts_with("minicloud up by "), "{holder}");
        assert!(!holder.chars().any(char::is_control), "{holder}");
    }

    /// The real scripts with a scratch folder: a command an earlier run left running (here a
    /// `sleep`, holding its share as every command of a run does) keeps a new run from
    /// starting, even with no wait for other runs (`--lock-wait 0`): it is waited for (an
    /// installation must finish), and the lock is taken once it ended.
    #[test]
    fn a_new_run_waits_for_the_commands_an_earlier_one_left_running() {
        use std::process::Command;
        let dir = tempfile::tempdir().unwrap();
        let local =
            |script: String| script.replace(commands::RUN_DIR, dir.path().to_str().unwrap());
        let mut leftover = Command::new("sh")
            .arg("-c")
            .arg(local(commands::in_run("sleep 1.5")))
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let waited = Command::new("sh")
            .arg("-c")
            .arg(local(commands::run_lock(0, "new run")))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&waited.stdout), "locked\n");
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "locked while the earlier run's command still ran ({:?})",
            started.elapsed()
        );
        assert!(leftover.wait().unwrap().success());
    }

    /// The real lock script, run twice here with a scratch folder: the second finds the first
    /// holding the lock and names it; once the first's input ends, the second gets it.
    #[test]
    fn the_lock_script_holds_until_its_input_ends() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let script = |wait, holder| {
            commands::run_lock(wait, holder)
                .replace(commands::RUN_DIR, dir.path().to_str().unwrap())
        };
        let mut first = Command::new("sh")
            .arg("-c")
            .arg(script(0, "first run"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(first.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(parse_answer(&line), Answer::Locked);
        let second = Command::new("sh")
            .arg("-c")
            .arg(script(0, "second"))
            .output()
            .unwrap();
        assert_eq!(second.status.code(), Some(75));
        assert_eq!(
            parse_answer(&String::from_utf8_lossy(&second.stdout)),
            Answer::Busy("first run".into())
        );
        first.stdin.take().unwrap().flush().unwrap();
        assert!(first.wait().unwrap().success());
        let third = Command::new("sh")
            .arg("-c")
            .arg(script(0, "third"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&third.stdout), "locked\n");
    }
}
