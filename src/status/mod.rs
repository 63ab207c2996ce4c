//! `minicloud status`: every host queried in parallel over SSH (read-only, bounded by a timeout),
//! the frontend VIP asked from here, and one verdict. The types below ARE the `--json` shape
//! (documented in docs/status.md); `probe` reads a host, `assess` judges, `table` prints.

pub mod assess;
pub mod probe;
pub mod table;

use crate::aerospike::AerospikeNode;
use crate::converge::{self, session::Session};
use crate::facts::ActiveState;
use crate::galera::WsrepStatus;
use crate::inventory::{Inventory, Role};
use crate::ssh::Connection;
use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use indexmap::IndexMap;
use probe::{Backend, HttpCheck};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The one-word verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Healthy,
    Degraded,
    Down,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Degraded => "degraded",
            Verdict::Down => "down",
        }
    }
}

/// The whole cluster's state at one moment (`--json` prints exactly this).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The inventory's `name`.
    pub stack: String,
    pub verdict: Verdict,
    /// The one-line verdict: `healthy`, `degraded: <why>` or `down: <why>`.
    pub summary: String,
    /// Each problem found, the ones that make the stack down first.
    pub reasons: Vec<String>,
    pub checked_at: DateTime<Utc>,
    /// How long the check took.
    pub elapsed_ms: u64,
    pub vips: Vec<VipStatus>,
    /// Every inventory host, in inventory order.
    pub hosts: Vec<HostStatus>,
}

/// A keepalived VIP: who holds it, and (frontend) whether it serves.
#[derive(Debug, Clone, Serialize)]
pub struct VipStatus {
    /// `frontend` or `db`.
    pub name: String,
    pub address: String,
    /// Hosts that have the address on an interface: exactly one when all is well.
    pub holders: Vec<String>,
    /// Frontend VIP: GET [`VIP_CHECK_PATH`] through it, from the machine running `status`
    /// (named `readyz` in the JSON since it was /readyz, which the VIP no longer serves).
    pub readyz: Option<HttpCheck>,
}

/// One host as seen over SSH.
#[derive(Debug, Clone, Serialize)]
pub struct HostStatus {
    pub name: String,
    pub roles: Vec<String>,
    pub reachable: bool,
    /// Why it could not be read (unreachable, host key, timeout).
    pub error: Option<String>,
    /// Each service its roles run → systemd's ActiveState (printed as systemd's word:
    /// `active`, `inactive`, `failed`, `activating`, ...); empty when unreachable.
    pub services: IndexMap<String, ActiveState>,
    /// The VIP addresses it holds.
    pub vips: Vec<String>,
    /// db hosts whose MariaDB answers.
    pub galera: Option<WsrepStatus>,
    /// lb hosts: HAProxy's view of the roster servers (None when its socket did not answer).
    pub haproxy_backends: Option<Vec<Backend>>,
    /// app hosts: the roster's /readyz, asked from the host itself.
    pub readyz: Option<HttpCheck>,
    /// aerospike hosts whose server answers `asinfo`.
    pub aerospike: Option<AerospikeNode>,
}

impl HostStatus {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|r| r == role.name())
    }

    /// The state of one of its services ([`ActiveState::Unknown`] when it runs no such
    /// service, or was not reached).
    pub fn service(&self, name: &str) -> &ActiveState {
        const UNKNOWN: &ActiveState = &ActiveState::Unknown;
        self.services.get(name).unwrap_or(UNKNOWN)
    }
}

/// How to run `status`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Longest wait for one host (connect + probe).
    pub timeout: Duration,
}

impl Options {
    /// Longest wait for a /readyz answer (on a node or through the VIP): well inside the
    /// host's timeout, so a roster stuck on its database shows as "no answer", not its host
    /// as unreachable.
    pub fn readyz_timeout(&self) -> Duration {
        (self.timeout / 2).clamp(Duration::from_secs(1), Duration::from_secs(3))
    }
}

/// Open SSH sessions, kept between rounds of `--watch`; a host that failed is reconnected.
pub struct Checker<'a> {
    inv: &'a Inventory,
    opts: Options,
    sessions: IndexMap<String, Option<Session>>,
    http: reqwest::Client,
}

impl<'a> Checker<'a> {
    pub fn new(inv: &'a Inventory, opts: Options) -> Result<Checker<'a>> {
        let http = reqwest::Client::builder()
            .timeout(opts.readyz_timeout())
            .no_proxy()
            .build()?;
        Ok(Checker {
            inv,
            sessions: inv.hosts.keys().map(|h| (h.clone(), None)).collect(),
            opts,
            http,
        })
    }

    /// Read every host and the VIP in parallel and judge the whole.
    pub async fn check(&mut self) -> Status {
        let started = Instant::now();
        let checked_at = Utc::now();
        let inv = self.inv;
        let opts = self.opts.clone();
        let probes = join_all(
            self.sessions
                .iter_mut()
                .map(|(host, slot)| probe_host(inv, host, slot, &opts)),
        );
        let (hosts, frontend_readyz) = tokio::join!(probes, frontend_readyz(&self.http, inv));
        let vips = vips(inv, &hosts, frontend_readyz);
        let (verdict, reasons) = assess::assess(inv, &hosts, &vips);
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "status: {}",
            assess::summary(verdict, &reasons)
        );
        Status {
            stack: inv.name.clone(),
            verdict,
            summary: assess::summary(verdict, &reasons),
            reasons,
            checked_at,
            elapsed_ms: started.elapsed().as_millis() as u64,
            vips,
            hosts,
        }
    }

    pub async fn close(self) {
        for session in self.sessions.into_values().flatten() {
            session.conn.close().await;
        }
    }
}

/// What `status` reads through the frontend VIP: a client's read of the roster, which needs
/// the database as /readyz does. /readyz itself is refused there: it is for the nodes only.
pub const VIP_CHECK_PATH: &str = "/api/v1/roster";

/// GET [`VIP_CHECK_PATH`] through the frontend VIP, as a client would.
async fn frontend_readyz(http: &reqwest::Client, inv: &Inventory) -> HttpCheck {
    let vip = inv.services.frontend_vip.address;
    let url = format!("http://{vip}:{}{VIP_CHECK_PATH}", frontend_port(inv));
    let status = match http.get(&url).send().await {
        Ok(response) => Some(response.status().as_u16()),
        Err(_) => None,
    };
    HttpCheck::from_status(status)
}

/// The port clients use on the frontend VIP.
pub fn frontend_port(inv: &Inventory) -> u16 {
    if inv.is_web_pair() {
        inv.services.nginx.port
    } else {
        inv.services.haproxy.port
    }
}

/// Connect when not connected, run the probe; any failure (or the timeout) marks the host
/// unreachable and drops its connection so the next round starts afresh.
async fn probe_host(
    inv: &Inventory,
    host: &str,
    slot: &mut Option<Session>,
    opts: &Options,
) -> HostStatus {
    let timeout = opts.timeout;
    // Only app hosts run the roster (and have the address it listens on).
    let readyz_address = if inv.hosts[host].has(Role::App) {
        crate::render::context::roster_listen_address(inv, host).to_string()
    } else {
        String::new()
    };
    let readyz_secs = opts.readyz_timeout().as_secs().max(1) as u32;
    let command = probe::command(inv, host, &readyz_address, readyz_secs);
    let attempt = tokio::time::timeout(timeout, async {
        if slot.is_none() {
            let mut target = converge::ssh_target(inv, host, false);
            target.connect_timeout = timeout;
            *slot = Some(Session::new(host, Connection::open(&target).await?));
        }
        let session = slot.as_ref().expect("connected above");
        let out = session.run(&command).await?;
        if !out.success() {
            return Err(anyhow!(
                "the status probe failed (exit {}): {}",
                out.status,
                out.stderr_tail(3)
            ));
        }
        Ok(probe::parse(&out.stdout_text()))
    })
    .await
    .unwrap_or_else(|_| Err(anyhow!("no answer within {} s", timeout.as_secs_f64())));
    let roles = inv.hosts[host]
        .roles
        .iter()
        .map(|r| r.name().to_string())
        .collect();
    let mut status = HostStatus {
        name: host.to_string(),
        roles,
        reachable: false,
        error: None,
        services: IndexMap::new(),
        vips: Vec::new(),
        galera: None,
        haproxy_backends: None,
        readyz: None,
        aerospike: None,
    };
    match attempt {
        Err(err) => {
            *slot = None;
            status.error = Some(format!("{err:#}"));
        }
        Ok(probe) => {
            status.reachable = true;
            status.services = probe::services(inv, host)
                .into_iter()
                .map(|s| {
                    (
                        s.to_string(),
                        probe.facts.unit(&format!("{s}.service")).active,
                    )
                })
                .collect();
            status.vips = vip_addresses(inv)
                .into_iter()
                .filter(|(_, address)| probe.facts.has_address(address))
                .map(|(_, address)| address)
                .collect();
            status.galera = probe.facts.wsrep;
            status.haproxy_backends = probe.backends;
            status.readyz = probe.readyz;
            status.aerospike = probe.aerospike;
        }
    }
    status
}

/// (name, address) of each VIP the inventory declares.
fn vip_addresses(inv: &Inventory) -> Vec<(&'static str, String)> {
    let mut list = vec![("frontend", inv.services.frontend_vip.address.to_string())];
    if let Some(db_vip) = &inv.services.db_vip {
        list.push(("db", db_vip.address.to_string()));
    }
    list
}

fn vips(inv: &Inventory, hosts: &[HostStatus], frontend_readyz: HttpCheck) -> Vec<VipStatus> {
    let mut frontend_readyz = Some(frontend_readyz);
    vip_addresses(inv)
        .into_iter()
        .map(|(name, address)| VipStatus {
            name: name.to_string(),
            holders: hosts
                .iter()
                .filter(|h| h.vips.contains(&address))
                .map(|h| h.name.clone())
                .collect(),
            address,
            readyz: if name == "frontend" {
                frontend_readyz.take()
            } else {
                None
            },
        })
        .collect()
}

/// One status check.
pub async fn status(inv: &Inventory, opts: Options) -> Result<Status> {
    let mut checker = Checker::new(inv, opts)?;
    let status = checker.check().await;
    checker.close().await;
    Ok(status)
}
