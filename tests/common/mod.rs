//! Helpers shared by the lab end-to-end tests: run the CLI against a lab folder of the test's
//! own, and run commands on lab hosts over the real SSH transport.
#![allow(dead_code)]

use assert_cmd::Command;
use minicloud::lab::LabDir;
use minicloud::lab::topology::{self, LabHost};
use minicloud::ssh::{Connection, Output, Target};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod roster_bin;
pub use roster_bin::roster_bin;

/// The default lab's hosts (lb1, lb2, app1, app2, db1, db2).
pub fn lab_hosts() -> Vec<LabHost> {
    topology::plan_hosts(
        &topology::DEFAULT_HOSTS
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )
    .unwrap()
}

/// One drill result of `failover-test --json` in a line: its name, verdict and figures.
pub fn drill_line(r: &Value) -> String {
    format!(
        "{}: passed {} failures {} gap {} write gap {} failed {} of {}",
        r["drill"]["name"],
        r["passed"],
        r["failures"],
        r["longest_gap_seconds"],
        r["longest_write_gap_seconds"],
        r["failed_requests"],
        r["requests"]
    )
}

pub fn lab_host(name: &str) -> LabHost {
    lab_hosts().into_iter().find(|h| h.name == name).unwrap()
}

/// The changes an `up --json` report lists for `host`.
pub fn changes(report: &Value, host: &str) -> Vec<String> {
    report["changes"][host]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

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

    /// `up --json` with the test's roster binary; returns (exit code, report).
    pub fn up_json(&self, inventory: Option<&Path>) -> (i32, Value) {
        let mut args = vec!["up", "--json", "--roster-binary", roster_bin()];
        let inventory_arg;
        if let Some(path) = inventory {
            inventory_arg = path.to_str().unwrap().to_string();
            args.extend(["-i", &inventory_arg]);
        }
        let out = self.minicloud(&args);
        let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap(), report)
    }

    /// When each of `units` (space-separated) last became active, per host: a restart changes
    /// it, a reload does not.
    pub async fn start_times(&self, units: &str) -> BTreeMap<String, String> {
        let mut times = BTreeMap::new();
        for h in lab_hosts() {
            let out = self.run(&h, &format!("for u in {units}; do echo \"$u $(systemctl show -p ActiveEnterTimestampMonotonic --value $u)\"; done")).await;
            times.insert(h.name.clone(), out.stdout_text());
        }
        times
    }

    /// A copy of the lab's inventory, edited, beside a copy of its secrets (same passwords, so
    /// `up` with it changes only what the edit changes), as `dir/name.yml`. Before the lab's
    /// first `up` there are no secrets yet: the variant's own first `up` makes them.
    pub fn variant(&self, dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let text = std::fs::read_to_string(self.dir.join("inventory.yml")).unwrap();
        let path = dir.join(format!("{name}.yml"));
        std::fs::write(&path, edit(text)).unwrap();
        let secrets = self.dir.join("inventory.secrets.yml");
        if secrets.exists() {
            std::fs::copy(secrets, dir.join(format!("{name}.secrets.yml"))).unwrap();
        }
        path
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

/// The example JSON under `## \`minicloud COMMAND --json\`` in docs/json.md.
pub fn documented_json(command: &str) -> Value {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md")).unwrap();
    let heading = format!("## `minicloud {command} --json`");
    let section = docs
        .split_once(&heading)
        .unwrap_or_else(|| panic!("docs/json.md has no section {heading}"))
        .1;
    let block = section
        .split_once("```json\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .unwrap_or_else(|| panic!("no json example under {heading}"))
        .0;
    serde_json::from_str(block).unwrap_or_else(|e| panic!("{heading}: {e}"))
}

/// Assert `actual` has exactly the keys of `documented`, recursively (objects by key; arrays
/// by their first element on both sides, when both have one). Maps keyed by names, such as
/// `hosts` (paths as `hosts.lb1.steps`), are listed in `name_keyed`: each of their entries is
/// compared with the first documented entry.
pub fn assert_same_shape(documented: &Value, actual: &Value, at: &str, name_keyed: &[&str]) {
    match (documented, actual) {
        (Value::Object(doc), Value::Object(act)) if name_keyed.contains(&at) => {
            let Some(doc_entry) = doc.values().next() else {
                return;
            };
            for entry in act.values() {
                assert_same_shape(doc_entry, entry, &format!("{at}.*"), name_keyed);
            }
        }
        (Value::Object(doc), Value::Object(act)) => {
            let doc_keys: Vec<&String> = doc.keys().collect();
            let act_keys: Vec<&String> = act.keys().collect();
            assert_eq!(doc_keys, act_keys, "keys at {at} (docs/json.md vs output)");
            for (key, value) in doc {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                assert_same_shape(value, &act[key], &path, name_keyed);
            }
        }
        (Value::Array(doc), Value::Array(act)) => {
            if let (Some(d), Some(a)) = (doc.first(), act.first()) {
                assert_same_shape(d, a, &format!("{at}[0]"), name_keyed);
            }
        }
        // null is the documented "absent" of any type.
        (Value::Null, _) | (_, Value::Null) => {}
        (doc, act) => assert_eq!(
            std::mem::discriminant(doc),
            std::mem::discriminant(act),
            "type at {at}: documented {doc}, printed {act}"
        ),
    }
}

/// The example inventory on loopback with SSH on a closed port, and a secrets file: `up` and
/// `plan` pass every local check and stop at connecting.
pub fn unreachable_inventory() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("inventory/example.yml");
    let text = std::fs::read_to_string(example).unwrap();
    assert!(text.contains("  port: 22\n"));
    let inv = dir.path().join("stack.yml");
    std::fs::write(
        &inv,
        text.replace("10.231.", "127.0.")
            .replace("  port: 22\n", "  port: 1\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("stack.secrets.yml"),
        "roster_db_password: from-the-file-1234\nsst_password: sst-from-the-file\n\
         haproxy_stats_password: stats-from-the-file\n",
    )
    .unwrap();
    (dir, inv)
}
