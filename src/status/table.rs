//! `status` for people: the verdict line, the VIPs, then one table per tier.

use super::{HostStatus, Status};
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

fn ssh(host: &HostStatus) -> String {
    if host.reachable {
        "ok".to_string()
    } else {
        format!("unreachable: {}", host.error.as_deref().unwrap_or(""))
    }
}

fn service(host: &HostStatus, name: &str) -> String {
    match host.service(name) {
        ActiveState::Unknown if !host.reachable => "?".to_string(),
        state => state.to_string(),
    }
}

fn vips(host: &HostStatus) -> String {
    if host.vips.is_empty() {
        "-".to_string()
    } else {
        host.vips.join(" ")
    }
}

/// The whole status as text.
pub fn render(status: &Status) -> String {
    let mut out = format!("{}: {}\n", status.stack, status.summary);
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
    let tier = |role: Role| -> Vec<&HostStatus> {
        status.hosts.iter().filter(|h| h.has_role(role)).collect()
    };

    let lbs = tier(Role::Lb);
    if !lbs.is_empty() {
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
        out.push('\n');
        out.push_str(&table(
            "Load balancers",
            &["host", "ssh", "haproxy", "keepalived", "VIP"],
            &rows,
        ));
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
    }

    let apps = tier(Role::App);
    if !apps.is_empty() {
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
        out.push('\n');
        out.push_str(&table("App nodes (roster)", &header, &rows));
    }

    let dbs = tier(Role::Db);
    if !dbs.is_empty() {
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
        out.push('\n');
        out.push_str(&table(
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
        ));
    }

    let arbiters = tier(Role::Arbiter);
    if !arbiters.is_empty() {
        let rows: Vec<Vec<String>> = arbiters
            .iter()
            .map(|h| vec![h.name.clone(), ssh(h), service(h, "garb")])
            .collect();
        out.push('\n');
        out.push_str(&table(
            "Arbitrators (garbd)",
            &["host", "ssh", "garb"],
            &rows,
        ));
    }

    let aerospike = tier(Role::Aerospike);
    if !aerospike.is_empty() {
        let rows: Vec<Vec<String>> = aerospike
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
        out.push('\n');
        out.push_str(&table(
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
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

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
