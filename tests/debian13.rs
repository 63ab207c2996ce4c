//! The smoke set on Debian 13 (trixie), the second supported release: lab hosts made from a
//! trixie image, `up` from bare hosts, `status` healthy, a second `up` that changes nothing, and
//! one drill per tier (app-down, lb-down, db-crash) within its budget and with no acknowledged
//! write lost, plus the lb tier's planned changes, where HAProxy 3.0 differs from 2.6: its
//! reload under load (rolling-change-lb: the listening sockets handed over) and the switch on
//! its admin socket that closes client connections before the frontend VIP moves (lb-stop),
//! both with no failed request. The full set runs on Debian 12, the lab's default; this one keeps CI's time in
//! bounds while every tier meets Debian 13's daemons (MariaDB 11.8, HAProxy 3.0, keepalived
//! 2.3) for real.
//!
//! Takes over the machine's lab (down at the start and at the end); needs root and dockerd.

mod common;

use common::{LabTest, lab_hosts};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn debian_13_converges_and_survives_one_drill_per_tier() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("debian13-test");
    lab.minicloud(&["lab", "down"]);
    lab.must(&["lab", "up", "--os", "debian-13"]);
    for host in lab_hosts() {
        let release = lab
            .run(
                &host,
                ". /etc/os-release && echo \"$ID $VERSION_ID $VERSION_CODENAME\"",
            )
            .await
            .stdout_text();
        assert_eq!(release.trim(), "debian 13 trixie", "{}", host.name);
    }

    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "up on Debian 13 failed: {report}");
    let status = lab.minicloud(&["status"]);
    assert!(
        status.status.success(),
        "not healthy on Debian 13:\n{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let (code, again) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "{again}");
    for host in lab_hosts() {
        assert_eq!(
            common::changes(&again, &host.name),
            Vec::<String>::new(),
            "a second up changed {} on Debian 13",
            host.name
        );
    }

    let out = tokio::task::block_in_place(|| {
        lab.minicloud(&[
            "failover-test",
            "--json",
            "--roster-binary",
            common::roster_bin(),
            "--drill",
            "app-down,lb-down,rolling-change-lb,lb-stop,db-crash",
        ])
    });
    let results: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let results = results.as_array().expect("a JSON array of results");
    for r in results {
        eprintln!(
            "{}: passed {} gap {} write gap {} failed {} of {}",
            r["drill"]["name"],
            r["passed"],
            r["longest_gap_seconds"],
            r["longest_write_gap_seconds"],
            r["failed_requests"],
            r["requests"]
        );
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "a drill missed its budget on Debian 13"
    );
    assert_eq!(results.len(), 5);
    for r in results {
        assert_eq!(r["passed"], true, "{r}");
        assert_eq!(r["lost_writes"], Value::Array(vec![]), "{r}");
    }
    lab.must(&["lab", "down"]);
}
