//! Semantic checks of a parsed inventory: how hosts, networks, VIPs and roles fit together.
//!
//! Every check runs and every problem is collected, so a user fixes the file in one pass.
//! Each problem names its key path (`hosts.db2.addresses.backend`) and gives a hint.

use super::text::{Rule, shown, terminal_safe};
use super::{
    DB_ADVERT_INT, DatabaseKind, FRONTEND_ADVERT_INT, FailureDetection, Host, Inventory, Net, Role,
    Vip,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::Ipv4Addr;

/// One thing wrong with the inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Key path such as `hosts.db2.roles[0]`; empty when the message carries its own.
    pub path: String,
    /// Line and column in the file, when known (parse errors).
    pub position: Option<(usize, usize)>,
    pub message: String,
    pub hint: String,
}

impl Problem {
    pub fn new(
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Problem {
            path: path.into(),
            position: None,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// `line 3 column 5: hosts.db2: ...` or `hosts.db2: ...`, with any control byte the file
    /// held escaped (this goes to a terminal).
    pub fn message(&self) -> String {
        let mut out = String::new();
        if let Some((line, column)) = self.position {
            out.push_str(&format!("line {line} column {column}: "));
        }
        if !self.path.is_empty() {
            out.push_str(&self.path);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        terminal_safe(&out)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.message())
    }
}

/// All problems of the inventory; empty means it is fit to use.
pub fn validate(inv: &Inventory) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_names(inv, &mut problems);
    for (name, host) in inv.hosts.iter() {
        check_host(inv, name, host, &mut problems);
    }
    check_unique_addresses(inv, &mut problems);
    check_vips(inv, &mut problems);
    check_tiers(inv, &mut problems);
    check_sizes(inv, &mut problems);
    check_failure_detection(&inv.services.galera.failure_detection, &mut problems);
    check_port_collisions(inv, &mut problems);
    check_ranges(inv, &mut problems);
    check_networks(inv, &mut problems);
    check_local_paths(inv, &mut problems);
    check_file_sync(inv, &mut problems);
    check_firewall(inv, &mut problems);
    problems
}

/// Push a problem when `value` breaks `rule`.
fn check_rule(path: impl Into<String>, rule: Rule, value: &str, problems: &mut Vec<Problem>) {
    if let Err(rejection) = rule.check(value) {
        problems.push(Problem::new(path, rejection.why, rejection.hint));
    }
}

/// Files on the control machine: printed in progress lines and errors, so printable only.
fn check_local_paths(inv: &Inventory, problems: &mut Vec<Problem>) {
    let mut paths = vec![];
    if let Some(key) = &inv.ssh.key {
        paths.push(("ssh.key".to_string(), key));
    }
    if let Some(known) = &inv.ssh.known_hosts {
        paths.push(("ssh.known_hosts".to_string(), known));
    }
    if let Some(config) = &inv.ssh.config {
        paths.push(("ssh.config".to_string(), config));
    }
    for (name, host) in inv.hosts.iter() {
        if let Some(key) = &host.ssh.key {
            paths.push((format!("hosts.{name}.ssh.key"), key));
        }
    }
    let package = inv
        .services
        .aerospike
        .as_ref()
        .and_then(|a| a.package.as_ref());
    for (path, value) in paths {
        check_rule(path, Rule::LocalPath, &value.to_string_lossy(), problems);
    }
    if let Some(package) = package {
        check_rule(
            "services.aerospike.package",
            Rule::LocalPath,
            package,
            problems,
        );
    }
}

/// The two networks must not overlap: which interface, firewall rule and VIP an address
/// belongs to is decided by the network it is in.
fn check_networks(inv: &Inventory, problems: &mut Vec<Problem>) {
    let (front, back) = (inv.networks.frontend, inv.networks.backend);
    if front.contains(&back.network()) || back.contains(&front.network()) {
        problems.push(Problem::new(
            "networks.backend",
            format!("{back} overlaps the frontend network {front}"),
            "give the frontend and backend networks separate ranges (e.g. 10.231.50.0/24 and \
             10.231.60.0/24): replication must not share addresses with client traffic",
        ));
    }
}

/// Numbers that daemons read with a special meaning at 0 (HAProxy's timeouts: infinite) or
/// that make no sense past a bound.
fn check_ranges(inv: &Inventory, problems: &mut Vec<Problem>) {
    let h = &inv.services.haproxy;
    let checks: [(&str, u64, u64, u64, &str); 8] = [
        (
            "services.haproxy.timeout_connect_ms",
            h.timeout_connect_ms.into(),
            100,
            600_000,
            "use 100 ms to 10 min (2000 is a good default); 0 would mean no timeout",
        ),
        (
            "services.haproxy.timeout_client_ms",
            h.timeout_client_ms.into(),
            1000,
            86_400_000,
            "use 1 s to 1 day (30000 is a good default); 0 would mean no timeout, and idle clients would pile up",
        ),
        (
            "services.haproxy.timeout_server_ms",
            h.timeout_server_ms.into(),
            1000,
            86_400_000,
            "use 1 s to 1 day (30000 is a good default); 0 would mean no timeout",
        ),
        (
            "services.haproxy.check_interval_ms",
            h.check_interval_ms.into(),
            100,
            3_600_000,
            "use 100 ms to 1 hour (1000 is a good default)",
        ),
        (
            "services.haproxy.check_fall",
            h.check_fall.into(),
            1,
            100,
            "use 2 or 3",
        ),
        (
            "services.haproxy.check_rise",
            h.check_rise.into(),
            1,
            100,
            "use 2 or 3",
        ),
        (
            "services.haproxy.retries",
            h.retries.into(),
            0,
            100,
            "use 0 to 100 (3 is a good default)",
        ),
        (
            "services.roster.pool_size",
            inv.services.roster.pool_size.into(),
            1,
            1000,
            "use 5 to 20",
        ),
    ];
    for (path, value, min, max, hint) in checks {
        if !(min..=max).contains(&value) {
            problems.push(Problem::new(
                path,
                format!("{value} is out of range ({min} to {max})"),
                hint,
            ));
        }
    }
}

/// Every port a host listens on, with the key that sets it. Fixed ports are named by their
/// daemon; a collision with one of them can only be solved by moving the other.
fn listening_ports(inv: &Inventory, host: &Host, name: &str) -> Vec<(u16, String)> {
    let s = &inv.services;
    let mut ports = vec![match host.ssh.port {
        Some(port) => (port, format!("hosts.{name}.ssh.port (SSH)")),
        None => (inv.ssh.port, "ssh.port (SSH)".to_string()),
    }];
    if host.has(Role::Lb) {
        ports.push((s.haproxy.port, "services.haproxy.port".into()));
        if let Some(stats) = &s.haproxy.stats {
            ports.push((stats.port, "services.haproxy.stats.port".into()));
        }
    }
    if host.has(Role::App) {
        ports.push((s.roster.port, "services.roster.port".into()));
        if s.nginx.enabled {
            ports.push((s.nginx.port, "services.nginx.port".into()));
        }
    }
    if host.has(Role::Db) {
        ports.push((3306, "MariaDB's port 3306".into()));
        for port in [4567, 4568, 4444] {
            ports.push((port, format!("Galera's port {port}")));
        }
    }
    if host.has(Role::Arbiter) && !host.has(Role::Db) {
        ports.push((4567, "garbd's port 4567".into()));
    }
    if host.has(Role::Aerospike) {
        for port in 3000..=3003 {
            ports.push((port, format!("Aerospike's port {port}")));
        }
    }
    ports
}

/// No port 0, no two services of one host on one port, and nothing on the SSH port (a service
/// there would open SSH to whoever may reach that service, past `firewall.ssh_from`).
fn check_port_collisions(inv: &Inventory, problems: &mut Vec<Problem>) {
    // (first key, second key, port) -> hosts where they meet; reported once per pair.
    let mut collisions: BTreeMap<(String, String, u16), Vec<&str>> = BTreeMap::new();
    let mut zero = std::collections::BTreeSet::new();
    for (name, host) in inv.hosts.iter() {
        let ports = listening_ports(inv, host, name);
        for (index, (port, key)) in ports.iter().enumerate() {
            if *port == 0 {
                zero.insert(key.split(' ').next().unwrap_or(key).to_string());
            }
            if let Some((_, first)) = ports[..index].iter().find(|(p, _)| p == port) {
                collisions
                    .entry((first.clone(), key.clone(), *port))
                    .or_default()
                    .push(name);
            }
        }
    }
    for key in zero {
        problems.push(Problem::new(
            key,
            "port 0 is not a port a service can be reached on",
            "use a port from 1 to 65535",
        ));
    }
    for ((first, second, port), hosts) in collisions {
        let path = if second.starts_with("services.") || second.contains(".ssh.port") {
            second.split(' ').next().unwrap_or(&second).to_string()
        } else {
            first.split(' ').next().unwrap_or(&first).to_string()
        };
        problems.push(Problem::new(
            path,
            format!(
                "port {port} is both {first} and {second} on {}",
                hosts.join(", ")
            ),
            "give every service of a host its own port; nothing may listen on the SSH port, or \
             the firewall rule for that service would open SSH too",
        ));
    }
}

fn check_firewall(inv: &Inventory, problems: &mut Vec<Problem>) {
    let seconds = inv.firewall.dead_man_seconds;
    if !(10..=600).contains(&seconds) {
        problems.push(Problem::new(
            "firewall.dead_man_seconds",
            format!("{seconds} s is out of range"),
            "use 10 to 600: long enough for `up` to open a new SSH connection, short enough \
             that a host locked out by a bad rule set is back soon",
        ));
    }
}

fn check_file_sync(inv: &Inventory, problems: &mut Vec<Problem>) {
    let Some(sync) = &inv.services.file_sync else {
        return;
    };
    if inv.hosts_with(Role::App).len() < 2 {
        problems.push(Problem::new(
            "services.file_sync",
            "file sync needs two or more app hosts",
            "add app hosts, or remove services.file_sync",
        ));
    }
    if sync.paths.is_empty() {
        problems.push(Problem::new(
            "services.file_sync.paths",
            "no paths",
            "list the folders to keep in sync, e.g. [/srv/roster/uploads]",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, path) in sync.paths.iter().enumerate() {
        let plain = path.starts_with('/')
            && path.len() > 1
            && !path.split('/').any(|part| part == ".." || part == ".")
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c));
        if !plain {
            problems.push(Problem::new(
                format!("services.file_sync.paths[{i}]"),
                format!("\"{path}\" is not a plain absolute folder path"),
                "use an absolute path of letters, digits, '-', '_', '.' and '/', without . or .. parts, e.g. /srv/roster/uploads",
            ));
        } else if let Some(why) = system_folder(path) {
            problems.push(Problem::new(
                format!("services.file_sync.paths[{i}]"),
                format!("\"{path}\" {why}"),
                "sync a folder of the app's own data, e.g. /srv/roster/uploads: whatever one app \
                 host writes there is copied as root to every other app host",
            ));
        } else if !seen.insert(path.trim_end_matches('/')) {
            problems.push(Problem::new(
                format!("services.file_sync.paths[{i}]"),
                format!("\"{path}\" is listed twice"),
                "list each folder once",
            ));
        }
    }
}

/// Why `path` (plain, absolute) must not be synced, if it must not: a system folder, a folder
/// holding one, or a place where login keys live. Syncing any of them would let root on one app
/// host rewrite the others' system.
fn system_folder(path: &str) -> Option<&'static str> {
    const SYSTEM: &[&str] = &[
        "/etc",
        "/root",
        "/boot",
        "/usr",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/proc",
        "/sys",
        "/dev",
        "/run",
        "/var/lib",
        "/var/log",
        "/var/spool",
        "/var/cache",
        "/var/backups",
        "/var/mail",
        "/tmp",
        "/var/tmp",
    ];
    let path = path.trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Some("is the root folder");
    }
    let under = |folder: &str| path == folder || path.starts_with(&format!("{folder}/"));
    if SYSTEM.iter().any(|folder| under(folder)) {
        return Some("is a system folder");
    }
    if SYSTEM
        .iter()
        .any(|folder| folder.starts_with(&format!("{path}/")))
    {
        return Some("holds system folders");
    }
    if parts
        .iter()
        .any(|part| part.starts_with(".ssh") || *part == ".gnupg")
    {
        return Some("holds login keys");
    }
    if parts[0] == "home" && parts.len() <= 2 {
        return Some("is a home folder (it holds the user's .ssh)");
    }
    None
}

/// Names end up in file paths, unit names and daemon configs: keep them plain.
fn check_names(inv: &Inventory, problems: &mut Vec<Problem>) {
    check_rule("name", Rule::PlainName, &inv.name, problems);
    for name in inv.hosts.keys() {
        check_rule(
            format!("hosts.{}", shown(name)),
            Rule::PlainName,
            name,
            problems,
        );
    }
    if let Some(cluster) = &inv.services.galera.cluster_name {
        check_rule(
            "services.galera.cluster_name",
            Rule::PlainName,
            cluster,
            problems,
        );
    }
    let roster = &inv.services.roster;
    check_rule(
        "services.roster.database",
        Rule::SqlDatabase,
        &roster.database,
        problems,
    );
    check_rule(
        "services.roster.db_user",
        Rule::SqlUser,
        &roster.db_user,
        problems,
    );
}

fn check_host(inv: &Inventory, name: &str, host: &Host, problems: &mut Vec<Problem>) {
    let path = format!("hosts.{name}");
    if host.role_names.is_empty() {
        problems.push(Problem::new(
            format!("{path}.roles"),
            "no roles",
            "give the host at least one role: lb, app, db, arbiter, aerospike (or remove it)",
        ));
    }
    for (index, role) in host.role_names.iter().enumerate() {
        if Role::from_name(role).is_none() {
            problems.push(Problem::new(
                format!("{path}.roles[{index}]"),
                format!(
                    "unknown role {} (expected lb, app, db, arbiter, aerospike)",
                    shown(role)
                ),
                "each host's roles are a list drawn from: lb, app, db, arbiter, aerospike",
            ));
        } else if host.role_names[..index].contains(role) {
            problems.push(Problem::new(
                format!("{path}.roles[{index}]"),
                format!("role \"{role}\" is listed twice"),
                "list each role once",
            ));
        }
    }
    if host.has(Role::Db) && host.has(Role::Arbiter) {
        problems.push(Problem::new(
            format!("{path}.roles"),
            "a db host cannot also be an arbiter: garbd next to mariadbd adds a vote that fails with it",
            "put the arbiter role on a host that is not a db node (an app host, for example)",
        ));
    }
    for net in [Net::Frontend, Net::Backend] {
        let needed_by: Vec<&str> = host
            .roles
            .iter()
            .filter(|r| r.networks().contains(&net))
            .map(|r| r.name())
            .collect();
        match host.addresses.get(net) {
            None if !needed_by.is_empty() => problems.push(Problem::new(
                format!("{path}.addresses"),
                format!(
                    "no {} address, but role {} needs one",
                    net.key(),
                    needed_by.join(", ")
                ),
                format!(
                    "add `{}: <address in {}>` under addresses",
                    net.key(),
                    inv.networks.get(net)
                ),
            )),
            Some(addr) if !inv.networks.get(net).contains(addr) => problems.push(Problem::new(
                format!("{path}.addresses.{}", net.key()),
                format!(
                    "{addr} is outside the {} network {}",
                    net.key(),
                    inv.networks.get(net)
                ),
                format!(
                    "pick an address inside {}, or change networks.{}",
                    inv.networks.get(net),
                    net.key()
                ),
            )),
            Some(addr) if is_network_or_broadcast(inv, net, *addr) => problems.push(Problem::new(
                format!("{path}.addresses.{}", net.key()),
                format!(
                    "{addr} is the network or broadcast address of {}",
                    inv.networks.get(net)
                ),
                "pick a host address inside the network",
            )),
            _ => {}
        }
        // The name itself was checked when it was read (InterfaceName).
        if host.interfaces.get(net).is_some() && host.addresses.get(net).is_none() {
            problems.push(Problem::new(
                format!("{path}.interfaces.{}", net.key()),
                format!(
                    "interface given for the {} network, but the host has no address there",
                    net.key()
                ),
                "remove the interface or add the address",
            ));
        }
    }
}

fn is_network_or_broadcast(inv: &Inventory, net: Net, addr: Ipv4Addr) -> bool {
    let cidr = inv.networks.get(net);
    cidr.prefix_len() < 31 && (addr == cidr.network() || addr == cidr.broadcast())
}

/// No two hosts and no VIP may share an address.
fn check_unique_addresses(inv: &Inventory, problems: &mut Vec<Problem>) {
    let mut seen: HashMap<Ipv4Addr, String> = HashMap::new();
    for (name, host) in inv.hosts.iter() {
        for net in [Net::Frontend, Net::Backend] {
            let Some(addr) = host.addresses.get(net) else {
                continue;
            };
            let path = format!("hosts.{name}.addresses.{}", net.key());
            if let Some(first) = seen.get(addr) {
                problems.push(Problem::new(
                    &path,
                    format!("address {addr} is already used by {first}"),
                    "every host needs its own address on each network",
                ));
            } else {
                seen.insert(*addr, path);
            }
        }
    }
    for (key, vip) in vips(inv) {
        let path = format!("services.{key}.address");
        if let Some(first) = seen.get(&vip.address) {
            problems.push(Problem::new(
                &path,
                format!("VIP {} is also {first}", vip.address),
                "a VIP must be an address no host owns: keepalived adds it to whichever host holds it",
            ));
        } else {
            seen.insert(vip.address, path);
        }
    }
}

/// The VIPs the inventory declares, with their key and network.
fn vips(inv: &Inventory) -> Vec<(&'static str, &Vip)> {
    let mut list = vec![("frontend_vip", &inv.services.frontend_vip)];
    if let Some(db_vip) = &inv.services.db_vip {
        list.push(("db_vip", db_vip));
    }
    list
}

fn check_vips(inv: &Inventory, problems: &mut Vec<Problem>) {
    let mut router_ids: HashMap<u8, &str> = HashMap::new();
    for (key, vip) in vips(inv) {
        let net = if key == "frontend_vip" {
            Net::Frontend
        } else {
            Net::Backend
        };
        let cidr = inv.networks.get(net);
        if !cidr.contains(&vip.address) {
            problems.push(Problem::new(
                format!("services.{key}.address"),
                format!(
                    "VIP {} is outside the {} network {cidr}",
                    vip.address,
                    net.key()
                ),
                format!("pick a free address inside {cidr}"),
            ));
        } else if is_network_or_broadcast(inv, net, vip.address) {
            problems.push(Problem::new(
                format!("services.{key}.address"),
                format!(
                    "VIP {} is the network or broadcast address of {cidr}",
                    vip.address
                ),
                format!("pick a free host address inside {cidr}"),
            ));
        }
        if vip.virtual_router_id == 0 {
            problems.push(Problem::new(
                format!("services.{key}.virtual_router_id"),
                "0 is not a valid virtual router id",
                "use 1 to 255",
            ));
        } else if let Some(first) = router_ids.get(&vip.virtual_router_id) {
            problems.push(Problem::new(
                format!("services.{key}.virtual_router_id"),
                format!("virtual router id {} is already used by services.{first}", vip.virtual_router_id),
                "give each VIP its own id: two VRRP instances with one id fight over the same virtual MAC",
            ));
        } else {
            router_ids.insert(vip.virtual_router_id, key);
        }
        let advert_int = vip.advert_int.unwrap_or(if key == "frontend_vip" {
            FRONTEND_ADVERT_INT
        } else {
            DB_ADVERT_INT
        });
        if !(0.01..=255.0).contains(&advert_int) {
            problems.push(Problem::new(
                format!("services.{key}.advert_int"),
                format!("{advert_int:?} is not a valid advert interval"),
                "use seconds between 0.01 and 255 (0.5 moves the VIP in about 1.5 s)",
            ));
        }
    }
}

/// Each tier has the hosts it needs, and the database tier can keep quorum.
fn check_tiers(inv: &Inventory, problems: &mut Vec<Problem>) {
    let services = &inv.services;
    if inv.hosts_with(Role::Lb).is_empty() && !services.nginx.enabled {
        problems.push(Problem::new(
            "hosts",
            "no host has role lb",
            "add lb hosts (HAProxy + keepalived), or set services.nginx.enabled: true for the \
             web-pair topology, where the app hosts carry the frontend VIP",
        ));
    }
    if inv.hosts_with(Role::App).is_empty() {
        problems.push(Problem::new(
            "hosts",
            "no host has role app",
            "add at least one app host to run the roster app",
        ));
    }
    match services.database {
        DatabaseKind::Galera => check_galera(inv, problems),
        DatabaseKind::Aerospike => check_aerospike(inv, problems),
    }
}

fn check_galera(inv: &Inventory, problems: &mut Vec<Problem>) {
    let db = inv.hosts_with(Role::Db);
    let arbiters = inv.hosts_with(Role::Arbiter);
    for host in inv.hosts_with(Role::Aerospike) {
        problems.push(Problem::new(
            format!("hosts.{host}.roles"),
            "role aerospike, but services.database is galera",
            "set services.database: aerospike, or remove the role",
        ));
    }
    if inv.services.db_vip.is_none() {
        problems.push(Problem::new(
            "services.db_vip",
            "missing: the app reaches Galera through a VIP that follows a Synced node",
            "add services.db_vip with an address in the backend network and a virtual_router_id",
        ));
    }
    if db.is_empty() {
        problems.push(Problem::new(
            "hosts",
            "no host has role db",
            "add db hosts (MariaDB Galera), or set services.database: aerospike",
        ));
        return;
    }
    // An arbiter on a db host is reported above; count each host's vote once here.
    let extra_arbiters = arbiters.iter().filter(|a| !db.contains(a));
    let voters: Vec<&str> = db.iter().chain(extra_arbiters).copied().collect();
    if let Some(problem) = quorum_problem(&voters) {
        problems.push(problem);
    }
}

/// Galera keeps accepting writes only in a component holding more than half of the votes.
fn quorum_problem(voters: &[&str]) -> Option<Problem> {
    let n = voters.len();
    let names = voters.join(", ");
    let hint = "add the arbiter role to a host that is not a db node (garbd votes without storing \
                data) or add a db host, so that the voters (db + arbiter hosts) are odd and at least 3";
    if n < 3 {
        let arithmetic = if n == 1 {
            format!("losing {names} stops the database: there is nothing to fail over to")
        } else {
            format!(
                "losing any one of {names} leaves {} of {n} votes, not more than half, so the \
                 survivor goes non-Primary and refuses writes",
                n - 1
            )
        };
        return Some(Problem::new(
            "hosts",
            format!(
                "Galera has {n} voter{} ({names}), fewer than 3: {arithmetic}",
                if n == 1 { "" } else { "s" }
            ),
            hint,
        ));
    }
    if n.is_multiple_of(2) {
        return Some(Problem::new(
            "hosts",
            format!(
                "Galera has {n} voters ({names}), an even count: a network split into two halves of \
                 {half} leaves neither side more than {half} of {n} votes, so both halves stop",
                half = n / 2
            ),
            "add or remove one arbiter (or db host) to make the number of voters odd",
        ));
    }
    None
}

fn check_aerospike(inv: &Inventory, problems: &mut Vec<Problem>) {
    let nodes = inv.hosts_with(Role::Aerospike);
    for host in inv
        .hosts_with(Role::Db)
        .into_iter()
        .chain(inv.hosts_with(Role::Arbiter))
    {
        problems.push(Problem::new(
            format!("hosts.{host}.roles"),
            "a Galera role (db or arbiter), but services.database is aerospike",
            "set services.database: galera, or remove the role",
        ));
    }
    let Some(aerospike) = &inv.services.aerospike else {
        problems.push(Problem::new(
            "services.aerospike",
            "missing, but services.database is aerospike",
            "add services.aerospike with namespace, replication_factor and the package to install",
        ));
        return;
    };
    if nodes.is_empty() {
        problems.push(Problem::new(
            "hosts",
            "no host has role aerospike",
            "add aerospike hosts, or set services.database: galera",
        ));
    }
    let rf = aerospike.replication_factor;
    if rf == 0 || rf as usize > nodes.len() {
        problems.push(Problem::new(
            "services.aerospike.replication_factor",
            format!("replication factor {rf} with {} aerospike node(s)", nodes.len()),
            "use a replication factor from 1 to the number of aerospike hosts (2 keeps every record \
             on two nodes, so one node can fail)",
        ));
    }
    if !is_size(&aerospike.data_size) {
        problems.push(Problem::new(
            "services.aerospike.data_size",
            format!("{} is not a size", shown(&aerospike.data_size)),
            "write a number with a unit, e.g. 512M or 2G",
        ));
    }
}

fn is_size(text: &str) -> bool {
    let Some(digits) = text.strip_suffix(['K', 'M', 'G', 'T']) else {
        return false;
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

fn check_sizes(inv: &Inventory, problems: &mut Vec<Problem>) {
    let s = &inv.services;
    if let Some(size) = &s.galera.gcache_size
        && !is_size(size)
    {
        problems.push(Problem::new(
            "services.galera.gcache_size",
            format!("{} is not a size", shown(size)),
            "write a number with a unit, e.g. 128M or 1G",
        ));
    }
}

/// Where the failure-detection keys live.
const FD: &str = "services.galera.failure_detection";

/// Seconds as whole milliseconds, when `seconds` is a time Galera can be given: above 0,
/// finite, at most 3 decimals (rendered as `PT<seconds>S`).
fn whole_ms(seconds: f64) -> Option<u64> {
    let ms = seconds * 1000.0;
    (seconds.is_finite() && seconds > 0.0 && ms <= 86_400_000.0 && (ms - ms.round()).abs() < 1e-6)
        .then(|| ms.round() as u64)
}

/// Galera's EVS timers and the DB VIP's check. Galera itself refuses to start on some
/// combinations (gcomm's evs_proto.cpp: keepalive_period at most suspect_timeout/3,
/// inactive_check_period at most suspect_timeout/2, install_timeout from 2 × keepalive_period
/// to inactive_timeout); the other bounds keep a member that is only slow from being taken for
/// dead. Each hint says which way the trade-off goes.
pub(crate) fn check_failure_detection(fd: &FailureDetection, problems: &mut Vec<Problem>) {
    let times = [
        ("suspect_timeout", fd.suspect_timeout),
        ("inactive_timeout", fd.inactive_timeout),
        ("keepalive_period", fd.keepalive_period),
        ("inactive_check_period", fd.inactive_check_period),
        ("install_timeout", fd.install_timeout),
    ];
    let mut ms = [0u64; 5];
    let mut all_good = true;
    for (i, (key, value)) in times.iter().enumerate() {
        match whole_ms(*value) {
            Some(v) => ms[i] = v,
            None => {
                all_good = false;
                problems.push(Problem::new(
                    format!("{FD}.{key}"),
                    format!("{value:?} is not a time Galera can use"),
                    "write seconds above 0 with at most 3 decimals, e.g. 2 or 0.5",
                ));
            }
        }
    }
    let mut refuse = |key: &str, message: String, hint: &str| {
        problems.push(Problem::new(format!("{FD}.{key}"), message, hint));
    };
    if fd.check_interval == 0 || fd.check_interval > 20 {
        refuse(
            "check_interval",
            format!("{} is out of range (1 to 20)", fd.check_interval),
            "whole seconds between runs of the DB VIP's check (keepalived takes no fractions); \
             1 moves the VIP off a node that stopped being Synced soonest",
        );
    }
    if fd.check_fall == 0 || fd.check_fall > 10 {
        refuse(
            "check_fall",
            format!("{} is out of range (1 to 10)", fd.check_fall),
            "failed checks in a row before the DB VIP is dropped: 2 rides out one slow check \
             under load; 1 is fastest but then one slow check moves the VIP for nothing",
        );
    }
    if (1..=20).contains(&fd.check_interval)
        && (1..=10).contains(&fd.check_fall)
        && fd.check_interval * fd.check_fall > 20
    {
        refuse(
            "check_fall",
            format!(
                "check_interval × check_fall is {} s, above 20 s",
                fd.check_interval * fd.check_fall
            ),
            "a node that stopped being Synced keeps the DB VIP (and the app's writes fail) \
             for check_interval × check_fall, and `up` waits at most 30 s for a drained node to \
             let go of it before a rolling restart; keep it to 20 s or less (1 × 2 by default)",
        );
    }
    if !all_good {
        return;
    }
    let [suspect, inactive, keepalive, check, install] = ms;
    let secs = |ms: u64| format!("{}", ms as f64 / 1000.0);
    if suspect < 1000 {
        refuse(
            "suspect_timeout",
            format!("{} s is below 1 s", secs(suspect)),
            "below 1 s a member that is only slow (a long fsync, a CPU-starved VM, a burst of \
             load) is taken for dead and dropped, and must rejoin; use 1 s or more: 2 on a LAN \
             (writes stall about that long when a node dies), 5 or more on a WAN",
        );
    } else if suspect > 120_000 {
        refuse(
            "suspect_timeout",
            format!("{} s is above 120 s", secs(suspect)),
            "writes stall this long whenever a node dies; use 2 (LAN) to 30 (slow WAN)",
        );
    }
    if inactive <= suspect {
        refuse(
            "inactive_timeout",
            format!(
                "{} s is not longer than suspect_timeout ({} s)",
                secs(inactive),
                secs(suspect)
            ),
            "inactive_timeout declares a silent member dead even when the others do not all \
             suspect it yet; it must be longer than suspect_timeout (twice it is usual: 4 with \
             suspect_timeout 2), or a member that is slow for a moment is cut off without the \
             others agreeing",
        );
    } else if inactive > 600_000 {
        refuse(
            "inactive_timeout",
            format!("{} s is above 600 s", secs(inactive)),
            "a member silent this long is long gone; use about twice suspect_timeout",
        );
    }
    if keepalive < 100 || keepalive * 3 > suspect {
        refuse(
            "keepalive_period",
            format!(
                "{} s is outside 0.1 s to a third of suspect_timeout ({} s)",
                secs(keepalive),
                secs(suspect / 3)
            ),
            "a quiet member must send at least 3 keepalives per suspect_timeout, so that one \
             lost or late packet does not get it suspected (Galera refuses to start otherwise); \
             Galera takes nothing below 0.1 s, the default, which also keeps a rejoin's pause short",
        );
    }
    if check < 100 || check * 2 > suspect {
        refuse(
            "inactive_check_period",
            format!(
                "{} s is outside 0.1 s to half of suspect_timeout ({} s)",
                secs(check),
                secs(suspect / 2)
            ),
            "silence is checked for this often, so a dead member is noticed up to this late \
             after suspect_timeout; Galera refuses more than half of suspect_timeout: 0.5 with \
             suspect_timeout 2",
        );
    }
    if install < keepalive * 2 || install > inactive {
        refuse(
            "install_timeout",
            format!(
                "{} s is outside 2 × keepalive_period ({} s) to inactive_timeout ({} s)",
                secs(install),
                secs(keepalive * 2),
                secs(inactive)
            ),
            "the time a new membership may take to agree (Galera refuses values outside that \
             range); too short and a membership change under load is retried over and over, \
             too long and a failed change holds writes: use inactive_timeout (3 on a LAN)",
        );
    }
}

/// The EVS options of `fd` for `wsrep_provider_options` and garbd's `GALERA_OPTIONS`
/// (ISO 8601 durations, as Galera reads them). `fd` must have passed validation.
pub fn evs_options(fd: &FailureDetection) -> String {
    let period = |seconds: f64| {
        let ms = whole_ms(seconds).unwrap_or(0);
        let text = format!("{}.{:03}", ms / 1000, ms % 1000);
        let text = text.trim_end_matches('0').trim_end_matches('.');
        format!("PT{text}S")
    };
    format!(
        "evs.suspect_timeout={}; evs.inactive_timeout={}; evs.keepalive_period={}; \
         evs.inactive_check_period={}; evs.install_timeout={}",
        period(fd.suspect_timeout),
        period(fd.inactive_timeout),
        period(fd.keepalive_period),
        period(fd.inactive_check_period),
        period(fd.install_timeout)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_voters_explain_single_loss() {
        let problem = quorum_problem(&["db1", "db2"]).unwrap();
        assert!(
            problem.message.contains("leaves 1 of 2 votes"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn four_voters_explain_split() {
        let problem = quorum_problem(&["db1", "db2", "app1", "app2"]).unwrap();
        assert!(
            problem.message.contains("two halves of 2"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn three_and_five_voters_are_fine() {
        assert!(quorum_problem(&["a", "b", "c"]).is_none());
        assert!(quorum_problem(&["a", "b", "c", "d", "e"]).is_none());
    }

    #[test]
    fn sizes() {
        assert!(is_size("128M"));
        assert!(!is_size("M"));
        assert!(!is_size("12 G"));
        assert!(!is_size("1.5G"));
    }

    #[test]
    fn the_lan_defaults_pass_and_render_as_galera_reads_them() {
        let fd = FailureDetection::default();
        let mut problems = Vec::new();
        check_failure_detection(&fd, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            evs_options(&fd),
            "evs.suspect_timeout=PT1.5S; evs.inactive_timeout=PT3S; evs.keepalive_period=PT0.1S; \
             evs.inactive_check_period=PT0.25S; evs.install_timeout=PT3S"
        );
        let odd = FailureDetection {
            suspect_timeout: 1.25,
            keepalive_period: 0.125,
            install_timeout: 10.0,
            inactive_timeout: 10.0,
            ..fd
        };
        assert!(evs_options(&odd).starts_with(
            "evs.suspect_timeout=PT1.25S; evs.inactive_timeout=PT10S; evs.keepalive_period=PT0.125S"
        ));
    }

    #[test]
    fn times_must_be_positive_with_at_most_three_decimals() {
        assert_eq!(whole_ms(0.5), Some(500));
        assert_eq!(whole_ms(2.0), Some(2000));
        assert_eq!(whole_ms(0.1 + 0.2), Some(300));
        assert_eq!(whole_ms(0.0005), None);
        assert_eq!(whole_ms(0.0), None);
        assert_eq!(whole_ms(-1.0), None);
        assert_eq!(whole_ms(f64::NAN), None);
        assert_eq!(whole_ms(f64::INFINITY), None);
    }
}
