//! Every rendered HAProxy, keepalived, nginx, MariaDB, nftables and shell file passes the real
//! daemon's own checker, installed from Debian's packages (`.ci/run` installs them).
//!
//! keepalived and nginx look at the machine while checking (interfaces must exist, nginx binds
//! its listen addresses), so they run in a private network and mount namespace (`unshare`) that
//! has eth0/eth1 and allows non-local binds, like a lab host. Needs root, as CI has.

use indexmap::IndexMap;
use minicloud::inventory::{self, Inventory};
use minicloud::render::{self, Checker, HostFile, dir::write_render_dir, nginx_test_config};
use minicloud::secrets::Secrets;
use std::path::Path;
use std::process::Command;

/// Set up a lab-host-like network namespace, then run the command given as "$@".
const NETNS_PRELUDE: &str = "set -e
ip link set lo up
ip link add eth0 type veth peer name eth1
ip link set eth0 up
ip link set eth1 up
sysctl -qw net.ipv4.ip_nonlocal_bind=1
if [ -n \"$KEEPALIVED_DIR\" ]; then mount --bind \"$KEEPALIVED_DIR\" /etc/keepalived; fi
exec \"$@\"";

fn inventories() -> Vec<(String, Inventory)> {
    let mut list: Vec<(String, Inventory)> = [
        "inventory/example.yml",
        "examples/mini-cloud.yml",
        "examples/oncall-roster.yml",
    ]
    .iter()
    .map(|f| {
        (
            f.to_string(),
            inventory::load(Path::new(f)).unwrap_or_else(|e| panic!("{e}")),
        )
    })
    .collect();
    // The mariabackup SST variant adds the SST credentials file.
    let text = std::fs::read_to_string("inventory/example.yml").unwrap();
    let variant =
        inventory::parse(&text.replace("sst_method: rsync", "sst_method: mariabackup")).unwrap();
    assert!(inventory::validate(&variant).is_empty());
    list.push(("example.yml with mariabackup".into(), variant));
    // A notify script on both VIPs: keepalived must take the `notify` line of each instance
    // (it checks the script itself only when it starts, which `up` checks before).
    let notify = text
        .replace(
            "# notify: /usr/local/sbin/move-vip",
            "notify: /usr/local/sbin/move-vip",
        )
        .replace(
            "# notify: /usr/local/sbin/move-db-vip",
            "notify: /usr/local/sbin/move-db-vip",
        );
    let notify = inventory::parse(&notify).unwrap();
    assert!(inventory::validate(&notify).is_empty());
    assert!(notify.services.frontend_vip.notify.is_some());
    list.push(("example.yml with notify scripts".into(), notify));
    // Every name at the edge of what its rule allows: the longest and oddest values that
    // validate accepts must still give files every checker accepts.
    let edge = text
        .replace("name: minicloud", &format!("name: {}", "n-_".repeat(21)))
        .replace("user: admin ", &format!("user: {} ", "a.-_Z9".repeat(5)));
    let mut edge = inventory::parse(&edge).unwrap_or_else(|p| panic!("{p:?}"));
    edge.services.roster.database = "d_9".repeat(21);
    edge.services.roster.db_user = "u_9".repeat(10);
    assert!(
        inventory::validate(&edge).is_empty(),
        "{:?}",
        inventory::validate(&edge)
    );
    list.push((
        "example.yml with names at the edge of their rules".into(),
        edge,
    ));
    list
}

fn require_tools() {
    for tool in [
        "haproxy",
        "keepalived",
        "nginx",
        "mariadbd",
        "nft",
        "unshare",
    ] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "{tool} is not installed: run .ci/run, or apt-get install haproxy keepalived nginx-light \
             mariadb-server galera-4 nftables util-linux"
        );
    }
}

/// Run the file's checker; Err holds the command and its output.
fn check(
    file: &HostFile,
    checker: Checker,
    host_root: &Path,
    scratch: &Path,
) -> Result<(), String> {
    let on_disk = host_root.join(file.path.trim_start_matches('/'));
    let mut command = match checker {
        Checker::Keepalived => {
            let mut cmd = netns_command(&Checker::Keepalived.command(file.path));
            cmd.env("KEEPALIVED_DIR", on_disk.parent().unwrap());
            cmd
        }
        Checker::Nginx => {
            let wrapper = scratch.join("nginx.conf");
            let scratch_dir = scratch.to_str().unwrap();
            std::fs::write(
                &wrapper,
                nginx_test_config(on_disk.to_str().unwrap(), scratch_dir),
            )
            .unwrap();
            netns_command(&Checker::Nginx.command(wrapper.to_str().unwrap()))
        }
        other => {
            let argv = other.command(on_disk.to_str().unwrap());
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            cmd
        }
    };
    let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} exited {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn netns_command(argv: &[String]) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "--mount", "sh", "-c", NETNS_PRELUDE, "sh"])
        .args(argv);
    cmd.env("KEEPALIVED_DIR", "");
    cmd
}

/// Write `rendered` to disk and run every file's checker: (host, path, checker, outcome).
fn check_all(
    rendered: &IndexMap<String, Vec<HostFile>>,
) -> Vec<(String, &'static str, Checker, Result<(), String>)> {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("rendered");
    write_render_dir(&out, rendered).unwrap();
    let mut results = Vec::new();
    for (host, files) in rendered {
        for file in files {
            let Some(checker) = file.checker else {
                continue;
            };
            let scratch = tempfile::tempdir().unwrap();
            let outcome = check(file, checker, &out.join(host), scratch.path());
            results.push((host.clone(), file.path, checker, outcome));
        }
    }
    results
}

#[test]
fn rendered_configs_pass_the_daemons_own_checkers() {
    require_tools();
    let mut failures = Vec::new();
    let mut checked = std::collections::BTreeMap::<String, usize>::new();
    for (label, inv) in inventories() {
        let rendered = render::render_all(&inv, &Secrets::masked()).unwrap();
        for (host, path, checker, outcome) in check_all(&rendered) {
            *checked.entry(format!("{checker:?}")).or_default() += 1;
            if let Err(err) = outcome {
                failures.push(format!("{label}: {host}: {path}: {err}"));
            }
        }
    }
    eprintln!("files checked per checker: {checked:?}");
    assert!(
        failures.is_empty(),
        "{} file(s) failed their checker:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    for checker in [
        "Haproxy",
        "Keepalived",
        "Nginx",
        "Mariadb",
        "Nftables",
        "Shell",
    ] {
        assert!(
            checked.get(checker).copied().unwrap_or(0) > 0,
            "no file was checked by {checker}"
        );
    }
}

#[test]
fn a_broken_config_is_caught_by_its_checker() {
    require_tools();
    // Guards the harness itself: a checker that passes everything would make the test above empty.
    let mut caught = std::collections::BTreeSet::new();
    for (_, inv) in inventories() {
        let mut rendered = render::render_all(&inv, &Secrets::masked()).unwrap();
        for file in rendered.values_mut().flatten() {
            file.content.push_str(match file.checker {
                Some(Checker::Haproxy) => "\nbackend broken\n    balance no-such-algorithm\n",
                Some(Checker::Keepalived) => "\nvrrp_instance broken {\n    interface eth9\n}\n",
                Some(Checker::Mariadb) => "\n[mysqld]\nno_such_option = 1\n",
                Some(Checker::Nftables) => "\nno such statement\n",
                Some(Checker::Shell) => "\nif then fi\n",
                Some(Checker::Nginx) => "\nno_such_directive on;\n",
                None => "",
            });
        }
        for (host, path, checker, outcome) in check_all(&rendered) {
            assert!(
                outcome.is_err(),
                "{host} {path} passed its {checker:?} check although broken"
            );
            caught.insert(format!("{checker:?}"));
        }
    }
    assert_eq!(
        caught.len(),
        6,
        "every kind of checker must have caught a broken file: {caught:?}"
    );
}

/// Galera's own range checks of the EVS timers (gcomm's evs_proto.cpp, milliseconds), which
/// `mariadbd --help` cannot see: it only reads the provider options when wsrep starts.
fn galera_accepts(options: &str) -> Result<(), String> {
    let ms = |key: &str| -> u64 {
        let value = options
            .split("; ")
            .find_map(|o| o.strip_prefix(&format!("evs.{key}=")))
            .unwrap_or_else(|| panic!("evs.{key} missing from {options}"));
        let seconds: f64 = value
            .strip_prefix("PT")
            .and_then(|v| v.strip_suffix('S'))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{value} is not PT<seconds>S"));
        (seconds * 1000.0).round() as u64
    };
    let (suspect, inactive) = (ms("suspect_timeout"), ms("inactive_timeout"));
    let (keepalive, check, install) = (
        ms("keepalive_period"),
        ms("inactive_check_period"),
        ms("install_timeout"),
    );
    let ok = suspect >= 100
        && inactive >= 100
        && check <= suspect / 2
        && (100..=suspect / 3).contains(&keepalive)
        && (keepalive * 2..=inactive).contains(&install);
    ok.then_some(())
        .ok_or_else(|| format!("Galera refuses {options}"))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, ..Default::default() })]

    /// Any failure-detection combination validate accepts renders a galera.cnf, garbd file and
    /// keepalived.conf their checkers accept, with timers Galera accepts, the same on garbd.
    #[test]
    fn accepted_failure_detection_renders_files_the_checkers_accept(
        suspect in 1000u64..=120_000,
        inactive_extra in 1u64..=60_000,
        keepalive_pick in 0u64..=1_000_000,
        check_pick in 0u64..=1_000_000,
        install_pick in 0u64..=1_000_000,
        check_interval in 1u32..=20,
        check_fall_pick in 1u32..=10,
    ) {
        let check_fall = check_fall_pick.min(20 / check_interval).max(1);
        require_tools();
        let inactive = suspect + inactive_extra;
        let keepalive = 100 + keepalive_pick % (suspect / 3 - 100 + 1);
        let check = 100 + check_pick % (suspect / 2 - 100 + 1);
        let install = keepalive * 2 + install_pick % (inactive - keepalive * 2 + 1);
        let text = std::fs::read_to_string("inventory/example.yml").unwrap();
        let mut inv = inventory::parse(&text).unwrap();
        let seconds = |ms: u64| ms as f64 / 1000.0;
        inv.services.galera.failure_detection = inventory::FailureDetection {
            suspect_timeout: seconds(suspect),
            inactive_timeout: seconds(inactive),
            keepalive_period: seconds(keepalive),
            inactive_check_period: seconds(check),
            install_timeout: seconds(install),
            check_interval,
            check_fall,
        };
        let problems = inventory::validate(&inv);
        proptest::prop_assert!(problems.is_empty(), "{:?}", problems);
        let mut rendered = render::render_all(&inv, &Secrets::masked()).unwrap();
        for files in rendered.values_mut() {
            files.retain(|f| {
                f.path.ends_with("60-galera.cnf")
                    || f.path == "/etc/default/garb"
                    || f.path.starts_with("/etc/keepalived/")
            });
        }
        rendered.retain(|host, _| inv.hosts[host].has(inventory::Role::Db) || inv.hosts[host].has(inventory::Role::Arbiter));
        let mut checked = 0;
        for (host, path, checker, outcome) in check_all(&rendered) {
            proptest::prop_assert!(outcome.is_ok(), "{host} {path} ({checker:?}): {:?}", outcome);
            checked += 1;
        }
        proptest::prop_assert!(checked >= 5, "only {checked} files checked");
        for file in rendered.values().flatten() {
            let options = file
                .content
                .lines()
                .find_map(|l| {
                    l.strip_prefix("wsrep_provider_options = \"")
                        .or_else(|| l.strip_prefix("GALERA_OPTIONS=\""))
                })
                .map(|rest| rest.trim_end_matches('"'));
            if let Some(options) = options {
                proptest::prop_assert!(galera_accepts(options).is_ok(), "{}: {options}", file.path);
            }
            if file.path == "/etc/keepalived/keepalived.conf" {
                let wanted = format!("    interval {check_interval}\n    fall {check_fall}\n");
                proptest::prop_assert!(file.content.contains(&wanted), "{}", file.content);
            }
        }
    }
}

#[test]
fn galera_range_mirror_refuses_what_galera_refuses() {
    // Guards the mirror above: the defaults pass, a keepalive over suspect/3 does not.
    let good = "evs.suspect_timeout=PT2S; evs.inactive_timeout=PT4S; evs.keepalive_period=PT0.5S; \
                evs.inactive_check_period=PT0.5S; evs.install_timeout=PT4S";
    assert!(galera_accepts(good).is_ok());
    assert!(
        galera_accepts(&good.replace("keepalive_period=PT0.5S", "keepalive_period=PT0.7S"))
            .is_err()
    );
    assert!(
        galera_accepts(&good.replace("install_timeout=PT4S", "install_timeout=PT4.5S")).is_err()
    );
}
