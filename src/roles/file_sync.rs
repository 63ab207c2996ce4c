//! The file sync role (app hosts, when `services.file_sync` is set): lsyncd pushes the synced
//! folders to the other app hosts over rsync+SSH with a key of its own. First every host's
//! folders, key and authorized key (so no host pushes to a peer that would refuse it), then
//! lsyncd started or restarted where its files changed. The files are `render::file_sync`'s.

use super::{Ctx, Role, Step, UnitAction};
use crate::inventory::Role as HostRole;

/// lsyncd on every app host.
pub const ROLE: Role = Role {
    phase: "file sync",
    parallel: false,
    packages: |inv, host| {
        // python3 runs rrsync (shipped by rsync, which only suggests python3): the sync key's
        // forced command hands every push to it (render/file_sync.rs).
        if inv.hosts[host].has(HostRole::App) && inv.services.file_sync.is_some() {
            vec!["lsyncd", "rsync", "python3"]
        } else {
            Vec::new()
        }
    },
    units: super::none,
    services: |inv, host| {
        if inv.hosts[host].has(HostRole::App) && inv.services.file_sync.is_some() {
            vec!["lsyncd"]
        } else {
            Vec::new()
        }
    },
    plan,
};

fn plan(ctx: &Ctx, _earlier: &[Step]) -> Vec<Step> {
    let Some(sync) = &ctx.inv.services.file_sync else {
        return Vec::new();
    };
    let apps = ctx.inv.hosts_with(HostRole::App);
    let mut steps = Vec::new();
    for host in &apps {
        steps.push(Step::SyncedFolders {
            host: host.to_string(),
            paths: sync.paths.clone(),
        });
        steps.extend(ctx.writes(host, "lsyncd"));
    }
    for host in &apps {
        let changed = ctx.unit_changed(host, "lsyncd");
        steps.extend(ctx.ensure_unit(host, "lsyncd", changed, UnitAction::Restart));
    }
    steps
}
