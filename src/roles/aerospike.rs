//! The Aerospike role (the on-call original's database): the server from the package the user
//! names (no public download is reachable from every network), its config, and the nodes
//! started one at a time, each gated on the cluster size `asinfo` reports. Installing from the
//! package file is `converge::aerospike`.

use super::{Ctx, Role, Step};
use crate::facts::HostFacts;
use crate::inventory::{Net, Role as HostRole};
use crate::render::context::{addrs, others, strings};
use crate::render::{When, file};

/// The server package the inventory names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageKind {
    /// Aerospike's `.tgz`: .deb files and its `asinstall` script.
    Tgz,
    /// One `.deb` file.
    Deb,
}

/// Where the package is copied on a host before it is installed.
pub fn remote_path(kind: &PackageKind) -> &'static str {
    match kind {
        PackageKind::Tgz => "/var/tmp/minicloud-aerospike.tgz",
        PackageKind::Deb => "/var/tmp/minicloud-aerospike.deb",
    }
}

/// Whether the server is installed: its unit is known to systemd.
pub fn installed(facts: &HostFacts) -> bool {
    facts.unit("aerospike.service").loaded
}

/// The aerospike hosts, one after another.
pub const ROLE: Role = Role {
    phase: "aerospike tier",
    parallel: false,
    packages: super::none,
    units: |inv, host| super::on(inv, host, HostRole::Aerospike, &["aerospike.service"]),
    services: |inv, host| super::on(inv, host, HostRole::Aerospike, &["aerospike"]),
    files: &[file(
        "aerospike.conf",
        include_str!("../../templates/aerospike.conf.tera"),
        "/etc/aerospike/aerospike.conf",
        "aerospike",
        When::Role(HostRole::Aerospike),
    )],
    firewall: |inv, host, rules| {
        if !inv.hosts[host].has(HostRole::Aerospike) {
            return;
        }
        let app = inv.hosts_with(HostRole::App);
        rules.only_from(
            "Aerospike service only from the app hosts",
            "tcp",
            &[3000],
            strings(&addrs(inv, &app, Net::Backend)),
        );
        let why = "Aerospike fabric and heartbeat only among aerospike nodes";
        let nodes = inv.hosts_with(HostRole::Aerospike);
        rules.only_from(
            why,
            "tcp",
            &[3001, 3002],
            others(inv, host, &nodes, Net::Backend),
        );
    },
    plan,
    reads: super::limited::reads_none,
    check_limited: super::limited::no_rule,
};

/// Installs first (on hosts without the server), then node by node, in inventory order,
/// config then start gated on the cluster having grown to include it. The server's restarts
/// follow its files alone (it keeps no change marker).
fn plan(ctx: &Ctx, _earlier: &[Step]) -> Vec<Step> {
    let Some(kind) = ctx.aerospike_package else {
        return Vec::new();
    };
    let nodes = ctx.inv.hosts_with(HostRole::Aerospike);
    let mut steps = Vec::new();
    for host in &nodes {
        if !installed(&ctx.facts[*host]) {
            steps.push(Step::UploadAerospike {
                host: host.to_string(),
                to: remote_path(kind).to_string(),
            });
            steps.push(Step::InstallAerospike {
                host: host.to_string(),
            });
        }
    }
    for (index, host) in nodes.iter().enumerate() {
        let files = ctx.changed_files(host, "aerospike");
        let changed = !files.is_empty();
        steps.extend(files.iter().map(|f| Step::Write {
            host: host.to_string(),
            path: f.path.clone(),
            unit: None,
        }));
        let running = ctx.facts[*host].unit("aerospike.service").is_active();
        if changed || !running {
            steps.push(Step::StartAerospike {
                host: host.to_string(),
                restart: running,
                cluster_size: index + 1,
            });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::World;
    use super::*;

    #[test]
    fn bare_hosts_get_installed_then_started_one_at_a_time() {
        let world = World::bare("examples/oncall-roster.yml").with_aerospike(PackageKind::Tgz);
        insta::assert_snapshot!(world.describe_phase("aerospike tier"));
    }

    #[test]
    fn a_running_cluster_with_one_changed_config_restarts_that_node_only() {
        let mut world =
            World::converged("examples/oncall-roster.yml").with_aerospike(PackageKind::Deb);
        for host in ["as1", "as2", "as3"] {
            world.unit(host, "aerospike.service", "active");
        }
        assert_eq!(world.describe_phase("aerospike tier"), "");
        world.change_file("as2", "/etc/aerospike/aerospike.conf");
        assert_eq!(
            world.describe_phase("aerospike tier"),
            "as2: write /etc/aerospike/aerospike.conf\n\
             as2: restart aerospike, gated on a cluster of 2 or more\n"
        );
    }
}
