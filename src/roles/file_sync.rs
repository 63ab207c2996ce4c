//! The file sync role (app hosts, when `services.file_sync` is set): lsyncd pushes the synced
//! folders to the other app hosts over rsync+SSH with a key of its own. First every host's
//! folders, key and authorized key (so no host pushes to a peer that would refuse it), then
//! lsyncd started or restarted where its files changed. The files are `render::file_sync`'s.

use super::{Ctx, Role, Step, UnitAction};
use crate::inventory::{Net, Role as HostRole};
use crate::render::context::others;
use crate::render::{FileSpec, Hide, When, file};

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
    files: FILES,
    firewall: |inv, host, rules| {
        if inv.hosts[host].has(HostRole::App) && inv.services.file_sync.is_some() {
            let ssh_port = [inv.hosts[host].ssh.port.unwrap_or(inv.ssh.port)];
            rules.only_from(
                "SSH from the other app hosts (file sync: lsyncd pushes with rsync over SSH)",
                "tcp",
                &ssh_port,
                others(inv, host, &inv.hosts_with(HostRole::App), Net::Backend),
            );
        }
    },
    plan,
    reads: super::limited::reads_none,
    check_limited: super::limited::no_rule,
};

const FILES: &[FileSpec] = &[
    // Before the authorized key that forces it: a key never points to a missing command.
    FileSpec {
        mode: 0o755,
        ..file(
            "file-sync-receive",
            "{{ file_sync.receive_script }}",
            crate::render::file_sync::RECEIVE_COMMAND,
            "lsyncd",
            When::FileSync,
        )
    },
    // sshd reads authorized_keys2 beside authorized_keys by default: a file of minicloud's own,
    // so the keys the user put in authorized_keys are never touched.
    FileSpec {
        mode: 0o600,
        ..file(
            "file-sync-authorized-keys",
            "# Written by minicloud: lsyncd on the other app hosts pushes files here.\n{{ file_sync.authorized_key }}\n",
            "/root/.ssh/authorized_keys2",
            "lsyncd",
            When::FileSync,
        )
    },
    FileSpec {
        mode: 0o600,
        hide: Hide::Whole,
        ..file(
            "file-sync-key",
            "{{ file_sync.private_key }}\n",
            crate::render::context::FILE_SYNC_KEY,
            "lsyncd",
            When::FileSync,
        )
    },
    file(
        "lsyncd.conf.lua",
        include_str!("../../templates/lsyncd.conf.lua.tera"),
        "/etc/lsyncd/lsyncd.conf.lua",
        "lsyncd",
        When::FileSync,
    ),
    file(
        "lsyncd.service",
        include_str!("../../templates/lsyncd.service.tera"),
        "/etc/systemd/system/lsyncd.service",
        "lsyncd",
        When::FileSync,
    ),
];

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
