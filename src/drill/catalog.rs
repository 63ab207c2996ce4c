//! The built-in drills as data: which host, the fault, its dead-man switch, how it is undone,
//! and the budget it must meet. Pure (the hosts holding the VIPs are given), so `--dry-run`
//! prints exactly what a run would do and the steps are tested as text.

use crate::commands::{self, systemctl_kill, systemctl_start, systemctl_stop};
use crate::inventory::{Inventory, Net, Role, VipKind};
use crate::roles::frontend::Frontend;
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// A built-in drill, by the name `--drill` takes (`app-down`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DrillName {
    /// Stop the roster on an app node (SIGTERM, drained).
    AppDown,
    /// SIGKILL the roster on an app node.
    AppCrash,
    /// Take down the host holding the frontend VIP.
    LbDown,
    /// Planned maintenance of the frontend VIP holder: drain the VIP off it, then stop its
    /// proxy and keepalived cleanly.
    LbStop,
    /// Planned maintenance of the DB VIP holder: drain the VIP off it, then stop MariaDB
    /// cleanly.
    DbStop,
    /// SIGKILL MariaDB on the DB VIP holder.
    DbCrash,
    /// Cut the DB VIP holder off the backend network, then heal.
    DbPartition,
    /// Crash every db node at once; `up` recovers.
    DbTotalOutage,
    /// A harmless roster setting changed: `up` restarts the app nodes one at a time.
    RollingChangeApp,
    /// A harmless HAProxy setting changed: `up` reloads HAProxy on the lb hosts.
    RollingChangeLb,
    /// A harmless Galera setting changed: `up` restarts the db nodes one at a time.
    RollingChangeDb,
}

/// The drills, in the order they run: each tier's faults, then its planned change.
pub const NAMES: &[DrillName] = &[
    DrillName::AppDown,
    DrillName::AppCrash,
    DrillName::RollingChangeApp,
    DrillName::LbDown,
    DrillName::LbStop,
    DrillName::RollingChangeLb,
    DrillName::DbStop,
    DrillName::RollingChangeDb,
    DrillName::DbCrash,
    DrillName::DbPartition,
    DrillName::DbTotalOutage,
];

impl DrillName {
    /// The name `--drill` takes and reports print.
    pub fn as_str(self) -> &'static str {
        match self {
            DrillName::AppDown => "app-down",
            DrillName::AppCrash => "app-crash",
            DrillName::LbDown => "lb-down",
            DrillName::LbStop => "lb-stop",
            DrillName::DbStop => "db-stop",
            DrillName::DbCrash => "db-crash",
            DrillName::DbPartition => "db-partition",
            DrillName::DbTotalOutage => "db-total-outage",
            DrillName::RollingChangeApp => "rolling-change-app",
            DrillName::RollingChangeLb => "rolling-change-lb",
            DrillName::RollingChangeDb => "rolling-change-db",
        }
    }
}

impl fmt::Display for DrillName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DrillName {
    /// Which name was not a drill's, and the drills there are.
    type Err = String;

    fn from_str(name: &str) -> Result<DrillName, String> {
        NAMES
            .iter()
            .copied()
            .find(|drill| drill.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = NAMES.iter().map(|d| d.as_str()).collect();
                format!(
                    "no drill called {name:?}; hint: the drills are {}",
                    names.join(", ")
                )
            })
    }
}

impl Serialize for DrillName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One step of a fault or of its undoing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DrillStep {
    /// A shell command run as root on a host over SSH.
    Run {
        /// The inventory host it runs on.
        host: String,
        /// The command line (built in [`crate::commands`]).
        script: String,
    },
    /// The lab's host control (`minicloud lab kill|start|partition|heal`): lab hosts only.
    Lab {
        /// The words after `minicloud lab`.
        args: Vec<String>,
    },
    /// `minicloud up` over the whole inventory: as it is, or with one harmless setting
    /// changed (a planned change under load).
    Up {
        /// The setting changed for this run only (the inventory file is not touched).
        #[serde(skip_serializing_if = "Option::is_none")]
        tweak: Option<Tweak>,
    },
}

/// A harmless setting a rolling-change drill changes in memory for one `up`, so that `up`
/// must roll a tier under load; the drill's restore is an `up` of the inventory as it is,
/// which rolls the tier back. Each value stays inside what `validate` accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "setting", rename_all = "kebab-case")]
pub enum Tweak {
    /// `services.roster.pool_size`: the roster restarts on every app node, one at a time.
    RosterPoolSize {
        /// The inventory's value.
        from: u32,
        /// The value for the drill's `up`.
        to: u32,
    },
    /// `services.haproxy.timeout_client_ms`: HAProxy reloads on every lb host.
    HaproxyClientTimeout {
        /// The inventory's value.
        from: u32,
        /// The value for the drill's `up`.
        to: u32,
    },
    /// `services.galera.gcache_size`: every db node restarts, one at a time, the DB VIP
    /// drained off each first.
    GaleraGcacheSize {
        /// The inventory's value (or the default).
        from: String,
        /// The value for the drill's `up`.
        to: String,
    },
}

impl Tweak {
    /// The tweak of rolling-change drill `name` on `inv`: one step up from the current
    /// value (one step down at the top of the range `validate` allows).
    fn for_drill(name: DrillName, inv: &Inventory) -> Option<Tweak> {
        let s = &inv.services;
        let nudge = |value: u32, max: u32| if value < max { value + 1 } else { value - 1 };
        match name {
            DrillName::RollingChangeApp => Some(Tweak::RosterPoolSize {
                from: s.roster.pool_size,
                to: nudge(s.roster.pool_size, 1000),
            }),
            DrillName::RollingChangeLb => Some(Tweak::HaproxyClientTimeout {
                from: s.haproxy.timeout_client_ms,
                to: nudge(s.haproxy.timeout_client_ms, 86_400_000),
            }),
            DrillName::RollingChangeDb => {
                let from = s
                    .galera
                    .gcache_size
                    .clone()
                    .unwrap_or_else(|| crate::render::context::DEFAULT_GCACHE.to_string());
                Some(Tweak::GaleraGcacheSize {
                    to: next_size(&from),
                    from,
                })
            }
            _ => None,
        }
    }

    /// `inv` with this setting changed.
    pub fn apply(&self, inv: &Inventory) -> Inventory {
        let mut changed = inv.clone();
        let s = &mut changed.services;
        match self {
            Tweak::RosterPoolSize { to, .. } => s.roster.pool_size = *to,
            Tweak::HaproxyClientTimeout { to, .. } => s.haproxy.timeout_client_ms = *to,
            Tweak::GaleraGcacheSize { to, .. } => s.galera.gcache_size = Some(to.clone()),
        }
        changed
    }
}

impl fmt::Display for Tweak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tweak::RosterPoolSize { from, to } => {
                write!(f, "services.roster.pool_size {from} -> {to}")
            }
            Tweak::HaproxyClientTimeout { from, to } => {
                write!(f, "services.haproxy.timeout_client_ms {from} -> {to}")
            }
            Tweak::GaleraGcacheSize { from, to } => {
                write!(f, "services.galera.gcache_size {from} -> {to}")
            }
        }
    }
}

/// A size one unit larger (`128M` -> `129M`); a size `validate` accepted is digits and an
/// optional unit letter.
fn next_size(size: &str) -> String {
    let digits: String = size.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = &size[digits.len()..];
    match digits.parse::<u64>() {
        Ok(n) if n < u64::MAX => format!("{}{unit}", n + 1),
        _ => "129M".to_string(),
    }
}

impl DrillStep {
    fn run(host: &str, script: impl fmt::Display) -> DrillStep {
        DrillStep::Run {
            host: host.to_string(),
            script: script.to_string(),
        }
    }

    fn lab(args: &[&str]) -> DrillStep {
        DrillStep::Lab {
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// The step in words, as `--dry-run` prints it.
    pub fn describe(&self) -> String {
        match self {
            DrillStep::Run { host, script } => format!("on {host}: {script}"),
            DrillStep::Lab { args } => format!("minicloud lab {}", args.join(" ")),
            DrillStep::Up { tweak: None } => "minicloud up".to_string(),
            DrillStep::Up { tweak: Some(t) } => format!("minicloud up with {t} (in memory)"),
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
        /// The inventory host it is armed on.
        host: String,
        /// The transient unit's name (`minicloud-drill-<drill>`).
        unit: String,
        /// What it runs when it fires.
        script: String,
        /// Seconds after arming.
        after_seconds: u64,
    },
    /// For lab host control, which runs on this machine: a detached process here.
    Local {
        /// The words after `minicloud lab`.
        lab_args: Vec<String>,
        /// Seconds after arming.
        after_seconds: u64,
    },
}

impl DeadMan {
    /// The switch in words, as `--dry-run` prints it.
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
    /// Failed requests allowed in app-down and app-crash.
    pub app_max_failed: u64,
    /// Longest gap without a successful request in lb-down, seconds.
    pub lb_max_gap_seconds: f64,
    /// Longest gap without a successful write in the db drills (not the total outage).
    pub db_max_write_gap_seconds: f64,
    /// Longest gap without a successful write in the app and lb tiers' planned changes
    /// (rolling-change-app, rolling-change-lb), which must also fail no request.
    pub planned_max_write_gap_seconds: f64,
    /// The same for the db tier's planned changes (db-stop, rolling-change-db).
    pub planned_db_max_write_gap_seconds: f64,
}

/// lb-down's default budget: the frontend VIP moves in 3 × advert_int (0.2 s) + skew, 0.67 s
/// on the lab, so a client sees at most a second without an answer.
pub const LB_MAX_GAP_SECONDS: f64 = 1.0;
/// db-crash's and db-partition's default write-gap budget, the 3 s target of issue #22: Galera
/// drops a dead member after the LAN suspect_timeout (1.5 s, checked every 0.25 s), then the
/// app reconnects through the moved DB VIP. Measured on the lab with these timers: 2.1-2.2 s
/// (with suspect_timeout 2 s and checks every 0.5 s it was 3.1-3.5 s).
pub const DB_MAX_WRITE_GAP_SECONDS: f64 = 3.0;
/// Planned changes' default write-gap budget (issue #22): the VIP moves before a node goes,
/// so clients see at most a retried statement.
pub const PLANNED_MAX_WRITE_GAP_SECONDS: f64 = 0.5;
/// The db tier's planned changes' default write-gap budget: issue #22's 0.5 s, as for the
/// other tiers. The DB VIP moves first, only to a node whose keepalived is ready for it, and a
/// stopping node is taken out of flow control; what remains is a node's rejoin, which pauses
/// every writer while the membership changes (no Galera setting we found removes that pause).
/// With its rounds cut to Galera's least (evs.join_retrans_period and evs.keepalive_period
/// 0.1 s, the arbiters in every cluster address), a rejoin paused writers 0.3-0.42 s on the lab
/// (bench/RESULTS.md). A separate knob (`--max-write-gap-planned-db`) for networks where a
/// membership round takes longer.
pub const PLANNED_DB_MAX_WRITE_GAP_SECONDS: f64 = 0.5;

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            app_max_failed: 0,
            lb_max_gap_seconds: LB_MAX_GAP_SECONDS,
            db_max_write_gap_seconds: DB_MAX_WRITE_GAP_SECONDS,
            planned_max_write_gap_seconds: PLANNED_MAX_WRITE_GAP_SECONDS,
            planned_db_max_write_gap_seconds: PLANNED_DB_MAX_WRITE_GAP_SECONDS,
        }
    }
}

/// A drill ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drill {
    /// Which drill.
    pub name: DrillName,
    /// What happens, in words.
    pub summary: String,
    /// The hosts it breaks.
    pub targets: Vec<String>,
    /// Armed before the fault; each undoes it should this run not.
    pub dead_men: Vec<DeadMan>,
    /// The fault.
    pub inject: Vec<DrillStep>,
    /// How long the fault stays before it is undone.
    pub hold_seconds: u64,
    /// How the fault is undone.
    pub restore: Vec<DrillStep>,
    /// The VIP (`frontend` / `db`) that must move off the target to a healthy host.
    pub vip_must_move: Option<String>,
    /// Before the fault: wait until a host other than the target is ready to take the VIP
    /// that must move (its keepalived BACKUP), as `up` does before it drains a DB VIP holder.
    /// A planned move needs somewhere to go; a host that has just come back is not ready for
    /// a few seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_ready_first: Option<VipKind>,
    /// What it must show.
    pub budget: Budget,
}

/// What the catalog needs to know about the stack right now.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    /// The stack.
    pub inv: &'a Inventory,
    /// The inventory is the lab's: lab host control may be used.
    pub lab: bool,
    /// Who holds the frontend VIP now (None: unknown, the first candidate is assumed).
    pub frontend_vip_holder: Option<String>,
    /// Who holds the DB VIP now (None: unknown, the first db host is assumed).
    pub db_vip_holder: Option<String>,
    /// How long each fault is held.
    pub hold: Duration,
    /// When the dead-man switches fire (default: a minute after the hold would end; five for
    /// the total outage, whose restore is a whole `up`).
    pub dead_man: Option<Duration>,
    /// The budgets to meet.
    pub budgets: Budgets,
}

/// What building one drill works from: its name, the situation, and the times every drill
/// shares.
struct Plan<'s, 'a> {
    name: DrillName,
    s: &'s Situation<'a>,
    /// Seconds the fault is held (at least 1).
    hold: u64,
    /// Seconds after which a dead-man switch fires: well after the drill would have undone
    /// the fault itself.
    dead_after: u64,
}

impl Plan<'_, '_> {
    /// A timer on `host` that runs `script` `after` seconds from arming.
    fn timer(&self, host: &str, script: impl fmt::Display, after: u64) -> DeadMan {
        DeadMan::Timer {
            host: host.to_string(),
            unit: format!("minicloud-drill-{}", self.name),
            script: script.to_string(),
            after_seconds: after,
        }
    }

    /// This drill with nothing to do yet, and no budget.
    fn blank(&self) -> Drill {
        Drill {
            name: self.name,
            summary: String::new(),
            targets: Vec::new(),
            dead_men: Vec::new(),
            inject: Vec::new(),
            hold_seconds: self.hold,
            restore: Vec::new(),
            vip_must_move: None,
            backup_ready_first: None,
            budget: Budget::default(),
        }
    }
}

/// The drill called `name` for this stack, or why it does not apply.
pub fn drill(name: DrillName, s: &Situation) -> Result<Drill, String> {
    let hold = s.hold.as_secs().max(1);
    let plan = Plan {
        name,
        s,
        hold,
        dead_after: s.dead_man.map(|d| d.as_secs()).unwrap_or(hold + 60),
    };
    match name {
        DrillName::AppDown | DrillName::AppCrash => app_drill(&plan),
        DrillName::LbDown => lb_down(&plan),
        DrillName::LbStop => lb_stop(&plan),
        DrillName::DbStop => db_stop(&plan),
        DrillName::DbCrash => db_crash(&plan),
        DrillName::DbPartition => db_partition(&plan),
        DrillName::DbTotalOutage => db_total_outage(&plan),
        DrillName::RollingChangeApp | DrillName::RollingChangeLb | DrillName::RollingChangeDb => {
            rolling_change(&plan)
        }
    }
}

/// app-down / app-crash: the roster on the first app node stops (or is killed); the router
/// in front must route around it without a failed request.
fn app_drill(p: &Plan) -> Result<Drill, String> {
    let inv = p.s.inv;
    let apps = inv.hosts_with(Role::App);
    let app = *apps.first().ok_or("no app hosts")?;
    if apps.len() < 2 {
        return Err("needs two app hosts (one keeps serving)".into());
    }
    let (how, fault) = if p.name == DrillName::AppDown {
        ("stop (SIGTERM, drained)", systemctl_stop(&["roster"]))
    } else {
        ("SIGKILL", systemctl_kill("roster"))
    };
    let router = match Frontend::of(inv) {
        Frontend::WebPair => "nginx",
        Frontend::LbPair => "HAProxy",
    };
    let start = systemctl_start(&["roster"]);
    let mut drill = p.blank();
    drill.summary = format!("{how} the roster on {app}; {router} must route around it");
    drill.targets = vec![app.to_string()];
    drill.dead_men = vec![p.timer(app, &start, p.dead_after)];
    drill.inject = vec![DrillStep::run(app, fault)];
    drill.restore = vec![DrillStep::run(app, &start)];
    drill.budget.max_failed = Some(p.s.budgets.app_max_failed);
    Ok(drill)
}

/// What the drills on the frontend VIP's holder share: two hosts that can hold it (lb hosts,
/// or the app hosts in the web pair), the one holding it now (else the first), and its proxy.
fn frontend_drill(p: &Plan) -> Result<(Drill, String, Frontend), String> {
    let inv = p.s.inv;
    let holders = inv.frontend_vip_holders();
    if holders.len() < 2 {
        return Err("needs two hosts that can hold the frontend VIP".into());
    }
    let holder =
        p.s.frontend_vip_holder
            .clone()
            .unwrap_or_else(|| holders[0].to_string());
    let mut drill = p.blank();
    drill.targets = vec![holder.clone()];
    drill.vip_must_move = Some("frontend".into());
    Ok((drill, holder, Frontend::of(inv)))
}

/// lb-down: the host holding the frontend VIP goes (its container is killed in the lab;
/// keepalived and the proxy stop elsewhere); the VIP must move within the gap budget.
fn lb_down(p: &Plan) -> Result<Drill, String> {
    let (mut drill, lb, frontend) = frontend_drill(p)?;
    let proxy = frontend.service();
    if p.s.lab {
        drill.summary = format!("{lb}, holding the frontend VIP, dies (container SIGKILLed)");
        drill.inject = vec![DrillStep::lab(&["kill", &lb])];
        drill.restore = vec![DrillStep::lab(&["start", &lb])];
        drill.dead_men = vec![DeadMan::Local {
            lab_args: vec!["start".into(), lb.clone()],
            after_seconds: p.dead_after,
        }];
    } else {
        drill.summary = format!("keepalived and {proxy} stop on {lb}, holding the frontend VIP");
        // keepalived first, so the VIP leaves before the proxy does; back in reverse.
        let start = systemctl_start(&[proxy, "keepalived"]);
        drill.inject = vec![DrillStep::run(&lb, systemctl_stop(&["keepalived", proxy]))];
        drill.restore = vec![DrillStep::run(&lb, &start)];
        drill.dead_men = vec![p.timer(&lb, &start, p.dead_after)];
    }
    drill.budget.max_gap_seconds = Some(p.s.budgets.lb_max_gap_seconds);
    Ok(drill)
}

/// lb-stop: planned maintenance of the frontend VIP holder (a kernel update, a reboot). Its
/// proxy closes every client connection after its next answer, the VIP is drained off it (its
/// track script fails on the drain flag, the other holder takes the VIP), then keepalived and
/// the proxy stop cleanly; started again, the host waits as the backup. Clients must not
/// notice.
fn lb_stop(p: &Plan) -> Result<Drill, String> {
    let (mut drill, lb, frontend) = frontend_drill(p)?;
    let proxy = frontend.service();
    // The flag outlives the drill's hold and its dead-man switch: it expires by itself.
    let flag_seconds = p.dead_after + 60;
    let vip = p.s.inv.services.frontend_vip.address;
    let start = commands::start_and_undrain_frontend(vip, frontend);
    drill.summary = format!(
        "planned stop of {lb}, holding the frontend VIP: {proxy} closes its connections, the \
         VIP moves first, then keepalived and {proxy} stop cleanly"
    );
    drill.inject = vec![DrillStep::run(
        &lb,
        commands::drain_frontend_then_stop(vip, frontend, flag_seconds, 30),
    )];
    drill.restore = vec![DrillStep::run(&lb, &start)];
    drill.dead_men = vec![p.timer(&lb, &start, p.dead_after)];
    drill.backup_ready_first = Some(VipKind::Frontend);
    planned_budget(p, &mut drill.budget);
    Ok(drill)
}

/// What the drills on one db node share: two db nodes at least, the node holding the DB VIP
/// (else the first db node), and the write-gap budget.
fn db_drill(p: &Plan) -> Result<(Drill, String), String> {
    let dbs = p.s.inv.hosts_with(Role::Db);
    if dbs.len() < 2 {
        return Err("needs two db hosts".into());
    }
    let holder =
        p.s.db_vip_holder
            .clone()
            .unwrap_or_else(|| dbs[0].to_string());
    let mut drill = p.blank();
    drill.budget = Budget {
        max_write_gap_seconds: Some(p.s.budgets.db_max_write_gap_seconds),
        ..Budget::default()
    };
    Ok((drill, holder))
}

/// db-stop: planned maintenance of the DB VIP holder. The VIP is drained off it first (its
/// track script fails on the drain flag, another Synced node takes the VIP), then MariaDB
/// stops cleanly; started again it must rejoin by IST. Clients must not notice.
fn db_stop(p: &Plan) -> Result<Drill, String> {
    let (mut drill, holder) = db_drill(p)?;
    let vip =
        p.s.inv
            .services
            .db_vip
            .as_ref()
            .ok_or("needs a DB VIP to move")?
            .address;
    // The flag outlives the drill's hold and its dead-man switch: it expires by itself.
    let flag_seconds = p.dead_after + 60;
    let inject = commands::drain_then_stop(vip, "mariadb", flag_seconds, 30);
    let start = commands::start_and_undrain("mariadb");
    drill.summary = format!(
        "planned stop of MariaDB on {holder}, holding the DB VIP: the VIP moves first, then a \
         clean stop; it must rejoin by IST when started"
    );
    drill.inject = vec![DrillStep::run(&holder, inject)];
    drill.restore = vec![DrillStep::run(&holder, &start)];
    drill.dead_men = vec![p.timer(&holder, &start, p.dead_after)];
    drill.targets = vec![holder];
    drill.vip_must_move = Some("db".into());
    drill.backup_ready_first = Some(VipKind::Database);
    planned_budget(p, &mut drill.budget);
    Ok(drill)
}

/// A planned change's budget: no failed request, at most the planned write gap of its tier.
fn planned_budget(p: &Plan, budget: &mut Budget) {
    budget.max_failed = Some(0);
    let db_tier = matches!(p.name, DrillName::DbStop | DrillName::RollingChangeDb);
    budget.max_write_gap_seconds = Some(if db_tier {
        p.s.budgets.planned_db_max_write_gap_seconds
    } else {
        p.s.budgets.planned_max_write_gap_seconds
    });
}

/// rolling-change-app|lb|db: one harmless setting of the tier changed (in memory) and `up`
/// run under load, then `up` of the inventory as it is rolls it back. Nothing to undo by
/// itself should the run die: the next `up` restores the setting, so no dead-man switch.
fn rolling_change(p: &Plan) -> Result<Drill, String> {
    let inv = p.s.inv;
    let role = match p.name {
        DrillName::RollingChangeApp => Role::App,
        DrillName::RollingChangeLb => {
            if Frontend::of(inv) != Frontend::LbPair {
                return Err("changes HAProxy, and this stack has no lb hosts".into());
            }
            Role::Lb
        }
        _ => {
            if inv.services.database != crate::inventory::DatabaseKind::Galera {
                return Err("changes Galera, and this stack's database is not Galera".into());
            }
            Role::Db
        }
    };
    let hosts = inv.hosts_with(role);
    if hosts.len() < 2 {
        return Err(format!(
            "needs two {role} hosts (one keeps serving while the other changes)"
        ));
    }
    let tweak = Tweak::for_drill(p.name, inv).expect("a rolling-change drill");
    let mut drill = p.blank();
    drill.summary = format!(
        "`minicloud up` with {tweak} under load (rolls {}), then back",
        hosts.join(", ")
    );
    drill.targets = hosts.iter().map(|h| h.to_string()).collect();
    drill.inject = vec![DrillStep::Up { tweak: Some(tweak) }];
    drill.restore = vec![DrillStep::Up { tweak: None }];
    drill.hold_seconds = 1;
    planned_budget(p, &mut drill.budget);
    Ok(drill)
}

/// db-crash: SIGKILL of mariadbd on the DB VIP holder; the VIP must move to a Synced node.
fn db_crash(p: &Plan) -> Result<Drill, String> {
    let (mut drill, holder) = db_drill(p)?;
    // Debian's unit may restart it by itself; start is a no-op then.
    let start = systemctl_start(&["mariadb"]);
    drill.summary = format!(
        "SIGKILL mariadbd on {holder}, holding the DB VIP; the VIP must move to a Synced node"
    );
    drill.inject = vec![DrillStep::run(&holder, systemctl_kill("mariadb"))];
    drill.restore = vec![DrillStep::run(&holder, &start)];
    drill.dead_men = vec![p.timer(&holder, &start, p.dead_after)];
    drill.targets = vec![holder];
    drill.vip_must_move = Some("db".into());
    Ok(drill)
}

/// db-partition: the DB VIP holder is cut off the backend network (a lab link pulled, or
/// nftables rules that keep SSH), then healed; it must rejoin, and the VIP move meanwhile.
fn db_partition(p: &Plan) -> Result<Drill, String> {
    let (mut drill, holder) = db_drill(p)?;
    drill.summary = format!(
        "cut {holder}, holding the DB VIP, off the backend network, then heal; it must rejoin"
    );
    if p.s.lab {
        drill.inject = vec![DrillStep::lab(&[
            "partition",
            &holder,
            "--network",
            "backend",
        ])];
        drill.restore = vec![DrillStep::lab(&["heal", &holder, "--network", "backend"])];
        drill.dead_men = vec![DeadMan::Local {
            lab_args: ["heal", &holder, "--network", "backend"]
                .map(String::from)
                .to_vec(),
            after_seconds: p.dead_after,
        }];
    } else {
        let iface = p.s.inv.hosts[&holder]
            .interface(Net::Backend)
            .expect("db hosts are on the backend network");
        let heal = commands::heal_interfaces();
        drill.inject = vec![DrillStep::run(&holder, commands::cut_off_interface(&iface))];
        drill.restore = vec![DrillStep::run(&holder, &heal)];
        drill.dead_men = vec![p.timer(&holder, &heal, p.dead_after)];
    }
    drill.targets = vec![holder];
    drill.vip_must_move = Some("db".into());
    Ok(drill)
}

/// db-total-outage: every db node crashes at once and stays down; the restore is a whole
/// `minicloud up`, which must recover from the most advanced node.
fn db_total_outage(p: &Plan) -> Result<Drill, String> {
    let dbs = p.s.inv.hosts_with(Role::Db);
    if dbs.is_empty() {
        return Err("no db hosts".into());
    }
    let mut drill = p.blank();
    drill.summary = format!(
        "every db node ({}) crashes at once and stays down; `minicloud up` must recover from the most advanced node",
        dbs.join(", ")
    );
    drill.targets = dbs.iter().map(|d| d.to_string()).collect();
    drill.inject = dbs
        .iter()
        .map(|d| DrillStep::run(d, commands::kill_and_keep_down("mariadb")))
        .collect();
    drill.restore = vec![DrillStep::Up { tweak: None }];
    // `up` may take a while; the timers only matter when the drill itself is gone.
    let after = p.s.dead_man.map(|d| d.as_secs()).unwrap_or(p.hold + 300);
    let start = systemctl_start(&["mariadb"]);
    drill.dead_men = dbs.iter().map(|d| p.timer(d, &start, after)).collect();
    // A total outage is an outage: no gap budget, but nothing acknowledged may be lost.
    Ok(drill)
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

    fn is_rolling_change(name: DrillName) -> bool {
        matches!(
            name,
            DrillName::RollingChangeApp | DrillName::RollingChangeLb | DrillName::RollingChangeDb
        )
    }

    /// Every fault has a dead-man switch; a rolling change leaves only a harmless setting
    /// behind, which the next `up` restores, so it has none.
    #[test]
    fn every_drill_applies_to_the_default_stack_and_every_fault_has_a_dead_man() {
        let inv = lab_inventory();
        for lab in [true, false] {
            for name in NAMES {
                let drill = drill(*name, &situation(&inv, lab)).unwrap();
                assert!(
                    !drill.inject.is_empty() && !drill.restore.is_empty(),
                    "{name}"
                );
                assert_eq!(
                    drill.dead_men.is_empty(),
                    is_rolling_change(*name),
                    "{name}: {:?}",
                    drill.dead_men
                );
            }
        }
    }

    /// The rolling changes: one harmless setting, one step from the inventory's value,
    /// applied to a copy, and back by an `up` of the inventory as it is.
    #[test]
    fn rolling_changes_change_one_setting_in_a_copy_and_roll_back() {
        let inv = lab_inventory();
        let s = situation(&inv, true);
        let describe = |name| -> Vec<String> {
            let d = drill(name, &s).unwrap();
            d.inject
                .iter()
                .chain(&d.restore)
                .map(DrillStep::describe)
                .collect()
        };
        assert_eq!(
            describe(DrillName::RollingChangeApp),
            [
                "minicloud up with services.roster.pool_size 10 -> 11 (in memory)",
                "minicloud up"
            ]
        );
        assert_eq!(
            describe(DrillName::RollingChangeLb)[0],
            format!(
                "minicloud up with services.haproxy.timeout_client_ms {} -> {} (in memory)",
                inv.services.haproxy.timeout_client_ms,
                inv.services.haproxy.timeout_client_ms + 1
            )
        );
        assert_eq!(
            describe(DrillName::RollingChangeDb)[0],
            "minicloud up with services.galera.gcache_size 128M -> 129M (in memory)"
        );
        let d = drill(DrillName::RollingChangeDb, &s).unwrap();
        assert_eq!(d.targets, ["db1", "db2"]);
        let DrillStep::Up { tweak: Some(tweak) } = &d.inject[0] else {
            panic!("{d:?}")
        };
        let changed = tweak.apply(&inv);
        assert_eq!(changed.services.galera.gcache_size.as_deref(), Some("129M"));
        assert_eq!(
            inv.services.galera.gcache_size, None,
            "the original is untouched"
        );
        // The changed copy is still a valid inventory.
        assert!(crate::inventory::validate::validate(&changed).is_empty());
        assert_eq!(
            serde_json::to_value(&d.inject).unwrap(),
            serde_json::json!([{"kind": "up", "tweak": {
                "setting": "galera-gcache-size", "from": "128M", "to": "129M"}}])
        );
        assert_eq!(
            serde_json::to_value(&d.restore).unwrap(),
            serde_json::json!([{"kind": "up"}])
        );
    }

    #[test]
    fn a_setting_at_the_top_of_its_range_steps_down() {
        let mut inv = lab_inventory();
        inv.services.roster.pool_size = 1000;
        assert_eq!(
            Tweak::for_drill(DrillName::RollingChangeApp, &inv),
            Some(Tweak::RosterPoolSize {
                from: 1000,
                to: 999
            })
        );
        assert_eq!(next_size("1G"), "2G");
        assert_eq!(next_size("512"), "513");
    }

    #[test]
    fn rolling_changes_that_do_not_fit_the_stack_say_why() {
        let mut inv = lab_inventory();
        inv.services.database = crate::inventory::DatabaseKind::Aerospike;
        let err = drill(DrillName::RollingChangeDb, &situation(&inv, true)).unwrap_err();
        assert!(err.contains("not Galera"), "{err}");
    }

    #[test]
    fn vip_drills_target_the_current_holder() {
        let inv = lab_inventory();
        let s = situation(&inv, true);
        assert_eq!(drill(DrillName::LbDown, &s).unwrap().targets, ["lb2"]);
        assert_eq!(drill(DrillName::DbCrash, &s).unwrap().targets, ["db2"]);
        assert_eq!(drill(DrillName::DbPartition, &s).unwrap().targets, ["db2"]);
        // A planned stop takes the holder too: its VIP is drained first.
        assert_eq!(drill(DrillName::DbStop, &s).unwrap().targets, ["db2"]);
        assert_eq!(
            drill(DrillName::DbPartition, &s).unwrap().inject,
            [DrillStep::lab(&[
                "partition",
                "db2",
                "--network",
                "backend"
            ])]
        );
    }

    #[test]
    fn off_the_lab_faults_go_over_ssh_with_timers() {
        let inv = lab_inventory();
        let d = drill(DrillName::DbPartition, &situation(&inv, false)).unwrap();
        let DrillStep::Run { host, script } = &d.inject[0] else {
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
        assert_eq!(
            drill(DrillName::AppDown, &s).unwrap().budget.max_failed,
            Some(0)
        );
        assert_eq!(
            drill(DrillName::LbDown, &s).unwrap().budget.max_gap_seconds,
            Some(1.0)
        );
        assert_eq!(
            drill(DrillName::DbCrash, &s)
                .unwrap()
                .budget
                .max_write_gap_seconds,
            Some(DB_MAX_WRITE_GAP_SECONDS)
        );
        assert_eq!(
            drill(DrillName::DbPartition, &s)
                .unwrap()
                .budget
                .max_write_gap_seconds,
            Some(DB_MAX_WRITE_GAP_SECONDS)
        );
        assert_eq!(
            drill(DrillName::DbTotalOutage, &s).unwrap().budget,
            Budget::default()
        );
        for (planned, gap) in [
            (DrillName::DbStop, PLANNED_DB_MAX_WRITE_GAP_SECONDS),
            (DrillName::RollingChangeApp, 0.5),
            (DrillName::RollingChangeLb, 0.5),
            (DrillName::LbStop, 0.5),
            (DrillName::RollingChangeDb, PLANNED_DB_MAX_WRITE_GAP_SECONDS),
        ] {
            let budget = drill(planned, &s).unwrap().budget;
            assert_eq!(budget.max_failed, Some(0), "{planned}");
            assert_eq!(budget.max_write_gap_seconds, Some(gap), "{planned}");
        }
    }

    #[test]
    fn drill_names_parse_and_print_as_the_command_line_has_them() {
        for name in NAMES {
            assert_eq!(name.to_string().parse::<DrillName>(), Ok(*name));
        }
        assert_eq!("db-total-outage".parse(), Ok(DrillName::DbTotalOutage));
        let err = "nope".parse::<DrillName>().unwrap_err();
        assert!(err.contains("app-down"), "{err}");
        assert_eq!(
            err,
            "no drill called \"nope\"; hint: the drills are app-down, app-crash, \
             rolling-change-app, lb-down, lb-stop, rolling-change-lb, db-stop, \
             rolling-change-db, db-crash, db-partition, db-total-outage"
        );
        // Exact words only: no case folding, no prefixes.
        assert!("App-Down".parse::<DrillName>().is_err());
        assert!("db".parse::<DrillName>().is_err());
        assert_eq!(
            serde_json::to_value(NAMES).unwrap(),
            serde_json::json!([
                "app-down",
                "app-crash",
                "rolling-change-app",
                "lb-down",
                "lb-stop",
                "rolling-change-lb",
                "db-stop",
                "rolling-change-db",
                "db-crash",
                "db-partition",
                "db-total-outage"
            ])
        );
    }

    /// Only the planned stops of a VIP holder (db-stop, lb-stop) wait for another holder's
    /// keepalived to be BACKUP first, each for its own VIP (a fault drill must strike
    /// whatever state the stack is in), and the dry run says so.
    #[test]
    fn only_the_planned_stops_wait_for_a_backup_first() {
        let inv = lab_inventory();
        let s = situation(&inv, true);
        for name in NAMES {
            let Ok(d) = drill(*name, &s) else { continue };
            let expected = match name {
                DrillName::DbStop => Some(VipKind::Database),
                DrillName::LbStop => Some(VipKind::Frontend),
                _ => None,
            };
            assert_eq!(d.backup_ready_first, expected, "{name}");
            let dry = crate::drill::report::dry_run(std::slice::from_ref(&d));
            assert_eq!(
                dry.contains("first: wait until another db host's keepalived is BACKUP"),
                *name == DrillName::DbStop,
                "{dry}"
            );
            assert_eq!(
                dry.contains(
                    "first: wait until another frontend VIP holder's keepalived is BACKUP"
                ),
                *name == DrillName::LbStop,
                "{dry}"
            );
        }
    }

    /// Every step a drill runs on a host is one of the commands built in `crate::commands`
    /// (the lab's and off the lab's alike), as `--dry-run` shows it.
    #[test]
    fn the_steps_are_the_typed_commands() {
        let inv = lab_inventory();
        let s = situation(&inv, false);
        let scripts = |name: DrillName| -> Vec<String> {
            let d = drill(name, &s).unwrap();
            d.inject
                .iter()
                .chain(&d.restore)
                .map(DrillStep::describe)
                .chain(d.dead_men.iter().map(DeadMan::describe))
                .collect()
        };
        assert_eq!(
            scripts(DrillName::AppDown),
            [
                "on app1: systemctl stop roster",
                "on app1: systemctl start roster",
                "timer on app1 after 70 s: systemctl start roster"
            ]
        );
        assert_eq!(
            scripts(DrillName::AppCrash)[0],
            "on app1: systemctl kill -s KILL roster"
        );
        assert_eq!(
            scripts(DrillName::LbDown),
            [
                "on lb2: systemctl stop keepalived haproxy",
                "on lb2: systemctl start haproxy keepalived",
                "timer on lb2 after 70 s: systemctl start haproxy keepalived"
            ]
        );
        let frontend_vip = inv.services.frontend_vip.address;
        let lb_stop = scripts(DrillName::LbStop);
        assert_eq!(
            lb_stop[0],
            format!(
                "on lb2: timeout 3 perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => \
                 $ARGV[0]) or exit 1; print $s \"$ARGV[1]\\n\"; print while <$s>;' /run/haproxy/admin.sock \
                 'experimental-mode on; set var proc.minicloud_drain bool(1)' >/dev/null || true; \
                 ip addr replace {frontend_vip}/32 dev lo; mkdir -p /run/minicloud && echo $(( $(date +%s) + 130 )) > \
                 /run/minicloud/frontend-vip-drain.new && mv -f /run/minicloud/frontend-vip-drain.new \
                 /run/minicloud/frontend-vip-drain; (n=0; while ip -o -4 addr show | grep -vF ': lo ' | grep -qF ' inet {frontend_vip}/'; \
                 do n=$((n+1)); if [ $n -gt 300 ]; then echo 'the frontend VIP {frontend_vip} did not leave this \
                 host within 30 s' >&2; exit 1; fi; sleep 0.1; done; sleep 0.5) || {{ ip addr del \
                 {frontend_vip}/32 dev lo 2>/dev/null || true; exit 1; }}; ip addr del {frontend_vip}/32 dev lo \
                 2>/dev/null || true; systemctl stop keepalived haproxy"
            )
        );
        let undo = format!(
            "ip addr del {frontend_vip}/32 dev lo 2>/dev/null || true; systemctl start haproxy \
             keepalived; rm -f /run/minicloud/frontend-vip-drain"
        );
        assert_eq!(
            lb_stop[1..],
            [
                format!("on lb2: {undo}"),
                format!("timer on lb2 after 70 s: {undo}")
            ]
        );
        let vip = inv.services.db_vip.as_ref().unwrap().address;
        let stop = scripts(DrillName::DbStop);
        assert_eq!(
            stop[0],
            format!(
                "on db2: mkdir -p /run/minicloud && echo $(( $(date +%s) + 130 )) > \
                 /run/minicloud/db-vip-drain.new && mv -f /run/minicloud/db-vip-drain.new \
                 /run/minicloud/db-vip-drain; n=0; while ip -o -4 addr show | grep -vF ': lo ' | grep -qF ' inet {vip}/'; \
                 do n=$((n+1)); if [ $n -gt 300 ]; then echo 'the DB VIP {vip} did not leave this \
                 host within 30 s' >&2; exit 1; fi; sleep 0.1; done; sleep 0.5; mariadb --batch -e 'SET GLOBAL wsrep_desync = ON' \
                 2>/dev/null || true; systemctl stop mariadb"
            )
        );
        assert_eq!(
            stop[1..],
            [
                "on db2: systemctl start mariadb; rm -f /run/minicloud/db-vip-drain",
                "timer on db2 after 70 s: systemctl start mariadb; rm -f /run/minicloud/db-vip-drain"
            ]
        );
        assert_eq!(
            scripts(DrillName::DbCrash)[0],
            "on db2: systemctl kill -s KILL mariadb"
        );
        assert_eq!(
            scripts(DrillName::DbTotalOutage),
            [
                "on db1: systemctl kill -s KILL mariadb; systemctl stop mariadb",
                "on db2: systemctl kill -s KILL mariadb; systemctl stop mariadb",
                "minicloud up",
                "timer on db1 after 310 s: systemctl start mariadb",
                "timer on db2 after 310 s: systemctl start mariadb"
            ]
        );
    }
}
