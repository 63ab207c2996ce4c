//! `minicloud up` and `minicloud plan`: bring hosts in line with the inventory, touching only
//! what differs, in the order that keeps quorum.
//!
//! Both commands read every host first (nothing changes before all answer), then ask the role
//! planners (`crate::roles`) for the run's typed steps: `plan` prints them, `up` hands the
//! same list to the executor (`execute`), phase by phase, over the [`host::Host`] trait.
//! The one difference: `up` reads a host again after installing packages on it and plans the
//! later phases on what it finds; `plan` plans them on the facts the installation will leave
//! (`roles::after_install`), and a lab test checks the two agree.
//!
//! Order (the registry in `roles`): connect and read facts → packages → firewall (dead-man
//! switch) → sysctl → db tier (bootstrap or join one node at a time, DB VIP) → arbiters →
//! aerospike → app tier (rolling) → file sync → lb tier (backup before the VIP holder).

mod aerospike;
pub mod commands;
mod execute;
pub mod firewall;
pub mod host;
pub mod interrupt;
pub mod lock;
pub mod notify;
pub mod session;
pub mod vip_ready;

/// What each host should have and how it differs (moved to the roles layer; kept here for
/// the callers that name it by its old path).
pub use crate::roles::desired;

use crate::facts::HostFacts;
use crate::inventory::{Inventory, Role};
use crate::output::Progress;
use crate::render;
use crate::roles::{self, Ctx, Step};
use crate::secrets::Secrets;
use crate::ssh::Connection;
use anyhow::{Context, Result, bail};
use desired::{FileChange, HostDiff, Managed};
use execute::RunState;
use futures_util::future::{join_all, try_join_all};
use futures_util::{StreamExt, TryStreamExt};
use host::Host;
use indexmap::IndexMap;
use serde::Serialize;
use session::Session;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to run `up` / `plan`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Record unknown host keys instead of refusing them (a changed key is always refused).
    pub accept_new_host_keys: bool,
    /// How long to wait for a host another run holds before giving up.
    pub lock_wait: Duration,
    /// The roster binary to ship; default: `roster` beside this executable.
    pub roster_binary: Option<PathBuf>,
    /// `--limit`: the only hosts the run changes (None: every host). The others are still
    /// read for the gates and decisions that need them; one that cannot be reached is a
    /// warning, unless a step that is kept needs it.
    pub limit: Option<crate::limit::Limit>,
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
    /// The steps run, in the order planned (the same list and form as `plan --json`'s
    /// `steps`); a step that failed is the last.
    pub steps: Vec<Step>,
    /// `--limit`, when given: the words and the hosts they name (no other host was changed).
    pub limit: Option<crate::limit::Limit>,
    /// What the run could not do but did not need: hosts outside `--limit` it could not reach.
    pub warnings: Vec<String>,
}

impl Report {
    /// How many hosts changed.
    pub fn changed_hosts(&self) -> usize {
        self.changes.values().filter(|c| !c.is_empty()).count()
    }
}

/// Everything one `up` run works with: the inventory, each host (`H`: SSH for real, a fake
/// in unit tests), their files and facts, and what the run has done.
pub(crate) struct Stack<'a, H = Session> {
    pub inv: &'a Inventory,
    pub secrets: Secrets,
    pub sessions: IndexMap<String, H>,
    pub files: IndexMap<String, Vec<Managed>>,
    pub facts: IndexMap<String, HostFacts>,
    pub diffs: IndexMap<String, HostDiff>,
    /// The Aerospike server package (when there are aerospike hosts), checked before any change.
    pub aerospike_package: Option<(PathBuf, roles::aerospike::PackageKind)>,
    /// `--limit` and the hosts outside it that could not be read (no session, placeholder facts).
    pub scope: crate::limit::Scope,
    /// Per host, the units a stopped run wrote files for but may not have restarted or
    /// reloaded (their markers, see [`commands::PENDING_DIR`]): applied again in this run.
    pub pending: IndexMap<String, Vec<String>>,
    /// (host, unit) markers set or found in this run, removed once the change is applied.
    marked: Mutex<Vec<(String, String)>>,
    report: Mutex<Report>,
    /// The steps run so far, with their place in the plan.
    executed: Mutex<Vec<(usize, Step)>>,
    run: Mutex<RunState>,
    progress: Progress,
    /// Held for the whole run: no other `up` acts on these hosts meanwhile (None for `plan`,
    /// which changes nothing and so neither takes the lock nor waits for it).
    _locks: Option<lock::RunLocks>,
}

impl<'a, H: Host> Stack<'a, H> {
    /// A stack over hosts that are already connected and read.
    #[allow(clippy::too_many_arguments)]
    fn new(
        inv: &'a Inventory,
        secrets: Secrets,
        sessions: IndexMap<String, H>,
        files: IndexMap<String, Vec<Managed>>,
        facts: IndexMap<String, HostFacts>,
        aerospike_package: Option<(PathBuf, roles::aerospike::PackageKind)>,
        scope: crate::limit::Scope,
        pending: IndexMap<String, Vec<String>>,
        progress: Progress,
        locks: Option<lock::RunLocks>,
    ) -> Self {
        let diffs = facts
            .iter()
            .map(|(host, f)| (host.clone(), desired::host_diff(inv, host, &files[host], f)))
            .collect();
        // Every marker found is this run's to clear once its unit is applied.
        let found = pending
            .iter()
            .flat_map(|(host, units)| {
                units
                    .iter()
                    .map(move |u| (host.clone(), unmarker(u).to_string()))
            })
            .collect();
        Stack {
            inv,
            secrets,
            sessions,
            files,
            facts,
            diffs,
            aerospike_package,
            scope,
            pending,
            marked: Mutex::new(found),
            report: Mutex::new(Report::default()),
            executed: Mutex::new(Vec::new()),
            run: Mutex::new(RunState::default()),
            progress,
            _locks: locks,
        }
    }

    /// What the planners look at.
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx {
            inv: self.inv,
            facts: &self.facts,
            diffs: &self.diffs,
            pending: &self.pending,
            aerospike_package: self.aerospike_package.as_ref().map(|(_, kind)| kind),
            scope: &self.scope,
        }
    }

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

    /// Show what the run is doing now (the spinner's message, or a line off a terminal).
    pub fn step(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!("step: {message}");
        self.progress.set_message(message);
    }

    /// The host named `host`.
    pub fn session(&self, host: &str) -> &H {
        &self.sessions[host]
    }

    /// The inventory's hosts with `role`.
    pub fn hosts_with(&self, role: Role) -> Vec<&str> {
        self.inv.hosts_with(role)
    }

    /// Set the change marker of `unit` on `host` before its first file is written (once a run;
    /// a marker an earlier run left is already there).
    async fn mark(&self, host: &str, unit: &str) -> Result<()> {
        let known = self
            .marked
            .lock()
            .expect("marked lock")
            .iter()
            .any(|(h, u)| h == host && u == unit);
        if known {
            return Ok(());
        }
        self.session(host)
            .must("recording a change to apply", &commands::mark_pending(unit))
            .await?;
        self.marked
            .lock()
            .expect("marked lock")
            .push((host.to_string(), unit.to_string()));
        Ok(())
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

    /// Run `steps` (numbered from `first` in the plan): one after another, or each host's
    /// steps at the same time as the other hosts' when `parallel`.
    async fn run_steps(&self, first: usize, steps: &[Step], parallel: bool) -> Result<()> {
        let numbered: Vec<(usize, &Step)> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| (first + i, s))
            .collect();
        if !parallel {
            for (index, step) in numbered {
                self.run_step(index, step).await?;
            }
            return Ok(());
        }
        let mut by_host: IndexMap<&str, Vec<(usize, &Step)>> = IndexMap::new();
        for (index, step) in numbered {
            by_host.entry(step.host()).or_default().push((index, step));
        }
        try_join_all(by_host.into_values().map(|host_steps| async move {
            for (index, step) in host_steps {
                self.run_step(index, step).await?;
            }
            Ok::<_, anyhow::Error>(())
        }))
        .await?;
        Ok(())
    }

    async fn run_step(&self, index: usize, step: &Step) -> Result<()> {
        tracing::debug!(host = step.host(), "step {index}: {step}");
        self.executed
            .lock()
            .expect("executed lock")
            .push((index, step.clone()));
        self.execute(step).await
    }

    /// The phases after the installations, planned on the facts as they are now.
    async fn converge(&self) -> Result<()> {
        self.run.lock().expect("run lock").primary = self
            .hosts_with(Role::Db)
            .into_iter()
            .filter(|h| {
                self.facts[*h]
                    .wsrep
                    .as_ref()
                    .is_some_and(|s| s.is_primary())
            })
            .map(str::to_string)
            .collect();
        let phases = roles::plan_phases(&self.ctx())?;
        let mut first = self.executed.lock().expect("executed lock").len();
        for (role, steps) in &phases {
            if steps.is_empty() {
                continue;
            }
            let started = Instant::now();
            self.run_steps(first, steps, role.parallel).await?;
            self.timed(role.phase, started);
            first += steps.len();
        }
        Ok(())
    }

    /// The report, hosts in inventory order, steps in plan order.
    fn into_report(self, outcome: Result<()>) -> Report {
        let mut report = self.report.into_inner().expect("report lock");
        report.changes = self
            .inv
            .hosts
            .keys()
            .map(|h| (h.clone(), report.changes.swap_remove(h).unwrap_or_default()))
            .collect();
        let mut executed = self.executed.into_inner().expect("executed lock");
        executed.sort_by_key(|(index, _)| *index);
        report.steps = executed.into_iter().map(|(_, s)| s).collect();
        if let Err(err) = outcome {
            report.failed = Some(format!("{err:#}"));
        }
        report.warnings = self.scope.warnings();
        report.limit = self.scope.limit;
        report
    }
}

/// A marker file's unit ("sysctl" is the marker of "", see [`commands::pending_marker`]).
fn unmarker(marker: &str) -> &str {
    if marker == commands::pending_marker("") {
        ""
    } else {
        marker
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
    let mut scope = crate::limit::Scope::limited(opts.limit.clone());
    progress.set_message(format!("connecting to {} hosts", inv.hosts.len()));
    let connections = join_all(inv.hosts.keys().map(|host| async move {
        let conn = Connection::open(&inv.ssh_target(host, opts.accept_new_host_keys)).await;
        (host.clone(), conn.map(|conn| Session::new(host, conn)))
    }))
    .await;
    let mut sessions: IndexMap<String, Session> =
        settle(connections, &mut scope)?.into_iter().collect();
    let locks = if take_lock {
        progress.set_message("taking the run lock on every host");
        Some(lock::lock_all(&sessions, opts.lock_wait).await?)
    } else {
        None
    };
    progress.set_message("reading facts");
    let read = join_all(sessions.iter().map(|(host, session)| {
        let files = &files[host];
        async move { (host.clone(), read_facts(inv, host, session, files).await) }
    }))
    .await;
    let read: IndexMap<String, HostFacts> = settle(read, &mut scope)?.into_iter().collect();
    sessions.retain(|host, _| read.contains_key(host));
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
    for (host, host_facts) in &read {
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
    notify::check(inv, &read)?;
    // Hosts outside the limit that could not be read get placeholder facts, in inventory
    // order: the planners plan them (their steps are dropped), and `roles::limited` refuses
    // any kept step or decision that would rest on them.
    let facts: IndexMap<String, HostFacts> = inv
        .hosts
        .keys()
        .map(|h| (h.clone(), read.get(h).cloned().unwrap_or_default()))
        .collect();
    let mut pending = pending;
    for host in inv.hosts.keys() {
        pending.entry(host.clone()).or_default();
    }
    let stack = Stack::new(
        inv,
        secrets,
        sessions,
        files,
        facts,
        aerospike_package,
        scope,
        pending,
        progress,
        locks,
    );
    firewall::check_ssh_source(&stack).await?;
    Ok(stack)
}

/// Split one stage's per-host results: a host outside `--limit` that failed becomes
/// unreachable (a warning; no decision may rest on it), any other failure ends the run
/// before anything changed.
fn settle<T>(
    results: Vec<(String, Result<T>)>,
    scope: &mut crate::limit::Scope,
) -> Result<Vec<(String, T)>> {
    let mut ok = Vec::new();
    for (host, result) in results {
        match result {
            Ok(value) => ok.push((host, value)),
            Err(err) if !scope.includes(&host) && !interrupt::requested() => {
                tracing::warn!(host, "outside --limit and unreachable: {err:#}");
                scope.unreachable.push((host, format!("{err:#}")));
            }
            Err(err) => return Err(err.context("nothing was changed on any host")),
        }
    }
    Ok(ok)
}

async fn read_facts(
    inv: &Inventory,
    host: &str,
    session: &impl Host,
    files: &[Managed],
) -> Result<HostFacts> {
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let scripts = notify::scripts(inv, host);
    let scripts: Vec<&str> = scripts.iter().map(|(_, path)| path.as_str()).collect();
    session
        .facts(
            &roles::packages(inv, host),
            &paths,
            &roles::units(inv, host),
            &scripts,
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
    let outcome = match install_packages(&mut stack).await {
        Ok(()) => stack.converge().await,
        Err(err) => Err(err),
    };
    progress.finish_and_clear();
    Ok(stack.into_report(outcome))
}

/// Package installations running at once.
const PARALLEL_INSTALLS: usize = 16;

/// Install what is missing, then read those hosts' facts again: the packages brought units
/// (enabled by Debian) and default files that every later decision must see.
async fn install_packages(stack: &mut Stack<'_>) -> Result<()> {
    let started = Instant::now();
    let installs = roles::plan_installs(&stack.ctx());
    if installs.is_empty() {
        stack.timed("packages", started);
        return Ok(());
    }
    let stack_ref = &*stack;
    // Bounded: dpkg is CPU and disk work, and many hosts at once only queue on the machine(s).
    let installed: Vec<(String, HostFacts)> =
        futures_util::stream::iter(installs.iter().enumerate().map(|(index, step)| async move {
            let host = step.host();
            stack_ref.run_step(index, step).await?;
            let facts = read_facts(
                stack_ref.inv,
                host,
                stack_ref.session(host),
                &stack_ref.files[host],
            )
            .await?;
            Ok::<_, anyhow::Error>((host.to_string(), facts))
        }))
        .buffer_unordered(PARALLEL_INSTALLS)
        .try_collect()
        .await?;
    for (host, facts) in installed {
        let diff = desired::host_diff(stack.inv, &host, &stack.files[&host], &facts);
        stack.diffs.insert(host.clone(), diff);
        stack.facts.insert(host, facts);
    }
    stack.timed("packages", started);
    Ok(())
}

/// What `plan` found: the steps `up` would run, and per host the text of its steps.
#[derive(Debug, Default)]
pub struct Plan {
    /// Per host (inventory order), what `plan` says of each of its steps, in order: a written
    /// file's diff, else the step in words.
    pub hosts: IndexMap<String, Vec<String>>,
    /// Hosts that have at least one step that changes something (not only checks).
    pub changing: Vec<String>,
    /// Every step, in the order `up` runs them (the same form as `up --json`'s `steps`).
    pub steps: Vec<Step>,
    /// Said once, before the hosts (such as: the secrets file is missing).
    pub notes: Vec<String>,
    /// `--limit`, when given: the words and the hosts they name.
    pub limit: Option<crate::limit::Limit>,
    /// Hosts outside `--limit` it could not reach (read-only and not needed).
    pub warnings: Vec<String>,
}

impl Plan {
    /// How many hosts would change.
    pub fn changed_hosts(&self) -> usize {
        self.changing.len()
    }
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
    for (host, diff) in stack.diffs.iter().filter(|(h, _)| stack.scope.includes(h)) {
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
    let steps: Vec<Step> = roles::plan_run(&stack.ctx())?.steps().cloned().collect();
    let describe = |step: &Step| -> String {
        let Step::Write { host, path, .. } = step else {
            return step.to_string();
        };
        let diff = stack.diffs[host]
            .files
            .iter()
            .find(|(f, _)| &f.path == path);
        match diff {
            Some((file, change)) => {
                let old = old_texts.get(&(host.clone(), path.clone()));
                desired::describe_change(file, change, old.map(String::as_str), &known)
            }
            None => step.to_string(),
        }
    };
    let mut hosts: IndexMap<String, Vec<String>> =
        inv.hosts.keys().map(|h| (h.clone(), Vec::new())).collect();
    for step in &steps {
        hosts[step.host()].push(describe(step));
    }
    let changing = inv
        .hosts
        .keys()
        .filter(|h| {
            steps
                .iter()
                .any(|s| s.host() == h.as_str() && s.is_change())
        })
        .cloned()
        .collect();
    progress.finish_and_clear();
    Ok(Plan {
        hosts,
        changing,
        steps,
        notes,
        warnings: stack.scope.warnings(),
        limit: stack.scope.limit.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::{Limit, Scope};

    fn scope(limit: &str) -> Scope {
        let inv = crate::roles::fixtures::default_inventory();
        let arg = crate::limit::parse(limit).unwrap();
        Scope::limited(Some(Limit::resolve(&inv, &arg).unwrap()))
    }

    fn refused(host: &str) -> (String, Result<u8>) {
        (host.to_string(), Err(anyhow::anyhow!("connection refused")))
    }

    #[test]
    fn a_host_outside_the_limit_that_fails_is_a_warning() {
        let mut scope = scope("app1");
        let ok = settle(vec![("app1".into(), Ok(1)), refused("lb1")], &mut scope).unwrap();
        assert_eq!(ok, [("app1".to_string(), 1)]);
        assert_eq!(
            scope.unreachable,
            [("lb1".to_string(), "connection refused".to_string())]
        );
        assert_eq!(
            scope.warnings(),
            ["lb1 is outside --limit and unreachable (connection refused): not read, not changed"]
        );
    }

    #[test]
    fn a_host_inside_the_limit_or_without_one_that_fails_is_an_error() {
        let mut limited = scope("app1");
        let err = settle(vec![refused("app1"), refused("lb1")], &mut limited).unwrap_err();
        assert!(format!("{err:#}").starts_with("nothing was changed on any host"));
        let mut everything = Scope::everything();
        assert!(
            settle(
                vec![("app1".into(), Ok(1)), refused("lb1")],
                &mut everything
            )
            .is_err()
        );
        assert!(everything.unreachable.is_empty());
    }
}
