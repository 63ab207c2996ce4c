//! The frontend role: who carries the frontend VIP and serves clients. One of two shapes,
//! decided once here ([`Frontend::of`]): the lb pair (HAProxy + keepalived on the lb hosts, the
//! default) or the web pair (nginx + keepalived on the app hosts, the on-call original).

use super::{Ctx, Gate, Role, Step, UnitAction};
use crate::inventory::{Inventory, Role as HostRole};

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
    plan,
};

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
