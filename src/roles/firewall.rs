//! The firewall role, on every host: minicloud's own nftables table (never the whole ruleset)
//! and the boot unit that loads it. The rules themselves come from `render::context`; how
//! they are loaded safely (dead-man switch, confirmed over a new SSH connection) is
//! `converge::firewall`.

use super::{Ctx, Role, Step, UnitAction};
use crate::facts::HostFacts;
use crate::inventory::Inventory;
use crate::render::context::strings;
use crate::render::{Checker, FIREWALL_RULES, FIREWALL_UNIT, FileSpec, When, file};

/// Every host: the nftables package and the boot unit's state.
pub const ROLE: Role = Role {
    phase: "firewall",
    parallel: true,
    packages: |_, _| vec!["nftables"],
    units: |_, _| vec!["minicloud-firewall.service"],
    services: super::none,
    files: FILES,
    firewall: |inv, host, rules| {
        let ssh_port = [inv.hosts[host].ssh.port.unwrap_or(inv.ssh.port)];
        if inv.firewall.ssh_from.is_empty() {
            rules.anywhere(
                "SSH (firewall.ssh_from is empty: from anywhere)",
                "tcp",
                &ssh_port,
                None,
            );
        } else {
            rules.only_from(
                "SSH from the control machine's networks",
                "tcp",
                &ssh_port,
                strings(&inv.firewall.ssh_from),
            );
        }
    },
    plan,
    reads: super::limited::reads_none,
    check_limited: super::limited::no_rule,
};

const FILES: &[FileSpec] = &[
    // Loaded by `up`'s firewall phase with a dead-man switch, not by a plain upload.
    FileSpec {
        checker: Some(Checker::Nftables),
        mode: 0o600,
        ..file(
            "firewall.nft",
            include_str!("../../templates/firewall.nft.tera"),
            FIREWALL_RULES,
            FIREWALL_UNIT,
            When::Always,
        )
    },
    file(
        "minicloud-firewall.service",
        include_str!("../../templates/minicloud-firewall.service.tera"),
        "/etc/systemd/system/minicloud-firewall.service",
        FIREWALL_UNIT,
        When::Always,
    ),
];

/// The fingerprint of the rules `host` should have loaded.
pub fn desired_fingerprint(inv: &Inventory, host: &str) -> String {
    let rules = crate::render::context::firewall_rules(inv, host);
    crate::render::context::firewall_fingerprint(&rules)
}

/// Why `host`'s rules must be loaded, or None when the loaded table is the rendered one and
/// the boot-time file holds it too.
pub fn load_reason(desired: &str, facts: &HostFacts, file_differs: bool) -> Option<String> {
    match &facts.firewall {
        None => Some("no minicloud table is loaded".into()),
        Some(loaded) if loaded != desired => Some(format!(
            "the loaded rules ({loaded}) are not the inventory's ({desired})"
        )),
        Some(_) if file_differs => Some(format!("{FIREWALL_RULES} differs from the loaded rules")),
        Some(_) => None,
    }
}

/// Why `host`'s rules must be loaded in this run, or None.
pub fn host_reason(ctx: &Ctx, host: &str) -> Option<String> {
    let file_differs = ctx
        .changed_files(host, FIREWALL_UNIT)
        .iter()
        .any(|f| f.path == FIREWALL_RULES);
    load_reason(
        &desired_fingerprint(ctx.inv, host),
        &ctx.facts[host],
        file_differs,
    )
}

/// Per host: load the rules where they differ, write the boot unit where it differs, enable it.
fn plan(ctx: &Ctx, _earlier: &[Step]) -> Vec<Step> {
    let mut steps = Vec::new();
    for host in ctx.inv.hosts.keys() {
        if let Some(reason) = host_reason(ctx, host) {
            steps.push(Step::LoadFirewall {
                host: host.clone(),
                reason,
            });
        }
        for file in ctx.changed_files(host, FIREWALL_UNIT) {
            if file.path != FIREWALL_RULES {
                steps.push(Step::Write {
                    host: host.clone(),
                    path: file.path.clone(),
                    unit: None,
                });
                steps.push(Step::DaemonReload { host: host.clone() });
            }
        }
        let unit = format!("{FIREWALL_UNIT}.service");
        if !ctx.facts[host].unit(&unit).is_enabled() {
            steps.push(Step::Systemctl {
                host: host.clone(),
                action: UnitAction::Enable,
                unit,
            });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loaded_table_decides() {
        let mut facts = HostFacts::default();
        assert!(
            load_reason("aa", &facts, false)
                .unwrap()
                .contains("no minicloud table")
        );
        facts.firewall = Some("bb".into());
        assert!(load_reason("aa", &facts, false).unwrap().contains("(bb)"));
        facts.firewall = Some("aa".into());
        assert_eq!(load_reason("aa", &facts, false), None);
        assert!(load_reason("aa", &facts, true).is_some());
    }
}
