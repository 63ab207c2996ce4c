//! The Galera role (db hosts): MariaDB + galera-4 in quorum-safe order, the roster's database
//! and users, and the DB VIP (keepalived, only ever on a Synced node).
//!
//! - No node in a Primary component: bootstrap from the most advanced node (`grastate.dat`,
//!   or `--wsrep-recover` after a crash), never from a stale one; then join the others.
//! - Join one node at a time; each must be Synced in the Primary component before the next.
//! - A running node whose config changed gets a restart, one node at a time, same gate.

use super::{BootstrapFrom, Ctx, Gate, Role, Step, UnitAction};
use crate::galera::{self, NodePosition};
use crate::inventory::{Inventory, Net, Role as HostRole, SstMethod};
use crate::render::context::{GALERA_PORTS, GALERA_SYNCED_SCRIPT, Rules, addrs, others, strings};
use crate::render::{Checker, FileSpec, Hide, When, file};

/// A node may take long to join: a full state transfer copies the whole dataset.
pub const JOIN_TIMEOUT_SECS: u64 = 600;

/// The db tier, one step after another.
pub const ROLE: Role = Role {
    phase: "db tier",
    parallel: false,
    packages,
    units: super::none,
    services,
    files: FILES,
    firewall: |inv, host, rules| {
        if !inv.hosts[host].has(HostRole::Db) {
            return;
        }
        let app = inv.hosts_with(HostRole::App);
        rules.only_from(
            "MariaDB only from the app hosts",
            "tcp",
            &[3306],
            strings(&addrs(inv, &app, Net::Backend)),
        );
        rules.only_from(
            "VRRP adverts from the other db hosts (DB VIP)",
            "vrrp",
            &[],
            others(inv, host, &inv.hosts_with(HostRole::Db), Net::Backend),
        );
        galera_ports(inv, host, rules);
    },
    plan,
    reads,
    check_limited,
};

/// Galera replication, IST and SST, among the voters (db hosts and arbiters).
pub fn galera_ports(inv: &Inventory, host: &str, rules: &mut Rules) {
    let voters: Vec<&str> = inv
        .hosts_with(HostRole::Db)
        .into_iter()
        .chain(inv.hosts_with(HostRole::Arbiter))
        .collect();
    let why = "Galera replication, IST and SST only among db hosts and arbiters";
    rules.only_from(
        why,
        "tcp",
        &GALERA_PORTS,
        others(inv, host, &voters, Net::Backend),
    );
}

const FILES: &[FileSpec] = &[
    FileSpec {
        checker: Some(Checker::Mariadb),
        ..file(
            "galera.cnf",
            include_str!("../../templates/galera.cnf.tera"),
            "/etc/mysql/mariadb.conf.d/60-galera.cnf",
            "mariadb",
            When::Role(HostRole::Db),
        )
    },
    FileSpec {
        mode: 0o640,
        group: "mysql",
        hide: Hide::Values,
        checker: Some(Checker::Mariadb),
        ..file(
            "galera-sst.cnf",
            include_str!("../../templates/galera-sst.cnf.tera"),
            "/etc/mysql/mariadb.conf.d/61-minicloud-sst.cnf",
            "mariadb",
            When::MariabackupSst,
        )
    },
    FileSpec {
        mode: 0o755,
        checker: Some(Checker::Shell),
        ..file(
            "galera-synced.sh",
            include_str!("../../templates/galera-synced.sh.tera"),
            GALERA_SYNCED_SCRIPT,
            "keepalived",
            When::Role(HostRole::Db),
        )
    },
];

fn packages(inv: &Inventory, host: &str) -> Vec<&'static str> {
    if !inv.hosts[host].has(HostRole::Db) {
        return Vec::new();
    }
    let mut list = vec!["mariadb-server", "galera-4", "keepalived", "rsync"];
    if inv.services.galera.sst_method == SstMethod::Mariabackup {
        list.extend(["mariadb-backup", "socat"]);
    }
    list
}

fn services(inv: &Inventory, host: &str) -> Vec<&'static str> {
    if !inv.hosts[host].has(HostRole::Db) {
        return Vec::new();
    }
    let mut list = vec!["mariadb"];
    if inv.services.db_vip.is_some() {
        list.push("keepalived");
    }
    list
}

/// Whether `host` is in a Primary component by its facts.
fn in_primary(ctx: &Ctx, host: &str) -> bool {
    ctx.facts[host]
        .wsrep
        .as_ref()
        .is_some_and(|s| s.is_primary())
}

/// Whether the db tier's steps start a new cluster (no node is in a Primary component).
pub fn bootstraps(ctx: &Ctx) -> bool {
    let db = ctx.inv.hosts_with(HostRole::Db);
    !db.is_empty() && !db.iter().any(|h| in_primary(ctx, h))
}

fn plan(ctx: &Ctx, _earlier: &[Step]) -> Vec<Step> {
    let db = ctx.inv.hosts_with(HostRole::Db);
    let mut steps = Vec::new();
    if db.is_empty() {
        return steps;
    }
    let systemctl = |host: &str, action, unit: &str| Step::Systemctl {
        host: host.to_string(),
        action,
        unit: unit.to_string(),
    };
    for host in &db {
        // Enabled first: Debian's mariadb.service says Also=mariadb.socket, so enabling it
        // later would bring the socket back.
        if !ctx.facts[*host].unit("mariadb.service").is_enabled() {
            steps.push(systemctl(host, UnitAction::Enable, "mariadb"));
        }
        // Debian's socket unit holds port 3306, and mariadbd then cannot bind it.
        let socket = ctx.facts[*host].unit("mariadb.socket");
        if socket.is_active() || socket.is_enabled() {
            steps.push(systemctl(host, UnitAction::Disable, "mariadb.socket"));
        }
    }
    // Nodes whose config changed, and those where only the SST password file did (applied
    // with SET GLOBAL, no restart).
    let mut config_changed = Vec::new();
    let mut sst_auth_changed = Vec::new();
    let mut sst_password_changed = false;
    for host in &db {
        let files = ctx.changed_files(host, "mariadb");
        let secret_changed = files.iter().any(|f| f.secret);
        let only_secret = secret_changed && files.iter().all(|f| f.secret);
        sst_password_changed |= secret_changed;
        if ctx.unit_changed(host, "mariadb") {
            steps.extend(ctx.writes(host, "mariadb"));
            if only_secret {
                sst_auth_changed.push(*host);
            } else {
                config_changed.push(*host);
            }
        }
    }
    let primary: Vec<&str> = db.iter().copied().filter(|h| in_primary(ctx, h)).collect();
    let bootstrapped = primary.is_empty();
    // Where the users are written: a node of the Primary component (the first one, or the
    // node this run bootstraps).
    let first = primary.first().copied().unwrap_or(db[0]);
    let mut joined_early = Vec::new();
    if bootstrapped {
        let bootstrap = bootstrap(ctx, &db);
        // The node a known bootstrap starts from is in the new cluster: it joins nothing.
        if let Some(Step::Bootstrap {
            from: BootstrapFrom::NewCluster { host } | BootstrapFrom::Known { host, .. },
            ..
        }) = bootstrap.last()
        {
            joined_early.push(db.iter().copied().find(|h| h == host).expect("a db host"));
        }
        steps.extend(bootstrap);
    } else {
        // A join an interrupted run started goes on in systemd after the run is gone: let it
        // finish (it is the join this run would make) rather than write to the cluster while
        // it transfers state, or stop it half-way.
        for host in &db {
            if !primary.contains(host) && ctx.facts[*host].unit("mariadb.service").is_activating() {
                steps.push(Step::Join {
                    host: host.to_string(),
                    interrupted: true,
                });
                joined_early.push(*host);
            }
        }
    }
    // Accounts before any node joins: a joiner's state transfer (mariabackup) logs into its
    // donor as the SST user. App hosts' accounts: all of them for a new cluster, else those of
    // new app hosts. A changed password of an existing app host is set by the app tier, just
    // before that host restarts with it, so no other host loses its database meanwhile.
    let apps = ctx.inv.hosts_with(HostRole::App);
    let new_accounts: Vec<String> = apps
        .into_iter()
        .filter(|h| {
            bootstrapped
                || !ctx.facts[*h]
                    .files
                    .contains_key(crate::render::context::ROSTER_ENV)
        })
        .map(str::to_string)
        .collect();
    if !new_accounts.is_empty() || bootstrapped || sst_password_changed {
        // An rsync donor blocks writes until its state transfer ends: wait until Synced (a
        // bootstrap waits for that itself).
        if !bootstrapped {
            steps.push(Step::Wait {
                host: first.to_string(),
                gate: Gate::Synced {
                    size: 1,
                    timeout_secs: JOIN_TIMEOUT_SECS,
                },
            });
        }
        steps.push(Step::DatabaseUsers {
            host: first.to_string(),
            apps: new_accounts,
            with_sst: bootstrapped || sst_password_changed,
        });
    }
    for host in sst_auth_changed.iter().filter(|h| primary.contains(h)) {
        steps.push(Step::SstPassword {
            host: host.to_string(),
        });
    }
    // Join the nodes that are not in the Primary component, one at a time (after a bootstrap:
    // every node; the one it started from has nothing to do).
    for host in &db {
        if !primary.contains(host) && !joined_early.contains(host) {
            steps.push(Step::Join {
                host: host.to_string(),
                interrupted: false,
            });
        }
    }
    // Rolling restarts where the config changed on a node that was already running. With a
    // DB VIP and another node to take it, each node is drained first: the VIP moves before
    // the restart instead of vanishing with it.
    for host in config_changed.iter().filter(|h| primary.contains(h)) {
        // Only where another Primary node runs keepalived and could take the VIP (a run
        // stopped before the DB VIP phase leaves none).
        let drain = ctx.inv.services.db_vip.is_some()
            && primary.iter().any(|other| {
                other != host && ctx.facts[*other].unit("keepalived.service").is_active()
            });
        let host = host.to_string();
        if drain {
            steps.push(Step::DrainDbVip { host: host.clone() });
        }
        steps.push(Step::RollingRestart { host: host.clone() });
        if drain {
            steps.push(Step::UndrainDbVip { host });
        }
    }
    steps.extend(db_vip(ctx, &db));
    steps
}

/// The db tier decides on every db host (who is in the Primary component, the most advanced
/// node, who can take the DB VIP) and on the app hosts (which of them still need a database
/// account).
fn reads(inv: &Inventory) -> Vec<&str> {
    let mut hosts = inv.hosts_with(HostRole::Db);
    hosts.extend(inv.hosts_with(HostRole::App));
    hosts
}

/// A limited db tier: a bootstrap is one decision over every db host, so it needs them all in
/// the limit; a rolling restart needs every other db node in the Primary component already or
/// joining before it in this run (else the restart leaves the cluster short of quorum).
fn check_limited(
    ctx: &Ctx,
    _planned: &[Step],
    kept: &[Step],
) -> Result<(), super::limited::Refusal> {
    let db = ctx.inv.hosts_with(HostRole::Db);
    let outside: Vec<&str> = db
        .iter()
        .copied()
        .filter(|h| !ctx.scope.includes(h))
        .collect();
    if bootstraps(ctx) && !outside.is_empty() {
        return Err(super::limited::Refusal {
            message: format!(
                "no Galera node is in a Primary component, and starting the cluster again is one decision over every db host (the most advanced one bootstraps, the others join), but {} {} outside --limit",
                outside.join(", "),
                if outside.len() == 1 { "is" } else { "are" }
            ),
            hint: "add the db hosts to --limit (e.g. --limit db,...), or run without --limit"
                .to_string(),
        });
    }
    for step in kept {
        let Step::RollingRestart { host } = step else {
            continue;
        };
        let missing = outside.iter().find(|other| {
            **other != host.as_str()
                && !in_primary(ctx, other)
                && !kept
                    .iter()
                    .any(|s| matches!(s, Step::Join { host: h, .. } if h == *other))
        });
        if let Some(other) = missing {
            return Err(super::limited::Refusal {
                message: format!(
                    "{host}'s config changed and it would restart, but {other} is outside --limit and not in the Primary component: the restart would leave the cluster short of a member (and perhaps of quorum)"
                ),
                hint: format!(
                    "add {other} to --limit (it joins before {host} restarts), or run without --limit"
                ),
            });
        }
    }
    Ok(())
}

/// The steps that start a new cluster when no node is in a Primary component.
fn bootstrap(ctx: &Ctx, db: &[&str]) -> Vec<Step> {
    let mut steps = Vec::new();
    // A bootstrap an earlier run started (and left running when it was killed) must finish,
    // not be stopped as a stuck mariadb.
    for host in db {
        if ctx.facts[*host].unit("mariadb.service").is_activating() {
            steps.push(Step::AwaitBootstrap {
                host: host.to_string(),
            });
        }
    }
    let mut positions = Vec::new();
    let mut recover = Vec::new();
    for host in db {
        let facts = &ctx.facts[*host];
        let state = facts.unit("mariadb.service");
        if state.is_active() || state.is_activating() {
            // Running but not Primary: it waits for peers that will never come back (after a
            // total outage garbd has no state to re-form the old view with).
            steps.push(Step::StopOutsidePrimary {
                host: host.to_string(),
            });
        }
        positions.push(match &facts.grastate {
            None => NodePosition {
                host: host.to_string(),
                seqno: None,
                safe_to_bootstrap: false,
                fresh: true,
            },
            Some(g) => {
                if g.seqno < 0 {
                    recover.push(host.to_string());
                }
                NodePosition {
                    host: host.to_string(),
                    seqno: (g.seqno >= 0).then_some(g.seqno),
                    safe_to_bootstrap: g.safe_to_bootstrap,
                    fresh: false,
                }
            }
        });
    }
    let from = if !recover.is_empty() {
        BootstrapFrom::AfterRecovery { recover }
    } else {
        // Every position is known, so the choice cannot fail.
        let chosen = galera::choose_bootstrap(&positions).expect("positions known");
        match chosen.seqno {
            Some(seqno) => BootstrapFrom::Known {
                host: chosen.host.clone(),
                seqno,
            },
            None => BootstrapFrom::NewCluster {
                host: chosen.host.clone(),
            },
        }
    };
    let host = match &from {
        BootstrapFrom::NewCluster { host } | BootstrapFrom::Known { host, .. } => host.clone(),
        BootstrapFrom::AfterRecovery { .. } => db[0].to_string(),
    };
    steps.push(Step::Bootstrap { host, from });
    steps
}

/// keepalived for the DB VIP on every db host, then the VIP must sit on exactly one Synced node.
fn db_vip(ctx: &Ctx, db: &[&str]) -> Vec<Step> {
    let Some(vip) = &ctx.inv.services.db_vip else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    let mut touched = false;
    for host in db {
        let changed = ctx.unit_changed(host, "keepalived");
        steps.extend(ctx.writes(host, "keepalived"));
        steps.extend(ctx.ensure_unit(host, "keepalived", changed, UnitAction::Reload));
        touched |= changed || !ctx.facts[*host].unit("keepalived.service").is_active();
    }
    if touched {
        steps.push(Step::Wait {
            host: db[0].to_string(),
            gate: Gate::DbVip {
                vip: vip.address.to_string(),
                db_hosts: db.iter().map(|h| h.to_string()).collect(),
            },
        });
    }
    steps
}
