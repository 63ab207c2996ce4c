//! The frontend role: who carries the frontend VIP and serves clients. One of two shapes,
//! decided once here ([`Frontend::of`]): the lb pair (HAProxy + keepalived on the lb hosts, the
//! default) or the web pair (nginx + keepalived on the app hosts, the on-call original).

use super::{Ctx, Gate, Role, Step, UnitAction};
use crate::inventory::{Inventory, Net, Role as HostRole};
use crate::render::context::{FRONTEND_CHECK_SCRIPT, Rules, others, strings};
use crate::render::{Checker, FileSpec, Hide, When, file};

/// The two frontend topologies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frontend {
    /// HAProxy on the lb hosts, which carry the VIP.
    LbPair,
    /// No lb hosts: nginx on the app hosts, which carry the VIP.
    WebPair,
}

impl Frontend {
    /// The inventory's frontend.
    pub fn of(inv: &Inventory) -> Frontend {
        if inv.is_web_pair() {
            Frontend::WebPair
        } else {
            Frontend::LbPair
        }
    }

    /// The service that answers clients on the VIP holders.
    pub fn service(self) -> &'static str {
        match self {
            Frontend::LbPair => "haproxy",
            Frontend::WebPair => "nginx",
        }
    }

    /// The port clients use on the VIP.
    pub fn port(self, inv: &Inventory) -> u16 {
        match self {
            Frontend::LbPair => inv.services.haproxy.port,
            Frontend::WebPair => inv.services.nginx.port,
        }
    }
}

/// HAProxy or nginx, and keepalived, on the VIP holders.
pub const ROLE: Role = Role {
    phase: "lb tier",
    parallel: false,
    packages,
    units: super::none,
    services: |inv, host| {
        let mut list = Vec::new();
        if inv.hosts[host].has(HostRole::Lb) {
            list.push("haproxy");
        }
        if inv.frontend_vip_holders().contains(&host) {
            list.push("keepalived");
        }
        list
    },
    files: FILES,
    firewall,
    plan,
    reads: Inventory::frontend_vip_holders,
    check_limited: super::limited::no_rule,
};

const FILES: &[FileSpec] = &[
    FileSpec {
        checker: Some(Checker::Nginx),
        ..file(
            "nginx-roster.conf",
            include_str!("../../templates/nginx-roster.conf.tera"),
            "/etc/nginx/sites-enabled/minicloud-roster.conf",
            "nginx",
            When::Nginx,
        )
    },
    FileSpec {
        mode: 0o640,
        group: "haproxy",
        hide: Hide::Lines(&["stats auth"]),
        checker: Some(Checker::Haproxy),
        ..file(
            "haproxy.cfg",
            include_str!("../../templates/haproxy.cfg.tera"),
            "/etc/haproxy/haproxy.cfg",
            "haproxy",
            When::Role(HostRole::Lb),
        )
    },
    // Before keepalived.conf, which names it: a track script that is missing fails, and the
    // host would give the VIP up.
    FileSpec {
        mode: 0o755,
        checker: Some(Checker::Shell),
        ..file(
            "frontend-check.sh",
            include_str!("../../templates/frontend-check.sh.tera"),
            FRONTEND_CHECK_SCRIPT,
            "keepalived",
            When::FrontendVipHolder,
        )
    },
    // Every keepalived instance of the host: the frontend VIP's and the DB VIP's.
    FileSpec {
        checker: Some(Checker::Keepalived),
        ..file(
            "keepalived.conf",
            include_str!("../../templates/keepalived.conf.tera"),
            "/etc/keepalived/keepalived.conf",
            "keepalived",
            When::VipHolder,
        )
    },
];

/// VRRP among the VIP holders; HTTP to the VIP and the stats page on the lb hosts.
fn firewall(inv: &Inventory, host: &str, rules: &mut Rules) {
    let holders = inv.frontend_vip_holders();
    if holders.contains(&host) {
        rules.only_from(
            "VRRP adverts from the other frontend VIP holders",
            "vrrp",
            &[],
            others(inv, host, &holders, Net::Frontend),
        );
    }
    let s = &inv.services;
    if inv.hosts[host].has(HostRole::Lb) {
        rules.anywhere(
            "HTTP to the frontend VIP",
            "tcp",
            &[s.haproxy.port],
            Some(s.frontend_vip.address),
        );
        if let Some(stats) = &s.haproxy.stats {
            let from = if stats.allow_from.is_empty() {
                &[inv.networks.frontend][..]
            } else {
                &stats.allow_from[..]
            };
            rules.only_from("HAProxy stats page", "tcp", &[stats.port], strings(from));
        }
    }
}

fn packages(inv: &Inventory, host: &str) -> Vec<&'static str> {
    let entry = &inv.hosts[host];
    let mut list = Vec::new();
    if entry.has(HostRole::Lb) {
        list.extend(["haproxy", "keepalived"]);
    }
    if entry.has(HostRole::App) && inv.services.nginx.enabled {
        list.push("nginx-light");
        if Frontend::of(inv) == Frontend::WebPair {
            list.push("keepalived");
        }
    }
    list
}

/// The backups first, the current VIP holder last, then the VIP must answer.
fn plan(ctx: &Ctx, _earlier: &[Step]) -> Vec<Step> {
    let inv = ctx.inv;
    let frontend = Frontend::of(inv);
    let vip = inv.services.frontend_vip.address.to_string();
    let mut holders = inv.frontend_vip_holders();
    holders.sort_by_key(|h| ctx.facts[*h].has_address(&vip));
    let mut steps = Vec::new();
    let mut touched = false;
    for host in &holders {
        let service = frontend.service();
        let changed = ctx.unit_changed(host, service);
        steps.extend(ctx.writes(host, service));
        steps.extend(ctx.ensure_unit(host, service, changed, UnitAction::Reload));
        let keepalived_changed = ctx.unit_changed(host, "keepalived");
        steps.extend(ctx.writes(host, "keepalived"));
        steps.extend(ctx.ensure_unit(host, "keepalived", keepalived_changed, UnitAction::Reload));
        touched |= changed
            || keepalived_changed
            || !ctx.facts[*host].unit("keepalived.service").is_active();
    }
    if touched && let Some(first) = holders.first() {
        let port = frontend.port(inv);
        steps.push(Step::Wait {
            host: first.to_string(),
            gate: Gate::Http {
                what: format!("the frontend VIP {vip}:{port} to serve the roster"),
                address: vip.clone(),
                port,
                path: "/healthz".into(),
                timeout_secs: 30,
            },
        });
    }
    steps
}
