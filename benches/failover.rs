//! The failover drills' figures beside what the configured timers predict (run: `cargo bench
//! --bench failover`, as root with dockerd running; it takes over the machine's lab and removes
//! it at the end).
//!
//! Runs `minicloud failover-test --json` on a fresh lab stack and prints, per drill, the failed
//! requests and the longest gaps clients saw, next to the timer figure that bounds them: VRRP's
//! master-down interval (3 × advert_int + skew), HAProxy's inter × fall, keepalived's track
//! script (interval × fall) and Galera's suspect timeout. Written to `bench/RESULTS.md`, never
//! asserted (the drills' own budgets are checked by the failover tests).

mod common;

use minicloud::inventory::{self, Inventory};
use minicloud::render::context::host_context;
use minicloud::secrets::{self, Secrets};
use serde_json::Value;

/// The configured timers, read from the lab's inventory the way `up` renders them.
struct Timers {
    /// HAProxy: inter × fall.
    haproxy_down: f64,
    /// VRRP master-down interval of the frontend VIP's backup: 3 × advert_int + skew.
    vrrp_frontend: f64,
    /// The DB VIP: the track script fails, then the backup takes over at its next advert.
    db_vip: f64,
    /// Galera's evs.suspect_timeout (services.galera.failure_detection): how long the
    /// surviving members wait for a silent peer before they form a new Primary component.
    galera_suspect: f64,
}

fn master_down(advert_int: f64, priority: u8) -> f64 {
    3.0 * advert_int + (256.0 - f64::from(priority)) / 256.0 * advert_int
}

fn timers(inv: &Inventory, secrets: &Secrets) -> Timers {
    let haproxy = &inv.services.haproxy;
    let haproxy_down =
        f64::from(haproxy.check_interval_ms) / 1000.0 * f64::from(haproxy.check_fall);
    // The backup that takes over has the lowest priority among the VIP's holders.
    let vrrp_frontend = inv
        .frontend_vip_holders()
        .iter()
        .flat_map(|h| host_context(inv, h, secrets).vrrp)
        .filter(|v| v.name == "frontend")
        .map(|v| master_down(v.advert_int, v.priority))
        .fold(0.0, f64::max);
    let db_advert = inv.services.db_advert_int().unwrap_or(0.0);
    let detection = &inv.services.galera.failure_detection;
    Timers {
        haproxy_down,
        vrrp_frontend,
        db_vip: f64::from(detection.check_interval) * f64::from(detection.check_fall) + db_advert,
        galera_suspect: detection.suspect_timeout,
    }
}

/// The timer bound for a drill, and where it comes from.
fn prediction(drill: &str, t: &Timers) -> (Option<f64>, String) {
    match drill {
        "app-down" | "app-crash" => (
            Some(t.haproxy_down),
            "HAProxy inter × fall marks it down (requests in between are retried elsewhere)".into(),
        ),
        "lb-down" => (
            Some(t.vrrp_frontend),
            "VRRP 3 × advert_int + skew: the backup takes the frontend VIP".into(),
        ),
        "db-stop" => (
            Some(0.0),
            "clean leave: no timer (the node says goodbye, the VIP stays)".into(),
        ),
        "db-crash" | "db-partition" => (
            Some(t.galera_suspect.max(t.db_vip)),
            format!(
                "Galera suspect timeout ({} s) before writes commit again; \
                 the DB VIP moves after track script interval × fall + advert_int ({:.1} s)",
                t.galera_suspect, t.db_vip
            ),
        ),
        _ => (
            None,
            "no timer: recovery is `minicloud up` from the most advanced node".into(),
        ),
    }
}

fn main() {
    common::fresh_stack(&minicloud::lab::topology::DEFAULT_HOSTS.join(","));
    let inv = inventory::load(&common::inventory()).expect("the lab's inventory");
    let secrets = Secrets::load_existing(&secrets::secrets_path(&common::inventory())).unwrap();
    let timers = timers(&inv, &secrets);
    // Exit status 1 is a drill over its budget: its figures are still what this bench shows.
    let out = common::minicloud_command(&["failover-test", "--json"])
        .output()
        .expect("running minicloud failover-test");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "failover-test could not run:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("failover-test --json");
    let mut table = String::from(
        "Each drill under live load through the frontend VIP (default hold 10 s); gaps are the \
         longest time without a successful request (any / write).\n\n\
         | drill | target | passed | requests | failed | longest gap (s) | longest write gap (s) | timer prediction (s) | from |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in &results {
        let name = r["drill"]["name"].as_str().unwrap_or("?");
        let targets: Vec<&str> = r["drill"]["targets"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let (predicted, why) = prediction(name, &timers);
        table.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {:.1} | {:.1} | {} | {why} |\n",
            targets.join(","),
            r["passed"],
            r["requests"],
            r["failed_requests"],
            r["longest_gap_seconds"].as_f64().unwrap_or(0.0),
            r["longest_write_gap_seconds"].as_f64().unwrap_or(0.0),
            predicted.map_or("-".into(), |p| format!("{p:.1}")),
        ));
    }
    println!("{table}");
    common::write_results("failover", "Failover drills against the timers", &table);
    common::lab_down();
}
