//! `minicloud up` and `plan` end to end on the lab's real hosts (sshd, systemd, MariaDB Galera,
//! garbd, HAProxy, keepalived, the roster app):
//!
//! - from bare hosts: the VIP serves the roster page, Galera is Primary at full size with every
//!   node Synced, garbd joined, the DB VIP sits on a Synced node, both HAProxys run;
//! - a second `up` changes nothing and restarts no service;
//! - one changed setting: `plan` shows exactly that diff on the lb hosts (as JSON too, coloured
//!   when asked, exit 3 with --detailed-exitcode, 0 once `up` ran), `up` reloads only HAProxy and
//!   says each step as a `HOST: step (elapsed)` line off a terminal;
//! - the hashes `up` records for the files it wrote stand only while a file is untouched: a
//!   same-size edit in place is still found;
//! - an unknown host key, a changed host key, an unreachable host: clear error, nothing changed;
//! - the roster page, in headless Chromium through the frontend VIP: add, edit, delete an entry,
//!   each visible through the API, and a refused add shown as an error on the page; the page asks
//!   for the API token, and asks again when the server refuses it;
//! - through the VIP, writes without the API token are refused (401) and /readyz and /metrics
//!   are not served (404), while /healthz is;
//! - a total outage (stale db2, crashed db1, garbd's host down): `up` bootstraps from the most
//!   advanced node and every row written before is still there.
//!
//! Takes over the machine's lab (up at the start, down at the end); needs root and dockerd.

mod common;

use common::{LabTest, changes, lab_host, lab_hosts};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const VIP: &str = "http://10.231.50.100";
const UNITS: &str = "haproxy keepalived mariadb garb roster";

async fn galera(lab: &LabTest, name: &str) -> String {
    let sql = "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status','wsrep_cluster_size','wsrep_local_state_comment')";
    lab.run(
        &lab_host(name),
        &format!("mariadb -N -B -e \"{sql}\" | sort | tr '\\t\\n' '= '"),
    )
    .await
    .stdout_text()
}

async fn http(
    client: &reqwest::Client,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, String) {
    let mut request = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{VIP}{path}"),
    );
    if let Some(body) = body {
        request = request.json(&body);
    }
    match request.send().await {
        Ok(response) => (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}

/// Headless Chromium (Debian's, no download), started with nothing talking to the outside.
fn browser() -> headless_chrome::Browser {
    use std::ffi::OsStr;
    let options = headless_chrome::LaunchOptions {
        path: Some("/usr/bin/chromium".into()),
        sandbox: false,
        headless: true,
        window_size: Some((1200, 900)),
        idle_browser_timeout: Duration::from_secs(120),
        args: [
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ]
        .iter()
        .map(OsStr::new)
        .collect(),
        ..headless_chrome::LaunchOptions::default()
    };
    headless_chrome::Browser::new(options)
        .expect("chromium (apt-get install chromium; scripts/test.sh does)")
}

/// Text of the roster row for `day` once `predicate` holds for it.
fn wait_row(tab: &headless_chrome::Tab, day: &str, predicate: impl Fn(&str) -> bool) -> String {
    let started = std::time::Instant::now();
    loop {
        let text = tab
            .find_element(&format!("tr[data-date='{day}']"))
            .and_then(|row| row.get_inner_text())
            .unwrap_or_default();
        if predicate(&text) {
            return text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "row {day} never matched; last: {text:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

async fn api_name(client: &reqwest::Client, day: &str) -> Option<String> {
    let (status, body) = http(client, "GET", &format!("/api/v1/roster/{day}"), None).await;
    (status == 200).then(|| {
        serde_json::from_str::<Value>(&body).unwrap()["name"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

/// The roster API token, from the secrets file the first `up` generated.
fn api_token(lab: &LabTest) -> String {
    minicloud::secrets::Secrets::load_existing(&lab.dir.join("inventory.secrets.yml"))
        .unwrap()
        .roster_api_token
}

/// A client whose every request carries the API token, as an operator's script would.
fn client_with_token(lab: &LabTest) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", api_token(lab)).parse().unwrap(),
    );
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Add, edit and delete an entry on the page; each change must show through the API.
async fn browser_round_trip(lab: &LabTest, client: &reqwest::Client) {
    let token = api_token(lab);
    let day = (chrono::Local::now().date_naive() + chrono::Duration::days(3)).to_string();
    let browser = tokio::task::block_in_place(browser);
    let tab = tokio::task::block_in_place(|| {
        let tab = browser.new_tab().unwrap();
        tab.navigate_to(&format!("{VIP}/"))
            .unwrap()
            .wait_until_navigated()
            .unwrap();
        let node = tab
            .wait_for_element("#node")
            .unwrap()
            .get_inner_text()
            .unwrap();
        assert!(
            node == "app1" || node == "app2",
            "the page names the node that served it: {node:?}"
        );
        wait_row(&tab, &day, |t| t.contains("nobody yet"));
        // The first change asks for the token: a wrong one is refused, forgotten and asked for
        // again; the right one is then kept for the session (a third prompt would fail).
        tab.evaluate(
            &format!(
                "window.prompts = 0; const answers = ['wrong-token', '{token}']; \
                 window.prompt = () => {{ window.prompts++; return answers.shift(); }}"
            ),
            false,
        )
        .unwrap();
        // Add.
        tab.evaluate(
            &format!("document.getElementById('date').value = '{day}'"),
            false,
        )
        .unwrap();
        tab.find_element("#name").unwrap().click().unwrap();
        tab.type_str("Browser Ada").unwrap();
        tab.find_element("#team").unwrap().click().unwrap();
        tab.type_str("SRE").unwrap();
        tab.find_element("#save").unwrap().click().unwrap();
        wait_row(&tab, &day, |t| {
            t.contains("Browser Ada") && t.contains("SRE")
        });
        tab
    });
    assert_eq!(api_name(client, &day).await.as_deref(), Some("Browser Ada"));
    tokio::task::block_in_place(|| {
        // Adding the same day again is refused, and the page says so.
        tab.evaluate(
            &format!("document.getElementById('date').value = '{day}'"),
            false,
        )
        .unwrap();
        tab.find_element("#name").unwrap().click().unwrap();
        tab.type_str("Someone Else").unwrap();
        tab.find_element("#save").unwrap().click().unwrap();
        let error = tab.wait_for_element("#error").unwrap();
        let started = std::time::Instant::now();
        while !error
            .get_inner_text()
            .unwrap()
            .contains("already has an entry")
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no visible error for a refused add"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // Edit.
        tab.evaluate("document.getElementById('entry-form').reset()", false)
            .unwrap();
        tab.find_element(&format!("tr[data-date='{day}'] button"))
            .unwrap()
            .click()
            .unwrap();
        tab.evaluate("document.getElementById('name').value = ''", false)
            .unwrap();
        tab.find_element("#name").unwrap().click().unwrap();
        tab.type_str("Browser Bob").unwrap();
        tab.find_element("#save").unwrap().click().unwrap();
        wait_row(&tab, &day, |t| t.contains("Browser Bob"));
    });
    assert_eq!(api_name(client, &day).await.as_deref(), Some("Browser Bob"));
    let prompts = tokio::task::block_in_place(|| {
        tab.evaluate("window.prompts", false)
            .unwrap()
            .value
            .unwrap()
    });
    assert_eq!(
        prompts, 2,
        "asked once, and once more after the refused token"
    );
    tokio::task::block_in_place(|| {
        let png = tab
            .capture_screenshot(
                headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption::Png,
                None,
                None,
                true,
            )
            .unwrap();
        std::fs::write(lab.dir.join("roster-page.png"), png).unwrap();
        // Delete (the page asks for confirmation; the test says yes).
        tab.evaluate("window.confirm = () => true", false).unwrap();
        tab.find_element(&format!("tr[data-date='{day}'] button:nth-of-type(2)"))
            .unwrap()
            .click()
            .unwrap();
        wait_row(&tab, &day, |t| t.contains("nobody yet"));
    });
    assert_eq!(api_name(client, &day).await, None);
}

/// The indented lines under `host:` in plan output.
fn plan_section(plan: &str, host: &str) -> String {
    let heading = format!("{host}:");
    plan.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A copy of the lab inventory (and its secrets) with HAProxy's client timeout set.
fn variant(
    lab: &LabTest,
    dir: &Path,
    name: &str,
    timeout_ms: u32,
    edit: impl Fn(String) -> String,
) -> std::path::PathBuf {
    lab.variant(dir, name, |text| {
        edit(text.replace(
            "  haproxy:\n",
            &format!("  haproxy:\n    timeout_client_ms: {timeout_ms}\n"),
        ))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_converges_the_lab_quorum_safely() {
    if common::lab_tests_off() {
        return;
    }
    let lab = LabTest::new("up-test");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    // Bare hosts: whatever lab there was goes first.
    tokio::task::block_in_place(|| {
        lab.must(&["lab", "down"]);
        lab.must(&["lab", "up"]);
    });
    // The lab's hosts as documented JSON.
    let status: Value = serde_json::from_str(&tokio::task::block_in_place(|| {
        lab.must(&["lab", "status", "--json"])
    }))
    .unwrap();
    common::assert_same_shape(&common::documented_json("lab status"), &status, "", &[]);
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_eq!(status["hosts"].as_array().unwrap().len(), 6, "{status:#}");

    // From bare hosts to a working stack.
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "{report:#}");
    assert!(report["failed"].is_null());
    // The hosts' own work is timed apart from minicloud's (what `cargo bench --bench up` shows).
    let host_work = report["host_work_seconds"].as_object().unwrap();
    let waited: Vec<&str> = host_work.keys().map(String::as_str).collect();
    assert_eq!(
        waited,
        [
            "package installation",
            "MariaDB start (new cluster)",
            "Galera state transfer to joiners"
        ],
        "{report:#}"
    );
    let whole: f64 = report["phase_seconds"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|s| s.as_f64())
        .sum();
    assert!(
        host_work.values().all(|s| s.as_f64().unwrap() > 0.0)
            && host_work.values().filter_map(|s| s.as_f64()).sum::<f64>() < whole,
        "{report:#}"
    );
    let (status, page) = http(&client, "GET", "/", None).await;
    assert_eq!(status, 200);
    assert!(page.contains("served by"), "{page}");
    for db in ["db1", "db2"] {
        assert_eq!(
            galera(&lab, db).await.trim(),
            "wsrep_cluster_size=3 wsrep_cluster_status=Primary wsrep_local_state_comment=Synced"
        );
    }
    let mut vip_holders = Vec::new();
    for db in ["db1", "db2"] {
        if lab
            .run(&lab_host(db), "ip -o -4 addr show")
            .await
            .stdout_text()
            .contains("10.231.60.100/")
        {
            vip_holders.push(db);
        }
    }
    assert_eq!(
        vip_holders.len(),
        1,
        "the DB VIP must sit on exactly one db host: {vip_holders:?}"
    );
    for lb in ["lb1", "lb2"] {
        assert!(
            lab.run(&lab_host(lb), "systemctl is-active haproxy keepalived")
                .await
                .success(),
            "{lb}"
        );
    }
    assert!(
        lab.run(&lab_host("app1"), "systemctl is-active garb")
            .await
            .success()
    );
    // Writes need the API token; the node-only endpoints are not served through the VIP.
    let (status, _) = http(
        &client,
        "PUT",
        "/api/v1/roster/2027-04-01",
        Some(serde_json::json!({"name": "anonymous"})),
    )
    .await;
    assert_eq!(status, 401, "a write without the token");
    for (path, expected) in [("/readyz", 404), ("/metrics", 404), ("/healthz", 200)] {
        assert_eq!(http(&client, "GET", path, None).await.0, expected, "{path}");
    }
    let client = client_with_token(&lab);
    let (status, body) = http(
        &client,
        "PUT",
        "/api/v1/roster/2027-04-01",
        Some(serde_json::json!({"name": "first"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // The roster page in a real browser, through the frontend VIP.
    browser_round_trip(&lab, &client).await;

    // A second run: nothing changed, nothing restarted.
    let before = lab.start_times(UNITS).await;
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0);
    for h in lab_hosts() {
        assert_eq!(
            changes(&report, &h.name),
            Vec::<String>::new(),
            "{}: {report:#}",
            h.name
        );
    }
    assert_eq!(
        lab.start_times(UNITS).await,
        before,
        "a no-op up must restart no service"
    );

    // One changed setting: plan shows exactly that diff, on the lb hosts only; up reloads only HAProxy.
    let scratch = tempfile::tempdir().unwrap();
    let changed = variant(&lab, scratch.path(), "changed", 45000, |t| t);
    let plan_changed = || {
        lab.must(&[
            "plan",
            "-i",
            changed.to_str().unwrap(),
            "--roster-binary",
            common::roster_bin(),
        ])
    };
    let plan = plan_changed();
    for lb in ["lb1", "lb2"] {
        let section = plan_section(&plan, lb);
        assert!(
            section.contains("-    timeout client 30000ms")
                && section.contains("+    timeout client 45000ms"),
            "{plan}"
        );
    }
    assert_eq!(
        plan.matches("-    timeout").count(),
        2,
        "only the one line, on the two lb hosts:\n{plan}"
    );
    for quiet in ["app1", "app2", "db1", "db2"] {
        assert!(plan.contains(&format!("{quiet}: no change")), "{plan}");
    }
    assert!(plan.contains("2 of 6 hosts would change"));
    // The same plan for CI: exit 3 with changes pending, the steps per host as documented
    // JSON, coloured diffs when asked (auto colours only on a terminal).
    let plan_args = |extra: &[&'static str]| {
        let mut args = vec![
            "plan".to_string(),
            "-i".to_string(),
            changed.to_str().unwrap().to_string(),
            "--roster-binary".to_string(),
            common::roster_bin().to_string(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let run_plan = |extra: &[&'static str]| {
        let args = plan_args(extra);
        lab.minicloud(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = run_plan(&["--detailed-exitcode", "--json"]);
    assert_eq!(out.status.code(), Some(3), "changes pending");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_same_shape(&common::documented_json("plan"), &json, "", &["hosts"]);
    assert_eq!(
        (json["in_sync"].clone(), json["changed_hosts"].clone()),
        (false.into(), 2.into())
    );
    let lb1_steps = json["hosts"]["lb1"]["steps"].to_string();
    assert!(
        lb1_steps.contains("+    timeout client 45000ms"),
        "{json:#}"
    );
    assert_eq!(json["hosts"]["db1"]["steps"], serde_json::json!([]));
    let out = run_plan(&["--color", "always"]);
    let coloured = String::from_utf8_lossy(&out.stdout);
    assert!(
        coloured.contains("\x1b[32m+    timeout client 45000ms\x1b[0m")
            && coloured.contains("\x1b[31m-    timeout client 30000ms\x1b[0m"),
        "{coloured}"
    );
    assert!(
        !plan.contains('\x1b'),
        "no colour into a pipe by default:\n{plan}"
    );
    assert_eq!(
        lab.start_times(UNITS).await,
        before,
        "plan must change nothing"
    );
    // Off a terminal, `up` says each step as a line naming the host, with the time so far.
    let up_args = plan_args(&["--json"]);
    let mut up_args: Vec<&str> = up_args.iter().map(String::as_str).collect();
    up_args[0] = "up";
    let out = lab.minicloud(&up_args);
    let code = out.status.code().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["schema_version"], 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for lb in ["lb1", "lb2"] {
        let line = format!("{lb}: writing /etc/haproxy/haproxy.cfg (");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&line) && l.ends_with("s)")),
            "no progress line for {lb}:\n{stderr}"
        );
    }
    let out = run_plan(&["--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "in sync after up");
    for lb in ["lb1", "lb2"] {
        assert_eq!(
            changes(&report, lb),
            vec!["wrote /etc/haproxy/haproxy.cfg", "reloaded haproxy"]
        );
    }
    for quiet in ["app1", "app2", "db1", "db2"] {
        assert!(changes(&report, quiet).is_empty(), "{report:#}");
    }
    assert_eq!(
        lab.start_times(UNITS).await,
        before,
        "a reload keeps every unit running"
    );

    // A non-root login with sudo, and keys from the ssh-agent, see the same converged stack.
    let roster_bin = common::roster_bin();
    let as_deploy = variant(&lab, scratch.path(), "deploy", 45000, |t| {
        t.replace("  user: root\n", "  user: deploy\n")
    });
    let plan = lab.must(&[
        "plan",
        "-i",
        as_deploy.to_str().unwrap(),
        "--roster-binary",
        roster_bin,
    ]);
    assert!(plan.contains("0 of 6 hosts would change"), "{plan}");
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(Some(&as_deploy)));
    assert_eq!(
        (
            code,
            report["changes"]
                .as_object()
                .unwrap()
                .values()
                .all(|c| c.as_array().unwrap().is_empty())
        ),
        (0, true),
        "{report:#}"
    );
    let key_line = format!("  key: {}\n", lab.dir.join("id_ed25519").display());
    let with_agent = variant(&lab, scratch.path(), "agent", 45000, |t| {
        t.replace(&key_line, "")
    });
    assert!(
        !std::fs::read_to_string(&with_agent)
            .unwrap()
            .contains("id_ed25519")
    );
    let socket = scratch.path().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..50 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let added = std::process::Command::new("ssh-add")
        .arg(lab.dir.join("id_ed25519"))
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let with_agent_str = with_agent.to_str().unwrap().to_string();
    let plan_with_agent = |agent_socket: &str| {
        let args = ["plan", "-i", &with_agent_str, "--roster-binary", roster_bin];
        lab.minicloud_with_env(&args, &[("SSH_AUTH_SOCK", agent_socket)])
    };
    let out = plan_with_agent(socket.to_str().unwrap());
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 of 6 hosts would change"),
        "the ssh-agent's key must be used"
    );
    let out = plan_with_agent("/nonexistent");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no ssh.key in the inventory and no ssh-agent")
    );

    // Reading facts trusts the hash `up` recorded for a file only while the file is as `up` left
    // it: a same-size edit in place (same inode, same size, only the ctime moves) is still found.
    let (app1, lb1) = (lab_host("app1"), lab_host("lb1"));
    let cache = lab
        .run(
            &app1,
            "stat -c '%a %U' /var/lib/minicloud/sha256 /var/lib/minicloud/sha256/%usr%local%bin%roster",
        )
        .await;
    assert_eq!(cache.stdout_text(), "700 root\n600 root\n");
    let recorded = lab
        .run(
            &app1,
            "r=$(cat /var/lib/minicloud/sha256/%usr%local%bin%roster); \
             [ \"$r\" = \"$(stat -c %i:%s:%.9Z /usr/local/bin/roster) $(sha256sum < /usr/local/bin/roster | cut -c1-64)\" ] && echo matches",
        )
        .await;
    assert_eq!(recorded.stdout_text(), "matches\n", "{recorded:?}");
    let edited = lab
        .run(
            &lb1,
            "f=/etc/haproxy/haproxy.cfg; before=$(stat -c %i:%s $f); \
             off=$(grep -bo 'client 45000ms' $f | cut -d: -f1); \
             printf 'client 45001ms' | dd of=$f bs=1 seek=$off conv=notrunc status=none; \
             [ \"$(stat -c %i:%s $f)\" = \"$before\" ] && echo same-inode-and-size",
        )
        .await;
    assert_eq!(edited.stdout_text(), "same-inode-and-size\n");
    let plan = plan_changed();
    assert!(
        plan_section(&plan, "lb1").contains("+    timeout client 45000ms")
            && plan.contains("1 of 6 hosts would change"),
        "{plan}"
    );
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(Some(&changed)));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        changes(&report, "lb1"),
        vec!["wrote /etc/haproxy/haproxy.cfg", "reloaded haproxy"]
    );

    // Connection problems stop `up` before it changes anything on any host.
    let pending = |name: &str, edit: &dyn Fn(String) -> String| {
        variant(&lab, scratch.path(), name, 60000, edit)
    };
    let empty_known_hosts = scratch.path().join("empty_known_hosts");
    std::fs::write(&empty_known_hosts, "").unwrap();
    let known_hosts = std::fs::read_to_string(lab.dir.join("known_hosts")).unwrap();
    let db1_key = known_hosts
        .lines()
        .find(|l| l.starts_with("10.231.60.31 "))
        .unwrap()
        .split_once(' ')
        .unwrap()
        .1
        .to_string();
    let forged: String = known_hosts
        .lines()
        .map(|l| {
            if l.starts_with("10.231.50.11 ") {
                format!("10.231.50.11 {db1_key}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let forged_known_hosts = scratch.path().join("forged_known_hosts");
    std::fs::write(&forged_known_hosts, forged).unwrap();
    let lab_known_hosts = lab.dir.join("known_hosts").to_str().unwrap().to_string();
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (
            pending("unknown", &|t| {
                t.replace(&lab_known_hosts, empty_known_hosts.to_str().unwrap())
            }),
            "unknown host key SHA256:",
        ),
        (
            pending("forged", &|t| {
                t.replace(&lab_known_hosts, forged_known_hosts.to_str().unwrap())
            }),
            "lb1 (10.231.50.11:22): HOST KEY CHANGED",
        ),
        (
            pending("unreachable", &|t| {
                t.replace("hosts:\n", "hosts:\n  lb3:\n    roles: [lb]\n    addresses:\n      frontend: 10.231.50.19\n")
            }),
            "is the host up and is its address right?",
        ),
    ];
    for (inventory, expected) in &cases {
        let out = lab.minicloud(&[
            "up",
            "-i",
            inventory.to_str().unwrap(),
            "--roster-binary",
            common::roster_bin(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(expected) && stderr.contains("nothing was changed on any host"),
            "{stderr}"
        );
    }
    let replan = plan_changed();
    assert!(
        replan.contains("0 of 6 hosts would change"),
        "a failed up must not have touched any host:\n{replan}"
    );

    // Total outage: db2 stale (clean stop), more writes on db1, then db1 and garbd's host crash.
    let mut written = vec!["2027-04-01".to_string()];
    for day in ["2027-04-02", "2027-04-03"] {
        assert_eq!(
            http(
                &client,
                "PUT",
                &format!("/api/v1/roster/{day}"),
                Some(serde_json::json!({"name": "both"}))
            )
            .await
            .0,
            201
        );
        written.push(day.into());
    }
    lab.must(&["lab", "stop", "db2"]);
    for day in ["2027-04-04", "2027-04-05", "2027-04-06"] {
        let (status, body) = http(
            &client,
            "PUT",
            &format!("/api/v1/roster/{day}"),
            Some(serde_json::json!({"name": "db1 only"})),
        )
        .await;
        assert_eq!(
            status, 201,
            "db1 + garbd keep quorum while db2 is down: {body}"
        );
        written.push(day.into());
    }
    lab.must(&["lab", "kill", "db1"]);
    lab.must(&["lab", "kill", "app1"]);
    for h in ["app1", "db2", "db1"] {
        lab.must(&["lab", "start", h]);
    }
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "{report:#}");
    let db1_changes = changes(&report, "db1").join("; ");
    assert!(
        db1_changes.contains("bootstrapped the Galera cluster (most advanced node"),
        "must bootstrap from db1, never the stale db2: {report:#}"
    );
    for db in ["db1", "db2"] {
        assert_eq!(
            galera(&lab, db).await.trim(),
            "wsrep_cluster_size=3 wsrep_cluster_status=Primary wsrep_local_state_comment=Synced"
        );
    }
    let (status, list) = http(
        &client,
        "GET",
        "/api/v1/roster?from=2027-04-01&to=2027-04-30",
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let dates: Vec<String> = serde_json::from_str::<Vec<Value>>(&list)
        .unwrap()
        .iter()
        .map(|e| e["date"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        dates, written,
        "every row written before the outage must still be there"
    );

    lab.must(&["lab", "down"]);
}
