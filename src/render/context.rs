//! The values templates see for one host: a pure function of the inventory, the host and the
//! secrets. Everything topological (who is a peer, which address to bind, VRRP priorities,
//! firewall sources) is decided here, so templates stay plain text with slots.

use crate::inventory::validate::evs_options;
use crate::inventory::{DB_ADVERT_INT, DatabaseKind, Inventory, Net, Role, Vip, VipKind};
use crate::roles::frontend::Frontend;
use crate::secrets::Secrets;
use serde::Serialize;
use std::net::Ipv4Addr;

/// Default Galera write-set cache when the inventory does not set one.
pub const DEFAULT_GCACHE: &str = "128M";
/// Galera SST user (mariabackup).
pub const SST_USER: &str = "sst";
/// Ports every Galera voter talks on: replication, IST, SST.
/// Galera replication, IST and SST ports.
pub const GALERA_PORTS: [u16; 3] = [4567, 4568, 4444];

#[derive(Debug, Serialize)]
pub struct HostContext {
    pub stack: String,
    pub host: String,
    pub roles: Vec<&'static str>,
    pub haproxy: Option<HaproxyContext>,
    pub vrrp: Vec<VrrpInstance>,
    /// On the hosts that may hold the frontend VIP: the service that must run for this host
    /// to hold it (`haproxy`, or `nginx` in the web pair), which its track script checks.
    pub frontend_service: Option<&'static str>,
    pub galera: Option<GaleraContext>,
    pub garb: Option<GarbContext>,
    pub roster: Option<RosterContext>,
    pub nginx: Option<NginxContext>,
    pub aerospike: Option<AerospikeContext>,
    pub file_sync: Option<FileSyncContext>,
    pub firewall: FirewallContext,
}

/// lsyncd on an app host: its folders, pushed to every other app host over SSH.
#[derive(Debug, Serialize)]
pub struct FileSyncContext {
    pub paths: Vec<String>,
    /// The other app hosts' backend addresses.
    pub peers: Vec<String>,
    pub private_key: String,
    pub key_path: &'static str,
    /// `command="...",from="peers",restrict ssh-ed25519 ...`: the key opens this host only to
    /// its peers, and only to rsync pushes into the synced folders (see [`super::file_sync`]).
    pub authorized_key: String,
    /// The key's forced command: the script that lets a push into a synced folder through.
    pub receive_script: String,
    /// Where that script lives.
    pub receive_command: &'static str,
}

/// Where lsyncd's SSH key lives on app hosts.
pub const FILE_SYNC_KEY: &str = "/etc/lsyncd/minicloud-sync-key";

#[derive(Debug, Serialize)]
pub struct HaproxyContext {
    /// Port, timeouts, checks and retries, as the inventory gives them.
    #[serde(flatten)]
    pub settings: crate::inventory::Haproxy,
    pub vip: Ipv4Addr,
    pub backends: Vec<Backend>,
    pub stats: Option<StatsContext>,
}

#[derive(Debug, Serialize)]
pub struct Backend {
    pub name: String,
    pub address: Ipv4Addr,
    pub port: u16,
}

#[derive(Debug, Serialize)]
pub struct StatsContext {
    pub bind: Ipv4Addr,
    pub port: u16,
    pub user: String,
    pub password: String,
}

/// One keepalived VRRP instance this host takes part in.
#[derive(Debug, Serialize)]
pub struct VrrpInstance {
    pub name: &'static str,
    pub purpose: String,
    pub interface: String,
    pub router_id: u8,
    pub priority: u8,
    pub advert_int: f64,
    pub source: Ipv4Addr,
    pub peers: Vec<Ipv4Addr>,
    pub vip: Ipv4Addr,
    pub prefix: u8,
    pub track: TrackScript,
    /// The VIP's `notify` script (checked: one plain absolute path), when it has one.
    pub notify: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TrackScript {
    pub name: &'static str,
    pub script: String,
    /// Whole seconds between runs (keepalived takes no fractions here).
    pub interval: u32,
    /// Failures in a row before the instance goes to FAULT and drops the VIP.
    pub fall: u32,
    /// Successes in a row before it may hold the VIP again.
    pub rise: u32,
}

#[derive(Debug, Serialize)]
pub struct GaleraContext {
    pub cluster_name: String,
    pub node_address: Ipv4Addr,
    pub vip: Ipv4Addr,
    /// Every member's backend address, db nodes then arbiters (`wsrep_cluster_address`).
    pub peers: Vec<Ipv4Addr>,
    pub sst_method: &'static str,
    pub gcache_size: String,
    pub sst_user: &'static str,
    pub sst_password: String,
    /// Galera's failure-detection timers (`evs.*=PT..S; ...`), the same on garbd.
    pub evs_options: String,
}

#[derive(Debug, Serialize)]
pub struct GarbContext {
    pub nodes: Vec<String>,
    pub group: String,
    pub listen_address: Ipv4Addr,
    /// The db nodes' failure-detection timers: every member must suspect a dead node before
    /// it is dropped, so garbd keeps the same ones.
    pub evs_options: String,
}

#[derive(Debug, Serialize)]
pub struct RosterContext {
    pub listen: String,
    pub backend: &'static str,
    pub database_url: Option<String>,
    pub pool_size: u32,
    pub aerospike_hosts: Vec<String>,
    pub aerospike_namespace: String,
    /// SHA-256 hex of the roster API token: the app host never gets the token itself.
    pub api_token_sha256: String,
}

#[derive(Debug, Serialize)]
pub struct NginxContext {
    pub listen: Vec<Ipv4Addr>,
    pub port: u16,
    /// The local roster first; in the web pair the other app hosts' as backups, so a stopped
    /// roster on the VIP holder does not turn clients away.
    pub upstream: Vec<UpstreamServer>,
}

#[derive(Debug, Serialize)]
pub struct UpstreamServer {
    pub address: String,
    pub backup: bool,
}

#[derive(Debug, Serialize)]
pub struct AerospikeContext {
    pub address: Ipv4Addr,
    pub seeds: Vec<Ipv4Addr>,
    pub namespace: String,
    pub replication_factor: u32,
    pub data_size: String,
}

#[derive(Debug, Serialize)]
pub struct FirewallContext {
    pub rules: Vec<FirewallRule>,
    /// Names this rule set in the loaded table's comment, so `up` can tell whether the rules
    /// the kernel holds are the ones it would render (see [`firewall_fingerprint`]).
    pub fingerprint: String,
}

/// One inbound allow rule. `from` empty means from anywhere.
#[derive(Debug, Serialize, PartialEq)]
pub struct FirewallRule {
    pub why: String,
    pub proto: &'static str,
    pub ports: Vec<u16>,
    pub from: Vec<String>,
    pub to: Option<Ipv4Addr>,
}

/// The roster's environment file on app hosts (it holds the database password).
pub const ROSTER_ENV: &str = "/etc/roster/roster.env";

/// Path of the script keepalived runs on db hosts to decide who may hold the DB VIP.
pub const GALERA_SYNCED_SCRIPT: &str = "/etc/keepalived/minicloud-galera-synced.sh";

/// Path of the script keepalived runs on the frontend VIP's holders to decide who may hold
/// it: the proxy runs, and the host is not drained for a planned stop.
pub const FRONTEND_CHECK_SCRIPT: &str = "/etc/keepalived/minicloud-frontend-check.sh";

/// Build the context of `host`. The inventory must have passed validation.
pub fn host_context(inv: &Inventory, host: &str, secrets: &Secrets) -> HostContext {
    let entry = &inv.hosts[host];
    HostContext {
        stack: inv.name.clone(),
        host: host.to_string(),
        roles: entry.roles.iter().map(|r| r.name()).collect(),
        haproxy: entry
            .has(Role::Lb)
            .then(|| haproxy_context(inv, host, secrets)),
        vrrp: vrrp_instances(inv, host),
        frontend_service: inv
            .frontend_vip_holders()
            .contains(&host)
            .then(|| Frontend::of(inv).service()),
        galera: entry
            .has(Role::Db)
            .then(|| galera_context(inv, host, secrets)),
        garb: entry.has(Role::Arbiter).then(|| garb_context(inv, host)),
        roster: entry
            .has(Role::App)
            .then(|| roster_context(inv, host, secrets)),
        nginx: (entry.has(Role::App) && inv.services.nginx.enabled)
            .then(|| nginx_context(inv, host)),
        aerospike: entry
            .has(Role::Aerospike)
            .then(|| aerospike_context(inv, host)),
        file_sync: inv
            .services
            .file_sync
            .as_ref()
            .filter(|_| entry.has(Role::App))
            .map(|sync| file_sync_context(inv, host, &sync.paths, secrets)),
        firewall: {
            let rules = firewall_rules(inv, host);
            FirewallContext {
                fingerprint: firewall_fingerprint(&rules),
                rules,
            }
        },
    }
}

fn addr(inv: &Inventory, host: &str, net: Net) -> Ipv4Addr {
    inv.address(host, net)
        .expect("validated inventory: role's network address present")
}

/// The addresses of `hosts` on `net`.
pub fn addrs(inv: &Inventory, hosts: &[&str], net: Net) -> Vec<Ipv4Addr> {
    hosts.iter().map(|h| addr(inv, h, net)).collect()
}

/// The addresses on `net` of `hosts` other than `host`, as rule sources.
pub fn others(inv: &Inventory, host: &str, hosts: &[&str], net: Net) -> Vec<String> {
    let peers: Vec<&str> = hosts.iter().copied().filter(|h| *h != host).collect();
    strings(&addrs(inv, &peers, net))
}

/// The port HAProxy (or clients, in the web pair) reach an app host on.
/// The port the lb hosts reach an app host on: its nginx when enabled, else the roster.
pub fn app_public_port(inv: &Inventory) -> u16 {
    let s = &inv.services;
    if s.nginx.enabled {
        s.nginx.port
    } else {
        s.roster.port
    }
}

fn haproxy_context(inv: &Inventory, host: &str, secrets: &Secrets) -> HaproxyContext {
    let h = &inv.services.haproxy;
    let backends = inv
        .hosts_with(Role::App)
        .into_iter()
        .map(|app| Backend {
            name: app.to_string(),
            address: addr(inv, app, Net::Frontend),
            port: app_public_port(inv),
        })
        .collect();
    HaproxyContext {
        settings: h.clone(),
        vip: inv.services.frontend_vip.address,
        backends,
        stats: h.stats.as_ref().map(|stats| StatsContext {
            bind: addr(inv, host, Net::Frontend),
            port: stats.port,
            user: stats.user.to_string(),
            password: secrets.haproxy_stats_password.clone(),
        }),
    }
}

/// The VRRP instances `host` takes part in: the frontend VIP on its holders, the DB VIP on db hosts.
fn vrrp_instances(inv: &Inventory, host: &str) -> Vec<VrrpInstance> {
    inv.vips_on(host)
        .into_iter()
        .map(|(kind, vip)| match kind {
            VipKind::Frontend => frontend_instance(inv, host, vip),
            VipKind::Database => database_instance(inv, host, vip),
        })
        .collect()
}

/// Seconds between two runs of the frontend VIP's track script.
pub const FRONTEND_CHECK_INTERVAL: u32 = 1;
/// Passing checks in a row before a frontend VIP holder that failed its check (restarted,
/// drained) may take the VIP again.
pub const FRONTEND_CHECK_RISE: u32 = 2;

/// The frontend VIP's instance: it follows a running HAProxy (or nginx in a web pair).
fn frontend_instance(inv: &Inventory, host: &str, vip: &Vip) -> VrrpInstance {
    let purpose = if Frontend::of(inv) == Frontend::WebPair {
        "Frontend VIP: held by an app host whose nginx is running (web pair), unless drained."
    } else {
        "Frontend VIP: held by an lb host whose HAProxy is running, unless drained."
    };
    let track = TrackScript {
        name: "frontend_alive",
        script: FRONTEND_CHECK_SCRIPT.to_string(),
        interval: FRONTEND_CHECK_INTERVAL,
        fall: 2,
        rise: FRONTEND_CHECK_RISE,
    };
    vrrp_instance(
        inv,
        host,
        VipKind::Frontend,
        purpose,
        (vip, inv.services.frontend_advert_int()),
        Net::Frontend,
        &inv.frontend_vip_holders(),
        track,
    )
}

/// Passing checks in a row before a db node that failed its DB VIP check (restarted,
/// drained, rejoining) may take the VIP again.
pub const DB_VIP_RISE: u32 = 2;

/// The DB VIP's instance: it follows a Galera-Synced node of a Primary component.
fn database_instance(inv: &Inventory, host: &str, vip: &Vip) -> VrrpInstance {
    let detection = &inv.services.galera.failure_detection;
    let track = TrackScript {
        name: "galera_synced",
        script: GALERA_SYNCED_SCRIPT.to_string(),
        interval: detection.check_interval,
        fall: detection.check_fall,
        rise: DB_VIP_RISE,
    };
    let purpose = "DB VIP: held only by a node that is Galera-Synced in a Primary component.";
    vrrp_instance(
        inv,
        host,
        VipKind::Database,
        purpose,
        (vip, inv.services.db_advert_int().unwrap_or(DB_ADVERT_INT)),
        Net::Backend,
        &inv.hosts_with(Role::Db),
        track,
    )
}

#[allow(clippy::too_many_arguments)]
fn vrrp_instance(
    inv: &Inventory,
    host: &str,
    kind: VipKind,
    purpose: &str,
    (vip, advert_int): (&Vip, f64),
    net: Net,
    holders: &[&str],
    track: TrackScript,
) -> VrrpInstance {
    let position = holders.iter().position(|h| *h == host).unwrap_or(0);
    let peers: Vec<&str> = holders.iter().copied().filter(|h| *h != host).collect();
    VrrpInstance {
        name: kind.instance(),
        purpose: purpose.to_string(),
        interface: inv.hosts[host]
            .interface(net)
            .expect("validated inventory: address on the VIP's network"),
        router_id: vip.virtual_router_id,
        // First listed holder is preferred; the steps leave room for many holders.
        priority: 200u8
            .saturating_sub((position as u8).saturating_mul(10))
            .max(1),
        advert_int,
        source: addr(inv, host, net),
        peers: addrs(inv, &peers, net),
        vip: vip.address,
        prefix: inv.networks.get(net).prefix_len(),
        track,
        notify: vip.notify.as_ref().map(ToString::to_string),
    }
}

fn galera_context(inv: &Inventory, host: &str, secrets: &Secrets) -> GaleraContext {
    let galera = &inv.services.galera;
    GaleraContext {
        cluster_name: inv.galera_cluster_name().to_string(),
        node_address: addr(inv, host, Net::Backend),
        vip: inv
            .services
            .db_vip
            .as_ref()
            .expect("validated inventory: galera has a DB VIP")
            .address,
        peers: {
            // The arbiters too: a (re)starting node then reaches every member at once. Listing
            // only the db nodes, it learnt of garbd from them and connected a round later, a
            // second membership round in which every writer waited.
            let mut members = inv.hosts_with(Role::Db);
            members.extend(inv.hosts_with(Role::Arbiter));
            addrs(inv, &members, Net::Backend)
        },
        sst_method: galera.sst_method.name(),
        gcache_size: galera
            .gcache_size
            .clone()
            .unwrap_or_else(|| DEFAULT_GCACHE.to_string()),
        sst_user: SST_USER,
        sst_password: secrets.sst_password.clone(),
        evs_options: evs_options(&galera.failure_detection),
    }
}

fn garb_context(inv: &Inventory, host: &str) -> GarbContext {
    GarbContext {
        nodes: addrs(inv, &inv.hosts_with(Role::Db), Net::Backend)
            .iter()
            .map(|a| format!("{a}:4567"))
            .collect(),
        group: inv.galera_cluster_name().to_string(),
        listen_address: addr(inv, host, Net::Backend),
        evs_options: evs_options(&inv.services.galera.failure_detection),
    }
}

/// `text` percent-encoded for a URL's user info: every byte but the characters a password may
/// hold ([`crate::secrets::password_char`]: unreserved characters and the sub-delimiters `+`
/// and `=`, all literal in user info), so a checked password reads the same in the URL; and
/// `*`, another sub-delimiter, so that a masked one still reads as the mask.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if crate::secrets::password_char(b as char) || b == b'*' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn roster_context(inv: &Inventory, host: &str, secrets: &Secrets) -> RosterContext {
    let s = &inv.services;
    let listen_address = roster_listen_address(inv, host);
    let (backend, database_url, aerospike_hosts, namespace) = match s.database {
        DatabaseKind::Galera => {
            let vip = s
                .db_vip
                .as_ref()
                .expect("validated inventory: galera has a DB VIP")
                .address;
            let url = format!(
                "mysql://{}:{}@{vip}:3306/{}",
                url_encode(&s.roster.db_user),
                url_encode(&secrets.roster_db_password),
                s.roster.database
            );
            ("galera", Some(url), Vec::new(), String::new())
        }
        DatabaseKind::Aerospike => {
            let nodes = addrs(inv, &inv.hosts_with(Role::Aerospike), Net::Backend);
            let namespace = s
                .aerospike
                .as_ref()
                .map(|a| a.namespace.to_string())
                .unwrap_or_default();
            (
                "aerospike",
                None,
                nodes.iter().map(|a| format!("{a}:3000")).collect(),
                namespace,
            )
        }
    };
    RosterContext {
        listen: format!("{listen_address}:{}", s.roster.port),
        backend,
        database_url,
        pool_size: s.roster.pool_size,
        aerospike_hosts,
        aerospike_namespace: namespace,
        // A masked render shows the mask, not the hash of the mask (which would look real).
        api_token_sha256: if secrets.roster_api_token == crate::secrets::MASK {
            crate::secrets::MASK.to_string()
        } else {
            roster_api::token::token_sha256_hex(&secrets.roster_api_token)
        },
    }
}

/// Where an app host's roster listens: loopback behind nginx when only its own nginx calls it;
/// its frontend address when HAProxy calls it, or (web pair) the other app hosts' nginx.
pub fn roster_listen_address(inv: &Inventory, host: &str) -> Ipv4Addr {
    if inv.services.nginx.enabled && Frontend::of(inv) == Frontend::LbPair {
        Ipv4Addr::LOCALHOST
    } else {
        addr(inv, host, Net::Frontend)
    }
}

fn nginx_context(inv: &Inventory, host: &str) -> NginxContext {
    let port = inv.services.roster.port;
    let mut listen = vec![addr(inv, host, Net::Frontend)];
    let mut upstream = vec![UpstreamServer {
        address: format!("{}:{port}", roster_listen_address(inv, host)),
        backup: false,
    }];
    if Frontend::of(inv) == Frontend::WebPair {
        listen.push(inv.services.frontend_vip.address);
        upstream.extend(
            inv.hosts_with(Role::App)
                .into_iter()
                .filter(|peer| *peer != host)
                .map(|peer| UpstreamServer {
                    address: format!("{}:{port}", roster_listen_address(inv, peer)),
                    backup: true,
                }),
        );
    }
    NginxContext {
        listen,
        port: inv.services.nginx.port,
        upstream,
    }
}

fn file_sync_context(
    inv: &Inventory,
    host: &str,
    paths: &[String],
    secrets: &Secrets,
) -> FileSyncContext {
    let peers: Vec<&str> = inv
        .hosts_with(Role::App)
        .into_iter()
        .filter(|h| *h != host)
        .collect();
    let peers = strings(&addrs(inv, &peers, Net::Backend));
    let paths: Vec<String> = paths
        .iter()
        .map(|p| p.trim_end_matches('/').to_string())
        .collect();
    FileSyncContext {
        authorized_key: super::file_sync::authorized_key(&peers, &secrets.file_sync_public_key),
        receive_script: super::file_sync::receive_script(&paths, super::file_sync::RRSYNC),
        receive_command: super::file_sync::RECEIVE_COMMAND,
        paths,
        peers,
        private_key: secrets.file_sync_private_key.clone(),
        key_path: FILE_SYNC_KEY,
    }
}

fn aerospike_context(inv: &Inventory, host: &str) -> AerospikeContext {
    let aerospike = inv
        .services
        .aerospike
        .as_ref()
        .expect("validated inventory: aerospike settings");
    AerospikeContext {
        address: addr(inv, host, Net::Backend),
        seeds: addrs(inv, &inv.hosts_with(Role::Aerospike), Net::Backend),
        namespace: aerospike.namespace.to_string(),
        replication_factor: aerospike.replication_factor,
        data_size: aerospike.data_size.clone(),
    }
}

/// Each item as text.
pub fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

/// Collects allow rules, keeping "from anywhere" apart from "from these peers": a peer rule with
/// no peers (a single lb host, say) must open nothing, not everything.
#[derive(Default)]
pub struct Rules(Vec<FirewallRule>);

impl Rules {
    /// The rules collected.
    pub fn into_rules(self) -> Vec<FirewallRule> {
        self.0
    }

    /// Allow `proto`/`ports` (to `to` only, when given) from anywhere.
    pub fn anywhere(
        &mut self,
        why: &str,
        proto: &'static str,
        ports: &[u16],
        to: Option<Ipv4Addr>,
    ) {
        self.0.push(FirewallRule {
            why: why.to_string(),
            proto,
            ports: ports.to_vec(),
            from: Vec::new(),
            to,
        });
    }

    /// Allow `proto`/`ports` from `from` only; nothing at all when `from` is empty.
    pub fn only_from(&mut self, why: &str, proto: &'static str, ports: &[u16], from: Vec<String>) {
        if !from.is_empty() {
            self.0.push(FirewallRule {
                why: why.to_string(),
                proto,
                ports: ports.to_vec(),
                from,
                to: None,
            });
        }
    }
}

/// A short digest of the rules and of the template they fill: equal fingerprints, equal rule sets.
pub fn firewall_fingerprint(rules: &[FirewallRule]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(include_str!("../../templates/firewall.nft.tera"));
    hash.update(serde_json::to_vec(rules).expect("rules serialize"));
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Inbound allow rules for `host`, by role (each role adds its own: see
/// [`crate::roles::Role::firewall`]); everything else is dropped.
pub fn firewall_rules(inv: &Inventory, host: &str) -> Vec<FirewallRule> {
    crate::roles::firewall_rules(inv, host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::mysql::MySqlConnectOptions;
    use std::str::FromStr;

    /// What sqlx (the roster's driver) reads from a URL, against what it was meant to say.
    fn parses_to(url: &str, user: &str, password: &str) {
        let parsed = MySqlConnectOptions::from_str(url).unwrap();
        let meant = MySqlConnectOptions::new()
            .host("10.0.0.9")
            .port(3306)
            .username(user)
            .password(password)
            .database("roster");
        assert_eq!(format!("{parsed:?}"), format!("{meant:?}"), "{url}");
    }

    #[test]
    fn the_database_url_carries_user_and_password_unchanged() {
        // A checked password needs no encoding: it reads the same in the URL.
        for password in ["0123456789abcdef", "A.b_c~d+e=f-0123456789"] {
            assert_eq!(url_encode(password), password);
            parses_to(
                &format!("mysql://roster:{password}@10.0.0.9:3306/roster"),
                "roster",
                password,
            );
        }
        // Anything else is encoded, and still reads back as it was.
        let (user, password) = ("ro@ster", "p@ss/w#rd:x%y?z é");
        assert_eq!(url_encode("a@b/c#d:e"), "a%40b%2Fc%23d%3Ae");
        assert_eq!(url_encode(crate::secrets::MASK), crate::secrets::MASK);
        let url = format!(
            "mysql://{}:{}@10.0.0.9:3306/roster",
            url_encode(user),
            url_encode(password)
        );
        parses_to(&url, user, password);
    }

    #[test]
    fn the_rendered_url_is_encoded() {
        let inv = crate::inventory::load(std::path::Path::new("inventory/example.yml")).unwrap();
        let mut secrets = Secrets::masked();
        secrets.roster_db_password = "pw@x/y#z".into();
        let app = inv.hosts_with(crate::inventory::Role::App)[0];
        let url = roster_context(&inv, app, &secrets).database_url.unwrap();
        assert!(url.contains(":pw%40x%2Fy%23z@"), "{url}");
    }
}
