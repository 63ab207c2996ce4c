//! Rendering: the inventory becomes every file each host needs, from templates embedded in the
//! binary. Which file goes to which host, with what owner, mode and checker, is the table
//! [`FILES`]; the values come from [`context::host_context`].

pub mod context;
pub mod dir;
pub mod file_sync;

use crate::inventory::{Inventory, Role};
use crate::secrets::Secrets;
use anyhow::{Context as _, Result};
use context::{GALERA_SYNCED_SCRIPT, HostContext, host_context};
use indexmap::IndexMap;

/// Templates, embedded at build time so the binary needs nothing beside it.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "haproxy.cfg",
        include_str!("../../templates/haproxy.cfg.tera"),
    ),
    (
        "keepalived.conf",
        include_str!("../../templates/keepalived.conf.tera"),
    ),
    (
        "galera-synced.sh",
        include_str!("../../templates/galera-synced.sh.tera"),
    ),
    (
        "galera.cnf",
        include_str!("../../templates/galera.cnf.tera"),
    ),
    (
        "galera-sst.cnf",
        include_str!("../../templates/galera-sst.cnf.tera"),
    ),
    ("garb", include_str!("../../templates/garb.tera")),
    (
        "roster.service",
        include_str!("../../templates/roster.service.tera"),
    ),
    (
        "roster.env",
        include_str!("../../templates/roster.env.tera"),
    ),
    (
        "nginx-roster.conf",
        include_str!("../../templates/nginx-roster.conf.tera"),
    ),
    (
        "aerospike.conf",
        include_str!("../../templates/aerospike.conf.tera"),
    ),
    (
        "firewall.nft",
        include_str!("../../templates/firewall.nft.tera"),
    ),
    (
        "minicloud-firewall.service",
        include_str!("../../templates/minicloud-firewall.service.tera"),
    ),
    (
        "sysctl.conf",
        include_str!("../../templates/sysctl.conf.tera"),
    ),
    (
        "lsyncd.conf.lua",
        include_str!("../../templates/lsyncd.conf.lua.tera"),
    ),
    (
        "lsyncd.service",
        include_str!("../../templates/lsyncd.service.tera"),
    ),
    ("file-sync-key", "{{ file_sync.private_key }}\n"),
    ("file-sync-receive", "{{ file_sync.receive_script }}"),
    (
        "file-sync-authorized-keys",
        "# Written by minicloud: lsyncd on the other app hosts pushes files here.\n{{ file_sync.authorized_key }}\n",
    ),
];

/// The daemon's own checker that must accept a file before it replaces the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checker {
    /// `haproxy -c -f FILE`
    Haproxy,
    /// `keepalived -t -f FILE`
    Keepalived,
    /// `nginx -t -c WRAPPER`, where the wrapper includes the site file (see [`nginx_test_config`]).
    Nginx,
    /// `mariadbd --defaults-file=FILE --help --verbose`: fails on an unknown or bad option.
    Mariadb,
    /// `nft -c -f FILE`
    Nftables,
    /// `sh -n FILE`
    Shell,
}

impl Checker {
    /// The command that checks the file at `path` (for nginx: a wrapper config that includes it).
    pub fn command(self, path: &str) -> Vec<String> {
        let args: &[&str] = match self {
            Checker::Haproxy => &["haproxy", "-c", "-q", "-f", path],
            Checker::Keepalived => &["keepalived", "-t", "-f", path],
            Checker::Nginx => &["nginx", "-t", "-q", "-c", path],
            Checker::Mariadb => {
                return vec![
                    "mariadbd".into(),
                    format!("--defaults-file={path}"),
                    "--help".into(),
                    "--verbose".into(),
                ];
            }
            Checker::Nftables => &["nft", "-c", "-f", path],
            Checker::Shell => &["sh", "-n", path],
        };
        args.iter().map(|s| s.to_string()).collect()
    }
}

/// A minimal nginx main config that includes one site file, so a site can be checked alone.
pub fn nginx_test_config(site: &str, scratch_dir: &str) -> String {
    format!(
        "pid {scratch_dir}/nginx.pid;\nerror_log {scratch_dir}/error.log;\nevents {{}}\nhttp {{\n    \
         access_log off;\n    client_body_temp_path {scratch_dir};\n    include {site};\n}}\n"
    )
}

/// Where a host's firewall rules live, and the unit that loads them at boot.
pub const FIREWALL_RULES: &str = "/etc/minicloud/firewall.nft";
pub const FIREWALL_UNIT: &str = "minicloud-firewall";

/// Which hosts get a file.
#[derive(Debug, Clone, Copy)]
enum When {
    Always,
    Role(Role),
    /// Holds a VIP (any keepalived instance).
    VipHolder,
    /// App host with nginx enabled.
    Nginx,
    /// db host with the mariabackup SST method (needs the SST password).
    MariabackupSst,
    /// App host with file sync.
    FileSync,
}

/// How `plan` shows a file that holds a secret: never a value of it, old or new (the host's
/// copy may hold values the secrets file no longer knows: before a rotation, an override).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hide {
    /// No secret in it: its whole diff is shown.
    Nothing,
    /// `KEY=value` or `key = value` lines: only which keys were added, removed or changed.
    /// Every value is hidden, so a secret added to the file later is hidden too.
    Values,
    /// The lines that start (after indentation) with one of these hold a secret: they show as
    /// that start alone; every other line in full.
    Lines(&'static [&'static str]),
    /// The whole file is one secret (a private key).
    Whole,
}

/// One file of the table: template, target, ownership, and how it is checked.
#[derive(Debug, Clone, Copy)]
struct FileSpec {
    template: &'static str,
    path: &'static str,
    mode: u32,
    owner: &'static str,
    group: &'static str,
    checker: Option<Checker>,
    /// Whether (and how) it holds a secret: such a file is never world-readable.
    hide: Hide,
    /// The systemd unit this file feeds (what a change restarts or reloads).
    unit: &'static str,
    when: When,
}

const fn file(
    template: &'static str,
    path: &'static str,
    unit: &'static str,
    when: When,
) -> FileSpec {
    FileSpec {
        template,
        path,
        mode: 0o644,
        owner: "root",
        group: "root",
        checker: None,
        hide: Hide::Nothing,
        unit,
        when,
    }
}

/// Every file minicloud manages, in the order they are written.
const FILES: &[FileSpec] = &[
    file(
        "sysctl.conf",
        "/etc/sysctl.d/60-minicloud.conf",
        "",
        When::VipHolder,
    ),
    // Loaded by `up`'s firewall phase with a dead-man switch, not by a plain upload.
    FileSpec {
        checker: Some(Checker::Nftables),
        mode: 0o600,
        ..file("firewall.nft", FIREWALL_RULES, FIREWALL_UNIT, When::Always)
    },
    file(
        "minicloud-firewall.service",
        "/etc/systemd/system/minicloud-firewall.service",
        FIREWALL_UNIT,
        When::Always,
    ),
    FileSpec {
        checker: Some(Checker::Mariadb),
        ..file(
            "galera.cnf",
            "/etc/mysql/mariadb.conf.d/60-galera.cnf",
            "mariadb",
            When::Role(Role::Db),
        )
    },
    FileSpec {
        mode: 0o640,
        group: "mysql",
        hide: Hide::Values,
        checker: Some(Checker::Mariadb),
        ..file(
            "galera-sst.cnf",
            "/etc/mysql/mariadb.conf.d/61-minicloud-sst.cnf",
            "mariadb",
            When::MariabackupSst,
        )
    },
    FileSpec {
        mode: 0o755,
        checker: Some(Checker::Shell),
        ..file(
            "galera-synced.sh",
            GALERA_SYNCED_SCRIPT,
            "keepalived",
            When::Role(Role::Db),
        )
    },
    file(
        "garb",
        "/etc/default/garb",
        "garb",
        When::Role(Role::Arbiter),
    ),
    file(
        "roster.service",
        "/etc/systemd/system/roster.service",
        "roster",
        When::Role(Role::App),
    ),
    FileSpec {
        mode: 0o600,
        hide: Hide::Values,
        ..file(
            "roster.env",
            context::ROSTER_ENV,
            "roster",
            When::Role(Role::App),
        )
    },
    FileSpec {
        checker: Some(Checker::Nginx),
        ..file(
            "nginx-roster.conf",
            "/etc/nginx/sites-enabled/minicloud-roster.conf",
            "nginx",
            When::Nginx,
        )
    },
    file(
        "aerospike.conf",
        "/etc/aerospike/aerospike.conf",
        "aerospike",
        When::Role(Role::Aerospike),
    ),
    FileSpec {
        mode: 0o640,
        group: "haproxy",
        hide: Hide::Lines(&["stats auth"]),
        checker: Some(Checker::Haproxy),
        ..file(
            "haproxy.cfg",
            "/etc/haproxy/haproxy.cfg",
            "haproxy",
            When::Role(Role::Lb),
        )
    },
    FileSpec {
        checker: Some(Checker::Keepalived),
        ..file(
            "keepalived.conf",
            "/etc/keepalived/keepalived.conf",
            "keepalived",
            When::VipHolder,
        )
    },
    // Before the authorized key that forces it: a key never points to a missing command.
    FileSpec {
        mode: 0o755,
        ..file(
            "file-sync-receive",
            file_sync::RECEIVE_COMMAND,
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
            context::FILE_SYNC_KEY,
            "lsyncd",
            When::FileSync,
        )
    },
    file(
        "lsyncd.conf.lua",
        "/etc/lsyncd/lsyncd.conf.lua",
        "lsyncd",
        When::FileSync,
    ),
    file(
        "lsyncd.service",
        "/etc/systemd/system/lsyncd.service",
        "lsyncd",
        When::FileSync,
    ),
];

/// One rendered file, ready to be compared with or written to a host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostFile {
    /// Absolute path on the host.
    pub path: &'static str,
    pub template: &'static str,
    pub content: String,
    pub mode: u32,
    pub owner: &'static str,
    pub group: &'static str,
    pub checker: Option<Checker>,
    /// Holds a secret (never world-readable, never shown by `plan`).
    pub secret: bool,
    /// How `plan` shows it.
    pub hide: Hide,
    /// systemd unit fed by this file; empty when none.
    pub unit: &'static str,
}

/// A tera engine holding every embedded template. Undefined variables are errors naming the
/// template, line and column (tera 2 is strict).
pub fn engine() -> Result<tera::Tera> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(Vec::<&'static str>::new());
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .context("embedded templates do not parse")?;
    Ok(tera)
}

fn applies(spec: &FileSpec, inv: &Inventory, ctx: &HostContext, host: &str) -> bool {
    let entry = &inv.hosts[host];
    match spec.when {
        When::Always => true,
        When::Role(role) => entry.has(role),
        When::VipHolder => !ctx.vrrp.is_empty(),
        When::Nginx => ctx.nginx.is_some(),
        When::FileSync => ctx.file_sync.is_some(),
        When::MariabackupSst => {
            entry.has(Role::Db)
                && inv.services.galera.sst_method == crate::inventory::SstMethod::Mariabackup
        }
    }
}

/// Render every file of `host`.
pub fn render_host(
    tera: &tera::Tera,
    inv: &Inventory,
    host: &str,
    secrets: &Secrets,
) -> Result<Vec<HostFile>> {
    let ctx = host_context(inv, host, secrets);
    let values = tera::Context::from_serialize(&ctx).context("template context")?;
    FILES
        .iter()
        .filter(|spec| applies(spec, inv, &ctx, host))
        .map(|spec| {
            let content = tera
                .render(spec.template, &values)
                .with_context(|| format!("rendering {} for host {host}", spec.path))?;
            Ok(HostFile {
                path: spec.path,
                template: spec.template,
                content,
                mode: spec.mode,
                owner: spec.owner,
                group: spec.group,
                checker: spec.checker,
                secret: spec.hide != Hide::Nothing,
                hide: spec.hide,
                unit: spec.unit,
            })
        })
        .collect()
}

/// Render every file of every host, in inventory order.
pub fn render_all(inv: &Inventory, secrets: &Secrets) -> Result<IndexMap<String, Vec<HostFile>>> {
    let tera = engine()?;
    inv.hosts
        .keys()
        .map(|host| Ok((host.clone(), render_host(&tera, inv, host, secrets)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_variable_names_template_line_and_column() {
        let mut tera = tera::Tera::default();
        tera.add_raw_template("x.cfg", "ok\nport {{ no_such_value }}\n")
            .unwrap();
        let err = tera
            .render("x.cfg", &tera::Context::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no_such_value"), "{err}");
        assert!(err.contains("x.cfg:2:"), "{err}");
    }

    #[test]
    fn every_embedded_template_parses_and_is_used() {
        engine().unwrap();
        for (name, _) in TEMPLATES {
            assert!(
                FILES.iter().any(|f| f.template == *name),
                "template {name} is in no FILES entry"
            );
        }
    }

    #[test]
    fn secret_files_are_not_world_readable() {
        for spec in FILES.iter().filter(|f| f.hide != Hide::Nothing) {
            assert_eq!(
                spec.mode & 0o004,
                0,
                "{} is secret but world-readable",
                spec.path
            );
        }
    }
}
