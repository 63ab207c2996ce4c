//! Network separation, firewall, secrets and least privilege end to end on the lab's real hosts
//! (nftables, sshd, MariaDB Galera with mariabackup SST, HAProxy, keepalived, the roster app):
//!
//! - every service listens only on the network it serves; the firewall answers 3306 from app
//!   hosts and nobody else, Galera only among db hosts and arbiters, the roster port only to
//!   the lb hosts;
//! - a rule set that locks SSH out is rolled back by the host's dead-man switch, and the host
//!   is reachable again; an inventory whose `ssh_from` leaves this machine out is refused
//!   before anything changes; the rules come back at boot;
//! - the roster's DB user cannot read `mysql.user` or create a database; root has no account
//!   but the local socket; the SST user has exactly the grants SST needs;
//! - `secrets rotate` under live load: not one request fails, the old password is refused,
//!   the new one works, a full state transfer works with the new SST password;
//! - every secret value is absent from the output of `up`, `plan`, `status`, `render`, a drill
//!   and `secrets` (with --json and -vv), from every world-readable file, process command line
//!   and the journal on every host; the lab's SSH private key is on no host;
//! - `plan` after every override changed, and with the secrets file gone, prints no secret
//!   value, old or new, and writes no secrets file.
//!
//! Takes over the machine's lab (down at the start and at the end); needs root and dockerd.

mod common;

use common::{LabTest, lab_host, lab_hosts};
use minicloud::lab::topology::LabHost;
use minicloud::secrets::Secrets;
use serde_json::Value;
use sqlx::Connection;
use std::path::Path;
use std::time::{Duration, Instant};

const FRONTEND_VIP: &str = "10.231.50.100";
const DB_VIP: &str = "10.231.60.100";

/// Where a connection attempt comes from: a lab host, or this machine.
#[derive(Clone, Copy, Debug)]
enum From<'a> {
    Host(&'a str),
    Here,
}

/// Whether a TCP connection to `address:port` from `from` is accepted within 2 s.
async fn answers(lab: &LabTest, from: From<'_>, address: &str, port: u16) -> bool {
    match from {
        From::Host(name) => {
            let probe = format!(
                "timeout 2 bash -c '</dev/tcp/{address}/{port}' 2>/dev/null && echo open || echo closed"
            );
            let out = lab.run(&lab_host(name), &probe).await.stdout_text();
            out.trim() == "open"
        }
        From::Here => matches!(
            tokio::time::timeout(
                Duration::from_secs(2),
                tokio::net::TcpStream::connect((address, port))
            )
            .await,
            Ok(Ok(_))
        ),
    }
}

async fn connectivity_matrix(lab: &LabTest) {
    let db1 = "10.231.60.31";
    let app1_front = "10.231.50.101";
    let app1_back = "10.231.60.101";
    let cases: &[(From, &str, u16, bool, &str)] = &[
        (
            From::Host("app1"),
            db1,
            3306,
            true,
            "MariaDB from an app host",
        ),
        (
            From::Host("app2"),
            DB_VIP,
            3306,
            true,
            "the DB VIP from an app host",
        ),
        (
            From::Host("lb1"),
            db1,
            3306,
            false,
            "MariaDB from an lb host",
        ),
        (From::Here, db1, 3306, false, "MariaDB from this machine"),
        (
            From::Here,
            DB_VIP,
            3306,
            false,
            "the DB VIP from this machine",
        ),
        (
            From::Host("db2"),
            db1,
            4567,
            true,
            "Galera between db hosts",
        ),
        (
            From::Host("db1"),
            app1_back,
            4567,
            true,
            "garbd from a db host",
        ),
        (
            From::Host("app2"),
            db1,
            4567,
            false,
            "Galera from a non-arbiter app host",
        ),
        (From::Here, db1, 4567, false, "Galera from this machine"),
        (
            From::Here,
            app1_back,
            4567,
            false,
            "garbd from this machine",
        ),
        (
            From::Host("lb1"),
            app1_front,
            8080,
            true,
            "the roster from lb1",
        ),
        (
            From::Host("lb2"),
            app1_front,
            8080,
            true,
            "the roster from lb2",
        ),
        (
            From::Host("app2"),
            app1_front,
            8080,
            false,
            "the roster from another app host",
        ),
        (
            From::Here,
            app1_front,
            8080,
            false,
            "the roster from this machine",
        ),
        (
            From::Here,
            FRONTEND_VIP,
            80,
            true,
            "HTTP to the frontend VIP",
        ),
    ];
    let results = futures_util::future::join_all(
        cases
            .iter()
            .map(|(from, address, port, _, _)| answers(lab, *from, address, *port)),
    )
    .await;
    let wrong: Vec<String> = cases
        .iter()
        .zip(results)
        .filter(|((_, _, _, expected, _), got)| got != expected)
        .map(|((from, address, port, expected, what), _)| {
            format!(
                "{what}: {from:?} -> {address}:{port} should be {}",
                if *expected { "open" } else { "closed" }
            )
        })
        .collect();
    assert!(wrong.is_empty(), "firewall matrix:\n{}", wrong.join("\n"));
}

/// Every listening socket is bound to the network its service serves: only sshd (and
/// Docker's resolver on 127.0.0.11) may listen on every address.
async fn services_bind_their_networks(lab: &LabTest) {
    for host in lab_hosts() {
        let out = lab
            .run(&host, "ss -Hltn | awk '{print $4}'")
            .await
            .stdout_text();
        for listen in out.lines() {
            let (address, port) = listen.rsplit_once(':').unwrap();
            let everywhere = matches!(address, "0.0.0.0" | "[::]" | "*");
            assert!(
                !everywhere || port == "22",
                "{}: something listens on every address: {listen}\n{out}",
                host.name
            );
        }
        let expect: &[&str] = match host.name.as_str() {
            "lb1" => &["10.231.50.100:80", "10.231.50.11:8404"],
            "app1" => &["10.231.50.101:8080", "10.231.60.101:4567"],
            "db1" => &[
                "10.231.60.31:3306",
                "10.231.60.100:3306",
                "10.231.60.31:4567",
            ],
            _ => &[],
        };
        for listen in expect {
            assert!(
                out.lines().any(|l| l == *listen),
                "{}: no {listen}:\n{out}",
                host.name
            );
        }
    }
}

/// The fingerprint of the loaded minicloud table on `host` ("" when none) and the boot file's hash.
async fn firewall_state(lab: &LabTest, host: &LabHost) -> (String, String) {
    let out = lab
        .run(
            host,
            "nft list table inet minicloud 2>/dev/null | sed -n 's/^[[:space:]]*comment \"minicloud \\(.*\\)\"$/\\1/p'; sha256sum /etc/minicloud/firewall.nft",
        )
        .await
        .stdout_text();
    let mut lines = out.lines();
    (
        lines.next().unwrap_or("").to_string(),
        lines.next().unwrap_or("").to_string(),
    )
}

async fn dead_man_rolls_back_a_lockout(lab: &LabTest) {
    let db2 = lab_host("db2");
    let before = firewall_state(lab, &db2).await;
    assert!(!before.0.is_empty(), "db2 has no minicloud table loaded");
    // db2's real rules without the SSH rule: everything else (Galera, MariaDB, VRRP) still works.
    let rendered = lab.must(&[
        "render",
        "-i",
        lab.dir.join("inventory.yml").to_str().unwrap(),
        "--host",
        "db2",
        "--file",
        "/etc/minicloud/firewall.nft",
    ]);
    let broken: String = rendered
        .lines()
        .filter(|l| !l.contains("dport { 22 }"))
        .map(|l| l.replace(&format!("minicloud {}", before.0), "minicloud broken"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(broken, rendered.trim_end(), "the SSH rule was not found");
    let target = lab.target(&db2);
    let session = minicloud::converge::session::Session::new(
        "db2",
        minicloud::ssh::Connection::open(&target).await.unwrap(),
    );
    let started = Instant::now();
    let err = minicloud::converge::firewall::load_confirmed(
        &session,
        broken.as_bytes(),
        "broken",
        Duration::from_secs(10),
    )
    .await
    .expect_err("a rule set without SSH must not be confirmed");
    let message = format!("{err:#}");
    eprintln!("{message}");
    assert!(
        message.contains("db2: the new firewall rules were not confirmed"),
        "{message}"
    );
    assert!(
        message.contains("restored the previous rules after 10 s"),
        "{message}"
    );
    assert!(
        message.contains("a new SSH connection gets in again"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    session.conn.close().await;
    // A new connection gets in; the previous table and boot file are back as they were.
    assert_eq!(firewall_state(lab, &db2).await, before);
    let leftovers = lab
        .run(
            &db2,
            "ls /etc/minicloud; systemctl is-active minicloud-firewall-rollback.timer",
        )
        .await
        .stdout_text();
    assert_eq!(leftovers.trim(), "firewall.nft\ninactive", "{leftovers}");
}

/// An inventory whose ssh_from leaves this machine out is refused before anything changes.
fn ssh_from_without_this_machine_is_refused(lab: &LabTest, scratch: &Path) {
    let variant = lab.variant(scratch, "no-ssh-from-here", |text| {
        text.replace(
            "ssh_from: [10.231.50.1/32, 10.231.60.1/32]",
            "ssh_from: [192.0.2.0/24]",
        )
    });
    let out = lab.minicloud(&[
        "up",
        "-i",
        variant.to_str().unwrap(),
        "--roster-binary",
        common::roster_bin(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("sees this machine as 10.231.5")
            && stderr.contains("would lock minicloud out"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing was changed on any host"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: add 10.231.5"), "{stderr}");
}

/// A local port forwarded through `via` (`ssh -L`) to the DB VIP: connections arrive from
/// that host's address, as the roster's do.
struct Tunnel {
    child: std::process::Child,
    port: u16,
}

impl Tunnel {
    async fn open(lab: &LabTest, via: &str) -> Tunnel {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let target = lab.target(&lab_host(via));
        let child = std::process::Command::new("ssh")
            .args([
                "-N",
                "-o",
                "BatchMode=yes",
                "-o",
                "ExitOnForwardFailure=yes",
                "-o",
                &format!("UserKnownHostsFile={}", target.known_hosts.display()),
                "-i",
                target.key.as_ref().unwrap().to_str().unwrap(),
                "-L",
                &format!("127.0.0.1:{port}:{DB_VIP}:3306"),
                &format!("root@{}", target.address),
            ])
            .spawn()
            .unwrap();
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "ssh -L did not come up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Tunnel { child, port }
    }

    async fn connect(
        &self,
        user: &str,
        password: &str,
    ) -> Result<sqlx::MySqlConnection, sqlx::Error> {
        let options = sqlx::mysql::MySqlConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username(user)
            .password(password);
        sqlx::MySqlConnection::connect_with(&options).await
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn least_privilege(lab: &LabTest, secrets: &Secrets) {
    let tunnel = Tunnel::open(lab, "app1").await;
    let mut roster = tunnel
        .connect("roster", &secrets.roster_db_password)
        .await
        .unwrap();
    sqlx::query("SELECT COUNT(*) FROM roster.roster_entries")
        .execute(&mut roster)
        .await
        .expect("its own database");
    let denied = sqlx::query("SELECT * FROM mysql.user")
        .execute(&mut roster)
        .await
        .unwrap_err()
        .to_string();
    assert!(denied.contains("denied"), "{denied}");
    let denied = sqlx::query("CREATE DATABASE minicloud_probe")
        .execute(&mut roster)
        .await
        .unwrap_err()
        .to_string();
    assert!(denied.contains("denied"), "{denied}");
    let grants: Vec<String> = sqlx::query_scalar("SHOW GRANTS")
        .fetch_all(&mut roster)
        .await
        .unwrap();
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert!(
        grants[0].starts_with("GRANT USAGE ON *.* TO `roster`@`10.231.60.101`"),
        "{grants:?}"
    );
    assert!(
        grants[1].contains("ON `roster`.* TO `roster`@`10.231.60.101`"),
        "{grants:?}"
    );
    roster.close().await.unwrap();
    // root has no network account at all, not even with the right-looking password.
    assert!(tunnel.connect("root", "").await.is_err());
    assert!(
        tunnel.connect("sst", &secrets.sst_password).await.is_err(),
        "sst is @localhost only"
    );
    let db1 = lab_host("db1");
    let accounts = lab
        .run(&db1, "mariadb -N -B -e \"SELECT CONCAT(User,'@',Host) FROM mysql.global_priv WHERE User IN ('root','sst') ORDER BY 1\"")
        .await
        .stdout_text();
    assert_eq!(
        accounts.trim(),
        "root@localhost\nsst@localhost",
        "{accounts}"
    );
    let sst = lab
        .run(
            &db1,
            "mariadb -N -B -e \"SHOW GRANTS FOR 'sst'@'localhost'\"",
        )
        .await
        .stdout_text();
    assert!(
        sst.starts_with(
            "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO `sst`@`localhost`"
        ),
        "{sst}"
    );
    assert_eq!(sst.lines().count(), 1, "{sst}");
}

/// Requests through the frontend VIP until stopped: (successes, failures with what failed);
/// writes carry `api_token`.
fn live_load(
    api_token: String,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<(u32, Vec<String>)>,
) {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let (mut ok, mut failed) = (0, Vec::new());
        let mut n = 0u32;
        while stopped.try_recv().is_err() {
            n += 1;
            let request = if n.is_multiple_of(5) {
                client
                    .put(format!(
                        "http://{FRONTEND_VIP}/api/v1/roster/2400-03-{:02}",
                        1 + n % 28
                    ))
                    .bearer_auth(&api_token)
                    .json(&serde_json::json!({"name": format!("security-{n}")}))
            } else {
                client.get(format!("http://{FRONTEND_VIP}/api/v1/roster"))
            };
            match request.send().await {
                Ok(r) if r.status().is_success() => ok += 1,
                Ok(r) => failed.push(format!("{n}: HTTP {}", r.status())),
                Err(e) => failed.push(format!("{n}: {e}")),
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        (ok, failed)
    });
    (stop, task)
}

async fn stats_page(password: &str) -> u16 {
    reqwest::Client::new()
        .get("http://10.231.50.11:8404/")
        .basic_auth("admin", Some(password))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Rotate each password under live load; returns the outputs and the values rotated away.
async fn rotate_under_load(lab: &LabTest, before: &Secrets) -> (Vec<String>, Vec<String>) {
    let (stop, load) = live_load(before.roster_api_token.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut outputs = Vec::new();
    for name in [
        "roster-db-password",
        "sst-password",
        "haproxy-stats-password",
    ] {
        let out = lab.minicloud(&[
            "-vv",
            "secrets",
            "rotate",
            name,
            "--json",
            "--roster-binary",
            common::roster_bin(),
        ]);
        assert!(out.status.success(), "secrets rotate {name} failed");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["failed"], Value::Null);
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        outputs.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.send(()).unwrap();
    let (ok, failed) = load.await.unwrap();
    assert!(ok > 50, "the load barely ran: {ok} requests");
    assert!(
        failed.is_empty(),
        "requests failed during the rotations: {failed:?}"
    );
    let after = Secrets::load_existing(&lab.dir.join("inventory.secrets.yml")).unwrap();
    assert_ne!(after.roster_db_password, before.roster_db_password);
    assert_ne!(after.sst_password, before.sst_password);
    assert_ne!(after.haproxy_stats_password, before.haproxy_stats_password);
    // The old roster password is refused, the new one works (from app2 this time).
    let tunnel = Tunnel::open(lab, "app2").await;
    assert!(
        tunnel
            .connect("roster", &before.roster_db_password)
            .await
            .is_err()
    );
    tunnel
        .connect("roster", &after.roster_db_password)
        .await
        .expect("new roster password")
        .close()
        .await
        .unwrap();
    drop(tunnel);
    assert_eq!(stats_page(&before.haproxy_stats_password).await, 401);
    assert_eq!(stats_page(&after.haproxy_stats_password).await, 200);
    // A full state transfer (mariabackup, with the new SST password) brings a wiped db2 back.
    let db2 = lab_host("db2");
    let sst = lab
        .run(&db2, "systemctl stop mariadb && rm -f /var/lib/mysql/grastate.dat /var/lib/mysql/gvwstate.dat && systemctl start mariadb && mariadb -N -B -e \"SHOW STATUS LIKE 'wsrep_local_state_comment'\"")
        .await;
    assert!(
        sst.stdout_text().contains("Synced"),
        "db2 after SST: {} {}",
        sst.stdout_text(),
        String::from_utf8_lossy(&sst.stderr)
    );
    (
        outputs,
        vec![
            before.roster_db_password.clone(),
            before.sst_password.clone(),
            before.haproxy_stats_password.clone(),
        ],
    )
}

/// Where on `host` one of `secrets` shows: world-readable files, process command lines, the
/// journal; and any file at all holding one of `private_key_lines` (the key minicloud connects
/// with). Both lists go on stdin into private temp files, never on a command line.
async fn leaks_on(
    lab: &LabTest,
    host: &LabHost,
    secrets: &[String],
    private_key_lines: &[String],
) -> String {
    let script = "umask 077; s=$(mktemp); k=$(mktemp)\n\
         awk -v s=\"$s\" -v k=\"$k\" '/^--key--$/ {key=1; next} {print > (key ? k : s)}'\n\
         find / /run /tmp /dev/shm -xdev -type f -perm -0004 -size -20M -print0 2>/dev/null | xargs -0 -r grep -lF -f \"$s\" 2>/dev/null\n\
         for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\" 2>/dev/null; echo; done | grep -F -f \"$s\" >/dev/null && echo 'a process command line'\n\
         journalctl --no-pager -q 2>/dev/null | grep -qF -f \"$s\" && echo 'the journal'\n\
         grep -rlF -f \"$k\" /etc /root /home /var /srv /opt /usr/local /tmp /run 2>/dev/null | grep -vxF -e \"$s\" -e \"$k\" | sed 's/^/private key in /'\n\
         rm -f \"$s\" \"$k\"; true";
    let conn = minicloud::ssh::Connection::open(&lab.target(host))
        .await
        .unwrap();
    let input = format!(
        "{}\n--key--\n{}\n",
        secrets.join("\n"),
        private_key_lines.join("\n")
    );
    let out = conn.run_with_stdin(script, input.as_bytes()).await.unwrap();
    conn.close().await;
    out.stdout_text()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stack_lets_nobody_in_where_they_do_not_belong_and_leaks_no_secret() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("lab-security");
    let scratch = tempfile::tempdir().unwrap();
    lab.minicloud(&["lab", "down"]);
    lab.must(&["lab", "up"]);
    // mariabackup SST: the SST user and its password take part.
    let inventory = lab.dir.join("inventory.yml");
    let mut text = std::fs::read_to_string(&inventory).unwrap();
    text.push_str("  galera:\n    sst_method: mariabackup\n");
    std::fs::write(&inventory, text).unwrap();

    let mut outputs: Vec<String> = Vec::new();
    let up = [
        "-vv",
        "up",
        "--json",
        "--roster-binary",
        common::roster_bin(),
    ];
    let first = record(&mut outputs, lab.minicloud(&up));
    assert!(first.status.success(), "first up failed");
    let report: Value = serde_json::from_slice(&first.stdout).unwrap();
    for host in lab_hosts() {
        let changes = common::changes(&report, &host.name);
        assert!(
            changes
                .iter()
                .any(|c| c.starts_with("loaded the firewall rules")
                    && c.contains("confirmed over a new SSH connection")),
            "{}: {changes:?}",
            host.name
        );
    }
    let second = record(&mut outputs, lab.minicloud(&up));
    let report: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(
        report["changes"]
            .as_object()
            .unwrap()
            .values()
            .filter(|c| !c.as_array().unwrap().is_empty())
            .count(),
        0,
        "a second up changed something: {report}"
    );
    assert!(
        record(&mut outputs, lab.minicloud(&["-vv", "plan"]))
            .status
            .success()
    );
    assert!(
        record(&mut outputs, lab.minicloud(&["-vv", "status", "--json"]))
            .status
            .success()
    );
    let inv = inventory.to_str().unwrap();
    let rendered = scratch.path().join("rendered");
    record(
        &mut outputs,
        lab.minicloud(&[
            "-vv",
            "render",
            "-i",
            inv,
            "--out",
            rendered.to_str().unwrap(),
        ]),
    );
    record(
        &mut outputs,
        lab.minicloud(&[
            "render",
            "-i",
            inv,
            "--host",
            "app1",
            "--file",
            "/etc/roster/roster.env",
        ]),
    );
    record(&mut outputs, lab.minicloud(&["secrets", "list"]));

    outputs.extend(plan_shows_no_secret(&lab, scratch.path()));

    connectivity_matrix(&lab).await;
    services_bind_their_networks(&lab).await;
    dead_man_rolls_back_a_lockout(&lab).await;
    ssh_from_without_this_machine_is_refused(&lab, scratch.path());

    // The rules are loaded at boot, before the services: lb2 restarted is still fenced.
    lab.must(&["lab", "kill", "lb2"]);
    lab.must(&["lab", "start", "lb2"]);
    let lb2 = lab_host("lb2");
    let (loaded, _) = firewall_state(&lab, &lb2).await;
    assert!(!loaded.is_empty(), "lb2 booted without its firewall");

    let secrets = Secrets::load_existing(&lab.dir.join("inventory.secrets.yml")).unwrap();
    least_privilege(&lab, &secrets).await;
    let (rotation_outputs, old_values) = rotate_under_load(&lab, &secrets).await;
    outputs.extend(rotation_outputs);

    let report_dir = scratch.path().join("report");
    let drill = record(
        &mut outputs,
        lab.minicloud(&[
            "-vv",
            "failover-test",
            "--drill",
            "app-down",
            "--json",
            "--report",
            report_dir.to_str().unwrap(),
            "--roster-binary",
            common::roster_bin(),
        ]),
    );
    assert!(drill.status.success(), "the app-down drill failed");

    // Every secret value, current and rotated away, and the file sync key.
    let current = Secrets::load_existing(&lab.dir.join("inventory.secrets.yml")).unwrap();
    let mut values: Vec<String> = current
        .values()
        .iter()
        .flat_map(|v| {
            let lines: Vec<&str> = minicloud::secrets::own_key_lines(v).collect();
            if lines.is_empty() {
                vec![v.to_string()]
            } else {
                lines.iter().map(|l| l.to_string()).collect()
            }
        })
        .collect();
    values.extend(old_values);
    assert!(values.len() >= 7, "{} values", values.len());
    // What this machine holds: the commands' output, the rendered files, the report.
    for path in walk(&rendered).into_iter().chain(walk(&report_dir)) {
        outputs.push(std::fs::read_to_string(&path).unwrap_or_default());
    }
    for (index, output) in outputs.iter().enumerate() {
        for value in &values {
            assert!(
                !output.contains(value.as_str()),
                "output {index} holds a secret:\n{output}"
            );
        }
    }
    assert!(
        outputs.iter().any(|o| o.contains("ssh: ")),
        "-vv logged no SSH command"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(lab.dir.join("inventory.secrets.yml"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    // What the hosts hold.
    let private_key = std::fs::read_to_string(lab.dir.join("id_ed25519")).unwrap();
    let key_lines: Vec<String> = minicloud::secrets::own_key_lines(&private_key)
        .map(str::to_string)
        .collect();
    assert!(!key_lines.is_empty());
    let leaks = futures_util::future::join_all(lab_hosts().iter().map(|h| {
        let (lab, values, key_lines) = (&lab, &values, &key_lines);
        async move { (h.name.clone(), leaks_on(lab, h, values, key_lines).await) }
    }))
    .await;
    let found: Vec<String> = leaks
        .into_iter()
        .filter(|(_, out)| !out.trim().is_empty())
        .map(|(host, out)| format!("{host}:\n{out}"))
        .collect();
    assert!(
        found.is_empty(),
        "secrets found on hosts:\n{}",
        found.join("\n")
    );

    lab.must(&["lab", "down"]);
}

/// Every value of `secrets` to search output for: each password whole, the key by its own lines.
fn searchable(secrets: &Secrets) -> Vec<String> {
    secrets
        .values()
        .iter()
        .flat_map(|v| {
            let lines: Vec<String> = minicloud::secrets::own_key_lines(v)
                .map(str::to_string)
                .collect();
            if lines.is_empty() {
                vec![v.to_string()]
            } else {
                lines
            }
        })
        .collect()
}

/// `plan` with every overridable secret changed through its variable, then with no secrets
/// file at all: it says what changes, and not one byte of its output (with -vv) is a secret
/// value, the hosts' current ones or the new ones. Returns what it printed.
fn plan_shows_no_secret(lab: &LabTest, scratch: &Path) -> Vec<String> {
    let current = Secrets::load_existing(&lab.dir.join("inventory.secrets.yml")).unwrap();
    let mut values = searchable(&current);
    let overrides: Vec<(&str, String)> = minicloud::secrets::NAMES
        .iter()
        .filter_map(|(_, variable, _)| *variable)
        .enumerate()
        .map(|(i, variable)| (variable, format!("override-{i}-Xq7Lm2Np9Rt4Vw")))
        .collect();
    values.extend(overrides.iter().map(|(_, v)| v.clone()));
    let env: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut outputs = Vec::new();
    let changed = record(&mut outputs, lab.minicloud_with_env(&["-vv", "plan"], &env));
    assert!(changed.status.success(), "plan with overrides failed");
    let text = String::from_utf8_lossy(&changed.stdout);
    for expected in [
        "~ ROSTER_DATABASE_URL (value changed)",
        "~ wsrep_sst_auth (value changed)",
        "~ stats auth (secret value changed)",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }

    // A fresh checkout: the inventory without its secrets file.
    let lost = scratch.join("lost.yml");
    std::fs::copy(lab.dir.join("inventory.yml"), &lost).unwrap();
    let lost_str = lost.to_str().unwrap();
    let fresh = record(
        &mut outputs,
        lab.minicloud(&["-vv", "plan", "-i", lost_str]),
    );
    assert!(fresh.status.success(), "plan without a secrets file failed");
    let text = String::from_utf8_lossy(&fresh.stdout);
    assert!(
        text.contains("lost.secrets.yml does not exist") && text.contains("~ ROSTER_DATABASE_URL"),
        "{text}"
    );
    assert!(
        !scratch.join("lost.secrets.yml").exists(),
        "plan wrote a secrets file"
    );
    for (index, output) in outputs.iter().enumerate() {
        for value in &values {
            assert!(
                !output.contains(value.as_str()),
                "plan output {index} holds a secret:\n{output}"
            );
        }
    }
    outputs
}

/// Keep what a command printed, to search it for secrets at the end.
fn record(outputs: &mut Vec<String>, out: std::process::Output) -> std::process::Output {
    outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    outputs.push(String::from_utf8_lossy(&out.stderr).into_owned());
    out
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}
