//! The Aerospike tier of `up`: install the server from the package the user names (no public
//! download is reachable from every network), write the config, and start the nodes one at a
//! time, each gated on the cluster size `asinfo` reports. The package is checked before any
//! host is touched; the plan is pure so it can be read and snapshot-tested.

use super::Stack;
use super::session::gate;
use crate::facts::HostFacts;
use crate::inventory::{Inventory, Net, Role};
use crate::shell;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// The package file on this machine (relative paths are from the inventory's folder), checked
/// to exist and be of a kind minicloud installs: an error names the key and what to do.
pub fn package_file(
    inv: &Inventory,
    inventory_path: &Path,
) -> Result<Option<(PathBuf, PackageKind)>> {
    if inv.hosts_with(Role::Aerospike).is_empty() {
        return Ok(None);
    }
    let hint = "download the Aerospike server package for Debian 12 x86_64 (the .tgz with asinstall, \
                or a .deb) from aerospike.com onto this machine and give its path in \
                services.aerospike.package";
    let Some(given) = inv
        .services
        .aerospike
        .as_ref()
        .and_then(|a| a.package.as_deref())
    else {
        bail!(
            "{}: services.aerospike.package is not set, so the Aerospike server cannot be installed; nothing was changed\n  hint: {hint}",
            inventory_path.display()
        );
    };
    let path = crate::ssh::expand_home(Path::new(given));
    let path = if path.is_relative() {
        inventory_path.parent().unwrap_or(Path::new(".")).join(path)
    } else {
        path
    };
    let kind = if given.ends_with(".tgz") || given.ends_with(".tar.gz") {
        PackageKind::Tgz
    } else if given.ends_with(".deb") {
        PackageKind::Deb
    } else {
        bail!(
            "{}: services.aerospike.package {given:?} is neither a .tgz nor a .deb; nothing was changed\n  hint: {hint}",
            inventory_path.display()
        );
    };
    if !path.is_file() {
        bail!(
            "{}: services.aerospike.package {given:?}: no such file ({}); nothing was changed\n  hint: {hint}",
            inventory_path.display(),
            path.display()
        );
    }
    Ok(Some((path, kind)))
}

/// Install the uploaded package (Debian's service starts held, as for every package).
pub fn install_script(kind: &PackageKind) -> String {
    let remote = shell::quote(remote_path(kind));
    let install = match kind {
        PackageKind::Tgz => format!(
            "d=$(mktemp -d)\ntar -xzf {remote} -C \"$d\"\ncd \"$d\"/*/\n./asinstall\ncd /\nrm -rf \"$d\""
        ),
        PackageKind::Deb => format!(
            "export DEBIAN_FRONTEND=noninteractive\napt-get install -y -q --no-install-recommends {remote}"
        ),
    };
    super::commands::holding_service_starts(&format!("{install}\nrm -f {remote}"))
}

/// Whether the server is installed: its unit is known to systemd.
pub fn installed(facts: &HostFacts) -> bool {
    facts.unit("aerospike.service").loaded
}

/// One step of the tier, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Upload {
        host: String,
        to: String,
    },
    Install {
        host: String,
    },
    WriteConfig {
        host: String,
    },
    /// Start (or restart, when its config changed) and wait until `asinfo` on it reports a
    /// cluster of at least `cluster_size` nodes.
    Start {
        host: String,
        restart: bool,
        cluster_size: usize,
    },
}

/// The tier's steps: installs first (on hosts without the server), then node by node, in
/// inventory order, config then start gated on the cluster having grown to include it.
/// `config_changed(host)` says whether its config file differs.
pub fn plan(
    inv: &Inventory,
    kind: &PackageKind,
    facts: impl Fn(&str) -> HostFacts,
    config_changed: impl Fn(&str) -> bool,
) -> Vec<Step> {
    let nodes = inv.hosts_with(Role::Aerospike);
    let mut steps = Vec::new();
    for host in &nodes {
        if !installed(&facts(host)) {
            steps.push(Step::Upload {
                host: host.to_string(),
                to: remote_path(kind).to_string(),
            });
            steps.push(Step::Install {
                host: host.to_string(),
            });
        }
    }
    for (index, host) in nodes.iter().enumerate() {
        let changed = config_changed(host);
        if changed {
            steps.push(Step::WriteConfig {
                host: host.to_string(),
            });
        }
        let running = facts(host).unit("aerospike.service").is_active();
        if changed || !running {
            steps.push(Step::Start {
                host: host.to_string(),
                restart: running,
                cluster_size: index + 1,
            });
        }
    }
    steps
}

/// Run the tier's plan on the hosts.
pub(super) async fn converge(stack: &Stack<'_>) -> Result<()> {
    let Some((package, kind)) = &stack.aerospike_package else {
        return Ok(());
    };
    let steps = plan(
        stack.inv,
        kind,
        |host| stack.facts[host].clone(),
        |host| !stack.changed_files(host, Some("aerospike")).is_empty(),
    );
    let mut bytes = None;
    for step in steps {
        match step {
            Step::Upload { host, to } => {
                stack.step(format!("{host}: uploading {}", package.display()));
                if bytes.is_none() {
                    let read = std::fs::read(package)
                        .with_context(|| format!("reading {}", package.display()))?;
                    bytes = Some(read);
                }
                let bytes_sent = bytes.as_deref().unwrap_or_default();
                let script = super::commands::put_file(
                    &to,
                    0o600,
                    "root",
                    "root",
                    None,
                    &super::desired::sha256_hex(bytes_sent),
                );
                stack
                    .session(&host)
                    .must_with_stdin("uploading the Aerospike package", &script, bytes_sent)
                    .await?;
            }
            Step::Install { host } => {
                stack.step(format!("{host}: installing Aerospike"));
                stack
                    .session(&host)
                    .must_finish("installing the Aerospike server", &install_script(kind))
                    .await?;
                stack.changed(
                    &host,
                    format!("installed Aerospike from {}", package.display()),
                );
            }
            Step::WriteConfig { host } => {
                stack.put_changed(&host, "aerospike").await?;
            }
            Step::Start {
                host,
                restart,
                cluster_size,
            } => {
                let session = stack.session(&host);
                let action = if restart { "restart" } else { "enable --now" };
                session.systemctl(action, "aerospike").await?;
                stack.changed(
                    &host,
                    if restart {
                        "restarted aerospike"
                    } else {
                        "started aerospike"
                    },
                );
                let address = stack
                    .inv
                    .address(&host, Net::Backend)
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let namespace = &stack
                    .inv
                    .services
                    .aerospike
                    .as_ref()
                    .expect("validated")
                    .namespace;
                let command = crate::aerospike::status_command(&address, namespace);
                gate(
                    &format!("{host} in an Aerospike cluster of {cluster_size} or more"),
                    Duration::from_secs(120),
                    || async {
                        let out = session.run(&command).await?.stdout_text();
                        let (stats, ns) = out.split_once("@@asns").unwrap_or((&out, ""));
                        Ok(match crate::aerospike::parse_node(stats, ns) {
                            Some(node) if node.cluster_size as usize >= cluster_size => None,
                            Some(node) => Some(format!("cluster size {}", node.cluster_size)),
                            None => Some("asinfo does not answer yet".to_string()),
                        })
                    },
                )
                .await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::UnitState;

    fn oncall() -> (Inventory, PathBuf) {
        let path = PathBuf::from("examples/oncall-roster.yml");
        (crate::inventory::load(&path).unwrap(), path)
    }

    fn describe(steps: &[Step]) -> String {
        steps.iter().map(|s| format!("{s:?}\n")).collect()
    }

    #[test]
    fn a_missing_package_is_refused_before_anything_is_touched() {
        let (inv, path) = oncall();
        let err = package_file(&inv, &path).unwrap_err().to_string();
        assert!(
            err.starts_with("examples/oncall-roster.yml: services.aerospike.package \"./packages/aerospike-server-community_7.2.0.1_tools-11.2.1_debian12_x86_64.tgz\": no such file (examples/./packages/"),
            "{err}"
        );
        assert!(
            err.contains("nothing was changed") && err.contains("hint: download"),
            "{err}"
        );
    }

    #[test]
    fn a_package_beside_the_inventory_is_found_by_kind() {
        let (mut inv, _) = oncall();
        let dir = tempfile::tempdir().unwrap();
        let inventory_path = dir.path().join("inv.yml");
        std::fs::write(dir.path().join("server.deb"), b"x").unwrap();
        inv.services.aerospike.as_mut().unwrap().package = Some("server.deb".into());
        let (path, kind) = package_file(&inv, &inventory_path).unwrap().unwrap();
        assert_eq!(
            (path, kind),
            (dir.path().join("server.deb"), PackageKind::Deb)
        );
        inv.services.aerospike.as_mut().unwrap().package = Some("server.zip".into());
        assert!(
            package_file(&inv, &inventory_path)
                .unwrap_err()
                .to_string()
                .contains("neither a .tgz nor a .deb")
        );
    }

    #[test]
    fn bare_hosts_get_installed_then_started_one_at_a_time() {
        let (inv, _) = oncall();
        let steps = plan(&inv, &PackageKind::Tgz, |_| HostFacts::default(), |_| true);
        insta::assert_snapshot!(describe(&steps));
    }

    #[test]
    fn a_running_cluster_with_one_changed_config_restarts_that_node_only() {
        let (inv, _) = oncall();
        let running = |_: &str| {
            let mut facts = HostFacts::default();
            facts.units.insert(
                "aerospike.service".into(),
                UnitState {
                    active: "active".into(),
                    enabled: "enabled".into(),
                    loaded: true,
                    active_since: 1,
                },
            );
            facts
        };
        let steps = plan(&inv, &PackageKind::Deb, running, |h| h == "as2");
        assert_eq!(
            steps,
            [
                Step::WriteConfig { host: "as2".into() },
                Step::Start {
                    host: "as2".into(),
                    restart: true,
                    cluster_size: 2
                },
            ]
        );
        assert!(plan(&inv, &PackageKind::Deb, running, |_| false).is_empty());
    }

    #[test]
    fn install_scripts_hold_service_starts_and_clean_up() {
        let tgz = install_script(&PackageKind::Tgz);
        assert!(
            tgz.contains("tar -xzf '/var/tmp/minicloud-aerospike.tgz'")
                && tgz.contains("./asinstall")
        );
        let deb = install_script(&PackageKind::Deb);
        assert!(deb.contains(
            "apt-get install -y -q --no-install-recommends '/var/tmp/minicloud-aerospike.deb'"
        ));
        for (script, remote) in [
            (tgz, "'/var/tmp/minicloud-aerospike.tgz'"),
            (deb, "'/var/tmp/minicloud-aerospike.deb'"),
        ] {
            assert!(script.contains("policy-rc.d"), "{script}");
            assert!(
                script.trim_end().ends_with(&format!("rm -f {remote}")),
                "{script}"
            );
        }
    }
}
