//! One host during `up` over SSH (the real [`Host`]): its connection, commands as root (sudo
//! for a non-root user), and gates that wait for a condition with a deadline.

use super::commands;
use super::host::Host;
use super::interrupt;
use crate::shell;
use crate::ssh::{Connection, Held, Output};
use anyhow::{Result, bail};
use std::future::Future;
use std::time::{Duration, Instant};

/// A connected host: see the module doc.
pub struct Session {
    /// The inventory host's name.
    pub name: String,
    /// Its SSH connection.
    pub conn: Connection,
    root: bool,
}

impl Session {
    /// The session of inventory host `name` over `conn` (commands through sudo unless root).
    pub fn new(name: &str, conn: Connection) -> Session {
        let root = conn.target().user == "root";
        Session {
            name: name.to_string(),
            conn,
            root,
        }
    }

    /// The command as root: as is for root, through `sudo -n` for another user.
    fn as_root(&self, script: &str) -> String {
        if self.root {
            script.to_string()
        } else {
            format!("sudo -n sh -c {}", shell::quote(script))
        }
    }

    /// `script` as root, holding the run's share of [`commands::ACTIVE_LOCK`].
    fn command(&self, script: &str) -> String {
        self.as_root(&commands::in_run(script))
    }

    /// `script` as root, ended on the host if this run goes away while it runs.
    async fn watched(&self, script: &str) -> Result<Output> {
        self.conn
            .run_watched(&self.command(&commands::ended_with_the_run(script)))
            .await
    }

    /// Run as root; the command is ended on the host if this run goes away while it runs.
    pub async fn run(&self, script: &str) -> Result<Output> {
        interrupt::refuse_after_ctrl_c(&self.name, "the next command")?;
        self.watched(script).await
    }

    /// Run as root; a non-zero exit is an error naming host, step and the end of stderr.
    pub async fn must(&self, step: &str, script: &str) -> Result<Output> {
        interrupt::refuse_after_ctrl_c(&self.name, step)?;
        self.must_in_step(step, script).await
    }

    /// Like [`Session::must`], but run even after a Ctrl-C: for the end of a step already in
    /// progress, which must not be cut between its commands (the firewall's confirmation,
    /// without which the dead-man switch rolls back rules that were fine).
    pub async fn must_in_step(&self, step: &str, script: &str) -> Result<Output> {
        let out = self.watched(script).await?;
        self.judged(step, out)
    }

    /// Like [`Session::must`], for a step that must finish once started (a package
    /// installation, a Galera bootstrap): it goes on on the host if this run goes away, and
    /// the step is written so that the next run meets it safely.
    pub async fn must_finish(&self, step: &str, script: &str) -> Result<Output> {
        interrupt::refuse_after_ctrl_c(&self.name, step)?;
        let out = self.conn.run_with_stdin(&self.command(script), &[]).await?;
        self.judged(step, out)
    }

    /// Run as root with `stdin` as input (an upload: short, and atomic on the host).
    pub async fn must_with_stdin(&self, step: &str, script: &str, stdin: &[u8]) -> Result<Output> {
        interrupt::refuse_after_ctrl_c(&self.name, step)?;
        let out = self
            .conn
            .run_with_stdin(&self.command(script), stdin)
            .await?;
        self.judged(step, out)
    }

    /// The output of a step, or an error naming the host, the step in words and the end of
    /// its stderr (never a line of the script: that says nothing to a user).
    fn judged(&self, step: &str, out: Output) -> Result<Output> {
        if !out.success() {
            bail!(
                "{}: {step} failed (exit {}):\n{}",
                self.name,
                out.status,
                out.stderr_tail(8)
            );
        }
        Ok(out)
    }

    /// Start `script` as root and keep it running while the returned [`Held`] lives; its first
    /// line of output is returned (see [`Connection::hold`]).
    pub async fn hold(&self, script: &str) -> Result<(String, Held)> {
        self.conn.hold(&self.as_root(script)).await
    }

    /// The SSH target this session was opened with.
    pub fn target(&self) -> &crate::ssh::Target {
        self.conn.target()
    }
}

impl Host for Session {
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, script: &str) -> Result<Output> {
        Session::run(self, script).await
    }
    async fn must(&self, step: &str, script: &str) -> Result<Output> {
        Session::must(self, step, script).await
    }
    async fn must_in_step(&self, step: &str, script: &str) -> Result<Output> {
        Session::must_in_step(self, step, script).await
    }
    async fn must_finish(&self, step: &str, script: &str) -> Result<Output> {
        Session::must_finish(self, step, script).await
    }
    async fn must_with_stdin(&self, step: &str, script: &str, stdin: &[u8]) -> Result<Output> {
        Session::must_with_stdin(self, step, script, stdin).await
    }
    async fn run_as_login(&self, script: &str) -> Result<Output> {
        self.conn.run(script).await
    }
    async fn run_on_new_connection(
        &self,
        step: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<Output> {
        let mut fresh = self.conn.target().clone();
        fresh.accept_new_host_key = false;
        fresh.connect_timeout = timeout;
        let conn = Connection::open(&fresh).await?;
        let confirming = Session::new(&self.name, conn);
        let outcome = confirming.must_in_step(step, script).await;
        confirming.conn.close().await;
        outcome
    }
}

/// Wait until `check` says yes (Ok(None)), or fail after `timeout` with what it last said.
///
/// `check` returns `Ok(None)` when the condition holds, `Ok(Some(state))` with the state seen
/// while waiting, or `Err` for a failure that waiting cannot fix.
pub async fn gate<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<String>>>,
{
    let started = Instant::now();
    loop {
        let last = check().await?;
        let Some(state) = last else { return Ok(()) };
        if started.elapsed() > timeout {
            bail!(
                "gave up after {} s waiting for {what} (last seen: {state})",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
