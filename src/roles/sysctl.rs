//! The sysctl role, on hosts that may bind a VIP they do not hold (lb pair, web pair, db
//! nodes with a DB VIP): `net.ipv4.ip_nonlocal_bind=1`, persisted in a file and applied now
//! only when the running value is not already 1 (`/proc/sys` may be read-only, as in the lab).

use super::{Ctx, Role, Step};
use crate::render::{When, file};

/// The sysctl file feeds no unit (its change marker is named "").
pub const ROLE: Role = Role {
    phase: "sysctl",
    parallel: true,
    packages: super::none,
    units: super::none,
    services: super::none,
    files: &[file(
        "sysctl.conf",
        include_str!("../../templates/sysctl.conf.tera"),
        "/etc/sysctl.d/60-minicloud.conf",
        "",
        When::VipHolder,
    )],
    firewall: super::no_rules,
    plan,
    reads: super::limited::reads_none,
    check_limited: super::limited::no_rule,
};

fn plan(ctx: &Ctx, _earlier: &[Step]) -> Vec<Step> {
    let mut steps = Vec::new();
    for host in ctx.inv.hosts.keys() {
        if ctx.unit_changed(host, "") {
            steps.extend(ctx.writes(host, ""));
            steps.push(Step::ApplySysctl { host: host.clone() });
        }
    }
    steps
}
