//! Benchmark of `minicloud up`, `plan` and `status` on the lab (run: `cargo bench --bench up`, as
//! root with dockerd running; it takes over the machine's lab and removes it at the end).
//!
//! Prints and writes to `bench/RESULTS.md` (never asserts):
//! - the first `up` from bare hosts by phase, beside the time spent waiting on work the hosts do
//!   themselves (package installation, a new Galera cluster starting, state transfer), so that
//!   minicloud's own overhead is the difference;
//! - the median of a no-op `up`, of `plan` and of `status` (whole process, connections
//!   included), each as a ratio to connecting to every host over SSH in parallel and running
//!   one command on each, measured in the same run;
//! - the SSH floor: one command over an open connection, and minicloud's cost per check (its
//!   batched fact command over an open connection, divided by the checks in it) as a multiple.

mod common;

use common::{median, seconds};
use minicloud::converge::desired;
use minicloud::facts;
use minicloud::inventory::{self, Role};
use minicloud::lab::topology;
use minicloud::render;
use minicloud::secrets::{self, Secrets};
use minicloud::ssh::Connection;
use serde_json::Value;
use std::time::{Duration, Instant};

const RUNS: usize = 5;
/// Runs of each command in the SSH floor (they take milliseconds).
const FLOOR_RUNS: usize = 50;

/// The median time of `command` over one open connection.
async fn over_open_connection(conn: &Connection, command: &str) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..FLOOR_RUNS {
        let started = Instant::now();
        conn.check(command).await.expect("command on a lab host");
        samples.push(started.elapsed());
    }
    median(samples)
}

/// The first `up`'s phases and the hosts' own work in it, as a table.
fn provisioning_table(took: Duration, report: &Value) -> String {
    let mut table = String::from("| phase | seconds |\n| --- | --- |\n");
    for (phase, s) in report["phase_seconds"].as_object().unwrap() {
        table.push_str(&format!("| {phase} | {:.1} |\n", s.as_f64().unwrap()));
    }
    table.push_str(&format!(
        "| **whole `up`** (process) | **{:.1}** |\n\n\
         | waiting on the hosts' own work | seconds |\n| --- | --- |\n",
        took.as_secs_f64()
    ));
    let mut unavoidable = 0.0;
    for (what, s) in report["host_work_seconds"].as_object().unwrap() {
        let s = s.as_f64().unwrap();
        unavoidable += s;
        table.push_str(&format!("| {what} | {s:.1} |\n"));
    }
    table.push_str(&format!(
        "| **sum** | **{unavoidable:.1}** |\n\n\
         minicloud's own overhead in the first `up`: {:.1} s of {:.1} s.\n",
        took.as_secs_f64() - unavoidable,
        took.as_secs_f64()
    ));
    table
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (first, report) = common::fresh_stack(&topology::DEFAULT_HOSTS.join(","));
    let inv = inventory::load(&common::inventory()).expect("the lab's inventory");
    let names: Vec<String> = inv.hosts.keys().cloned().collect();
    let hosts = topology::plan_hosts(&names).unwrap();
    let mut results = format!(
        "### First `up` from bare hosts ({} hosts)\n\n{}",
        hosts.len(),
        provisioning_table(first, &report)
    );

    let baseline = median(
        (0..RUNS)
            .map(|_| runtime.block_on(common::ssh_baseline(&hosts)))
            .collect(),
    );
    let noop = common::median_run(RUNS, &["up"]);
    let plan = common::median_run(RUNS, &["plan"]);
    let status = common::median_run(RUNS, &["status"]);
    let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64();
    results.push_str(&format!(
        "\n### No-op commands ({} hosts, median of {RUNS}, whole process)\n\n\
         | command | seconds | × baseline |\n| --- | --- | --- |\n\
         | baseline: SSH connect + one command on every host, in parallel | {} | 1.0 |\n\
         | no-op `minicloud up` (target ≤ 2 s) | {} | {:.1} |\n\
         | `minicloud plan` | {} | {:.1} |\n\
         | `minicloud status` (target ≤ 1 s) | {} | {:.1} |\n",
        hosts.len(),
        seconds(baseline),
        seconds(noop),
        ratio(noop),
        seconds(plan),
        ratio(plan),
        seconds(status),
        ratio(status),
    ));

    // The SSH floor, on the host with the most checks: a db host.
    let db = hosts
        .iter()
        .find(|h| h.roles.contains(&Role::Db))
        .expect("a db host");
    let secrets = Secrets::load_existing(&secrets::secrets_path(&common::inventory())).unwrap();
    let tera = render::engine().unwrap();
    let mut paths: Vec<&str> = render::render_host(&tera, &inv, &db.name, &secrets)
        .unwrap()
        .iter()
        .map(|f| f.path)
        .collect();
    if inv.hosts[&db.name].has(Role::App) {
        paths.push(desired::ROSTER_PATH);
    }
    let packages = minicloud::roles::packages(&inv, &db.name);
    let units = minicloud::roles::units(&inv, &db.name);
    let gather = facts::gather_command(&packages, &paths, &units);
    let checks = packages.len() + paths.len() + units.len();
    let (one, batched) = runtime.block_on(async {
        let conn = Connection::open(&common::lab().ssh_target(db))
            .await
            .expect("ssh");
        let one = over_open_connection(&conn, "true").await;
        let batched = over_open_connection(&conn, &gather).await;
        conn.close().await;
        (one, batched)
    });
    let per_check = batched.as_secs_f64() / checks as f64;
    results.push_str(&format!(
        "\n### SSH floor ({}, median of {FLOOR_RUNS}, over one open connection)\n\n\
         | figure | ms | × one command |\n| --- | --- | --- |\n\
         | one command (`true`) | {:.2} | 1.0 |\n\
         | minicloud's batched fact command: {checks} checks ({} packages, {} files, {} units) and the Galera, address and firewall state | {:.2} | {:.1} |\n\
         | minicloud's cost per check (target ≤ 2×) | {:.2} | {:.2} |\n",
        db.name,
        one.as_secs_f64() * 1e3,
        packages.len(),
        paths.len(),
        units.len(),
        batched.as_secs_f64() * 1e3,
        batched.as_secs_f64() / one.as_secs_f64(),
        per_check * 1e3,
        per_check / one.as_secs_f64(),
    ));
    println!("{results}");
    common::write_results("up", "Provisioning, no-op commands, SSH floor", &results);
    common::lab_down();
}
