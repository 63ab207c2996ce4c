//! The lab end to end, on real Docker containers booting systemd and sshd: bring it up, reach
//! every host over SSH with the generated key and a verified host key, check each host's
//! networks, kill and restart a host, partition and heal one, and tear it all down.
//!
//! This test takes over the machine's lab (it runs `lab up` and ends with `lab down`). It
//! needs root and a running dockerd, as `scripts/test.sh` sets up. Traffic goes only to the
//! lab's own containers on the lab's own networks.

mod common;

use common::LabTest;
use minicloud::lab::{self, topology};
use minicloud::ssh::Connection;

fn lab() -> LabTest {
    LabTest::new("lab-test")
}

fn lab_dir() -> std::path::PathBuf {
    lab().dir
}

fn minicloud(args: &[&str]) -> std::process::Output {
    lab().minicloud(args)
}

fn must(args: &[&str]) -> String {
    lab().must(args)
}

fn target(host: &topology::LabHost) -> minicloud::ssh::Target {
    lab().target(host)
}

async fn run(host: &topology::LabHost, command: &str) -> minicloud::ssh::Output {
    lab().run(host, command).await
}

/// Whether `from` reaches `address` on TCP port 22 (both lab hosts).
async fn reaches(from: &topology::LabHost, address: &str) -> bool {
    run(from, &format!("nc -z -w 2 {address} 22"))
        .await
        .success()
}

#[tokio::test(flavor = "multi_thread")]
async fn lab_lifecycle() {
    if common::lab_tests_off() {
        return;
    }
    // A clean lab: whatever ran on these hosts before (a converged stack's VIPs, say) goes first.
    let up = tokio::task::spawn_blocking(|| {
        must(&["lab", "down"]);
        must(&["lab", "up"])
    })
    .await
    .unwrap();
    assert_eq!(
        up.matches('\n').count(),
        7,
        "one line per host and a summary:\n{up}"
    );
    let names: Vec<String> = topology::DEFAULT_HOSTS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let hosts = topology::plan_hosts(&names).unwrap();
    let by_name = |name: &str| hosts.iter().find(|h| h.name == name).unwrap().clone();

    // Every host: SSH with the lab key and verified host key; systemd up; exactly its networks.
    for host in &hosts {
        let state = run(host, "systemctl is-system-running").await.stdout_text();
        assert!(
            matches!(state.trim(), "running" | "degraded"),
            "{}: systemd is {state}",
            host.name
        );
        let mut addrs = minicloud::facts::parse_ipv4_addrs(
            &run(host, "ip -o -4 addr show").await.stdout_text(),
        );
        addrs.sort();
        assert_eq!(
            addrs,
            host.expected_interfaces(),
            "{} sees the wrong networks",
            host.name
        );
        let sudo = run(host, "su deploy -c 'sudo -n true' && echo sudo-ok")
            .await
            .stdout_text();
        assert_eq!(
            sudo.trim(),
            "sudo-ok",
            "{}: the non-root user must have sudo",
            host.name
        );
    }
    // Network separation: an lb host has no way onto the backend.
    let (lb1, db1, db2) = (by_name("lb1"), by_name("db1"), by_name("db2"));
    assert!(
        reaches(&db1, "10.231.60.32").await,
        "db1 must reach db2 on the backend"
    );
    assert!(
        !reaches(&lb1, "10.231.60.31").await,
        "lb1 must not reach the backend network"
    );

    // An OS minicloud does not support is refused before anything changes on any host.
    run(
        &db1,
        "cp /usr/lib/os-release /root/os-release.orig && \
         sed -i 's/^ID=.*/ID=ubuntu/; s/^VERSION_ID=.*/VERSION_ID=\"24.04\"/' /usr/lib/os-release",
    )
    .await;
    let refused = tokio::task::spawn_blocking(|| minicloud(&["up"]))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("db1 runs \"ubuntu 24.04\", which minicloud does not support")
            && stderr.contains("Debian 12 (bookworm) and Debian 13 (trixie)"),
        "{stderr}"
    );
    for host in &hosts {
        let touched = run(host, "ls -d /etc/minicloud /var/lib/minicloud 2>/dev/null").await;
        assert_eq!(
            touched.stdout_text(),
            "",
            "{}: changed by a refused up",
            host.name
        );
    }
    run(&db1, "mv /root/os-release.orig /usr/lib/os-release").await;

    // A second `lab up` leaves a healthy lab alone, quickly.
    let again = tokio::task::spawn_blocking(|| must(&["lab", "up"]))
        .await
        .unwrap();
    assert_eq!(again.matches("healthy, left alone").count(), 6, "{again}");

    // Host keys are verified: a changed key and an unknown key both refuse to connect.
    let scratch = tempfile::tempdir().unwrap();
    let mut wrong = target(&db1);
    wrong.known_hosts = scratch.path().join("known_hosts");
    let other_key = std::fs::read_to_string(lab_dir().join("known_hosts")).unwrap();
    let db2_key = other_key
        .lines()
        .find(|l| l.starts_with("10.231.60.32 "))
        .unwrap();
    std::fs::write(
        &wrong.known_hosts,
        db2_key.replacen("10.231.60.32", "10.231.60.31", 1) + "\n",
    )
    .unwrap();
    let err = Connection::open(&wrong)
        .await
        .err()
        .expect("a changed host key must fail")
        .to_string();
    assert!(
        err.contains("HOST KEY CHANGED") && err.contains("line 1"),
        "{err}"
    );
    std::fs::write(&wrong.known_hosts, "").unwrap();
    let err = Connection::open(&wrong)
        .await
        .err()
        .expect("an unknown host key must fail")
        .to_string();
    assert!(
        err.contains("unknown host key SHA256:") && err.contains("--accept-new-host-keys"),
        "{err}"
    );
    wrong.accept_new_host_key = true;
    Connection::open(&wrong)
        .await
        .expect("--accept-new-host-keys records the key")
        .close()
        .await;
    let learned = std::fs::read_to_string(&wrong.known_hosts).unwrap();
    assert!(
        learned
            .lines()
            .any(|l| l.starts_with("10.231.60.31 ssh-ed25519 ")),
        "{learned}"
    );

    // A host with a recorded key of another type (here an ECDSA key, while db1 shows ed25519)
    // is changed, not unknown: --accept-new-host-keys records nothing.
    let ecdsa_only = "10.231.60.31 ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLN191Oj1K36svYt7Iuhim4iit5MR//M5o3t0hc/rl+E86493bLBXDml5jPdS9eDtY8s3u51hlBYwCbwWXCys5A=\n";
    std::fs::write(&wrong.known_hosts, ecdsa_only).unwrap();
    let err = Connection::open(&wrong)
        .await
        .err()
        .expect("a key of a type not recorded must fail even with --accept-new-host-keys")
        .to_string();
    assert!(
        err.contains("HOST KEY CHANGED")
            && err.contains("ssh-ed25519 key")
            && err.contains("line 1"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&wrong.known_hosts).unwrap(),
        ecdsa_only
    );
    // A @revoked key is refused even where it is also recorded.
    let db1_key = learned
        .lines()
        .find(|l| l.starts_with("10.231.60.31 ssh-ed25519 "))
        .unwrap();
    let revoked = db1_key.replacen("10.231.60.31", "@revoked *", 1);
    std::fs::write(&wrong.known_hosts, format!("{db1_key}\n{revoked}\n")).unwrap();
    let err = Connection::open(&wrong)
        .await
        .err()
        .expect("a revoked host key must fail")
        .to_string();
    assert!(
        err.contains("REVOKED HOST KEY") && err.contains("line 2"),
        "{err}"
    );

    // Kill a host: unreachable; start it: back, with the same verified host key.
    must(&["lab", "kill", "db2"]);
    assert!(
        !reaches(&db1, "10.231.60.32").await,
        "a killed host must not answer"
    );
    let status = minicloud(&["lab", "status"]);
    assert_eq!(
        status.status.code(),
        Some(1),
        "status must say the lab is not healthy"
    );
    assert!(String::from_utf8_lossy(&status.stdout).contains("container not running"));
    must(&["lab", "start", "db2"]);
    assert!(run(&db2, "true").await.success());

    // Partition db2 from the backend, then heal it.
    must(&["lab", "partition", "db2", "--network", "backend"]);
    assert!(
        !reaches(&db1, "10.231.60.32").await,
        "a partitioned host must not be reachable"
    );
    must(&["lab", "heal", "db2", "--network", "backend"]);
    assert!(
        reaches(&db1, "10.231.60.32").await,
        "a healed host must be reachable again"
    );
    assert_eq!(minicloud(&["lab", "status"]).status.code(), Some(0));

    // Down removes exactly what up created.
    must(&["lab", "down"]);
    let docker = |args: &[&str]| {
        let out = std::process::Command::new("docker")
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let label = format!("label={}", lab::LABEL);
    assert_eq!(
        docker(&["ps", "-aq", "--filter", &label]).trim(),
        "",
        "containers left behind"
    );
    assert_eq!(
        docker(&["network", "ls", "-q", "--filter", &label]).trim(),
        "",
        "networks left behind"
    );
    assert!(!lab_dir().join("inventory.yml").exists());
}
