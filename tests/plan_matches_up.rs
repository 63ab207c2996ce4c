//! `plan` shows the steps `up` runs, on the lab's real hosts: the typed steps of `plan --json`
//! equal those `up --json` reports it ran, for a first run from bare hosts, a config change,
//! and a recovery (a stopped db node and a stopped app service); after each, `plan` is in sync.
//!
//! Takes over the machine's lab (up at the start, down at the end); needs root and dockerd.

mod common;

use common::{LabTest, lab_host};
use serde_json::Value;

/// `plan --json --detailed-exitcode` on `inventory` (the lab's when None): (exit code, JSON).
fn plan(lab: &LabTest, inventory: Option<&str>) -> (i32, Value) {
    let mut args = vec![
        "plan",
        "--json",
        "--detailed-exitcode",
        "--roster-binary",
        common::roster_bin(),
    ];
    if let Some(path) = inventory {
        args.extend(["-i", path]);
    }
    let out = lab.minicloud(&args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), json)
}

/// The steps `plan` showed must be the steps `up` then ran, and `up` must leave nothing to do.
fn plan_then_up(lab: &LabTest, inventory: Option<&std::path::Path>, what: &str) -> Value {
    let path = inventory.map(|p| p.to_str().unwrap().to_string());
    let (code, planned) = plan(lab, path.as_deref());
    assert_eq!(code, 3, "{what}: changes pending: {planned:#}");
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(inventory));
    assert_eq!(code, 0, "{what}: {report:#}");
    assert!(
        !planned["steps"].as_array().unwrap().is_empty(),
        "{what}: a plan with steps"
    );
    assert_eq!(
        planned["steps"], report["steps"],
        "{what}: the steps up ran are the steps plan showed"
    );
    let (code, after) = plan(lab, path.as_deref());
    assert_eq!(code, 0, "{what}: in sync after up: {after:#}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plan_shows_the_steps_up_runs() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("plan-matches-up");
    tokio::task::block_in_place(|| {
        lab.must(&["lab", "down"]);
        lab.must(&["lab", "up"]);
    });

    // A first run from bare hosts: installs, firewall, bootstrap, joins, users, garbd, apps, lbs.
    let report = plan_then_up(&lab, None, "first run");
    let kinds: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    for kind in [
        "load_firewall",
        "bootstrap",
        "join",
        "database_users",
        "start_arbiter",
        "wait",
    ] {
        assert!(
            kinds.contains(&kind),
            "first run has a {kind} step: {kinds:?}"
        );
    }

    // A config change: the lb hosts write haproxy.cfg and reload.
    let scratch = tempfile::tempdir().unwrap();
    let changed = lab.variant(scratch.path(), "changed", |text| {
        text.replace("  haproxy:\n", "  haproxy:\n    timeout_client_ms: 41000\n")
    });
    let report = plan_then_up(&lab, Some(&changed), "config change");
    let steps = report["steps"].to_string();
    assert!(
        steps.contains("\"reload\"") && steps.contains("haproxy.cfg"),
        "{steps}"
    );

    // A recovery: db2's mariadb and app2's roster stopped by hand.
    lab.run(&lab_host("db2"), "systemctl stop mariadb").await;
    lab.run(&lab_host("app2"), "systemctl stop roster").await;
    let report = plan_then_up(&lab, Some(&changed), "recovery");
    let steps = report["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["step"] == "join" && s["host"] == "db2"),
        "{steps:?}"
    );
    assert!(
        steps.iter().any(|s| s["step"] == "systemctl"
            && s["host"] == "app2"
            && s["action"] == "start"
            && s["unit"] == "roster"),
        "{steps:?}"
    );

    lab.must(&["lab", "down"]);
}
