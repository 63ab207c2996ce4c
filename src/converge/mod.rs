//! `minicloud up` and `minicloud plan`: bring hosts in line with the inventory, touching only
//! what differs, in the order that keeps quorum. The orchestration (which hosts, in which order,
//! and the gate that must hold before going on) lives here; what to change on one host comes
//! from `desired`, how to run it from `commands` and `session`, the db tier from `db`.
//!
//! Order: connect to every host and read its facts (no change yet; any unreachable host stops
//! everything here) → packages → firewall (dead-man switch) → db tier (bootstrap or join one
//! node at a time, DB VIP) → arbiters → app tier (rolling) → lb tier (backup before the VIP
//! holder) → the VIP answers.

mod aerospike;
pub mod commands;
mod db;
pub mod desired;
pub mod firewall;
pub mod interrupt;
pub mod lock;
pub mod session;

use crate::facts::HostFacts;
use crate::inventory::{Inventory, Role};
use crate::output::Progress;
use crate::render;
use crate::secrets::Secrets;
use crate::ssh::{self, Connection};
use anyhow::{Context, Result, bail};
use desired::{FileChange, HostDiff, Managed};
use futures_util::future::try_join_all;
use futures_util::{StreamExt, TryStreamExt};
use indexmap::IndexMap;
use serde::Serialize;
use session::{Session, gate};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to run `up` / `plan`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub accept_new_host_keys: bool,
    /// How long to wait for a host another run holds before giving up.
    pub lock_wait: Duration,
    /// The roster binary to ship; default: `roster` beside this executable.
    pub roster_binary: Option<PathBuf>,
}

/// What `up` did, per host.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    /// Host → the changes made there, in order.
    pub changes: IndexMap<String, Vec<String>>,
    /// The host and step that failed, if one did.
    pub failed: Option<String>,
    /// Wall time of each phase in seconds, in the order they ran.
    pub phase_seconds: IndexMap<String, f64>,
    /// Seconds spent waiting on work the hosts themselves do, which any tool would wait for
    /// (package installation on the slowest host, a new Galera cluster starting, joiners'
    /// state transfer): the rest of `phase_seconds` is minicloud's own overhead.
    pub host_work_seconds: IndexMap<String, f64>,
}

impl Report {
    pub fn changed_hosts(&self) -> usize {
        self.changes.values().filter(|c| !c.is_empty()).count()
    }
}

/// Everything one `up` run works with.
pub(crate) struct Stack<'a> {
    pub inv: &'a Inventory,
    pub secrets: Secrets,
    pub sessions: IndexMap<String, Session>,
    pub files: IndexMap<String, Vec<Managed>>,
    pub facts: IndexMap<String, HostFacts>,
    pub diffs: IndexMap<String, HostDiff>,
    /// The Aerospike server package (when there are aerospike hosts), checked before any change.
    pub aerospike_package: Option<(PathBuf, aerospike::PackageKind)>,
    /// Per host, the units a stopped run wrote files for but may not have restarted or
    /// reloaded (their markers, see [`commands::PENDING_DIR`]): applied again in this run.
    pub pending: IndexMap<String, Vec<String>>,
    /// (host, unit) markers set or found in this run, removed once the change is applied.
    marked: Mutex<Vec<(String, String)>>,
    report: Mutex<Report>,
    progress: Progress,
    /// Held for the whole run: no other `up` acts on these hosts meanwhile (None for `plan`,
    /// which changes nothing and so neither takes the lock nor waits for it).
    _locks: Option<lock::RunLocks>,
}

impl Stack<'_> {
    /// Record (and show) a change on a host.
    pub fn changed(&self, host: &str, what: impl Into<String>) {
        let what = what.into();
        tracing::info!(host, "changed: {what}");
        self.progress.println(format!("  {host}: {what}"));
        self.report
            .lock()
            .expect("report lock")
            .changes
            .entry(host.to_string())
            .or_default()
            .push(what);
    }

    /// Record how long a phase took.
    pub fn timed(&self, phase: &str, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        self.report
            .lock()
            .expect("report lock")
            .phase_seconds
            .insert(phase.to_string(), seconds);
    }

    /// Record time spent waiting on a host's own work: kept as the longest of parallel waits
    /// (`longest`) or added up for waits one after another.
    pub fn host_work(&self, what: &str, started: Instant, longest: bool) {
        let seconds = started.elapsed().as_secs_f64();
        let mut report = self.report.lock().expect("report lock");
        let total = report
            .host_work_seconds
            .entry(what.to_string())
            .or_default();
        *total = if longest {
            total.max(seconds)
        } else {
            *total + seconds
        };
    }

    pub fn step(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!("step: {message}");
        self.progress.set_message(message);
    }

    pub fn session(&self, host: &str) -> &Session {
        &self.sessions[host]
    }

    pub fn hosts_with(&self, role: Role) -> Vec<&str> {
        self.inv.hosts_with(role)
    }

    /// Files of `host` that differ from its facts and feed `unit`, or any when `unit` is None.
    pub fn changed_files(&self, host: &str, unit: Option<&str>) -> Vec<&Managed> {
        self.diffs[host]
            .files
            .iter()
            .map(|(f, _)| f)
            .filter(|f| unit.is_none_or(|u| f.unit == u))
            .collect()
    }

    /// Upload `host`'s differing files that feed `unit`; returns whether any was written, or
    /// an earlier run's were and may not be applied yet (its marker). A systemd unit file among
    /// them is followed by a daemon-reload, so systemd sees it. The marker is set before the
    /// first file is written and removed by [`Stack::applied`].
    pub async fn put_changed(&self, host: &str, unit: &str) -> Result<bool> {
        let files = self.changed_files(host, Some(unit));
        // Aerospike's restarts are planned from its files alone (see `aerospike::plan`).
        let tracked = unit != "aerospike";
        let pending = tracked
            && self.pending[host]
                .iter()
                .any(|u| u == commands::pending_marker(unit));
        if tracked && (pending || !files.is_empty()) {
            if !pending {
                self.session(host)
                    .must("recording a change to apply", &commands::mark_pending(unit))
                    .await?;
            }
            self.marked
                .lock()
                .expect("marked lock")
                .push((host.to_string(), unit.to_string()));
        }
        for file in &files {
            self.step(format!("{host}: writing {}", file.path));
            self.session(host).put(file).await?;
            self.changed(host, format!("wrote {}", file.path));
        }
        if files
            .iter()
            .any(|f| f.path.starts_with("/etc/systemd/system/"))
        {
            self.session(host).systemctl("daemon-reload", "").await?;
        }
        Ok(!files.is_empty() || pending)
    }

    /// The change to `unit` on `host` is applied (restarted, reloaded, started): its marker
    /// goes, if this run set or found one.
    pub async fn applied(&self, host: &str, unit: &str) -> Result<()> {
        let found = {
            let mut marked = self.marked.lock().expect("marked lock");
            let before = marked.len();
            marked.retain(|(h, u)| !(h == host && u == unit));
            marked.len() != before
        };
        if found {
            self.session(host)
                .must(
                    "recording the change as applied",
                    &commands::clear_pending(unit),
                )
                .await?;
        }
        Ok(())
    }

    /// Start a unit that is not running, or apply changed inputs with `on_change` (reload or restart).
    pub async fn ensure_unit(
        &self,
        host: &str,
        unit: &str,
        changed: bool,
        on_change: &str,
    ) -> Result<()> {
        let state = self.facts[host].unit(&format!("{unit}.service"));
        let session = self.session(host);
        if !state.is_active() {
            session.systemctl("enable --now", unit).await?;
            self.changed(host, format!("started {unit}"));
        } else if changed {
            session.systemctl(on_change, unit).await?;
            self.changed(host, format!("{on_change}ed {unit}"));
        }
        if !state.is_enabled() && state.is_active() {
            session.systemctl("enable", unit).await?;
            self.changed(host, format!("enabled {unit}"));
        }
        self.applied(host, unit).await
    }
}

/// The SSH target of an inventory host: its frontend address if it has one, else its backend one.
pub fn ssh_target(inv: &Inventory, host: &str, accept_new: bool) -> ssh::Target {
    let entry = &inv.hosts[host];
    let address = entry
        .addresses
        .frontend
        .or(entry.addresses.backend)
        .expect("validated: a host has an address");
    let home_known_hosts = PathBuf::from("~/.ssh/known_hosts");
    ssh::Target {
        name: host.to_string(),
        address: address.to_string(),
        port: entry.ssh.port.unwrap_or(inv.ssh.port),
        user: entry.ssh.user.as_ref().unwrap_or(&inv.ssh.user).to_string(),
        key: entry.ssh.key.clone().or_else(|| inv.ssh.key.clone()),
        known_hosts: inv.ssh.known_hosts.clone().unwrap_or(home_known_hosts),
        accept_new_host_key: accept_new,
        connect_timeout: Duration::from_secs(10),
    }
}

fn roster_binary(opts: &Options) -> Result<Arc<Vec<u8>>> {
    let path = match (
        &opts.roster_binary,
        std::env::var_os("MINICLOUD_ROSTER_BIN"),
    ) {
        (Some(path), _) => path.clone(),
        (None, Some(path)) => PathBuf::from(path),
        (None, None) => std::env::current_exe()?.with_file_name("roster"),
    };
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "cannot read the roster binary to ship ({}); hint: build it (cargo build --bin roster, or the static \
             build scripts/lab.sh makes) and pass --roster-binary PATH or set MINICLOUD_ROSTER_BIN",
            path.display()
        )
    })?;
    Ok(Arc::new(bytes))
}

/// Connect to every host, take the run lock on each when `take_lock` (`up`; never `plan`), and
/// read its facts: nothing changes on any host before all answer.
async fn prepare<'a>(
    inv: &'a Inventory,
    inventory_path: &Path,
    opts: &Options,
    take_lock: bool,
    progress: Progress,
    load_secrets: impl FnOnce(&Path) -> Result<Secrets>,
) -> Result<Stack<'a>> {
    let aerospike_package = aerospike::package_file(inv, inventory_path)?;
    // Hashed once: every app host gets the same binary.
    let binary = if inv.hosts_with(Role::App).is_empty() {
        None
    } else {
        Some(Managed::roster_binary(roster_binary(opts)?))
    };
    // After every local check: `up` may write the secrets file, and a run refused by a check
    // changes nothing, not even that.
    let secrets = load_secrets(&crate::secrets::secrets_path(inventory_path))?;
    let rendered = render::render_all(inv, &secrets)?;
    let mut files: IndexMap<String, Vec<Managed>> = IndexMap::new();
    for (host, host_files) in &rendered {
        let mut managed: Vec<Managed> = host_files.iter().map(Managed::from_rendered).collect();
        if let Some(binary) = &binary
            && inv.hosts[host].has(Role::App)
        {
            managed.insert(0, binary.clone());
        }
        files.insert(host.clone(), managed);
    }
    progress.set_message(format!("connecting to {} hosts", inv.hosts.len()));
    let connections = try_join_all(inv.hosts.keys().map(|host| async move {
        let conn = Connection::open(&ssh_target(inv, host, opts.accept_new_host_keys)).await?;
        Ok::<_, anyhow::Error>((host.clone(), Session::new(host, conn)))
    }))
    .await
    .context("nothing was changed on any host")?;
    let sessions: IndexMap<String, Session> = connections.into_iter().collect();
    let locks = if take_lock {
        progress.set_message("taking the run lock on every host");
        Some(lock::lock_all(&sessions, opts.lock_wait).await?)
    } else {
        None
    };
    progress.set_message("reading facts");
    let facts: Vec<(String, HostFacts)> = try_join_all(sessions.iter().map(|(host, session)| {
        let files = &files[host];
        async move {
            Ok::<_, anyhow::Error>((host.clone(), read_facts(inv, host, session, files).await?))
        }
    }))
    .await
    .context("nothing was changed on any host")?;
    let facts: IndexMap<String, HostFacts> = facts.into_iter().collect();
    let pending: IndexMap<String, Vec<String>> =
        try_join_all(sessions.iter().map(|(host, session)| async move {
            let out = session
                .must_in_step("reading changes to apply", &commands::list_pending())
                .await?;
            let units = out.stdout_text().lines().map(str::to_string).collect();
            Ok::<_, anyhow::Error>((host.clone(), units))
        }))
        .await
        .context("nothing was changed on any host")?
        .into_iter()
        .collect();
    for (host, host_facts) in &facts {
        crate::platform::check(host, &host_facts.os).map_err(anyhow::Error::msg)?;
        if host_facts.arch != crate::platform::ROSTER_ARCH
            && binary.is_some()
            && inv.hosts[host].has(Role::App)
        {
            bail!(
                "{host} is {}: the roster binary is built for {}; nothing was changed",
                host_facts.arch,
                crate::platform::ROSTER_ARCH
            );
        }
    }
    let diffs = facts
        .iter()
        .map(|(host, f)| (host.clone(), desired::host_diff(inv, host, &files[host], f)))
        .collect();
    let stack = Stack {
        inv,
        secrets,
        sessions,
        files,
        facts,
        diffs,
        aerospike_package,
        pending,
        marked: Mutex::new(Vec::new()),
        report: Mutex::new(Report::default()),
        progress,
        _locks: locks,
    };
    firewall::check_ssh_source(&stack).await?;
    Ok(stack)
}

async fn read_facts(
    inv: &Inventory,
    host: &str,
    session: &Session,
    files: &[Managed],
) -> Result<HostFacts> {
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    session
        .facts(
            &desired::packages(inv, host),
            &paths,
            &desired::units(inv, host),
        )
        .await
}

/// A spinner on a terminal, `HOST: step (elapsed)` lines elsewhere.
fn spinner() -> Progress {
    Progress::start()
}

/// Converge every host to the inventory. On failure the report says what was done before it.
pub async fn up(inv: &Inventory, inventory_path: &Path, opts: &Options) -> Result<Report> {
    let progress = spinner();
    let started = Instant::now();
    let prepared = prepare(
        inv,
        inventory_path,
        opts,
        true,
        progress.clone(),
        Secrets::load_or_generate,
    )
    .await;
    let mut stack = match prepared {
        Ok(stack) => stack,
        // Ctrl-C while connecting or reading: nothing was changed, and that is the report
        // (a stop the user asked for, not an error of a host).
        Err(err) if interrupt::requested() => {
            progress.finish_and_clear();
            return Ok(Report {
                changes: inv.hosts.keys().map(|h| (h.clone(), Vec::new())).collect(),
                failed: Some(format!("{err:#}")),
                ..Report::default()
            });
        }
        Err(err) => return Err(err),
    };
    stack.timed("connect and read facts", started);
    let started = Instant::now();
    let outcome = match install_packages(&mut stack).await {
        Ok(()) => {
            stack.timed("packages", started);
            converge(&stack).await
        }
        Err(err) => Err(err),
    };
    progress.finish_and_clear();
    let mut report = stack.report.into_inner().expect("report lock");
    // Hosts in inventory order, whatever order their changes happened in.
    report.changes = inv
        .hosts
        .keys()
        .map(|h| (h.clone(), report.changes.swap_remove(h).unwrap_or_default()))
        .collect();
    if let Err(err) = outcome {
        report.failed = Some(format!("{err:#}"));
    }
    Ok(report)
}

async fn converge(stack: &Stack<'_>) -> Result<()> {
    let started = Instant::now();
    firewall::converge(stack).await?;
    stack.timed("firewall", started);
    let started = Instant::now();
    apply_sysctl(stack).await?;
    stack.timed("sysctl", started);
    if !stack.hosts_with(Role::Db).is_empty() {
        let started = Instant::now();
        db::converge_db(stack).await?;
        stack.timed("db tier", started);
        let started = Instant::now();
        converge_arbiters(stack).await?;
        stack.timed("arbiters", started);
    }
    if !stack.hosts_with(Role::Aerospike).is_empty() {
        let started = Instant::now();
        aerospike::converge(stack).await?;
        stack.timed("aerospike tier", started);
    }
    let started = Instant::now();
    converge_apps(stack).await?;
    stack.timed("app tier", started);
    if stack.inv.services.file_sync.is_some() {
        let started = Instant::now();
        converge_file_sync(stack).await?;
        stack.timed("file sync", started);
    }
    let started = Instant::now();
    converge_frontend(stack).await?;
    stack.timed("lb tier", started);
    Ok(())
}

/// Package installations running at once.
const PARALLEL_INSTALLS: usize = 16;

/// Install what is missing, then read those hosts' facts again: the packages brought units
/// (enabled by Debian) and default files that every later decision must see.
async fn install_packages(stack: &mut Stack<'_>) -> Result<()> {
    let stack_ref = &*stack;
    // Bounded: dpkg is CPU and disk work, and many hosts at once only queue on the machine(s).
    let installed: Vec<(String, HostFacts)> = futures_util::stream::iter(
        stack_ref
            .diffs
            .iter()
            .filter(|(_, d)| !d.packages.is_empty())
            .map(|(host, diff)| async move {
                stack_ref.step(format!("{host}: installing {}", diff.packages.join(" ")));
                let session = stack_ref.session(host);
                let started = Instant::now();
                session
                    .must_finish(
                        "installing packages",
                        &commands::install_packages(&diff.packages),
                    )
                    .await?;
                stack_ref.host_work("package installation", started, true);
                stack_ref.changed(host, format!("installed {}", diff.packages.join(" ")));
                let facts =
                    read_facts(stack_ref.inv, host, session, &stack_ref.files[host]).await?;
                Ok::<_, anyhow::Error>((host.clone(), facts))
            }),
    )
    .buffer_unordered(PARALLEL_INSTALLS)
    .try_collect()
    .await?;
    for (host, facts) in installed {
        let diff = desired::host_diff(stack.inv, &host, &stack.files[&host], &facts);
        stack.diffs.insert(host.clone(), diff);
        stack.facts.insert(host, facts);
    }
    Ok(())
}

/// Hosts that may have to bind a VIP they do not hold need net.ipv4.ip_nonlocal_bind=1; the
/// running value is changed only when it is not already 1.
async fn apply_sysctl(stack: &Stack<'_>) -> Result<()> {
    try_join_all(stack.sessions.keys().map(|host| async move {
        if stack.put_changed(host, "").await? {
            let apply = "[ \"$(cat /proc/sys/net/ipv4/ip_nonlocal_bind)\" = 1 ] || sysctl -q -p /etc/sysctl.d/60-minicloud.conf";
            stack.session(host).must("applying sysctl", apply).await?;
            stack.applied(host, "").await?;
        }
        Ok::<_, anyhow::Error>(())
    }))
    .await?;
    Ok(())
}

async fn converge_arbiters(stack: &Stack<'_>) -> Result<()> {
    let arbiters = stack.hosts_with(Role::Arbiter);
    if arbiters.is_empty() {
        return Ok(());
    }
    let expected = (stack.hosts_with(Role::Db).len() + arbiters.len()) as u32;
    let db1 = stack.hosts_with(Role::Db)[0];
    // Every db node runs by now: a cluster short of full size is missing an arbiter, e.g. a
    // garbd that came up with its host during an outage and waits on a cluster that is gone.
    let short = db::size_state(stack, db1, expected).await?.is_some();
    let mut touched = false;
    for host in &arbiters {
        stack.step(format!("{host}: garbd"));
        let changed = stack.put_changed(host, "garb").await?;
        let active = stack.facts[*host].unit("garb.service").is_active();
        if changed || !active || short {
            // garbd can only join a Primary component: the db tier is up by now.
            stack.session(host).systemctl("enable", "garb").await?;
            stack.session(host).systemctl("restart", "garb").await?;
            stack.changed(
                host,
                if active {
                    "restarted garb"
                } else {
                    "started garb"
                },
            );
            touched = true;
        }
    }
    if touched {
        gate(
            &format!("Galera cluster size {expected} (db hosts + arbiters)"),
            Duration::from_secs(60),
            || db::size_state(stack, db1, expected),
        )
        .await?;
    }
    for host in &arbiters {
        stack.applied(host, "garb").await?;
    }
    Ok(())
}

/// App hosts one at a time: each must answer /healthz before the next is touched.
async fn converge_apps(stack: &Stack<'_>) -> Result<()> {
    let apps = stack.hosts_with(Role::App);
    let port = stack.inv.services.roster.port;
    for host in &apps {
        let session = stack.session(host);
        stack.step(format!("{host}: roster"));
        if !stack.changed_files(host, Some("roster")).is_empty() {
            session.must("creating the roster user", "id roster >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin roster").await?;
        }
        // A changed environment may carry a new database password: this host's account gets
        // it now, just before the host restarts with it (the other hosts keep theirs meanwhile).
        let env_changed = stack
            .changed_files(host, Some("roster"))
            .iter()
            .any(|f| f.secret && stack.facts[*host].files.contains_key(&f.path));
        if env_changed && let Some(db1) = stack.hosts_with(Role::Db).first() {
            db::database_users(stack, db1, &[host], false).await?;
        }
        let changed = stack.put_changed(host, "roster").await?;
        if changed {
            let version = session
                .run(&format!("{} --version", desired::ROSTER_PATH))
                .await?;
            if !version.success() {
                bail!(
                    "{host}: the roster binary does not run there: {}; hint: ship a static build (scripts/lab.sh shows how)",
                    version.stderr_tail(3)
                );
            }
        }
        stack
            .ensure_unit(host, "roster", changed, "restart")
            .await?;
        if changed || !stack.facts[*host].unit("roster.service").is_active() {
            let listen = render::context::roster_listen_address(stack.inv, host).to_string();
            session
                .wait_http_ok(
                    &format!("{host}'s roster to answer /healthz"),
                    &listen,
                    port,
                    "/healthz",
                    Duration::from_secs(30),
                )
                .await?;
        }
        if env_changed {
            session
                .wait_http_ok(
                    &format!(
                        "{host}'s roster to reach its database with its new settings (/readyz)"
                    ),
                    &render::context::roster_listen_address(stack.inv, host).to_string(),
                    port,
                    "/readyz",
                    Duration::from_secs(60),
                )
                .await?;
        }
    }
    if let Some(first) = apps.first()
        && stack
            .report
            .lock()
            .expect("report lock")
            .changes
            .values()
            .any(|c| !c.is_empty())
    {
        let listen = render::context::roster_listen_address(stack.inv, first).to_string();
        let session = stack.session(first);
        session
            .wait_http_ok(
                &format!("{first}'s roster to reach its database (/readyz)"),
                &listen,
                port,
                "/readyz",
                Duration::from_secs(90),
            )
            .await?;
    }
    Ok(())
}

/// lsyncd on every app host: first every host's folders, key and authorized key (so no host
/// pushes to a peer that would refuse it), then lsyncd started or restarted where its files changed.
async fn converge_file_sync(stack: &Stack<'_>) -> Result<()> {
    let apps = stack.hosts_with(Role::App);
    let paths = &stack
        .inv
        .services
        .file_sync
        .as_ref()
        .expect("checked")
        .paths;
    let mkdir = crate::shell::Argv::new("mkdir")
        .args(["-p", "--"])
        .args(paths.iter().cloned())
        .to_string();
    let mut changed = Vec::new();
    for host in &apps {
        stack.step(format!("{host}: file sync"));
        stack
            .session(host)
            .must("creating the synced folders", &mkdir)
            .await?;
        changed.push(stack.put_changed(host, "lsyncd").await?);
    }
    for (host, changed) in apps.iter().zip(changed) {
        stack
            .ensure_unit(host, "lsyncd", changed, "restart")
            .await?;
    }
    Ok(())
}

/// HAProxy and keepalived on the VIP holders: the backups first, the current VIP holder last,
/// then the VIP must answer.
async fn converge_frontend(stack: &Stack<'_>) -> Result<()> {
    let vip = stack.inv.services.frontend_vip.address.to_string();
    let mut holders = stack.inv.frontend_vip_holders();
    holders.sort_by_key(|h| stack.facts[*h].has_address(&vip));
    let mut touched = false;
    for host in &holders {
        stack.step(format!("{host}: frontend"));
        let service = if stack.inv.is_web_pair() {
            "nginx"
        } else {
            "haproxy"
        };
        let changed = stack.put_changed(host, service).await?;
        stack.ensure_unit(host, service, changed, "reload").await?;
        let keepalived_changed = stack.put_changed(host, "keepalived").await?;
        stack
            .ensure_unit(host, "keepalived", keepalived_changed, "reload")
            .await?;
        touched |= changed
            || keepalived_changed
            || !stack.facts[*host].unit("keepalived.service").is_active();
    }
    if touched {
        let port = if stack.inv.is_web_pair() {
            stack.inv.services.nginx.port
        } else {
            stack.inv.services.haproxy.port
        };
        let session = stack.session(holders[0]);
        session
            .wait_http_ok(
                &format!("the frontend VIP {vip}:{port} to serve the roster"),
                &vip,
                port,
                "/healthz",
                Duration::from_secs(30),
            )
            .await?;
    }
    Ok(())
}

/// What `plan` found: per host, what `up` would do; and notes about the whole run.
#[derive(Debug, Default)]
pub struct Plan {
    pub hosts: IndexMap<String, Vec<String>>,
    /// Said once, before the hosts (such as: the secrets file is missing).
    pub notes: Vec<String>,
}

/// What `up` would do, per host, without changing anything: not even the secrets file, which
/// a first `up` generates (until then, plan works with masked values and says so). No secret
/// value is shown, old or new: files holding one show only which keys or lines change, and
/// everything else is masked with every value seen, the host's copies' included.
pub async fn plan(inv: &Inventory, inventory_path: &Path, opts: &Options) -> Result<Plan> {
    let progress = spinner();
    let mut notes = Vec::new();
    let load = |path: &Path| {
        let (secrets, missing) = Secrets::load_without_writing(path)?;
        if missing {
            notes.push(format!(
                "{} does not exist: this plan uses placeholder secrets, and `minicloud up` will \
                 generate new ones (every file holding a secret then changes)",
                path.display()
            ));
        }
        Ok(secrets)
    };
    let stack = prepare(inv, inventory_path, opts, false, progress.clone(), load).await?;
    // The host's copies of the files that differ, read first: their secret values are masked
    // in everything shown, secrets file or not.
    let mut old_texts: IndexMap<(String, String), String> = IndexMap::new();
    for (host, diff) in &stack.diffs {
        for (file, change) in &diff.files {
            if *change == FileChange::Content && file.text {
                let text = stack
                    .session(host)
                    .must(
                        "reading a file",
                        &format!("cat {}", crate::shell::quote(&file.path)),
                    )
                    .await?
                    .stdout_text();
                let known = crate::secrets::registered();
                let new = String::from_utf8_lossy(&file.content);
                crate::secrets::register_values(desired::secret_values(
                    file.hide, &text, &new, &known,
                ));
                old_texts.insert((host.clone(), file.path.clone()), text);
            }
        }
    }
    let known = crate::secrets::registered();
    let mut out = IndexMap::new();
    for (host, diff) in &stack.diffs {
        let mut lines = Vec::new();
        if !diff.packages.is_empty() {
            lines.push(format!("install {}", diff.packages.join(" ")));
        }
        for (file, change) in &diff.files {
            let old = old_texts.get(&(host.clone(), file.path.clone()));
            lines.push(desired::describe_change(
                file,
                change,
                old.map(String::as_str),
                &known,
            ));
        }
        if let Some(reason) = firewall::host_reason(&stack, host) {
            lines.push(format!(
                "load the firewall rules ({reason}), kept only if a new SSH connection confirms them within {} s",
                inv.firewall.dead_man_seconds
            ));
        }
        lines.extend(db::plan_notes(&stack, host));
        if let Some((package, _)) = &stack.aerospike_package
            && stack.inv.hosts[host].has(Role::Aerospike)
            && !aerospike::installed(&stack.facts[host])
        {
            lines.push(format!("install Aerospike from {}", package.display()));
        }
        out.insert(host.clone(), lines);
    }
    progress.finish_and_clear();
    Ok(Plan { hosts: out, notes })
}
