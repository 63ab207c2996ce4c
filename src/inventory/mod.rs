//! The inventory: one YAML file that describes the whole stack, read into typed data.
//!
//! Reading happens in two stages. [`parse`] turns text into these types and rejects what the
//! types cannot hold (YAML syntax, unknown keys, a malformed address), stopping at the first
//! such error with its line and column. [`validate`] then checks how the parts fit together and
//! reports *every* problem at once with its key path. [`load`] does both: nothing that fails
//! either stage ever reaches a host.

pub mod limits;
pub mod text;
mod unique_map;
pub mod validate;

use ipnet::Ipv4Net;
use schemars::JsonSchema;
use serde::Deserialize;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

pub use text::{
    AerospikeNamespace, HostScript, InterfaceName, Jump, ProxyJump, SshHost, StatsUser, UnixUser,
};
pub use unique_map::UniqueMap;
pub use validate::{Problem, validate};

/// The whole stack, as written in the inventory file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Name of the stack; shown in output and used as the default Galera cluster name.
    pub name: String,
    #[serde(default)]
    pub ssh: SshDefaults,
    pub networks: Networks,
    pub hosts: UniqueMap<Host>,
    pub services: Services,
    #[serde(default)]
    pub firewall: Firewall,
}

/// SSH settings every host uses unless it overrides them; what is left out may come from
/// `~/.ssh/config` (see `config`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(from = "SshDefaultsFile")]
pub struct SshDefaults {
    pub user: UnixUser,
    pub port: u16,
    /// Private key file; when absent the ssh-agent is asked.
    pub key: Option<PathBuf>,
    /// known_hosts file to verify host keys against; default `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    /// Jump host chain for every host (a host's own `ssh.proxy_jump` wins).
    pub proxy_jump: Option<ProxyJump>,
    /// OpenSSH client config to read; default `~/.ssh/config` (a missing file is no config).
    pub config: Option<PathBuf>,
    /// Whether `user` / `port` were written in the inventory (else `~/.ssh/config` may say,
    /// for SSH: the firewall and file sync use `port` as it is here).
    #[serde(skip)]
    pub user_given: bool,
    #[serde(skip)]
    pub port_given: bool,
}

/// [`SshDefaults`] as written: what is left out may come from `~/.ssh/config`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(rename = "SshDefaults")]
pub struct SshDefaultsFile {
    /// Login user (default root, or `User` of `~/.ssh/config`); a non-root user needs
    /// password-less sudo.
    #[schemars(with = "UnixUser", extend("default" = "root"))]
    pub user: Option<UnixUser>,
    /// Default 22, or `Port` of `~/.ssh/config`.
    #[schemars(with = "u16", extend("default" = 22))]
    pub port: Option<u16>,
    /// Private key file; when absent `IdentityFile` of `~/.ssh/config`, else the ssh-agent.
    pub key: Option<PathBuf>,
    /// known_hosts file to verify host keys against (jump hosts too); default
    /// `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    /// Jump host chain for every host, like OpenSSH's ProxyJump: `[user@]host[:port]`,
    /// comma-separated, outermost first, or `none`. A host's own `ssh.proxy_jump` wins.
    pub proxy_jump: Option<ProxyJump>,
    /// OpenSSH client config to read (Host, HostName, User, Port, IdentityFile, ProxyJump);
    /// default `~/.ssh/config`, a missing file is no config. The inventory wins over it.
    pub config: Option<PathBuf>,
}

impl From<SshDefaultsFile> for SshDefaults {
    fn from(file: SshDefaultsFile) -> Self {
        SshDefaults {
            user_given: file.user.is_some(),
            port_given: file.port.is_some(),
            user: file
                .user
                .unwrap_or_else(|| UnixUser::try_from("root").expect("a valid user name")),
            port: file.port.unwrap_or(22),
            key: file.key,
            known_hosts: file.known_hosts,
            proxy_jump: file.proxy_jump,
            config: file.config,
        }
    }
}

impl Default for SshDefaults {
    fn default() -> Self {
        SshDefaultsFile::default().into()
    }
}

/// Per-host SSH overrides.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SshOverride {
    /// Where to connect: an IPv4 or IPv6 address or a DNS name, or a Host alias of
    /// `~/.ssh/config`; default the host's frontend address, else its backend address.
    pub host: Option<SshHost>,
    pub user: Option<UnixUser>,
    pub port: Option<u16>,
    pub key: Option<PathBuf>,
    /// Jump host chain to reach this host (`[user@]host[:port]`, comma-separated, or `none`).
    pub proxy_jump: Option<ProxyJump>,
}

/// The two networks of the stack. Clients reach the frontend; replication stays on the backend.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Networks {
    /// Where clients, the lb hosts and the frontend VIP live, e.g. 10.231.50.0/24.
    #[schemars(schema_with = "ipv4_net")]
    pub frontend: Ipv4Net,
    /// Where replication, the app's database traffic and the DB VIP stay, e.g. 10.231.60.0/24.
    #[schemars(schema_with = "ipv4_net")]
    pub backend: Ipv4Net,
}

/// Which of the two networks something lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    Frontend,
    Backend,
}

impl Net {
    pub fn key(self) -> &'static str {
        match self {
            Net::Frontend => "frontend",
            Net::Backend => "backend",
        }
    }
}

impl Networks {
    pub fn get(&self, net: Net) -> Ipv4Net {
        match net {
            Net::Frontend => self.frontend,
            Net::Backend => self.backend,
        }
    }
}

/// A value per network, each optional (a host is on the networks its roles need).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerNet<T> {
    pub frontend: Option<T>,
    pub backend: Option<T>,
}

impl<T> Default for PerNet<T> {
    fn default() -> Self {
        PerNet {
            frontend: None,
            backend: None,
        }
    }
}

impl<T> PerNet<T> {
    pub fn get(&self, net: Net) -> Option<&T> {
        match net {
            Net::Frontend => self.frontend.as_ref(),
            Net::Backend => self.backend.as_ref(),
        }
    }
}

/// One machine reached over SSH.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Roles as written; unknown names are reported by [`validate`] with their index.
    #[serde(rename = "roles")]
    #[schemars(schema_with = "role_names")]
    pub role_names: Vec<String>,
    /// The known roles among `role_names`, filled in by [`parse`].
    #[serde(skip)]
    pub roles: Vec<Role>,
    pub addresses: PerNet<Ipv4Addr>,
    /// Network interface per network; by default `eth0`, `eth1`, ... in the order the host's
    /// networks are listed under `addresses` (frontend first), as Docker and Vagrant name them.
    #[serde(default)]
    pub interfaces: PerNet<InterfaceName>,
    #[serde(default)]
    pub ssh: SshOverride,
}

impl Host {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Interface name that carries `net` on this host.
    pub fn interface(&self, net: Net) -> Option<String> {
        if let Some(name) = self.interfaces.get(net) {
            return Some(name.to_string());
        }
        self.addresses.get(net)?;
        let index = match net {
            Net::Frontend => 0,
            Net::Backend => usize::from(self.addresses.frontend.is_some()),
        };
        Some(format!("eth{index}"))
    }
}

/// What a host does in the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// HAProxy + keepalived, carries the frontend VIP.
    Lb,
    /// Runs the roster app (and nginx in front of it when enabled).
    App,
    /// MariaDB Galera node.
    Db,
    /// Galera arbitrator (garbd): a vote without data.
    Arbiter,
    /// Aerospike server node.
    Aerospike,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Lb,
        Role::App,
        Role::Db,
        Role::Arbiter,
        Role::Aerospike,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Lb => "lb",
            Role::App => "app",
            Role::Db => "db",
            Role::Arbiter => "arbiter",
            Role::Aerospike => "aerospike",
        }
    }

    /// The networks a host with this role must have an address on.
    pub fn networks(self) -> &'static [Net] {
        match self {
            Role::Lb => &[Net::Frontend],
            Role::App => &[Net::Frontend, Net::Backend],
            Role::Db | Role::Arbiter | Role::Aerospike => &[Net::Backend],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Role {
    /// The role with this inventory name, if any.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }
}

/// Everything that is not a host: VIPs, daemons' settings, the app.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Services {
    /// The address clients use; keepalived moves it between the lb hosts (or, in the nginx
    /// web-pair topology with no lb hosts, between the app hosts).
    pub frontend_vip: Vip,
    /// The address the app uses for MariaDB; keepalived keeps it on a Galera-Synced node.
    /// Required with `database: galera`.
    pub db_vip: Option<Vip>,
    #[serde(default)]
    pub database: DatabaseKind,
    #[serde(default)]
    pub haproxy: Haproxy,
    #[serde(default)]
    pub roster: Roster,
    #[serde(default)]
    pub galera: Galera,
    pub aerospike: Option<Aerospike>,
    #[serde(default)]
    pub nginx: Nginx,
    /// Folders kept the same on every app host (lsyncd over SSH with a key of its own).
    pub file_sync: Option<FileSync>,
}

/// Folders kept in sync across the app hosts (the mini-cloud original's rsync + inotify).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSync {
    /// Absolute paths, the same on every app host. Files created or changed on any app host
    /// reach the others within seconds; deletions are not carried over (nothing is lost to a
    /// race between two hosts).
    pub paths: Vec<String>,
}

/// A keepalived-managed virtual address.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vip {
    pub address: Ipv4Addr,
    /// VRRP virtual router id (1-255), unique per network segment.
    pub virtual_router_id: u8,
    /// Seconds between VRRP adverts (VRRP v3: sub-second works); the VIP moves after about
    /// 3 × this when its holder dies. Default: 0.2 for the frontend VIP (a dead lb host's VIP
    /// moves in about 0.7 s), 0.5 for the DB VIP (its failover waits for Galera's
    /// suspect_timeout anyway, and the backend also carries replication and SST traffic).
    pub advert_int: Option<f64>,
    /// A script on every host that may hold this VIP, for networks where gratuitous ARP does
    /// not move an address (most public clouds): keepalived runs it as root on each of the
    /// host's state changes as `PATH INSTANCE <frontend|database> <MASTER|BACKUP|FAULT|STOP>
    /// <priority>`, so it can move the address with the provider's API. It must exist, be
    /// executable and be writable by root only (the file and every folder above it) before
    /// `up`, which checks; it must be idempotent and return within a second or two.
    pub notify: Option<HostScript>,
}

/// Which of the stack's two VIPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VipKind {
    /// `services.frontend_vip`, on the lb hosts (or the web pair).
    Frontend,
    /// `services.db_vip`, on the db hosts.
    Database,
}

impl VipKind {
    /// keepalived's `vrrp_instance` name: also the second argument a notify script gets.
    pub fn instance(self) -> &'static str {
        match self {
            VipKind::Frontend => "frontend",
            VipKind::Database => "database",
        }
    }

    /// Where it is set in the inventory.
    pub fn key(self) -> &'static str {
        match self {
            VipKind::Frontend => "services.frontend_vip",
            VipKind::Database => "services.db_vip",
        }
    }
}

/// The frontend VIP's advert interval when the inventory gives none: 3 × 0.2 s plus skew
/// moved the VIP in 0.67 s on the lab (design.md), inside lb-down's 1 s budget.
pub const FRONTEND_ADVERT_INT: f64 = 0.2;
/// The DB VIP's advert interval when the inventory gives none: its move when a host dies
/// (3 × 0.5 s plus skew, about 1.6 s) ends close to Galera's LAN suspect_timeout (1.5 s) plus
/// the membership change, which is when the surviving node takes writes again anyway.
pub const DB_ADVERT_INT: f64 = 0.5;

impl Services {
    /// The frontend VIP's advert interval (given, else [`FRONTEND_ADVERT_INT`]).
    pub fn frontend_advert_int(&self) -> f64 {
        self.frontend_vip.advert_int.unwrap_or(FRONTEND_ADVERT_INT)
    }

    /// The DB VIP's advert interval (given, else [`DB_ADVERT_INT`]), when there is a DB VIP.
    pub fn db_advert_int(&self) -> Option<f64> {
        self.db_vip
            .as_ref()
            .map(|vip| vip.advert_int.unwrap_or(DB_ADVERT_INT))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    #[default]
    Galera,
    Aerospike,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Haproxy {
    /// Port the frontend listens on (on the frontend VIP).
    pub port: u16,
    /// Timeouts in milliseconds.
    pub timeout_connect_ms: u32,
    pub timeout_client_ms: u32,
    pub timeout_server_ms: u32,
    /// Active health checks of app nodes: interval, failures to mark down, successes to mark up.
    pub check_interval_ms: u32,
    pub check_fall: u32,
    pub check_rise: u32,
    /// How many times a failed connection is retried (on another node, with `option redispatch`).
    pub retries: u32,
    /// Templates see the rendered stats listener (with its address and password) instead.
    #[serde(skip_serializing)]
    pub stats: Option<Stats>,
}

impl Default for Haproxy {
    fn default() -> Self {
        Haproxy {
            port: 80,
            timeout_connect_ms: 2000,
            timeout_client_ms: 30000,
            timeout_server_ms: 30000,
            check_interval_ms: 1000,
            check_fall: 2,
            check_rise: 2,
            retries: 3,
            stats: None,
        }
    }
}

/// HAProxy's stats page, on each lb host's own frontend address.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    #[serde(default = "default_stats_port")]
    pub port: u16,
    #[serde(default = "default_stats_user")]
    pub user: StatsUser,
    /// Networks allowed to open the page (firewall); default: the frontend network.
    #[serde(default)]
    #[schemars(schema_with = "ipv4_nets")]
    pub allow_from: Vec<Ipv4Net>,
}

fn default_stats_port() -> u16 {
    8404
}

fn default_stats_user() -> StatsUser {
    StatsUser::try_from("admin").expect("a valid stats user")
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Roster {
    /// Port the roster app listens on.
    pub port: u16,
    /// MariaDB database and user of the app.
    pub database: String,
    pub db_user: String,
    /// Connections in the app's database pool.
    pub pool_size: u32,
}

impl Default for Roster {
    fn default() -> Self {
        Roster {
            port: 8080,
            database: "roster".into(),
            db_user: "roster".into(),
            pool_size: 10,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Galera {
    /// Default: the inventory's `name`.
    pub cluster_name: Option<String>,
    pub sst_method: SstMethod,
    /// Galera's write-set cache; larger lets a node that was away rejoin by IST, not full SST.
    pub gcache_size: Option<String>,
    /// How fast a crashed or cut-off node is noticed (Galera's EVS timers on every db node
    /// and garbd, and the DB VIP's health check). Defaults suit a LAN.
    pub failure_detection: FailureDetection,
}

/// How fast a dead Galera member is dropped and the DB VIP leaves a node that is not Synced.
/// Times in seconds (e.g. 2, 0.5; at most 3 decimals). Shorter means faster failover, but a
/// member that is only slow (under load, a long fsync, a WAN hiccup) is then taken for dead:
/// it is dropped and must rejoin (IST or SST), and the VIP may move for nothing. The defaults
/// suit a LAN: measured on the lab, writes resumed 2.1 s after the DB VIP holder was killed
/// (Galera's own defaults: 6.1 s). On a WAN use Galera's defaults or longer (suspect 5+ s).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FailureDetection {
    /// `evs.suspect_timeout`: silence after which a member is suspected dead; once every
    /// other member suspects it, it is dropped. Bounds how long writes stall when a node dies.
    pub suspect_timeout: f64,
    /// `evs.inactive_timeout`: silence after which a member is declared dead even if not
    /// every other member agrees. Longer than suspect_timeout.
    pub inactive_timeout: f64,
    /// `evs.keepalive_period`: how often a member that has nothing to send says it is alive.
    /// At most a third of suspect_timeout, so one lost keepalive does not look like death.
    /// It also paces a membership change: members with nothing else to send acknowledge each
    /// of its rounds at this pace, and writers wait meanwhile (a node rejoining on the lab
    /// paused them 1.0 s with 0.5, 0.5 s with 0.2, 0.3-0.4 s with 0.1, Galera's least).
    pub keepalive_period: f64,
    /// `evs.inactive_check_period`: how often members are checked for silence. At most half
    /// of suspect_timeout.
    pub inactive_check_period: f64,
    /// `evs.install_timeout`: how long a new membership may take to agree. From 2 ×
    /// keepalive_period to inactive_timeout.
    pub install_timeout: f64,
    /// Whole seconds between runs of the DB VIP's check (Synced in a Primary component?).
    pub check_interval: u32,
    /// Failed checks in a row before the node drops the DB VIP. 1 reacts fastest, but a
    /// single slow check under load then moves the VIP (a write stall for nothing).
    /// check_interval × check_fall is at most 20 s.
    pub check_fall: u32,
}

impl Default for FailureDetection {
    /// The LAN timers measured on the lab (design.md, "Galera failure detection").
    fn default() -> Self {
        FailureDetection {
            suspect_timeout: 1.5,
            inactive_timeout: 3.0,
            keepalive_period: 0.1,
            inactive_check_period: 0.25,
            install_timeout: 3.0,
            check_interval: 1,
            check_fall: 2,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SstMethod {
    /// Simplest; blocks the donor while it copies.
    #[default]
    Rsync,
    /// Donor stays writable; needs socat and an SST user.
    Mariabackup,
}

impl SstMethod {
    pub fn name(self) -> &'static str {
        match self {
            SstMethod::Rsync => "rsync",
            SstMethod::Mariabackup => "mariabackup",
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Aerospike {
    #[serde(default = "default_namespace")]
    pub namespace: AerospikeNamespace,
    #[serde(default = "default_replication_factor")]
    pub replication_factor: u32,
    /// Memory for the namespace's data, e.g. `1G` (Aerospike 7 `storage-engine memory`).
    #[serde(default = "default_data_size")]
    pub data_size: String,
    /// Server package the user supplies (`.tgz` with asinstall, or a `.deb`): no public
    /// download is reachable from every network.
    pub package: Option<String>,
}

fn default_namespace() -> AerospikeNamespace {
    AerospikeNamespace::try_from("roster").expect("a valid namespace")
}

fn default_replication_factor() -> u32 {
    2
}

fn default_data_size() -> String {
    "1G".into()
}

/// Optional nginx in front of the roster app on every app host.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Nginx {
    pub enabled: bool,
    pub port: u16,
}

impl Default for Nginx {
    fn default() -> Self {
        Nginx {
            enabled: false,
            port: 80,
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Firewall {
    /// Networks SSH is allowed from (the control machine's); empty means from anywhere.
    #[schemars(schema_with = "ipv4_nets")]
    pub ssh_from: Vec<Ipv4Net>,
    /// New rules are rolled back on the host after this many seconds unless `up` confirmed
    /// them over a new SSH connection.
    pub dead_man_seconds: u64,
}

impl Default for Firewall {
    fn default() -> Self {
        Firewall {
            ssh_from: Vec::new(),
            dead_man_seconds: 30,
        }
    }
}

/// An IPv4 network in CIDR notation (ipnet has no schema of its own).
fn ipv4_net(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "pattern": r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$",
        "examples": ["10.231.50.0/24"],
    })
}

fn ipv4_nets(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let item = ipv4_net(generator);
    schemars::json_schema!({ "type": "array", "items": item })
}

/// Role names, so an editor offers them (an unknown one is still reported by `validate`
/// with its index).
fn role_names(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
    schemars::json_schema!({
        "type": "array",
        "items": { "enum": names },
        "minItems": 1,
    })
}

/// The inventory's JSON Schema (`minicloud schema`; docs/inventory.schema.json), from the
/// same types the file is read into: editors complete and check an inventory with it.
pub fn json_schema() -> schemars::Schema {
    schemars::schema_for!(Inventory)
}

/// A problem that stops the inventory from being used, with where it is and what to do.
#[derive(Debug)]
pub struct InventoryError {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let count = self.problems.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        writeln!(f, "{}: {count} {noun}", self.file.display())?;
        for problem in &self.problems {
            write!(f, "\n  {}\n    hint: {}", problem.message(), problem.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for InventoryError {}

/// Read, parse and validate an inventory file.
pub fn load(file: &Path) -> Result<Inventory, InventoryError> {
    let text = limits::read_text(file).map_err(|err| InventoryError {
        file: file.to_owned(),
        problems: vec![Problem::new(
            "",
            format!("cannot read the inventory: {err}"),
            "pass an existing inventory file with -i FILE (inventory/example.yml documents every key)",
        )],
    })?;
    let inventory = parse(&text).map_err(|problems| InventoryError {
        file: file.to_owned(),
        problems,
    })?;
    let problems = validate(&inventory);
    if problems.is_empty() {
        Ok(inventory)
    } else {
        Err(InventoryError {
            file: file.to_owned(),
            problems,
        })
    }
}

/// Parse inventory text into its types (no cross-checks: see [`validate`]). Refuses a file
/// nested too deep before the parser sees it; then the first error the types find, or, when
/// typed strings break their rules, each of those with its key path.
pub fn parse(text: &str) -> Result<Inventory, Vec<Problem>> {
    limits::check_nesting(text).map_err(|deep| {
        let mut problem = Problem::new(
            "",
            format!("nested more than {} levels deep", limits::MAX_DEPTH),
            "an inventory is a few levels deep (hosts.NAME.addresses.frontend); check the file is the one you meant",
        );
        problem.position = Some((deep.line, deep.column));
        vec![problem]
    })?;
    let mut inventory: Inventory = serde_norway::from_str(text).map_err(|err| {
        // serde names only the map around a typed string it refused, and stops there: when
        // typed strings are wrong, name each with its own key path instead.
        let refused: Vec<Problem> = serde_norway::from_str(text)
            .map(|tree| text::check_tree(&tree))
            .unwrap_or_default()
            .into_iter()
            .map(|(path, rejection)| Problem::new(path, rejection.why, rejection.hint))
            .collect();
        if refused.is_empty() {
            vec![parse_problem(&err)]
        } else {
            refused
        }
    })?;
    for host in inventory.hosts.0.values_mut() {
        host.roles = host
            .role_names
            .iter()
            .filter_map(|name| Role::from_name(name))
            .collect();
    }
    Ok(inventory)
}

/// Turn serde_norway's error into a problem placed at a line and column, with a hint that fits.
fn parse_problem(err: &serde_norway::Error) -> Problem {
    let full = err.to_string();
    let (message, position) = match err.location() {
        Some(loc) => {
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
            (message, Some((loc.line(), loc.column())))
        }
        None => (full, None),
    };
    // A value refused by its type's rule carries its own hint.
    if let Some((message, hint)) = message.split_once(text::HINT_MARK) {
        let mut problem = Problem::new("", message, hint);
        problem.position = position;
        return problem;
    }
    let hint = if message.contains("unknown field") {
        "check the spelling; inventory/example.yml documents every key"
    } else if message.contains("duplicate name") {
        "rename one of the two entries: host names must be unique"
    } else if message.contains("IPv4") || message.contains("IP address") {
        "write an IPv4 address like 10.231.50.11, or a network like 10.231.50.0/24"
    } else if message.contains("missing field") {
        "add the key; inventory/example.yml shows it with its meaning"
    } else if message.contains("unknown variant") {
        "use one of the values listed"
    } else {
        "inventory/example.yml shows the expected layout"
    };
    let mut problem = Problem::new("", message, hint);
    problem.position = position;
    problem
}

/// The default stack in few lines (two lb, two app with an arbiter, two db hosts, both VIPs),
/// for unit tests that need a whole stack.
#[cfg(test)]
pub(crate) const TEST_STACK: &str = "
name: t
ssh: {user: root}
networks: {frontend: 10.0.1.0/24, backend: 10.0.2.0/24}
hosts:
  lb1: {roles: [lb], addresses: {frontend: 10.0.1.11}}
  lb2: {roles: [lb], addresses: {frontend: 10.0.1.12}}
  app1: {roles: [app, arbiter], addresses: {frontend: 10.0.1.101, backend: 10.0.2.101}}
  app2: {roles: [app], addresses: {frontend: 10.0.1.102, backend: 10.0.2.102}}
  db1: {roles: [db], addresses: {backend: 10.0.2.31}}
  db2: {roles: [db], addresses: {backend: 10.0.2.32}}
services:
  frontend_vip: {address: 10.0.1.100, virtual_router_id: 51}
  db_vip: {address: 10.0.2.100, virtual_router_id: 52}
";

impl Inventory {
    /// Names of the hosts that have `role`, in inventory order.
    pub fn hosts_with(&self, role: Role) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|(_, h)| h.has(role))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// The web-pair topology (the on-call original): no lb hosts, nginx on the app hosts, and
    /// the frontend VIP moves between the app hosts.
    pub fn is_web_pair(&self) -> bool {
        self.hosts_with(Role::Lb).is_empty() && self.services.nginx.enabled
    }

    /// How to reach `host` over SSH. Where: its `ssh.host`, else its frontend address, else
    /// its backend one. That name is looked up in `ssh.config` (default `~/.ssh/config`) as
    /// `ssh NAME` would: HostName, User, Port, IdentityFile and ProxyJump there fill in what
    /// the inventory leaves out (the host's own `ssh` keys win, then the inventory's defaults,
    /// then the file, then root, port 22 and the ssh-agent). Jump hosts come from the host's
    /// `ssh.proxy_jump`, else the default one, else the file's; each hop is looked up in the
    /// file too (its user: the one in the hop, else the file's, else `ssh.user`; its key: the
    /// file's, else `ssh.key`), and the first hop's own ProxyJump there goes before it. Host
    /// keys of every hop are checked against `ssh.known_hosts` (default `~/.ssh/known_hosts`).
    /// A config file that cannot be read makes the target fail when it is opened.
    pub fn ssh_target(&self, host: &str, accept_new: bool) -> crate::ssh::Target {
        let mut target = crate::ssh::Target {
            name: host.to_string(),
            known_hosts: self
                .ssh
                .known_hosts
                .clone()
                .unwrap_or_else(|| PathBuf::from("~/.ssh/known_hosts")),
            accept_new_host_key: accept_new,
            connect_timeout: std::time::Duration::from_secs(10),
            ..Default::default()
        };
        if let Err(why) = self.resolve_ssh(host, &mut target) {
            target.unresolved = Some(format!(
                "{why}; hint: fix the file, or point ssh.config in the inventory at another one"
            ));
        }
        target
    }

    /// Fill in where, as whom and through which jump hosts `target` connects.
    fn resolve_ssh(&self, host: &str, target: &mut crate::ssh::Target) -> Result<(), String> {
        let entry = &self.hosts[host];
        let config = self
            .ssh
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from("~/.ssh/config"));
        let name = match &entry.ssh.host {
            Some(name) => name.to_string(),
            None => entry
                .addresses
                .frontend
                .or(entry.addresses.backend)
                .expect("validated: a host has an address")
                .to_string(),
        };
        target.address = name.clone();
        target.port = entry.ssh.port.unwrap_or(self.ssh.port);
        target.user = entry
            .ssh
            .user
            .as_ref()
            .unwrap_or(&self.ssh.user)
            .to_string();
        target.key = entry.ssh.key.clone().or_else(|| self.ssh.key.clone());
        let file = crate::ssh::config::lookup(&config, &name)?;
        if let Some(host_name) = &file.host_name {
            target.address = host_name.to_string();
        }
        if entry.ssh.port.is_none() && !self.ssh.port_given {
            target.port = file.port.unwrap_or(22);
        }
        if entry.ssh.user.is_none()
            && !self.ssh.user_given
            && let Some(user) = &file.user
        {
            target.user = user.to_string();
        }
        if target.key.is_none() {
            target.key = file.identity_file.clone();
        }
        let chain = match (&entry.ssh.proxy_jump, &self.ssh.proxy_jump) {
            (Some(jumps), _) | (None, Some(jumps)) => jumps.hops(),
            (None, None) => file.proxy_jump.clone().unwrap_or_default(),
        };
        target.jumps = self.resolve_jumps(&config, chain)?;
        Ok(())
    }

    /// Each hop of a jump chain, looked up in the config file; the first hop's own ProxyJump
    /// there goes before it (as OpenSSH does; unless it goes through that very hop), 8 hops
    /// at most.
    fn resolve_jumps(
        &self,
        config: &Path,
        mut chain: Vec<Jump>,
    ) -> Result<Vec<crate::ssh::Hop>, String> {
        const MAX_HOPS: usize = 8;
        let mut hops: Vec<crate::ssh::Hop> = Vec::new();
        while let Some(jump) = chain.pop() {
            let file = crate::ssh::config::lookup(config, &jump.host)?;
            hops.insert(
                0,
                crate::ssh::Hop {
                    address: file.host_name.as_ref().unwrap_or(&jump.host).to_string(),
                    port: jump.port.or(file.port).unwrap_or(22),
                    user: jump
                        .user
                        .as_ref()
                        .or(file.user.as_ref())
                        .unwrap_or(&self.ssh.user)
                        .to_string(),
                    key: file.identity_file.clone().or_else(|| self.ssh.key.clone()),
                },
            );
            if hops.len() > MAX_HOPS {
                return Err(format!(
                    "more than {MAX_HOPS} jump hosts (does a ProxyJump in {} lead back to itself?)",
                    config.display()
                ));
            }
            // A jump host's own ProxyJump through itself (`Host *` blocks say that) is no jump.
            if chain.is_empty()
                && let Some(before) = file.proxy_jump
                && !before.iter().any(|hop| hop.host == jump.host)
            {
                chain = before;
            }
        }
        Ok(hops)
    }

    /// Hosts that carry the frontend VIP.
    pub fn frontend_vip_holders(&self) -> Vec<&str> {
        self.hosts_with(if self.is_web_pair() {
            Role::App
        } else {
            Role::Lb
        })
    }

    /// The VIPs `host` takes part in, each a keepalived instance there: the frontend VIP on
    /// its holders, the DB VIP on the db hosts. The render and `up`'s check of the notify
    /// scripts both read this, so a script is checked exactly where keepalived will run it.
    pub fn vips_on(&self, host: &str) -> Vec<(VipKind, &Vip)> {
        let mut vips = Vec::new();
        if self.frontend_vip_holders().contains(&host) {
            vips.push((VipKind::Frontend, &self.services.frontend_vip));
        }
        if let Some(vip) = &self.services.db_vip
            && self.hosts_with(Role::Db).contains(&host)
        {
            vips.push((VipKind::Database, vip));
        }
        vips
    }

    /// The host's address on `net`; validation guarantees it for the networks its roles need.
    pub fn address(&self, host: &str, net: Net) -> Option<std::net::Ipv4Addr> {
        self.hosts.get(host)?.addresses.get(net).copied()
    }

    /// Galera cluster name: the one given, else the stack's name.
    pub fn galera_cluster_name(&self) -> &str {
        self.services
            .galera
            .cluster_name
            .as_deref()
            .unwrap_or(&self.name)
    }
}

#[cfg(test)]
mod ssh_target_tests {
    use super::*;

    /// TEST_STACK with `ssh:` replaced, `extra` added under lb1, and ssh.config at `config`.
    fn stack(config: &Path, defaults: &str, lb1: &str) -> Inventory {
        let text = TEST_STACK
            .replace(
                "ssh: {user: root}",
                &format!("ssh: {{config: {}{defaults}}}", config.display()),
            )
            .replace(
                "lb1: {roles: [lb], addresses: {frontend: 10.0.1.11}}",
                &format!("lb1: {{roles: [lb], addresses: {{frontend: 10.0.1.11}}{lb1}}}"),
            );
        let inv = parse(&text).unwrap_or_else(|p| panic!("{p:?}\n{text}"));
        assert!(validate(&inv).is_empty(), "{:?}", validate(&inv));
        inv
    }

    fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn hops(target: &crate::ssh::Target) -> Vec<String> {
        target
            .jumps
            .iter()
            .map(|h| format!("{}@{}:{} {:?}", h.user, h.address, h.port, h.key))
            .collect()
    }

    #[test]
    fn without_a_config_file_the_address_and_defaults_are_used() {
        let dir = tempfile::tempdir().unwrap();
        let inv = stack(&dir.path().join("absent"), "", "");
        let lb1 = inv.ssh_target("lb1", false);
        assert_eq!(
            (lb1.address.as_str(), lb1.port, lb1.user.as_str(), &lb1.key),
            ("10.0.1.11", 22, "root", &None)
        );
        assert!(lb1.jumps.is_empty() && lb1.unresolved.is_none());
        // db1 has only a backend address.
        assert_eq!(inv.ssh_target("db1", false).address, "10.0.2.31");
    }

    #[test]
    fn the_file_fills_in_what_the_inventory_leaves_out() {
        let (_dir, config) = config_file(
            "Host lb1.example.com\n  HostName 192.0.2.11\n\nHost bastion\n  HostName 192.0.2.1\n  \
             User jumper\n  Port 2200\n  IdentityFile /keys/bastion\n\nHost *\n  User deploy\n  Port 2222\n  \
             IdentityFile /keys/all\n  ProxyJump bastion\n",
        );
        // Nothing in the inventory: all from the file, the jump host looked up there too.
        let inv = stack(&config, "", ", ssh: {host: lb1.example.com}");
        let lb1 = inv.ssh_target("lb1", false);
        assert_eq!(
            (lb1.address.as_str(), lb1.port, lb1.user.as_str()),
            ("192.0.2.11", 2222, "deploy")
        );
        assert_eq!(lb1.key, Some(PathBuf::from("/keys/all")));
        assert_eq!(
            hops(&lb1),
            ["jumper@192.0.2.1:2200 Some(\"/keys/bastion\")"]
        );
        // The inventory wins: its defaults over the file, the host's own keys over both.
        let inv = stack(
            &config,
            ", user: admin, port: 22, key: /keys/inv, proxy_jump: 'ops@10.9.9.9:2022'",
            ", ssh: {host: lb1.example.com, user: root, port: 2022, key: /keys/lb1, proxy_jump: none}",
        );
        let lb1 = inv.ssh_target("lb1", false);
        assert_eq!(
            (lb1.address.as_str(), lb1.port, lb1.user.as_str()),
            ("192.0.2.11", 2022, "root")
        );
        assert_eq!(lb1.key, Some(PathBuf::from("/keys/lb1")));
        assert!(lb1.jumps.is_empty(), "{:?}", lb1.jumps);
        let lb2 = inv.ssh_target("lb2", false);
        assert_eq!((lb2.port, lb2.user.as_str()), (22, "admin"));
        assert_eq!(lb2.key, Some(PathBuf::from("/keys/inv")));
        // The default chain's hop: its own user and port, the file's key (Host * matches it);
        // and the file's ProxyJump for that hop goes before it, as with `ssh -J`.
        assert_eq!(
            hops(&lb2),
            [
                "jumper@192.0.2.1:2200 Some(\"/keys/bastion\")",
                "ops@10.9.9.9:2022 Some(\"/keys/all\")"
            ]
        );
    }

    #[test]
    fn the_first_hops_own_jump_goes_before_it_and_loops_are_refused() {
        let (_dir, config) = config_file(
            "Host inner\n  ProxyJump outer\nHost outer\n  HostName 192.0.2.1\nHost loopa\n  ProxyJump loopb\nHost loopb\n  ProxyJump loopa\n",
        );
        let inv = stack(&config, ", proxy_jump: 'inner,last:2201'", "");
        let lb1 = inv.ssh_target("lb1", false);
        assert_eq!(
            hops(&lb1),
            [
                "root@192.0.2.1:22 None",
                "root@inner:22 None",
                "root@last:2201 None"
            ]
        );
        let inv = stack(&config, ", proxy_jump: loopa", "");
        let why = inv.ssh_target("lb1", false).unresolved.unwrap();
        assert!(
            why.contains("more than 8 jump hosts") && why.contains("hint:"),
            "{why}"
        );
    }

    #[test]
    fn a_broken_config_file_fails_the_target_not_the_parse() {
        let (_dir, config) = config_file("Host *\n  User root;id\n");
        let inv = stack(&config, "", "");
        let why = inv.ssh_target("lb1", false).unresolved.unwrap();
        assert!(
            why.contains("User \"root;id\"") && why.contains("hint: fix the file"),
            "{why}"
        );
    }
}
