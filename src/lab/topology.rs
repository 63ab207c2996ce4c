//! Lab topology: which hosts, their roles, networks and fixed addresses, and the inventory
//! written for them. Pure functions; Docker is elsewhere.
//!
//! Two layouts: the default, where this machine reaches every host on the lab networks; and
//! `--bastion`, where it reaches only a `bastion` host on a third network of the lab's own
//! (mgmt), and every other host through it, by name, as the sudo user `deploy`.

use crate::inventory::{Net, Role};
use anyhow::{Result, bail};
use std::net::Ipv4Addr;
use std::path::Path;

/// The lab's own networks (never anything else's): frontend and backend.
pub const FRONTEND_SUBNET: &str = "10.231.50.0/24";
pub const BACKEND_SUBNET: &str = "10.231.60.0/24";
const FRONTEND_PREFIX: [u8; 3] = [10, 231, 50];
const BACKEND_PREFIX: [u8; 3] = [10, 231, 60];
/// This machine's address on each lab network (the bridge's gateway): SSH comes from there.
pub const FRONTEND_GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 231, 50, 1);
pub const BACKEND_GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 231, 60, 1);
pub const FRONTEND_VIP: Ipv4Addr = Ipv4Addr::new(10, 231, 50, 100);
pub const DB_VIP: Ipv4Addr = Ipv4Addr::new(10, 231, 60, 100);

/// The bastion layout's third network: this machine and the bastion only.
pub const MGMT_SUBNET: &str = "10.231.70.0/24";
/// This machine's address on the mgmt network.
pub const MGMT_GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 231, 70, 1);
/// The bastion's name (no kind-and-number name, so `--hosts` cannot ask for it).
pub const BASTION: &str = "bastion";
/// Where this machine reaches the bastion.
pub const BASTION_MGMT: Ipv4Addr = Ipv4Addr::new(10, 231, 70, 10);
/// The bastion's addresses on the lab networks: what the hosts see SSH come from.
pub const BASTION_FRONTEND: Ipv4Addr = Ipv4Addr::new(10, 231, 50, 5);
/// The bastion's address on the backend network (what the db hosts see SSH come from).
pub const BASTION_BACKEND: Ipv4Addr = Ipv4Addr::new(10, 231, 60, 5);
/// The login user of the bastion layout, on the bastion and the hosts: sudo without a
/// password, as on most cloud images.
pub const BASTION_USER: &str = "deploy";

/// The default lab: 2 lb, 2 app (app1 also runs garbd), 2 Galera db nodes.
pub const DEFAULT_HOSTS: &[&str] = &["lb1", "lb2", "app1", "app2", "db1", "db2"];

/// One lab host as it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct LabHost {
    pub name: String,
    pub roles: Vec<Role>,
    pub frontend: Option<Ipv4Addr>,
    pub backend: Option<Ipv4Addr>,
    /// Its address on the mgmt network (the bastion only).
    pub mgmt: Option<Ipv4Addr>,
    /// Reached through the bastion, by name, instead of at an address.
    pub behind_bastion: bool,
}

impl LabHost {
    /// The bastion of the `--bastion` layout: on every lab network, and on mgmt.
    pub fn bastion() -> LabHost {
        LabHost {
            name: BASTION.to_string(),
            roles: Vec::new(),
            frontend: Some(BASTION_FRONTEND),
            backend: Some(BASTION_BACKEND),
            mgmt: Some(BASTION_MGMT),
            behind_bastion: false,
        }
    }

    /// It is the bastion (no role: not in the inventory's hosts).
    pub fn is_bastion(&self) -> bool {
        self.mgmt.is_some()
    }

    /// Networks in attach order: the first is eth0, the second eth1.
    pub fn networks(&self) -> Vec<(Net, Ipv4Addr)> {
        let mut list = Vec::new();
        if let Some(addr) = self.frontend {
            list.push((Net::Frontend, addr));
        }
        if let Some(addr) = self.backend {
            list.push((Net::Backend, addr));
        }
        list
    }

    /// Every address it has, in attach order: its lab networks, then mgmt.
    pub fn addresses(&self) -> Vec<Ipv4Addr> {
        let mut list: Vec<Ipv4Addr> = self.networks().iter().map(|(_, a)| *a).collect();
        list.extend(self.mgmt);
        list
    }

    /// (interface, address) it must have: eth0 for the first network, eth1 for the second, ...
    pub fn expected_interfaces(&self) -> Vec<(String, String)> {
        self.addresses()
            .iter()
            .enumerate()
            .map(|(i, addr)| (format!("eth{i}"), addr.to_string()))
            .collect()
    }

    /// The address minicloud reaches it on over SSH when it is reached straight.
    pub fn ssh_address(&self) -> Ipv4Addr {
        self.mgmt
            .or(self.frontend)
            .or(self.backend)
            .expect("every lab host is on a network")
    }

    /// What SSH connects to: its name when it is behind the bastion (the bastion resolves
    /// it, through Docker's DNS), else its address.
    pub fn ssh_host(&self) -> String {
        if self.behind_bastion {
            self.name.clone()
        } else {
            self.ssh_address().to_string()
        }
    }
}

/// Split `app12` into `("app", 12)`.
fn split_name(name: &str) -> Option<(&str, u8)> {
    let digits = name.find(|c: char| c.is_ascii_digit())?;
    let (kind, number) = name.split_at(digits);
    let number: u8 = number.parse().ok()?;
    (number > 0).then_some((kind, number))
}

/// Turn host names (`lb1,lb2,app1,...`) into lab hosts with roles and fixed addresses.
///
/// Addresses: lbN .10+N, dbN .30+N, asN .40+N, appN .100+N (N up to 99 for app hosts). The
/// first app host also gets the arbiter role when the db hosts are even in number, so that
/// Galera's voters are odd and any single host loss keeps quorum.
pub fn plan_hosts(names: &[String]) -> Result<Vec<LabHost>> {
    let mut hosts = Vec::new();
    for name in names {
        let Some((kind, n)) = split_name(name) else {
            bail!(
                "lab host \"{name}\" is not a kind followed by a number; hint: use lbN, appN, dbN or asN, \
                 e.g. --hosts lb1,lb2,app1,app2,db1,db2"
            );
        };
        let frontend = |offset: u8| {
            Some(Ipv4Addr::from([
                FRONTEND_PREFIX[0],
                FRONTEND_PREFIX[1],
                FRONTEND_PREFIX[2],
                offset + n,
            ]))
        };
        let backend = |offset: u8| {
            Some(Ipv4Addr::from([
                BACKEND_PREFIX[0],
                BACKEND_PREFIX[1],
                BACKEND_PREFIX[2],
                offset + n,
            ]))
        };
        let (roles, frontend, backend) = match kind {
            "lb" if n <= 9 => (vec![Role::Lb], frontend(10), None),
            "db" if n <= 9 => (vec![Role::Db], None, backend(30)),
            "as" if n <= 9 => (vec![Role::Aerospike], None, backend(40)),
            "app" if n <= 99 => (vec![Role::App], frontend(100), backend(100)),
            "lb" | "db" | "as" | "app" => {
                bail!("lab host \"{name}\": number too high (lb, db, as: 1-9; app: 1-99)")
            }
            _ => bail!(
                "lab host \"{name}\": unknown kind \"{kind}\"; hint: use lbN, appN, dbN or asN"
            ),
        };
        if hosts.iter().any(|h: &LabHost| h.name == *name) {
            bail!("lab host \"{name}\" is listed twice");
        }
        hosts.push(LabHost {
            name: name.clone(),
            roles,
            frontend,
            backend,
            mgmt: None,
            behind_bastion: false,
        });
    }
    let db_count = hosts.iter().filter(|h| h.roles.contains(&Role::Db)).count();
    if db_count > 0
        && db_count.is_multiple_of(2)
        && let Some(first_app) = hosts.iter_mut().find(|h| h.roles.contains(&Role::App))
    {
        first_app.roles.push(Role::Arbiter);
    }
    Ok(hosts)
}

/// The lab's hosts for `names`; with `bastion`, the bastion too (first), and every other
/// host behind it.
pub fn plan_lab(names: &[String], bastion: bool) -> Result<Vec<LabHost>> {
    let mut hosts = plan_hosts(names)?;
    if bastion {
        for host in &mut hosts {
            host.behind_bastion = true;
        }
        hosts.insert(0, LabHost::bastion());
    }
    Ok(hosts)
}

/// Whether a lab inventory is of the bastion layout: its hosts are reached through the
/// bastion's mgmt address.
pub fn has_bastion(inv: &crate::inventory::Inventory) -> bool {
    let bastion = BASTION_MGMT.to_string();
    inv.ssh.proxy_jump.as_ref().is_some_and(|chain| {
        chain
            .hops()
            .iter()
            .any(|hop| hop.host.to_string() == bastion)
    })
}

/// The `ssh:` and `firewall:` sections: straight as root from this machine, or (with a
/// bastion among `hosts`) as the sudo user through the bastion, SSH let in from its
/// addresses only, as the hosts see it.
fn access_yaml(hosts: &[LabHost], key: &Path, known_hosts: &Path) -> String {
    let (key, known_hosts) = (key.display(), known_hosts.display());
    if hosts.iter().any(LabHost::is_bastion) {
        format!(
            "# Every host is reached through the bastion (this machine reaches nothing else), by\n\
             # name, as a sudo user.\n\
             ssh:\n  user: {BASTION_USER}\n  port: 22\n  key: {key}\n  known_hosts: {known_hosts}\n  \
             proxy_jump: {BASTION_USER}@{BASTION_MGMT}\n\n\
             networks:\n  frontend: {FRONTEND_SUBNET}\n  backend: {BACKEND_SUBNET}\n\n\
             # SSH only from the bastion (its address on each lab network: what the hosts see).\n\
             firewall:\n  ssh_from: [{BASTION_FRONTEND}/32, {BASTION_BACKEND}/32]\n\n"
        )
    } else {
        format!(
            "ssh:\n  user: root\n  port: 22\n  key: {key}\n  known_hosts: {known_hosts}\n\n\
             networks:\n  frontend: {FRONTEND_SUBNET}\n  backend: {BACKEND_SUBNET}\n\n\
             # SSH only from this machine (its address on each lab network).\n\
             firewall:\n  ssh_from: [{FRONTEND_GATEWAY}/32, {BACKEND_GATEWAY}/32]\n\n"
        )
    }
}

/// The inventory for the lab's hosts; `key` and `known_hosts` are the lab's own files. A
/// bastion among `hosts` is no inventory host: it is the way to the others.
pub fn inventory_yaml(
    hosts: &[LabHost],
    key: &Path,
    known_hosts: &Path,
    file_sync: &[String],
) -> String {
    let mut out = format!(
        "# Written by `minicloud lab up` for the local lab; `minicloud lab down` removes it.\n\
         # inventory/example.yml documents every key.\n\
         name: minicloud-lab\n\n{}hosts:\n",
        access_yaml(hosts, key, known_hosts)
    );
    let hosts: Vec<&LabHost> = hosts.iter().filter(|h| !h.is_bastion()).collect();
    for host in hosts.iter().copied() {
        let roles: Vec<&str> = host.roles.iter().map(|r| r.name()).collect();
        out.push_str(&format!(
            "  {}:\n    roles: [{}]\n",
            host.name,
            roles.join(", ")
        ));
        if host.behind_bastion {
            out.push_str(&format!("    ssh:\n      host: {}\n", host.ssh_host()));
        }
        out.push_str("    addresses:\n");
        for (net, addr) in host.networks() {
            out.push_str(&format!("      {}: {addr}\n", net.key()));
        }
        out.push_str("    interfaces:\n");
        for (index, (net, _)) in host.networks().iter().enumerate() {
            out.push_str(&format!("      {}: eth{index}\n", net.key()));
        }
    }
    let has_db = hosts.iter().any(|h| h.roles.contains(&Role::Db));
    out.push_str(&format!(
        "\nservices:\n  frontend_vip:\n    address: {FRONTEND_VIP}\n    virtual_router_id: 51\n"
    ));
    if has_db {
        out.push_str(&format!(
            "  db_vip:\n    address: {DB_VIP}\n    virtual_router_id: 52\n  database: galera\n"
        ));
    }
    if hosts.iter().any(|h| h.roles.contains(&Role::Lb)) {
        out.push_str("  haproxy:\n    stats:\n      port: 8404\n");
    } else {
        // No lb hosts: the on-call original's web pair, nginx on the app hosts holding the VIP.
        out.push_str("  nginx:\n    enabled: true\n");
    }
    if !file_sync.is_empty() {
        out.push_str(&format!(
            "  file_sync:\n    paths: [{}]\n",
            file_sync.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_lab_has_odd_voters_and_fixed_addresses() {
        let hosts = plan_hosts(&names(DEFAULT_HOSTS)).unwrap();
        let app1 = hosts.iter().find(|h| h.name == "app1").unwrap();
        assert_eq!(app1.roles, vec![Role::App, Role::Arbiter]);
        assert_eq!(app1.frontend, Some(Ipv4Addr::new(10, 231, 50, 101)));
        assert_eq!(app1.backend, Some(Ipv4Addr::new(10, 231, 60, 101)));
        let db2 = hosts.iter().find(|h| h.name == "db2").unwrap();
        assert_eq!(
            (db2.frontend, db2.backend),
            (None, Some(Ipv4Addr::new(10, 231, 60, 32)))
        );
    }

    #[test]
    fn three_db_hosts_need_no_arbiter() {
        let hosts = plan_hosts(&names(&["lb1", "app1", "db1", "db2", "db3"])).unwrap();
        assert!(hosts.iter().all(|h| !h.roles.contains(&Role::Arbiter)));
    }

    #[test]
    fn bad_names_are_refused_with_a_hint() {
        let err = plan_hosts(&names(&["web1"])).unwrap_err().to_string();
        assert!(err.contains("unknown kind \"web\""), "{err}");
        assert!(plan_hosts(&names(&["lb"])).is_err());
        assert!(plan_hosts(&names(&["lb10"])).is_err());
        assert!(plan_hosts(&names(&["lb1", "lb1"])).is_err());
    }

    #[test]
    fn lab_inventory_is_valid_for_default_and_large_labs() {
        let mut large = names(DEFAULT_HOSTS);
        large.extend((3..=48).map(|n| format!("app{n}")));
        for list in [names(DEFAULT_HOSTS), large] {
            let hosts = plan_hosts(&list).unwrap();
            let text = inventory_yaml(
                &hosts,
                Path::new("/lab/id_ed25519"),
                Path::new("/lab/known_hosts"),
                &[],
            );
            let inv = inventory::parse(&text).unwrap_or_else(|p| panic!("{p:?}\n{text}"));
            let problems = inventory::validate(&inv);
            assert!(problems.is_empty(), "{problems:?}\n{text}");
            assert_eq!(inv.hosts.len(), list.len());
        }
    }

    #[test]
    fn the_bastion_lab_reaches_hosts_by_name_through_the_bastion_as_a_sudo_user() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = plan_lab(&names(DEFAULT_HOSTS), true).unwrap();
        assert_eq!(hosts[0], LabHost::bastion());
        assert!(
            hosts[1..]
                .iter()
                .all(|h| h.behind_bastion && h.mgmt.is_none())
        );
        // The bastion is on every lab network and on mgmt, in attach order.
        assert_eq!(
            hosts[0].expected_interfaces(),
            [
                ("eth0".to_string(), "10.231.50.5".to_string()),
                ("eth1".to_string(), "10.231.60.5".to_string()),
                ("eth2".to_string(), "10.231.70.10".to_string()),
            ]
        );
        let text = inventory_yaml(
            &hosts,
            Path::new("/lab/id_ed25519"),
            Path::new("/lab/known_hosts"),
            &[],
        )
        // Keep ~/.ssh/config of whoever runs the test out of it.
        .replace(
            "  proxy_jump:",
            &format!(
                "  config: {}\n  proxy_jump:",
                dir.path().join("none").display()
            ),
        );
        let inv = inventory::parse(&text).unwrap_or_else(|p| panic!("{p:?}\n{text}"));
        assert!(inventory::validate(&inv).is_empty(), "{text}");
        assert!(has_bastion(&inv));
        // The bastion is the way in, not an inventory host.
        assert_eq!(inv.hosts.len(), DEFAULT_HOSTS.len());
        let app1 = inv.ssh_target("app1", false);
        assert_eq!(
            (app1.address.as_str(), app1.user.as_str()),
            ("app1", "deploy")
        );
        assert_eq!(app1.jumps.len(), 1);
        assert_eq!(
            (app1.jumps[0].address.as_str(), app1.jumps[0].user.as_str()),
            ("10.231.70.10", "deploy")
        );
        // SSH is let in from what the hosts see: the bastion's addresses, not this machine's.
        let allowed: Vec<String> = inv
            .firewall
            .ssh_from
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(allowed, ["10.231.50.5/32", "10.231.60.5/32"]);
    }

    #[test]
    fn the_default_lab_has_no_bastion_and_is_reached_at_addresses_as_root() {
        let hosts = plan_lab(&names(DEFAULT_HOSTS), false).unwrap();
        assert_eq!(hosts, plan_hosts(&names(DEFAULT_HOSTS)).unwrap());
        assert!(hosts.iter().all(|h| !h.is_bastion() && !h.behind_bastion));
        assert_eq!(hosts[0].ssh_host(), "10.231.50.11");
        let text = inventory_yaml(&hosts, Path::new("/k"), Path::new("/kh"), &[]);
        assert!(
            text.contains("ssh:\n  user: root\n  port: 22\n  key: /k\n  known_hosts: /kh\n\n"),
            "{text}"
        );
        assert!(
            !text.contains("proxy_jump") && !text.contains("    ssh:"),
            "{text}"
        );
        let inv = inventory::parse(&text).unwrap();
        assert!(!has_bastion(&inv));
    }

    #[test]
    fn a_lab_without_lb_hosts_is_the_web_pair() {
        let hosts = plan_hosts(&names(&["app1", "app2", "db1", "db2"])).unwrap();
        let text = inventory_yaml(
            &hosts,
            Path::new("/k"),
            Path::new("/kh"),
            &["/srv/shared".into()],
        );
        let inv = inventory::parse(&text).unwrap_or_else(|p| panic!("{p:?}\n{text}"));
        assert!(inventory::validate(&inv).is_empty(), "{text}");
        assert!(inv.is_web_pair());
        assert_eq!(
            inv.services.file_sync.as_ref().unwrap().paths,
            ["/srv/shared"]
        );
        assert_eq!(inv.frontend_vip_holders(), ["app1", "app2"]);
    }
}
