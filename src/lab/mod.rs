//! `minicloud lab`: local hosts that behave like small VMs (Docker containers booting systemd
//! and sshd, on two networks of the lab's own) plus an inventory for them, so the whole stack
//! runs on one machine. Also the host control drills use: stop, kill, start, partition, heal.
//!
//! Everything the lab creates carries the label [`LABEL`], and `lab down` removes exactly that
//! (and the bastion layout's nftables table, [`isolation`]).

pub mod docker;
pub mod image;
pub mod isolation;
pub mod topology;

pub use crate::lab_dir::LabDir;

use crate::files::write_atomic;
use crate::inventory::{self, Net};
use crate::ssh;
use anyhow::{Context, Result, bail};
use docker::{Engine, HostSpec};
use futures_util::stream::{self, StreamExt};
use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, PrivateKey};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};
use topology::LabHost;

/// Label on every container and network of the lab.
pub const LABEL: &str = "io.minicloud.lab";
pub const LABEL_VALUE: &str = "minicloud";
/// Hosts set up at once (each does a few Docker calls and waits for boot).
const PARALLEL_HOSTS: usize = 8;
/// How long a host may take to boot systemd and sshd.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
/// inotify instances each systemd host takes, and what the machine itself needs besides.
const INOTIFY_PER_HOST: u64 = 6;
const INOTIFY_RESERVE: u64 = 40;

/// Docker network of a lab network. The names sort in attach order: Docker re-attaches
/// networks alphabetically when a container restarts, and this keeps frontend on eth0.
pub fn network_name(net: Net) -> &'static str {
    match net {
        Net::Frontend => "minicloud-a-frontend",
        Net::Backend => "minicloud-b-backend",
    }
}

/// Docker network of the bastion layout's mgmt network (sorts after the lab networks, so the
/// bastion keeps it on eth2).
pub const MGMT_NETWORK: &str = "minicloud-c-mgmt";

/// (Docker network, address) of each of a host's networks, in attach order.
fn attachments(host: &LabHost) -> Vec<(String, Ipv4Addr)> {
    let mut list: Vec<(String, Ipv4Addr)> = host
        .networks()
        .iter()
        .map(|(net, addr)| (network_name(*net).to_string(), *addr))
        .collect();
    if let Some(addr) = host.mgmt {
        list.push((MGMT_NETWORK.to_string(), addr));
    }
    list
}

fn subnet(net: Net) -> &'static str {
    match net {
        Net::Frontend => topology::FRONTEND_SUBNET,
        Net::Backend => topology::BACKEND_SUBNET,
    }
}

/// This machine's address on a lab network: fixed, because the hosts' firewall lets SSH in from it.
fn gateway(net: Net) -> std::net::Ipv4Addr {
    match net {
        Net::Frontend => topology::FRONTEND_GATEWAY,
        Net::Backend => topology::BACKEND_GATEWAY,
    }
}

pub fn container_name(host: &str) -> String {
    format!("minicloud-{host}")
}

// The folder's paths are in `lab_dir` (built without this module too); how to reach a host
// needs the topology, so it is here.
impl LabDir {
    /// How to reach a lab host: as root, with the lab's key, verified against the lab's
    /// known_hosts; behind the bastion by name, through the bastion (logged in as its sudo
    /// user, as the inventory does).
    pub fn ssh_target(&self, host: &LabHost) -> ssh::Target {
        let jumps = if host.behind_bastion {
            vec![ssh::Hop {
                address: topology::BASTION_MGMT.to_string(),
                port: 22,
                user: topology::BASTION_USER.into(),
                key: Some(self.key()),
            }]
        } else {
            Vec::new()
        };
        ssh::Target {
            name: host.name.clone(),
            address: host.ssh_host(),
            port: 22,
            user: "root".into(),
            key: Some(self.key()),
            jumps,
            known_hosts: self.known_hosts(),
            accept_new_host_key: false,
            connect_timeout: Duration::from_secs(10),
            ..Default::default()
        }
    }
}

/// What `lab up` did to one host.
#[derive(Debug, Clone, PartialEq)]
pub enum HostAction {
    LeftAlone,
    Started,
    Created,
    Recreated(String),
}

/// One row of `lab status`.
#[derive(Debug, Clone)]
pub struct HostStatus {
    pub name: String,
    pub container: String,
    pub running: bool,
    pub ssh: Result<(), String>,
    pub addresses: Vec<(Net, Ipv4Addr)>,
}

pub struct Lab {
    engine: Engine,
    pub dir: LabDir,
}

impl Lab {
    pub async fn open(dir: LabDir) -> Result<Lab> {
        Ok(Lab {
            engine: Engine::connect().await?,
            dir,
        })
    }

    /// Create or repair the lab so it has exactly `names` (and with `bastion` the bastion,
    /// the mgmt network, and this machine walled off the lab networks), all booted and
    /// reachable over SSH.
    pub async fn up(
        &self,
        names: &[String],
        file_sync: &[String],
        release: &crate::platform::Release,
        bastion: bool,
    ) -> Result<Vec<(String, HostAction)>> {
        let hosts = topology::plan_lab(names, bastion)?;
        check_inotify(hosts.len() as u64)?;
        let inventory_text =
            topology::inventory_yaml(&hosts, &self.dir.key(), &self.dir.known_hosts(), file_sync);
        let inv = inventory::parse(&inventory_text)
            .map_err(|p| anyhow::anyhow!("lab inventory: {p:?}"))?;
        let problems = inventory::validate(&inv);
        if !problems.is_empty() {
            let list: Vec<String> = problems
                .iter()
                .map(|p| format!("  {p}\n    hint: {}", p.hint))
                .collect();
            bail!(
                "these lab hosts do not make a usable stack:\n{}",
                list.join("\n")
            );
        }
        let public_key = self.ensure_key_pair()?;
        let image = image::ensure_image(&self.engine, release).await?;
        for net in [Net::Frontend, Net::Backend] {
            self.ensure_network(network_name(net), subnet(net), gateway(net))
                .await?;
        }
        // Before any host is reached: the last gate below then proves the way in is the bastion.
        if bastion {
            self.ensure_network(MGMT_NETWORK, topology::MGMT_SUBNET, topology::MGMT_GATEWAY)
                .await?;
            isolation::wall(&[topology::FRONTEND_SUBNET, topology::BACKEND_SUBNET]).await?;
        } else {
            isolation::remove().await?;
        }
        self.remove_unplanned(&hosts).await?;
        let results: Vec<Result<(String, HostAction)>> = stream::iter(&hosts)
            .map(|host| async {
                let action = self
                    .ensure_host(host, &image, &public_key)
                    .await
                    .with_context(|| format!("lab host {}", host.name))?;
                Ok((host.name.clone(), action))
            })
            .buffer_unordered(PARALLEL_HOSTS)
            .collect()
            .await;
        let mut actions = results.into_iter().collect::<Result<Vec<_>>>()?;
        // In the order asked for (the bastion first).
        actions.sort_by_key(|(name, _)| hosts.iter().position(|h| h.name == *name));
        self.write_known_hosts(&hosts).await?;
        write_atomic(&self.dir.inventory(), inventory_text.as_bytes(), 0o644)?;
        // The last gate: every host answers over SSH with the generated key and a verified host key.
        for host in &hosts {
            let conn = ssh::Connection::open(&self.ssh_target(host)).await?;
            conn.check("true").await?;
            conn.close().await;
        }
        Ok(actions)
    }

    /// Remove every container and network of the lab, and the lab's local files.
    pub async fn down(&self) -> Result<(Vec<String>, Vec<String>)> {
        let containers = self.engine.containers_labeled(LABEL, LABEL_VALUE).await?;
        for container in &containers {
            self.engine.remove(container).await?;
        }
        let networks = self.engine.networks_labeled(LABEL, LABEL_VALUE).await?;
        for network in &networks {
            self.engine.remove_network(network).await?;
        }
        isolation::remove().await?;
        for file in [
            self.dir.key(),
            self.dir.key().with_extension("pub"),
            self.dir.known_hosts(),
            self.dir.inventory(),
        ] {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("removing {}", file.display()));
                }
                _ => {}
            }
        }
        let _ = std::fs::remove_dir(&self.dir.root);
        Ok((containers, networks))
    }

    /// Hosts of the lab (from its inventory) with their container state and SSH reachability.
    pub async fn status(&self) -> Result<Vec<HostStatus>> {
        let hosts = self.hosts()?;
        let rows = stream::iter(&hosts)
            .map(|host| async {
                let container = container_name(&host.name);
                let running = matches!(self.engine.container(&container).await, Ok(Some(info)) if info.running);
                let ssh = if running { self.probe_ssh(host).await } else { Err("container not running".to_string()) };
                HostStatus { name: host.name.clone(), container, running, ssh, addresses: host.networks() }
            })
            .buffered(PARALLEL_HOSTS)
            .collect()
            .await;
        Ok(rows)
    }

    /// Connect with the lab key and verified host key, and run `true`.
    async fn probe_ssh(&self, host: &LabHost) -> Result<(), String> {
        let mut target = self.ssh_target(host);
        target.connect_timeout = Duration::from_secs(3);
        let conn = ssh::Connection::open(&target)
            .await
            .map_err(|e| e.to_string())?;
        let result = conn
            .check("true")
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        conn.close().await;
        result
    }

    /// The lab's hosts, as recorded in its inventory.
    pub fn hosts(&self) -> Result<Vec<LabHost>> {
        let path = self.dir.inventory();
        if !path.exists() {
            bail!(
                "no lab at {}; hint: run `minicloud lab up` first",
                self.dir.root.display()
            );
        }
        let inv = inventory::load(&path)?;
        let names: Vec<String> = inv.hosts.keys().cloned().collect();
        topology::plan_lab(&names, topology::has_bastion(&inv))
    }

    fn host(&self, name: &str) -> Result<LabHost> {
        let hosts = self.hosts()?;
        let known: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
        hosts
            .into_iter()
            .find(|h| h.name == name)
            .with_context(|| format!("no lab host \"{name}\" (lab hosts: {})", known.join(", ")))
    }

    /// Clean shutdown of a host (systemd stops its services).
    pub async fn stop(&self, name: &str) -> Result<()> {
        self.engine
            .stop(&container_name(&self.host(name)?.name))
            .await
    }

    /// SIGKILL to the whole host: no service gets to shut down.
    pub async fn kill(&self, name: &str) -> Result<()> {
        self.engine
            .kill(&container_name(&self.host(name)?.name))
            .await
    }

    /// Start a stopped or killed host and wait until it has booted.
    pub async fn start(&self, name: &str) -> Result<()> {
        let host = self.host(name)?;
        let container = container_name(&host.name);
        self.engine.start(&container).await?;
        self.wait_booted(&container).await?;
        self.check_interfaces(&host).await
    }

    /// Cut the host's link to `net` (its cable, seen from the Docker side); [`Lab::heal`] restores it.
    pub async fn partition(&self, name: &str, net: Net) -> Result<()> {
        self.set_link(name, net, false).await
    }

    pub async fn heal(&self, name: &str, net: Net) -> Result<()> {
        self.set_link(name, net, true).await
    }

    async fn set_link(&self, name: &str, net: Net, up: bool) -> Result<()> {
        let host = self.host(name)?;
        let index = host
            .networks()
            .iter()
            .position(|(n, _)| *n == net)
            .with_context(|| format!("lab host {name} is not on the {} network", net.key()))?;
        let container = container_name(name);
        let iflink = self
            .engine
            .exec(
                &container,
                &["cat", &format!("/sys/class/net/eth{index}/iflink")],
            )
            .await?;
        if iflink.code != 0 {
            bail!(
                "{name}: cannot read eth{index}'s peer: {}; hint: is the host running?",
                iflink.stderr.trim()
            );
        }
        let veth = veth_with_index(iflink.stdout.trim())?;
        let state = if up { "up" } else { "down" };
        let out = tokio::process::Command::new("ip")
            .args(["link", "set", "dev", &veth, state])
            .output()
            .await?;
        if !out.status.success() {
            bail!(
                "ip link set dev {veth} {state}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    pub fn ssh_target(&self, host: &LabHost) -> ssh::Target {
        self.dir.ssh_target(host)
    }

    /// The lab's key pair: generated once, the public half returned.
    fn ensure_key_pair(&self) -> Result<String> {
        let (private, public) = (self.dir.key(), self.dir.key().with_extension("pub"));
        if private.exists() && public.exists() {
            return Ok(std::fs::read_to_string(&public)?.trim().to_string());
        }
        let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
            .context("generating the lab key")?;
        let mut public_line = key
            .public_key()
            .to_openssh()
            .context("encoding the lab's public key")?;
        public_line.push_str(" minicloud-lab");
        write_atomic(&private, key.to_openssh(LineEnding::LF)?.as_bytes(), 0o600)?;
        write_atomic(&public, format!("{public_line}\n").as_bytes(), 0o644)?;
        Ok(public_line)
    }

    async fn ensure_network(&self, name: &str, subnet: &str, gateway: Ipv4Addr) -> Result<()> {
        match self.engine.network_subnet(name).await? {
            Some(existing) if existing == subnet => Ok(()),
            Some(existing) => bail!(
                "Docker network {name} exists with subnet {existing}, not {subnet}; hint: `minicloud lab down` removes it",
            ),
            None => {
                self.engine
                    .create_network(name, subnet, gateway, lab_labels(None))
                    .await
            }
        }
    }

    /// Containers of the lab that the requested host list no longer has.
    async fn remove_unplanned(&self, hosts: &[LabHost]) -> Result<()> {
        let wanted: Vec<String> = hosts.iter().map(|h| container_name(&h.name)).collect();
        for container in self.engine.containers_labeled(LABEL, LABEL_VALUE).await? {
            if !wanted.contains(&container) {
                eprintln!("removing {container}: not in the requested lab hosts");
                self.engine.remove(&container).await?;
            }
        }
        Ok(())
    }

    async fn ensure_host(
        &self,
        host: &LabHost,
        image: &str,
        public_key: &str,
    ) -> Result<HostAction> {
        let container = container_name(&host.name);
        let wanted: HashMap<String, String> = attachments(host)
            .into_iter()
            .map(|(net, addr)| (net, addr.to_string()))
            .collect();
        let action = match self.engine.container(&container).await? {
            Some(info) if info.image != image => {
                self.engine.remove(&container).await?;
                self.create_host(host, image).await?;
                HostAction::Recreated(format!("image changed from {}", info.image))
            }
            Some(info) if info.running && info.addresses != wanted => {
                self.engine.remove(&container).await?;
                self.create_host(host, image).await?;
                HostAction::Recreated("its networks differ from the lab's".into())
            }
            // Made before hosts had their names on the lab networks: the bastion would not
            // resolve them.
            Some(info) if host.behind_bastion && !named_everywhere(&info, host) => {
                self.engine.remove(&container).await?;
                self.create_host(host, image).await?;
                HostAction::Recreated("Docker's DNS did not know it by name".into())
            }
            Some(info) if !info.running => {
                self.engine.start(&container).await?;
                HostAction::Started
            }
            Some(_) => HostAction::LeftAlone,
            None => {
                self.create_host(host, image).await?;
                HostAction::Created
            }
        };
        self.wait_booted(&container).await?;
        self.check_interfaces(host).await?;
        self.install_public_key(&container, public_key).await?;
        Ok(action)
    }

    async fn create_host(&self, host: &LabHost, image: &str) -> Result<()> {
        let container = container_name(&host.name);
        let networks = attachments(host);
        let spec = HostSpec {
            container: container.clone(),
            hostname: host.name.clone(),
            image: image.to_string(),
            labels: lab_labels(Some(&host.name)),
            networks: networks.clone(),
        };
        self.engine.create_host(&spec).await?;
        self.engine.start(&container).await?;
        // The second network is attached after start, so it becomes eth1.
        for (network, addr) in networks.iter().skip(1) {
            self.engine
                .connect_network(&container, network, *addr, &host.name)
                .await?;
        }
        Ok(())
    }

    /// Wait until systemd has finished booting and sshd runs with its host key.
    async fn wait_booted(&self, container: &str) -> Result<()> {
        let started = Instant::now();
        let probe = "systemctl is-system-running; test -s /etc/ssh/ssh_host_ed25519_key.pub && systemctl is-active ssh";
        loop {
            let out = self.engine.exec(container, &["sh", "-c", probe]).await;
            if let Ok(out) = &out {
                let lines: Vec<&str> = out.stdout.lines().collect();
                // "starting" counts once sshd runs: a host whose mariadb hangs in `activating`
                // (a Galera node waiting for peers after a total outage) never gets further.
                let booted = matches!(
                    lines.first(),
                    Some(&"running") | Some(&"degraded") | Some(&"starting")
                );
                if booted && lines.last() == Some(&"active") {
                    return Ok(());
                }
            }
            if started.elapsed() > BOOT_TIMEOUT {
                let failed = self
                    .engine
                    .exec(container, &["systemctl", "--failed", "--no-legend"])
                    .await;
                let failed = failed.map(|o| o.stdout).unwrap_or_else(|e| e.to_string());
                bail!(
                    "{container} did not finish booting within {} s (failed units: {}); hint: check \
                     fs.inotify.max_user_instances (sysctl -w fs.inotify.max_user_instances=8192) and \
                     `docker logs {container}`",
                    BOOT_TIMEOUT.as_secs(),
                    failed.trim()
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Each host must see exactly its own networks, on the interfaces the inventory names.
    async fn check_interfaces(&self, host: &LabHost) -> Result<()> {
        let container = container_name(&host.name);
        let out = self
            .engine
            .exec(&container, &["ip", "-o", "-4", "addr", "show"])
            .await?;
        let seen = crate::facts::parse_ipv4_addrs(&out.stdout);
        let expected = host.expected_interfaces();
        // Exactly the expected interfaces, each with its address; extra addresses on them are
        // the stack's VIPs (keepalived adds them) and belong there.
        let mut seen_interfaces: Vec<&String> = seen.iter().map(|(iface, _)| iface).collect();
        seen_interfaces.sort();
        seen_interfaces.dedup();
        let expected_interfaces: Vec<&String> = expected.iter().map(|(iface, _)| iface).collect();
        if seen_interfaces != expected_interfaces
            || !expected.iter().all(|pair| seen.contains(pair))
        {
            bail!(
                "{container} has interfaces {seen:?}, expected {expected:?}; hint: `minicloud lab down` and `lab up` recreate it"
            );
        }
        Ok(())
    }

    async fn install_public_key(&self, container: &str, public_key: &str) -> Result<()> {
        // Root and the sudo user `deploy` both accept the lab key (a non-root login is worth testing).
        let script = format!(
            "set -e; for home in /root /home/deploy; do install -d -m 700 $home/.ssh; \
             printf '%s\\n' '{public_key}' > $home/.ssh/authorized_keys; chmod 600 $home/.ssh/authorized_keys; done; \
             chown -R deploy:deploy /home/deploy/.ssh"
        );
        let out = self.engine.exec(container, &["sh", "-c", &script]).await?;
        if out.code != 0 {
            bail!(
                "{container}: installing the lab key failed: {}",
                out.stderr.trim()
            );
        }
        Ok(())
    }

    /// known_hosts from each host's key, read through Docker (a channel the lab trusts), for
    /// every address of the host, and for its name when it is reached by name (behind the
    /// bastion).
    async fn write_known_hosts(&self, hosts: &[LabHost]) -> Result<()> {
        let mut lines = String::new();
        for host in hosts {
            let container = container_name(&host.name);
            let out = self
                .engine
                .exec(&container, &["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
                .await?;
            let mut fields = out.stdout.split_whitespace();
            let (Some(kind), Some(key)) = (fields.next(), fields.next()) else {
                bail!("{container}: no SSH host key: {}", out.stderr.trim());
            };
            for addr in host.addresses() {
                lines.push_str(&format!("{addr} {kind} {key}\n"));
            }
            if host.behind_bastion {
                lines.push_str(&format!("{} {kind} {key}\n", host.name));
            }
        }
        write_atomic(&self.dir.known_hosts(), lines.as_bytes(), 0o644)
    }
}

/// Docker's DNS answers the host's name on every network it is on.
fn named_everywhere(info: &docker::ContainerInfo, host: &LabHost) -> bool {
    attachments(host).iter().all(|(net, _)| {
        info.aliases
            .get(net)
            .is_some_and(|names| names.contains(&host.name))
    })
}

fn lab_labels(host: Option<&str>) -> HashMap<String, String> {
    let mut labels = HashMap::from([(LABEL.to_string(), LABEL_VALUE.to_string())]);
    if let Some(host) = host {
        labels.insert("io.minicloud.host".into(), host.to_string());
    }
    labels
}

/// Name of this machine's interface with ifindex `index` (the host side of a container's veth).
fn veth_with_index(index: &str) -> Result<String> {
    for entry in std::fs::read_dir("/sys/class/net")? {
        let entry = entry?;
        if std::fs::read_to_string(entry.path().join("ifindex"))
            .map(|s| s.trim() == index)
            .unwrap_or(false)
        {
            return Ok(entry.file_name().to_string_lossy().into_owned());
        }
    }
    bail!(
        "no interface with index {index} on this machine; hint: the lab's Docker engine must run here"
    )
}

/// Every systemd host takes about six inotify instances; the machine default (128) stops at ~20.
fn check_inotify(hosts: u64) -> Result<()> {
    let path = Path::new("/proc/sys/fs/inotify/max_user_instances");
    let current: u64 = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(u64::MAX);
    let needed = hosts * INOTIFY_PER_HOST + INOTIFY_RESERVE;
    if current < needed {
        bail!(
            "fs.inotify.max_user_instances is {current}, too low for {hosts} lab hosts (each systemd host \
             takes about {INOTIFY_PER_HOST}; without enough, hosts fail to boot); hint: \
             sysctl -w fs.inotify.max_user_instances=8192 (scripts/lab.sh does)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_listing_is_parsed_without_loopback() {
        let out = "1: lo    inet 127.0.0.1/8 scope host lo\n\
                   52: eth0@if53    inet 10.231.50.101/24 brd 10.231.50.255 scope global eth0\n\
                   54: eth1@if55    inet 10.231.60.101/24 brd 10.231.60.255 scope global eth1\n";
        assert_eq!(
            crate::facts::parse_ipv4_addrs(out),
            vec![
                ("eth0".into(), "10.231.50.101".into()),
                ("eth1".into(), "10.231.60.101".into())
            ]
        );
    }

    #[test]
    fn network_names_sort_in_attach_order() {
        assert!(network_name(Net::Frontend) < network_name(Net::Backend));
        assert!(network_name(Net::Backend) < MGMT_NETWORK);
    }

    #[test]
    fn a_host_behind_the_bastion_needs_its_name_on_every_network_it_is_on() {
        let app1 = topology::plan_lab(&["app1".to_string()], true).unwrap()[1].clone();
        let named = |aliases: &[(&str, &[&str])]| docker::ContainerInfo {
            running: true,
            image: String::new(),
            addresses: HashMap::new(),
            aliases: aliases
                .iter()
                .map(|(net, names)| {
                    (
                        net.to_string(),
                        names.iter().map(|n| n.to_string()).collect(),
                    )
                })
                .collect(),
            pid: None,
        };
        let (front, back) = (network_name(Net::Frontend), network_name(Net::Backend));
        assert!(named_everywhere(
            &named(&[(front, &["app1", "0123abcd"]), (back, &["app1"])]),
            &app1
        ));
        assert!(!named_everywhere(
            &named(&[(front, &["app1"]), (back, &["0123abcd"])]),
            &app1
        ));
        assert!(!named_everywhere(&named(&[(front, &["app1"])]), &app1));
        // Through the bastion (as its sudo user), by name, as root.
        let dir = LabDir {
            root: "/lab".into(),
        };
        let target = dir.ssh_target(&app1);
        assert_eq!(
            (target.address.as_str(), target.user.as_str()),
            ("app1", "root")
        );
        assert_eq!(
            target.jumps,
            [ssh::Hop {
                address: "10.231.70.10".into(),
                port: 22,
                user: "deploy".into(),
                key: Some("/lab/id_ed25519".into()),
            }]
        );
        let bastion = dir.ssh_target(&LabHost::bastion());
        assert_eq!(bastion.address, "10.231.70.10");
        assert!(bastion.jumps.is_empty());
    }
}
