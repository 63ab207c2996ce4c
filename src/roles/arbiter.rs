//! The arbiter role: garbd (Debian's `galera-arbitrator-4`, unit `garb`), a Galera vote
//! without data. It can only join a Primary component, so it comes after the db tier.

use super::{Ctx, Gate, Role, Step};
use crate::inventory::{Inventory, Role as HostRole};
use crate::render::{When, file};

/// garbd on the arbiter hosts, one after another, then the cluster's size is the gate.
pub const ROLE: Role = Role {
    phase: "arbiters",
    parallel: false,
    packages: |inv, host| super::on(inv, host, HostRole::Arbiter, &["galera-arbitrator-4"]),
    units: super::none,
    services: |inv, host| super::on(inv, host, HostRole::Arbiter, &["garb"]),
    files: &[file(
        "garb",
        include_str!("../../templates/garb.tera"),
        "/etc/default/garb",
        "garb",
        When::Role(HostRole::Arbiter),
    )],
    firewall: |inv, host, rules| {
        // A db host that is also an arbiter gets these from the galera role already.
        let entry = &inv.hosts[host];
        if entry.has(HostRole::Arbiter) && !entry.has(HostRole::Db) {
            super::galera::galera_ports(inv, host, rules);
        }
    },
    plan,
    reads,
    check_limited,
};

/// Whether the cluster will be short of arbiters after the db tier: a new cluster is started
/// (garbd then waits on one that is gone), or the Primary component has fewer members than its
/// db nodes plus every arbiter (a garbd that came up with its host during an outage).
fn short_of_arbiters(ctx: &Ctx, inv: &Inventory, arbiters: usize) -> bool {
    if super::galera::bootstraps(ctx) {
        return true;
    }
    let db = inv.hosts_with(HostRole::Db);
    let primary: Vec<u32> = db
        .iter()
        .filter_map(|h| ctx.facts[*h].wsrep.as_ref())
        .filter(|s| s.is_primary())
        .map(|s| s.cluster_size)
        .collect();
    let members = primary.iter().copied().max().unwrap_or(0) as usize;
    members < primary.len() + arbiters
}

/// Whether the arbiters are short, and the gate, come from the db hosts' facts.
fn reads(inv: &Inventory) -> Vec<&str> {
    inv.hosts_with(HostRole::Db)
}

/// garbd can only join a Primary component: with none, and the db hosts (which the run would
/// bootstrap) outside the limit, starting an arbiter would only time out.
fn check_limited(
    ctx: &Ctx,
    _planned: &[Step],
    kept: &[Step],
) -> Result<(), super::limited::Refusal> {
    let db = ctx.inv.hosts_with(HostRole::Db);
    let all_db = db.iter().all(|h| ctx.scope.includes(h));
    let starts = kept.iter().any(|s| matches!(s, Step::StartArbiter { .. }));
    if starts && !all_db && super::galera::bootstraps(ctx) {
        return Err(super::limited::Refusal {
            message: "an arbiter (garbd) would start, but no Galera node is in a Primary component and the db hosts that would start one are outside --limit"
                .to_string(),
            hint: "add the db hosts to --limit (e.g. --limit db,arbiter), or run without --limit"
                .to_string(),
        });
    }
    Ok(())
}

fn plan(ctx: &Ctx, _earlier: &[Step]) -> Vec<Step> {
    let inv = ctx.inv;
    let arbiters = inv.hosts_with(HostRole::Arbiter);
    let db = inv.hosts_with(HostRole::Db);
    if arbiters.is_empty() || db.is_empty() {
        return Vec::new();
    }
    let short = short_of_arbiters(ctx, inv, arbiters.len());
    let mut steps = Vec::new();
    let mut touched = false;
    for host in &arbiters {
        let changed = ctx.unit_changed(host, "garb");
        steps.extend(ctx.writes(host, "garb"));
        let active = ctx.facts[*host].unit("garb.service").is_active();
        if changed || !active || short {
            steps.push(Step::StartArbiter {
                host: host.to_string(),
                restart: active,
            });
            touched = true;
        }
    }
    if touched {
        steps.push(Step::Wait {
            host: db[0].to_string(),
            gate: Gate::Synced {
                size: (db.len() + arbiters.len()) as u32,
                timeout_secs: 60,
            },
        });
    }
    steps
}
