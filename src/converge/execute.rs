//! The executor: runs the typed steps the role planners produced, over the [`Host`] trait.
//! One function per kind of step; a step's contingencies (a join an interrupted run left
//! going, the node a crash recovery elects) are handled inside it, so the list of steps
//! `plan` showed is the list `up` runs.

use super::host::Host;
use super::session::gate;
use super::{Stack, commands, firewall};
use crate::galera::{self, NodePosition};
use crate::inventory::{Net, Role as HostRole, SstMethod, VipKind};
use crate::render::{FIREWALL_RULES, FIREWALL_UNIT};
use crate::roles::{BootstrapFrom, Gate, Step, UnitAction};
use anyhow::{Context, Result, bail};
use std::time::{Duration, Instant};

/// A node may take long to join: a full state transfer copies the whole dataset.
const JOIN_TIMEOUT: Duration = Duration::from_secs(crate::roles::galera::JOIN_TIMEOUT_SECS);
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a join left running by an interrupted run is given before it counts as stuck.
const INTERRUPTED_JOIN_TIMEOUT: Duration = Duration::from_secs(120);

/// What the run has learnt while running, which later steps of it need: the db nodes in the
/// Primary component (seeded from the facts, grown by bootstraps and joins), and the node a
/// bootstrap of this run started from.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    pub primary: Vec<String>,
    pub bootstrapped: Option<String>,
}

/// Why a unit action is taken, for the report line, where it is not obvious.
fn why(action: UnitAction, unit: &str) -> &'static str {
    match (action, unit) {
        (UnitAction::Enable, u) if u == format!("{FIREWALL_UNIT}.service") => {
            " (loads the rules at boot)"
        }
        (UnitAction::Disable, "mariadb.socket") => " (it holds port 3306)",
        _ => "",
    }
}

impl<H: Host> Stack<'_, H> {
    /// Run one step.
    pub(crate) async fn execute(&self, step: &Step) -> Result<()> {
        match step {
            Step::Install { host, packages } => self.install(host, packages).await,
            Step::LoadFirewall { host, reason } => self.load_firewall(host, reason).await,
            Step::Write { host, path, unit } => self.write(host, path, unit.as_deref()).await,
            Step::DaemonReload { host } => self.session(host).systemctl("daemon-reload", "").await,
            Step::Systemctl { host, action, unit } => {
                self.session(host).systemctl(action.verb(), unit).await?;
                self.changed(
                    host,
                    format!("{} {unit}{}", action.done(), why(*action, unit)),
                );
                if action.applies_files() {
                    self.applied(host, unit).await?;
                }
                Ok(())
            }
            Step::ApplySysctl { host } => {
                let apply = "[ \"$(cat /proc/sys/net/ipv4/ip_nonlocal_bind)\" = 1 ] || sysctl -q -p /etc/sysctl.d/60-minicloud.conf";
                self.session(host).must("applying sysctl", apply).await?;
                self.applied(host, "").await
            }
            Step::AwaitBootstrap { host } => self.await_bootstrap(host).await,
            Step::StopOutsidePrimary { host } => self.stop_outside_primary(host).await,
            Step::Bootstrap { from, .. } => self.bootstrap(from).await,
            Step::Join { host, interrupted } => self.join(host, *interrupted).await,
            Step::RollingRestart { host } => self.rolling_restart(host).await,
            Step::DrainDbVip { host } => self.drain_db_vip(host).await,
            Step::UndrainDbVip { host } => {
                self.session(host)
                    .must(
                        "letting the node hold the DB VIP again",
                        &commands::undrain_db_vip(),
                    )
                    .await?;
                Ok(())
            }
            Step::DatabaseUsers {
                host,
                apps,
                with_sst,
            } => {
                let on = self.primary_node(host);
                let apps: Vec<&str> = apps.iter().map(String::as_str).collect();
                self.database_users(&on, &apps, *with_sst).await
            }
            Step::SstPassword { host } => {
                let sql = commands::sst_auth(
                    crate::render::context::SST_USER,
                    &self.secrets.sst_password,
                );
                self.session(host)
                    .must_with_stdin(
                        "applying the SST password",
                        "mariadb --batch",
                        sql.as_bytes(),
                    )
                    .await?;
                self.changed(host, "applied the new SST password (no restart needed)");
                self.applied(host, "mariadb").await
            }
            Step::StartArbiter { host, restart } => {
                self.step(format!("{host}: garbd"));
                // garbd can only join a Primary component: the db tier is up by now.
                self.session(host).systemctl("enable", "garb").await?;
                self.session(host).systemctl("restart", "garb").await?;
                self.changed(
                    host,
                    if *restart {
                        "restarted garb"
                    } else {
                        "started garb"
                    },
                );
                self.applied(host, "garb").await
            }
            Step::RosterUser { host } => {
                self.step(format!("{host}: roster"));
                self.session(host)
                    .must("creating the roster user", commands::create_roster_user())
                    .await
                    .map(|_| ())
            }
            Step::CheckRoster { host } => {
                let version = self
                    .session(host)
                    .run(&format!("{} --version", crate::roles::desired::ROSTER_PATH))
                    .await?;
                if !version.success() {
                    bail!(
                        "{host}: the roster binary does not run there: {}; hint: ship a static build (scripts/lab.sh shows how)",
                        version.stderr_tail(3)
                    );
                }
                Ok(())
            }
            Step::SyncedFolders { host, paths } => {
                self.step(format!("{host}: file sync"));
                let mkdir = crate::shell::Argv::new("mkdir")
                    .args(["-p", "--"])
                    .args(paths.iter().cloned())
                    .to_string();
                self.session(host)
                    .must("creating the synced folders", &mkdir)
                    .await
                    .map(|_| ())
            }
            Step::UploadAerospike { host, to } => self.upload_aerospike(host, to).await,
            Step::InstallAerospike { host } => {
                let (package, kind) = self.aerospike_package()?;
                self.step(format!("{host}: installing Aerospike"));
                self.session(host)
                    .must_finish(
                        "installing the Aerospike server",
                        &super::aerospike::install_script(kind),
                    )
                    .await?;
                self.changed(
                    host,
                    format!("installed Aerospike from {}", package.display()),
                );
                Ok(())
            }
            Step::StartAerospike {
                host,
                restart,
                cluster_size,
            } => self.start_aerospike(host, *restart, *cluster_size).await,
            Step::Wait { host, gate } => self.wait(host, gate).await,
        }
    }

    /// Install packages (Debian's automatic service starts held).
    async fn install(&self, host: &str, packages: &[String]) -> Result<()> {
        let list: Vec<&str> = packages.iter().map(String::as_str).collect();
        self.step(format!("{host}: installing {}", list.join(" ")));
        let started = Instant::now();
        self.session(host)
            .must_finish("installing packages", &commands::install_packages(&list))
            .await?;
        self.host_work("package installation", started, true);
        self.changed(host, format!("installed {}", list.join(" ")));
        Ok(())
    }

    /// Upload one managed file; the change marker of the unit it feeds is set first.
    async fn write(&self, host: &str, path: &str, unit: Option<&str>) -> Result<()> {
        let file = self.files[host]
            .iter()
            .find(|f| f.path == path)
            .with_context(|| format!("{host}: no managed file {path}"))?;
        if let Some(unit) = unit {
            self.mark(host, unit).await?;
        }
        self.step(format!("{host}: writing {path}"));
        self.session(host).put(file).await?;
        self.changed(host, format!("wrote {path}"));
        Ok(())
    }

    /// The firewall's new rules, confirmed over a new connection.
    async fn load_firewall(&self, host: &str, reason: &str) -> Result<()> {
        let rules = self.files[host]
            .iter()
            .find(|f| f.path == FIREWALL_RULES)
            .expect("every host has firewall rules");
        let desired = crate::roles::firewall::desired_fingerprint(self.inv, host);
        self.step(format!("{host}: firewall ({reason})"));
        firewall::load_confirmed(
            self.session(host),
            &rules.content,
            &desired,
            Duration::from_secs(self.inv.firewall.dead_man_seconds),
        )
        .await?;
        self.changed(
            host,
            format!("loaded the firewall rules {desired} (confirmed over a new SSH connection)"),
        );
        Ok(())
    }

    /// The Primary node to run SQL on: `host` when it is in the Primary component (or none is
    /// known), else the first node that is.
    fn primary_node(&self, host: &str) -> String {
        let run = self.run.lock().expect("run lock");
        if run.primary.is_empty() || run.primary.iter().any(|h| h == host) {
            host.to_string()
        } else {
            run.primary[0].clone()
        }
    }

    /// Live Galera status of a db host (None when mariadb does not answer).
    async fn wsrep(&self, host: &str) -> Result<Option<galera::WsrepStatus>> {
        let out = self.session(host).run(&commands::wsrep_status()).await?;
        Ok(if out.success() {
            galera::parse_wsrep_status(&out.stdout_text())
        } else {
            None
        })
    }

    /// Gate state: None when `host` is Synced in a Primary component of at least `size` members.
    async fn size_state(&self, host: &str, size: u32) -> Result<Option<String>> {
        Ok(match self.wsrep(host).await? {
            Some(s) if s.is_synced_primary() && s.cluster_size >= size => None,
            Some(s) => Some(format!(
                "{host}: {} {} size {}{}",
                s.cluster_status,
                s.local_state,
                s.cluster_size,
                s.not_synced_hint()
                    .map(|hint| format!("; {hint}"))
                    .unwrap_or_default()
            )),
            None => Some(format!("{host}: mariadb not answering")),
        })
    }

    async fn wait_synced(&self, host: &str, size: u32, timeout: Duration) -> Result<()> {
        self.step(format!(
            "{host}: waiting until Synced in a Primary cluster of {size}"
        ));
        gate(
            &format!("{host} to be Synced in a Primary cluster of {size}"),
            timeout,
            || self.size_state(host, size),
        )
        .await
    }

    /// A bootstrap an earlier run started must finish, not be stopped as a stuck mariadb: wait
    /// for it; if it made a Primary component, that is the cluster to join.
    async fn await_bootstrap(&self, host: &str) -> Result<()> {
        if self.run.lock().expect("run lock").bootstrapped.is_some() {
            return Ok(());
        }
        let waited = self
            .session(host)
            .must(
                "waiting for an earlier run's Galera bootstrap",
                &commands::wait_for_bootstrap(BOOTSTRAP_TIMEOUT.as_secs()),
            )
            .await?;
        if waited.stdout_text().contains("waited") && self.size_state(host, 1).await?.is_none() {
            self.changed(
                host,
                "the Galera bootstrap an interrupted run started finished (Primary)",
            );
            self.applied(host, "mariadb").await?;
            self.bootstrapped(host);
        }
        Ok(())
    }

    /// Record that `host` started the new cluster.
    fn bootstrapped(&self, host: &str) {
        let mut run = self.run.lock().expect("run lock");
        run.primary.push(host.to_string());
        run.bootstrapped = Some(host.to_string());
    }

    async fn stop_outside_primary(&self, host: &str) -> Result<()> {
        if self.run.lock().expect("run lock").bootstrapped.is_some() {
            return Ok(());
        }
        self.step(format!(
            "{host}: stopping a mariadb that is not in a Primary component"
        ));
        self.session(host)
            .must("stopping mariadb", commands::kill_mariadb())
            .await?;
        self.changed(
            host,
            "stopped mariadb (running outside any Primary component)",
        );
        Ok(())
    }

    /// Start a new cluster from the most advanced node (elected now when positions had to be
    /// recovered first).
    async fn bootstrap(&self, from: &BootstrapFrom) -> Result<()> {
        if self.run.lock().expect("run lock").bootstrapped.is_some() {
            return Ok(());
        }
        let (host, why) = match from {
            BootstrapFrom::NewCluster { host } => (host.clone(), "new cluster".to_string()),
            BootstrapFrom::Known { host, seqno } => {
                (host.clone(), format!("most advanced node, seqno {seqno}"))
            }
            BootstrapFrom::AfterRecovery { recover } => self.elect(recover).await?,
        };
        self.step(format!("{host}: bootstrapping the Galera cluster ({why})"));
        let started = Instant::now();
        self.session(&host)
            .must_finish("bootstrapping Galera", &commands::bootstrap_cluster())
            .await?;
        self.wait_synced(&host, 1, BOOTSTRAP_TIMEOUT).await?;
        self.applied(&host, "mariadb").await?;
        self.host_work("MariaDB start (new cluster)", started, false);
        self.changed(&host, format!("bootstrapped the Galera cluster ({why})"));
        self.bootstrapped(&host);
        Ok(())
    }

    /// Recover the positions of `recover` (`--wsrep-recover`) and elect the most advanced node.
    async fn elect(&self, recover: &[String]) -> Result<(String, String)> {
        let mut positions = Vec::new();
        for host in self.hosts_with(HostRole::Db) {
            let grastate = self.facts[host].grastate.as_ref();
            let mut seqno = grastate.and_then(|g| (g.seqno >= 0).then_some(g.seqno));
            if recover.iter().any(|r| r == host) {
                self.step(format!(
                    "{host}: recovering the last committed position (--wsrep-recover)"
                ));
                let out = self.session(host).run(commands::wsrep_recover()).await?;
                seqno = galera::parse_recovered_position(&out.stdout_text()).map(|(_, s)| s);
            }
            positions.push(NodePosition {
                host: host.to_string(),
                seqno,
                safe_to_bootstrap: grastate.is_some_and(|g| g.safe_to_bootstrap),
                fresh: grastate.is_none(),
            });
        }
        let chosen = galera::choose_bootstrap(&positions)
            .map_err(|why| anyhow::anyhow!("cannot bootstrap Galera: {why}"))?;
        let why = match chosen.seqno {
            Some(seqno) => format!("most advanced node, seqno {seqno}"),
            None => "new cluster".to_string(),
        };
        Ok((chosen.host.clone(), why))
    }

    /// Bring `host` into the Primary component, gated on Synced.
    async fn join(&self, host: &str, interrupted: bool) -> Result<()> {
        if self
            .run
            .lock()
            .expect("run lock")
            .primary
            .iter()
            .any(|h| h == host)
        {
            // The node this run bootstrapped from.
            return Ok(());
        }
        if interrupted {
            self.step(format!(
                "{host}: waiting for the join an interrupted run started"
            ));
            let size = self.run.lock().expect("run lock").primary.len() as u32 + 1;
            let joined = gate(
                &format!("{host}'s join to finish"),
                INTERRUPTED_JOIN_TIMEOUT,
                || self.size_state(host, size),
            )
            .await;
            super::interrupt::refuse_after_ctrl_c(host, "joining the cluster")?;
            if joined.is_ok() {
                // Started (by the earlier run) after its config was written.
                self.applied(host, "mariadb").await?;
                self.run
                    .lock()
                    .expect("run lock")
                    .primary
                    .push(host.to_string());
                self.changed(
                    host,
                    format!(
                        "joined the Galera cluster (Synced, {size} db nodes; a join an \
                         interrupted run started)"
                    ),
                );
                return Ok(());
            }
            // Not there in time: stopped as stuck and joined below.
        }
        self.step(format!("{host}: joining the cluster"));
        let state = self.facts[host].unit("mariadb.service");
        if state.is_activating() || (state.is_active() && self.facts[host].wsrep.is_none()) {
            self.session(host)
                .must("stopping a stuck mariadb", commands::kill_mariadb())
                .await?;
        }
        let started = Instant::now();
        self.session(host).systemctl("restart", "mariadb").await?;
        let size = {
            let mut run = self.run.lock().expect("run lock");
            run.primary.push(host.to_string());
            run.primary.len() as u32
        };
        self.wait_synced(host, size, JOIN_TIMEOUT).await?;
        // Started after its config was written: the change is in effect on this node.
        self.applied(host, "mariadb").await?;
        self.host_work("Galera state transfer to joiners", started, false);
        self.changed(
            host,
            format!("joined the Galera cluster (Synced, {size} db nodes)"),
        );
        Ok(())
    }

    /// Keep `host` from holding the DB VIP; if it holds it, wait until exactly one other db
    /// host does and that host is Synced.
    async fn drain_db_vip(&self, host: &str) -> Result<()> {
        let Some(vip) = &self.inv.services.db_vip else {
            return Ok(());
        };
        let vip = vip.address.to_string();
        // Longer than a rolling restart may take: a run that dies meanwhile leaves a flag
        // that expires by itself.
        let seconds = JOIN_TIMEOUT.as_secs() + 300;
        self.step(format!("{host}: draining the DB VIP {vip}"));
        let db: Vec<String> = self
            .hosts_with(HostRole::Db)
            .into_iter()
            .map(str::to_string)
            .collect();
        let holds = self.vip_holders(&db, &vip).await?.iter().any(|h| h == host);
        if holds {
            // The wait the db-stop drill shares.
            super::vip_ready::another_holder_ready(
                self.inv,
                VipKind::Database,
                host,
                |other, command| async move {
                    Ok(self.session(&other).run(&command).await?.stdout_text())
                },
            )
            .await?;
        }
        self.session(host)
            .must("draining the DB VIP", &commands::drain_db_vip(seconds))
            .await?;
        if !holds {
            // It does not hold the VIP: the flag alone keeps it from taking it meanwhile.
            return Ok(());
        }
        gate(
            &format!("the DB VIP {vip} on a Synced db host other than {host}"),
            Duration::from_secs(30),
            || async {
                let holders = self.vip_holders(&db, &vip).await?;
                match &holders[..] {
                    [one] if one != host => Ok(self.size_state(one, 1).await?),
                    _ => Ok(Some(format!("held by {holders:?}"))),
                }
            },
        )
        .await?;
        self.changed(
            host,
            format!("drained the DB VIP {vip} (another Synced node holds it)"),
        );
        Ok(())
    }

    /// The db hosts among `db` that have `vip` now.
    async fn vip_holders(&self, db: &[String], vip: &str) -> Result<Vec<String>> {
        let mut holders = Vec::new();
        for host in db {
            let out = self.session(host).run("ip -o -4 addr show").await?;
            if crate::facts::parse_ipv4_addrs(&out.stdout_text())
                .iter()
                .any(|(_, a)| a == vip)
            {
                holders.push(host.clone());
            }
        }
        Ok(holders)
    }

    async fn rolling_restart(&self, host: &str) -> Result<()> {
        let size = self
            .wsrep(host)
            .await?
            .map(|s| s.cluster_size)
            .unwrap_or(self.hosts_with(HostRole::Db).len() as u32);
        self.step(format!("{host}: rolling restart"));
        // Once started it finishes on the host even if this run goes away: stopped between
        // the desync and the restart, the node would stay desynced.
        self.session(host)
            .must_finish(
                "desyncing and restarting MariaDB",
                &commands::desync_and_restart_galera_node(),
            )
            .await?;
        self.wait_synced(host, size, JOIN_TIMEOUT).await?;
        self.applied(host, "mariadb").await?;
        self.changed(host, "restarted mariadb (config changed), Synced again");
        Ok(())
    }

    /// The roster's database and the accounts of `app_hosts` (run on db host `host`), and the
    /// SST user when `with_sst` and mariabackup is used.
    pub(crate) async fn database_users(
        &self,
        host: &str,
        app_hosts: &[&str],
        with_sst: bool,
    ) -> Result<()> {
        let roster = &self.inv.services.roster;
        let apps: Vec<String> = app_hosts
            .iter()
            .filter_map(|h| self.inv.address(h, Net::Backend))
            .map(|a| a.to_string())
            .collect();
        let sst = (with_sst && self.inv.services.galera.sst_method == SstMethod::Mariabackup)
            .then_some((
                crate::render::context::SST_USER,
                self.secrets.sst_password.as_str(),
            ));
        let sql = commands::database_users(
            &roster.database,
            &roster.db_user,
            &apps,
            &self.secrets.roster_db_password,
            sst,
        );
        self.session(host)
            .must_with_stdin(
                "creating the roster database and users",
                "mariadb --batch",
                sql.as_bytes(),
            )
            .await?;
        let mut what = format!(
            "database {} and user {} for {}",
            roster.database,
            roster.db_user,
            if app_hosts.is_empty() {
                "no new app host".to_string()
            } else {
                app_hosts.join(", ")
            }
        );
        if sst.is_some() {
            what.push_str(", SST user");
        }
        self.changed(host, what);
        Ok(())
    }

    fn aerospike_package(
        &self,
    ) -> Result<(&std::path::Path, &crate::roles::aerospike::PackageKind)> {
        self.aerospike_package
            .as_ref()
            .map(|(path, kind)| (path.as_path(), kind))
            .context("no Aerospike package was checked for this run")
    }

    async fn upload_aerospike(&self, host: &str, to: &str) -> Result<()> {
        let (package, _) = self.aerospike_package()?;
        self.step(format!("{host}: uploading {}", package.display()));
        let bytes =
            std::fs::read(package).with_context(|| format!("reading {}", package.display()))?;
        let script = commands::put_file(
            to,
            0o600,
            "root",
            "root",
            None,
            &crate::roles::desired::sha256_hex(&bytes),
        );
        self.session(host)
            .must_with_stdin("uploading the Aerospike package", &script, &bytes)
            .await
            .map(|_| ())
    }

    async fn start_aerospike(&self, host: &str, restart: bool, cluster_size: usize) -> Result<()> {
        let session = self.session(host);
        let action = if restart { "restart" } else { "enable --now" };
        session.systemctl(action, "aerospike").await?;
        self.changed(
            host,
            if restart {
                "restarted aerospike"
            } else {
                "started aerospike"
            },
        );
        let address = self
            .inv
            .address(host, Net::Backend)
            .map(|a| a.to_string())
            .unwrap_or_default();
        let namespace = &self
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
        .await
    }

    /// Wait until a gate holds.
    async fn wait(&self, host: &str, gate_: &Gate) -> Result<()> {
        match gate_ {
            Gate::Http {
                what,
                address,
                port,
                path,
                timeout_secs,
            } => {
                self.session(host)
                    .wait_http_ok(
                        what,
                        address,
                        *port,
                        path,
                        Duration::from_secs(*timeout_secs),
                    )
                    .await
            }
            Gate::Synced { size, timeout_secs } => {
                self.wait_synced(host, *size, Duration::from_secs(*timeout_secs))
                    .await
            }
            Gate::DbVip { vip, db_hosts } => {
                self.step(format!("waiting for the DB VIP {vip} on a Synced node"));
                gate(
                    &format!("the DB VIP {vip} on exactly one Synced db host"),
                    Duration::from_secs(30),
                    || async {
                        let holders = self.vip_holders(db_hosts, vip).await?;
                        let holders: Vec<&str> = holders.iter().map(String::as_str).collect();
                        match holders[..] {
                            [one] => match self.size_state(one, 1).await? {
                                None => Ok(None),
                                Some(state) => {
                                    bail!("the DB VIP sits on {one}, which is not Synced ({state})")
                                }
                            },
                            _ => Ok(Some(format!("held by {holders:?}"))),
                        }
                    },
                )
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The executor over [`FakeHost`]s: which commands each step sends, in which order.

    use super::super::host::fake::FakeHost;
    use super::*;
    use crate::output::Progress;
    use crate::roles::fixtures::World;
    use crate::secrets::Secrets;
    use indexmap::IndexMap;

    const SYNCED_2: &str = "wsrep_cluster_status\tPrimary\nwsrep_cluster_size\t2\n\
                            wsrep_local_state_comment\tSynced\nwsrep_last_committed\t9\n";

    fn stack(world: &World) -> Stack<'_, FakeHost> {
        let hosts: IndexMap<String, FakeHost> = world
            .inv
            .hosts
            .keys()
            .map(|h| (h.clone(), FakeHost::new(h)))
            .collect();
        Stack::new(
            &world.inv,
            Secrets::masked(),
            hosts,
            world.files.clone(),
            world.facts.clone(),
            None,
            crate::limit::Scope::everything(),
            world.pending.clone(),
            Progress::start(),
            None,
        )
    }

    #[tokio::test]
    async fn a_join_restarts_the_node_waits_for_synced_then_clears_its_marker() {
        let mut world = World::converged("inventory/example.yml");
        world
            .unit("db2", "mariadb.service", "inactive")
            .wsrep("db2", None)
            .pending("db2", "mariadb");
        let stack = stack(&world);
        stack.run.lock().unwrap().primary = vec!["db1".into()];
        stack
            .session("db2")
            .answer("SHOW GLOBAL STATUS", 0, SYNCED_2);
        stack
            .execute(&Step::Join {
                host: "db2".into(),
                interrupted: false,
            })
            .await
            .unwrap();
        let scripts = stack.session("db2").scripts();
        assert_eq!(scripts[0], "systemctl restart mariadb");
        assert!(scripts[1].contains("SHOW GLOBAL STATUS"), "{scripts:?}");
        assert_eq!(
            scripts.last().unwrap(),
            "rm -f /var/lib/minicloud/pending/mariadb"
        );
        let report = stack.into_report(Ok(()));
        assert_eq!(
            report.changes["db2"],
            ["joined the Galera cluster (Synced, 2 db nodes)"]
        );
    }

    #[tokio::test]
    async fn a_write_sets_the_marker_first_and_the_reload_clears_it() {
        let mut world = World::converged("inventory/example.yml");
        world.change_file("lb1", "/etc/haproxy/haproxy.cfg");
        let stack = stack(&world);
        let steps = crate::roles::plan_phases(&stack.ctx())
            .unwrap()
            .into_iter()
            .find(|(role, _)| role.phase == "lb tier")
            .unwrap()
            .1;
        stack.session("lb2").answer("GET /healthz", 0, "200\n");
        stack.run_steps(0, &steps, false).await.unwrap();
        let scripts = stack.session("lb1").scripts();
        assert_eq!(
            scripts[0],
            "mkdir -p /var/lib/minicloud/pending && touch /var/lib/minicloud/pending/haproxy"
        );
        assert!(
            scripts[1].contains("/etc/haproxy/haproxy.cfg"),
            "{scripts:?}"
        );
        assert_eq!(scripts[2], "systemctl reload haproxy");
        assert_eq!(scripts[3], "rm -f /var/lib/minicloud/pending/haproxy");
        let stdin: Vec<usize> = stack
            .session("lb1")
            .ran
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.stdin)
            .collect();
        assert!(stdin[1] > 0, "the file goes on stdin");
        let report = stack.into_report(Ok(()));
        assert_eq!(report.steps, steps, "every planned step ran, in order");
        assert_eq!(
            report.changes["lb1"],
            ["wrote /etc/haproxy/haproxy.cfg", "reloaded haproxy"]
        );
    }

    #[tokio::test]
    async fn a_bootstrap_after_recovery_elects_the_most_advanced_node() {
        let mut world = World::converged("inventory/example.yml");
        for db in ["db1", "db2"] {
            world
                .unit(db, "mariadb.service", "inactive")
                .wsrep(db, None);
        }
        world
            .grastate("db1", Some(-1), false)
            .grastate("db2", Some(7), true);
        let stack = stack(&world);
        stack.session("db1").answer(
            "--wsrep-recover",
            0,
            "[Note] WSREP: Recovered position: u:12\n",
        );
        let synced_1 = SYNCED_2.replace("size\t2", "size\t1");
        stack
            .session("db1")
            .answer("SHOW GLOBAL STATUS", 0, &synced_1);
        stack
            .execute(&Step::Bootstrap {
                host: "db1".into(),
                from: BootstrapFrom::AfterRecovery {
                    recover: vec!["db1".into()],
                },
            })
            .await
            .unwrap();
        assert!(
            stack
                .session("db1")
                .scripts()
                .iter()
                .any(|s| s.contains("galera_new_cluster")),
            "db1 (seqno 12) is ahead of db2 (7)"
        );
        assert!(stack.session("db2").scripts().is_empty());
        // The node it started from has nothing to join.
        stack
            .execute(&Step::Join {
                host: "db1".into(),
                interrupted: false,
            })
            .await
            .unwrap();
        let report = stack.into_report(Ok(()));
        assert_eq!(
            report.changes["db1"],
            ["bootstrapped the Galera cluster (most advanced node, seqno 12)"]
        );
    }

    #[tokio::test]
    async fn a_drain_waits_until_another_synced_node_holds_the_db_vip() {
        let world = World::converged("inventory/example.yml");
        let stack = stack(&world);
        let vip = world
            .inv
            .services
            .db_vip
            .as_ref()
            .unwrap()
            .address
            .to_string();
        // db1 holds it when the drain starts; then db2 has it.
        let held = format!("2: eth0    inet {vip}/24 scope global eth0\n");
        stack
            .session("db1")
            .answer_once("ip -o -4 addr show", 0, &held);
        stack.session("db2").answer(
            "ip -o -4 addr show",
            0,
            &format!("2: eth0    inet {vip}/24 scope global eth0\n"),
        );
        stack
            .session("db2")
            .answer("SHOW GLOBAL STATUS", 0, SYNCED_2);
        stack
            .session("db2")
            .answer("keepalived.data", 0, &keepalived_dump("BACKUP"));
        stack
            .execute(&Step::DrainDbVip { host: "db1".into() })
            .await
            .unwrap();
        let db1 = stack.session("db1").scripts();
        let flag = db1
            .iter()
            .find(|s| s.contains("db-vip-drain"))
            .unwrap_or_else(|| panic!("no flag: {db1:?}"));
        assert!(
            flag.starts_with("mkdir -p /run/minicloud && echo $(( $(date +%s) + 900 ))"),
            "{db1:?}"
        );
        assert!(flag.ends_with("/run/minicloud/db-vip-drain"), "{db1:?}");
        let report = stack.into_report(Ok(()));
        assert_eq!(
            report.changes["db1"],
            [format!(
                "drained the DB VIP {vip} (another Synced node holds it)"
            )]
        );
    }

    /// keepalived's data dump, cut to what the drain reads, with the DB VIP's instance in `state`.
    fn keepalived_dump(state: &str) -> String {
        format!(
            "------< VRRP Topology >------\n VRRP Instance = database\n   VRRP Version = 3\n   \
             State = {state}\n   Wantstate = BACKUP\n------< VRRP Scripts >------\n"
        )
    }

    /// The holder is not drained while the only other node's keepalived is in FAULT (just
    /// rejoined, its check not yet passed `rise` times): that left the VIP with nobody for
    /// 2.1 s on the lab. The flag goes down only once the other node is BACKUP.
    #[tokio::test]
    async fn the_holder_is_drained_only_once_another_node_can_take_the_db_vip() {
        let world = World::converged("inventory/example.yml");
        let stack = stack(&world);
        let vip = world.inv.services.db_vip.as_ref().unwrap().address;
        let held = format!("2: eth0    inet {vip}/24 scope global eth0\n");
        stack
            .session("db1")
            .answer_once("ip -o -4 addr show", 0, &held);
        stack.session("db2").answer("ip -o -4 addr show", 0, "");
        stack
            .session("db2")
            .answer("keepalived.data", 0, &keepalived_dump("BACKUP"));
        stack
            .session("db2")
            .answer_once("keepalived.data", 0, &keepalived_dump("FAULT"));
        stack
            .session("db2")
            .answer("SHOW GLOBAL STATUS", 0, SYNCED_2);
        let drain = Step::DrainDbVip { host: "db1".into() };
        let run = stack.execute(&drain);
        let checked = async {
            // The first look saw FAULT: no flag yet on db1.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let db1 = stack.session("db1").scripts();
            assert!(!db1.iter().any(|s| s.contains("db-vip-drain")), "{db1:?}");
            stack.session("db2").answer("ip -o -4 addr show", 0, &held);
        };
        let (result, ()) = tokio::join!(run, checked);
        result.unwrap();
        let db2 = stack.session("db2").scripts();
        assert_eq!(
            db2.iter().filter(|s| s.contains("keepalived.data")).count(),
            2,
            "FAULT, then BACKUP: {db2:?}"
        );
        let db1 = stack.session("db1").scripts();
        assert!(db1.iter().any(|s| s.contains("db-vip-drain")), "{db1:?}");
    }

    /// A node that stops on purpose is desynced first: a synced node shutting down paused
    /// every writer for 2-3 s on the lab (its flow control), a desynced one does not. Both in
    /// one command that finishes on the host: a run killed between them left the node
    /// Donor/Desynced (found by tests/interrupted.rs).
    #[tokio::test]
    async fn a_rolling_restart_desyncs_the_node_before_it_stops() {
        let world = World::converged("inventory/example.yml");
        let stack = stack(&world);
        stack
            .session("db1")
            .answer("SHOW GLOBAL STATUS", 0, SYNCED_2);
        stack
            .execute(&Step::RollingRestart { host: "db1".into() })
            .await
            .unwrap();
        let db1 = stack.session("db1").scripts();
        let restart = db1
            .iter()
            .find(|s| s.contains("restart mariadb"))
            .unwrap_or_else(|| panic!("no restart: {db1:?}"));
        assert!(restart.starts_with("(must finish) "), "{restart}");
        let desync = restart
            .find("SET GLOBAL wsrep_desync = ON")
            .unwrap_or_else(|| panic!("no desync in the restart's command: {restart}"));
        assert!(
            desync < restart.find("restart mariadb").unwrap(),
            "{restart}"
        );
        assert_eq!(
            db1.iter().filter(|s| s.contains("wsrep_desync")).count(),
            1,
            "no desync on its own: {db1:?}"
        );
    }

    #[tokio::test]
    async fn a_node_that_does_not_hold_the_db_vip_is_only_flagged() {
        let world = World::converged("inventory/example.yml");
        let stack = stack(&world);
        stack
            .execute(&Step::DrainDbVip { host: "db2".into() })
            .await
            .unwrap();
        let db2 = stack.session("db2").scripts();
        assert!(db2[1].contains("/run/minicloud/db-vip-drain"), "{db2:?}");
        assert_eq!(
            db2.len(),
            2,
            "one look at the VIP, the flag, no wait: {db2:?}"
        );
        assert!(stack.into_report(Ok(())).changes["db2"].is_empty());
    }

    #[tokio::test]
    async fn a_failed_step_names_the_host_and_stops_the_phase() {
        let mut world = World::converged("inventory/example.yml");
        world.unit("app1", "roster.service", "inactive");
        world.unit("app2", "roster.service", "inactive");
        let stack = stack(&world);
        stack.session("app1").answer("enable --now roster", 1, "");
        let steps = crate::roles::plan_phases(&stack.ctx())
            .unwrap()
            .into_iter()
            .find(|(role, _)| role.phase == "app tier")
            .unwrap()
            .1;
        let err = stack.run_steps(0, &steps, false).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("app1: systemctl enable --now roster failed"),
            "{err}"
        );
        assert!(
            stack.session("app2").scripts().is_empty(),
            "app2 is never touched"
        );
    }
}
