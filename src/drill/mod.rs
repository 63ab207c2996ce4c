//! `minicloud failover-test`: HA drills under live load that prove nothing was lost. The
//! orchestration of one drill lives here: pre-check (status healthy) → load → fault (each with
//! its dead-man switch armed first) → hold → restore → wait healthy → verify every
//! acknowledged write on every db node → figures and budget. `catalog` says what each drill
//! does, `load` generates the traffic, `verify` reads the rows back, `report` shows it all.

pub mod catalog;
pub mod load;
pub mod report;
pub mod summary;
pub mod verify;

use crate::converge::{self, commands, session::Session};
use crate::inventory::{Inventory, Role};
use crate::lab_dir::LabDir;
use crate::ssh::Connection;
use crate::status::route::FrontendRoute;
use crate::status::{Status, StatusOptions, StatusReader, Verdict};
use anyhow::{Context, Result, anyhow, bail};
use catalog::{Budgets, DeadMan, Drill, DrillName, DrillStep, Situation};
use load::{Kind, Latency, Load, Rates, Seen};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Child;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How to run the drills.
#[derive(Debug, Clone)]
pub struct DrillOptions {
    /// The drills to run; empty: all that apply.
    pub drills: Vec<DrillName>,
    /// How long each fault is held under load.
    pub hold: Duration,
    /// When dead-man switches fire (None: the catalog's defaults).
    pub dead_man: Option<Duration>,
    /// The budgets each drill must meet.
    pub budgets: Budgets,
    /// The load's rates.
    pub rates: Rates,
    /// The lab's folder when the inventory is the lab's (lab host control may be used).
    pub lab: Option<LabDir>,
    /// The inventory's file (its secrets file lies beside it).
    pub inventory_path: PathBuf,
    /// For the `up` that recovers from a total outage.
    pub converge: converge::Options,
    /// Longest wait for the stack to be healthy (before a drill, and after its restore).
    pub healthy_timeout: Duration,
}

/// One status check seen while a drill ran.
#[derive(Debug, Clone, Serialize)]
pub struct Observation {
    /// Milliseconds on the load's clock.
    pub at_ms: u64,
    /// The stack's verdict then.
    pub verdict: Verdict,
    /// The verdict line then.
    pub summary: String,
    /// Who held the frontend VIP.
    pub frontend_vip: Vec<String>,
    /// Who held the DB VIP.
    pub db_vip: Vec<String>,
    /// db hosts Synced in the Primary component at that moment.
    pub synced: Vec<String>,
}

impl Observation {
    fn of(at_ms: u64, status: &Status) -> Observation {
        let holders = |name: &str| {
            status
                .vips
                .iter()
                .find(|v| v.name == name)
                .map(|v| v.holders.clone())
                .unwrap_or_default()
        };
        Observation {
            at_ms,
            verdict: status.verdict,
            summary: status.summary.clone(),
            frontend_vip: holders("frontend"),
            db_vip: holders("db"),
            synced: status
                .hosts
                .iter()
                .filter(|h| h.galera.as_ref().is_some_and(|g| g.is_synced_primary()))
                .map(|h| h.name.clone())
                .collect(),
        }
    }
}

/// Milestones of a drill on the load's clock (ms).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Marks {
    /// The fault was injected (its dead-man switches armed just before).
    pub fault_ms: Option<u64>,
    /// The fault was undone.
    pub restored_ms: Option<u64>,
    /// `status` first said healthy after the restore.
    pub healthy_ms: Option<u64>,
    /// The load stopped.
    pub end_ms: u64,
    /// The wall clock at 0 ms, ms since the Unix epoch: every mark, sample and observation
    /// lined up with the hosts' journals.
    pub load_started_unix_ms: u64,
}

/// What one drill measured and whether it met its budget.
#[derive(Debug, Clone, Serialize)]
pub struct DrillResult {
    /// The drill as it ran.
    pub drill: Drill,
    /// Every budget met, every step done.
    pub passed: bool,
    /// Budgets missed and steps that failed, in words.
    pub failures: Vec<String>,
    /// Requests sent (reads and writes).
    pub requests: usize,
    /// Requests that failed.
    pub failed_requests: usize,
    /// Requests sent per second while the load ran: the rate the load reached.
    pub requests_per_second: f64,
    /// Writes the roster acknowledged.
    pub acknowledged_writes: usize,
    /// Acknowledged writes not found as acknowledged on a db node: `node: day (...)`.
    pub lost_writes: Vec<String>,
    /// Longest time without any successful request.
    pub longest_gap_seconds: f64,
    /// Longest time without a successful write.
    pub longest_write_gap_seconds: f64,
    /// When that write gap began, ms after the load started (the clock of `marks` and the
    /// observations): where to look in the hosts' logs.
    pub longest_write_gap_from_ms: u64,
    /// Latency before the fault.
    pub latency_before: Latency,
    /// Latency from the fault until healthy again.
    pub latency_during: Latency,
    /// Latency once healthy again.
    pub latency_after: Latency,
    /// From the fault until `status` first saw it.
    pub detect_seconds: Option<f64>,
    /// From the fault until clients stopped seeing failures (0: they never did).
    pub recover_seconds: f64,
    /// From the restore until `status` said healthy.
    pub healthy_seconds: Option<f64>,
    /// Where the VIP the drill moves went.
    pub vip_moved_to: Option<String>,
    /// What the restore did (the changes of a recovering `up`).
    pub notes: Vec<String>,
    /// The most frequent client errors, with counts.
    pub errors: Vec<(String, usize)>,
    /// When the fault, the restore and the return to healthy happened.
    pub marks: Marks,
    /// Requests (ok, failed) per second since the load started.
    pub per_second: Vec<(u64, u64)>,
    /// Every status check made while it ran.
    pub observations: Vec<Observation>,
}

/// Resolve the drills a run will do, in catalog order, against what the stack looks like
/// (`dry_run` prints these without touching anything).
pub fn plan(inv: &Inventory, opts: &DrillOptions, status: Option<&Status>) -> Result<Vec<Drill>> {
    let holder = |name: &str| {
        status.and_then(|s| {
            s.vips
                .iter()
                .find(|v| v.name == name)
                .and_then(|v| v.holders.first().cloned())
        })
    };
    let situation = Situation {
        inv,
        lab: opts.lab.is_some(),
        frontend_vip_holder: holder("frontend"),
        db_vip_holder: holder("db"),
        hold: opts.hold,
        dead_man: opts.dead_man,
        budgets: opts.budgets.clone(),
    };
    let mut drills = Vec::new();
    for &name in catalog::NAMES {
        if !opts.drills.is_empty() && !opts.drills.contains(&name) {
            continue;
        }
        match catalog::drill(name, &situation) {
            Ok(drill) => drills.push(drill),
            Err(why) if opts.drills.is_empty() => {
                eprintln!("skipping {name}: {why}");
            }
            Err(why) => bail!("drill {name} does not apply to this inventory: {why}"),
        }
    }
    Ok(drills)
}

/// The fault in place right now, so an interrupted run can undo it.
#[derive(Default)]
struct InPlace {
    drill: Option<Drill>,
    local_dead_men: Vec<Child>,
}

/// Everything a run works with.
pub struct Runner<'a> {
    inv: &'a Inventory,
    opts: DrillOptions,
    run: String,
    in_place: Mutex<InPlace>,
    /// Notes of the drill running now (see [`DrillResult::notes`]).
    notes: Mutex<Vec<String>>,
}

impl<'a> Runner<'a> {
    /// A runner of `opts`'s drills on `inv`, with a run id of its own (the rows it writes
    /// carry it).
    pub fn new(inv: &'a Inventory, opts: DrillOptions) -> Runner<'a> {
        let run = format!("drill-{:08x}", rand::random::<u32>());
        Runner {
            inv,
            opts,
            run,
            in_place: Mutex::new(InPlace::default()),
            notes: Mutex::new(Vec::new()),
        }
    }

    fn status_options(&self) -> StatusOptions {
        StatusOptions {
            timeout: Duration::from_secs(3),
            limit: None,
        }
    }

    /// Run every selected drill once; a drill that cannot start (stack not healthy) stops the
    /// run.
    pub async fn run_all(&self, progress: impl Fn(&str)) -> Result<Vec<DrillResult>> {
        self.run_round(0, 1, progress).await
    }

    /// Round `round` (from 0) of `rounds`: every selected drill once, its rows named apart
    /// from the other rounds'.
    pub async fn run_round(
        &self,
        round: u32,
        rounds: u32,
        progress: impl Fn(&str),
    ) -> Result<Vec<DrillResult>> {
        let progress = |line: &str| {
            if rounds > 1 {
                progress(&format!("[round {}/{rounds}] {line}", round + 1));
            } else {
                progress(line);
            }
        };
        // The load writes through the VIP like any client: with the roster API token.
        let api_token = crate::secrets::Secrets::load_existing(&crate::secrets::secrets_path(
            &self.opts.inventory_path,
        ))
        .context("the drill's writes need the roster API token")?
        .roster_api_token;
        let mut results = Vec::new();
        let names: Vec<DrillName> = plan(self.inv, &self.opts, None)?
            .into_iter()
            .map(|d| d.name)
            .collect();
        for (index, name) in names.iter().enumerate() {
            progress(&format!(
                "[{}/{}] {name}: waiting for a healthy stack",
                index + 1,
                names.len()
            ));
            let mut reader = StatusReader::new(self.inv, self.status_options())?;
            let before = wait_healthy(&mut reader, self.opts.healthy_timeout).await;
            let before = match before {
                Ok(status) => status,
                Err(err) => {
                    reader.close().await;
                    bail!(
                        "{name}: the stack is not healthy before the drill, so no drill ran: {err:#}"
                    );
                }
            };
            let mut opts = self.opts.clone();
            opts.drills = vec![*name];
            let drill = plan(self.inv, &opts, Some(&before))?.remove(0);
            progress(&format!(
                "[{}/{}] {name}: {}",
                index + 1,
                names.len(),
                drill.summary
            ));
            let run = if rounds > 1 {
                format!("{}-r{round}-{index}", self.run)
            } else {
                format!("{}-{index}", self.run)
            };
            let result = self
                .run_drill(drill, &run, index as u64, reader, &api_token)
                .await;
            progress(&format!(
                "[{}/{}] {name}: {}",
                index + 1,
                names.len(),
                if result.passed {
                    "passed".to_string()
                } else {
                    format!("FAILED: {}", result.failures.join("; "))
                }
            ));
            results.push(result);
        }
        Ok(results)
    }

    /// One drill, start to end; every problem ends up in its result's failures.
    async fn run_drill(
        &self,
        drill: Drill,
        run: &str,
        index: u64,
        mut reader: StatusReader<'_>,
        api_token: &str,
    ) -> DrillResult {
        // The load goes where a client's requests would (through the bastion when the hosts
        // are behind one), over a route of its own that lasts the drill.
        let mut route = FrontendRoute::new(self.inv);
        let base_url = match route.base_url().await {
            Ok(url) => url,
            Err(err) => {
                reader.close().await;
                route.close().await;
                let why = format!("no way to the frontend VIP for the load: {err:#}");
                return evaluate(
                    drill,
                    Seen::default(),
                    Marks::default(),
                    Vec::new(),
                    Vec::new(),
                    vec![why],
                );
            }
        };
        // Each drill's days start 10 000 apart (over a minute and a half of writes at 100/s);
        // its rows are removed when it ends, so the next round may write the same days.
        let load = Load::start(
            &base_url,
            api_token,
            run,
            index * 10_000,
            self.opts.rates.clone(),
        );
        let (stop_sampling, mut sampling_stopped) = tokio::sync::watch::channel(false);
        let (latest_tx, latest) = tokio::sync::watch::channel::<Option<Observation>>(None);
        let sampler = async {
            let mut observations = Vec::new();
            loop {
                let status = reader.read().await;
                let observation = Observation::of(load.now_ms(), &status);
                let _ = latest_tx.send(Some(observation.clone()));
                observations.push(observation);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = sampling_stopped.changed() => break,
                }
            }
            observations
        };
        let steps = async {
            let mut marks = Marks {
                load_started_unix_ms: load.started_unix_ms(),
                ..Marks::default()
            };
            let outcome = self.fault_cycle(&drill, &load, latest, &mut marks).await;
            // Load after recovery, for the "after" figures.
            tokio::time::sleep(Duration::from_secs(3)).await;
            marks.end_ms = load.now_ms();
            let _ = stop_sampling.send(true);
            (outcome, marks)
        };
        let (observations, (outcome, marks)) = tokio::join!(sampler, steps);
        reader.close().await;
        let seen = load.stop().await;
        route.close().await;
        let mut failures = Vec::new();
        if let Err(err) = outcome {
            failures.push(format!("{err:#}"));
        }
        let lost_writes = match self.verify(run, &seen).await {
            Ok(lost) => lost,
            Err(err) => {
                failures.push(format!("could not verify the writes: {err:#}"));
                Vec::new()
            }
        };
        if let Err(err) = self.cleanup(run).await {
            failures.push(format!("could not remove the drill's rows: {err:#}"));
        }
        let mut result = evaluate(drill, seen, marks, observations, lost_writes, failures);
        result.notes = std::mem::take(&mut *self.notes.lock().expect("notes lock"));
        result
    }

    /// Baseline → dead-men armed → fault → hold → restore → dead-men disarmed → healthy.
    async fn fault_cycle(
        &self,
        drill: &Drill,
        load: &Load,
        mut latest: tokio::sync::watch::Receiver<Option<Observation>>,
        marks: &mut Marks,
    ) -> Result<()> {
        tokio::time::sleep(Duration::from_secs(3)).await;
        if let Some(kind) = drill.backup_ready_first {
            // Another host ready to take the VIP, as `up` waits before it drains a DB VIP.
            let holder = drill.targets.first().context("a drill without a target")?;
            converge::vip_ready::another_holder_ready(
                self.inv,
                kind,
                holder,
                |other, command| async move { self.run_on(&other, &command).await },
            )
            .await
            .context("before the planned stop")?;
        }
        let local = self.arm(drill).await?;
        {
            let mut in_place = self.in_place.lock().expect("in-place lock");
            in_place.drill = Some(drill.clone());
            in_place.local_dead_men = local;
        }
        marks.fault_ms = Some(load.now_ms());
        let injected = self
            .steps(&drill.inject)
            .await
            .context("injecting the fault");
        if injected.is_ok() {
            tokio::time::sleep(Duration::from_secs(drill.hold_seconds)).await;
        }
        let restored = self.undo().await.context("undoing the fault");
        marks.restored_ms = Some(load.now_ms());
        injected?;
        restored?;
        let restored_ms = marks.restored_ms.expect("set above");
        let deadline = Instant::now() + self.opts.healthy_timeout;
        loop {
            let seen = latest.borrow_and_update().clone();
            if let Some(o) = seen
                && o.at_ms > restored_ms
                && o.verdict == Verdict::Healthy
            {
                marks.healthy_ms = Some(o.at_ms);
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "not healthy {} s after the restore: {}",
                    self.opts.healthy_timeout.as_secs(),
                    seen_summary(&latest)
                );
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), latest.changed()).await;
        }
    }

    /// Arm every dead-man switch of a drill before its fault; returns the local ones.
    async fn arm(&self, drill: &Drill) -> Result<Vec<Child>> {
        let mut local = Vec::new();
        for dead_man in &drill.dead_men {
            match dead_man {
                DeadMan::Timer {
                    host,
                    unit,
                    script,
                    after_seconds,
                } => {
                    self.run_on(host, &commands::arm_dead_man(unit, script, *after_seconds))
                        .await
                        .with_context(|| format!("arming the dead-man switch on {host}"))?;
                }
                DeadMan::Local {
                    lab_args,
                    after_seconds,
                } => local.push(self.spawn_local_dead_man(lab_args, *after_seconds)?),
            }
        }
        Ok(local)
    }

    /// `sleep N; minicloud lab ARGS` detached in its own process group, so neither Ctrl-C
    /// nor this process dying stops it.
    fn spawn_local_dead_man(&self, lab_args: &[String], after_seconds: u64) -> Result<Child> {
        use std::os::unix::process::CommandExt;
        let lab = self
            .opts
            .lab
            .as_ref()
            .ok_or_else(|| anyhow!("lab host control outside the lab"))?;
        let exe = std::env::current_exe()?;
        let args: Vec<String> = lab_args.iter().map(|a| crate::shell::quote(a)).collect();
        let script = format!(
            "sleep {after_seconds}; exec {} lab {}",
            crate::shell::quote(&exe.to_string_lossy()),
            args.join(" ")
        );
        std::process::Command::new("sh")
            .args(["-c", &script])
            .env("MINICLOUD_LAB_DIR", &lab.root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .context("starting the local dead-man switch")
    }

    /// Undo the fault in place (if any) and disarm its dead-man switches. Also what Ctrl-C runs.
    pub async fn undo(&self) -> Result<()> {
        let (drill, local) = {
            let mut in_place = self.in_place.lock().expect("in-place lock");
            (
                in_place.drill.take(),
                std::mem::take(&mut in_place.local_dead_men),
            )
        };
        let Some(drill) = drill else { return Ok(()) };
        let restored = self.steps(&drill.restore).await;
        for mut child in local {
            let _ = child.kill();
            let _ = child.wait();
        }
        for dead_man in &drill.dead_men {
            if let DeadMan::Timer { host, unit, .. } = dead_man {
                // A host that cannot be reached keeps its timer: it fires and does no harm.
                let _ = self.run_on(host, &commands::disarm_dead_man(unit)).await;
            }
        }
        restored
    }

    /// Run steps; the steps of one kind on several hosts run at once (a total outage must hit
    /// every node together).
    async fn steps(&self, steps: &[DrillStep]) -> Result<()> {
        let runs = steps.iter().map(|step| async move {
            match step {
                DrillStep::Run { host, script } => self.run_on(host, script).await.map(|_| ()),
                DrillStep::Lab { args } => self.lab(args).await,
                DrillStep::Up { tweak } => {
                    // A rolling-change drill's `up` sees the inventory with its one setting
                    // changed; the file on disk is never written.
                    let tweaked = tweak.as_ref().map(|t| t.apply(self.inv));
                    let inv = tweaked.as_ref().unwrap_or(self.inv);
                    let report =
                        converge::up(inv, &self.opts.inventory_path, &self.opts.converge).await?;
                    let mut notes = self.notes.lock().expect("notes lock");
                    for (host, changes) in report.changes.iter().filter(|(_, c)| !c.is_empty()) {
                        notes.push(format!("up on {host}: {}", changes.join("; ")));
                    }
                    match report.failed {
                        Some(why) => Err(anyhow!("minicloud up failed: {why}")),
                        None => Ok(()),
                    }
                }
            }
            .with_context(|| step.describe())
        });
        futures_util::future::try_join_all(runs).await.map(|_| ())
    }

    async fn lab(&self, args: &[String]) -> Result<()> {
        let dir = self
            .opts
            .lab
            .clone()
            .ok_or_else(|| anyhow!("lab host control outside the lab"))?;
        lab_control(dir, args).await
    }

    /// A command as root on a host over a fresh SSH connection.
    async fn run_on(&self, host: &str, script: &str) -> Result<String> {
        self.run_on_with_stdin(host, script, b"").await
    }

    async fn run_on_with_stdin(&self, host: &str, script: &str, stdin: &[u8]) -> Result<String> {
        let mut target = self.inv.ssh_target(host, false);
        target.connect_timeout = Duration::from_secs(10);
        let session = Session::new(host, Connection::open(&target).await?);
        let out = tokio::time::timeout(
            Duration::from_secs(300),
            session.must_with_stdin("drill step", script, stdin),
        )
        .await
        .map_err(|_| anyhow!("{host}: no answer within 300 s"))
        .and_then(|r| r);
        session.conn.close().await;
        Ok(out?.stdout_text())
    }

    /// Every acknowledged write, read back from every db node: what is missing where.
    async fn verify(&self, run: &str, seen: &Seen) -> Result<Vec<String>> {
        let database = &self.inv.services.roster.database;
        let sql = verify::rows_sql(database, run);
        let mut lost = Vec::new();
        for db in self.inv.hosts_with(Role::Db) {
            let rows = self
                .run_on_with_stdin(
                    db,
                    &crate::commands::mariadb_batch().to_string(),
                    sql.as_bytes(),
                )
                .await
                .with_context(|| format!("reading the drill's rows on {db}"))?;
            let on_node = verify::parse_rows(&rows);
            lost.extend(
                verify::missing(&seen.acked, &on_node)
                    .into_iter()
                    .map(|m| format!("{db}: {m}")),
            );
        }
        Ok(lost)
    }

    /// Remove the drill's rows (through one node; Galera replicates the delete).
    async fn cleanup(&self, run: &str) -> Result<()> {
        let Some(db) = self.inv.hosts_with(Role::Db).first().copied() else {
            return Ok(());
        };
        let sql = verify::cleanup_sql(&self.inv.services.roster.database, run);
        self.run_on_with_stdin(
            db,
            &crate::commands::mariadb_batch().to_string(),
            sql.as_bytes(),
        )
        .await
        .map(|_| ())
    }
}

fn seen_summary(latest: &tokio::sync::watch::Receiver<Option<Observation>>) -> String {
    latest
        .borrow()
        .as_ref()
        .map(|o| o.summary.clone())
        .unwrap_or_else(|| "no status yet".into())
}

/// Check until healthy (or the timeout): the last status.
pub async fn wait_healthy(reader: &mut StatusReader<'_>, timeout: Duration) -> Result<Status> {
    let deadline = Instant::now() + timeout;
    loop {
        let status = reader.read().await;
        if status.verdict == Verdict::Healthy {
            return Ok(status);
        }
        if Instant::now() > deadline {
            bail!("still {} after {} s", status.summary, timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Figures and the verdict against the budget. Pure.
pub fn evaluate(
    drill: Drill,
    seen: Seen,
    marks: Marks,
    observations: Vec<Observation>,
    lost_writes: Vec<String>,
    mut failures: Vec<String>,
) -> DrillResult {
    let samples = &seen.samples;
    let fault = marks.fault_ms.unwrap_or(marks.end_ms);
    let restored = marks.restored_ms.unwrap_or(marks.end_ms);
    let after_from = marks.healthy_ms.unwrap_or(restored);
    let gap = load::longest_gap_ms(samples, None, 0, marks.end_ms) as f64 / 1000.0;
    let write_gap =
        load::longest_gap_ms(samples, Some(Kind::Write), 0, marks.end_ms) as f64 / 1000.0;
    let write_gap_from = load::longest_gap_from_ms(samples, Some(Kind::Write), 0, marks.end_ms);
    let failed = samples.iter().filter(|s| !s.ok).count();
    let budget = &drill.budget;
    if !lost_writes.is_empty() {
        // Entries are `node: day (...)`: one write missing on two nodes is one write lost.
        let mut days: Vec<&str> = lost_writes
            .iter()
            .filter_map(|l| l.split(' ').nth(1))
            .collect();
        days.sort_unstable();
        days.dedup();
        failures.push(format!(
            "{} acknowledged write(s) lost, e.g. {}",
            days.len(),
            lost_writes[0]
        ));
    }
    if let Some(max) = budget.max_failed
        && failed as u64 > max
    {
        failures.push(format!("{failed} failed requests (budget {max})"));
    }
    if let Some(max) = budget.max_gap_seconds
        && gap > max
    {
        failures.push(format!(
            "longest gap without a successful request {gap:.1} s (budget {max} s)"
        ));
    }
    if let Some(max) = budget.max_write_gap_seconds
        && write_gap > max
    {
        failures.push(format!(
            "longest gap without a successful write {write_gap:.1} s from {:.1} s after the load started (budget {max} s)",
            write_gap_from as f64 / 1000.0
        ));
    }
    if seen.acked.is_empty() {
        failures.push("no write was acknowledged: the load never worked".into());
    }
    let vip_moved_to = drill.vip_must_move.as_deref().and_then(|vip| {
        observations
            .iter()
            .filter(|o| o.at_ms > fault)
            .find_map(|o| {
                let holders = if vip == "db" {
                    &o.db_vip
                } else {
                    &o.frontend_vip
                };
                match holders.as_slice() {
                    [holder]
                        if !drill.targets.contains(holder)
                            && (vip != "db" || o.synced.contains(holder)) =>
                    {
                        Some(holder.clone())
                    }
                    _ => None,
                }
            })
    });
    if let Some(vip) = &drill.vip_must_move
        && vip_moved_to.is_none()
    {
        failures.push(format!(
            "the {vip} VIP was never seen on another healthy host"
        ));
    }
    let detect_seconds = observations
        .iter()
        .find(|o| o.at_ms > fault && o.verdict != Verdict::Healthy)
        .map(|o| (o.at_ms - fault) as f64 / 1000.0);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for s in samples.iter().filter(|s| !s.ok) {
        let kind = match s.kind {
            Kind::Read => "read",
            Kind::Write => "write",
        };
        *errors
            .entry(format!("{kind}: {}", s.error.as_deref().unwrap_or("?")))
            .or_default() += 1;
    }
    let mut errors: Vec<(String, usize)> = errors.into_iter().collect();
    errors.sort_by_key(|e| std::cmp::Reverse(e.1));
    errors.truncate(5);
    DrillResult {
        passed: failures.is_empty(),
        failures,
        requests: samples.len(),
        failed_requests: failed,
        requests_per_second: load::achieved_rate(samples, 0, marks.end_ms),
        acknowledged_writes: seen.acked.len(),
        lost_writes,
        longest_gap_seconds: gap,
        longest_write_gap_seconds: write_gap,
        longest_write_gap_from_ms: write_gap_from,
        latency_before: load::latency(samples, 0, fault),
        latency_during: load::latency(samples, fault, after_from),
        latency_after: load::latency(samples, after_from, u64::MAX),
        detect_seconds,
        recover_seconds: load::recovered_after_ms(samples, fault, restored) as f64 / 1000.0,
        healthy_seconds: marks
            .healthy_ms
            .map(|h| h.saturating_sub(restored) as f64 / 1000.0),
        vip_moved_to,
        notes: Vec::new(),
        errors,
        per_second: load::per_second(samples),
        marks,
        observations,
        drill,
    }
}

/// The lab's host control (`minicloud lab kill|start|partition|heal HOST [--network NET]`, as
/// `args`): the one place drills reach into the lab. Production paths never get here: a
/// drill plans lab steps only when its inventory is the lab's (`Options::lab`).
#[cfg(feature = "lab")]
async fn lab_control(dir: LabDir, args: &[String]) -> Result<()> {
    let lab = crate::lab::Lab::open(dir).await?;
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let net = || match arg(3) {
        "frontend" => Ok(crate::inventory::Net::Frontend),
        "backend" => Ok(crate::inventory::Net::Backend),
        other => Err(anyhow!("no network {other:?}")),
    };
    match arg(0) {
        "kill" => lab.kill(arg(1)).await,
        "start" => lab.start(arg(1)).await,
        "partition" => lab.partition(arg(1), net()?).await,
        "heal" => lab.heal(arg(1), net()?).await,
        other => Err(anyhow!("no lab verb {other:?}")),
    }
}

/// Without the `lab` feature there is no lab host control; the CLI then treats no inventory
/// as the lab's, so no drill plans a lab step and this only answers a caller that insists.
#[cfg(not(feature = "lab"))]
async fn lab_control(_dir: LabDir, args: &[String]) -> Result<()> {
    bail!(
        "lab host control (minicloud lab {}) is not in this build: minicloud was built without the lab feature",
        args.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use load::Sample;

    fn drill(name: &str) -> Drill {
        let inv = crate::inventory::load(std::path::Path::new("inventory/example.yml")).unwrap();
        let situation = Situation {
            inv: &inv,
            lab: true,
            frontend_vip_holder: None,
            db_vip_holder: None,
            hold: Duration::from_secs(10),
            dead_man: None,
            budgets: Budgets::default(),
        };
        catalog::drill(name.parse().unwrap(), &situation).unwrap()
    }

    /// A steady load of one write and one read every 100 ms for 20 s, every one acknowledged,
    /// except those sent in [fail_from, fail_to).
    fn seen(fail_from: u64, fail_to: u64) -> Seen {
        let mut seen = Seen::default();
        for i in 0..200u64 {
            let ok = !(fail_from..fail_to).contains(&(i * 100));
            for kind in [Kind::Write, Kind::Read] {
                seen.samples.push(Sample {
                    kind,
                    sent_ms: i * 100,
                    done_ms: i * 100 + 20,
                    ok,
                    error: (!ok).then(|| "HTTP 503".into()),
                });
            }
            if ok {
                seen.acked
                    .insert(load::write_day(0, i), load::write_name("r", i));
            }
        }
        seen
    }

    fn marks() -> Marks {
        Marks {
            fault_ms: Some(3000),
            restored_ms: Some(13_000),
            healthy_ms: Some(15_000),
            end_ms: 20_000,
            load_started_unix_ms: 0,
        }
    }

    fn observation(at_ms: u64, verdict: Verdict, db_vip: &str, synced: &[&str]) -> Observation {
        Observation {
            at_ms,
            verdict,
            summary: String::new(),
            frontend_vip: vec!["lb1".into()],
            db_vip: vec![db_vip.into()],
            synced: synced.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_clean_app_drill_passes_with_its_figures() {
        let observations = vec![
            observation(2500, Verdict::Healthy, "db1", &["db1"]),
            observation(3600, Verdict::Degraded, "db1", &["db1"]),
        ];
        let result = evaluate(
            drill("app-down"),
            seen(0, 0),
            marks(),
            observations,
            vec![],
            vec![],
        );
        assert!(result.passed, "{:?}", result.failures);
        assert_eq!((result.requests, result.failed_requests), (400, 0));
        assert_eq!(result.requests_per_second, 20.0);
        assert_eq!(result.detect_seconds, Some(0.6));
        assert_eq!(result.recover_seconds, 0.0);
        assert_eq!(result.healthy_seconds, Some(2.0));
        assert_eq!(result.latency_before.p99_ms, Some(20));
    }

    #[test]
    fn failures_and_gaps_beyond_the_budget_fail_the_drill() {
        let result = evaluate(
            drill("app-crash"),
            seen(4000, 5000),
            marks(),
            vec![],
            vec![],
            vec![],
        );
        assert_eq!(result.failures, ["20 failed requests (budget 0)"]);
        assert!((result.longest_gap_seconds - 1.1).abs() < 1e-9);
        assert!((result.recover_seconds - 2.02).abs() < 1e-9);
        let result = evaluate(
            drill("lb-down"),
            seen(4000, 9000),
            marks(),
            vec![],
            vec![],
            vec![],
        );
        assert!(
            result
                .failures
                .iter()
                .any(|f| f
                    .starts_with("longest gap without a successful request 5.1 s (budget 1 s)")),
            "{:?}",
            result.failures
        );
        assert!(
            result
                .failures
                .iter()
                .any(|f| f.contains("frontend VIP was never seen"))
        );
    }

    #[test]
    fn the_report_shows_each_drill_and_its_timeline() {
        let passed = evaluate(
            drill("app-down"),
            seen(0, 0),
            marks(),
            vec![],
            vec![],
            vec![],
        );
        let failed = evaluate(
            drill("app-crash"),
            seen(4000, 5000),
            marks(),
            vec![],
            vec![],
            vec![],
        );
        let text = report::table(&[passed.clone(), failed.clone()]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("drill      target  result  requests"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("app-down   app1    pass    400"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("app-crash  app1    FAIL    400       20"),
            "{text}"
        );
        assert!(
            text.contains("app-crash: 20 failed requests (budget 0)"),
            "{text}"
        );
        assert!(text.ends_with("2 drill(s): 1 passed, 1 failed\n"), "{text}");
        let html = report::html(&[passed, failed], "t", "now");
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains(">fault</text>") && html.contains(">restore</text>"));
    }

    #[test]
    fn a_lost_write_is_counted_once_however_many_nodes_miss_it() {
        let lost = vec![
            "db1: 2400-01-01 (absent)".to_string(),
            "db2: 2400-01-01 (absent)".to_string(),
        ];
        let result = evaluate(drill("app-down"), seen(0, 0), marks(), vec![], lost, vec![]);
        assert_eq!(
            result.failures,
            ["1 acknowledged write(s) lost, e.g. db1: 2400-01-01 (absent)"]
        );
    }

    #[test]
    fn the_db_vip_must_land_on_a_synced_node_other_than_the_target() {
        let d = drill("db-crash");
        let target = d.targets[0].clone();
        let other = if target == "db1" { "db2" } else { "db1" };
        let not_synced = vec![observation(5000, Verdict::Degraded, other, &[])];
        let result = evaluate(d.clone(), seen(0, 0), marks(), not_synced, vec![], vec![]);
        assert_eq!(result.vip_moved_to, None);
        assert!(!result.passed);
        let moved = vec![observation(5000, Verdict::Degraded, other, &[other])];
        let result = evaluate(d, seen(0, 0), marks(), moved, vec![], vec![]);
        assert_eq!(result.vip_moved_to.as_deref(), Some(other));
        assert!(result.passed, "{:?}", result.failures);
    }
}
