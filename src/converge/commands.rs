//! Shell commands `up` runs on hosts, built as plain strings by pure functions so they can be
//! read and tested as text. All of them run as root (see `session`).

use crate::facts;
use crate::render::Checker;
use crate::shell;

/// `body` with Debian's automatic service starts held: a policy-rc.d of our own holds them,
/// and goes away after, unless one was already there.
pub fn holding_service_starts(body: &str) -> String {
    format!(
        "set -e\n\
         hold=\n\
         if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; hold=1; fi\n\
         trap '[ -n \"$hold\" ] && rm -f /usr/sbin/policy-rc.d' EXIT\n\
         {body}\n"
    )
}

/// Folder of minicloud's locks on a host (a tmpfs: nothing outlives a reboot).
pub const RUN_DIR: &str = "/run/minicloud";

/// `script` run so that it ends with this run: in a session of its own, with a watcher that
/// ends the whole session when the command's standard input closes, which is when the SSH
/// channel goes away (minicloud killed, connection lost). The client keeps that input open
/// until the command exits (`Connection::run_watched`). Without this, a remote command outlives
/// its run and the next run meets it (an `apt-get` holding the dpkg lock).
pub fn ended_with_the_run(script: &str) -> String {
    // A background list reads /dev/null unless told otherwise (POSIX, without job control):
    // the watcher gets the real input through fd 3.
    format!(
        "exec 3<&0\n\
         setsid -w sh -c {} </dev/null 3<&- & c=$!\n\
         ( cat <&3 >/dev/null; kill -TERM -$c ) >/dev/null 2>&1 &\n\
         exec 3<&-\n\
         wait $c",
        shell::quote(script)
    )
}

/// Install packages without letting Debian start their services with default configs.
/// apt lists are refreshed only when the install cannot find a package.
///
/// An installation must finish once started, so it is not ended with its run. The next run
/// waits for one still going (a lock of minicloud's own, then dpkg's lock with a timeout for
/// other tools such as unattended-upgrades), and finishes one that was cut short (`dpkg
/// --configure -a`) before installing.
///
/// apt and dpkg write to a log file on the host, never to the SSH channel: once the run is
/// gone, sshd closes the channel's pipes and the next line written there would kill apt-get
/// with SIGPIPE in the middle of the installation. The log's end is shown when it fails.
pub fn install_packages(packages: &[&str]) -> String {
    let list = packages.join(" ");
    let apt = "apt-get -o DPkg::Lock::Timeout=600 -y -q";
    // `set +e` around the subshell, not `if (...)`: a subshell in a condition runs with its
    // own `set -e` ignored.
    format!(
        "set -e\n\
         mkdir -p {RUN_DIR}\n\
         exec 8>>{RUN_DIR}/install.lock\n\
         flock -w 1200 8 || {{ echo 'an earlier package installation is still running after 20 min' >&2; exit 1; }}\n\
         set +e\n\
         (\n{}) </dev/null >{RUN_DIR}/install.log 2>&1\n\
         status=$?\n\
         [ $status = 0 ] || tail -n 20 {RUN_DIR}/install.log >&2\n\
         exit $status\n",
        holding_service_starts(&format!(
            "export DEBIAN_FRONTEND=noninteractive\n\
             dpkg --configure -a\n\
             {apt} install --no-install-recommends {list} || {{ {apt} update && {apt} install --no-install-recommends {list}; }}"
        ))
    )
}

/// Markers of changes written but maybe not applied yet: one file per unit whose files a run
/// is writing, removed once the unit was restarted or reloaded. A run stopped between the two
/// leaves the files right and the daemon on the old ones; the marker tells the next run.
pub const PENDING_DIR: &str = "/var/lib/minicloud/pending";

/// The marker's name for `unit` ("" is the sysctl settings, applied with `sysctl -p`).
pub fn pending_marker(unit: &str) -> &str {
    if unit.is_empty() { "sysctl" } else { unit }
}

/// Set the marker of `unit` (before its files are written).
pub fn mark_pending(unit: &str) -> String {
    format!(
        "mkdir -p {PENDING_DIR} && touch {PENDING_DIR}/{}",
        pending_marker(unit)
    )
}

/// Remove the marker of `unit` (once its change is applied).
pub fn clear_pending(unit: &str) -> String {
    format!("rm -f {PENDING_DIR}/{}", pending_marker(unit))
}

/// The markers on a host, one a line.
pub fn list_pending() -> String {
    format!("ls -1 {PENDING_DIR} 2>/dev/null || true")
}

/// Held shared (fd 6) by every command of a run and everything it starts, while they run. The
/// run lock is let go when a run's connection drops, but some of its commands go on by design
/// (an upload, a firewall load, a package installation, a Galera bootstrap finish once
/// started): a new run takes this lock exclusively for a moment before it starts, so no
/// command of it runs beside one an earlier run left running.
pub const ACTIVE_LOCK: &str = "/run/minicloud/active.lock";

/// `script` holding [`ACTIVE_LOCK`] shared while it (and all it starts) runs.
pub fn in_run(script: &str) -> String {
    format!("mkdir -p {RUN_DIR} && exec 6>>{ACTIVE_LOCK} && flock -s 6 || exit 1\n{script}")
}

/// How long a new run waits for commands an earlier run left running (a package
/// installation, a Galera bootstrap: steps that finish once started).
const LEFT_RUNNING_WAIT_SECONDS: u64 = 1200;

/// Take the run lock of a host, held by this command until its input ends (the run ends or
/// its connection drops), then wait until no command an earlier run left running runs
/// ([`ACTIVE_LOCK`], up to 20 min: an installation may take minutes): prints `locked`, or
/// `busy: WHO`. `holder` says who this run is, for the next one to show.
pub fn run_lock(wait_seconds: u64, holder: &str) -> String {
    format!(
        "mkdir -p {RUN_DIR} && exec 9>>{RUN_DIR}/run.lock\n\
         if ! flock -w {wait_seconds} 9; then printf 'busy: %s\\n' \"$(head -c 300 {RUN_DIR}/run.holder 2>/dev/null || echo unknown)\"; exit 75; fi\n\
         exec 6>>{ACTIVE_LOCK}\n\
         if ! flock -w {LEFT_RUNNING_WAIT_SECONDS} -x 6; then echo 'busy: commands an earlier run left running (such as a package installation) are still running after 20 min'; exit 75; fi\n\
         exec 6>&-\n\
         printf '%s\\n' {} > {RUN_DIR}/run.holder\n\
         echo locked\n\
         exec cat >/dev/null",
        shell::quote(holder)
    )
}

/// Write stdin to `path` atomically: a temp file beside it (created private, umask 077, so a
/// secret is never readable by others, not even for a moment) must hold exactly the content
/// sent (sha256 `sha256`), gets owner and mode, passes the daemon's checker, and only then
/// replaces the old file. nginx checks its whole configuration, so its site file is checked in
/// place and the old one restored when the check fails.
///
/// The content is checked because an upload cut short looks like a whole one to the host: when
/// the run dies mid-upload, sshd closes the command's input and `cat` ends as it would at the
/// end of the file, and the rest of the script runs on with no one connected.
pub fn put_file(
    path: &str,
    mode: u32,
    owner: &str,
    group: &str,
    checker: Option<Checker>,
    sha256: &str,
) -> String {
    let (dir, name) = path.rsplit_once('/').expect("absolute path");
    let dir = if dir.is_empty() { "/" } else { dir };
    let tmp = format!("{dir}/.{name}.minicloud-new");
    let q = |s: &str| shell::quote(s);
    let mut script = format!(
        "set -e\nmkdir -p {dir}\numask 077\ncat > {tmp}\n\
         if [ \"$(sha256sum < {tmp})\" != {expected} ]; then rm -f {tmp}; \
         echo 'the upload was cut short; the old file is untouched' >&2; exit 3; fi\n\
         chmod {mode:o} {tmp}\nchown {owner}:{group} {tmp}\n",
        dir = q(dir),
        tmp = q(&tmp),
        expected = q(&format!("{sha256}  -")),
    );
    match checker {
        Some(Checker::Nginx) => {
            let backup = format!("{dir}/.{name}.minicloud-old");
            script.push_str(&format!(
                "if [ -e {path} ]; then cp -p {path} {backup}; fi\nmv -f {tmp} {path}\n\
                 if ! nginx -t -q 2>&1; then if [ -e {backup} ]; then mv -f {backup} {path}; else rm -f {path}; fi; \
                 echo 'nginx -t refused the new file; the old one is back' >&2; exit 3; fi\nrm -f {backup}\n",
                path = q(path),
                backup = q(&backup),
                tmp = q(&tmp),
            ));
        }
        Some(checker) => {
            let check: Vec<String> = checker.command(&tmp).iter().map(|a| q(a)).collect();
            script.push_str(&format!(
                "if ! out=$({check} 2>&1); then rm -f {tmp}; printf '%s\\n' \"$out\" >&2; \
                 echo '{checker:?} check refused the new {path}; the old file is untouched' >&2; exit 3; fi\n\
                 mv -f {tmp} {qpath}\n",
                check = check.join(" "),
                tmp = q(&tmp),
                qpath = q(path),
            ));
        }
        None => script.push_str(&format!("mv -f {} {}\n", q(&tmp), q(path))),
    }
    script
}

/// Record the sha256 of a file just written in the hash cache, valid while the file keeps this
/// inode, size and ctime (see [`facts::gather_command`]). The hash is taken on the host from
/// the file as written, after its key: an upload cut short must not be recorded as the whole
/// file, and a change in between leaves a key that no longer matches. Appended to
/// [`put_file`]'s script, so the umask keeps the record root's own.
pub fn record_hash(path: &str) -> String {
    let entry = facts::hash_cache_entry(path);
    format!(
        "key=$(stat -c '{key}' {path})\nsum=$(sha256sum < {path})\nmkdir -p {dir}\n\
         printf '%s %s\\n' \"$key\" \"${{sum%% *}}\" > {new}\nmv -f {new} {entry}\n",
        dir = shell::quote(facts::HASH_CACHE_DIR),
        key = facts::HASH_KEY_FORMAT,
        path = shell::quote(path),
        new = shell::quote(&format!("{entry}.new")),
        entry = shell::quote(&entry),
    )
}

/// Arm a dead-man switch on a host: a transient systemd timer that runs `script` after
/// `after_seconds` unless disarmed, replacing a leftover one of the same name. It lives on the
/// host, so it fires even when this machine or the connection to it is gone.
pub fn arm_dead_man(unit: &str, script: &str, after_seconds: u64) -> String {
    format!(
        "systemctl stop {unit}.timer {unit}.service 2>/dev/null || true; systemctl reset-failed {unit}.timer {unit}.service 2>/dev/null || true; \
         systemd-run --quiet --unit={unit} --on-active={after_seconds}s --timer-property=AccuracySec=100ms /bin/sh -c {}",
        shell::quote(script)
    )
}

/// Disarm a dead-man switch (nothing happens if it already fired).
pub fn disarm_dead_man(unit: &str) -> String {
    format!("systemctl stop {unit}.timer 2>/dev/null || true")
}

/// `systemctl ACTION UNIT` (unit names are minicloud's own constants, never user text).
pub fn systemctl(action: &str, unit: &str) -> String {
    format!("systemctl {action} {unit}").trim_end().to_string()
}

/// The flag that keeps a db node from holding the DB VIP (the track script reads it: see
/// `templates/galera-synced.sh.tera`); it holds the epoch second it expires at.
pub const DB_VIP_DRAIN: &str = "/run/minicloud/db-vip-drain";

/// The same for the frontend VIP's holders (`templates/frontend-check.sh.tera`).
pub const FRONTEND_VIP_DRAIN: &str = "/run/minicloud/frontend-vip-drain";

/// Raise drain `flag` for `seconds` (the track script that reads it fails meanwhile, so the
/// host gives its VIP away and takes it from nobody). Written whole, then renamed: the script
/// never reads half a deadline.
pub fn drain_vip(flag: &str, seconds: u64) -> String {
    format!(
        "mkdir -p /run/minicloud && echo $(( $(date +%s) + {seconds} )) > {flag}.new && mv -f {flag}.new {flag}"
    )
}

/// Lower drain `flag`: the host may hold its VIP again.
pub fn undrain_vip(flag: &str) -> String {
    format!("rm -f {flag}")
}

/// Drain the DB VIP from this node for up to `seconds` (its track script fails meanwhile).
pub fn drain_db_vip(seconds: u64) -> String {
    drain_vip(DB_VIP_DRAIN, seconds)
}

/// Let this node hold the DB VIP again.
pub fn undrain_db_vip() -> String {
    undrain_vip(DB_VIP_DRAIN)
}

/// Take a Galera node out of flow control just before it is stopped on purpose: while it
/// shuts down it stops applying, and its full receive queue would otherwise pause every
/// writer in the cluster until it has left (measured on the lab: 2-3 s without a write).
/// Best effort: a node that is not running has nothing to desync. Not persistent: the node
/// comes back from its restart in sync. Never run alone: a desynced node that is not stopped
/// stays Donor/Desynced for good (see [`desync_and_restart_galera_node`]).
pub fn desync_galera_node() -> &'static str {
    "mariadb --batch -e 'SET GLOBAL wsrep_desync = ON' 2>/dev/null || true"
}

/// A rolling restart's one command: desync, then restart MariaDB. One command, so that a run
/// that dies between the two cannot leave the node desynced and running (it stayed
/// Donor/Desynced, and the next `up` waited for it to be Synced until its timeout).
pub fn desync_and_restart_galera_node() -> String {
    format!(
        "{}; {}",
        desync_galera_node(),
        systemctl("restart", "mariadb")
    )
}

/// The roster's system user, created when missing.
pub fn create_roster_user() -> &'static str {
    "id roster >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin roster"
}

/// HTTP GET from the host itself (bash's /dev/tcp: no curl needed), given up after
/// `timeout_secs`; prints the status code (nothing when no answer came).
pub fn http_status(address: &str, port: u16, path: &str, timeout_secs: u32) -> String {
    format!(
        "timeout {timeout_secs} bash -c 'exec 3<>/dev/tcp/{address}/{port} && printf \"GET {path} HTTP/1.0\\r\\nHost: {address}\\r\\n\\r\\n\" >&3 && head -n 1 <&3' | awk '{{print $2}}'"
    )
}

/// Galera status of the local node, over the root socket.
pub fn wsrep_status() -> String {
    format!(
        "timeout 10 mariadb -N -B -e {}",
        shell::quote(crate::galera::STATUS_SQL)
    )
}

/// Recover the last committed position of a crashed node (prints the `Recovered position` line).
pub fn wsrep_recover() -> &'static str {
    // mariadbd runs as mysql here: the log file must be writable by it.
    "log=$(mktemp); chown mysql:mysql \"$log\"; runuser -u mysql -- mariadbd --wsrep-recover --log-error=\"$log\" >/dev/null 2>&1 || true; \
     grep 'Recovered position' \"$log\"; rm -f \"$log\""
}

/// Held by a Galera bootstrap while it runs (see [`bootstrap_cluster`]).
pub const BOOTSTRAP_LOCK: &str = "/run/minicloud/galera-bootstrap.lock";

/// Mark this node as the one allowed to bootstrap, then start a new cluster from it, holding
/// [`BOOTSTRAP_LOCK`] meanwhile: the bootstrap finishes on the host when its run is gone, and
/// the next run waits for it ([`wait_for_bootstrap`]) instead of meeting a mariadb that is
/// still `activating` and stopping it as a stuck one.
pub fn bootstrap_cluster() -> String {
    format!(
        "set -e\nmkdir -p {RUN_DIR}\nexec 7>>{BOOTSTRAP_LOCK}\nflock 7\n\
         if [ -f /var/lib/mysql/grastate.dat ]; then sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' /var/lib/mysql/grastate.dat; fi\n\
         galera_new_cluster\n"
    )
}

/// Wait (up to `seconds`) until no bootstrap started by an earlier run runs on this host;
/// prints `waited` when one did.
pub fn wait_for_bootstrap(seconds: u64) -> String {
    format!(
        "mkdir -p {RUN_DIR}; exec 7>>{BOOTSTRAP_LOCK}; \
         flock -n 7 || {{ echo waited; flock -w {seconds} 7; }}"
    )
}

/// Stop a mariadb that cannot finish starting (a non-Primary node waits forever, and a plain
/// stop then hangs for TimeoutStopSec).
pub fn kill_mariadb() -> &'static str {
    "systemctl kill -s KILL mariadb 2>/dev/null || true; systemctl stop mariadb 2>/dev/null || true; systemctl reset-failed mariadb 2>/dev/null || true"
}

/// The `mysql_native_password` hash of `password`: `*` and the upper-case hex of
/// SHA1(SHA1(password)), what `PASSWORD()` returns. SQL then carries the hash, never the
/// password, so no password can break out of its quotes (and a statement log shows no password).
pub fn native_password_hash(password: &str) -> String {
    use sha1::{Digest, Sha1};
    let twice = Sha1::digest(Sha1::digest(password.as_bytes()));
    let hex: String = twice.iter().map(|b| format!("{b:02X}")).collect();
    format!("*{hex}")
}

/// SQL for the roster's database and user (one per app host address), and the SST user:
/// idempotent, and a changed password is applied. Passwords go in as their hash
/// ([`native_password_hash`]: MariaDB 10.11 and 11.8 take `IDENTIFIED BY PASSWORD '*...'`).
/// Run it with `mariadb --batch` and this on stdin, never on a command line.
pub fn database_users(
    database: &str,
    user: &str,
    app_addresses: &[String],
    password: &str,
    sst: Option<(&str, &str)>,
) -> String {
    let hash = native_password_hash(password);
    let mut sql = format!("CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4;\n");
    for address in app_addresses {
        sql.push_str(&format!(
            "CREATE USER IF NOT EXISTS '{user}'@'{address}' IDENTIFIED BY PASSWORD '{hash}';\n\
             ALTER USER '{user}'@'{address}' IDENTIFIED BY PASSWORD '{hash}';\n\
             GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES ON `{database}`.* TO '{user}'@'{address}';\n"
        ));
    }
    if let Some((sst_user, sst_password)) = sst {
        let hash = native_password_hash(sst_password);
        sql.push_str(&format!(
            "CREATE USER IF NOT EXISTS '{sst_user}'@'localhost' IDENTIFIED BY PASSWORD '{hash}';\n\
             ALTER USER '{sst_user}'@'localhost' IDENTIFIED BY PASSWORD '{hash}';\n\
             GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO '{sst_user}'@'localhost';\n"
        ));
    }
    sql
}

/// `text` as the inside of a '...' SQL string literal: backslash and quote escaped. Passwords
/// are checked to hold neither (see [`crate::secrets::password_char`]); this is the second line
/// of defence.
fn sql_string(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "''")
}

/// SQL that gives a running node a new SST password without a restart (`wsrep_sst_auth` is
/// dynamic). It must be the password itself (mariabackup logs in with it), so it is quoted
/// with [`sql_string`]. Run on stdin like [`database_users`].
pub fn sst_auth(user: &str, password: &str) -> String {
    format!(
        "SET GLOBAL wsrep_sst_auth = '{}';\n",
        sql_string(&format!("{user}:{password}"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wrapper, run here by a real `sh` with its input on a pipe we hold.
    fn wrapped(script: &str) -> std::process::Child {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(ended_with_the_run(script))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The restart runs whatever the desync did (`;`, not `&&`): a node that is down has
    /// nothing to desync and must still be started.
    #[test]
    fn a_rolling_restart_is_one_command_desync_first() {
        assert_eq!(
            desync_and_restart_galera_node(),
            "mariadb --batch -e 'SET GLOBAL wsrep_desync = ON' 2>/dev/null || true; \
             systemctl restart mariadb"
        );
    }

    #[test]
    fn a_command_ends_by_itself_with_its_status_while_its_input_stays_open() {
        let mut child = wrapped("echo hi; exit 3");
        // Held open here, as the SSH client does: the command must not wait for it to close.
        let _input = child.stdin.take();
        let mut stdout = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(3));
        assert_eq!(stdout, "hi\n");
    }

    #[test]
    fn a_command_is_ended_with_everything_it_started_when_its_input_closes() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let mut child = wrapped(&format!(
            "sleep 300 & echo $! > {}; wait",
            pid_file.display()
        ));
        let started = std::time::Instant::now();
        while !pid_file.exists() || std::fs::read_to_string(&pid_file).unwrap().is_empty() {
            assert!(
                started.elapsed().as_secs() < 10,
                "the command did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let sleeper = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .to_string();
        let alive = |pid: &str| std::path::Path::new(&format!("/proc/{pid}")).exists();
        assert!(alive(&sleeper));
        drop(child.stdin.take()); // the SSH channel went away
        let status = child.wait().unwrap();
        assert!(!status.success(), "{status:?}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while alive(&sleeper) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // A zombie has no cmdline left; a live sleep has.
        let cmdline = std::fs::read(format!("/proc/{sleeper}/cmdline")).unwrap_or_default();
        assert!(cmdline.is_empty(), "sleep {sleeper} outlived its run");
    }

    #[test]
    fn installs_finish_an_interrupted_dpkg_and_wait_for_dpkg() {
        let script = install_packages(&["haproxy"]);
        let configure = script
            .find("dpkg --configure -a")
            .expect("finishes an interrupted one");
        let install = script
            .find("install --no-install-recommends haproxy")
            .unwrap();
        assert!(configure < install, "{script}");
        assert!(script.contains("DPkg::Lock::Timeout=600"), "{script}");
    }

    /// The install's shape, run here by a real `sh` with apt-get and dpkg replaced: it writes
    /// nothing to its channel while it works (so a closed channel cannot kill it), a failure
    /// fails the whole script and shows the log's end, and policy-rc.d is gone either way.
    #[test]
    fn an_install_writes_to_its_log_not_to_the_channel() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let fake = |apt: &str| {
            install_packages(&["haproxy"])
                .replace(RUN_DIR, &format!("{root}/run"))
                .replace("/usr/sbin/policy-rc.d", &format!("{root}/policy-rc.d"))
                .replace("dpkg --configure -a", "echo configuring")
                .replace("apt-get ", &format!("{apt} "))
        };
        let ok = std::process::Command::new("sh")
            .args(["-c", &fake("echo apt said")])
            .output()
            .unwrap();
        assert!(ok.status.success(), "{ok:?}");
        assert!(ok.stdout.is_empty() && ok.stderr.is_empty(), "{ok:?}");
        let log = std::fs::read_to_string(format!("{root}/run/install.log")).unwrap();
        assert!(
            log.contains("configuring") && log.contains("apt said"),
            "{log}"
        );
        let failed = std::process::Command::new("sh")
            .args(["-c", &fake("sh -c 'echo no such package >&2; exit 100' x")])
            .output()
            .unwrap();
        assert_eq!(failed.status.code(), Some(100), "{failed:?}");
        assert!(String::from_utf8_lossy(&failed.stderr).contains("no such package"));
        assert!(!dir.path().join("policy-rc.d").exists());
    }

    /// The real scripts with the lock moved into a scratch folder: a bootstrap holds the lock
    /// while it runs, and the wait returns once it ended, saying it waited.
    #[test]
    fn the_next_run_waits_for_a_bootstrap_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let local = |script: String| {
            script
                .replace(RUN_DIR, dir.path().to_str().unwrap())
                .replace("/var/lib/mysql/grastate.dat", "/nonexistent")
                .replace("galera_new_cluster", "sleep 1")
        };
        let bootstrap = std::process::Command::new("sh")
            .args(["-c", &local(bootstrap_cluster())])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let started = std::time::Instant::now();
        let wait = std::process::Command::new("sh")
            .args(["-c", &local(wait_for_bootstrap(10))])
            .output()
            .unwrap();
        assert!(wait.status.success());
        assert_eq!(String::from_utf8_lossy(&wait.stdout), "waited\n");
        assert!(started.elapsed() >= std::time::Duration::from_millis(500));
        assert!(bootstrap.wait_with_output().unwrap().status.success());
        let idle = std::process::Command::new("sh")
            .args(["-c", &local(wait_for_bootstrap(10))])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&idle.stdout), "");
    }

    #[test]
    fn checked_files_only_replace_the_old_one_after_the_check() {
        let cmd = put_file(
            "/etc/haproxy/haproxy.cfg",
            0o640,
            "root",
            "haproxy",
            Some(Checker::Haproxy),
            "00ff",
        );
        let check = cmd
            .find("'haproxy' '-c'")
            .expect("runs haproxy -c on the temp file");
        let mv = cmd
            .find("mv -f '/etc/haproxy/.haproxy.cfg.minicloud-new' '/etc/haproxy/haproxy.cfg'")
            .unwrap();
        assert!(check < mv);
        assert!(cmd.contains("chmod 640 ") && cmd.contains("chown root:haproxy "));
        let whole = cmd.find("!= '00ff  -'").expect("checks what arrived");
        assert!(whole < check, "{cmd}");
    }

    #[test]
    fn the_hash_recorded_is_that_of_the_file_as_written() {
        // The real script, with the record's folder moved into a scratch folder.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "as written\n").unwrap();
        let records = dir.path().join("records");
        let script = record_hash(file.to_str().unwrap())
            .replace(facts::HASH_CACHE_DIR, records.to_str().unwrap());
        let run = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(run.status.success(), "{run:?}");
        let entry = facts::hash_cache_entry(file.to_str().unwrap())
            .replace(facts::HASH_CACHE_DIR, records.to_str().unwrap());
        let record = std::fs::read_to_string(entry).unwrap();
        let key = std::process::Command::new("stat")
            .args(["-c", facts::HASH_KEY_FORMAT])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(
            record,
            format!(
                "{} {}\n",
                String::from_utf8_lossy(&key.stdout).trim(),
                crate::converge::desired::sha256_hex(b"as written\n")
            )
        );
    }

    /// This process's user and group, for files the tests write as themselves.
    fn me_and_my_group() -> (String, String) {
        let me = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let group = std::process::Command::new("id")
            .arg("-gn")
            .output()
            .unwrap()
            .stdout;
        (me, String::from_utf8(group).unwrap().trim().to_string())
    }

    #[test]
    fn a_refused_file_leaves_the_old_one() {
        // Run the real command with a checker that refuses (sh -n on broken shell).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("check.sh");
        std::fs::write(&path, "echo old\n").unwrap();
        let (me, group) = me_and_my_group();
        let cmd = |content: &str| {
            put_file(
                path.to_str().unwrap(),
                0o755,
                &me,
                &group,
                Some(Checker::Shell),
                &crate::converge::desired::sha256_hex(content.as_bytes()),
            )
        };
        let run = |input: &str| {
            let mut child = std::process::Command::new("sh")
                .args(["-c", &cmd(input)])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        };
        let refused = run("if then fi\n");
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("old file is untouched"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "echo old\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
        assert!(run("echo new\n").status.success());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "echo new\n");
    }

    /// The real command, given only the start of the content (as when the run dies in the
    /// middle of an upload: the host's `cat` sees the end of its input): the old file stays, and
    /// no temp file is left.
    #[test]
    fn an_upload_cut_short_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster");
        std::fs::write(&path, "old build\n").unwrap();
        let (me, group) = me_and_my_group();
        let whole = "new build, a long file\n".repeat(1000);
        let cmd = put_file(
            path.to_str().unwrap(),
            0o755,
            &me,
            &group,
            None,
            &crate::converge::desired::sha256_hex(whole.as_bytes()),
        );
        let send = |input: &str| {
            let mut child = std::process::Command::new("sh")
                .args(["-c", &cmd])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        };
        let cut = send(&whole[..whole.len() / 2]);
        assert_eq!(cut.status.code(), Some(3));
        assert!(String::from_utf8_lossy(&cut.stderr).contains("cut short"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old build\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(send(&whole).status.success());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
    }

    #[test]
    fn the_native_hash_is_that_of_mariadb() {
        // SELECT PASSWORD('password') on MariaDB 10.11.
        assert_eq!(
            native_password_hash("password"),
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
        );
    }

    #[test]
    fn database_users_sql_holds_no_password() {
        for password in ["s3cr'et\\' OR 1 -- x", "0123456789abcdef+=~._-XYZ"] {
            let sst = "sst-Pw-0123456789abcdef";
            let sql = database_users(
                "roster",
                "roster",
                &["10.0.0.1".into()],
                password,
                Some(("sst", sst)),
            );
            assert!(!sql.contains(password) && !sql.contains(sst), "{sql}");
            let hash = native_password_hash(password);
            assert_eq!(
                sql.matches(&format!("IDENTIFIED BY PASSWORD '{hash}'"))
                    .count(),
                2,
                "{sql}"
            );
            assert!(sql.contains(&format!(
                "'sst'@'localhost' IDENTIFIED BY PASSWORD '{}'",
                native_password_hash(sst)
            )));
            assert!(sql.contains("TO 'roster'@'10.0.0.1'"));
            assert!(sql.contains(
                "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO 'sst'@'localhost'"
            ));
        }
    }

    proptest::proptest! {
        /// No password, whatever it holds, is in the SQL that creates the accounts.
        #[test]
        fn no_password_is_in_the_account_sql(password in "[ -~]{16,64}", sst in "[ -~]{16,64}") {
            let sql = database_users("roster", "roster", &["10.0.0.1".into()], &password, Some(("sst", &sst)));
            proptest::prop_assert!(!sql.contains(&password) && !sql.contains(&sst), "{}", sql);
        }

        /// A checked password needs no quoting: `sst_auth` holds it as it is.
        #[test]
        fn a_checked_password_is_quoted_as_it_is(password in "[A-Za-z0-9._~+=-]{16,128}") {
            proptest::prop_assert!(crate::secrets::password_problem(&password).is_none());
            proptest::prop_assert_eq!(
                sst_auth("sst", &password),
                format!("SET GLOBAL wsrep_sst_auth = 'sst:{password}';\n")
            );
        }
    }

    #[test]
    fn sst_auth_quotes_backslash_and_quote() {
        assert_eq!(
            sst_auth("sst", "a\\'b"),
            "SET GLOBAL wsrep_sst_auth = 'sst:a\\\\''b';\n"
        );
        assert_eq!(
            sst_auth("sst", "0123456789abcdef"),
            "SET GLOBAL wsrep_sst_auth = 'sst:0123456789abcdef';\n"
        );
    }
}
