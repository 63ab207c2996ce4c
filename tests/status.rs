//! `minicloud status` end to end on the lab's real hosts, after `up`:
//!
//! - healthy: verdict healthy, exit 0, every field of the JSON filled, the tables shown;
//!   `--watch --json` prints one object per check until Ctrl-C;
//! - status only reads: unit start times, files and known_hosts are the same after it ran;
//! - roster stopped on app1, mariadb SIGKILLed on db2, keepalived stopped on lb1 (one at a
//!   time, restored after each): the verdict names the problem, exit 1, the JSON says the same;
//! - an unreachable host (lb2 cut off its network) is shown as such within the timeout, and
//!   the other hosts are still read.
//!
//! Takes over the machine's lab (down at the start and at the end); needs root and dockerd.

mod common;

use common::{LabTest, lab_host};
use serde_json::Value;
use std::time::{Duration, Instant};

const UNITS: &str = "haproxy keepalived mariadb garb roster";

/// `status --json`: (exit code, status).
fn status(lab: &LabTest, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["status", "--json"];
    args.extend(extra);
    let out = lab.minicloud(&args);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json printed no JSON ({e})"));
    (out.status.code().unwrap(), json)
}

fn summary(status: &Value) -> &str {
    status["summary"].as_str().unwrap()
}

fn host<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap()
}

fn vip<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["vips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap()
}

/// Wait (up to 2 min) until status says healthy again after a fault was undone.
fn wait_healthy(lab: &LabTest) {
    let started = Instant::now();
    loop {
        let (code, json) = status(lab, &[]);
        if code == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "still not healthy after 2 min: {}",
            summary(&json)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Every field a healthy stack fills, filled.
fn assert_every_field_filled(json: &Value) {
    assert_eq!(json["verdict"], "healthy");
    assert_eq!(json["summary"], "healthy");
    assert_eq!(json["reasons"], Value::Array(vec![]));
    assert!(json["checked_at"].is_string() && json["elapsed_ms"].is_u64());
    for name in ["frontend", "db"] {
        assert_eq!(
            vip(json, name)["holders"].as_array().unwrap().len(),
            1,
            "{name} VIP"
        );
    }
    assert_eq!(vip(json, "frontend")["readyz"]["status"], 200);
    for h in json["hosts"].as_array().unwrap() {
        let name = h["name"].as_str().unwrap();
        assert_eq!(h["reachable"], true, "{name}");
        assert!(h["error"].is_null(), "{name}");
        let services = h["services"].as_object().unwrap();
        assert!(!services.is_empty(), "{name} has no services");
        assert!(
            services.values().all(|s| s == "active"),
            "{name}: {services:?}"
        );
        let roles: Vec<&str> = h["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        if roles.contains(&"lb") {
            let backends = h["haproxy_backends"].as_array().unwrap();
            assert_eq!(backends.len(), 2, "{name}");
            for b in backends {
                assert_eq!(b["status"], "UP", "{name}: {b}");
                // HAProxy shows a check that is running as "* " and the last status, with no
                // code yet ("* L7OK/0 in 4 ms", seen once on CI): the last check passed.
                let last_check = b["last_check"].as_str().unwrap();
                assert!(
                    last_check.starts_with("L7OK/200") || last_check.starts_with("* L7OK/"),
                    "{name}: {b}"
                );
                assert!(b["seconds_since_change"].is_u64());
            }
        }
        if roles.contains(&"app") {
            assert_eq!(h["readyz"]["status"], 200, "{name}");
        }
        if roles.contains(&"db") {
            let galera = &h["galera"];
            assert_eq!(galera["cluster_status"], "Primary", "{name}");
            assert_eq!(galera["cluster_size"], 3, "{name}");
            assert_eq!(galera["local_state_comment"], "Synced", "{name}");
            assert!(galera["last_committed"].as_i64().unwrap() > 0, "{name}");
        }
    }
}

/// A fault; then status must say `expected` (a problem can take a few seconds to show, e.g.
/// the VIP moving) with exit 1; then the fault is undone and status must get back to healthy.
async fn with_fault(
    lab: &LabTest,
    host: &str,
    fault: &str,
    undo: &str,
    expected: impl Fn(&Value) -> bool,
) {
    let target = lab_host(host);
    let out = lab.run(&target, fault).await;
    assert!(out.success(), "{host}: {fault}: {}", out.stderr_tail(5));
    let started = Instant::now();
    loop {
        let (code, json) = tokio::task::block_in_place(|| status(lab, &[]));
        if expected(&json) {
            assert_eq!(code, 1, "{fault} on {host}: {}", summary(&json));
            assert_ne!(json["verdict"], "healthy");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "after `{fault}` on {host}, status says: {}",
            summary(&json)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The table for people carries the same verdict line.
    let text = String::from_utf8(lab.minicloud(&["status"]).stdout).unwrap();
    assert!(
        text.starts_with("minicloud-lab: degraded: ") || text.starts_with("minicloud-lab: down: "),
        "{text}"
    );
    let out = lab.run(&target, undo).await;
    assert!(out.success(), "{host}: {undo}: {}", out.stderr_tail(5));
    tokio::task::block_in_place(|| wait_healthy(lab));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_judges_the_lab_and_names_each_problem() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("status-test");
    lab.minicloud(&["lab", "down"]);
    lab.must(&["lab", "up"]);
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "up failed: {report}");

    // Healthy, every field filled; the tables name every tier.
    let (code, json) = tokio::task::block_in_place(|| status(&lab, &[]));
    assert_eq!(code, 0, "{}", summary(&json));
    assert_every_field_filled(&json);
    let text = lab.must(&["status"]);
    for title in [
        "minicloud-lab: healthy",
        "Load balancers",
        "HAProxy backends",
        "App nodes",
        "Database (MariaDB Galera)",
        "Arbitrators (garbd)",
    ] {
        assert!(text.contains(title), "no {title:?} in:\n{text}");
    }

    // --watch --json: one object per check, over the same connections, until Ctrl-C (exit code
    // of the last check).
    let watch = std::process::Command::new(env!("CARGO_BIN_EXE_minicloud"))
        .env("MINICLOUD_LAB_DIR", &lab.dir)
        .args(["status", "--watch", "--json", "--interval", "0.5"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    std::process::Command::new("kill")
        .args(["-INT", &watch.id().to_string()])
        .status()
        .unwrap();
    let out = tokio::task::block_in_place(|| watch.wait_with_output()).unwrap();
    assert_eq!(out.status.code(), Some(0));
    let checks: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(checks.len() >= 3, "{} checks in 4 s", checks.len());
    assert!(checks.iter().all(|c| c["verdict"] == "healthy"));

    // It only reads: nothing restarted, no file or host key written.
    let known_hosts = lab.dir.join("known_hosts");
    let keys_before = std::fs::read(&known_hosts).unwrap();
    let before = lab.start_times(UNITS).await;
    for _ in 0..3 {
        tokio::task::block_in_place(|| status(&lab, &[]));
    }
    assert_eq!(lab.start_times(UNITS).await, before);
    assert_eq!(std::fs::read(&known_hosts).unwrap(), keys_before);
    let plan = lab.must(&["plan"]);
    assert!(plan.contains("plan: 0 of 6 hosts would change"), "{plan}");

    with_fault(
        &lab,
        "app1",
        "systemctl stop roster",
        "systemctl start roster",
        |json| {
            summary(json).contains("app1: roster inactive")
                && host(json, "app1")["services"]["roster"] == "inactive"
        },
    )
    .await;

    with_fault(
        &lab,
        "db2",
        "systemctl kill -s KILL mariadb",
        // Debian's unit restarts mariadb after an abort: the undo waits for that.
        "for i in $(seq 60); do systemctl is-active -q mariadb && exit 0; sleep 1; done; exit 1",
        |json| {
            let db2 = host(json, "db2");
            summary(json).contains("db2: mariadb ")
                && db2["services"]["mariadb"] != "active"
                && db2["galera"].is_null()
        },
    )
    .await;

    with_fault(
        &lab,
        "lb1",
        "systemctl stop keepalived",
        "systemctl start keepalived",
        |json| {
            summary(json).contains("lb1: keepalived inactive; frontend VIP on lb2 (lb1 down)")
                && vip(json, "frontend")["holders"] == serde_json::json!(["lb2"])
        },
    )
    .await;

    // An unreachable host: shown as such within the timeout; the others are still read.
    lab.must(&["lab", "partition", "lb2", "--network", "frontend"]);
    let started = Instant::now();
    let (code, json) = tokio::task::block_in_place(|| status(&lab, &["--timeout", "2"]));
    let took = started.elapsed();
    lab.must(&["lab", "heal", "lb2", "--network", "frontend"]);
    assert_eq!(code, 1);
    assert!(
        summary(&json).contains("lb2 unreachable"),
        "{}",
        summary(&json)
    );
    assert_eq!(host(&json, "lb2")["reachable"], false);
    assert!(host(&json, "lb2")["error"].is_string());
    assert_eq!(host(&json, "db1")["galera"]["cluster_status"], "Primary");
    assert!(
        took < Duration::from_secs(6),
        "one unreachable host held status up for {took:?} with --timeout 2"
    );
    tokio::task::block_in_place(|| wait_healthy(&lab));

    lab.must(&["lab", "down"]);
}
