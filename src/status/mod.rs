//! `minicloud status`: every host queried in parallel over SSH (read-only, bounded by a timeout),
//! the frontend VIP asked from here, and one verdict. The types below ARE the `--json` shape
//! (documented in docs/status.md); `probe` reads a host, `assess` judges, `table` prints.

pub mod assess;
pub mod probe;
pub mod route;
pub mod table;

use crate::aerospike::AerospikeNode;
use crate::converge::session::Session;
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
    /// Everything in place.
    Healthy,
    /// Serving, but redundancy is lost.
    Degraded,
    /// Clients are (or are about to be) refused.
    Down,
}

impl Verdict {
    /// The word, as the JSON and the verdict line print it.
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
    /// Healthy, degraded or down.
    pub verdict: Verdict,
    /// The one-line verdict: `healthy`, `degraded: <why>` or `down: <why>`.
    pub summary: String,
    /// Each problem found, the ones that make the stack down first.
    pub reasons: Vec<String>,
    /// When the check started.
    pub checked_at: DateTime<Utc>,
    /// How long the check took.
    pub elapsed_ms: u64,
    /// Each VIP: the frontend one, and the DB one with Galera.
    pub vips: Vec<VipStatus>,
    /// Every inventory host, in inventory order (with `--limit`, only the hosts in it).
    pub hosts: Vec<HostHealth>,
    /// `--limit`, when given: the verdict judges only these hosts (and the tiers they are in).
    pub limit: Option<crate::limit::Limit>,
    /// What was seen but not judged: hosts outside `--limit` that did not answer.
    pub warnings: Vec<String>,
}

/// A keepalived VIP: who holds it, and (frontend) whether it serves.
#[derive(Debug, Clone, Serialize)]
pub struct VipStatus {
    /// `frontend` or `db`.
    pub name: String,
    /// The VIP's address.
    pub address: String,
    /// Hosts that have the address on an interface: exactly one when all is well.
    pub holders: Vec<String>,
    /// Frontend VIP: GET [`VIP_CHECK_PATH`] through it, from the machine running `status`
    /// (named `readyz` in the JSON since it was /readyz, which the VIP no longer serves).
    pub readyz: Option<HttpCheck>,
}

/// One host as seen over SSH (`hosts[]` in the JSON).
#[derive(Debug, Clone, Serialize)]
pub struct HostHealth {
    /// Its inventory name.
    pub name: String,
    /// Its roles' names (`lb`, `app`, ...).
    pub roles: Vec<String>,
    /// The probe answered within the timeout.
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

impl HostHealth {
    /// It has `role` in the inventory.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|r| r == role.name())
    }

    /// The state of one of its services ([`ActiveState::Unknown`] when it runs no such
    /// service, or was not reached).
    pub fn service(&self, name: &str) -> &ActiveState {
        const UNKNOWN: &ActiveState = &ActiveState::Unknown;
        self.services.get(name).unwrap_or(UNKNOWN)
    }

    /// Reached, and that service of its is active.
    pub fn runs(&self, name: &str) -> bool {
        self.reachable && *self.service(name) == ActiveState::Active
    }

    /// A problem of its own: unreachable, or one of its services not active.
    pub fn troubled(&self) -> bool {
        !self.reachable || self.services.values().any(|s| *s != ActiveState::Active)
    }
}

/// How to run `status`.
#[derive(Debug, Clone)]
pub struct StatusOptions {
    /// Longest wait for one host (connect + probe).
    pub timeout: Duration,
    /// `--limit`: judge and show only these hosts (every host is still read).
    pub limit: Option<crate::limit::Limit>,
}

impl StatusOptions {
    /// Longest wait for a /readyz answer (on a node or through the VIP): well inside the
    /// host's timeout, so a roster stuck on its database shows as "no answer", not its host
    /// as unreachable.
    pub fn readyz_timeout(&self) -> Duration {
        (self.timeout / 2).clamp(Duration::from_secs(1), Duration::from_secs(3))
    }
}

/// Reads the whole stack's status, again and again: its SSH sessions are kept between rounds
/// (of `--watch`, of a drill's sampling); a host that failed is reconnected.
pub struct StatusReader<'a> {
    inv: &'a Inventory,
    opts: StatusOptions,
    sessions: IndexMap<String, Option<Session>>,
    http: reqwest::Client,
    /// How the frontend VIP is reached from here (straight, or through the bastion).
    frontend: route::FrontendRoute,
}

impl<'a> StatusReader<'a> {
    /// A reader of `inv`'s hosts, connected on first use.
    pub fn new(inv: &'a Inventory, opts: StatusOptions) -> Result<StatusReader<'a>> {
        let http = reqwest::Client::builder()
            .timeout(opts.readyz_timeout())
            .no_proxy()
            .build()?;
        Ok(StatusReader {
            inv,
            sessions: inv.hosts.keys().map(|h| (h.clone(), None)).collect(),
            opts,
            http,
            frontend: route::FrontendRoute::new(inv),
        })
    }

    /// Read every host and the VIP in parallel and judge the whole.
    pub async fn read(&mut self) -> Status {
        let started = Instant::now();
        let checked_at = Utc::now();
        let inv = self.inv;
        let opts = self.opts.clone();
        let probes = join_all(
            self.sessions
                .iter_mut()
                .map(|(host, slot)| probe_host(inv, host, slot, &opts)),
        );
        let (hosts, frontend_readyz) = tokio::join!(
            probes,
            frontend_readyz(&self.http, &mut self.frontend, inv, opts.timeout)
        );
        let vips = vips(inv, &hosts, frontend_readyz);
        let limit = self.opts.limit.clone();
        let judged = |host: &str| limit.as_ref().is_none_or(|l| l.contains(host));
        let (verdict, reasons) = assess::assess_within(inv, &hosts, &vips, &judged);
        let summary = limited_summary(
            &assess::summary(verdict, &reasons),
            limit.as_ref(),
            inv.hosts.len(),
        );
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "status: {summary}"
        );
        let warnings = hosts
            .iter()
            .filter(|h| !judged(&h.name) && !h.reachable)
            .map(|h| {
                format!(
                    "{} is outside --limit and unreachable ({}): not judged",
                    h.name,
                    h.error.as_deref().unwrap_or("no answer")
                )
            })
            .collect();
        Status {
            stack: inv.name.clone(),
            verdict,
            summary,
            reasons,
            checked_at,
            elapsed_ms: started.elapsed().as_millis() as u64,
            vips,
            hosts: hosts.into_iter().filter(|h| judged(&h.name)).collect(),
            limit,
            warnings,
        }
    }

    /// Close every SSH session.
    pub async fn close(self) {
        for session in self.sessions.into_values().flatten() {
            session.conn.close().await;
        }
        self.frontend.close().await;
    }
}

/// The verdict line of a limited status says so, and how many hosts it leaves unjudged: a
/// `healthy` of the db hosts is not the whole stack's.
fn limited_summary(summary: &str, limit: Option<&crate::limit::Limit>, total: usize) -> String {
    let Some(limit) = limit else {
        return summary.to_string();
    };
    let (word, rest) = summary.split_once(": ").unwrap_or((summary, ""));
    let others = total - limit.hosts.len();
    let scope = format!(
        "{word} within --limit {} ({}; {others} other host{} not judged)",
        limit.text(),
        limit.hosts.join(", "),
        if others == 1 { "" } else { "s" }
    );
    if rest.is_empty() {
        scope
    } else {
        format!("{scope}: {rest}")
    }
}

/// What `status` reads through the frontend VIP: a client's read of the roster, which needs
/// the database as /readyz does. /readyz itself is refused there: it is for the nodes only.
pub const VIP_CHECK_PATH: &str = "/api/v1/roster";

/// GET [`VIP_CHECK_PATH`] through the frontend VIP, as a client would (from the bastion when
/// the hosts are behind one: see [`route`]).
async fn frontend_readyz(
    http: &reqwest::Client,
    frontend: &mut route::FrontendRoute,
    inv: &Inventory,
    connect_timeout: Duration,
) -> HttpCheck {
    // Connecting to the jump host is bounded like a host's probe.
    let base = tokio::time::timeout(connect_timeout, frontend.base_url())
        .await
        .unwrap_or_else(|_| {
            Err(anyhow!(
                "no answer within {} s",
                connect_timeout.as_secs_f64()
            ))
        });
    let base = match base {
        Ok(base) => base,
        Err(err) => {
            tracing::warn!(
                "status: no way to the frontend VIP {}: {err:#}",
                inv.services.frontend_vip.address
            );
            return HttpCheck::from_status(None);
        }
    };
    let url = format!("{base}{VIP_CHECK_PATH}");
    let status = match http.get(&url).send().await {
        Ok(response) => Some(response.status().as_u16()),
        Err(_) => None,
    };
    HttpCheck::from_status(status)
}

/// The port clients use on the frontend VIP.
pub fn frontend_port(inv: &Inventory) -> u16 {
    crate::roles::frontend::Frontend::of(inv).port(inv)
}

/// Connect when not connected, run the probe; any failure (or the timeout) marks the host
/// unreachable and drops its connection so the next round starts afresh.
async fn probe_host(
    inv: &Inventory,
    host: &str,
    slot: &mut Option<Session>,
    opts: &StatusOptions,
) -> HostHealth {
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
            let mut target = inv.ssh_target(host, false);
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
    if attempt.is_err() {
        *slot = None;
    }
    host_health(inv, host, attempt)
}

/// What a host's probe (or its failure) says about it. Pure.
fn host_health(inv: &Inventory, host: &str, attempt: Result<probe::Probe>) -> HostHealth {
    let roles = inv.hosts[host]
        .roles
        .iter()
        .map(|r| r.name().to_string())
        .collect();
    let mut health = HostHealth {
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
        Err(err) => health.error = Some(format!("{err:#}")),
        Ok(probe) => {
            health.reachable = true;
            health.services = crate::roles::services(inv, host)
                .into_iter()
                .map(|s| {
                    (
                        s.to_string(),
                        probe.facts.unit(&format!("{s}.service")).active,
                    )
                })
                .collect();
            health.vips = vip_addresses(inv)
                .into_iter()
                .filter(|(_, address)| probe.facts.has_address(address))
                .map(|(_, address)| address)
                .collect();
            health.galera = probe.facts.wsrep;
            health.haproxy_backends = probe.backends;
            health.readyz = probe.readyz;
            health.aerospike = probe.aerospike;
        }
    }
    health
}

/// (name, address) of each VIP the inventory declares.
fn vip_addresses(inv: &Inventory) -> Vec<(&'static str, String)> {
    let mut list = vec![("frontend", inv.services.frontend_vip.address.to_string())];
    if let Some(db_vip) = &inv.services.db_vip {
        list.push(("db", db_vip.address.to_string()));
    }
    list
}

/// Who holds each VIP; the frontend one with what answered through it.
fn vips(inv: &Inventory, hosts: &[HostHealth], frontend_readyz: HttpCheck) -> Vec<VipStatus> {
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
pub async fn status(inv: &Inventory, opts: StatusOptions) -> Result<Status> {
    let mut reader = StatusReader::new(inv, opts)?;
    let status = reader.read().await;
    reader.close().await;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::galera::{ClusterStatus, LocalState};

    fn stack() -> Inventory {
        crate::inventory::parse(crate::inventory::TEST_STACK).unwrap()
    }

    /// A db host's probe output as a lab db node gives it, mariadb still joining.
    const DB1: &str = "@@units\nId=mariadb.service\nLoadState=loaded\nActiveState=activating\nUnitFileState=enabled\n\n\
Id=keepalived.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\
@@wsrep\nwsrep_cluster_size\t2\nwsrep_cluster_status\tnon-Primary\nwsrep_last_committed\t9\nwsrep_local_state_comment\tJoining\n\
@@addrs\n2: eth0    inet 10.0.2.31/24 scope global eth0\n2: eth0    inet 10.0.2.100/24 scope global secondary eth0\n";

    #[test]
    fn a_probe_gives_each_service_its_state_and_the_json_systemds_words() {
        let inv = stack();
        let health = host_health(&inv, "db1", Ok(probe::parse(DB1)));
        assert!(health.reachable && health.troubled());
        assert_eq!(*health.service("mariadb"), ActiveState::Activating);
        assert!(health.runs("keepalived") && !health.runs("mariadb"));
        assert_eq!(*health.service("haproxy"), ActiveState::Unknown);
        let galera = health.galera.as_ref().unwrap();
        assert_eq!(
            (&galera.cluster_status, &galera.local_state),
            (&ClusterStatus::NonPrimary, &LocalState::Joining)
        );
        assert_eq!(health.vips, ["10.0.2.100"]);
        let json = serde_json::to_value(&health).unwrap();
        assert_eq!(
            json["services"],
            serde_json::json!({"mariadb": "activating", "keepalived": "active"})
        );
        assert_eq!(json["galera"]["cluster_status"], "non-Primary");
        assert_eq!(json["galera"]["local_state_comment"], "Joining");
    }

    #[test]
    fn a_limited_summary_says_it_is_limited_and_what_it_leaves_out() {
        let inv = stack();
        let arg = crate::limit::parse("db").unwrap();
        let limit = crate::limit::Limit::resolve(&inv, &arg).unwrap();
        assert_eq!(limited_summary("healthy", None, 6), "healthy");
        let total = inv.hosts.len();
        let others = total - limit.hosts.len();
        assert_eq!(
            limited_summary("healthy", Some(&limit), total),
            format!("healthy within --limit db (db1, db2; {others} other hosts not judged)")
        );
        assert_eq!(
            limited_summary("degraded: db2: mariadb inactive", Some(&limit), total),
            format!(
                "degraded within --limit db (db1, db2; {others} other hosts not judged): db2: mariadb inactive"
            )
        );
    }

    #[test]
    fn an_unreachable_host_has_no_services_and_says_why() {
        let inv = stack();
        let health = host_health(&inv, "lb1", Err(anyhow!("no answer within 5 s")));
        assert!(!health.reachable && health.troubled() && !health.runs("haproxy"));
        assert!(health.services.is_empty());
        assert_eq!(health.error.as_deref(), Some("no answer within 5 s"));
        assert_eq!(health.roles, ["lb"]);
    }
}
