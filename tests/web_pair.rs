//! The on-call original's topology in the lab: no lb hosts, nginx on the two app hosts in front
//! of the roster, a keepalived VIP across them (Galera as the database here). `up` brings it
//! up, `status` says healthy, and the `app-down` and `lb-down` drills pass their budgets.
//!
//! Takes over the machine's lab (down at the start and at the end); needs root and dockerd.

mod common;

use common::LabTest;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn the_web_pair_comes_up_and_survives_its_drills() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("web-pair-test");
    lab.minicloud(&["lab", "down"]);
    lab.must(&["lab", "up", "--hosts", "app1,app2,db1,db2"]);
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "up failed: {report}");

    let out = lab.minicloud(&["status", "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", status["summary"]);
    let frontend = &status["vips"][0];
    assert_eq!(frontend["name"], "frontend");
    assert_eq!(frontend["readyz"]["status"], 200);
    let holder = frontend["holders"][0].as_str().unwrap();
    assert!(holder == "app1" || holder == "app2", "{frontend}");
    for host in status["hosts"].as_array().unwrap() {
        if host["roles"][0] == "app" {
            assert_eq!(host["services"]["nginx"], "active", "{host}");
            assert_eq!(host["services"]["keepalived"], "active", "{host}");
        }
    }

    let out = tokio::task::block_in_place(|| {
        lab.minicloud(&[
            "failover-test",
            "--json",
            "--roster-binary",
            env!("CARGO_BIN_EXE_roster"),
            "--drill",
            "app-down,lb-down",
        ])
    });
    let results: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    for r in results.as_array().expect("drill results") {
        eprintln!(
            "{}: passed {} failures {} gap {} failed {} of {}",
            r["drill"]["name"],
            r["passed"],
            r["failures"],
            r["longest_gap_seconds"],
            r["failed_requests"],
            r["requests"]
        );
        assert_eq!(r["passed"], true);
    }
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(results.as_array().unwrap().len(), 2);

    lab.must(&["lab", "down"]);
}
