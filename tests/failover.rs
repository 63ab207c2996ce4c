//! `minicloud failover-test` end to end on the lab's real hosts, after `up`:
//!
//! - `--dry-run` lists every drill and touches nothing;
//! - the full drill set passes its budgets with no acknowledged write lost, and writes the
//!   HTML/SVG report and report.json;
//! - the verifier catches loss: a row the drill wrote is deleted behind its back while it
//!   runs, and the drill fails naming the lost write;
//! - an interrupted drill leaves nothing behind: Ctrl-C undoes the fault at once, and when the
//!   run is killed outright the fault's dead-man switch on the host undoes it;
//! - a db node the DB VIP left while it was cut off does not keep the app's dead sessions: the
//!   roster's sessions end a minute after their last word (repeated partitions once filled
//!   max_connections with them).
//!
//! Takes over the machine's lab (down at the start and at the end); needs root and dockerd.

mod common;

use common::{LabTest, lab_host};
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const UNITS: &str = "haproxy keepalived mariadb garb roster";
/// Longest wait for a drill to reach its fault (pre-check, baseline).
const DRILL_START: Duration = Duration::from_secs(120);

/// `failover-test --json ARGS`: (exit code, results).
fn drills(lab: &LabTest, args: &[&str]) -> (i32, Value) {
    let mut all = vec![
        "failover-test",
        "--json",
        "--roster-binary",
        common::roster_bin(),
    ];
    all.extend(args);
    let out = lab.minicloud(&all);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), json)
}

/// `failover-test` running in the background (so the test can act while it runs).
fn spawn_drill(lab: &LabTest, args: &[&str]) -> Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_minicloud"))
        .env("MINICLOUD_LAB_DIR", &lab.dir)
        .args(["failover-test", "--roster-binary", common::roster_bin()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Wait until `command` on `host` prints `expected` (trimmed), up to `within`.
async fn wait_for(lab: &LabTest, host: &str, command: &str, expected: &str, within: Duration) {
    let started = Instant::now();
    loop {
        let out = lab.run(&lab_host(host), command).await;
        if out.stdout_text().trim() == expected {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{host}: `{command}` still says {:?} after {within:?}",
            out.stdout_text().trim()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn wait_healthy(lab: &LabTest) {
    let started = Instant::now();
    while !lab.minicloud(&["status"]).status.success() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not healthy after 2 min"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn drills_prove_failover_and_catch_loss() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("failover-test");
    lab.minicloud(&["lab", "down"]);
    lab.must(&["lab", "up"]);
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "up failed: {report}");

    // --dry-run: every drill with its dead-man switch; nothing touched.
    let before = lab.start_times(UNITS).await;
    let dry = lab.must(&["failover-test", "--dry-run"]);
    for name in minicloud::drill::catalog::NAMES {
        assert!(dry.contains(&format!("{name}: ")), "{name} missing:\n{dry}");
    }
    // One per fault (two for the total outage); the rolling changes need none.
    assert_eq!(dry.matches("arm dead-man switch").count(), 9, "{dry}");
    assert_eq!(
        lab.start_times(UNITS).await,
        before,
        "--dry-run changed something"
    );

    // The full set: every budget met, no acknowledged write lost, the report written. At the
    // light load this test was written for (30 requests/s), as is the loss check below: at the
    // drills' default of 250/s, one run of db-total-outage left app2 not ready for over 180 s
    // after `up` recovered the cluster (a finding of issue #22). At 10 writes/s a write gap is
    // seen only to within 0.1 s, and a db node's rejoin pauses writers 0.3-0.42 s: the db
    // tier's planned changes get 1 s here; their 0.5 s default is measured at the drills' own
    // load by the failover bench (`cargo bench --bench failover`, bench/RESULTS.md).
    let report_dir = lab.dir.join("report");
    let (code, results) = tokio::task::block_in_place(|| {
        drills(
            &lab,
            &[
                "--report",
                report_dir.to_str().unwrap(),
                "--writes-per-second",
                "10",
                "--reads-per-second",
                "20",
                "--max-write-gap-planned-db",
                "1",
            ],
        )
    });
    let results = results.as_array().expect("a JSON array of results");
    let lines: Vec<String> = results.iter().map(common::drill_line).collect();
    eprintln!("{}", lines.join("\n"));
    // The figures go into the message too: CI shows a failed test's panic, not all its stderr.
    assert_eq!(code, 0, "a drill missed its budget:\n{}", lines.join("\n"));
    let every = minicloud::drill::catalog::NAMES.len();
    assert_eq!(results.len(), every);
    for r in results {
        assert_eq!(r["passed"], true);
        assert_eq!(r["lost_writes"], Value::Array(vec![]));
        assert!(
            r["acknowledged_writes"].as_u64().unwrap() > 50,
            "{}",
            r["drill"]["name"]
        );
    }
    let html = std::fs::read_to_string(report_dir.join("index.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), every);
    let saved: Value =
        serde_json::from_slice(&std::fs::read(report_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(saved.as_array().unwrap().len(), every);

    // The verifier catches loss: delete one of the drill's acknowledged rows behind its back.
    // Only a row of this run, and one certainly acknowledged: rows left by the set above (a
    // write the server committed after its client gave up and the run cleaned up) are removed
    // first, and the row deleted is the run's first write (day 2400-01-01: the first drill of a
    // run writes from there), once 20 rows stand (two seconds at 10 writes/s, before any fault).
    // Deleting the earliest `drill-%` row instead once hit a leftover, and the drill passed.
    let clean = "mariadb -N -B -e \"DELETE FROM roster.roster_entries WHERE name LIKE 'drill-%'; SELECT 'clean'\"";
    wait_for(&lab, "db1", clean, "clean", Duration::from_secs(10)).await;
    let child = spawn_drill(
        &lab,
        &[
            "--drill",
            "app-down",
            "--json",
            "--writes-per-second",
            "10",
            "--reads-per-second",
            "20",
        ],
    );
    let delete = "mariadb -N -B -e \"DELETE FROM roster.roster_entries WHERE day = '2400-01-01' AND name LIKE 'drill-%-0' AND (SELECT n FROM (SELECT COUNT(*) AS n FROM roster.roster_entries WHERE name LIKE 'drill-%') AS standing) >= 20; SELECT ROW_COUNT()\"";
    wait_for(&lab, "db1", delete, "1", DRILL_START).await;
    let out = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
    assert_eq!(out.status.code(), Some(1), "the drill must fail");
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = &results[0];
    assert_eq!(result["passed"], false);
    assert!(
        !result["lost_writes"].as_array().unwrap().is_empty(),
        "{result}"
    );
    assert!(
        result["failures"][0]
            .as_str()
            .unwrap()
            .contains("acknowledged write(s) lost"),
        "{}",
        result["failures"]
    );
    tokio::task::block_in_place(|| wait_healthy(&lab));

    // Ctrl-C during the hold: the fault is undone at once and the run says so.
    let roster_state = "systemctl is-active roster";
    let child = spawn_drill(&lab, &["--drill", "app-down", "--hold", "120"]);
    wait_for(&lab, "app1", roster_state, "inactive", DRILL_START).await;
    let interrupted = Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
    assert_eq!(out.status.code(), Some(2));
    wait_for(
        &lab,
        "app1",
        roster_state,
        "active",
        Duration::from_secs(10),
    )
    .await;
    eprintln!(
        "Ctrl-C: roster back {:?} after the interrupt",
        interrupted.elapsed()
    );
    let timers = "systemctl list-timers --all --no-legend 'minicloud-drill-*' | wc -l";
    wait_for(&lab, "app1", timers, "0", Duration::from_secs(5)).await;

    // Killed outright: nothing on this side undoes the fault; the dead-man switch on the host does.
    let mut child = spawn_drill(
        &lab,
        &["--drill", "app-down", "--hold", "10", "--dead-man", "15"],
    );
    wait_for(&lab, "app1", roster_state, "inactive", DRILL_START).await;
    let killed = Instant::now();
    child.kill().unwrap();
    child.wait().unwrap();
    // Still down: the run did not get to undo it before it died.
    let out = lab.run(&lab_host("app1"), roster_state).await;
    assert_eq!(out.stdout_text().trim(), "inactive");
    wait_for(
        &lab,
        "app1",
        roster_state,
        "active",
        Duration::from_secs(30),
    )
    .await;
    eprintln!(
        "dead-man: roster back {:?} after the run was killed",
        killed.elapsed()
    );
    tokio::task::block_in_place(|| wait_healthy(&lab));

    // A partition leaves the app's sessions on the cut-off node (the app dropped them, but
    // their FIN went to the new DB VIP holder); the roster's session wait_timeout (60 s) must
    // end them there. The node holds no VIP afterwards, so no live session of the app is there.
    let (code, results) =
        tokio::task::block_in_place(|| drills(&lab, &["--drill", "db-partition", "--hold", "3"]));
    assert_eq!(code, 0, "{results}");
    let cut_off = results[0]["drill"]["targets"][0]
        .as_str()
        .unwrap()
        .to_string();
    let left_behind = "mariadb -N -B -e \"SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'roster'\"";
    let seen = lab
        .run(&lab_host(&cut_off), left_behind)
        .await
        .stdout_text();
    eprintln!(
        "{cut_off}: {} roster sessions left after the partition",
        seen.trim()
    );
    wait_for(&lab, &cut_off, left_behind, "0", Duration::from_secs(90)).await;

    lab.must(&["lab", "down"]);
}
