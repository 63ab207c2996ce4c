//! `--limit HOSTS|ROLES` on `up`, `plan` and `status`.
//!
//! Without the lab: a bad `--limit` is refused (exit 2) naming the word and the hosts and
//! roles there are, before any host is contacted, whatever the string; a good one still needs
//! the hosts inside it to answer.
//!
//! On the lab (takes it over: up at the start, down at the end; needs root and dockerd): after
//! a converged `up`, an app setting changed, `up --limit app1` changes app1 only (app2 still
//! pending in `plan`), `plan --limit app1` showed exactly the steps it ran, and a plain `up`
//! then finishes; `status --limit db` with lb1 stopped judges the db hosts healthy and only
//! warns of lb1.

mod common;

use common::LabTest;
use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;

/// `minicloud ARGS` (no inventory from the environment): (exit code, stdout, stderr).
fn minicloud(args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("minicloud")
        .unwrap()
        .args(args)
        .env_remove("MINICLOUD_INVENTORY")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `COMMAND -i INV --limit LIMIT` for each command that takes `--limit`.
fn each_command<'a>(inv: &'a str, roster: &'a str, limit: &'a str) -> Vec<Vec<&'a str>> {
    vec![
        vec!["up", "-i", inv, "--roster-binary", roster, "--limit", limit],
        vec![
            "plan",
            "-i",
            inv,
            "--roster-binary",
            roster,
            "--limit",
            limit,
        ],
        vec!["status", "-i", inv, "--limit", limit],
    ]
}

#[test]
fn an_unknown_limit_word_is_refused_before_any_host_is_contacted() {
    let roster = common::roster_bin();
    let (dir, inv) = common::unreachable_inventory();
    let inv = inv.to_str().unwrap();
    for args in each_command(inv, roster, "app1,dbx") {
        let (code, out, err) = minicloud(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(
            err.contains("--limit names no host or role of this inventory: dbx"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(
                "hosts are lb1, lb2, app1, app2, db1, db2; roles are lb, app, db, arbiter"
            ),
            "{args:?}: {err}"
        );
        // No host was contacted: no connecting, no connection error.
        assert!(
            !err.contains("connecting") && !err.contains("127.0."),
            "{args:?}: {err}"
        );
    }
    // `up` refused before generating anything either.
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        files.len(),
        2,
        "only the inventory and its secrets: {files:?}"
    );
}

#[test]
fn empty_items_and_bad_syntax_are_refused_by_the_parser() {
    let roster = common::roster_bin();
    let (_dir, inv) = common::unreachable_inventory();
    let inv = inv.to_str().unwrap();
    for (limit, says) in [
        ("", "--limit is empty"),
        ("db1,,app", "has an empty item"),
        ("db1,", "has an empty item"),
        ("role:web", "names no role"),
        ("group:db", "is not a host or role name"),
        ("db1;reboot", "is not a host or role name"),
    ] {
        for args in each_command(inv, roster, limit) {
            let (code, _, err) = minicloud(&args);
            assert_eq!(code, 2, "{args:?}: {err}");
            assert!(err.contains(says), "{args:?}: {err}");
            assert!(!err.contains("connecting"), "{args:?}: {err}");
        }
    }
}

#[test]
fn a_limit_does_not_excuse_a_host_inside_it_that_does_not_answer() {
    let roster = common::roster_bin();
    let (_dir, inv) = common::unreachable_inventory();
    let inv = inv.to_str().unwrap();
    let (code, _, err) = minicloud(&[
        "plan",
        "-i",
        inv,
        "--roster-binary",
        roster,
        "--limit",
        "app1",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing was changed on any host"), "{err}");
    assert!(
        err.contains("app1"),
        "the error names the host inside: {err}"
    );
}

#[test]
fn help_teaches_limit_with_an_example() {
    for command in ["up", "plan", "status"] {
        let (code, out, _) = minicloud(&[command, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("--limit <HOSTS|ROLES>"), "{command}: {out}");
        assert!(
            out.contains(&format!("minicloud {command} --limit ")),
            "{command}: {out}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever the string, `plan --limit` is refused with exit 2 before any host is
    /// contacted, and the error shows no raw control character.
    #[test]
    fn hostile_limits_never_reach_a_host(limit in "[\\x01-\\x1f\\x7f\u{202e}$;`'\" a-z0-9:,.-]{0,24}") {
        let roster = common::roster_bin();
        let (_dir, inv) = common::unreachable_inventory();
        // `--limit=VALUE`: a value that starts with `-` is then still the limit's.
        let arg = format!("--limit={limit}");
        let (code, out, err) = minicloud(&[
            "plan", "-i", inv.to_str().unwrap(), "--roster-binary", roster, &arg,
        ]);
        prop_assert_eq!(code, 2, "{}", err);
        prop_assert!(out.is_empty());
        // Either refused as a limit, or (a valid limit naming hosts) stopped at connecting to
        // a host inside it: never a host outside it changed, and never a raw control character.
        prop_assert!(
            err.contains("--limit") || err.contains("nothing was changed on any host"),
            "{}", err
        );
        prop_assert!(!err.chars().any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'), "{:?}", err);
    }
}

// The lab.

/// `plan --json --limit LIMIT` on `inventory`: (exit code, JSON).
fn plan(lab: &LabTest, inventory: &Path, limit: Option<&str>) -> (i32, Value) {
    let mut args = vec![
        "plan",
        "--json",
        "--detailed-exitcode",
        "--roster-binary",
        common::roster_bin(),
        "-i",
        inventory.to_str().unwrap(),
    ];
    if let Some(limit) = limit {
        args.extend(["--limit", limit]);
    }
    let out = lab.minicloud(&args);
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

/// The hosts the typed steps of a plan or report change. The database accounts are cluster
/// data written on a db node: they count for the app hosts they are of.
fn changed_hosts(steps: &Value) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for step in steps.as_array().unwrap() {
        let mut of = vec![step["host"].as_str().unwrap().to_string()];
        if step["step"] == "database_users" {
            assert_eq!(step["with_sst"], false, "{step}");
            of = step["apps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
        }
        let check = step["step"] == "wait" || step["step"] == "check_roster";
        for host in of {
            if !check && !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    }
    hosts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_limited_up_changes_only_its_hosts_and_a_limited_status_warns_of_the_others() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("limit");
    tokio::task::block_in_place(|| {
        lab.must(&["lab", "down"]);
        lab.must(&["lab", "up"]);
    });
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "{report:#}");

    // An app setting: every app host's roster.env changes.
    let scratch = tempfile::tempdir().unwrap();
    let changed = lab.variant(scratch.path(), "pool", |text| {
        assert!(text.contains("  database: galera\n"), "{text}");
        text.replace(
            "  database: galera\n",
            "  database: galera\n  roster:\n    pool_size: 7\n",
        )
    });
    let (code, planned) = plan(&lab, &changed, Some("app1"));
    assert_eq!(code, 3, "{planned:#}");
    assert_eq!(planned["limit"]["hosts"], serde_json::json!(["app1"]));
    assert_eq!(changed_hosts(&planned["steps"]), ["app1"], "{planned:#}");

    let app2_before = lab.start_times("roster").await["app2"].clone();
    let out = lab.minicloud(&[
        "up",
        "--json",
        "--roster-binary",
        common::roster_bin(),
        "-i",
        changed.to_str().unwrap(),
        "--limit",
        "app1",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        planned["steps"], report["steps"],
        "up --limit ran the steps plan --limit showed"
    );
    assert!(!common::changes(&report, "app1").is_empty(), "{report:#}");
    // db1 only wrote app1's database account (see changed_hosts).
    for host in ["lb1", "lb2", "app2", "db2"] {
        assert!(
            common::changes(&report, host).is_empty(),
            "{host}: {report:#}"
        );
    }
    assert_eq!(
        lab.start_times("roster").await["app2"],
        app2_before,
        "app2's roster was not restarted"
    );
    // app2 is still pending; app1 is in sync.
    let (code, again) = plan(&lab, &changed, Some("app1"));
    assert_eq!(code, 0, "app1 in sync: {again:#}");
    let (code, pending) = plan(&lab, &changed, Some("app2"));
    assert_eq!(code, 3, "app2 still pending");
    assert_eq!(changed_hosts(&pending["steps"]), ["app2"], "{pending:#}");
    // A plain up finishes the change.
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(Some(&changed)));
    assert_eq!(code, 0, "{report:#}");
    assert!(!common::changes(&report, "app2").is_empty(), "{report:#}");
    assert!(common::changes(&report, "app1").is_empty(), "{report:#}");
    let (code, after) = plan(&lab, &changed, None);
    assert_eq!(code, 0, "in sync: {after:#}");

    // The db tier's status, lb1 stopped: healthy within the limit, lb1 only a warning.
    lab.must(&["lab", "stop", "lb1"]);
    let out = lab.minicloud(&[
        "status",
        "--json",
        "-i",
        changed.to_str().unwrap(),
        "--limit",
        "db",
    ]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{status:#}");
    assert_eq!(status["verdict"], "healthy", "{status:#}");
    assert!(
        status["summary"]
            .as_str()
            .unwrap()
            .starts_with("healthy within --limit db (db1, db2;"),
        "{status:#}"
    );
    let rows: Vec<&str> = status["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ["db1", "db2"]);
    let warnings = status["warnings"].to_string();
    assert!(
        warnings.contains("lb1 is outside --limit and unreachable"),
        "{warnings}"
    );
    // Unlimited, the same stack is degraded.
    let out = lab.minicloud(&["status", "-i", changed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    lab.must(&["lab", "start", "lb1"]);

    lab.must(&["lab", "down"]);
}
