//! `minicloud validate` on broken inventories: each problem gives its exact message (snapshot),
//! all problems come out at once, and the exit code is 2.

mod common;

use assert_cmd::Command;
use std::fs;

/// A small valid inventory; each case breaks it with one text replacement.
const BASE: &str = r#"name: t
networks:
  frontend: 10.9.1.0/24
  backend: 10.9.2.0/24
hosts:
  lb1:
    roles: [lb]
    addresses: {frontend: 10.9.1.11}
  app1:
    roles: [app, arbiter]
    addresses: {frontend: 10.9.1.21, backend: 10.9.2.21}
  db1:
    roles: [db]
    addresses: {backend: 10.9.2.31}
  db2:
    roles: [db]
    addresses: {backend: 10.9.2.32}
services:
  frontend_vip: {address: 10.9.1.100, virtual_router_id: 51}
  db_vip: {address: 10.9.2.100, virtual_router_id: 52}
"#;

/// Run `minicloud validate` on `text`; returns (exit code, stderr with the temp path hidden).
fn validate(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inventory.yml");
    fs::write(&file, text).unwrap();
    let out = Command::cargo_bin("minicloud")
        .unwrap()
        .args(["validate", "-i"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr)
        .unwrap()
        .replace(&*dir.path().to_string_lossy(), "<dir>");
    (out.status.code().unwrap(), stderr)
}

fn broken(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "case does not apply: {from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn base_inventory_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inventory.yml");
    fs::write(&file, BASE).unwrap();
    Command::cargo_bin("minicloud")
        .unwrap()
        .args(["validate", "-i"])
        .arg(&file)
        .assert()
        .success();
}

macro_rules! case {
    ($name:ident, $text:expr) => {
        #[test]
        fn $name() {
            let (code, stderr) = validate(&$text);
            assert_eq!(code, 2, "{stderr}");
            insta::assert_snapshot!(stderr);
        }
    };
}

case!(
    unknown_key,
    broken("    roles: [lb]", "    roles: [lb]\n    rolez: [lb]")
);
case!(
    unknown_role,
    broken(
        "roles: [db]\n    addresses: {backend: 10.9.2.32}",
        "roles: [dbb]\n    addresses: {backend: 10.9.2.32}"
    )
);
case!(duplicate_host_name, broken("  db2:", "  db1:"));
case!(malformed_address, broken("10.9.1.11", "10.9.1.311"));
case!(yaml_syntax, broken("hosts:", "hosts: ["));
case!(missing_file_key, broken("name: t\n", ""));
case!(
    duplicate_address,
    broken("backend: 10.9.2.32", "backend: 10.9.2.31")
);
case!(
    address_outside_network,
    broken("backend: 10.9.2.32", "backend: 10.9.3.32")
);
case!(
    missing_network_address,
    broken(
        "addresses: {frontend: 10.9.1.21, backend: 10.9.2.21}",
        "addresses: {frontend: 10.9.1.21}"
    )
);
case!(
    vip_outside_network,
    broken("address: 10.9.1.100", "address: 10.9.2.150")
);
case!(
    vip_equals_host_address,
    broken("address: 10.9.1.100", "address: 10.9.1.11")
);
case!(
    duplicate_virtual_router_id,
    broken("virtual_router_id: 52", "virtual_router_id: 51")
);
case!(
    no_lb_hosts,
    broken("roles: [lb]", "roles: [app]").replace(
        "{frontend: 10.9.1.11}",
        "{frontend: 10.9.1.11, backend: 10.9.2.11}"
    )
);
case!(
    no_app_hosts,
    broken("roles: [app, arbiter]", "roles: [arbiter]")
);
case!(
    no_db_hosts,
    BASE.replace("roles: [db]", "roles: [arbiter]")
        .replace("roles: [app, arbiter]", "roles: [app]")
);
case!(two_voters, broken("roles: [app, arbiter]", "roles: [app]"));

// Hostile input: strings that would reach a root shell or a daemon's config.
const SERVICES_END: &str = "virtual_router_id: 52}\n";
fn with_services(extra: &str) -> String {
    broken(SERVICES_END, &format!("virtual_router_id: 52}}\n{extra}\n"))
}
case!(
    aerospike_namespace_shell_injection,
    with_services("  aerospike: {namespace: \"roster;touch${IFS}/tmp/x;#\"}")
);
case!(
    stats_user_config_injection,
    with_services("  haproxy: {stats: {user: \"admin\\n    stats admin if TRUE\"}}")
);
case!(
    interface_name_injection,
    broken(
        "addresses: {frontend: 10.9.1.11}",
        "addresses: {frontend: 10.9.1.11}\n    interfaces: {frontend: \"eth0\\\"$(id)\"}"
    )
);
case!(
    notify_scripts_with_arguments_quotes_and_dot_dot,
    broken(
        "virtual_router_id: 51}",
        "virtual_router_id: 51, notify: \"/usr/local/sbin/move-vip\\\" extra\"}"
    )
    .replace(
        "virtual_router_id: 52}",
        "virtual_router_id: 52, notify: /etc/keepalived/../../tmp/move-vip}"
    )
);
case!(
    ssh_user_injection,
    broken("name: t\n", "name: t\nssh: {user: \"root; id\"}\n")
);
case!(
    ssh_host_and_jump_hosts_malformed,
    broken(
        "addresses: {frontend: 10.9.1.11}",
        "addresses: {frontend: 10.9.1.11}\n    ssh: {host: \"lb1;id\", proxy_jump: \"admin@bastion:99999\"}"
    )
    .replace(
        "name: t\n",
        "name: t\nssh: {proxy_jump: \"-oProxyCommand=id\"}\n"
    )
);
case!(
    ssh_host_names_and_jumps_that_are_fine,
    // Not an error: proves the valid forms pass (the snapshot is of the next problem only).
    broken(
        "addresses: {frontend: 10.9.1.11}",
        "addresses: {frontend: 10.9.1.11}\n    ssh: {host: lb1.example.com, proxy_jump: \"ops@[2001:db8::1]:2222,bastion\"}"
    )
    .replace("addresses: {backend: 10.9.2.32}", "addresses: {backend: 10.9.2.32}\n    ssh: {host: \"2001:db8::32\"}")
    .replace("name: t\n", "name: t\nssh: {proxy_jump: none, config: ./ssh_config}\n")
    .replace("backend: 10.9.2.32", "backend: 10.9.3.32")
);
case!(
    ssh_port_zero,
    broken("name: t\n", "name: t\nssh: {port: 0}\n")
);
case!(
    stats_page_on_the_ssh_port,
    with_services("  haproxy: {stats: {port: 22, allow_from: [0.0.0.0/0]}, port: 0}")
);
case!(
    nginx_on_the_ssh_port,
    with_services("  nginx: {enabled: true, port: 22}")
);
case!(
    roster_and_haproxy_on_one_port_of_one_host,
    broken("roles: [app, arbiter]", "roles: [app, arbiter, lb]").replace(
        SERVICES_END,
        "virtual_router_id: 52}\n  roster: {port: 80}\n"
    )
);
case!(
    overlapping_networks,
    broken("backend: 10.9.2.0/24", "backend: 10.9.0.0/16")
);
case!(
    numbers_out_of_range,
    with_services(
        "  haproxy: {timeout_client_ms: 0, timeout_server_ms: 0, retries: 1000000}\n  roster: {pool_size: 100000, database: ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd}"
    )
    .replace("virtual_router_id: 51}", "virtual_router_id: 51, advert_int: 1e-300}")
);
// Galera's failure detection: what Galera itself refuses, and what invites false suspicion.
fn failure_detection(keys: &str) -> String {
    with_services(&format!("  galera:\n    failure_detection: {{{keys}}}"))
}
case!(
    failure_detection_inactive_not_above_suspect,
    failure_detection("suspect_timeout: 3, inactive_timeout: 3")
);
case!(
    failure_detection_suspect_below_one_second,
    failure_detection(
        "suspect_timeout: 0.5, inactive_timeout: 1, keepalive_period: 0.1, inactive_check_period: 0.1, install_timeout: 1"
    )
);
case!(
    failure_detection_keepalive_and_check_too_slow_for_suspect,
    failure_detection(
        "suspect_timeout: 2, keepalive_period: 1, inactive_check_period: 1.5, install_timeout: 1"
    )
);
case!(
    failure_detection_not_times,
    failure_detection(
        "suspect_timeout: 0, keepalive_period: -1, install_timeout: 0.0001, check_interval: 0, check_fall: 11"
    )
);
case!(
    failure_detection_db_vip_check_too_slow,
    failure_detection("check_interval: 10, check_fall: 3")
);
case!(
    failure_detection_unknown_key,
    failure_detection("suspect_timout: 2")
);

case!(
    file_sync_of_system_folders,
    with_services(
        "  file_sync: {paths: [/etc, /root/.ssh, /home/deploy, /var, /srv/app/.ssh/x, /]}"
    )
);
case!(
    nested_too_deep,
    broken(
        "name: t\n",
        &format!("name: t\nx: {}1{}\n", "[".repeat(40), "]".repeat(40))
    )
);

#[test]
fn terminal_control_bytes_are_never_echoed() {
    let (code, stderr) = validate(&broken(
        "roles: [lb]",
        "roles: [\"lb\\e]0;pwned\\a\\e[2J\\u202e\"]",
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{stderr:?}"
    );
    assert!(stderr.contains(r"\u{1b}]0;pwned\u{7}"), "{stderr}");
}

#[test]
fn an_inventory_over_one_mib_is_refused_unparsed() {
    let mut text = BASE.to_string();
    while text.len() <= 1024 * 1024 {
        text.push_str(&format!("# {}\n", "x".repeat(1000)));
    }
    let (code, stderr) = validate(&text);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("larger than 1024 KiB"), "{stderr}");
}
case!(
    four_voters,
    broken(
        "roles: [lb]\n    addresses: {frontend: 10.9.1.11}",
        "roles: [lb, arbiter]\n    addresses: {frontend: 10.9.1.11, backend: 10.9.2.11}"
    )
);
case!(
    arbiter_on_db_host,
    broken("roles: [db]", "roles: [db, arbiter]")
);
case!(
    aerospike_replication_factor_above_node_count,
    BASE.replace("roles: [db]", "roles: [aerospike]")
        .replace("roles: [app, arbiter]", "roles: [app]")
        .replace(
            "  db_vip: {address: 10.9.2.100, virtual_router_id: 52}\n",
            "  database: aerospike\n  aerospike: {replication_factor: 3}\n"
        )
);
case!(
    dead_man_seconds_out_of_range,
    format!("{BASE}firewall:\n  dead_man_seconds: 3\n")
);
case!(
    every_problem_at_once,
    BASE.replace("backend: 10.9.2.32", "backend: 10.9.3.32")
        .replace("virtual_router_id: 52", "virtual_router_id: 51")
        .replace("frontend: 10.9.1.21", "frontend: 10.9.1.11")
);

#[test]
fn unreadable_file_is_an_error_with_exit_2() {
    let out = Command::cargo_bin("minicloud")
        .unwrap()
        .args(["validate", "-i", "/nonexistent/inv.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("/nonexistent/inv.yml") && stderr.contains("cannot read the inventory"),
        "{stderr}"
    );
}

#[test]
fn render_refuses_a_folder_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
    let out = Command::cargo_bin("minicloud")
        .unwrap()
        .args([
            "render",
            "-i",
            concat!(env!("CARGO_MANIFEST_DIR"), "/inventory/example.yml"),
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        fs::read_to_string(dir.path().join("precious.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing may be written next to it"
    );
}

#[test]
fn render_replaces_its_own_output_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rendered");
    let inv = concat!(env!("CARGO_MANIFEST_DIR"), "/inventory/example.yml");
    for _ in 0..2 {
        Command::cargo_bin("minicloud")
            .unwrap()
            .args(["render", "-i", inv, "--out"])
            .arg(&out)
            .assert()
            .success();
    }
    let haproxy = fs::read_to_string(out.join("lb1/etc/haproxy/haproxy.cfg")).unwrap();
    assert!(haproxy.contains("server app2 10.231.50.22:8080 check"));
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec!["rendered"],
        "no staging folders left behind"
    );
}

#[test]
fn render_prints_one_file_and_names_unknown_hosts() {
    let inv = concat!(env!("CARGO_MANIFEST_DIR"), "/inventory/example.yml");
    let out = Command::cargo_bin("minicloud")
        .unwrap()
        .args([
            "render",
            "-i",
            inv,
            "--host",
            "app1",
            "--file",
            "/etc/default/garb",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("GALERA_NODES=\"10.231.60.31:4567 10.231.60.32:4567\"")
    );
    let out = Command::cargo_bin("minicloud")
        .unwrap()
        .args(["render", "-i", inv, "--host", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("no host \"nope\"")
    );
}

#[test]
fn up_without_the_aerospike_package_stops_before_touching_a_host() {
    // The on-call example names a package file that is not in the repository: `up` must say so
    // before it connects anywhere (its hosts' addresses are not even reachable from here).
    let out = Command::cargo_bin("minicloud")
        .unwrap()
        .args(["up", "-i", "examples/oncall-roster.yml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("services.aerospike.package")
            && stderr.contains("no such file")
            && stderr.contains("nothing was changed")
            && stderr.contains("hint: download the Aerospike server package"),
        "{stderr}"
    );
    assert!(!stderr.contains("connect"), "{stderr}");
    // Nothing at all: not even the secrets file, which a refused run has no use for.
    assert!(!std::path::Path::new("examples/oncall-roster.secrets.yml").exists());
}

#[test]
fn every_example_inventory_is_valid() {
    for entry in std::fs::read_dir("examples").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yml") {
            continue;
        }
        let out = Command::cargo_bin("minicloud")
            .unwrap()
            .args(["validate", "-i", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A folder with the example inventory and a secrets file of known values.
fn inventory_with_secrets() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("stack.yml");
    fs::copy("inventory/example.yml", &inv).unwrap();
    fs::write(
        dir.path().join("stack.secrets.yml"),
        "roster_db_password: from-the-file-1234\nsst_password: sst-from-the-file\nhaproxy_stats_password: stats-from-the-file\n",
    )
    .unwrap();
    (dir, inv)
}

fn minicloud(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::cargo_bin("minicloud").unwrap();
    command
        .args(args)
        .env_remove("MINICLOUD_ROSTER_DB_PASSWORD");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn render_shows_secrets_only_when_asked_and_the_environment_wins() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, inv) = inventory_with_secrets();
    let inv = inv.to_str().unwrap();
    let env_file = [
        "render",
        "-i",
        inv,
        "--host",
        "app1",
        "--file",
        "/etc/roster/roster.env",
    ];
    let (code, masked, _) = minicloud(&env_file, &[]);
    assert_eq!(code, 0);
    assert!(
        masked.contains(":********@") && !masked.contains("from-the-file"),
        "{masked}"
    );
    let shown = [&env_file[..], &["--show-secrets"]].concat();
    let (code, out, _) = minicloud(&shown, &[]);
    assert_eq!(code, 0);
    assert!(out.contains(":from-the-file-1234@"), "{out}");
    let (_, out, _) = minicloud(
        &shown,
        &[("MINICLOUD_ROSTER_DB_PASSWORD", "from-the-environment")],
    );
    assert!(out.contains(":from-the-environment@"), "{out}");
    // Written out with --show-secrets, a secret file keeps its private mode.
    let rendered = dir.path().join("rendered");
    let (code, out, _) = minicloud(
        &[
            "render",
            "-i",
            inv,
            "--show-secrets",
            "--out",
            rendered.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0);
    assert!(out.contains("WITH secrets"), "{out}");
    let env = fs::metadata(rendered.join("app1/etc/roster/roster.env")).unwrap();
    assert_eq!(env.permissions().mode() & 0o777, 0o600);
    // No secrets file yet: nothing to show, and nothing generated.
    fs::remove_file(dir.path().join("stack.secrets.yml")).unwrap();
    let (code, _, err) = minicloud(&shown, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("generated by the first `minicloud up`"),
        "{err}"
    );
    assert!(!dir.path().join("stack.secrets.yml").exists());
}

#[test]
fn secrets_rotate_refuses_unknown_names_and_environment_secrets_before_touching_anything() {
    let (dir, inv) = inventory_with_secrets();
    let inv = inv.to_str().unwrap();
    let before = fs::read_to_string(dir.path().join("stack.secrets.yml")).unwrap();
    let (code, _, err) = minicloud(&["secrets", "rotate", "root-password", "-i", inv], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no secret is called \"root-password\"") && err.contains("roster-db-password"),
        "{err}"
    );
    let (code, _, err) = minicloud(
        &["secrets", "rotate", "roster-db-password", "-i", inv],
        &[("MINICLOUD_ROSTER_DB_PASSWORD", "from-the-environment")],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("comes from the environment variable MINICLOUD_ROSTER_DB_PASSWORD"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("stack.secrets.yml")).unwrap(),
        before
    );
    let (code, out, _) = minicloud(
        &["secrets", "list", "-i", inv],
        &[("MINICLOUD_SST_PASSWORD", "x")],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("environment (MINICLOUD_SST_PASSWORD)") && !out.contains("from-the-file"),
        "{out}"
    );
}

/// [`inventory_with_secrets`] with every host on loopback and SSH on a closed port: `plan` and
/// `up` get as far as connecting (every local check and the secrets passed), and no further.
fn loopback_inventory_with_secrets() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, inv) = inventory_with_secrets();
    let text = fs::read_to_string(&inv).unwrap();
    assert!(text.contains("  port: 22\n"));
    fs::write(
        &inv,
        text.replace("10.231.", "127.0.")
            .replace("  port: 22\n", "  port: 1\n"),
    )
    .unwrap();
    (dir, inv)
}

#[test]
fn a_bad_environment_secret_stops_up_and_plan_before_any_host_naming_the_variable() {
    let roster = common::roster_bin();
    let (dir, inv) = loopback_inventory_with_secrets();
    let inv = inv.to_str().unwrap();
    let before = fs::read_to_string(dir.path().join("stack.secrets.yml")).unwrap();
    let hostile = [
        (
            "MINICLOUD_SST_PASSWORD",
            "sst-0123456789ab\n[mysqld]\ninit_file=/tmp/x",
        ),
        ("MINICLOUD_ROSTER_DB_PASSWORD", "pw-0123456789abcd\\' OR 1"),
        ("MINICLOUD_HAPROXY_STATS_PASSWORD", "pw@host/path#0123456"),
        ("MINICLOUD_SST_PASSWORD", "short"),
    ];
    for command in ["plan", "up"] {
        for (variable, value) in hostile {
            let (code, out, err) = minicloud(
                &[command, "-i", inv, "--roster-binary", roster],
                &[(variable, value)],
            );
            assert_eq!(code, 2, "{command} {variable}: {err}");
            assert!(
                err.contains(&format!("the environment variable {variable}"))
                    && err.contains("hint: a password is 16 to 128 characters"),
                "{command}: {err}"
            );
            assert!(!err.contains("on any host"), "no host is contacted: {err}");
            for part in value.lines() {
                assert!(!err.contains(part) && !out.contains(part), "{err}");
            }
        }
    }
    assert_eq!(
        fs::read_to_string(dir.path().join("stack.secrets.yml")).unwrap(),
        before
    );
    // The same inventory with good values gets as far as the hosts: the test above can fail.
    let (code, _, err) = minicloud(&["plan", "-i", inv, "--roster-binary", roster], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("nothing was changed on any host"), "{err}");
}

#[test]
fn plan_never_writes_the_secrets_file() {
    let roster = common::roster_bin();
    let (dir, inv) = loopback_inventory_with_secrets();
    let secrets = dir.path().join("stack.secrets.yml");
    fs::remove_file(&secrets).unwrap();
    let inv = inv.to_str().unwrap();
    // Stopped at connecting (no host answers): the secrets were loaded by then.
    let plan = ["plan", "-i", inv, "--roster-binary", roster];
    let (code, _, err) = minicloud(&plan, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("nothing was changed on any host"), "{err}");
    assert!(!secrets.exists(), "plan generated the secrets file");
    // Nor does it complete an older file that lacks the file sync key.
    let older = "roster_db_password: from-the-file-1234\nsst_password: sst-from-the-file\n\
                 haproxy_stats_password: stats-from-the-file\n";
    fs::write(&secrets, older).unwrap();
    let (code, _, _) = minicloud(&plan, &[]);
    assert_eq!(code, 2);
    assert_eq!(fs::read_to_string(&secrets).unwrap(), older);
    let out = dir.path().join("rendered");
    let out = out.to_str().unwrap();
    for args in [
        &[
            "render",
            "-i",
            inv,
            "--host",
            "app1",
            "--file",
            "/etc/roster/roster.env",
        ][..],
        &["render", "-i", inv, "--out", out][..],
        &["render", "-i", inv, "--host", "app1", "--show-secrets"][..],
        &["secrets", "list", "-i", inv][..],
    ] {
        fs::remove_file(&secrets).ok();
        minicloud(args, &[]);
        assert!(!secrets.exists(), "{args:?} wrote the secrets file");
    }
    // `up` does write it (the same run, stopped at the same point, only later).
    let (code, _, _) = minicloud(&["up", "-i", inv, "--roster-binary", roster], &[]);
    assert_eq!(code, 2);
    assert!(secrets.exists(), "the test cannot tell plan from up");
}
