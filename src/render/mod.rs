//! Rendering: the inventory becomes every file each host needs, from templates embedded in the
//! binary. Which file goes to which host, with what owner, mode and checker, is each role's
//! `files` ([`file_specs`]); the values come from [`context::host_context`].

pub mod context;
pub mod dir;
pub mod file_sync;

use crate::inventory::{Inventory, Role};
use crate::secrets::Secrets;
use anyhow::{Context as _, Result};
use context::{HostContext, host_context};
use indexmap::IndexMap;

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
/// The unit that loads [`FIREWALL_RULES`] at boot.
pub const FIREWALL_UNIT: &str = "minicloud-firewall";

/// Which hosts get a file.
#[derive(Debug, Clone, Copy)]
pub enum When {
    /// Every host.
    Always,
    /// Hosts with this role.
    Role(Role),
    /// Holds a VIP (any keepalived instance).
    VipHolder,
    /// May hold the frontend VIP (lb hosts, or the web pair's app hosts).
    FrontendVipHolder,
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

/// One managed file: its template, target, ownership, and how it is checked. Each role lists
/// its own (`roles::Role::files`); the template text is embedded in the binary at build time.
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    /// The template's name (in errors: `rendering haproxy.cfg:12:3`).
    pub template: &'static str,
    /// The template's text (`include_str!` of `templates/NAME.tera`).
    pub source: &'static str,
    /// Absolute path on the host.
    pub path: &'static str,
    pub mode: u32,
    pub owner: &'static str,
    pub group: &'static str,
    /// The daemon's checker that must accept it before it replaces the old one.
    pub checker: Option<Checker>,
    /// Whether (and how) it holds a secret: such a file is never world-readable.
    pub hide: Hide,
    /// The systemd unit this file feeds (what a change restarts or reloads).
    pub unit: &'static str,
    /// Which hosts get it.
    pub when: When,
}

/// A file owned by root, mode 0644, no checker, no secret.
pub const fn file(
    template: &'static str,
    source: &'static str,
    path: &'static str,
    unit: &'static str,
    when: When,
) -> FileSpec {
    FileSpec {
        template,
        source,
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

/// Every file minicloud manages: each role's, in the registry's order (within a role, in the
/// order they are written).
pub fn file_specs() -> impl Iterator<Item = &'static FileSpec> {
    crate::roles::REGISTRY
        .iter()
        .flat_map(|role| role.files.iter())
}

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
    let mut templates: Vec<(&str, &str)> = Vec::new();
    for spec in file_specs() {
        if !templates.iter().any(|(name, _)| *name == spec.template) {
            templates.push((spec.template, spec.source));
        }
    }
    tera.add_raw_templates(templates)
        .context("embedded templates do not parse")?;
    Ok(tera)
}

fn applies(spec: &FileSpec, inv: &Inventory, ctx: &HostContext, host: &str) -> bool {
    let entry = &inv.hosts[host];
    match spec.when {
        When::Always => true,
        When::Role(role) => entry.has(role),
        When::VipHolder => !ctx.vrrp.is_empty(),
        When::FrontendVipHolder => ctx.frontend_service.is_some(),
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
    file_specs()
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
    fn every_embedded_template_parses_and_every_template_file_is_used() {
        engine().unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                file_specs().any(|f| f.source == text),
                "{} is no role's file",
                path.display()
            );
        }
        let paths: Vec<&str> = file_specs().map(|f| f.path).collect();
        let mut unique = paths.clone();
        unique.dedup();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            paths.len(),
            "a path owned by two roles: {paths:?}"
        );
    }

    /// The track scripts read the very drain flags the drills and `up` write: the path is
    /// written out in each template, so a rename on one side only would drain nothing.
    #[test]
    fn each_track_script_reads_the_drain_flag_that_is_written() {
        use crate::converge::commands::{DB_VIP_DRAIN, FRONTEND_VIP_DRAIN};
        for (spec, flag) in [
            ("frontend-check.sh", FRONTEND_VIP_DRAIN),
            ("galera-synced.sh", DB_VIP_DRAIN),
        ] {
            let spec = file_specs().find(|f| f.template == spec).unwrap();
            assert!(
                spec.source.contains(&format!("drain={flag}\n")),
                "{} does not read {flag}",
                spec.template
            );
        }
    }

    #[test]
    fn secret_files_are_not_world_readable() {
        for spec in file_specs().filter(|f| f.hide != Hide::Nothing) {
            assert_eq!(
                spec.mode & 0o004,
                0,
                "{} is secret but world-readable",
                spec.path
            );
        }
    }
}
