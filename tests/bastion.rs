//! The bastion layout end to end (`minicloud lab up --bastion`): this machine reaches only the
//! bastion, and `up`, `status` and `failover-test` work through it, by host name, as the sudo
//! user `deploy`:
//!
//! - a direct TCP connection from here to a host on the lab networks fails, to the bastion's
//!   mgmt address it works, and the bastion resolves the hosts' names;
//! - `up` converges every host through the bastion as `deploy`, and the hosts saw SSH come
//!   from the bastion's address, which `firewall.ssh_from` holds; an inventory whose ssh_from
//!   holds this machine's addresses instead is refused before anything changes;
//! - `status` is healthy, its VIP check answered through the bastion;
//! - `failover-test` passes a drill per tier (lb-down, app-crash, db-crash) under the default
//!   load (through the bastion), nothing lost;
//! - `lab down` removes the wall (the lab's nftables table).
//!
//! Takes over the machine's lab (down at the start and at the end); needs root, dockerd, nft.

mod common;

use common::LabTest;
use minicloud::lab::isolation;
use minicloud::lab::topology::{self, LabHost};
use serde_json::Value;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn bastion_lab_host(name: &str) -> LabHost {
    let names: Vec<String> = topology::DEFAULT_HOSTS
        .iter()
        .map(|s| s.to_string())
        .collect();
    topology::plan_lab(&names, true)
        .unwrap()
        .into_iter()
        .find(|h| h.name == name)
        .unwrap()
}

/// A TCP connection from this machine to `address:22`, within 3 s.
fn connects(address: std::net::Ipv4Addr) -> bool {
    let addr = SocketAddr::from((address, 22));
    TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stack_runs_through_a_bastion_as_a_sudo_user_by_host_names() {
    if common::lab_tests_off() {
        return;
    }
    let started = Instant::now();
    let lab = LabTest::new("bastion-test");
    lab.minicloud(&["lab", "down"]);
    lab.must(&["lab", "up", "--bastion"]);
    eprintln!("lab up --bastion: {:?}", started.elapsed());

    // The wall: straight to the lab networks fails (the bastion's own addresses there too),
    // the bastion's mgmt address answers.
    assert!(isolation::present().await.unwrap(), "no nftables wall");
    let (lb1, db1, bastion) = (
        bastion_lab_host("lb1"),
        bastion_lab_host("db1"),
        LabHost::bastion(),
    );
    for address in [
        lb1.frontend.unwrap(),
        db1.backend.unwrap(),
        topology::BASTION_FRONTEND,
    ] {
        assert!(!connects(address), "{address}:22 is reachable from here");
    }
    assert!(connects(topology::BASTION_MGMT), "the bastion is not");
    // Through the bastion, by name: Docker's DNS answers it there.
    let resolved = lab.run(&bastion, "getent hosts db1").await.stdout_text();
    assert!(resolved.starts_with("10.231.60.31 "), "{resolved}");
    assert_eq!(lab.run(&db1, "hostname").await.stdout_text().trim(), "db1");

    // The inventory written for it: names, the jump, the sudo user, ssh_from the bastion's.
    let text = std::fs::read_to_string(lab.dir.join("inventory.yml")).unwrap();
    for line in [
        "  user: deploy\n",
        "  proxy_jump: deploy@10.231.70.10\n",
        "  ssh_from: [10.231.50.5/32, 10.231.60.5/32]\n",
        "    ssh:\n      host: app1\n",
    ] {
        assert!(text.contains(line), "{line:?} missing:\n{text}");
    }

    // `up` through the bastion as the sudo user.
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "up failed: {report}");
    eprintln!("up: {:?}", started.elapsed());
    for (host, from) in [(&lb1, "10.231.50.5"), (&db1, "10.231.60.5")] {
        let log = lab
            .run(host, "journalctl -u ssh --no-pager -o cat")
            .await
            .stdout_text();
        assert!(
            log.contains(&format!("Accepted publickey for deploy from {from} ")),
            "{}: no deploy login from the bastion:\n{log}",
            host.name
        );
    }
    let rules = lab
        .run(&db1, "nft list table inet minicloud")
        .await
        .stdout_text();
    assert!(rules.contains("10.231.60.5"), "{rules}");

    // ssh_from naming this machine instead: the hosts see the bastion, so `up` refuses.
    let scratch = tempfile::tempdir().unwrap();
    let wrong = lab.variant(scratch.path(), "from-here", |t| {
        t.replace(
            "ssh_from: [10.231.50.5/32, 10.231.60.5/32]",
            "ssh_from: [10.231.50.1/32, 10.231.60.1/32]",
        )
    });
    let out = lab.minicloud(&[
        "up",
        "-i",
        wrong.to_str().unwrap(),
        "--roster-binary",
        common::roster_bin(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("(through the jump host 10.231.70.10) as 10.231.")
            && stderr.contains("nothing was changed on any host"),
        "{stderr}"
    );

    // `status`: healthy, the frontend VIP answered through the bastion.
    let out = lab.minicloud(&["status", "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{status}");
    assert_eq!(status["vips"][0]["name"], "frontend");
    assert_eq!(status["vips"][0]["readyz"]["ok"], true, "{status}");

    // One drill per tier under the default load (250 requests/s), as the sudo user.
    let out = lab.minicloud(&[
        "failover-test",
        "--json",
        "--roster-binary",
        common::roster_bin(),
        "--drill",
        "lb-down,app-crash,db-crash",
    ]);
    let results: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    for r in results.as_array().expect("a JSON array of results") {
        eprintln!("{}", common::drill_line(r));
        assert_eq!(r["passed"], true, "{}", r["drill"]["name"]);
        assert_eq!(r["lost_writes"], Value::Array(vec![]));
        // The load went through: seconds of it at 100 writes/s, acknowledged.
        assert!(r["acknowledged_writes"].as_u64().unwrap() > 500, "{r}");
    }
    assert_eq!(out.status.code(), Some(0), "a drill failed");
    assert_eq!(results.as_array().unwrap().len(), 3);
    eprintln!("drills: {:?}", started.elapsed());

    lab.must(&["lab", "down"]);
    assert!(
        !isolation::present().await.unwrap(),
        "lab down left the nftables wall"
    );
    eprintln!("bastion test: {:?} in all", started.elapsed());
}
