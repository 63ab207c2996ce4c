//! `status` for people: the verdict line, the VIPs, then one table per tier.

use super::{HostHealth, Status};
use crate::facts::ActiveState;
use crate::inventory::Role;
use std::fmt::Write as _;

/// A title line, then [`columns`].
fn table(title: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    format!("{title}\n{}", columns(header, rows))
}

/// Left-aligned columns, two spaces apart, no padding at the ends of lines.
pub fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = format!("{}\n", line(header.to_vec()));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// The ssh column: `ok`, or why the host could not be read.
fn ssh(host: &HostHealth) -> String {
    if host.reachable {
        "ok".to_string()
    } else {
        format!("unreachable: {}", host.error.as_deref().unwrap_or(""))
    }
}

/// A service's column: systemd's word for its state, `?` when the host was not read.
fn service(host: &HostHealth, name: &str) -> String {
    match host.service(name) {
        ActiveState::Unknown if !host.reachable => "?".to_string(),
        state => state.to_string(),
    }
}

/// The VIP column: the addresses it holds, `-` for none.
fn vips(host: &HostHealth) -> String {
    if host.vips.is_empty() {
        "-".to_string()
    } else {
        host.vips.join(" ")
    }
}

/// The whole status as text: the verdict line, the VIPs, a table per tier that has hosts,
/// and when it was checked.
pub fn render(status: &Status) -> String {
    let mut out = format!("{}: {}\n", status.stack, status.summary);
    out.push_str(&vip_lines(status));
    let tier = |role: Role| -> Vec<&HostHealth> {
        status.hosts.iter().filter(|h| h.has_role(role)).collect()
    };
    let tables = [
        load_balancers(&tier(Role::Lb)),
        app_nodes(&tier(Role::App)),
        databases(&tier(Role::Db)),
        arbitrators(&tier(Role::Arbiter)),
        aerospike(&tier(Role::Aerospike)),
    ];
    for table in tables.iter().flatten() {
        out.push('\n');
        out.push_str(table);
    }
    let _ = writeln!(
        out,
        "\nchecked {} hosts in {} ms at {}",
        status.hosts.len(),
        status.elapsed_ms,
        status.checked_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    out
}

/// One line per VIP: who holds it, and (frontend) what answered through it.
fn vip_lines(status: &Status) -> String {
    let mut out = String::new();
    for vip in &status.vips {
        let holders = if vip.holders.is_empty() {
            "no host".to_string()
        } else {
            vip.holders.join(", ")
        };
        let _ = write!(out, "{} VIP {} on {holders}", vip.name, vip.address);
        if let Some(readyz) = &vip.readyz {
            let _ = write!(
                out,
                ", {} through it: {}",
                super::VIP_CHECK_PATH,
                readyz.describe()
            );
        }
        out.push('\n');
    }
    out
}

/// The lb hosts' services, then HAProxy's view of each backend from each lb (two tables, a
/// blank line apart); None without lb hosts.
fn load_balancers(lbs: &[&HostHealth]) -> Option<String> {
    if lbs.is_empty() {
        return None;
    }
    let rows: Vec<Vec<String>> = lbs
        .iter()
        .map(|h| {
            vec![
                h.name.clone(),
                ssh(h),
                service(h, "haproxy"),
                service(h, "keepalived"),
                vips(h),
            ]
        })
        .collect();
    let mut out = table(
        "Load balancers",
        &["host", "ssh", "haproxy", "keepalived", "VIP"],
        &rows,
    );
    let mut rows = Vec::new();
    for lb in lbs.iter().filter(|h| h.reachable) {
        match &lb.haproxy_backends {
            None => rows.push(vec![
                lb.name.clone(),
                "-".into(),
                "stats socket did not answer".into(),
            ]),
            Some(backends) => rows.extend(backends.iter().map(|b| {
                vec![
                    lb.name.clone(),
                    b.server.clone(),
                    b.status.clone(),
                    format!("{}/{}", b.sessions_now, b.sessions_total),
                    b.last_check.clone(),
                    b.seconds_since_change
                        .map(|s| format!("{s} s"))
                        .unwrap_or_default(),
                ]
            })),
        }
    }
    out.push('\n');
    out.push_str(&table(
        "HAProxy backends (as each lb sees them)",
        &[
            "lb",
            "server",
            "status",
            "sessions now/total",
            "last check",
            "since",
        ],
        &rows,
    ));
    Some(out)
}

/// The app hosts: the roster, and the columns of the services any of them runs (nginx,
/// keepalived and its VIP in the web pair, lsyncd), then /readyz; None without app hosts.
fn app_nodes(apps: &[&HostHealth]) -> Option<String> {
    if apps.is_empty() {
        return None;
    }
    let nginx = apps.iter().any(|h| h.services.contains_key("nginx"));
    let lsyncd = apps.iter().any(|h| h.services.contains_key("lsyncd"));
    let keepalived = apps.iter().any(|h| h.services.contains_key("keepalived"));
    let mut header = vec!["host", "ssh", "roster"];
    if nginx {
        header.push("nginx");
    }
    if keepalived {
        header.extend(["keepalived", "VIP"]);
    }
    if lsyncd {
        header.push("lsyncd");
    }
    header.push("/readyz");
    let rows: Vec<Vec<String>> = apps
        .iter()
        .map(|h| {
            let mut row = vec![h.name.clone(), ssh(h), service(h, "roster")];
            if nginx {
                row.push(service(h, "nginx"));
            }
            if keepalived {
                row.extend([service(h, "keepalived"), vips(h)]);
            }
            if lsyncd {
                row.push(service(h, "lsyncd"));
            }
            row.push(
                h.readyz
                    .as_ref()
                    .map(|r| r.describe())
                    .unwrap_or("?".into()),
            );
            row
        })
        .collect();
    Some(table("App nodes (roster)", &header, &rows))
}

/// The db hosts: services, VIP, and each node's Galera state; None without db hosts.
fn databases(dbs: &[&HostHealth]) -> Option<String> {
    if dbs.is_empty() {
        return None;
    }
    let rows: Vec<Vec<String>> = dbs
        .iter()
        .map(|h| {
            let mut row = vec![
                h.name.clone(),
                ssh(h),
                service(h, "mariadb"),
                service(h, "keepalived"),
                vips(h),
            ];
            match &h.galera {
                Some(g) => row.extend([
                    g.cluster_status.to_string(),
                    g.cluster_size.to_string(),
                    g.local_state.to_string(),
                    g.last_committed.to_string(),
                ]),
                None => row.extend(["-", "-", "-", "-"].map(String::from)),
            }
            row
        })
        .collect();
    Some(table(
        "Database (MariaDB Galera)",
        &[
            "host",
            "ssh",
            "mariadb",
            "keepalived",
            "VIP",
            "cluster",
            "size",
            "state",
            "last committed",
        ],
        &rows,
    ))
}

/// The garbd hosts; None without arbitrators.
fn arbitrators(arbiters: &[&HostHealth]) -> Option<String> {
    if arbiters.is_empty() {
        return None;
    }
    let rows: Vec<Vec<String>> = arbiters
        .iter()
        .map(|h| vec![h.name.clone(), ssh(h), service(h, "garb")])
        .collect();
    Some(table(
        "Arbitrators (garbd)",
        &["host", "ssh", "garb"],
        &rows,
    ))
}

/// The Aerospike hosts and each node's view of the cluster; None without them.
fn aerospike(nodes: &[&HostHealth]) -> Option<String> {
    if nodes.is_empty() {
        return None;
    }
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|h| {
            let mut row = vec![h.name.clone(), ssh(h), service(h, "aerospike")];
            match &h.aerospike {
                Some(a) => row.extend([
                    a.cluster_size.to_string(),
                    a.cluster_integrity.to_string(),
                    a.migrate_partitions_remaining.to_string(),
                    a.namespace_objects
                        .map(|o| o.to_string())
                        .unwrap_or("-".into()),
                ]),
                None => row.extend(["-", "-", "-", "-"].map(String::from)),
            }
            row
        })
        .collect();
    Some(table(
        "Aerospike",
        &[
            "host",
            "ssh",
            "aerospike",
            "cluster size",
            "integrity",
            "migrations pending",
            "objects",
        ],
        &rows,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::galera::{ClusterStatus, LocalState, WsrepStatus};
    use crate::status::probe::{Backend, HttpCheck};
    use crate::status::{Verdict, VipStatus};

    fn host(name: &str, roles: &[&str], services: &[(&str, ActiveState)]) -> HostHealth {
        HostHealth {
            name: name.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            reachable: true,
            error: None,
            services: services
                .iter()
                .map(|(s, state)| (s.to_string(), state.clone()))
                .collect(),
            vips: Vec::new(),
            galera: None,
            haproxy_backends: None,
            readyz: None,
            aerospike: None,
        }
    }

    /// Every tier, with a host unreachable, a service activating, a node not Synced and a
    /// socket that did not answer: the whole text, as people read it.
    #[test]
    fn the_status_reads_as_one_table_per_tier() {
        use ActiveState::{Activating, Active, Inactive};
        let mut lb1 = host("lb1", &["lb"], &[]);
        lb1.reachable = false;
        lb1.error = Some("no answer within 5 s".into());
        let mut lb2 = host(
            "lb2",
            &["lb"],
            &[("haproxy", Active), ("keepalived", Active)],
        );
        lb2.vips = vec!["10.0.1.100".into()];
        lb2.haproxy_backends = Some(vec![Backend {
            server: "app1".into(),
            status: "DOWN".into(),
            sessions_now: 0,
            sessions_total: 26,
            last_check: "L4CON in 0 ms".into(),
            seconds_since_change: Some(4),
        }]);
        let mut app1 = host(
            "app1",
            &["app", "arbiter"],
            &[("roster", Inactive), ("garb", Active)],
        );
        app1.readyz = Some(HttpCheck::from_status(None));
        let mut db1 = host(
            "db1",
            &["db"],
            &[("mariadb", Active), ("keepalived", Active)],
        );
        db1.vips = vec!["10.0.2.100".into()];
        db1.galera = Some(WsrepStatus {
            cluster_status: ClusterStatus::Primary,
            cluster_size: 2,
            local_state: LocalState::Donor,
            last_committed: 17,
        });
        let db2 = host(
            "db2",
            &["db"],
            &[("mariadb", Activating), ("keepalived", Active)],
        );
        let status = Status {
            stack: "t".into(),
            verdict: Verdict::Degraded,
            summary: "degraded: lb1 unreachable (no answer within 5 s)".into(),
            reasons: Vec::new(),
            checked_at: "2026-11-23T15:55:26Z".parse().unwrap(),
            elapsed_ms: 309,
            limit: None,
            warnings: Vec::new(),
            vips: vec![
                VipStatus {
                    name: "frontend".into(),
                    address: "10.0.1.100".into(),
                    holders: vec!["lb2".into()],
                    readyz: Some(HttpCheck::from_status(Some(200))),
                },
                VipStatus {
                    name: "db".into(),
                    address: "10.0.2.100".into(),
                    holders: Vec::new(),
                    readyz: None,
                },
            ],
            hosts: vec![lb1, lb2, app1, db1, db2],
        };
        assert_eq!(render(&status), RENDERED);
    }

    /// What [`the_status_reads_as_one_table_per_tier`] must print.
    const RENDERED: &str = "\
t: degraded: lb1 unreachable (no answer within 5 s)
frontend VIP 10.0.1.100 on lb2, /api/v1/roster through it: 200
db VIP 10.0.2.100 on no host

Load balancers
host  ssh                                haproxy  keepalived  VIP
lb1   unreachable: no answer within 5 s  ?        ?           -
lb2   ok                                 active   active      10.0.1.100

HAProxy backends (as each lb sees them)
lb   server  status  sessions now/total  last check     since
lb2  app1    DOWN    0/26                L4CON in 0 ms  4 s

App nodes (roster)
host  ssh  roster    /readyz
app1  ok   inactive  no answer

Database (MariaDB Galera)
host  ssh  mariadb     keepalived  VIP         cluster  size  state           last committed
db1   ok   active      active      10.0.2.100  Primary  2     Donor/Desynced  17
db2   ok   activating  active      -           -        -     -               -

Arbitrators (garbd)
host  ssh  garb
app1  ok   active

checked 5 hosts in 309 ms at 2026-11-23 15:55:26 UTC
";

    #[test]
    fn columns_line_up_and_rows_end_without_padding() {
        let text = table(
            "T",
            &["host", "state"],
            &[
                vec!["lb1".into(), "active".into()],
                vec!["app10".into(), "inactive".into()],
            ],
        );
        assert_eq!(text, "T\nhost   state\nlb1    active\napp10  inactive\n");
    }
}
