//! The frontend VIP's notify hook on the lab's real hosts: `up` refuses a script that is
//! missing or that a non-root user could change, naming the host, before anything changes;
//! with a proper script keepalived runs it with `INSTANCE frontend <STATE> <priority>` on each
//! lb host, and a move of the VIP reaches the new holder's script as MASTER.
//!
//! Takes over the machine's lab (up at the start, down at the end); needs root and dockerd.

mod common;

use common::{LabTest, lab_host};
use std::time::{Duration, Instant};

const SCRIPT: &str = "/usr/local/sbin/minicloud-test-notify";
const LOG: &str = "/var/log/minicloud-test-notify.log";

/// The script: one line per call, its arguments as keepalived gave them.
fn install(mode: &str) -> String {
    format!(
        "printf '#!/bin/sh\\necho \"$*\" >> {LOG}\\n' > {SCRIPT} && chown root:root {SCRIPT} && chmod {mode} {SCRIPT}"
    )
}

async fn log(lab: &LabTest, host: &str) -> String {
    lab.run(&lab_host(host), &format!("cat {LOG} 2>/dev/null"))
        .await
        .stdout_text()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_notify_hook_is_checked_then_run_on_every_state_change() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("notify-hook-test");
    lab.minicloud(&["lab", "down"]);
    lab.must(&["lab", "up"]);
    let dir = tempfile::tempdir().unwrap();
    let inventory = lab.variant(dir.path(), "notify", |text| {
        text.replace(
            "    virtual_router_id: 51\n",
            &format!("    virtual_router_id: 51\n    notify: {SCRIPT}\n"),
        )
    });
    let up = |lab: &LabTest| tokio::task::block_in_place(|| lab.up_json(Some(&inventory)));

    // Missing on both lb hosts: refused, naming the first, with nothing changed anywhere.
    let (code, _) = up(&lab);
    assert_eq!(code, 2);
    let out = lab.minicloud(&["plan", "-i", inventory.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("lb1: services.frontend_vip.notify") && stderr.contains("does not exist"),
        "{stderr}"
    );
    let bare = lab
        .run(
            &lab_host("lb1"),
            "test -e /etc/keepalived/keepalived.conf && echo written",
        )
        .await;
    assert!(!bare.stdout_text().contains("written"), "lb1 was changed");

    // Writable by everyone on lb2: refused, naming lb2 and why.
    lab.run(&lab_host("lb1"), &install("0755")).await;
    lab.run(&lab_host("lb2"), &install("0777")).await;
    let out = lab.minicloud(&["plan", "-i", inventory.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("lb2: services.frontend_vip.notify")
            && stderr.contains("writable by every user"),
        "{stderr}"
    );

    // A proper script: `up` converges, and keepalived reports each lb host's state to it.
    lab.run(&lab_host("lb2"), &install("0755")).await;
    let (code, report) = up(&lab);
    assert_eq!(code, 0, "up failed: {report}");
    let holder = wait_for(&lab, |lb1, lb2| {
        [("lb1", lb1), ("lb2", lb2)]
            .into_iter()
            .find(|(_, log)| log.contains("INSTANCE frontend MASTER"))
            .map(|(host, _)| host.to_string())
    })
    .await;
    let other = if holder == "lb1" { "lb2" } else { "lb1" };
    assert!(log(&lab, other).await.contains("INSTANCE frontend BACKUP"));

    // The holder's keepalived stops: its script hears STOP, the other's hears MASTER.
    lab.run(&lab_host(other), &format!(": > {LOG}")).await;
    lab.run(&lab_host(&holder), "systemctl stop keepalived")
        .await;
    let moved = wait_for(&lab, |lb1, lb2| {
        let new = if other == "lb1" { lb1 } else { lb2 };
        new.contains("INSTANCE frontend MASTER").then_some(())
    })
    .await;
    assert_eq!(moved, ());
    assert!(log(&lab, &holder).await.contains("INSTANCE frontend STOP"));
    lab.run(&lab_host(&holder), "systemctl start keepalived")
        .await;
    lab.must(&["lab", "down"]);
}

/// Poll both lb hosts' logs until `done` says something, for at most 30 s.
async fn wait_for<T>(lab: &LabTest, done: impl Fn(&str, &str) -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        let (lb1, lb2) = (log(lab, "lb1").await, log(lab, "lb2").await);
        if let Some(value) = done(&lb1, &lb2) {
            return value;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no such call in 30 s:\nlb1: {lb1}\nlb2: {lb2}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
