//! Roles: what each part of the stack wants on a host, and the steps that get it there.
//!
//! Every role is a module that owns its packages, the units `up` reads and `status` shows,
//! and a pure planner: (inventory, facts) in, a list of typed [`Step`]s out, in quorum-safe
//! order. No I/O happens here; `converge::execute` runs the steps, and `plan` prints the very
//! same list, so the two cannot disagree.
//!
//! The [`REGISTRY`] lists the roles in the order their phases run. A new role is one new
//! module with a `pub const ROLE: Role` and one line in the registry.

pub mod aerospike;
pub mod app;
pub mod arbiter;
pub mod desired;
pub mod file_sync;
pub mod firewall;
pub mod frontend;
pub mod galera;
pub mod limited;
pub mod step;
pub mod sysctl;

use crate::facts::HostFacts;
use crate::inventory::Inventory;
use desired::{HostDiff, Managed};
use indexmap::IndexMap;
pub use step::{BootstrapFrom, Gate, Step, UnitAction};

/// Everything a planner may look at: the inventory and what each host looks like. Pure data.
pub struct Ctx<'a> {
    /// The inventory.
    pub inv: &'a Inventory,
    /// Each host's facts (for `plan`'s later phases: as the installation will leave them).
    pub facts: &'a IndexMap<String, HostFacts>,
    /// Per host, its managed files that differ and its missing packages.
    pub diffs: &'a IndexMap<String, HostDiff>,
    /// Per host, units a stopped run wrote files for but may not have applied (their change
    /// markers): planned as changed.
    pub pending: &'a IndexMap<String, Vec<String>>,
    /// The Aerospike server package's kind, when the inventory has aerospike hosts.
    pub aerospike_package: Option<&'a aerospike::PackageKind>,
    /// `--limit`: the hosts the run may change, and those it could not read (whose facts
    /// are placeholders no kept step may rest on). The planners plan every host; the phases'
    /// steps are filtered by it in [`plan_phases`] ([`limited`]).
    pub scope: &'a crate::limit::Scope,
}

impl Ctx<'_> {
    /// Files of `host` that differ from its facts and feed `unit` ("" for none).
    pub fn changed_files(&self, host: &str, unit: &str) -> Vec<&Managed> {
        self.diffs[host]
            .files
            .iter()
            .map(|(f, _)| f)
            .filter(|f| f.unit == unit)
            .collect()
    }

    /// A change marker of `unit` is pending on `host` (a stopped run wrote its files).
    pub fn pending(&self, host: &str, unit: &str) -> bool {
        let marker = crate::converge::commands::pending_marker(unit);
        self.pending
            .get(host)
            .is_some_and(|units| units.iter().any(|u| u == marker))
    }

    /// Whether `unit`'s inputs on `host` change in this run: a file differs or a stopped run
    /// left them unapplied.
    pub fn unit_changed(&self, host: &str, unit: &str) -> bool {
        !self.changed_files(host, unit).is_empty() || self.pending(host, unit)
    }

    /// Write steps for `host`'s differing files that feed `unit` (its change marker set before
    /// the first), then a daemon-reload when a systemd unit file is among them.
    pub fn writes(&self, host: &str, unit: &str) -> Vec<Step> {
        let files = self.changed_files(host, unit);
        let mut steps: Vec<Step> = files
            .iter()
            .map(|f| Step::Write {
                host: host.to_string(),
                path: f.path.clone(),
                unit: Some(unit.to_string()),
            })
            .collect();
        if files
            .iter()
            .any(|f| f.path.starts_with("/etc/systemd/system/"))
        {
            steps.push(Step::DaemonReload {
                host: host.to_string(),
            });
        }
        steps
    }

    /// Start `unit` when it is not running, else apply changed inputs with `on_change`; enable a
    /// running unit that is not enabled.
    pub fn ensure_unit(
        &self,
        host: &str,
        unit: &str,
        changed: bool,
        on_change: UnitAction,
    ) -> Vec<Step> {
        let state = self.facts[host].unit(&format!("{unit}.service"));
        let step = |action| Step::Systemctl {
            host: host.to_string(),
            action,
            unit: unit.to_string(),
        };
        let mut steps = Vec::new();
        if !state.is_active() {
            steps.push(step(UnitAction::Start));
        } else if changed {
            steps.push(step(on_change));
        }
        if !state.is_enabled() && state.is_active() {
            steps.push(step(UnitAction::Enable));
        }
        steps
    }
}

/// One role: what it installs, reads and shows, and its planner. See [`REGISTRY`].
pub struct Role {
    /// The phase's name in `up`'s report (`phase_seconds`).
    pub phase: &'static str,
    /// Whether its hosts run their steps at the same time (else one step after another, in
    /// the planner's order: that order is what keeps quorum).
    pub parallel: bool,
    /// Debian packages `host` needs for this role (empty when the role is not on it).
    pub packages: fn(&Inventory, &str) -> Vec<&'static str>,
    /// systemd units `up` reads on `host` beyond those of its packages.
    pub units: fn(&Inventory, &str) -> Vec<&'static str>,
    /// Services (units without `.service`) `status` shows for `host`.
    pub services: fn(&Inventory, &str) -> Vec<&'static str>,
    /// The files it manages (each says which hosts get it and which unit it feeds).
    pub files: &'static [crate::render::FileSpec],
    /// Adds the inbound rules `host` needs for this role to `rules` (everything else is dropped).
    pub firewall: fn(&Inventory, &str, &mut crate::render::context::Rules),
    /// The steps of this role's phase. `earlier` holds the steps of the phases before it.
    pub plan: fn(&Ctx, earlier: &[Step]) -> Vec<Step>,
    /// Hosts beyond each step's own whose facts `plan` decides on (quorum, bootstrap, who
    /// holds a VIP): a limited run refuses to keep any of the phase's steps when one of them
    /// could not be read ([`limited`]).
    pub reads: fn(&Inventory) -> Vec<&str>,
    /// The role's own rule for a limited run: given every step planned and those the limit
    /// keeps, refuse what would be unsafe (e.g. a Galera restart that loses quorum because the
    /// node that should join first is outside the limit).
    pub check_limited: limited::Rule,
}

/// Every role, in the order `up` runs their phases: the firewall before any service opens a
/// port; the database before the apps that use it; the frontend last, the current VIP holder
/// last of all.
pub const REGISTRY: &[&Role] = &[
    &firewall::ROLE,
    &sysctl::ROLE,
    &galera::ROLE,
    &arbiter::ROLE,
    &aerospike::ROLE,
    &app::ROLE,
    &file_sync::ROLE,
    &frontend::ROLE,
];

/// `list` on hosts with `role`, nothing elsewhere (for a role's packages, units or services).
pub fn on(
    inv: &Inventory,
    host: &str,
    role: crate::inventory::Role,
    list: &[&'static str],
) -> Vec<&'static str> {
    if inv.hosts[host].has(role) {
        list.to_vec()
    } else {
        Vec::new()
    }
}

/// No inbound rules: for a role that opens no port.
pub fn no_rules(_: &Inventory, _: &str, _: &mut crate::render::context::Rules) {}

/// Nothing: for a role without packages, units or services of that kind.
pub fn none(_: &Inventory, _: &str) -> Vec<&'static str> {
    Vec::new()
}

/// Debian packages a host's roles need, sorted, each once.
pub fn packages(inv: &Inventory, host: &str) -> Vec<&'static str> {
    let mut list: Vec<&'static str> = REGISTRY
        .iter()
        .flat_map(|role| (role.packages)(inv, host))
        .collect();
    list.sort_unstable();
    list.dedup();
    list
}

/// The systemd units a package brings that `up` reads ("mariadb-server": the socket too, so
/// that `up` can switch it off).
pub fn package_units(package: &str) -> &'static [&'static str] {
    match package {
        "haproxy" => &["haproxy.service"],
        "keepalived" => &["keepalived.service"],
        "mariadb-server" => &["mariadb.service", "mariadb.socket"],
        "galera-arbitrator-4" => &["garb.service"],
        "nginx-light" => &["nginx.service"],
        "lsyncd" => &["lsyncd.service"],
        _ => &[],
    }
}

/// The systemd units `up` reads on a host: those of its packages and those its roles add.
/// Only these: every unit named costs the host work in each fact read, and no-op runs are
/// mostly fact reads.
pub fn units(inv: &Inventory, host: &str) -> Vec<&'static str> {
    // The firewall's first, then the packages', then the other roles' own (the roster's...).
    let (firewall, others) = REGISTRY.split_at(1);
    let mut list: Vec<&'static str> = Vec::new();
    let mut add = |unit: &'static str| {
        if !list.contains(&unit) {
            list.push(unit);
        }
    };
    firewall
        .iter()
        .flat_map(|r| (r.units)(inv, host))
        .for_each(&mut add);
    packages(inv, host)
        .into_iter()
        .flat_map(package_units)
        .for_each(|u| add(u));
    others
        .iter()
        .flat_map(|r| (r.units)(inv, host))
        .for_each(&mut add);
    list
}

/// Inbound allow rules for `host`: every role's, in the registry's order.
pub fn firewall_rules(inv: &Inventory, host: &str) -> Vec<crate::render::context::FirewallRule> {
    let mut rules = crate::render::context::Rules::default();
    for role in REGISTRY {
        (role.firewall)(inv, host, &mut rules);
    }
    rules.into_rules()
}

/// The order `status` shows services in.
const SERVICE_ORDER: &[&str] = &[
    "haproxy",
    "roster",
    "nginx",
    "lsyncd",
    "mariadb",
    "keepalived",
    "garb",
    "aerospike",
];

/// The services (systemd units without `.service`) a host's roles run, in a stable order.
pub fn services(inv: &Inventory, host: &str) -> Vec<&'static str> {
    let wanted: Vec<&'static str> = REGISTRY
        .iter()
        .flat_map(|role| (role.services)(inv, host))
        .collect();
    SERVICE_ORDER
        .iter()
        .copied()
        .filter(|s| wanted.contains(s))
        .collect()
}

/// The facts a host would show right after `packages` were installed on it: their units
/// loaded, enabled (Debian enables a service on install) and not running (minicloud holds the
/// starts during installs). `plan` plans the phases after the installation from these; `up`
/// reads the host again instead. The lab test of plan against up checks that they agree.
pub fn after_install(facts: &HostFacts, packages: &[&str]) -> HostFacts {
    let mut after = facts.clone();
    for package in packages {
        after.installed.insert(package.to_string());
        for unit in package_units(package) {
            after.units.insert(
                unit.to_string(),
                crate::facts::UnitState {
                    active: "inactive".into(),
                    enabled: "enabled".into(),
                    loaded: true,
                    active_since: 0,
                },
            );
        }
    }
    after
}

/// The installation steps: one per host that lacks packages (inside `--limit`: an install
/// only concerns its host).
pub fn plan_installs(ctx: &Ctx) -> Vec<Step> {
    ctx.diffs
        .iter()
        .filter(|(host, d)| !d.packages.is_empty() && ctx.scope.includes(host))
        .map(|(host, d)| Step::Install {
            host: host.clone(),
            packages: d.packages.iter().map(|p| p.to_string()).collect(),
        })
        .collect()
}

/// Every step of a run as planned before it starts.
pub struct Planned<'r> {
    /// Package installations (one step per host that lacks packages), all at once.
    pub installs: Vec<Step>,
    /// Each phase after them, in order, with its role.
    pub phases: Vec<(&'r Role, Vec<Step>)>,
}

impl Planned<'_> {
    /// Every step in the order `up` runs them.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.installs
            .iter()
            .chain(self.phases.iter().flat_map(|(_, steps)| steps))
    }
}

/// The whole run as `plan` shows it: the installations, then the phases planned on the facts
/// the hosts will show once those are done ([`after_install`]). `up` plans the phases again on
/// the facts it reads after installing, with the same [`plan_phases`].
pub fn plan_run<'r>(ctx: &Ctx) -> Result<Planned<'r>, limited::Refusal> {
    let installs = plan_installs(ctx);
    let facts: IndexMap<String, HostFacts> = ctx
        .facts
        .iter()
        .map(|(host, f)| {
            let packages = &ctx.diffs[host].packages;
            (host.clone(), after_install(f, packages))
        })
        .collect();
    let after = Ctx {
        facts: &facts,
        ..*ctx
    };
    Ok(Planned {
        installs,
        phases: plan_phases(&after)?,
    })
}

/// The steps of every phase after the installation, in order, each with its role: those
/// `--limit` keeps ([`limited::restrict`]; each planner sees the kept steps of the phases
/// before it), or why a limited run must not go ahead.
pub fn plan_phases<'r>(ctx: &Ctx) -> Result<Vec<(&'r Role, Vec<Step>)>, limited::Refusal> {
    let mut done: Vec<Step> = Vec::new();
    let mut phases = Vec::new();
    for role in REGISTRY {
        let steps = limited::restrict(ctx, role, &done, (role.plan)(ctx, &done))?;
        done.extend(steps.iter().cloned());
        phases.push((*role, steps));
    }
    Ok(phases)
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod plan_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_is_registered_once_and_phases_are_named() {
        let names: Vec<&str> = REGISTRY.iter().map(|r| r.phase).collect();
        assert_eq!(
            names,
            [
                "firewall",
                "sysctl",
                "db tier",
                "arbiters",
                "aerospike tier",
                "app tier",
                "file sync",
                "lb tier"
            ]
        );
    }

    #[test]
    fn packages_and_units_of_the_default_stack() {
        let inv = fixtures::default_inventory();
        assert_eq!(packages(&inv, "lb1"), ["haproxy", "keepalived", "nftables"]);
        assert_eq!(
            packages(&inv, "db1"),
            [
                "galera-4",
                "keepalived",
                "mariadb-server",
                "nftables",
                "rsync"
            ]
        );
        let units = units(&inv, "db1");
        assert!(units.contains(&"mariadb.socket") && units.contains(&"minicloud-firewall.service"));
        assert_eq!(services(&inv, "lb1"), ["haproxy", "keepalived"]);
        assert_eq!(services(&inv, "app1"), ["roster", "garb"]);
        assert_eq!(services(&inv, "db1"), ["mariadb", "keepalived"]);
    }

    #[test]
    fn after_install_units_are_there_but_stopped() {
        let facts = after_install(&HostFacts::default(), &["mariadb-server"]);
        let socket = facts.unit("mariadb.socket");
        assert!(socket.loaded && socket.is_enabled() && !socket.is_active());
        assert!(facts.installed.contains("mariadb-server"));
    }
}
