//! How minicloud's no-op `up` and `status` grow with the number of hosts: 6, 24 and 48 lab
//! hosts (two lb, two db, the rest app nodes) on this one machine (run: `cargo bench --bench
//! scale`, as root with dockerd running; it takes over the machine's lab and removes it at the
//! end). Hosts are handled in parallel (handshakes and package installs bounded), so the target is
//! at most 2× the 6-host time at 48 hosts. Printed and written to `bench/RESULTS.md`, never
//! asserted.

mod common;

use common::{median, minicloud, seconds};
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
    noop: Duration,
    status: Duration,
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
        let noop = common::median_run(RUNS, &["up"]);
        let status = common::median_run(RUNS, &["status"]);
        println!(
            "{count} hosts: no-op up {} s, status {} s",
            seconds(noop),
            seconds(status)
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
         All hosts are containers on this one machine, so its two cores also do every host's side \
         of the work (SSH login, the fact command): that part grows with the number of hosts \
         however parallel minicloud is. The baseline shows it: connecting to every host in \
         parallel and running one command on each. Target: ≤ 2× the 6-host time at 48 hosts.\n\n\
         | hosts | baseline (s) | no-op `up` (s) | × 6 hosts | × baseline | `status` (s) | × 6 hosts | × baseline | `up` adding the new hosts (s) |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    );
    for row in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {} | {:.1} | {:.1} | {:.1} |\n",
            row.hosts,
            seconds(row.baseline),
            seconds(row.noop),
            ratio(row.noop, first.noop),
            ratio(row.noop, row.baseline),
            seconds(row.status),
            ratio(row.status, first.status),
            ratio(row.status, row.baseline),
            row.converge.as_secs_f64()
        ));
    }
    println!("\n{table}");
    common::write_results("scale", "Scaling: 6, 24 and 48 hosts", &table);
    common::lab_down();
}
