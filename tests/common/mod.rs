//! Helpers shared by the lab end-to-end tests: run the CLI against a lab folder of the test's
//! own, and run commands on lab hosts over the real SSH transport.
#![allow(dead_code)]

use assert_cmd::Command;
use minicloud::lab::LabDir;
use minicloud::lab::topology::LabHost;
use minicloud::ssh::{Connection, Output, Target};
use std::path::PathBuf;

pub struct LabTest {
    pub dir: PathBuf,
}

impl LabTest {
    pub fn new(name: &str) -> LabTest {
        LabTest {
            dir: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join(name),
        }
    }

    /// Run `minicloud ARGS` with this test's lab folder; prints what it said.
    pub fn minicloud(&self, args: &[&str]) -> std::process::Output {
        self.minicloud_with_env(args, &[])
    }

    pub fn minicloud_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut command = Command::cargo_bin("minicloud").unwrap();
        command.env("MINICLOUD_LAB_DIR", &self.dir).args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        let out = command.output().unwrap();
        eprintln!(
            "$ minicloud {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Like `minicloud`, but it must succeed; returns stdout.
    pub fn must(&self, args: &[&str]) -> String {
        let out = self.minicloud(args);
        assert!(out.status.success(), "minicloud {} failed", args.join(" "));
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn target(&self, host: &LabHost) -> Target {
        LabDir {
            root: self.dir.clone(),
        }
        .ssh_target(host)
    }

    /// Run a shell command on a lab host over SSH (verified host key, lab key).
    pub async fn run(&self, host: &LabHost, command: &str) -> Output {
        let conn = Connection::open(&self.target(host))
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let out = conn.run(command).await.unwrap();
        conn.close().await;
        out
    }
}

/// Skip (visibly) when the lab tests are switched off.
pub fn lab_tests_off() -> bool {
    let off = std::env::var_os("MINICLOUD_SKIP_LAB_TESTS").is_some();
    if off {
        eprintln!("SKIPPED: MINICLOUD_SKIP_LAB_TESTS is set; this lab test did not run");
    }
    off
}
