//! A planned Galera change under live load, on the lab's real hosts: `up` with a changed Galera
//! setting restarts the db nodes one at a time, and drains the DB VIP from each before its
//! restart (the VIP moves to the other Synced node first). Clients through the frontend VIP see
//! no failed request, and every acknowledged write is still there. The longest write gap is
//! printed (the failover bench reports it against the target); it is not asserted here.
//!
//! Then the planned stop of an lb host at the drills' default load (250 requests/s over 8
//! connections): `failover-test --drill lb-stop` drains the frontend VIP off its holder before
//! HAProxy and keepalived stop there, and must fail no request.
//!
//! Takes over the machine's lab (up at the start, down at the end); needs root and dockerd.

mod common;

use common::{LabTest, changes, lab_host};
use minicloud::drill::load::{Load, Rates, longest_gap_ms};
use std::time::Duration;

async fn db_vip_holder(lab: &LabTest) -> Vec<String> {
    let mut holders = Vec::new();
    for db in ["db1", "db2"] {
        let out = lab.run(&lab_host(db), "ip -o -4 addr show").await;
        if out.stdout_text().contains("10.231.60.100/") {
            holders.push(db.to_string());
        }
    }
    holders
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_galera_rolling_restart_under_load_fails_no_request() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("rolling-change");
    tokio::task::block_in_place(|| {
        lab.must(&["lab", "down"]);
        lab.must(&["lab", "up"]);
    });
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "{report:#}");
    let holder_before = db_vip_holder(&lab).await;
    assert_eq!(
        holder_before.len(),
        1,
        "one DB VIP holder: {holder_before:?}"
    );

    let token = minicloud::secrets::Secrets::load_existing(&lab.dir.join("inventory.secrets.yml"))
        .unwrap()
        .roster_api_token;
    let scratch = tempfile::tempdir().unwrap();
    // The lab's inventory leaves Galera's settings at their defaults: a gcache of 129M is a
    // config change of every db node that moves no data.
    let changed = lab.variant(scratch.path(), "gcache", |text| {
        assert!(text.contains("  database: galera\n"), "{text}");
        text.replace(
            "  database: galera\n",
            "  database: galera\n  galera:\n    gcache_size: 129M\n",
        )
    });
    let load = Load::start(
        "http://10.231.50.100",
        &token,
        "rolling",
        7000,
        Rates {
            writes_per_second: 40,
            reads_per_second: 40,
            request_timeout: Duration::from_secs(10),
            ..Rates::default()
        },
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(Some(&changed)));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = load.stop().await;
    assert_eq!(code, 0, "{report:#}");
    for db in ["db1", "db2"] {
        let done = changes(&report, db).join("; ");
        assert!(
            done.contains("restarted mariadb (config changed), Synced again"),
            "{db}: {done}"
        );
    }
    let drained = changes(&report, &holder_before[0]).join("; ");
    assert!(
        drained.contains("drained the DB VIP"),
        "the holder gave the VIP away before its restart: {drained}"
    );
    let failed: Vec<_> = seen.samples.iter().filter(|s| !s.ok).collect();
    let end = seen.samples.iter().map(|s| s.done_ms).max().unwrap_or(0);
    let gap = longest_gap_ms(
        &seen.samples,
        Some(minicloud::drill::load::Kind::Write),
        0,
        end,
    );
    eprintln!(
        "rolling restart under load: {} requests, {} failed, longest write gap {gap} ms",
        seen.samples.len(),
        failed.len()
    );
    assert!(seen.samples.len() > 100, "the load ran");
    assert!(failed.is_empty(), "no request may fail: {failed:?}");

    // Every acknowledged write is there, read back from the cluster.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for (day, name) in seen.acked.iter().step_by(10) {
        let body = client
            .get(format!("http://10.231.50.100/api/v1/roster/{day}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains(name.as_str()), "{day}: {body}");
    }

    // The frontend VIP's planned move, at the drills' default load: keep-alive connections
    // open to the holder from 8 clients, which a move without the drain resets.
    let out = lab.minicloud(&[
        "failover-test",
        "--json",
        "--drill",
        "lb-stop",
        "--hold",
        "3",
        "--roster-binary",
        common::roster_bin(),
    ]);
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let line = common::drill_line(&results[0]);
    eprintln!("{line}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "lb-stop missed its budget: {line}"
    );
    assert_eq!(results[0]["failed_requests"], 0, "{line}");
    assert!(
        results[0]["requests"].as_u64().unwrap() > 1000,
        "the default load ran: {line}"
    );
    lab.must(&["lab", "down"]);
}
