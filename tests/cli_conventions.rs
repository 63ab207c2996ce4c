//! The CLI behaves like the tools its users know: a closed pipe is not a crash, output streams
//! line by line off a terminal, colour follows --color and NO_COLOR, -q keeps only the verdict,
//! JSON outputs carry a schema version, completions and man pages generate.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("inventory/example.yml")
}

/// Run minicloud with stdout a pipe whose reader is already gone (as after `| head -1` has
/// read its line): returns (exit code, stderr).
fn with_stdout_closed(args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("minicloud"))
        .args(args)
        .env_remove("MINICLOUD_INVENTORY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The read end closed before minicloud writes anything: its first write gets EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_commands_code() {
    let inventory = example();
    let inventory = inventory.to_str().unwrap();
    for args in [
        vec![
            "render",
            "-i",
            inventory,
            "--host",
            "lb1",
            "--file",
            "/etc/haproxy/haproxy.cfg",
        ],
        vec!["render", "-i", inventory, "--host", "lb1"],
        vec!["validate", "-i", inventory],
        vec!["secrets", "list", "-i", inventory],
        vec!["--help"],
    ] {
        let (code, stderr) = with_stdout_closed(&args);
        assert_eq!(code, 0, "minicloud {args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "minicloud {args:?}: {stderr}"
        );
    }
    // An error stays an error (exit 2, said on stderr), stdout closed or not.
    let (code, stderr) = with_stdout_closed(&["validate", "-i", "/nonexistent/inventory.yml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error:"), "{stderr}");
}

fn minicloud(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = assert_cmd::Command::cargo_bin("minicloud").unwrap();
    command
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("MINICLOUD_INVENTORY");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn off_a_terminal_up_prints_its_steps_as_lines_and_quiet_keeps_only_the_error() {
    let roster = common::roster_bin();
    let (_dir, inv) = common::unreachable_inventory();
    let inv = inv.to_str().unwrap();
    let (code, _, err) = minicloud(&["up", "-i", inv, "--roster-binary", roster], &[]);
    assert_eq!(code, 2, "{err}");
    // A line per step with the time since the start, where a spinner would show nothing.
    let step = err
        .lines()
        .find(|l| l.starts_with("connecting to 6 hosts ("))
        .unwrap_or_else(|| panic!("no progress line:\n{err}"));
    assert!(step.ends_with("s)"), "{step}");
    assert!(
        err.contains("error: nothing was changed on any host"),
        "{err}"
    );

    let (code, out, err) = minicloud(&["up", "-q", "-i", inv, "--roster-binary", roster], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.starts_with("error: "), "only the error with -q:\n{err}");
}

#[test]
fn quiet_keeps_the_verdict() {
    let inventory = example();
    let (code, out, err) = minicloud(&["validate", "-q", "-i", inventory.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains(": ok ("), "{out}");
}

/// Whether `-v` logs of `up` carry colour: (--color value, NO_COLOR), run on a terminal.
fn log_colored(color: &str, no_color: Option<&str>) -> bool {
    let roster = common::roster_bin();
    let (_dir, inv) = common::unreachable_inventory();
    let command = format!(
        "{} -q -v --color {color} up -i {} --roster-binary {roster}",
        assert_cmd::cargo::cargo_bin("minicloud").display(),
        inv.display()
    );
    // `script` gives minicloud a terminal for stdout and stderr.
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("NO_COLOR");
    if let Some(value) = no_color {
        script.env("NO_COLOR", value);
    }
    let out = script.output().expect("script(1) from util-linux");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("up: 6 hosts from"), "no log line:\n{text}");
    // An SGR sequence, as the level is coloured with (not the cursor moves of a spinner).
    text.contains("\x1b[32m") || text.contains("\x1b[2m")
}

#[test]
fn logs_follow_color_and_no_color_on_a_terminal() {
    assert!(log_colored("auto", None));
    assert!(!log_colored("auto", Some("1")));
    assert!(log_colored("always", Some("1")));
    assert!(!log_colored("never", None));
}

#[test]
fn validate_json_lists_every_problem_as_documented() {
    let inventory = example();
    let (code, out, err) = minicloud(
        &["validate", "--json", "-i", inventory.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let ok: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ok["schema_version"], 1);
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["hosts"], 6);
    let documented = common::documented_json("validate");
    common::assert_same_shape(&documented, &ok, "", &[]);

    // Two problems at once: one found by the checks (a key path), one by the parser (a line).
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    let text = std::fs::read_to_string(&inventory).unwrap();
    std::fs::write(
        &bad,
        text.replacen("virtual_router_id: 52", "virtual_router_id: 51", 1),
    )
    .unwrap();
    let (code, out, _) = minicloud(&["validate", "--json", "-i", bad.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    common::assert_same_shape(&documented, &report, "", &[]);
    assert_eq!(report["valid"], false);
    let problem = &report["problems"][0];
    assert!(
        problem["path"]
            .as_str()
            .unwrap()
            .contains("virtual_router_id"),
        "{report}"
    );
    assert!(!problem["hint"].as_str().unwrap().is_empty(), "{report}");

    std::fs::write(&bad, "name: t\nhosts: [\n").unwrap();
    let (code, out, _) = minicloud(&["validate", "--json", "-i", bad.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(report["problems"][0]["line"].as_u64().is_some(), "{report}");
    assert!(
        report["problems"][0]["column"].as_u64().is_some(),
        "{report}"
    );
}

#[test]
fn secrets_list_json_names_each_source_and_a_missing_inventory_is_an_error() {
    let (_dir, inv) = common::unreachable_inventory();
    let inv = inv.to_str().unwrap();
    let (code, out, err) = minicloud(
        &["secrets", "list", "--json", "-i", inv],
        &[("MINICLOUD_SST_PASSWORD", "sst-from-the-environment")],
    );
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    common::assert_same_shape(&common::documented_json("secrets list"), &list, "", &[]);
    let source = |name: &str| {
        list["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(source("sst-password")["source"], "environment");
    assert_eq!(source("sst-password")["from"], "MINICLOUD_SST_PASSWORD");
    assert_eq!(source("roster-db-password")["source"], "file");
    assert!(!out.contains("sst-from-the-environment"), "never a value");

    for json in [true, false] {
        let mut args = vec!["secrets", "list", "-i", "/nonexistent/missing.yml"];
        if json {
            args.push("--json");
        }
        let (code, _, err) = minicloud(&args, &[]);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("cannot read the inventory"), "{err}");
    }
}

/// Every command and subcommand, from the same clap definitions the binary parses with.
fn every_command() -> Vec<String> {
    use clap::CommandFactory;
    fn walk(command: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{prefix}{}", sub.get_name());
            out.push(name.clone());
            walk(sub, &format!("{name} "), out);
        }
    }
    let mut out = Vec::new();
    walk(&minicloud::cli::Cli::command(), "", &mut out);
    assert!(out.len() > 15, "{out:?}");
    out
}

#[test]
fn completion_scripts_generate_for_each_shell_and_name_every_subcommand() {
    let commands = every_command();
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, err) = minicloud(&["completions", shell], &[]);
        assert_eq!(code, 0, "{shell}: {err}");
        for command in &commands {
            // The last word: `lab up` completes `up` after `lab`.
            let word = command.rsplit(' ').next().unwrap();
            assert!(script.contains(word), "{shell} completion lacks {command}");
        }
        for flag in ["detailed-exitcode", "color", "inventory"] {
            assert!(script.contains(flag), "{shell} completion lacks {flag}");
        }
    }
    // bash can load its script.
    let (_, bash, _) = minicloud(&["completions", "bash"], &[]);
    let check = std::process::Command::new("bash")
        .args(["-n", "-c", &bash])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let (code, _, err) = minicloud(&["completions", "tcsh"], &[]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn man_pages_generate_one_per_command() {
    let (code, page, err) = minicloud(&["man"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(page.contains(".TH minicloud 1"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let (code, said, err) = minicloud(&["man", "--out", out.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let commands = every_command();
    assert!(
        said.contains(&format!("wrote {} man pages", commands.len() + 1)),
        "{said}"
    );
    for command in std::iter::once("".to_string()).chain(commands) {
        let name = if command.is_empty() {
            "minicloud".to_string()
        } else {
            format!("minicloud-{}", command.replace(' ', "-"))
        };
        let page = std::fs::read_to_string(out.join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        assert!(page.contains(&format!(".TH {name} 1")), "{name}: {page}");
    }
    let plan = std::fs::read_to_string(out.join("minicloud-plan.1")).unwrap();
    assert!(plan.contains("detailed\\-exitcode"), "{plan}");
}

/// `minicloud failover-test ARGS` on an inventory that is not the lab's (the lab folder is an
/// empty one of the test's own), stdin not a terminal.
fn drills_off_the_lab(lab_dir: &Path, args: &[&str]) -> (i32, String, String) {
    let roster = common::roster_bin();
    let mut all = vec!["failover-test", "--roster-binary", roster];
    all.extend(args);
    minicloud(&all, &[("MINICLOUD_LAB_DIR", lab_dir.to_str().unwrap())])
}

#[test]
fn drills_off_the_lab_are_refused_without_a_terminal_or_yes() {
    let (dir, inv) = common::unreachable_inventory();
    let inv = inv.to_str().unwrap();
    let (code, out, err) = drills_off_the_lab(dir.path(), &["-i", inv]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("not the lab's inventory")
            && err.contains("db-crash")
            && err.contains("nothing was touched")
            && err.contains("hint:")
            && err.contains("--yes"),
        "{err}"
    );
    let refused = err.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(!refused.contains("db-total-outage"), "{refused}");

    // The total outage runs off the lab only when named.
    let (code, out, err) = drills_off_the_lab(dir.path(), &["-i", inv, "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("db-crash:") && !out.contains("db-total-outage:"),
        "{out}"
    );
    assert!(err.contains("db-total-outage left out"), "{err}");
    let (code, out, err) = drills_off_the_lab(
        dir.path(),
        &["-i", inv, "--dry-run", "--drill", "db-total-outage"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("db-total-outage:"), "{out}");
    let (code, _, err) = drills_off_the_lab(dir.path(), &["-i", inv, "--drill", "db-total-outage"]);
    assert_eq!(code, 2, "named, but still to be confirmed: {err}");
    assert!(err.contains("db-total-outage"), "{err}");
}

#[test]
fn an_unknown_drill_name_is_refused_before_anything_runs_with_the_names_there_are() {
    let (dir, inv) = common::unreachable_inventory();
    let inv = inv.to_str().unwrap();
    for args in [
        vec!["-i", inv, "--dry-run", "--drill", "app-down,nope"],
        vec!["-i", inv, "--yes", "--drill", "App-Down"],
    ] {
        let (code, out, err) = drills_off_the_lab(dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.contains("no drill called")
                && err.contains(
                    "the drills are app-down, app-crash, rolling-change-app, lb-down, \
                     lb-stop, rolling-change-lb, db-stop, rolling-change-db, db-crash, db-partition, \
                     db-total-outage"
                ),
            "{err}"
        );
    }
    let (code, out, err) = drills_off_the_lab(
        dir.path(),
        &["-i", inv, "--dry-run", "--drill", "lb-down,app-down"],
    );
    assert_eq!(code, 0, "{err}");
    // In catalog order, whatever the order given.
    let drills: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('('))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(drills, ["app-down", "lb-down"], "{out}");
}

#[test]
fn drills_off_the_lab_go_ahead_with_yes() {
    let roster = common::roster_bin();
    let (dir, inv) = common::unreachable_inventory();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("minicloud"))
        .env("MINICLOUD_LAB_DIR", dir.path())
        .args([
            "failover-test",
            "--yes",
            "--drill",
            "app-down",
            "--roster-binary",
            roster,
            "-i",
        ])
        .arg(&inv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Past the confirmation, the drill waits for a healthy stack (which this one never is).
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in std::io::BufRead::lines(stderr) {
        let line = line.unwrap();
        let started = line.contains("app-down: waiting for a healthy stack");
        seen.push(line);
        if started {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        seen.iter()
            .any(|l| l.contains("waiting for a healthy stack")),
        "{seen:#?}"
    );
}

#[test]
fn drills_off_the_lab_ask_on_a_terminal() {
    let roster = common::roster_bin();
    let (dir, inv) = common::unreachable_inventory();
    let command = format!(
        "{} failover-test --roster-binary {roster} --drill app-down,db-crash -i {}",
        assert_cmd::cargo::cargo_bin("minicloud").display(),
        inv.display()
    );
    let mut script = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("MINICLOUD_LAB_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    std::io::Write::write_all(&mut script.stdin.take().unwrap(), b"no\n").unwrap();
    let out = script.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("app-down: stop")
            && text.contains("db-crash: SIGKILL")
            && text.contains("Type yes to run them")
            && text.contains("not confirmed: nothing was touched"),
        "{text}"
    );
}

#[test]
fn repeat_and_connections_out_of_range_are_refused_before_anything_runs() {
    let (dir, inv) = common::unreachable_inventory();
    let inv = inv.to_str().unwrap();
    for args in [
        vec!["-i", inv, "--yes", "--repeat", "0"],
        vec!["-i", inv, "--yes", "--repeat", "1001"],
        vec!["-i", inv, "--yes", "--connections", "0"],
    ] {
        let (code, out, err) = drills_off_the_lab(dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.contains("--repeat") || err.contains("--connections"),
            "{err}"
        );
    }
    // In range, it gets as far as planning: a dry run with repeats names the drills once.
    let (code, out, err) = drills_off_the_lab(
        dir.path(),
        &[
            "-i",
            inv,
            "--dry-run",
            "--repeat",
            "3",
            "--drill",
            "lb-down",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("lb-down:").count(), 1, "{out}");
}
