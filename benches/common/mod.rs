//! What the benchmark programs share: running minicloud on the bench lab, medians, and writing
//! each program's figures into its own section of `bench/RESULTS.md`.
#![allow(dead_code)] // each bench uses its own part of this module

use std::path::{Path, PathBuf};

/// The roster binary beside the minicloud under measure (`cargo build --release` builds it;
/// `cargo bench` alone does not): the tests' helper, one implementation for both.
#[path = "../../tests/common/roster_bin.rs"]
mod roster_bin;
pub use roster_bin::roster_bin;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The lab the benchmarks use (separate from the user's own `.minicloud/lab` files).
pub fn lab_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-lab")
}

/// The bench lab's key, known_hosts and SSH targets.
pub fn lab() -> minicloud::lab::LabDir {
    minicloud::lab::LabDir { root: lab_dir() }
}

pub fn inventory() -> PathBuf {
    lab_dir().join("inventory.yml")
}

/// minicloud with these arguments, on the bench lab, shipping the roster built with it.
pub fn minicloud_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_minicloud"));
    command
        .env("MINICLOUD_LAB_DIR", lab_dir())
        .env("MINICLOUD_ROSTER_BIN", roster_bin())
        .args(args);
    command
}

/// Run minicloud on the bench lab; panics with its stderr when it fails.
pub fn minicloud(args: &[&str]) -> (Duration, Output) {
    let started = Instant::now();
    let out = minicloud_command(args).output().expect("running minicloud");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "minicloud {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, out)
}

/// A fresh lab with these hosts (comma-separated), the stack converged on it by `up`.
/// Returns the first `up`'s wall time and its JSON report. With `MINICLOUD_BENCH_KEEP_LAB` set,
/// a lab that is already up is kept (quicker while working on a bench; the first `up` is then
/// not one from bare hosts).
pub fn fresh_stack(hosts: &str) -> (Duration, serde_json::Value) {
    if !keep_lab() {
        minicloud(&["lab", "down"]);
    }
    minicloud(&["lab", "up", "--hosts", hosts]);
    let (took, out) = minicloud(&["up", "--json"]);
    (
        took,
        serde_json::from_slice(&out.stdout).expect("up --json"),
    )
}

/// The floor of any converge over SSH: connect to every lab host in parallel and run `true`.
pub async fn ssh_baseline(hosts: &[minicloud::lab::topology::LabHost]) -> Duration {
    let started = Instant::now();
    let runs = hosts.iter().map(|host| async move {
        let target = lab().ssh_target(host);
        let conn = minicloud::ssh::Connection::open(&target)
            .await
            .expect("ssh to a lab host");
        conn.check("true").await.expect("true");
        conn.close().await;
    });
    futures_util::future::join_all(runs).await;
    started.elapsed()
}

/// Remove the lab, unless `MINICLOUD_BENCH_KEEP_LAB` is set.
pub fn lab_down() {
    if !keep_lab() {
        minicloud(&["lab", "down"]);
    }
}

fn keep_lab() -> bool {
    std::env::var_os("MINICLOUD_BENCH_KEEP_LAB").is_some()
}

/// CPU time all the lab's hosts (its containers) have used so far: with every host on this
/// machine, their side of the work shares its cores with minicloud. Read from each container's
/// cgroup (Docker's own stats are sampled once a second, too coarse for runs this short).
pub async fn lab_cpu() -> Duration {
    let engine = minicloud::lab::docker::Engine::connect()
        .await
        .expect("the Docker engine");
    let containers = engine
        .containers_labeled(minicloud::lab::LABEL, minicloud::lab::LABEL_VALUE)
        .await
        .expect("the lab's containers");
    let mut total = Duration::ZERO;
    for container in containers {
        let info = engine.container(&container).await.expect("inspect");
        if let Some(pid) = info.and_then(|i| i.pid) {
            total += cgroup_cpu(pid).unwrap_or_else(|| panic!("no CPU figure for {container}"));
        }
    }
    total
}

/// CPU time of the cgroup holding process `pid` and its children, cgroup v1 (`cpuacct`) or v2.
/// A host's systemd runs in a child `init.scope`: the container is its parent.
fn cgroup_cpu(pid: u32) -> Option<Duration> {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let container = |path: &str| path.trim_end_matches("/init.scope").to_string();
    for line in cgroups.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        if controllers.split(',').any(|c| c == "cpuacct") {
            let usage = std::fs::read_to_string(format!(
                "/sys/fs/cgroup/cpuacct{}/cpuacct.usage",
                container(path)
            ))
            .ok()?;
            return Some(Duration::from_nanos(usage.trim().parse().ok()?));
        }
    }
    let path = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let stat =
        std::fs::read_to_string(format!("/sys/fs/cgroup{}/cpu.stat", container(path))).ok()?;
    let usec = stat.lines().find_map(|l| l.strip_prefix("usage_usec "))?;
    Some(Duration::from_micros(usec.trim().parse().ok()?))
}

/// Wall time (median) of runs of minicloud, and the CPU time the lab's hosts spent per run.
pub struct Measured {
    pub wall: Duration,
    pub host_cpu: Duration,
}

impl Measured {
    /// The least wall time the hosts' own work needs when it can use every core of this machine.
    pub fn cpu_floor(&self) -> Duration {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.host_cpu / cores as u32
    }
}

/// `runs` runs of minicloud with these arguments, measured as [`Measured`].
pub fn measured_runs(runtime: &tokio::runtime::Runtime, runs: usize, args: &[&str]) -> Measured {
    let before = runtime.block_on(lab_cpu());
    let wall = median_run(runs, args);
    let host_cpu = (runtime.block_on(lab_cpu()) - before) / runs as u32;
    Measured { wall, host_cpu }
}

/// The median wall time of `runs` runs of minicloud with these arguments.
pub fn median_run(runs: usize, args: &[&str]) -> Duration {
    median((0..runs).map(|_| minicloud(args).0).collect())
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Replace the section `name` of `bench/RESULTS.md` (between its markers; appended when new)
/// with `markdown`, stamped with the date and the machine. Sections of other benches stay.
pub fn write_results(name: &str, title: &str, markdown: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/RESULTS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        "# Benchmark results\n\nWritten by `cargo bench` (see the README's Benchmarks section); \
         each section by its own bench program, with the date and machine it ran on.\n"
            .to_string()
    });
    let (begin, end) = (
        format!("<!-- begin {name} -->"),
        format!("<!-- end {name} -->"),
    );
    let section = format!(
        "{begin}\n## {title}\n\n_{} on {}_\n\n{}\n{end}",
        today(),
        machine(),
        markdown.trim_end()
    );
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(b), Some(e)) if b < e => format!("{}{section}{}", &old[..b], &old[e + end.len()..]),
        _ => format!("{}\n\n{section}\n", old.trim_end()),
    };
    std::fs::write(&path, new).expect("writing bench/RESULTS.md");
    println!("(written to {})", path.display());
}

fn today() -> String {
    let out = Command::new("date")
        .arg("-u")
        .arg("+%F")
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// CPU model and count, memory, OS: what the figures depend on.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches(" kB").parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|l| l.trim_matches('"').to_string())
        .unwrap_or_default();
    format!("{cores} × {model}, {mem_gib:.0} GiB, {os}")
}
