//! The app role: the roster binary, its environment and hardened unit, rolled out one host at
//! a time, each gated on `/healthz` (and `/readyz` when its database settings changed).

use super::frontend::Frontend;
use super::{Ctx, Gate, Role, Step, UnitAction};
use crate::inventory::{Inventory, Net, Role as HostRole};
use crate::render::context::{
    Rules, addrs, app_public_port, others, roster_listen_address, strings,
};
use crate::render::{FileSpec, Hide, When, file};

/// The roster on the app hosts, one after another.
pub const ROLE: Role = Role {
    phase: "app tier",
    parallel: false,
    packages: super::none,
    units: |inv, host| super::on(inv, host, HostRole::App, &["roster.service"]),
    services: |inv, host| {
        let mut list = Vec::new();
        if inv.hosts[host].has(HostRole::App) {
            list.push("roster");
            if inv.services.nginx.enabled {
                list.push("nginx");
            }
        }
        list
    },
    files: &[
        file(
            "roster.service",
            include_str!("../../templates/roster.service.tera"),
            "/etc/systemd/system/roster.service",
            "roster",
            When::Role(HostRole::App),
        ),
        FileSpec {
            mode: 0o600,
            hide: Hide::Values,
            ..file(
                "roster.env",
                include_str!("../../templates/roster.env.tera"),
                crate::render::context::ROSTER_ENV,
                "roster",
                When::Role(HostRole::App),
            )
        },
    ],
    firewall,
    plan,
    reads: super::limited::reads_none,
    check_limited: super::limited::no_rule,
};

/// Who may reach the roster (or its nginx) on an app host.
fn firewall(inv: &Inventory, host: &str, rules: &mut Rules) {
    if !inv.hosts[host].has(HostRole::App) {
        return;
    }
    let s = &inv.services;
    if Frontend::of(inv) == Frontend::WebPair {
        rules.anywhere(
            "HTTP to nginx (web pair: clients come straight here)",
            "tcp",
            &[s.nginx.port],
            None,
        );
        rules.only_from(
            "the roster from the other app hosts' nginx (their backup upstream)",
            "tcp",
            &[s.roster.port],
            others(inv, host, &inv.hosts_with(HostRole::App), Net::Frontend),
        );
    } else {
        let from = strings(&addrs(inv, &inv.hosts_with(HostRole::Lb), Net::Frontend));
        rules.only_from(
            "the app (or its nginx) only from the lb hosts",
            "tcp",
            &[app_public_port(inv)],
            from,
        );
    }
}

fn http(ctx: &Ctx, host: &str, what: String, path: &str, timeout_secs: u64) -> Step {
    Step::Wait {
        host: host.to_string(),
        gate: Gate::Http {
            what,
            address: roster_listen_address(ctx.inv, host).to_string(),
            port: ctx.inv.services.roster.port,
            path: path.to_string(),
            timeout_secs,
        },
    }
}

fn plan(ctx: &Ctx, earlier: &[Step]) -> Vec<Step> {
    let apps = ctx.inv.hosts_with(HostRole::App);
    let db = ctx.inv.hosts_with(HostRole::Db);
    let mut steps = Vec::new();
    for host in &apps {
        let files = ctx.changed_files(host, "roster");
        if !files.is_empty() {
            steps.push(Step::RosterUser {
                host: host.to_string(),
            });
        }
        // A changed environment may carry a new database password: this host's account gets
        // it now, just before the host restarts with it (the other hosts keep theirs meanwhile).
        let env_changed = files
            .iter()
            .any(|f| f.secret && ctx.facts[*host].files.contains_key(&f.path));
        if env_changed && let Some(db1) = db.first() {
            steps.push(Step::DatabaseUsers {
                host: db1.to_string(),
                apps: vec![host.to_string()],
                with_sst: false,
            });
        }
        let changed = ctx.unit_changed(host, "roster");
        steps.extend(ctx.writes(host, "roster"));
        if changed {
            steps.push(Step::CheckRoster {
                host: host.to_string(),
            });
        }
        steps.extend(ctx.ensure_unit(host, "roster", changed, UnitAction::Restart));
        if changed || !ctx.facts[*host].unit("roster.service").is_active() {
            steps.push(http(
                ctx,
                host,
                format!("{host}'s roster to answer /healthz"),
                "/healthz",
                30,
            ));
        }
        if env_changed {
            steps.push(http(
                ctx,
                host,
                format!("{host}'s roster to reach its database with its new settings (/readyz)"),
                "/readyz",
                60,
            ));
        }
    }
    let changes_so_far = earlier.iter().chain(&steps).any(|s| s.is_change());
    if let Some(first) = apps.first()
        && changes_so_far
    {
        steps.push(http(
            ctx,
            first,
            format!("{first}'s roster to reach its database (/readyz)"),
            "/readyz",
            90,
        ));
    }
    steps
}
