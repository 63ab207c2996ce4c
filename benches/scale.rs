//! How minicloud's no-op `up` and `status` grow with the number of hosts: 6, 24 and 48 lab
//! hosts (two lb, two db, the rest app nodes) on this one machine (run: `cargo bench --bench
//! scale`, as root with dockerd running; it takes over the machine's lab and removes it at the
//! end). Hosts are handled in parallel (handshakes and package installs bounded), so the target is
//! at most 2× the 6-host time at 48 hosts. Printed and written to `bench/RESULTS.md`, never
//! asserted.

mod common;

use common::{Measured, median, minicloud, seconds};
use std::time::Duration;

const RUNS: usize = 5;
const SIZES: &[usize] = &[6, 24, 48];

/// lb1, lb2, db1, db2 and app1.. up to `count` hosts.
fn host_names(count: usize) -> String {
    let mut names = vec!["lb1".to_string(), "lb2".into(), "db1".into(), "db2".into()];
    names.extend((1..=count - 4).map(|n| format!("app{n}")));
    names.join(",")
}

struct Row {
    hosts: usize,
    converge: Duration,
    baseline: Duration,
    noop: Measured,
    status: Measured,
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut rows: Vec<Row> = Vec::new();
    for (i, &count) in SIZES.iter().enumerate() {
        let hosts = host_names(count);
        // The first size starts from a fresh lab; the next ones add app hosts to it, and `up`
        // converges the new ones.
        let converge = if i == 0 {
            common::fresh_stack(&hosts).0
        } else {
            minicloud(&["lab", "up", "--hosts", &hosts]);
            minicloud(&["up"]).0
        };
        println!(
            "{count} hosts: `up` with new hosts took {:.1} s",
            converge.as_secs_f64()
        );
        let names: Vec<String> = hosts.split(',').map(String::from).collect();
        let lab_hosts = minicloud::lab::topology::plan_hosts(&names).unwrap();
        let baseline = median(
            (0..RUNS)
                .map(|_| runtime.block_on(common::ssh_baseline(&lab_hosts)))
                .collect(),
        );
        let noop = common::measured_runs(&runtime, RUNS, &["up"]);
        let status = common::measured_runs(&runtime, RUNS, &["status"]);
        println!(
            "{count} hosts: no-op up {} s (hosts' CPU {} s), status {} s (hosts' CPU {} s)",
            seconds(noop.wall),
            seconds(noop.host_cpu),
            seconds(status.wall),
            seconds(status.host_cpu)
        );
        rows.push(Row {
            hosts: count,
            converge,
            baseline,
            noop,
            status,
        });
    }
    let (first, ratio) = (&rows[0], |a: Duration, b: Duration| {
        a.as_secs_f64() / b.as_secs_f64()
    });
    let mut table = format!(
        "Lab hosts: lb1, lb2, db1, db2 and app nodes; median of {RUNS} runs, whole process each. \
         All hosts are containers on this one machine, so its cores also do every host's side of \
         the work (SSH login, the fact command), which grows with the number of hosts however \
         parallel minicloud is. Two figures show it: the baseline (connect to every host in \
         parallel and run one command on each), and the hosts' CPU time per run (read from their \
         cgroups), whose share of this machine's cores is the least wall time any tool needs for \
         that work here (\"CPU floor\"). Target: ≤ 2× the 6-host time at 48 hosts.\n\n\
         | hosts | baseline (s) | no-op `up` (s) | × 6 hosts | hosts' CPU (s) | × CPU floor | `status` (s) | × 6 hosts | hosts' CPU (s) | × CPU floor | `up` adding the new hosts (s) |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    );
    for row in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {:.1} | {} | {:.1} | {} | {:.1} | {} | {:.1} | {:.1} |\n",
            row.hosts,
            seconds(row.baseline),
            seconds(row.noop.wall),
            ratio(row.noop.wall, first.noop.wall),
            seconds(row.noop.host_cpu),
            ratio(row.noop.wall, row.noop.cpu_floor()),
            seconds(row.status.wall),
            ratio(row.status.wall, first.status.wall),
            seconds(row.status.host_cpu),
            ratio(row.status.wall, row.status.cpu_floor()),
            row.converge.as_secs_f64()
        ));
    }
    println!("\n{table}");
    common::write_results("scale", "Scaling: 6, 24 and 48 hosts", &table);
    common::lab_down();
}
