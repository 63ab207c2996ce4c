//! Converge speed of minicloud beside Ansible and pyinfra doing the same job on the same lab
//! hosts in one run (run: `cargo bench --bench compare`, as root with dockerd running; it takes
//! over the machine's lab and removes it at the end).
//!
//! The same job: each host's packages, files (the bytes minicloud renders, with owner, group and
//! mode) and services (running/enabled as minicloud left them), and a reload or restart of the
//! services whose files changed — `bench/ansible/converge.yml` and `bench/pyinfra/deploy.py`.
//! Ansible and pyinfra are installed from PyPI into a throwaway virtualenv (`target/bench-venv`).
//! Measured in alternating runs: a no-op converge, and a one-file change (a line appended to
//! lb1's haproxy.cfg before each run, which each tool must undo and then reload HAProxy).
//! Figures are printed and written to `bench/RESULTS.md`, never asserted.

mod common;

use common::{median, seconds};
use minicloud::converge::desired;
use minicloud::facts;
use minicloud::inventory::{self, Inventory, Role};
use minicloud::lab::topology;
use minicloud::render;
use minicloud::secrets::{self, Secrets};
use minicloud::ssh::Connection;
use serde_json::{Value, json};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 5;
/// Units whose changed files mean a reload; any other unit is restarted.
const RELOADED: &[&str] = &["haproxy", "keepalived", "nginx"];
/// The file the one-file change touches, and where.
const DRIFT_HOST: &str = "lb1";
const DRIFT_FILE: &str = "/etc/haproxy/haproxy.cfg";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the desired state goes for the other tools: it holds rendered secrets, so it is
/// private to root and removed at the end.
fn work_dir() -> PathBuf {
    repo().join("target/bench-compare")
}

fn connect(runtime: &tokio::runtime::Runtime, host: &topology::LabHost) -> Connection {
    let target = common::lab().ssh_target(host);
    runtime
        .block_on(Connection::open(&target))
        .expect("ssh to a lab host")
}

fn run_on(runtime: &tokio::runtime::Runtime, conn: &Connection, command: &str) -> String {
    let out = runtime
        .block_on(conn.check(command))
        .expect("command on a lab host");
    out.stdout_text()
}

/// `hosts.json`: for every host its address, packages, files (written beside it) and units, in
/// the shape both the Ansible inventory and the pyinfra deploy read.
fn desired_state(
    runtime: &tokio::runtime::Runtime,
    inv: &Inventory,
    secrets: &Secrets,
    lab_hosts: &[topology::LabHost],
) -> Value {
    let dir = work_dir();
    let rendered = render::render_all(inv, secrets).expect("rendering");
    let roster = dir.join("files/roster");
    std::fs::copy(common::roster_bin(), &roster).expect("copying the roster binary");
    let mut hosts = Vec::new();
    for lab_host in lab_hosts {
        let name = lab_host.name.as_str();
        let mut files = Vec::new();
        if inv.hosts[name].has(Role::App) {
            files.push(json!({
                "path": desired::ROSTER_PATH, "src": roster, "mode": "0755",
                "owner": "root", "group": "root", "unit": "roster",
            }));
        }
        let host_dir = dir.join("files").join(name);
        std::fs::create_dir_all(&host_dir).unwrap();
        for (index, file) in rendered[name].iter().enumerate() {
            let src = host_dir.join(index.to_string());
            std::fs::write(&src, &file.content).unwrap();
            files.push(json!({
                "path": file.path, "src": src, "mode": format!("0{:o}", file.mode),
                "owner": file.owner, "group": file.group, "unit": file.unit,
            }));
        }
        // Services as minicloud's `up` left them: the other tools keep them that way.
        let conn = connect(runtime, lab_host);
        let unit_names = minicloud::roles::units(inv, name);
        let host_facts = facts::parse(&run_on(
            runtime,
            &conn,
            &facts::gather_command(&[], &[], &unit_names),
        ));
        runtime.block_on(conn.close());
        let units: Vec<Value> = unit_names
            .iter()
            .map(|unit| (unit, host_facts.unit(unit)))
            .filter(|(_, state)| state.loaded)
            .map(|(unit, state)| {
                json!({
                    "name": unit,
                    "state": if state.is_active() { "started" } else { "stopped" },
                    "enabled": match state.enabled.as_str() {
                        "enabled" => json!(true),
                        "disabled" => json!(false),
                        _ => Value::Null, // static or generated units have no such switch
                    },
                })
            })
            .collect();
        hosts.push(json!({
            "name": name,
            "address": lab_host.ssh_address().to_string(),
            "packages": minicloud::roles::packages(inv, name),
            "files": files,
            "units": units,
            "reload": RELOADED,
        }));
    }
    json!({ "hosts": hosts })
}

/// An Ansible inventory (JSON, which Ansible's YAML loader reads) with each host's part of
/// `hosts.json` as variables.
fn ansible_inventory(state: &Value) -> Value {
    let lab = common::lab();
    let hosts: serde_json::Map<String, Value> = state["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let units: Vec<Value> = h["units"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| {
                    // Ansible leaves `enabled` alone when it is omitted, not when it is null.
                    let mut u = u.clone();
                    if u["enabled"].is_null() {
                        u.as_object_mut().unwrap().remove("enabled");
                    }
                    u
                })
                .collect();
            let vars = json!({
                "ansible_host": h["address"],
                "ansible_user": "root",
                "ansible_ssh_private_key_file": lab.key(),
                "ansible_ssh_common_args": format!(
                    "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
                    lab.known_hosts().display()
                ),
                "mc_packages": h["packages"],
                "mc_files": h["files"],
                "mc_units": units,
                "mc_reload": h["reload"],
            });
            (h["name"].as_str().unwrap().to_string(), vars)
        })
        .collect();
    json!({ "all": { "hosts": hosts } })
}

/// A virtualenv with ansible-core and pyinfra from PyPI (made once, kept under target/).
fn virtualenv() -> PathBuf {
    let venv = repo().join("target/bench-venv");
    if !venv.join("bin/pyinfra").exists() || !venv.join("bin/ansible-playbook").exists() {
        println!(
            "installing ansible-core and pyinfra into {}",
            venv.display()
        );
        sh(Command::new("python3").arg("-m").arg("venv").arg(&venv));
        sh(Command::new(venv.join("bin/pip")).args([
            "install",
            "-q",
            "ansible-core==2.19.*",
            "pyinfra==3.*",
        ]));
    }
    venv
}

fn sh(command: &mut Command) -> std::process::Output {
    let out = command.output().expect("starting a command");
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn version(venv: &Path, tool: &str) -> String {
    let out = sh(Command::new(venv.join("bin").join(tool)).arg("--version"));
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default().trim();
    // `ansible [core 2.19.14]`, `pyinfra: v3.10.0`
    first.trim_start_matches("pyinfra: ").to_string()
}

/// One of the three tools, ready to run a converge on the lab.
struct Tool {
    name: &'static str,
    command: Command,
    /// How many changes a run reports, from its stdout and stderr (to check that a no-op run
    /// is one).
    changes: fn(&str, &str) -> usize,
}

impl Tool {
    fn run(&mut self) -> (Duration, usize) {
        let started = Instant::now();
        let out = sh(&mut self.command);
        let took = started.elapsed();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (took, (self.changes)(&text(&out.stdout), &text(&out.stderr)))
    }
}

fn minicloud_tool() -> Tool {
    Tool {
        name: "minicloud",
        command: common::minicloud_command(&["up", "--json"]),
        changes: |stdout, _| {
            let report: Value = serde_json::from_str(stdout).expect("up --json");
            report["changes"]
                .as_object()
                .unwrap()
                .values()
                .map(|c| c.as_array().unwrap().len())
                .sum()
        },
    }
}

fn ansible_tool(venv: &Path, hosts: usize) -> Tool {
    let mut command = Command::new(venv.join("bin/ansible-playbook"));
    command
        .env("ANSIBLE_CONFIG", repo().join("bench/ansible/ansible.cfg"))
        .arg("-i")
        .arg(work_dir().join("ansible-inventory.yml"))
        .args(["--forks", &hosts.to_string()])
        .arg(repo().join("bench/ansible/converge.yml"));
    Tool {
        name: "Ansible",
        command,
        // PLAY RECAP lines: `lb1 : ok=4 changed=0 unreachable=0 ...`
        changes: |stdout, _| {
            stdout
                .split_whitespace()
                .filter_map(|word| word.strip_prefix("changed="))
                .map(|n| n.parse::<usize>().unwrap_or(0))
                .sum()
        },
    }
}

fn pyinfra_tool(venv: &Path, hosts: usize) -> Tool {
    let lab = common::lab();
    let mut command = Command::new(venv.join("bin/pyinfra"));
    command
        .env("MINICLOUD_BENCH_HOSTS", work_dir().join("hosts.json"))
        .env("MINICLOUD_BENCH_KEY", lab.key())
        .env("MINICLOUD_BENCH_KNOWN_HOSTS", lab.known_hosts())
        .args(["-y", "--parallel", &hosts.to_string()])
        .arg(repo().join("bench/pyinfra/inventory.py"))
        .arg(repo().join("bench/pyinfra/deploy.py"));
    Tool {
        name: "pyinfra",
        command,
        // Each operation ends with `[host] Success` when it ran commands, `[host] No changes`
        // when it did not.
        changes: |stdout, stderr| {
            (stdout.lines().chain(stderr.lines()))
                .filter(|l| l.ends_with("] Success"))
                .count()
        },
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let venv = virtualenv();
    let (ansible_version, pyinfra_version) = (version(&venv, "ansible"), version(&venv, "pyinfra"));

    common::fresh_stack(&topology::DEFAULT_HOSTS.join(","));
    let inv = inventory::load(&common::inventory()).expect("the lab's inventory");
    let secrets = Secrets::load_existing(&secrets::secrets_path(&common::inventory()))
        .expect("the lab's secrets");
    let names: Vec<String> = inv.hosts.keys().cloned().collect();
    let lab_hosts = topology::plan_hosts(&names).unwrap();

    // Ansible's modules run on the hosts in Python (from the image's apt cache: no network).
    for host in &lab_hosts {
        let conn = connect(&runtime, host);
        run_on(
            &runtime,
            &conn,
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-apt >/dev/null",
        );
        runtime.block_on(conn.close());
    }

    let _ = std::fs::remove_dir_all(work_dir());
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(work_dir().join("files"))
        .unwrap();
    let state = desired_state(&runtime, &inv, &secrets, &lab_hosts);
    let write_json = |name: &str, value: &Value| {
        let path = work_dir().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    write_json("hosts.json", &state);
    write_json("ansible-inventory.yml", &ansible_inventory(&state));

    let mut tools = [
        minicloud_tool(),
        ansible_tool(&venv, lab_hosts.len()),
        pyinfra_tool(&venv, lab_hosts.len()),
    ];
    // A first run of each settles anything the tools see differently (none expected); then
    // minicloud once more, so every measured run starts from the state `up` leaves.
    for tool in tools.iter_mut() {
        let (_, changes) = tool.run();
        println!("warm-up run of {}: {changes} changes", tool.name);
    }
    tools[0].run();

    let drift_host = lab_hosts
        .iter()
        .find(|h| h.name == DRIFT_HOST)
        .expect("the lab has lb1");
    let drift_conn = connect(&runtime, drift_host);
    let expected_sha = desired::sha256_hex(&rendered_bytes(&state, DRIFT_HOST, DRIFT_FILE));

    let mut noop: Vec<Vec<Duration>> = vec![Vec::new(); tools.len()];
    let mut one_file: Vec<Vec<Duration>> = vec![Vec::new(); tools.len()];
    for round in 0..RUNS {
        for (i, tool) in tools.iter_mut().enumerate() {
            let (took, changes) = tool.run();
            if changes != 0 {
                println!(
                    "note: no-op run {round} of {} reported {changes} changes",
                    tool.name
                );
            }
            noop[i].push(took);
        }
        for (i, tool) in tools.iter_mut().enumerate() {
            run_on(
                &runtime,
                &drift_conn,
                &format!("echo '# drift {round}' >> {DRIFT_FILE}"),
            );
            let (took, _) = tool.run();
            let sha = run_on(&runtime, &drift_conn, &format!("sha256sum {DRIFT_FILE}"));
            assert!(
                sha.starts_with(&expected_sha),
                "{} did not restore {DRIFT_FILE} on {DRIFT_HOST}",
                tool.name
            );
            one_file[i].push(took);
        }
    }
    runtime.block_on(drift_conn.close());

    let noop: Vec<Duration> = noop.into_iter().map(median).collect();
    let one_file: Vec<Duration> = one_file.into_iter().map(median).collect();
    let checks: usize = state["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| 1 + h["files"].as_array().unwrap().len() + h["units"].as_array().unwrap().len())
        .sum();
    let mut table = format!(
        "{} lab hosts, {checks} checks in all (a package set, each file and each service per host); \
         median of {RUNS} alternating runs, whole process each. {ansible_version} (pipelining, \
         ControlPersist 60 s, no fact gathering, forks = hosts) and pyinfra {pyinfra_version} \
         (`-y`, parallel = hosts) from a virtualenv. Ansible and pyinfra copy files minicloud \
         rendered, so their templating is not timed.\n\n\
         | tool | no-op converge (s) | one-file change (s) | no-op: × minicloud | target |\n\
         | --- | --- | --- | --- | --- |\n",
        lab_hosts.len()
    );
    let targets = ["", "≥ 15×", "≥ 4×"];
    for (i, tool) in tools.iter().enumerate() {
        table.push_str(&format!(
            "| {} | {} | {} | {:.1} | {} |\n",
            tool.name,
            seconds(noop[i]),
            seconds(one_file[i]),
            noop[i].as_secs_f64() / noop[0].as_secs_f64(),
            targets[i]
        ));
    }
    println!("\n{table}");
    common::write_results(
        "compare",
        "Converge speed: minicloud, Ansible, pyinfra",
        &table,
    );

    std::fs::remove_dir_all(work_dir()).expect("removing the rendered secrets");
    common::lab_down();
}

/// The bytes of `path` that `desired_state` wrote for `host`.
fn rendered_bytes(state: &Value, host: &str, path: &str) -> Vec<u8> {
    let file = state["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == host)
        .and_then(|h| h["files"].as_array())
        .and_then(|files| files.iter().find(|f| f["path"] == path))
        .expect("the drifted file is one minicloud renders");
    std::fs::read(file["src"].as_str().unwrap()).expect("reading a rendered file")
}
