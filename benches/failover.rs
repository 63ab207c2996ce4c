//! The failover drills' figures beside what the configured timers predict, before and after
//! the LAN tuning, a soak that counts VIP flaps, and the whole drill set repeated (run: `cargo
//! bench --bench failover`, as root with dockerd running; it takes over the machine's lab and
//! removes it at the end).
//!
//! In one script, on one fresh lab stack:
//! 1. **before**: the lab's inventory with the old defaults' timers (Galera's own EVS timers,
//!    frontend `advert_int` 0.5 s) converged by `up`, then `minicloud failover-test --json` once;
//! 2. **after**: the inventory as `lab up` writes it (the LAN defaults), `up`, then the whole
//!    drill set `--repeat N` times (N = `MINICLOUD_BENCH_ROUNDS`, default 10, at least 2) with
//!    its summary;
//! 3. **soak**: `MINICLOUD_BENCH_SOAK_SECONDS` (default 600) of the drills' load through the
//!    frontend VIP with no fault, counting keepalived's state changes on every VIP holder
//!    (flaps: each should be 0) and the load's failures and longest gap.
//!
//! Per drill: the failed requests and the longest gaps clients saw, next to the timer figure
//! that bounds them: VRRP's master-down interval (3 × advert_int + skew), HAProxy's inter ×
//! fall, keepalived's track script (interval × fall), Galera's suspect timeout and, for the db
//! tier's planned changes, the rounds a rejoining node waits for. Written to
//! `bench/RESULTS.md`, never asserted (the drills' own budgets are checked by the failover
//! tests and reported in the pass counts). The roster's retry waits, HAProxy's seamless reload
//! and Galera's join rounds are code, not inventory: "before" runs them as they are now.

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
    /// evs.join_retrans_period: a rejoining node's join round (two before it is stable).
    galera_join_round: f64,
    /// evs.keepalive_period: the pace at which the members acknowledge the new membership's
    /// round, once, before the state exchange.
    galera_keepalive: f64,
}

/// evs.join_retrans_period in seconds, read from the db nodes' template (code, not inventory:
/// "before" runs it as it is now).
fn join_retrans_period() -> f64 {
    let template = include_str!("../templates/galera.cnf.tera");
    template
        .split("evs.join_retrans_period=PT")
        .nth(1)
        .and_then(|rest| rest.split('S').next())
        .and_then(|secs| secs.parse().ok())
        .expect("templates/galera.cnf.tera sets evs.join_retrans_period=PT<seconds>S")
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
        galera_join_round: join_retrans_period(),
        galera_keepalive: detection.keepalive_period,
    }
}

/// The timers a heading names: Galera's suspect, inactive and keepalive periods and the
/// frontend VIP's advert_int, as `inv` sets them.
fn timer_names(inv: &Inventory) -> String {
    let d = &inv.services.galera.failure_detection;
    format!(
        "Galera suspect {} s, inactive {} s, keepalive {} s; frontend advert_int {} s",
        d.suspect_timeout,
        d.inactive_timeout,
        d.keepalive_period,
        inv.services.frontend_advert_int()
    )
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
        "db-stop" | "rolling-change-db" => (
            Some(2.0 * t.galera_join_round + t.galera_keepalive),
            format!(
                "planned: the DB VIP moves before a node stops; its rejoin pauses writers for \
                 2 join rounds ({} s) + 1 keepalive round ({} s)",
                t.galera_join_round, t.galera_keepalive
            ),
        ),
        "lb-stop" => (
            Some(0.0),
            "planned: the frontend VIP moves before the host stops, its connections closed first (no timer)".into(),
        ),
        "rolling-change-app" | "rolling-change-lb" => (
            Some(0.0),
            "planned: `up` rolls the tier one host at a time, VIPs moved first (no timer)".into(),
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

/// The rounds of the "after" run and the soak's length, from the environment.
fn settings() -> (u32, u64) {
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (
        // At least 2: `--repeat 1` prints the bare results, with no summary to show.
        number("MINICLOUD_BENCH_ROUNDS", 10).max(2) as u32,
        number("MINICLOUD_BENCH_SOAK_SECONDS", 600),
    )
}

/// The lab's inventory text with the old defaults' timers: Galera's own EVS timers and the
/// frontend VIP's former advert interval.
fn with_old_timers(text: &str) -> String {
    let mut doc: serde_norway::Value = serde_norway::from_str(text).expect("the lab's inventory");
    let services = &mut doc["services"];
    services["galera"]["failure_detection"] = serde_norway::from_str(
        "{suspect_timeout: 5, inactive_timeout: 15, keepalive_period: 1, \
          inactive_check_period: 0.5, install_timeout: 7.5}",
    )
    .unwrap();
    services["frontend_vip"]["advert_int"] = serde_norway::Value::from(0.5);
    serde_norway::to_string(&doc).unwrap()
}

/// `failover-test --json` on the lab with `extra` arguments; exit 1 (a drill over its budget)
/// still has figures to show.
fn drills(extra: &[&str]) -> Value {
    let mut args = vec!["failover-test", "--json"];
    args.extend(extra);
    let out = common::minicloud_command(&args)
        .output()
        .expect("running minicloud failover-test");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "failover-test could not run:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("failover-test --json")
}

/// One row per drill: its figures and its timers' prediction.
fn drill_table(results: &[Value], timers: &Timers) -> String {
    let mut table = String::from(
        "| drill | target | passed | requests | failed | longest gap (s) | longest write gap (s) | timer prediction (s) | from |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in results {
        let name = r["drill"]["name"].as_str().unwrap_or("?");
        let targets: Vec<&str> = r["drill"]["targets"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let (predicted, why) = prediction(name, timers);
        table.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {why} |\n",
            targets.join(","),
            r["passed"],
            r["requests"],
            r["failed_requests"],
            r["longest_gap_seconds"].as_f64().unwrap_or(0.0),
            r["longest_write_gap_seconds"].as_f64().unwrap_or(0.0),
            predicted.map_or("-".into(), |p| format!("{p:.2}")),
        ));
    }
    table
}

/// The `--repeat` summary as a table: passes of N, worst gaps, p50/p99 of the write gap.
fn summary_table(run: &Value) -> String {
    let mut table = String::from(
        "| drill | passed | worst gap (s) | worst write gap (s) | write gap p50 (s) | write gap p99 (s) | failed requests | requests | lost writes | lowest rate (req/s) |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for s in run["summary"].as_array().into_iter().flatten() {
        table.push_str(&format!(
            "| {} | {}/{} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {:.0} |\n",
            s["drill"].as_str().unwrap_or("?"),
            s["passed"],
            s["runs"],
            s["worst_gap_seconds"].as_f64().unwrap_or(0.0),
            s["worst_write_gap_seconds"].as_f64().unwrap_or(0.0),
            s["write_gap_p50_seconds"].as_f64().unwrap_or(0.0),
            s["write_gap_p99_seconds"].as_f64().unwrap_or(0.0),
            s["failed_requests"],
            s["requests"],
            s["lost_writes"],
            s["min_requests_per_second"].as_f64().unwrap_or(0.0),
        ));
    }
    table
}

/// keepalived's VRRP state changes on `host` since `since` (a Unix time): every "Entering
/// ... STATE" line of its journal. Read through Docker, the lab's own channel to its hosts.
fn vrrp_transitions(host: &str, since: u64) -> usize {
    let out = std::process::Command::new("docker")
        .args([
            "exec",
            &minicloud::lab::container_name(host),
            "journalctl",
            "-u",
            "keepalived",
            "-o",
            "cat",
            "--no-pager",
            &format!("--since=@{since}"),
        ])
        .output()
        .expect("docker exec journalctl");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("Entering") && l.contains("STATE"))
        .count()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The soak: the drills' load with no fault for `seconds`, then the flaps per VIP holder.
fn soak(inv: &Inventory, secrets: &Secrets, seconds: u64) -> String {
    use minicloud::drill::load::{Kind, Load, Rates, achieved_rate, longest_gap_ms};
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let since = unix_now();
    let url = format!(
        "http://{}:{}",
        inv.services.frontend_vip.address,
        minicloud::status::frontend_port(inv)
    );
    let rates = Rates::default();
    let seen = runtime.block_on(async {
        let load = Load::start(&url, &secrets.roster_api_token, "soak", 0, rates.clone());
        tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
        load.stop().await
    });
    let end_ms = seconds * 1000;
    let failed = seen.samples.iter().filter(|s| !s.ok).count();
    let mut holders: Vec<&str> = inv.frontend_vip_holders();
    holders.extend(inv.hosts_with(inventory::Role::Db));
    let flaps: Vec<String> = holders
        .iter()
        .map(|h| format!("{h} {}", vrrp_transitions(h, since)))
        .collect();
    format!(
        "{seconds} s of load through the frontend VIP with no fault ({:.0} requests/s reached of \
         {} asked, {} connections): {} requests, {failed} failed, longest gap {:.2} s, longest \
         write gap {:.2} s. keepalived state changes (flaps) per VIP holder in that time: {}.\n",
        achieved_rate(&seen.samples, 0, end_ms),
        rates.total_per_second(),
        rates.connections,
        seen.samples.len(),
        longest_gap_ms(&seen.samples, None, 0, end_ms) as f64 / 1000.0,
        longest_gap_ms(&seen.samples, Some(Kind::Write), 0, end_ms) as f64 / 1000.0,
        flaps.join(", ")
    )
}

fn main() {
    let (rounds, soak_seconds) = settings();
    common::fresh_stack(&minicloud::lab::topology::DEFAULT_HOSTS.join(","));
    let path = common::inventory();
    let tuned_text = std::fs::read_to_string(&path).expect("the lab's inventory");
    let secrets = Secrets::load_existing(&secrets::secrets_path(&path)).unwrap();

    // Before: the old defaults' timers, on the same hosts, through the same path (the lab's
    // inventory file, so the drills use the lab's host control).
    let old_text = with_old_timers(&tuned_text);
    std::fs::write(&path, &old_text).unwrap();
    let old = inventory::parse(&old_text).expect("the inventory with the old timers");
    common::minicloud(&["up"]);
    let before = drills(&[]);
    std::fs::write(&path, &tuned_text).unwrap();

    // After: the LAN defaults, the whole drill set `rounds` times.
    let inv = inventory::load(&path).expect("the lab's inventory");
    common::minicloud(&["up"]);
    let rounds_arg = rounds.to_string();
    let after = drills(&["--repeat", &rounds_arg]);
    let last_round: Vec<Value> = after["rounds"]
        .as_array()
        .and_then(|r| r.last())
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();

    let soak_text = soak(&inv, &secrets, soak_seconds);

    use minicloud::drill::catalog::{
        PLANNED_DB_MAX_WRITE_GAP_SECONDS, PLANNED_MAX_WRITE_GAP_SECONDS,
    };
    let mut text = format!(
        "Each drill under live load through the frontend VIP (the drills' default: 250 \
         requests/s over 8 connections, hold 10 s); gaps are the longest time without a \
         successful request (any / write). Planned changes (lb-stop, db-stop, rolling-change-*) \
         must fail no request and keep the write gap within {PLANNED_MAX_WRITE_GAP_SECONDS} s \
         (the db tier's: {PLANNED_DB_MAX_WRITE_GAP_SECONDS} s, though a rejoin pauses every \
         writer).\n\n",
    );
    text.push_str(&format!(
        "### Before: the old defaults' timers ({}), one run\n\n",
        timer_names(&old)
    ));
    text.push_str(&drill_table(
        before.as_array().map(Vec::as_slice).unwrap_or_default(),
        &timers(&old, &secrets),
    ));
    text.push_str(&format!(
        "\n### After: the LAN defaults ({}), last of {rounds} rounds\n\n",
        timer_names(&inv)
    ));
    text.push_str(&drill_table(&last_round, &timers(&inv, &secrets)));
    text.push_str(&format!(
        "\n### After: the whole drill set {rounds} times (`failover-test --repeat {rounds}`){}\n\n",
        after["stopped"]
            .as_str()
            .map(|why| format!(", stopped early: {why}"))
            .unwrap_or_default()
    ));
    text.push_str(&summary_table(&after));
    text.push_str("\n### Soak\n\n");
    text.push_str(&soak_text);
    println!("{text}");
    common::write_results("failover", "Failover drills against the timers", &text);
    common::lab_down();
}
