//! Interrupted and concurrent `minicloud up` runs on the lab's real hosts (issue #20):
//!
//! - remote commands end with their run: a command started through the real transport is gone
//!   from the host within seconds of its connection dropping, while a step that must finish (a
//!   `must_finish` one, as package installs and the Galera bootstrap are) still finishes;
//! - from bare hosts, `up` is killed at 20 random points spread over the whole first run,
//!   alternately by SIGINT (a report, exit 130, sometimes a second SIGINT: exit 130 at once) and
//!   SIGKILL, each next `up` started at once; no run may fail on what an earlier one left; then
//!   `up` converges (exit 0), `status` is healthy, a third `up` changes nothing, and nothing is
//!   left behind: no policy-rc.d, no upload temp file, the firewall confirmed (no armed
//!   dead-man switch, no staged rules, the loaded table the boot file's);
//! - two `up`s started at the same moment: both converge one after the other (or one refuses
//!   cleanly, exit 2, naming the holder), and no step of one falls between steps of the other;
//!   a second `up` started while one runs waits for it and then finishes;
//! - a host held by another run: `up --lock-wait 1` exits 2 within seconds naming the holder and
//!   changes nothing, Ctrl-C ends the wait at once, while `plan` and `status` neither wait nor
//!   fail;
//! - a file written by a run stopped before its daemon's reload is applied by the next run.
//!
//! The kill points are drawn from a seed printed at the start: `MINICLOUD_KILL_SEED=N` replays a
//! failure. Takes over the machine's lab (down and up at the start, down at the end); needs root
//! and dockerd.

mod common;

use common::{LabTest, changes, lab_host, lab_hosts};
use minicloud::converge::commands;
use minicloud::converge::session::Session;
use minicloud::ssh::Connection;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kill points in the first run.
const KILLS: usize = 20;
/// Longest a run may take to stop after one SIGINT: the step in progress finishes first (a
/// package installation, a Galera state transfer).
const STOP_AFTER_SIGINT: Duration = Duration::from_secs(240);

/// A small seeded generator (splitmix64): the same seed gives the same kill points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [low, high).
    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A `minicloud -v up` running in the background, its output collected line by line with the
/// time each line came.
struct Run {
    child: Child,
    started: Instant,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<(Instant, String)>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// What a run ended with.
struct Ended {
    /// None when a signal ended the process.
    code: Option<i32>,
    stdout: String,
    stderr: Vec<(Instant, String)>,
    took: Duration,
}

impl Ended {
    fn stderr_text(&self) -> String {
        self.stderr
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn spawn_up(lab: &LabTest, extra: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_minicloud"))
        .env("MINICLOUD_LAB_DIR", &lab.dir)
        .args(["-v", "up", "--roster-binary", common::roster_bin()])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let (o, e) = (stdout.clone(), stderr.clone());
    let readers = vec![
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                o.lock().unwrap().push(line);
            }
        }),
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                e.lock().unwrap().push((Instant::now(), line));
            }
        }),
    ];
    Run {
        child,
        started: Instant::now(),
        stdout,
        stderr,
        readers,
    }
}

impl Run {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When the run logged its first step (it then holds every host and has read them).
    fn first_step(&self) -> Option<Instant> {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .find(|(_, l)| l.contains("step: ") || l.contains("changed: "))
            .map(|(at, _)| *at)
    }

    /// How many steps and changes the run logged so far.
    fn steps_logged(&self) -> usize {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, l)| l.contains("step: ") || l.contains("changed: "))
            .count()
    }

    /// The last step logged so far.
    fn last_step(&self) -> String {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find_map(|(_, l)| l.split_once("step: ").map(|(_, s)| s.to_string()))
            .unwrap_or_else(|| "(connecting, locking, reading facts)".into())
    }

    fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    fn signal(&self, signal: &str) {
        // By pid, only this test's own child.
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success() || self.child_gone(), "kill -{signal}");
    }

    fn child_gone(&self) -> bool {
        !std::path::Path::new(&format!("/proc/{}", self.pid())).exists()
    }

    /// Wait for the run to end, at most `within` (then it is killed and the test fails).
    fn wait(mut self, within: Duration) -> Ended {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "up (pid {}) still running after {within:?}; its stderr:\n{}",
                    self.pid(),
                    self.stderr_lines().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        Ended {
            code: status.code(),
            stdout: self.stdout.lock().unwrap().join("\n"),
            stderr: std::mem::take(&mut *self.stderr.lock().unwrap()),
            took: self.started.elapsed(),
        }
    }

    fn stderr_lines(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }
}

/// The phase of the first run a step belongs to.
fn phase(step: &str) -> &'static str {
    let (host, what) = step.split_once(": ").unwrap_or(("", step));
    if step.starts_with("(connecting") {
        "connect, lock, facts"
    } else if what.starts_with("installing") {
        "packages"
    } else if what.starts_with("firewall") || what.contains("minicloud-firewall") {
        "firewall (dead-man window)"
    } else if what.contains("sysctl") {
        "sysctl"
    } else if what.contains("bootstrapping")
        || what.contains("recovering")
        || what.contains("not in a Primary")
    {
        "galera bootstrap"
    } else if what.contains("Primary cluster of 1") {
        // The bootstrap's gate, and the one before the database users are written.
        "galera bootstrap or users"
    } else if what.contains("join") || what.contains("Primary cluster of") {
        "galera join"
    } else if what.contains("/etc/mysql") {
        "galera config"
    } else if step.contains("DB VIP") || (host.starts_with("db") && what.contains("keepalived")) {
        "db vip"
    } else if what.contains("garb") {
        "garbd"
    } else if what.contains("roster") {
        "roster rollout"
    } else if what.contains("frontend") || what.contains("haproxy") || what.contains("keepalived") {
        "lb tier"
    } else {
        "other"
    }
}

/// Every host: (name, output of `command`).
async fn on_every_host(lab: &LabTest, command: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for host in lab_hosts() {
        let out = lab.run(&host, command).await;
        all.push((host.name.clone(), out.stdout_text()));
    }
    all
}

/// What identifies the hosts' state for "nothing changed": every managed file's hash and every
/// unit's start time.
async fn fingerprint(lab: &LabTest) -> Vec<(String, String)> {
    on_every_host(
        lab,
        "cat /var/lib/minicloud/sha256/* 2>/dev/null | sort; \
         for u in haproxy keepalived mariadb garb roster; do \
         echo \"$u $(systemctl show -p ActiveEnterTimestampMonotonic --value $u)\"; done",
    )
    .await
}

/// Whether `pid` on `host` is a live process (a zombie or a gone one is not).
async fn alive(lab: &LabTest, host: &str, pid: &str) -> bool {
    lab.run(
        &lab_host(host),
        // A zombie has no command line left (and /proc files all have size 0, so no `-s`).
        &format!("tr -d '\\0' < /proc/{pid}/cmdline 2>/dev/null | grep -q . && echo yes"),
    )
    .await
    .stdout_text()
    .trim()
        == "yes"
}

/// Part d: a command started through the real transport ends when its connection drops; a
/// must-finish step does not.
async fn remote_commands_end_with_their_run(lab: &LabTest) {
    let host = lab_host("lb1");
    lab.run(&host, "rm -f /tmp/interrupted-*").await;
    for must_finish in [false, true] {
        let conn = Connection::open(&lab.target(&host)).await.unwrap();
        let session = Session::new("lb1", conn);
        let task = tokio::spawn(async move {
            let script =
                "sleep 300 & echo $! > /tmp/interrupted-pid; wait; touch /tmp/interrupted-done";
            if must_finish {
                // Short, so the test can see it finish.
                let _ = session
                    .must_finish(
                        "a step that must finish",
                        "sleep 6 & echo $! > /tmp/interrupted-pid; wait; touch /tmp/interrupted-done",
                    )
                    .await;
            } else {
                let _ = session.run(script).await;
            }
        });
        let started = Instant::now();
        let pid = loop {
            let out = lab
                .run(&host, "cat /tmp/interrupted-pid 2>/dev/null")
                .await
                .stdout_text();
            if !out.trim().is_empty() {
                break out.trim().to_string();
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the command never started"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(alive(lab, "lb1", &pid).await);
        // The run goes away: its task, session and connection are dropped.
        task.abort();
        let _ = task.await;
        let dropped = Instant::now();
        if must_finish {
            while !lab
                .run(&host, "test -e /tmp/interrupted-done && echo done")
                .await
                .stdout_text()
                .contains("done")
            {
                assert!(
                    dropped.elapsed() < Duration::from_secs(20),
                    "a must-finish step was ended with its connection"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            eprintln!("a must-finish step finished after its connection dropped");
        } else {
            while alive(lab, "lb1", &pid).await {
                assert!(
                    dropped.elapsed() < Duration::from_secs(5),
                    "sleep {pid} outlived its connection by 5 s"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let leftovers = lab
                .run(
                    &host,
                    "sleep 1; test -e /tmp/interrupted-done && echo finished; pgrep -x sleep -a | grep 300",
                )
                .await
                .stdout_text();
            assert_eq!(leftovers, "", "the command went on after its run");
            eprintln!(
                "a command was ended {:?} after its connection dropped",
                dropped.elapsed()
            );
        }
        lab.run(&host, "rm -f /tmp/interrupted-*").await;
    }
}

/// Part b: kill the first run at 20 points, then converge.
fn kill_loop(lab: &LabTest, seed: u64) {
    let mut rng = Rng(seed);
    // Kill delays are counted from the run's first step (after connecting, taking the locks
    // and reading facts, which every run redoes) so that successive runs move through the
    // phases: a full first run here takes about FIRST_RUN s after its first step (measured),
    // and 20 kills at a mean of FIRST_RUN / 20 after the first step cover it (a SIGINT also
    // lets the step in progress finish, a package installation taking 10 s or more).
    const FIRST_RUN: f64 = 40.0;
    // Steps and changes it logs: about 90; 20 kills after at most MAX_STEPS each (the mean
    // 5, past which a SIGINT lets the step in progress finish) reach its end.
    const MAX_STEPS: u64 = 9;
    let mut reached: Vec<(usize, &'static str)> = Vec::new();
    let mut converged_at = None;
    for point in 0..KILLS {
        let sigint = point % 2 == 0;
        let double = sigint && point % 4 == 2;
        // One point in five falls before the first step: connecting, locking, reading facts.
        let early = rng.next().is_multiple_of(5);
        let delay = if early {
            rng.between(0.3, 2.5)
        } else {
            rng.between(0.0, 2.0 * FIRST_RUN / KILLS as f64)
        };
        // Or after a few steps, whichever comes first: most steps are short, and a time alone
        // lets a run that is between long steps race through many short ones.
        let steps = 1 + (rng.next() % MAX_STEPS) as usize;
        let mut run = spawn_up(lab, &[]);
        let anchor = if early {
            run.started
        } else {
            // Wait for the first step (or the run's end).
            loop {
                if let Some(at) = run.first_step() {
                    break at;
                }
                if run.exited() || run.started.elapsed() > Duration::from_secs(120) {
                    break Instant::now();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        while Instant::now() < anchor + Duration::from_secs_f64(delay)
            && (early || run.steps_logged() < steps)
            && !run.exited()
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let step = run.last_step();
        let finished_first = run.exited();
        let how = if sigint { "SIGINT" } else { "SIGKILL" };
        if !finished_first {
            if sigint {
                run.signal("INT");
                if double {
                    std::thread::sleep(Duration::from_millis(300));
                    run.signal("INT");
                }
            } else {
                run.signal("KILL");
            }
        }
        let signalled = Instant::now();
        let ended = run.wait(STOP_AFTER_SIGINT);
        let stopping = signalled.elapsed();
        eprintln!(
            "kill {point:>2}: {how}{} {delay:.1} s after {}{} (run at {:.1} s): last step {step:?} [{}] → exit {:?}, stopped {:.1} s after the signal",
            if double { " twice" } else { "" },
            if early { "its start" } else { "its first step" },
            if early {
                String::new()
            } else {
                format!(" or at its {steps}th step")
            },
            ended.took.as_secs_f64() - stopping.as_secs_f64(),
            phase(&step),
            ended.code,
            stopping.as_secs_f64(),
        );
        let stderr = ended.stderr_text();
        assert!(
            !stderr.contains("panicked"),
            "kill {point}: a panic:\n{stderr}"
        );
        if finished_first || ended.code == Some(0) {
            // It ran to its end before the signal: it must have converged.
            assert_eq!(
                ended.code,
                Some(0),
                "kill {point}: the run failed by itself (what an earlier run left?):\n{stderr}"
            );
            converged_at.get_or_insert(point);
            reached.push((point, "converged"));
            continue;
        }
        reached.push((point, phase(&step)));
        if !sigint {
            assert_eq!(
                ended.code, None,
                "kill {point}: the run ended by itself before SIGKILL:\n{stderr}"
            );
            continue;
        }
        assert_eq!(
            ended.code,
            Some(130),
            "kill {point}: SIGINT must stop the run with exit 130:\n{stderr}"
        );
        assert!(
            stderr.contains("Ctrl-C"),
            "kill {point}: the run says it was stopped by Ctrl-C:\n{stderr}"
        );
        // The error names the step in words, never a line of the script (the report
        // named a step "running `hold=`").
        assert!(
            !stderr
                .lines()
                .any(|l| l.starts_with("error:") && l.contains('`')),
            "kill {point}: the error quotes a command instead of naming the step:\n{stderr}"
        );
        if double {
            assert!(
                stopping < Duration::from_secs(3),
                "kill {point}: a second SIGINT stops at once, took {stopping:?}"
            );
        } else {
            assert!(
                ended.stdout.contains(" changed, ") && ended.stdout.contains(" failed"),
                "kill {point}: a report after the first SIGINT:\n{}\n{stderr}",
                ended.stdout
            );
            // Only the step in progress may finish; Ctrl-C is not an error of a host.
            assert!(
                !stderr.lines().any(|l| l.contains("error:")
                    && !l.contains("Ctrl-C")
                    && !l.contains("stopped")),
                "kill {point}: an error besides the stop:\n{stderr}"
            );
        }
    }
    let mut phases: Vec<&str> = reached.iter().map(|(_, p)| *p).collect();
    phases.dedup();
    eprintln!(
        "seed {seed}: kill points reached {phases:?}; first run converged by itself at kill {converged_at:?}"
    );
    // The points must have moved through the run, not all fallen at its start: a run that
    // cannot get past some step because of what an earlier one left shows here too.
    let distinct: std::collections::BTreeSet<&str> = phases.iter().copied().collect();
    assert!(
        distinct.len() >= 4,
        "seed {seed}: the kill points covered only {distinct:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interrupted_and_concurrent_runs_converge() {
    if common::lab_tests_off() {
        return;
    }
    let test_started = Instant::now();
    let seed = std::env::var("MINICLOUD_KILL_SEED")
        .ok()
        .map(|s| s.parse::<u64>().expect("MINICLOUD_KILL_SEED is a number"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                % 1_000_000
        });
    eprintln!("MINICLOUD_KILL_SEED={seed} (set it to replay these kill points)");
    let lab = LabTest::new("interrupted-test");
    // Bare hosts: the image holds the stack's .deb files, but nothing is installed.
    tokio::task::block_in_place(|| {
        lab.must(&["lab", "down"]);
        lab.must(&["lab", "up"]);
    });
    eprintln!("lab up: {:?}", test_started.elapsed());

    remote_commands_end_with_their_run(&lab).await;

    let started = Instant::now();
    tokio::task::block_in_place(|| kill_loop(&lab, seed));
    eprintln!("kill loop: {:?}", started.elapsed());

    // After the kills: `up` converges, status is healthy, a third `up` changes nothing.
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "seed {seed}: up after the kills\n{report:#}");
    let started = Instant::now();
    let status = loop {
        let out = lab.minicloud(&["status", "--json"]);
        if out.status.success() || started.elapsed() > Duration::from_secs(60) {
            break out;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    assert_eq!(
        status.status.code(),
        Some(0),
        "seed {seed}: status after the kills"
    );
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "{report:#}");
    for h in lab_hosts() {
        assert_eq!(
            changes(&report, &h.name),
            Vec::<String>::new(),
            "seed {seed}: a third up changes nothing: {report:#}"
        );
    }
    // Nothing left behind: Debian's service starts are not held any more; no upload temp file
    // (an upload is one command that finishes on the host, or fails and removes its file); the
    // firewall confirmed: no armed switch, nothing staged, the boot file's rules loaded.
    let leftovers = on_every_host(
        &lab,
        "test -e /usr/sbin/policy-rc.d && echo policy-rc.d; \
         find /etc /usr/local/bin /var/lib/minicloud -name '*.minicloud-new' -o -name '*.minicloud-old' -o -name '*.new' -path '*minicloud*'; \
         systemctl is-active -q minicloud-firewall-rollback.timer && echo 'firewall rollback armed'; \
         test -e /etc/minicloud/firewall.nft.new && echo 'firewall rules staged'; \
         test -e /etc/minicloud/firewall.rollback.nft && echo 'firewall rollback file'; \
         loaded=$(nft list table inet minicloud | grep -o 'comment \"minicloud [0-9a-f]*\"'); \
         booted=$(grep -o 'comment \"minicloud [0-9a-f]*\"' /etc/minicloud/firewall.nft); \
         [ -n \"$loaded\" ] && [ \"$loaded\" = \"$booted\" ] || echo \"firewall: loaded $loaded, boot file $booted\"; \
         ls /var/lib/minicloud/pending 2>/dev/null; \
         dpkg --audit; pgrep -a apt-get; pgrep -a dpkg; true",
    )
    .await;
    for (host, found) in &leftovers {
        assert_eq!(found, "", "seed {seed}: {host} after the kills");
    }
    eprintln!("after the kills: converged, healthy, nothing left behind");

    // Part c: two `up`s at the same moment, with work for them (roster stopped on app1,
    // haproxy on lb2): one run does it all, the other finds nothing left to do.
    lab.run(&lab_host("app1"), "systemctl stop roster").await;
    lab.run(&lab_host("lb2"), "systemctl stop haproxy").await;
    let started = Instant::now();
    let (a, b) = (spawn_up(&lab, &[]), spawn_up(&lab, &[]));
    let (a, b) = (
        a.wait(Duration::from_secs(300)),
        b.wait(Duration::from_secs(300)),
    );
    eprintln!(
        "two ups at once: exit {:?} in {:.1} s and {:?} in {:.1} s",
        a.code,
        a.took.as_secs_f64(),
        b.code,
        b.took.as_secs_f64()
    );
    match (a.code, b.code) {
        (Some(0), Some(0)) => {}
        (Some(0), Some(2)) | (Some(2), Some(0)) => {
            let refused = if a.code == Some(2) { &a } else { &b };
            let stderr = refused.stderr_text();
            assert!(
                stderr.contains("another run holds this host (minicloud up by ")
                    && stderr.contains("nothing was changed"),
                "{stderr}"
            );
        }
        other => panic!(
            "two ups at once: {other:?}\n{}\n{}",
            a.stderr_text(),
            b.stderr_text()
        ),
    }
    assert_not_interleaved(&a, &b);
    let work: Vec<bool> = [&a, &b]
        .iter()
        .map(|e| e.stdout.contains("started roster") && e.stdout.contains("started haproxy"))
        .collect();
    let idle: Vec<bool> = [&a, &b]
        .iter()
        .map(|e| e.code == Some(2) || e.stdout.contains("0 changed"))
        .collect();
    assert!(
        (work[0] && idle[1]) || (work[1] && idle[0]),
        "one run does the work, the other nothing:\n{}\n---\n{}",
        a.stdout,
        b.stdout
    );
    eprintln!("two ups at once: {:?}", started.elapsed());

    // Part 3: a second `up` started while one runs waits for it (default --lock-wait), then
    // finishes; a change for it to make keeps the first busy (roster stopped on app2).
    lab.run(&lab_host("app2"), "systemctl stop roster").await;
    let first = spawn_up(&lab, &[]);
    let pid = first.pid().to_string();
    let started = Instant::now();
    while !lab
        .run(&lab_host("lb1"), "cat /run/minicloud/run.holder")
        .await
        .stdout_text()
        .contains(&format!("pid {pid},"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first run never took the lock"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = spawn_up(&lab, &[]);
    let (first, second) = tokio::task::block_in_place(|| {
        (
            first.wait(Duration::from_secs(300)),
            second.wait(Duration::from_secs(300)),
        )
    });
    assert_eq!(first.code, Some(0), "{}", first.stderr_text());
    assert_eq!(
        second.code,
        Some(0),
        "the second run waits, then finishes:\n{}",
        second.stderr_text()
    );
    assert!(
        first.stdout.contains("app2") && first.stdout.contains("started roster"),
        "{}",
        first.stdout
    );
    assert!(second.stdout.contains("0 changed"), "{}", second.stdout);
    assert_not_interleaved(&first, &second);

    // A host held by another run (the lock command itself, held over a channel of this test):
    // `up --lock-wait 1` gives up at once naming the holder and changes nothing; plan and
    // status take no lock.
    let db2 = lab_host("db2");
    let conn = Connection::open(&lab.target(&db2)).await.unwrap();
    let holder = Session::new("db2", conn);
    let (line, held) = holder
        .hold(&commands::run_lock(0, "the interrupted test, holding db2"))
        .await
        .unwrap();
    assert_eq!(line, "locked");
    let before = fingerprint(&lab).await;
    let started = Instant::now();
    let out = tokio::task::block_in_place(|| {
        lab.minicloud(&[
            "up",
            "--lock-wait",
            "1",
            "--roster-binary",
            common::roster_bin(),
        ])
    });
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "db2: another run holds this host (the interrupted test, holding db2); waited 1 s"
        ) && stderr.contains("nothing was changed on any host"),
        "{stderr}"
    );
    assert!(
        took < Duration::from_secs(15),
        "--lock-wait 1 took {took:?}"
    );
    let started = Instant::now();
    let plan = tokio::task::block_in_place(|| {
        lab.minicloud(&["plan", "--roster-binary", common::roster_bin()])
    });
    assert!(plan.status.success(), "plan while a run holds db2");
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("0 of 6 hosts would change"),
        "{}",
        String::from_utf8_lossy(&plan.stdout)
    );
    let status = tokio::task::block_in_place(|| lab.minicloud(&["status"]));
    assert!(status.status.success(), "status while a run holds db2");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "plan and status must not wait for the lock: {took:?}"
    );
    // Ctrl-C while waiting for the lock stops at once, changing nothing (exit 130).
    let mut waiting = spawn_up(&lab, &[]);
    std::thread::sleep(Duration::from_secs(3));
    assert!(!waiting.exited(), "up did not wait for db2's lock");
    waiting.signal("INT");
    let signalled = Instant::now();
    let ended = tokio::task::block_in_place(|| waiting.wait(Duration::from_secs(30)));
    assert_eq!(ended.code, Some(130), "{}", ended.stderr_text());
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "Ctrl-C while waiting for a lock took {:?}",
        signalled.elapsed()
    );
    assert!(
        ended
            .stderr_text()
            .contains("stopped by Ctrl-C while waiting for another run's lock"),
        "{}",
        ended.stderr_text()
    );
    assert_eq!(
        fingerprint(&lab).await,
        before,
        "a refused up changed something"
    );
    // Released with its channel: the next run gets the host at once.
    drop(held);
    holder.conn.close().await;
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(None));
    assert_eq!(code, 0, "{report:#}");

    // A run stopped between writing a file and reloading its daemon (here: the reload fails,
    // as a stop at that point would leave it) leaves the file right and the daemon on the old
    // one: the next run must still reload it, and the run after that change nothing.
    let scratch = tempfile::tempdir().unwrap();
    let changed = lab.variant(scratch.path(), "changed", |text| {
        text.replace("  haproxy:\n", "  haproxy:\n    timeout_client_ms: 45000\n")
    });
    let drop_in = "/run/systemd/system/haproxy.service.d/minicloud-test-fail-reload.conf";
    for lb in ["lb1", "lb2"] {
        lab.run(
            &lab_host(lb),
            &format!(
                "mkdir -p $(dirname {drop_in}) && printf '[Service]\\nExecReload=\\nExecReload=/bin/false\\n' > {drop_in} && systemctl daemon-reload"
            ),
        )
        .await;
    }
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(Some(&changed)));
    assert_eq!(code, 2, "the reload fails: {report:#}");
    let written: Vec<&str> = ["lb1", "lb2"]
        .into_iter()
        .filter(|lb| changes(&report, lb) == ["wrote /etc/haproxy/haproxy.cfg"])
        .collect();
    assert_eq!(written.len(), 1, "one lb written, then stopped: {report:#}");
    for lb in ["lb1", "lb2"] {
        lab.run(
            &lab_host(lb),
            &format!("rm -f {drop_in} && systemctl daemon-reload"),
        )
        .await;
    }
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(Some(&changed)));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        changes(&report, written[0]),
        ["reloaded haproxy"],
        "the file written by the stopped run is applied now: {report:#}"
    );
    let (code, report) = tokio::task::block_in_place(|| lab.up_json(Some(&changed)));
    assert_eq!(code, 0, "{report:#}");
    for h in lab_hosts() {
        assert_eq!(
            changes(&report, &h.name),
            Vec::<String>::new(),
            "applied once, then nothing to do: {report:#}"
        );
    }

    eprintln!("whole test: {:?}", test_started.elapsed());
    lab.must(&["lab", "down"]);
}

/// Every step one run logged comes before every step of the other, or after: the runs did not
/// act on the hosts at the same time.
fn assert_not_interleaved(a: &Ended, b: &Ended) {
    let steps = |e: &Ended| -> Vec<Instant> {
        e.stderr
            .iter()
            .filter(|(_, l)| l.contains("step: ") || l.contains("changed: "))
            .map(|(at, _)| *at)
            .collect()
    };
    let (sa, sb) = (steps(a), steps(b));
    if sa.is_empty() || sb.is_empty() {
        return;
    }
    let a_first = sa[sa.len() - 1] <= sb[0];
    let b_first = sb[sb.len() - 1] <= sa[0];
    assert!(
        a_first || b_first,
        "steps interleaved:\n--- one run\n{}\n--- the other\n{}",
        a.stderr_text(),
        b.stderr_text()
    );
}
