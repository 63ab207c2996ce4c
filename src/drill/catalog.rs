//! The built-in drills as data: which host, the fault, its dead-man switch, how it is undone,
//! and the budget it must meet. Pure (the hosts holding the VIPs are given), so `--dry-run`
//! prints exactly what a run would do and the steps are tested as text.

use crate::inventory::{Inventory, Net, Role};
use serde::Serialize;
use std::time::Duration;

/// The drills, in the order they run.
pub const NAMES: &[&str] = &[
    "app-down",
    "app-crash",
    "lb-down",
    "db-stop",
    "db-crash",
    "db-partition",
    "db-total-outage",
];

/// One step of a fault or of its undoing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    /// A shell command run as root on a host over SSH.
    Run { host: String, script: String },
    /// The lab's host control (`minicloud lab kill|start|partition|heal`): lab hosts only.
    Lab { args: Vec<String> },
    /// `minicloud up` over the whole inventory.
    Up,
}

impl Step {
    fn run(host: &str, script: impl Into<String>) -> Step {
        Step::Run {
            host: host.to_string(),
            script: script.into(),
        }
    }

    fn lab(args: &[&str]) -> Step {
        Step::Lab {
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Step::Run { host, script } => format!("on {host}: {script}"),
            Step::Lab { args } => format!("minicloud lab {}", args.join(" ")),
            Step::Up => "minicloud up".to_string(),
        }
    }
}

/// What undoes a fault by itself when the drill does not come back in time (interrupted,
/// crashed, lost its connection): it fires `after` the fault unless disarmed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DeadMan {
    /// A transient systemd timer on the host (`systemd-run --on-active`).
    Timer {
        host: String,
        unit: String,
        script: String,
        after_seconds: u64,
    },
    /// For lab host control, which runs on this machine: a detached process here.
    Local {
        lab_args: Vec<String>,
        after_seconds: u64,
    },
}

impl DeadMan {
    pub fn describe(&self) -> String {
        match self {
            DeadMan::Timer {
                host,
                script,
                after_seconds,
                ..
            } => format!("timer on {host} after {after_seconds} s: {script}"),
            DeadMan::Local {
                lab_args,
                after_seconds,
            } => format!(
                "detached process here after {after_seconds} s: minicloud lab {}",
                lab_args.join(" ")
            ),
        }
    }
}

/// What a drill must show.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Budget {
    /// Failed requests (reads and writes) at most.
    pub max_failed: Option<u64>,
    /// Longest time without any successful request, seconds.
    pub max_gap_seconds: Option<f64>,
    /// Longest time without a successful write, seconds.
    pub max_write_gap_seconds: Option<f64>,
    /// Acknowledged writes missing afterwards on any db node: always 0.
    pub max_lost_writes: u64,
}

/// Budgets the user may override (`failover-test --max-failed-app` and friends).
#[derive(Debug, Clone)]
pub struct Budgets {
    pub app_max_failed: u64,
    pub lb_max_gap_seconds: f64,
    pub db_max_write_gap_seconds: f64,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            app_max_failed: 0,
            lb_max_gap_seconds: 4.0,
            db_max_write_gap_seconds: 10.0,
        }
    }
}

/// A drill ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drill {
    pub name: String,
    /// What happens, in words.
    pub summary: String,
    pub targets: Vec<String>,
    pub dead_men: Vec<DeadMan>,
    pub inject: Vec<Step>,
    /// How long the fault stays before it is undone.
    pub hold_seconds: u64,
    pub restore: Vec<Step>,
    /// The VIP (`frontend` / `db`) that must move off the target to a healthy host.
    pub vip_must_move: Option<String>,
    pub budget: Budget,
}

/// What the catalog needs to know about the stack right now.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    pub inv: &'a Inventory,
    /// The inventory is the lab's: lab host control may be used.
    pub lab: bool,
    pub frontend_vip_holder: Option<String>,
    pub db_vip_holder: Option<String>,
    pub hold: Duration,
    /// When the dead-man switches fire (default: a minute after the hold would end; five for
    /// the total outage, whose restore is a whole `up`).
    pub dead_man: Option<Duration>,
    pub budgets: Budgets,
}

/// The drill called `name` for this stack, or why it does not apply.
pub fn drill(name: &str, s: &Situation) -> Result<Drill, String> {
    let inv = s.inv;
    let hold = s.hold.as_secs().max(1);
    // The dead-man fires well after the drill would have undone the fault itself.
    let dead_after = s.dead_man.map(|d| d.as_secs()).unwrap_or(hold + 60);
    let apps = inv.hosts_with(Role::App);
    let dbs = inv.hosts_with(Role::Db);
    let timer = |host: &str, script: &str, after: u64| DeadMan::Timer {
        host: host.to_string(),
        unit: format!("minicloud-drill-{name}"),
        script: script.to_string(),
        after_seconds: after,
    };
    let db_budget = Budget {
        max_write_gap_seconds: Some(s.budgets.db_max_write_gap_seconds),
        ..Budget::default()
    };
    // The node holding the DB VIP, else the first db node.
    let db_vip_holder = || {
        s.db_vip_holder
            .clone()
            .or_else(|| dbs.first().map(|d| d.to_string()))
    };
    let mut drill = Drill {
        name: name.to_string(),
        summary: String::new(),
        targets: Vec::new(),
        dead_men: Vec::new(),
        inject: Vec::new(),
        hold_seconds: hold,
        restore: Vec::new(),
        vip_must_move: None,
        budget: Budget::default(),
    };
    match name {
        "app-down" | "app-crash" => {
            let app = *apps.first().ok_or("no app hosts")?;
            if apps.len() < 2 {
                return Err("needs two app hosts (one keeps serving)".into());
            }
            let (how, script) = if name == "app-down" {
                ("stop (SIGTERM, drained)", "systemctl stop roster")
            } else {
                ("SIGKILL", "systemctl kill -s KILL roster")
            };
            let router = if inv.is_web_pair() {
                "nginx"
            } else {
                "HAProxy"
            };
            drill.summary = format!("{how} the roster on {app}; {router} must route around it");
            drill.targets = vec![app.to_string()];
            drill.dead_men = vec![timer(app, "systemctl start roster", dead_after)];
            drill.inject = vec![Step::run(app, script)];
            drill.restore = vec![Step::run(app, "systemctl start roster")];
            drill.budget.max_failed = Some(s.budgets.app_max_failed);
        }
        "lb-down" => {
            // The frontend VIP's holders: lb hosts, or the app hosts in the web pair.
            let holders = inv.frontend_vip_holders();
            if holders.len() < 2 {
                return Err("needs two hosts that can hold the frontend VIP".into());
            }
            let lb = s
                .frontend_vip_holder
                .clone()
                .unwrap_or_else(|| holders[0].to_string());
            let proxy = if inv.is_web_pair() {
                "nginx"
            } else {
                "haproxy"
            };
            drill.targets = vec![lb.clone()];
            if s.lab {
                drill.summary =
                    format!("{lb}, holding the frontend VIP, dies (container SIGKILLed)");
                drill.inject = vec![Step::lab(&["kill", &lb])];
                drill.restore = vec![Step::lab(&["start", &lb])];
                drill.dead_men = vec![DeadMan::Local {
                    lab_args: vec!["start".into(), lb.clone()],
                    after_seconds: dead_after,
                }];
            } else {
                drill.summary =
                    format!("keepalived and {proxy} stop on {lb}, holding the frontend VIP");
                let start = format!("systemctl start {proxy} keepalived");
                drill.inject = vec![Step::run(&lb, format!("systemctl stop keepalived {proxy}"))];
                drill.restore = vec![Step::run(&lb, &start)];
                drill.dead_men = vec![timer(&lb, &start, dead_after)];
            }
            drill.vip_must_move = Some("frontend".into());
            drill.budget.max_gap_seconds = Some(s.budgets.lb_max_gap_seconds);
        }
        "db-stop" | "db-crash" | "db-partition" => {
            if dbs.len() < 2 {
                return Err("needs two db hosts".into());
            }
            let holder = db_vip_holder().expect("db hosts exist");
            drill.budget = db_budget;
            match name {
                "db-stop" => {
                    // The node not holding the DB VIP: a clean leave, no VIP move.
                    let db = dbs
                        .iter()
                        .rev()
                        .find(|d| **d != holder)
                        .expect("two db hosts")
                        .to_string();
                    drill.summary = format!(
                        "clean stop of MariaDB on {db}; it must rejoin by IST when started"
                    );
                    drill.inject = vec![Step::run(&db, "systemctl stop mariadb")];
                    drill.restore = vec![Step::run(&db, "systemctl start mariadb")];
                    drill.dead_men = vec![timer(&db, "systemctl start mariadb", dead_after)];
                    drill.targets = vec![db];
                }
                "db-crash" => {
                    drill.summary = format!(
                        "SIGKILL mariadbd on {holder}, holding the DB VIP; the VIP must move to a Synced node"
                    );
                    drill.inject = vec![Step::run(&holder, "systemctl kill -s KILL mariadb")];
                    // Debian's unit may restart it by itself; start is a no-op then.
                    drill.restore = vec![Step::run(&holder, "systemctl start mariadb")];
                    drill.dead_men = vec![timer(&holder, "systemctl start mariadb", dead_after)];
                    drill.targets = vec![holder];
                    drill.vip_must_move = Some("db".into());
                }
                _ => {
                    drill.summary = format!(
                        "cut {holder}, holding the DB VIP, off the backend network, then heal; it must rejoin"
                    );
                    if s.lab {
                        drill.inject =
                            vec![Step::lab(&["partition", &holder, "--network", "backend"])];
                        drill.restore = vec![Step::lab(&["heal", &holder, "--network", "backend"])];
                        drill.dead_men = vec![DeadMan::Local {
                            lab_args: ["heal", &holder, "--network", "backend"]
                                .map(String::from)
                                .to_vec(),
                            after_seconds: dead_after,
                        }];
                    } else {
                        let iface = inv.hosts[&holder]
                            .interface(Net::Backend)
                            .expect("db hosts are on the backend network");
                        let heal = "nft delete table inet minicloud_drill";
                        drill.inject = vec![Step::run(&holder, partition_script(&iface))];
                        drill.restore = vec![Step::run(&holder, heal)];
                        drill.dead_men = vec![timer(&holder, heal, dead_after)];
                    }
                    drill.targets = vec![holder];
                    drill.vip_must_move = Some("db".into());
                }
            }
        }
        "db-total-outage" => {
            if dbs.is_empty() {
                return Err("no db hosts".into());
            }
            drill.summary = format!(
                "every db node ({}) crashes at once and stays down; `minicloud up` must recover from the most advanced node",
                dbs.join(", ")
            );
            drill.targets = dbs.iter().map(|d| d.to_string()).collect();
            // SIGKILL, then stop: a crash that systemd does not restart by itself.
            drill.inject = dbs
                .iter()
                .map(|d| Step::run(d, "systemctl kill -s KILL mariadb; systemctl stop mariadb"))
                .collect();
            drill.restore = vec![Step::Up];
            // `up` may take a while; the timers only matter when the drill itself is gone.
            drill.dead_men = dbs
                .iter()
                .map(|d| {
                    let after = s.dead_man.map(|d| d.as_secs()).unwrap_or(hold + 300);
                    timer(d, "systemctl start mariadb", after)
                })
                .collect();
            // A total outage is an outage: no gap budget, but nothing acknowledged may be lost.
            drill.budget = Budget::default();
        }
        other => {
            return Err(format!(
                "no drill called {other:?} (drills: {})",
                NAMES.join(", ")
            ));
        }
    }
    Ok(drill)
}

/// nftables rules that cut a host off one interface except SSH, in a table of their own.
fn partition_script(iface: &str) -> String {
    format!(
        "nft -f - <<'EOF'\ntable inet minicloud_drill {{\n  chain input {{ type filter hook input priority -10; policy accept; iifname \"{iface}\" tcp dport 22 accept; iifname \"{iface}\" drop; }}\n  chain output {{ type filter hook output priority -10; policy accept; oifname \"{iface}\" tcp sport 22 accept; oifname \"{iface}\" drop; }}\n}}\nEOF"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_inventory() -> Inventory {
        crate::inventory::parse(crate::inventory::TEST_STACK).unwrap()
    }

    fn situation(inv: &Inventory, lab: bool) -> Situation<'_> {
        Situation {
            inv,
            lab,
            frontend_vip_holder: Some("lb2".into()),
            db_vip_holder: Some("db2".into()),
            hold: Duration::from_secs(10),
            dead_man: None,
            budgets: Budgets::default(),
        }
    }

    #[test]
    fn every_drill_applies_to_the_default_stack_with_a_dead_man_each() {
        let inv = lab_inventory();
        for lab in [true, false] {
            for name in NAMES {
                let drill = drill(name, &situation(&inv, lab)).unwrap();
                assert!(
                    !drill.inject.is_empty() && !drill.restore.is_empty(),
                    "{name}"
                );
                assert!(!drill.dead_men.is_empty(), "{name} has no dead-man switch");
            }
        }
    }

    #[test]
    fn vip_drills_target_the_current_holder() {
        let inv = lab_inventory();
        let s = situation(&inv, true);
        assert_eq!(drill("lb-down", &s).unwrap().targets, ["lb2"]);
        assert_eq!(drill("db-crash", &s).unwrap().targets, ["db2"]);
        assert_eq!(drill("db-partition", &s).unwrap().targets, ["db2"]);
        // A clean stop takes the other node.
        assert_eq!(drill("db-stop", &s).unwrap().targets, ["db1"]);
        assert_eq!(
            drill("db-partition", &s).unwrap().inject,
            [Step::lab(&["partition", "db2", "--network", "backend"])]
        );
    }

    #[test]
    fn off_the_lab_faults_go_over_ssh_with_timers() {
        let inv = lab_inventory();
        let d = drill("db-partition", &situation(&inv, false)).unwrap();
        let Step::Run { host, script } = &d.inject[0] else {
            panic!("{d:?}")
        };
        assert_eq!(host, "db2");
        assert!(
            script.contains("iifname \"eth0\" tcp dport 22 accept"),
            "{script}"
        );
        assert_eq!(
            d.dead_men[0],
            DeadMan::Timer {
                host: "db2".into(),
                unit: "minicloud-drill-db-partition".into(),
                script: "nft delete table inet minicloud_drill".into(),
                after_seconds: 70,
            }
        );
    }

    #[test]
    fn the_arm_script_replaces_a_leftover_timer() {
        let script = crate::converge::commands::arm_dead_man(
            "minicloud-drill-x",
            "systemctl start roster",
            70,
        );
        assert!(script.starts_with("systemctl stop minicloud-drill-x.timer"));
        assert!(script.ends_with(
            "systemd-run --quiet --unit=minicloud-drill-x --on-active=70s --timer-property=AccuracySec=100ms /bin/sh -c 'systemctl start roster'"
        ));
    }

    #[test]
    fn budgets_follow_the_issue() {
        let inv = lab_inventory();
        let s = situation(&inv, true);
        assert_eq!(drill("app-down", &s).unwrap().budget.max_failed, Some(0));
        assert_eq!(
            drill("lb-down", &s).unwrap().budget.max_gap_seconds,
            Some(4.0)
        );
        assert_eq!(
            drill("db-crash", &s).unwrap().budget.max_write_gap_seconds,
            Some(10.0)
        );
        assert_eq!(
            drill("db-total-outage", &s).unwrap().budget,
            Budget::default()
        );
        assert!(drill("nope", &s).unwrap_err().contains("app-down"));
    }
}
