//! `--limit`: which of a phase's planned steps a limited run keeps, and when it must refuse.
//! The one place both `plan` and `up` filter their steps (through [`super::plan_phases`] and
//! [`super::plan_installs`]), so the two cannot disagree about a limited run either.
//!
//! The planners plan the whole stack as usual, on every host's facts (a gate, a quorum or a
//! bootstrap decision reads hosts outside the limit); then, per phase:
//!
//! - a step on a host inside the limit is kept;
//! - a change on a host outside it is dropped: such a host is never changed;
//! - a check (a gate: it only reads) on a host outside it is kept when it guards a kept
//!   change: when the nearest change planned before it in the phase is kept (the app tier's
//!   /readyz gate on app1 after app2's restart), or, with no change before it, the nearest
//!   after it (the Synced gate before the database accounts). A check after a dropped change
//!   (app2's /healthz after its own restart) goes with it;
//! - the database accounts ([`Step::DatabaseUsers`], cluster-wide data written on one node) are
//!   kept when that node is in the limit; else they are narrowed to the accounts of the app
//!   hosts in the limit (without the SST user, which belongs to the db hosts), or dropped when
//!   none is.
//!
//! Then the refusals, before anything runs: a kept step on a host that could not be read (a
//! gate on it would fail half-way), a phase whose planner read the facts of such a host
//! ([`super::Role::reads`]: its decision would rest on a guess), and the role's own rules
//! ([`super::Role::check_limited`]: a Galera restart that would leave the cluster short of
//! quorum, a bootstrap limited to some of the db hosts).

use super::{Ctx, Role, Step};
use std::fmt;

/// Why a limited run cannot go ahead: nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What the limit leaves unsafe.
    pub message: String,
    /// What to do instead.
    pub hint: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; nothing was changed on any host\nhint: {}",
            self.message, self.hint
        )
    }
}

impl std::error::Error for Refusal {}

/// A role's own rule for a limited run ([`Role::check_limited`]): given every step its phase
/// planned and those the limit keeps, refuse what would be unsafe.
pub type Rule = fn(&Ctx, planned: &[Step], kept: &[Step]) -> Result<(), Refusal>;

/// What `--limit` lets through of one step, if anything (a check on a host outside it is
/// decided by [`guards_kept_change`]).
fn keep(ctx: &Ctx, step: &Step) -> Option<Step> {
    if ctx.scope.includes(step.host()) {
        return Some(step.clone());
    }
    match step {
        Step::DatabaseUsers { host, apps, .. } => {
            let apps: Vec<String> = apps
                .iter()
                .filter(|a| ctx.scope.includes(a))
                .cloned()
                .collect();
            (!apps.is_empty()).then(|| Step::DatabaseUsers {
                host: host.clone(),
                apps,
                with_sst: false,
            })
        }
        _ => None,
    }
}

/// Whether the check at `index` of `steps` guards a change the limit keeps: the nearest
/// change before it, or with none before it the nearest after it.
fn guards_kept_change(ctx: &Ctx, steps: &[Step], index: usize) -> bool {
    let before = steps[..index].iter().rev().find(|s| s.is_change());
    let guarded = before.or_else(|| steps[index + 1..].iter().find(|s| s.is_change()));
    guarded.is_some_and(|change| keep(ctx, change).is_some())
}

/// The steps of `role`'s phase a limited run keeps (all of them without a limit), or why
/// the run must not go ahead.
pub fn restrict(
    ctx: &Ctx,
    role: &Role,
    earlier: &[Step],
    steps: Vec<Step>,
) -> Result<Vec<Step>, Refusal> {
    if ctx.scope.limit.is_none() {
        return Ok(steps);
    }
    let mut kept: Vec<Step> = steps
        .iter()
        .enumerate()
        .filter_map(|(index, step)| match keep(ctx, step) {
            None if !step.is_change() && guards_kept_change(ctx, &steps, index) => {
                Some(step.clone())
            }
            kept => kept,
        })
        .collect();
    // Checks that are left only because of changes the limit dropped (here, and none kept
    // in an earlier phase either) guard nothing: e.g. the app tier's closing /readyz gate,
    // planned because another app host's file differs.
    let changes = |list: &[Step]| list.iter().any(Step::is_change);
    if changes(&steps) && !changes(&kept) && !changes(earlier) {
        kept.clear();
    }
    if kept.is_empty() {
        return Ok(kept);
    }
    let limited = limited_hosts(&kept, ctx);
    for step in &kept {
        if let Some(why) = unreachable(ctx, step.host()) {
            return Err(Refusal {
                message: format!(
                    "{} is outside --limit and unreachable ({why}), but the {} phase for {} \
                     needs it: `{step}` runs there",
                    step.host(),
                    role.phase,
                    limited
                ),
                hint: reach_hint(step.host()),
            });
        }
    }
    for host in (role.reads)(ctx.inv) {
        if let Some(why) = unreachable(ctx, host) {
            return Err(Refusal {
                message: format!(
                    "{host} is outside --limit and unreachable ({why}), but the {} phase's \
                     steps for {limited} are decided on its facts (quorum, bootstrap, who holds \
                     a VIP): minicloud does not guess them",
                    role.phase
                ),
                hint: reach_hint(host),
            });
        }
    }
    (role.check_limited)(ctx, &steps, &kept)?;
    Ok(kept)
}

/// The limited hosts a phase's kept steps are for, for messages.
fn limited_hosts(kept: &[Step], ctx: &Ctx) -> String {
    let mut hosts: Vec<&str> = Vec::new();
    for step in kept {
        let host = step.host();
        if ctx.scope.includes(host) && !hosts.contains(&host) {
            hosts.push(host);
        }
        if let Step::DatabaseUsers { apps, .. } = step {
            for app in apps {
                if ctx.scope.includes(app) && !hosts.contains(&app.as_str()) {
                    hosts.push(app);
                }
            }
        }
    }
    hosts.join(", ")
}

/// Why `host` could not be read, if it could not.
fn unreachable<'s>(ctx: &'s Ctx, host: &str) -> Option<&'s str> {
    ctx.scope
        .unreachable
        .iter()
        .find(|(h, _)| h == host)
        .map(|(_, why)| why.as_str())
}

fn reach_hint(host: &str) -> String {
    format!(
        "bring {host} back (or reach it: `minicloud status` shows why it is not), or leave the \
         hosts whose steps depend on it out of --limit"
    )
}

/// For a role whose planner reads only its own hosts' facts.
pub fn reads_none(_: &crate::inventory::Inventory) -> Vec<&str> {
    Vec::new()
}

/// For a role with no rule of its own about limited runs.
pub fn no_rule(_: &Ctx, _: &[Step], _: &[Step]) -> Result<(), Refusal> {
    Ok(())
}
