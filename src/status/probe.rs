//! What `status` reads from one host: ONE batched, read-only command (the facts `up` reads, plus
//! HAProxy's view of its backends from its stats socket and the roster's /readyz asked from the
//! host itself), and pure parsers of its output.

use crate::aerospike::AerospikeNode;
use crate::converge::commands;
use crate::facts::{self, HostFacts};
use crate::inventory::{Inventory, Role};
use serde::Serialize;
use std::collections::HashMap;

/// HAProxy's admin socket (the haproxy template declares it).
pub const HAPROXY_SOCKET: &str = "/run/haproxy/admin.sock";
/// The HAProxy backend of the roster app nodes (the haproxy template's name).
pub const HAPROXY_BACKEND: &str = "roster_app";

/// The command that reads everything `status` shows about `host`. It only reads: systemctl
/// show, SHOW GLOBAL STATUS, `show stat` on HAProxy's socket, one GET of /readyz (given up
/// after `readyz_timeout_secs`: a roster stuck on its database must not make its host look
/// unreachable).
pub fn command(
    inv: &Inventory,
    host: &str,
    readyz_address: &str,
    readyz_timeout_secs: u32,
) -> String {
    let units: Vec<String> = crate::roles::services(inv, host)
        .iter()
        .map(|s| format!("{s}.service"))
        .collect();
    let units: Vec<&str> = units.iter().map(String::as_str).collect();
    let mut script = facts::gather_command(&[], &[], &units);
    let entry = &inv.hosts[host];
    if entry.has(Role::Lb) {
        script.push_str("echo '@@haproxy'; ");
        script.push_str(&crate::commands::haproxy_show_stat(HAPROXY_SOCKET).to_string());
        script.push_str(" 2>/dev/null\n");
    }
    if entry.has(Role::Aerospike)
        && let (Some(settings), Some(address)) = (
            &inv.services.aerospike,
            inv.address(host, crate::inventory::Net::Backend),
        )
    {
        script.push_str("echo '@@aerospike'; ");
        script.push_str(&crate::aerospike::status_command(
            &address.to_string(),
            &settings.namespace,
        ));
        script.push('\n');
    }
    if entry.has(Role::App) {
        script.push_str("echo '@@readyz'; ");
        script.push_str(&commands::http_status(
            readyz_address,
            inv.services.roster.port,
            "/readyz",
            readyz_timeout_secs,
        ));
        script.push_str("\ntrue\n");
    }
    script
}

/// One HAProxy server line, as one lb host sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backend {
    /// The server's name: the app host's.
    pub server: String,
    /// `UP`, `DOWN`, `MAINT`, `UP 1/2` (going down), `DOWN 1/2` (coming up), `no check`.
    pub status: String,
    /// Sessions open now.
    pub sessions_now: u64,
    /// Sessions since HAProxy started.
    pub sessions_total: u64,
    /// Last health check: `L7OK/200 in 1 ms`, `L4CON`, ... (empty before the first).
    pub last_check: String,
    /// Seconds since the status last changed.
    pub seconds_since_change: Option<u64>,
}

impl Backend {
    /// In the rotation (`UP`; not `UP 1/2`, which is going down).
    pub fn is_up(&self) -> bool {
        self.status == "UP"
    }
}

/// Parse HAProxy's `show stat` CSV: the servers of `backend`, by the header's column names.
pub fn parse_show_stat(csv: &str, backend: &str) -> Vec<Backend> {
    let mut lines = csv.lines();
    let Some(header) = lines.next().and_then(|h| h.strip_prefix("# ")) else {
        return Vec::new();
    };
    let columns: HashMap<&str, usize> = header
        .split(',')
        .enumerate()
        .map(|(i, name)| (name, i))
        .collect();
    let mut servers = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let field = |name: &str| {
            columns
                .get(name)
                .and_then(|&i| fields.get(i))
                .copied()
                .unwrap_or("")
        };
        let number = |name: &str| field(name).parse::<u64>().ok();
        if field("pxname") != backend || matches!(field("svname"), "FRONTEND" | "BACKEND" | "") {
            continue;
        }
        let last_check = match (field("check_status"), field("check_code")) {
            ("", _) => String::new(),
            (status, "") => status.to_string(),
            (status, code) => format!("{status}/{code}"),
        };
        let last_check = match field("check_duration") {
            "" => last_check,
            ms => format!("{last_check} in {ms} ms"),
        };
        servers.push(Backend {
            server: field("svname").to_string(),
            status: field("status").to_string(),
            sessions_now: number("scur").unwrap_or(0),
            sessions_total: number("stot").unwrap_or(0),
            last_check,
            seconds_since_change: number("lastchg"),
        });
    }
    servers
}

/// An HTTP GET's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpCheck {
    /// The status code, when something answered.
    pub status: Option<u16>,
    /// 200.
    pub ok: bool,
}

impl HttpCheck {
    /// The outcome of a GET that got `status` (None: nothing answered).
    pub fn from_status(status: Option<u16>) -> HttpCheck {
        HttpCheck {
            status,
            ok: status == Some(200),
        }
    }

    /// `200`, `503`, `no answer`.
    pub fn describe(&self) -> String {
        match self.status {
            Some(code) => code.to_string(),
            None => "no answer".to_string(),
        }
    }
}

/// What one host's probe said.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The facts `up` reads too (units, wsrep status, addresses).
    pub facts: HostFacts,
    /// lb hosts: HAProxy's roster backend servers (None when the socket did not answer).
    pub backends: Option<Vec<Backend>>,
    /// app hosts: the local roster's /readyz.
    pub readyz: Option<HttpCheck>,
    /// aerospike hosts whose server answers.
    pub aerospike: Option<AerospikeNode>,
}

/// Parse the output of [`command`].
pub fn parse(output: &str) -> Probe {
    let sections = facts::sections(output);
    let backends = sections.get("haproxy").and_then(|lines| {
        (!lines.is_empty()).then(|| parse_show_stat(&lines.join("\n"), HAPROXY_BACKEND))
    });
    let readyz = sections
        .get("readyz")
        .map(|lines| HttpCheck::from_status(lines.first().and_then(|l| l.trim().parse().ok())));
    let section = |name: &str| sections.get(name).map(|l| l.join("\n")).unwrap_or_default();
    let aerospike = crate::aerospike::parse_node(&section("aerospike"), &section("asns"));
    Probe {
        facts: facts::parse(output),
        backends,
        readyz,
        aerospike,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `show stat` recorded from a lab lb host (HAProxy 2.6), app2's roster stopped; trimmed to
    /// the first 40 columns (the parser goes by the header's names).
    const SHOW_STAT: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,
roster,FRONTEND,,,1,3,262119,57,5360,36001,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,3,,,,0,
roster_app,app1,0,0,1,2,,31,2900,19000,,0,,0,0,0,0,UP,1,1,0,0,0,141,0,,1,3,1,,31,,2,0,,2,L7OK,200,1,0,
roster_app,app2,0,0,0,1,,26,2460,17001,,0,,1,0,2,0,DOWN,1,1,0,3,1,4,4,,1,3,2,,26,,2,0,,1,L4CON,,0,0,
roster_app,BACKEND,0,0,1,3,26212,57,5360,36001,0,0,,1,0,2,0,UP,1,1,0,,1,141,4,,1,3,0,,57,,1,0,,3,,,,0,
stats,FRONTEND,,,0,0,262119,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,4,0,,,,0,0,0,0,,,,0,
";

    #[test]
    fn show_stat_gives_each_server_of_the_backend() {
        let servers = parse_show_stat(SHOW_STAT, HAPROXY_BACKEND);
        assert_eq!(
            servers,
            vec![
                Backend {
                    server: "app1".into(),
                    status: "UP".into(),
                    sessions_now: 1,
                    sessions_total: 31,
                    last_check: "L7OK/200 in 1 ms".into(),
                    seconds_since_change: Some(141),
                },
                Backend {
                    server: "app2".into(),
                    status: "DOWN".into(),
                    sessions_now: 0,
                    sessions_total: 26,
                    last_check: "L4CON in 0 ms".into(),
                    seconds_since_change: Some(4),
                },
            ]
        );
        assert!(servers[0].is_up() && !servers[1].is_up());
    }

    #[test]
    fn no_answer_from_the_socket_is_no_backends_not_an_empty_list() {
        let probe = parse("@@os\nx86_64\ndebian 12\n@@haproxy\n");
        assert_eq!(probe.backends, None);
        let probe = parse(&format!("@@units\n@@haproxy\n{SHOW_STAT}"));
        assert_eq!(probe.backends.map(|b| b.len()), Some(2));
    }

    #[test]
    fn readyz_is_read_as_a_status_code() {
        assert_eq!(
            parse("@@readyz\n200\n").readyz,
            Some(HttpCheck {
                status: Some(200),
                ok: true
            })
        );
        assert_eq!(
            parse("@@readyz\n\n").readyz,
            Some(HttpCheck {
                status: None,
                ok: false
            })
        );
        assert_eq!(parse("@@units\n").readyz, None);
    }

    #[test]
    fn each_role_brings_its_services() {
        let inv = crate::inventory::load(std::path::Path::new("inventory/example.yml")).unwrap();
        for host in inv.hosts_with(Role::Lb) {
            assert_eq!(
                crate::roles::services(&inv, host),
                ["haproxy", "keepalived"]
            );
        }
        for host in inv.hosts_with(Role::Db) {
            assert!(crate::roles::services(&inv, host).contains(&"mariadb"));
        }
        let probe = command(&inv, inv.hosts_with(Role::Lb)[0], "127.0.0.1", 2);
        assert!(probe.contains("show stat") && probe.contains("haproxy.service"));
        let show_stat = crate::commands::haproxy_show_stat(HAPROXY_SOCKET);
        assert!(
            probe.contains(&format!("echo '@@haproxy'; {show_stat} 2>/dev/null\n")),
            "{probe}"
        );
        assert!(!probe.contains("@@readyz"));
    }
}
