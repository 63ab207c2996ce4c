//! Lab topology: which hosts, their roles, networks and fixed addresses, and the inventory
//! written for them. Pure functions; Docker is elsewhere.

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

/// The default lab: 2 lb, 2 app (app1 also runs garbd), 2 Galera db nodes.
pub const DEFAULT_HOSTS: &[&str] = &["lb1", "lb2", "app1", "app2", "db1", "db2"];

/// One lab host as it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct LabHost {
    pub name: String,
    pub roles: Vec<Role>,
    pub frontend: Option<Ipv4Addr>,
    pub backend: Option<Ipv4Addr>,
}

impl LabHost {
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

    /// (interface, address) it must have: eth0 for the first network, eth1 for the second.
    pub fn expected_interfaces(&self) -> Vec<(String, String)> {
        self.networks()
            .iter()
            .enumerate()
            .map(|(i, (_, addr))| (format!("eth{i}"), addr.to_string()))
            .collect()
    }

    /// The address minicloud reaches it on over SSH.
    pub fn ssh_address(&self) -> Ipv4Addr {
        self.frontend
            .or(self.backend)
            .expect("every lab host is on a network")
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

/// The inventory for the lab's hosts; `key` and `known_hosts` are the lab's own files.
pub fn inventory_yaml(
    hosts: &[LabHost],
    key: &Path,
    known_hosts: &Path,
    file_sync: &[String],
) -> String {
    let mut out = format!(
        "# Written by `minicloud lab up` for the local lab; `minicloud lab down` removes it.\n\
         # inventory/example.yml documents every key.\n\
         name: minicloud-lab\n\n\
         ssh:\n  user: root\n  port: 22\n  key: {}\n  known_hosts: {}\n\n\
         networks:\n  frontend: {FRONTEND_SUBNET}\n  backend: {BACKEND_SUBNET}\n\n\
         # SSH only from this machine (its address on each lab network).\n\
         firewall:\n  ssh_from: [{FRONTEND_GATEWAY}/32, {BACKEND_GATEWAY}/32]\n\nhosts:\n",
        key.display(),
        known_hosts.display()
    );
    for host in hosts {
        let roles: Vec<&str> = host.roles.iter().map(|r| r.name()).collect();
        out.push_str(&format!(
            "  {}:\n    roles: [{}]\n    addresses:\n",
            host.name,
            roles.join(", ")
        ));
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
