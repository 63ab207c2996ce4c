//! Benchmark of `minicloud up`, `plan` and `status` on the lab (run: `cargo bench --bench up`, as root
//! with dockerd running; it takes over the machine's lab and removes it at the end).
//!
//! Prints: the first `up` from bare hosts by phase; the median of a no-op `up`, of `plan` and
//! of `status` (whole process, connections included);
//! each as a ratio to a baseline measured in the same run: connecting to every host over SSH
//! in parallel and running one command on each — the least any converge over SSH can cost.
//! Figures are printed, never asserted.

use minicloud::lab::LabDir;
use minicloud::lab::topology;
use minicloud::ssh::Connection;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn lab_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-lab")
}

fn minicloud(args: &[&str]) -> (Duration, std::process::Output) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_minicloud"))
        .env("MINICLOUD_LAB_DIR", lab_dir())
        .env("MINICLOUD_ROSTER_BIN", env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .output()
        .expect("running minicloud");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "minicloud {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, out)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Connect to every lab host in parallel and run `true` on each.
async fn ssh_baseline(hosts: &[topology::LabHost]) -> Duration {
    let started = Instant::now();
    let runs = hosts.iter().map(|host| async move {
        let target = LabDir { root: lab_dir() }.ssh_target(host);
        let conn = Connection::open(&target).await.expect("ssh");
        conn.check("true").await.expect("true");
        conn.close().await;
    });
    futures_util::future::join_all(runs).await;
    started.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    minicloud(&["lab", "down"]);
    minicloud(&["lab", "up"]);
    let names: Vec<String> = topology::DEFAULT_HOSTS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let hosts = topology::plan_hosts(&names).unwrap();

    let (first, out) = minicloud(&["up", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!(
        "first `up` from bare hosts ({} hosts): {:.1} s",
        hosts.len(),
        first.as_secs_f64()
    );
    for (phase, seconds) in report["phase_seconds"].as_object().unwrap() {
        println!("  {phase:<24} {:>6.1} s", seconds.as_f64().unwrap());
    }

    let baseline = median(
        (0..RUNS)
            .map(|_| runtime.block_on(ssh_baseline(&hosts)))
            .collect(),
    );
    let noop = median((0..RUNS).map(|_| minicloud(&["up"]).0).collect());
    let plan = median((0..RUNS).map(|_| minicloud(&["plan"]).0).collect());
    let status = median((0..RUNS).map(|_| minicloud(&["status"]).0).collect());
    let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64();
    println!();
    println!("| figure (median of {RUNS}) | seconds | × baseline |");
    println!("| --- | --- | --- |");
    println!(
        "| baseline: SSH connect + one command on all {} hosts | {:.3} | 1.0 |",
        hosts.len(),
        baseline.as_secs_f64()
    );
    println!(
        "| no-op `minicloud up` (target ≤ 2 s) | {:.3} | {:.1} |",
        noop.as_secs_f64(),
        ratio(noop)
    );
    println!(
        "| `minicloud plan` | {:.3} | {:.1} |",
        plan.as_secs_f64(),
        ratio(plan)
    );
    println!(
        "| `minicloud status` (target ≤ 1 s) | {:.3} | {:.1} |",
        status.as_secs_f64(),
        ratio(status)
    );
    minicloud(&["lab", "down"]);
}
