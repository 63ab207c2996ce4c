//! The commands `status` and the drills run on hosts, built by pure functions through
//! [`Argv`] (one quoting rule, in `shell`) and tested as the text they render: what a drill
//! will type on a host can be read here, and in `failover-test --dry-run`, before it runs.
//! (`up`'s own commands are in `converge::commands`.)

use crate::converge::commands::{
    FRONTEND_VIP_DRAIN, desync_galera_node, drain_db_vip, drain_vip, undrain_db_vip, undrain_vip,
};
use crate::roles::frontend::Frontend;
use crate::shell::Argv;
use std::net::Ipv4Addr;

/// `systemctl start UNITS` (a no-op for a running unit), in the order given.
pub fn systemctl_start(units: &[&str]) -> Argv {
    Argv::new("systemctl")
        .arg("start")
        .args(units.iter().copied())
}

/// `systemctl stop UNITS`: a clean stop (the unit's own stop logic), in the order given.
pub fn systemctl_stop(units: &[&str]) -> Argv {
    Argv::new("systemctl")
        .arg("stop")
        .args(units.iter().copied())
}

/// `systemctl kill -s KILL UNIT`: SIGKILL to every process of the unit, a crash as far as
/// the unit can tell.
pub fn systemctl_kill(unit: &str) -> Argv {
    Argv::new("systemctl").args(["kill", "-s", "KILL", unit])
}

/// SIGKILL a unit, then stop it: a crash that systemd does not undo by restarting it
/// (Debian's `mariadb.service` restarts on abort).
pub fn kill_and_keep_down(unit: &str) -> String {
    format!("{}; {}", systemctl_kill(unit), systemctl_stop(&[unit]))
}

/// The nftables table the partition drill cuts a host off with: its own, so healing it
/// (deleting it) leaves minicloud's firewall (`inet minicloud`) and other tools' rules alone.
pub const DRILL_TABLE: &str = "minicloud_drill";

/// Cut a host off one interface except for SSH (so the drill can heal it), in
/// [`DRILL_TABLE`]. The rules go through a quoted here-document: nothing in them is expanded
/// by the shell. `iface` is an inventory interface name (letters, digits, `-`, `_` and `.`,
/// checked when the inventory is read), so it cannot end the here-document or the string.
pub fn cut_off_interface(iface: &str) -> String {
    format!(
        "nft -f - <<'EOF'\ntable inet {DRILL_TABLE} {{\n  chain input {{ type filter hook input priority -10; policy accept; iifname \"{iface}\" tcp dport 22 accept; iifname \"{iface}\" drop; }}\n  chain output {{ type filter hook output priority -10; policy accept; oifname \"{iface}\" tcp sport 22 accept; oifname \"{iface}\" drop; }}\n}}\nEOF"
    )
}

/// Undo [`cut_off_interface`]: delete [`DRILL_TABLE`] whole.
pub fn heal_interfaces() -> Argv {
    Argv::new("nft").args(["delete", "table", "inet", DRILL_TABLE])
}

/// The local MariaDB in batch mode (tab-separated, no column names), reading SQL on stdin:
/// how the drills read back and remove their rows on each db node.
pub fn mariadb_batch() -> Argv {
    Argv::new("mariadb").args(["-N", "-B"])
}

/// The Perl program of [`haproxy_cli`]: connect to the socket named by its first argument
/// (exit 1 when it cannot), send the command line given as its second, print the answer.
const HAPROXY_CLI_PERL: &str = r#"$s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1; print $s "$ARGV[1]\n"; print while <$s>;"#;

/// One command line to HAProxy's admin socket at `socket`, its answer printed; given up
/// after 3 s.
///
/// Perl, because `perl-base` is Essential on Debian: it is on every host and cannot be
/// removed, and its IO::Socket::UNIX talks to a Unix socket, so an lb host needs no socat or
/// netcat installed just to be watched. The socket's path and the command are arguments,
/// never part of the program's text.
pub fn haproxy_cli(socket: &str, command: &str) -> Argv {
    Argv::new("timeout").args([
        "3",
        "perl",
        "-MIO::Socket::UNIX",
        "-e",
        HAPROXY_CLI_PERL,
        socket,
        command,
    ])
}

/// HAProxy's `show stat` (CSV) from its admin socket at `socket`.
pub fn haproxy_show_stat(socket: &str) -> Argv {
    haproxy_cli(socket, "show stat")
}

/// What HAProxy's admin socket is told before a planned stop of its lb host: from now on every
/// answer closes its client connection (`templates/haproxy.cfg.tera` reads the variable), so
/// no client holds an idle keep-alive connection to this host when the frontend VIP leaves it:
/// the next holder knows none of them and would reset it under the client's next request.
/// `set var` is only taken in the CLI's experimental mode (HAProxy 2.6 and 3.0 alike); it
/// lasts until HAProxy restarts.
pub const HAPROXY_CLOSE_CONNECTIONS: &str =
    "experimental-mode on; set var proc.minicloud_drain bool(1)";

/// Wait until `vip` has left this host's interfaces (`lo` aside: see
/// [`drain_frontend_then_stop`]), polling every 0.1 s for up to `wait_seconds`, then give the
/// new holder's gratuitous ARP a moment to reach the network; fail (exit 1) when it does not
/// leave (no other host could take it).
fn wait_vip_left(vip: Ipv4Addr, what: &str, wait_seconds: u64) -> String {
    let tries = wait_seconds * 10;
    format!(
        "n=0; while ip -o -4 addr show | grep -vF ': lo ' | grep -qF ' inet {vip}/'; do n=$((n+1)); \
         if [ $n -gt {tries} ]; then echo 'the {what} {vip} did not leave this host within {wait_seconds} s' >&2; exit 1; fi; \
         sleep 0.1; done; sleep 0.5"
    )
}

/// Planned maintenance of a DB VIP holder: raise the drain flag (its track script then
/// fails and another Synced node takes the VIP; the flag expires after `flag_seconds`), wait
/// up to `wait_seconds` until the VIP has left this host, give the new holder's gratuitous
/// ARP a moment to reach the app hosts, take the node out of flow control, then stop `unit`
/// cleanly. If the VIP does not leave (no other node could take it), nothing is stopped and
/// the command fails.
pub fn drain_then_stop(vip: Ipv4Addr, unit: &str, flag_seconds: u64, wait_seconds: u64) -> String {
    format!(
        "{drain}; {wait}; {desync}; {stop}",
        drain = drain_db_vip(flag_seconds),
        wait = wait_vip_left(vip, "DB VIP", wait_seconds),
        desync = desync_galera_node(),
        stop = systemctl_stop(&[unit]),
    )
}

/// Undo [`drain_then_stop`]: start `unit`, then let the node hold the DB VIP again (it takes
/// it only when it is Synced and the holder fails: VRRP here does not preempt).
pub fn start_and_undrain(unit: &str) -> String {
    format!("{}; {}", systemctl_start(&[unit]), undrain_db_vip())
}

/// Planned maintenance of the frontend VIP's holder, whose proxy (HAProxy, or nginx in the web
/// pair: `frontend`) answers clients, so that no client request fails:
///
/// 1. HAProxy closes every client connection after its next answer
///    ([`HAPROXY_CLOSE_CONNECTIONS`]; nginx has no such switch at run time): no client keeps an
///    idle connection here that the next holder, which knows none of them, would reset.
/// 2. The VIP is also put on `lo` as a /32: when keepalived drops it here, the other holder
///    takes it only after its skew time (~50 ms), and packets that reach this host meanwhile
///    would be dropped (a SYN is sent again only after 1 s). With the address still local they
///    are answered, and answers to requests in flight still leave from the VIP.
/// 3. The drain flag makes the track script fail: keepalived gives the VIP up and the other
///    holder takes it (the flag expires after `flag_seconds`).
/// 4. Once the VIP has left the interface (at most `wait_seconds`) and the new holder's
///    gratuitous ARP has had a moment, the `lo` address goes and keepalived and the proxy stop
///    cleanly.
///
/// If the VIP does not leave, nothing is stopped and the command fails (the `lo` address is
/// removed either way).
pub fn drain_frontend_then_stop(
    vip: Ipv4Addr,
    frontend: Frontend,
    flag_seconds: u64,
    wait_seconds: u64,
) -> String {
    let close = if frontend == Frontend::LbPair {
        format!(
            "{} >/dev/null || true; ",
            haproxy_cli(
                crate::status::probe::HAPROXY_SOCKET,
                HAPROXY_CLOSE_CONNECTIONS
            )
        )
    } else {
        String::new()
    };
    format!(
        // The wait in a subshell: its `exit 1` must reach the `lo` address's removal.
        "{close}{hold}; {drain}; ({wait}) || {{ {release}; exit 1; }}; {release}; {stop}",
        hold = vip_on_loopback(vip),
        drain = drain_vip(FRONTEND_VIP_DRAIN, flag_seconds),
        wait = wait_vip_left(vip, "frontend VIP", wait_seconds),
        release = vip_off_loopback(vip),
        stop = systemctl_stop(&["keepalived", frontend.service()]),
    )
}

/// Keep `vip` local on `lo` while it moves (see [`drain_frontend_then_stop`]); no-op when it
/// is there already.
fn vip_on_loopback(vip: Ipv4Addr) -> String {
    format!("ip addr replace {vip}/32 dev lo")
}

/// Undo [`vip_on_loopback`]; no-op when it is not there.
fn vip_off_loopback(vip: Ipv4Addr) -> String {
    format!("ip addr del {vip}/32 dev lo 2>/dev/null || true")
}

/// Undo [`drain_frontend_then_stop`]: the `lo` address gone (should the stop have been cut
/// short), the proxy and keepalived started, then the host may hold the frontend VIP again (it
/// takes it only when the holder fails: VRRP here does not preempt).
pub fn start_and_undrain_frontend(vip: Ipv4Addr, frontend: Frontend) -> String {
    format!(
        "{}; {}; {}",
        vip_off_loopback(vip),
        systemctl_start(&[frontend.service(), "keepalived"]),
        undrain_vip(FRONTEND_VIP_DRAIN)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemctl_lines_read_as_typed() {
        assert_eq!(
            systemctl_stop(&["roster"]).to_string(),
            "systemctl stop roster"
        );
        assert_eq!(
            systemctl_kill("roster").to_string(),
            "systemctl kill -s KILL roster"
        );
        assert_eq!(
            systemctl_start(&["haproxy", "keepalived"]).to_string(),
            "systemctl start haproxy keepalived"
        );
        assert_eq!(
            kill_and_keep_down("mariadb"),
            "systemctl kill -s KILL mariadb; systemctl stop mariadb"
        );
        // A unit name is one word, whatever it holds.
        assert_eq!(
            systemctl_start(&["a b;reboot"]).to_string(),
            "systemctl start 'a b;reboot'"
        );
    }

    #[test]
    fn the_partition_keeps_ssh_and_heals_as_a_whole_table() {
        let cut = cut_off_interface("eth1");
        assert!(cut.starts_with("nft -f - <<'EOF'\ntable inet minicloud_drill {\n"));
        assert!(cut.contains("iifname \"eth1\" tcp dport 22 accept; iifname \"eth1\" drop;"));
        assert!(cut.contains("oifname \"eth1\" tcp sport 22 accept; oifname \"eth1\" drop;"));
        assert!(cut.ends_with("\n}\nEOF"));
        assert_eq!(
            heal_interfaces().to_string(),
            "nft delete table inet minicloud_drill"
        );
        assert_eq!(mariadb_batch().to_string(), "mariadb -N -B");
    }

    #[test]
    fn show_stat_is_one_perl_program_with_the_socket_as_its_argument() {
        assert_eq!(
            haproxy_show_stat("/run/haproxy/admin.sock").to_string(),
            r#"timeout 3 perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1; print $s "$ARGV[1]\n"; print while <$s>;' /run/haproxy/admin.sock 'show stat'"#
        );
    }

    /// The frontend's planned stop: HAProxy's switch only where HAProxy answers (nginx in a
    /// web pair has none), the VIP held on `lo` from before the drain until after it left,
    /// and released on the failure path too; then keepalived before the proxy.
    #[test]
    fn a_frontend_stop_closes_connections_only_on_haproxy_and_always_releases_lo() {
        let vip: Ipv4Addr = "10.0.1.100".parse().unwrap();
        let lb = drain_frontend_then_stop(vip, Frontend::LbPair, 130, 30);
        let web = drain_frontend_then_stop(vip, Frontend::WebPair, 130, 30);
        assert!(lb.starts_with("timeout 3 perl"), "{lb}");
        assert!(
            lb.contains(&format!("'{HAPROXY_CLOSE_CONNECTIONS}'")),
            "{lb}"
        );
        assert!(!web.contains("perl"), "{web}");
        for (script, proxy) in [(&lb, "haproxy"), (&web, "nginx")] {
            let hold = script.find("ip addr replace 10.0.1.100/32 dev lo").unwrap();
            let drain = script.find("frontend-vip-drain").unwrap();
            let release = "ip addr del 10.0.1.100/32 dev lo 2>/dev/null || true";
            assert!(hold < drain, "{script}");
            assert_eq!(script.matches(release).count(), 2, "{script}");
            assert!(
                script.contains(&format!("|| {{ {release}; exit 1; }}")),
                "{script}"
            );
            assert!(
                script.ends_with(&format!("{release}; systemctl stop keepalived {proxy}")),
                "{script}"
            );
        }
        assert_eq!(
            start_and_undrain_frontend(vip, Frontend::WebPair),
            "ip addr del 10.0.1.100/32 dev lo 2>/dev/null || true; systemctl start nginx \
             keepalived; rm -f /run/minicloud/frontend-vip-drain"
        );
    }

    /// The real command, through `sh -c`, against a Unix socket that answers as HAProxy's
    /// does: it asks `show stat` and prints the whole answer; no socket, exit 1.
    #[test]
    fn show_stat_reads_a_real_socket() {
        use std::io::{BufRead, Write};
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("admin.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut asked = String::new();
            std::io::BufReader::new(&stream)
                .read_line(&mut asked)
                .unwrap();
            (&stream)
                .write_all(b"# pxname,svname,status\nroster_app,app1,UP\n")
                .unwrap();
            asked
        });
        let run = |socket: &std::path::Path| {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(haproxy_show_stat(socket.to_str().unwrap()).to_string())
                .output()
                .unwrap()
        };
        let out = run(&socket);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(server.join().unwrap(), "show stat\n");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "# pxname,svname,status\nroster_app,app1,UP\n"
        );
        assert_eq!(run(&dir.path().join("none.sock")).status.code(), Some(1));
    }
}
