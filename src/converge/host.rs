//! The seam between the executor and a host: the [`Host`] trait. [`super::session::Session`]
//! is the real one (SSH, as root or through sudo); `fake::FakeHost` (tests only) records commands and
//! answers from a script, for unit tests of the executor without Docker or SSH.

use super::commands;
use super::session::gate;
use crate::facts::{self, HostFacts};
use crate::roles::desired::Managed;
use crate::ssh::Output;
use anyhow::Result;
use std::time::Duration;

/// One host as the executor sees it. Commands run as root; the `must*` forms turn a non-zero
/// exit into an error naming the host, the step in words and the end of stderr.
#[allow(async_fn_in_trait)]
pub trait Host {
    /// The host's inventory name.
    fn name(&self) -> &str;

    /// Run; the command is ended on the host if this run goes away while it runs.
    async fn run(&self, script: &str) -> Result<Output>;

    /// Like [`Host::run`], but a non-zero exit is an error.
    async fn must(&self, step: &str, script: &str) -> Result<Output>;

    /// Like [`Host::must`], but run even after a Ctrl-C: the end of a step in progress.
    async fn must_in_step(&self, step: &str, script: &str) -> Result<Output>;

    /// Like [`Host::must`], for a step that must finish once started (it goes on on the host
    /// if this run goes away).
    async fn must_finish(&self, step: &str, script: &str) -> Result<Output>;

    /// Run with `stdin` as input (an upload: short, and atomic on the host).
    async fn must_with_stdin(&self, step: &str, script: &str, stdin: &[u8]) -> Result<Output>;

    /// Run as the login user, not root (sudo would drop `SSH_CONNECTION`).
    async fn run_as_login(&self, script: &str) -> Result<Output>;

    /// Run `script` over a NEW connection to the host (it proves a new login gets in, as the
    /// firewall's confirmation needs), within `timeout` for the connection.
    async fn run_on_new_connection(
        &self,
        step: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<Output>;

    /// Read the facts `up` needs (`scripts`: the VIP notify scripts keepalived runs here).
    async fn facts(
        &self,
        packages: &[&str],
        files: &[&str],
        units: &[&str],
        scripts: &[&str],
    ) -> Result<HostFacts> {
        let mut command = facts::gather_command(packages, files, units);
        if !scripts.is_empty() {
            command.push_str(&facts::scripts_command(scripts));
        }
        // Read-only, and even after a Ctrl-C: a package installation in progress ends by
        // reading its host again, and a stop must not cut it there.
        let out = self.must_in_step("reading facts", &command).await?;
        Ok(facts::parse(&out.stdout_text()))
    }

    /// Upload a managed file atomically (checked by its daemon's checker before it replaces
    /// the old) and record its hash.
    async fn put(&self, file: &Managed) -> Result<()> {
        let script = commands::put_file(
            &file.path,
            file.mode,
            &file.owner,
            &file.group,
            file.checker,
            &file.sha256,
        ) + &commands::record_hash(&file.path);
        self.must_with_stdin(&format!("writing {}", file.path), &script, &file.content)
            .await
            .map(|_| ())
    }

    /// `systemctl ACTION UNIT`, which must succeed.
    async fn systemctl(&self, action: &str, unit: &str) -> Result<()> {
        let command = commands::systemctl(action, unit);
        self.must(&command, &command).await.map(|_| ())
    }

    /// HTTP status code of a GET made from this host ("" when nothing answered).
    async fn http_status(&self, address: &str, port: u16, path: &str) -> String {
        match self
            .run(&commands::http_status(address, port, path, 5))
            .await
        {
            Ok(out) => out.stdout_text().trim().to_string(),
            Err(_) => String::new(),
        }
    }

    /// Wait until a GET made from this host answers 200.
    async fn wait_http_ok(
        &self,
        what: &str,
        address: &str,
        port: u16,
        path: &str,
        timeout: Duration,
    ) -> Result<()> {
        gate(what, timeout, || async {
            let status = self.http_status(address, port, path).await;
            Ok((status != "200").then(|| format!("HTTP status {status:?}")))
        })
        .await
    }
}

#[cfg(test)]
pub mod fake {
    //! An in-memory host: every command is recorded; answers come from a list of (pattern,
    //! output) rules, the first whose pattern the command contains (else exit 0, no output).

    use super::*;
    use std::sync::Mutex;

    /// A recorded command: its text, and the length of what it got on stdin.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Ran {
        pub script: String,
        pub stdin: usize,
    }

    /// See the module doc.
    pub struct FakeHost {
        pub name: String,
        pub ran: Mutex<Vec<Ran>>,
        /// (pattern, exit status, stdout, used once only).
        pub answers: Mutex<Vec<(String, u32, String, bool)>>,
    }

    impl FakeHost {
        /// A host that answers every command with exit 0 and no output.
        pub fn new(name: &str) -> FakeHost {
            FakeHost {
                name: name.to_string(),
                ran: Mutex::new(Vec::new()),
                answers: Mutex::new(Vec::new()),
            }
        }

        /// Commands containing `pattern` answer `stdout` with `status` (later rules for the
        /// same pattern come first: a host's answers can change during a test).
        pub fn answer(&self, pattern: &str, status: u32, stdout: &str) {
            self.answers
                .lock()
                .unwrap()
                .insert(0, (pattern.into(), status, stdout.into(), false));
        }

        /// Like [`FakeHost::answer`], for the next such command only (a state that changes).
        pub fn answer_once(&self, pattern: &str, status: u32, stdout: &str) {
            self.answers
                .lock()
                .unwrap()
                .insert(0, (pattern.into(), status, stdout.into(), true));
        }

        /// The commands run so far.
        pub fn scripts(&self) -> Vec<String> {
            self.ran
                .lock()
                .unwrap()
                .iter()
                .map(|r| r.script.clone())
                .collect()
        }

        fn respond(&self, script: &str, stdin: usize) -> Output {
            self.ran.lock().unwrap().push(Ran {
                script: script.to_string(),
                stdin,
            });
            let mut answers = self.answers.lock().unwrap();
            let found = answers
                .iter()
                .position(|(pattern, ..)| script.contains(pattern.as_str()));
            let (status, stdout) = match found {
                Some(i) if answers[i].3 => {
                    let (_, status, out, _) = answers.remove(i);
                    (status, out)
                }
                Some(i) => (answers[i].1, answers[i].2.clone()),
                None => (0, String::new()),
            };
            Output {
                status,
                stdout: stdout.into_bytes(),
                stderr: b"fake stderr".to_vec(),
            }
        }

        fn judged(&self, step: &str, out: Output) -> Result<Output> {
            if !out.success() {
                anyhow::bail!("{}: {step} failed (exit {})", self.name, out.status);
            }
            Ok(out)
        }
    }

    impl Host for FakeHost {
        fn name(&self) -> &str {
            &self.name
        }
        async fn run(&self, script: &str) -> Result<Output> {
            Ok(self.respond(script, 0))
        }
        async fn must(&self, step: &str, script: &str) -> Result<Output> {
            let out = self.respond(script, 0);
            self.judged(step, out)
        }
        async fn must_in_step(&self, step: &str, script: &str) -> Result<Output> {
            self.must(step, script).await
        }
        async fn must_finish(&self, step: &str, script: &str) -> Result<Output> {
            // Marked, so a test can tell a command that goes on after the run from one that
            // does not.
            let out = self.respond(&format!("(must finish) {script}"), 0);
            self.judged(step, out)
        }
        async fn must_with_stdin(&self, step: &str, script: &str, stdin: &[u8]) -> Result<Output> {
            let out = self.respond(script, stdin.len());
            self.judged(step, out)
        }
        async fn run_as_login(&self, script: &str) -> Result<Output> {
            Ok(self.respond(script, 0))
        }
        async fn run_on_new_connection(
            &self,
            step: &str,
            script: &str,
            _timeout: Duration,
        ) -> Result<Output> {
            let out = self.respond(&format!("(new connection) {script}"), 0);
            self.judged(step, out)
        }
    }
}
