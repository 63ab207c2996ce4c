//! The on-call original's topology in the lab: no lb hosts, nginx on the two app hosts in front
//! of the roster, a keepalived VIP across them (a three-node Galera cluster as the database here). `up` brings it
//! up, `status` says healthy, and the `app-down` and `lb-down` drills pass their budgets.
//! Then the mini-cloud original's file sync on the same app hosts: a file created on either
//! appears on the other within seconds.
//!
//! Takes over the machine's lab (down at the start and at the end); needs root and dockerd.

mod common;

use common::{LabTest, lab_host};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Wait until `path` on `host` holds `content`.
async fn wait_file(lab: &LabTest, host: &str, path: &str, content: &str) -> Duration {
    let started = Instant::now();
    loop {
        let out = lab
            .run(&lab_host(host), &format!("cat {path} 2>/dev/null"))
            .await;
        if out.stdout_text() == content {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{path} did not reach {host} within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_web_pair_comes_up_and_survives_its_drills() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("web-pair-test");
    lab.minicloud(&["lab", "down"]);
    // Three db hosts, so no arbiter lands on an app host: killing the VIP holder must measure
    // the VIP's move, not Galera pausing for a lost voter (for its suspect timeout, 2 s by default).
    lab.must(&["lab", "up", "--hosts", "app1,app2,db1,db2,db3"]);
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
            common::roster_bin(),
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

    // File sync between the app hosts, both ways.
    let scratch = tempfile::tempdir().unwrap();
    let synced = lab.variant(scratch.path(), "synced", |text| {
        format!("{text}  file_sync:\n    paths: [/srv/shared]\n")
    });
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(Some(&synced)));
    assert_eq!(code, 0, "up with file sync failed: {report}");
    for (from, to) in [("app1", "app2"), ("app2", "app1")] {
        let path = format!("/srv/shared/from-{from}.txt");
        let content = format!("written on {from}\n");
        let out = lab
            .run(
                &lab_host(from),
                &format!("printf '%s' '{content}' > {path}"),
            )
            .await;
        assert!(out.success(), "{}", out.stderr_tail(3));
        let took = wait_file(&lab, to, &path, &content).await;
        eprintln!("{path}: on {to} after {took:?}");
    }
    // The sync key opens a peer to rsync pushes into the synced folders only: no shell, no
    // other folder (root on one app host must not be root on the other).
    let ssh = "ssh -i /etc/lsyncd/minicloud-sync-key -o UserKnownHostsFile=/etc/lsyncd/known_hosts \
               -o StrictHostKeyChecking=accept-new -o BatchMode=yes";
    let peer = "$(grep -o 'root@[0-9.]*' /etc/lsyncd/lsyncd.conf.lua | head -1)";
    for (attempt, refusal) in [
        (format!("{ssh} {peer} id"), "refused: not an rsync push"),
        (
            format!("rsync -a -e '{ssh}' /etc/hostname {peer}:/etc/"),
            "is not a synced folder",
        ),
        (
            format!("rsync -a -e '{ssh}' /etc/hostname {peer}:/srv/shared/../../etc/"),
            "is not a synced folder",
        ),
        (
            format!("rsync -a -e '{ssh}' {peer}:/srv/shared/ /tmp/pulled/"),
            "reading files is not allowed",
        ),
    ] {
        let out = lab.run(&lab_host("app1"), &attempt).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.success() && stderr.contains(refusal),
            "{attempt}: must be refused with {refusal:?}: {stderr}"
        );
    }
    let out = lab.minicloud(&["status", "-i", synced.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "status with file sync");

    lab.must(&["lab", "down"]);
}
