//! Facts: what a host looks like now, read with ONE batched shell command per host (a round
//! trip per check would make a no-op `up` slow) and a pure parser of its output.

use crate::galera::{self, GraState, WsrepStatus};
use crate::shell;
use crate::word_enum::word_enum;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// A managed file as it is on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// Permission bits (`0o644`).
    pub mode: u32,
    /// Owning user's name.
    pub owner: String,
    /// Owning group's name.
    pub group: String,
    /// sha256 of the content, lowercase hex.
    pub sha256: String,
}

word_enum! {
    /// systemd's `ActiveState` of a unit.
    #[derive(Default)]
    pub enum ActiveState {
        /// Running (for a service: its main process is up).
        Active = "active",
        /// Reloading its configuration.
        Reloading = "reloading",
        /// Not running (also what systemd says of a unit it does not know).
        Inactive = "inactive",
        /// Stopped with an error (a crash, a failed start, a kill).
        Failed = "failed",
        /// Starting: a Galera join or bootstrap shows as this for minutes.
        Activating = "activating",
        /// Stopping.
        Deactivating = "deactivating",
        /// systemd's answer had no state for the unit (printed as the empty word).
        #[default]
        Unknown = "",
    }
}

word_enum! {
    /// systemd's `UnitFileState` of a unit: whether it starts at boot.
    #[derive(Default)]
    pub enum EnabledState {
        /// Starts at boot.
        Enabled = "enabled",
        /// Installed, does not start at boot.
        Disabled = "disabled",
        /// Has no `[Install]` section: started by others only.
        Static = "static",
        /// Linked to /dev/null: cannot be started.
        Masked = "masked",
        /// No unit file (systemd prints an empty value).
        #[default]
        NotInstalled = "",
    }
}

/// A systemd unit as it is on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitState {
    /// Running, stopped, failed, starting, ...
    pub active: ActiveState,
    /// Started at boot or not; [`EnabledState::NotInstalled`] when there is no unit file.
    pub enabled: EnabledState,
    /// systemd has the unit loaded (its `LoadState` is `loaded`).
    pub loaded: bool,
    /// When it last became active (monotonic µs): a restart changes it.
    pub active_since: u64,
}

impl UnitState {
    /// Running.
    pub fn is_active(&self) -> bool {
        self.active == ActiveState::Active
    }

    /// Starting (a Galera join or bootstrap in progress shows as this for minutes).
    pub fn is_activating(&self) -> bool {
        self.active == ActiveState::Activating
    }

    /// Enabled to start at boot.
    pub fn is_enabled(&self) -> bool {
        self.enabled == EnabledState::Enabled
    }
}

/// Everything [`gather_command`] read from one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFacts {
    /// `uname -m`: `x86_64`, `aarch64`.
    pub arch: String,
    /// `debian 12`.
    pub os: String,
    /// Packages installed (dpkg's `ii`), of those asked about.
    pub installed: HashSet<String>,
    /// Files that exist, of those asked about, by path.
    pub files: HashMap<String, FileState>,
    /// Units of those asked about, by name (`haproxy.service`).
    pub units: HashMap<String, UnitState>,
    /// Galera status when mariadb runs and answers.
    pub wsrep: Option<WsrepStatus>,
    /// `/var/lib/mysql/grastate.dat`, when there is one.
    pub grastate: Option<GraState>,
    /// `/var/lib/mysql/gvwstate.dat` exists (pc.recovery can re-form the cluster).
    pub gvwstate: bool,
    /// (interface, IPv4 address).
    pub addresses: Vec<(String, String)>,
    /// The fingerprint in the comment of the loaded `inet minicloud` table; None when no such
    /// table is loaded.
    pub firewall: Option<String>,
    /// The scripts asked about ([`scripts_command`]: a VIP's `notify`), by path as given.
    pub scripts: HashMap<String, ScriptState>,
}

/// A script keepalived is to run as root, as the host has it: enough to tell whether
/// keepalived's script security will run it (see [`ScriptState::refusal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptState {
    /// No such file (or a link to nothing).
    Missing,
    /// It exists.
    Present {
        /// The file itself, links followed: what runs.
        file: PathEntry,
        /// Every part of the path as given and, when a link leads elsewhere, of the path it
        /// leads to, links not followed: each is checked as keepalived checks it.
        parts: Vec<PathEntry>,
    },
}

/// One file or folder of a script's path, as `stat` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathEntry {
    /// `st_mode`: file type and permission bits.
    pub mode: u32,
    /// Owner's uid.
    pub uid: u32,
    /// Group's gid.
    pub gid: u32,
    /// The path of this part.
    pub path: String,
}

/// `st_mode` file type bits (`S_IFMT`) and the types that matter here.
const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

impl PathEntry {
    fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }

    /// Why a non-root user could change what this part holds, if one could: the rule of
    /// keepalived's `check_security` (lib/notify.c) for scripts run as root. The owner must be
    /// root; a regular file, or a folder without the sticky bit, must not be writable by its
    /// group (unless that is root's group) nor by others. A link's own bits do not count.
    fn writable_by_non_root(&self) -> Option<String> {
        if self.uid != 0 {
            return Some(format!("is owned by uid {}, not root", self.uid));
        }
        let guarded = self.kind() == S_IFREG || (self.kind() == S_IFDIR && self.mode & 0o1000 == 0);
        if guarded && self.gid != 0 && self.mode & 0o020 != 0 {
            return Some(format!("is writable by its group (gid {})", self.gid));
        }
        if guarded && self.mode & 0o002 != 0 {
            return Some("is writable by every user".into());
        }
        None
    }
}

impl ScriptState {
    /// Why keepalived would not run this script as root, if it would not: missing, not a
    /// regular executable file, or a part of its path a non-root user could change
    /// (`enable_script_security` then disables the script, and the VIP moves without it).
    pub fn refusal(&self) -> Option<String> {
        let (file, parts) = match self {
            ScriptState::Missing => return Some("does not exist".into()),
            ScriptState::Present { file, parts } => (file, parts),
        };
        if file.kind() != S_IFREG {
            return Some("is not a regular file".into());
        }
        if file.mode & 0o111 == 0 {
            return Some(format!("is not executable (mode {:o})", file.mode & 0o7777));
        }
        parts.iter().find_map(|part| {
            part.writable_by_non_root().map(|why| {
                let kind = match part.kind() {
                    S_IFDIR => "folder",
                    S_IFLNK => "link",
                    _ => "file",
                };
                format!(
                    "cannot be trusted: the {kind} {} {why}",
                    crate::inventory::text::shown(&part.path)
                )
            })
        })
    }
}

/// The `@@scripts` section: for each script, whether it exists, the file it runs (links
/// followed) and every part of its path and of the path a link leads to (links not
/// followed), as `<mode in hex> <uid> <gid> <path>`. Read-only; a separate section so only
/// the hosts that run a script pay for it.
pub fn scripts_command(scripts: &[&str]) -> String {
    let mut script = String::from("echo '@@scripts'\n");
    for path in scripts {
        let _ = writeln!(
            script,
            "s={}; echo \"script $s\"; if r=$(realpath -e -- \"$s\" 2>/dev/null); then \
             stat -L -c 'file %f %u %g %n' -- \"$s\"; \
             for p in \"$s\" \"$r\"; do while :; do stat -c 'part %f %u %g %n' -- \"$p\"; \
             [ \"$p\" = / ] && break; p=$(dirname -- \"$p\"); done; [ \"$r\" = \"$s\" ] && break; done; \
             else echo missing; fi",
            shell::quote(path)
        );
    }
    // The section's last test may be false; the command's status says only that it ran.
    script.push_str("true\n");
    script
}

/// The `@@scripts` section's lines → each script's state, by path as asked.
fn parse_scripts(lines: &[&str]) -> HashMap<String, ScriptState> {
    let mut scripts = HashMap::new();
    let mut current: Option<String> = None;
    for line in lines.iter().copied() {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        if word == "script" {
            current = Some(rest.to_string());
            scripts.insert(rest.to_string(), ScriptState::Missing);
            continue;
        }
        let (Some(name), Some(entry)) = (&current, parse_path_entry(rest)) else {
            continue;
        };
        let Some(state) = scripts.get_mut(name) else {
            continue;
        };
        match (word, state) {
            ("file", state) => {
                *state = ScriptState::Present {
                    file: entry,
                    parts: Vec::new(),
                }
            }
            ("part", ScriptState::Present { parts, .. }) => parts.push(entry),
            _ => {}
        }
    }
    scripts
}

/// `81ed 0 0 /usr/local/sbin/move-vip` → a [`PathEntry`] (the path may hold spaces: the
/// part a link leads to is not a checked inventory value).
fn parse_path_entry(text: &str) -> Option<PathEntry> {
    let mut fields = text.splitn(4, ' ');
    Some(PathEntry {
        mode: u32::from_str_radix(fields.next()?, 16).ok()?,
        uid: fields.next()?.parse().ok()?,
        gid: fields.next()?.parse().ok()?,
        path: fields.next()?.to_string(),
    })
}

impl HostFacts {
    /// A unit's state; the default (no state, not installed) when it was not reported.
    pub fn unit(&self, name: &str) -> UnitState {
        self.units.get(name).cloned().unwrap_or_default()
    }

    /// The host has `address` on one of its interfaces.
    pub fn has_address(&self, address: &str) -> bool {
        self.addresses.iter().any(|(_, a)| a == address)
    }
}

/// The `@@files` section of [`gather_command`]: owner, group, mode and sha256 of each file.
fn files_command(files: &[&str]) -> String {
    let mut script = String::from("echo '@@files'\n");
    for file in files {
        // The hash `up` recorded when it wrote the file counts while the file's inode, size
        // and ctime are the ones recorded (nothing can set a ctime back); otherwise hash it.
        // Hashing is most of the host's work in a no-op `up`: the roster binary is 11 MB.
        let _ = writeln!(
            script,
            "f={}; if [ -f \"$f\" ]; then set -- $(stat -c '%a %U %G {HASH_KEY_FORMAT}' \"$f\"); k=; h=; \
             {{ read -r k h < {}; }} 2>/dev/null; \
             if [ \"$k\" = \"$4\" ] && [ -n \"$h\" ]; then echo \"$1 $2 $3 $h  $f\"; else printf '%s ' \"$1 $2 $3\"; sha256sum \"$f\"; fi; fi",
            shell::quote(file),
            shell::quote(&hash_cache_entry(file)),
        );
    }
    script
}

/// `ip -o -4 addr show` → [(interface, address)] without loopback, in order (a fact of every
/// host; the lab reads its hosts with it too).
pub fn parse_ipv4_addrs(output: &str) -> Vec<(String, String)> {
    output
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let iface = fields.get(1)?.split('@').next()?;
            let addr = fields.get(3)?.split('/').next()?;
            (iface != "lo").then(|| (iface.to_string(), addr.to_string()))
        })
        .collect()
}

/// The state of one keepalived `vrrp_instance`, as its data dump names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpState {
    /// Holds the VIP.
    Master,
    /// Ready to take the VIP when the holder goes.
    Backup,
    /// Will not take the VIP (a track script failing, or not yet passed `rise` times).
    Fault,
    /// Starting, stopping, or a state this parser does not know.
    Other,
}

/// keepalived's data dump, printed (empty when keepalived is not running): it names each
/// vrrp_instance's state ([`parse_vrrp_state`]), which is how `up` and the db-stop drill know
/// a node is ready to take a VIP. keepalived writes it on its DATA signal; the wait ends when
/// the section after the instances has begun, or after 2 s.
pub fn keepalived_data_command() -> String {
    keepalived_data_command_at("/run/keepalived.pid")
}

/// [`keepalived_data_command`] with keepalived's pid file at `pid_file` (a constant path).
/// The signal goes only to a process named keepalived: a stale pid file's number may belong
/// to another process by now, which the DATA signal (SIGUSR1) would end.
fn keepalived_data_command_at(pid_file: &str) -> String {
    format!(
        "f=/tmp/keepalived.data; rm -f \"$f\"; pid=$(cat {pid_file} 2>/dev/null) || exit 0; \
         [ \"$(cat /proc/\"$pid\"/comm 2>/dev/null)\" = keepalived ] || exit 0; \
         kill -s \"$(keepalived --signum=DATA)\" \"$pid\" 2>/dev/null || exit 0; i=0; \
         while [ $i -lt 40 ] && ! grep -q '^------< VRRP Scripts' \"$f\" 2>/dev/null; do sleep 0.05; i=$((i+1)); done; \
         cat \"$f\" 2>/dev/null; true"
    )
}

/// keepalived's data dump (`/tmp/keepalived.data`, written on its DATA signal) → the state of
/// `instance`, or None when the dump has no such instance (keepalived not running, or the
/// dump incomplete).
pub fn parse_vrrp_state(dump: &str, instance: &str) -> Option<VrrpState> {
    let mut lines = dump.lines().map(str::trim);
    lines.find(|l| l.strip_prefix("VRRP Instance = ") == Some(instance))?;
    for line in lines {
        if line.starts_with("VRRP Instance = ") || line.starts_with("------<") {
            return None;
        }
        if let Some(state) = line.strip_prefix("State = ") {
            return Some(match state {
                "MASTER" => VrrpState::Master,
                "BACKUP" => VrrpState::Backup,
                "FAULT" => VrrpState::Fault,
                _ => VrrpState::Other,
            });
        }
    }
    None
}

/// Where `up` records the sha256 of each file it writes, one entry per file (see
/// [`hash_cache_entry`]), so that reading facts does not hash unchanged files again.
pub const HASH_CACHE_DIR: &str = "/var/lib/minicloud/sha256";

/// `stat` format of what an entry of the hash cache is valid for: inode, size, ctime (ns).
pub const HASH_KEY_FORMAT: &str = "%i:%s:%.9Z";

/// The hash cache entry of a managed file: `<key> <sha256>` in a file named after its path.
pub fn hash_cache_entry(path: &str) -> String {
    format!("{HASH_CACHE_DIR}/{}", path.replace('/', "%"))
}

/// The one command that reads every fact `up`, `plan` and `status` need from a host.
pub fn gather_command(packages: &[&str], files: &[&str], units: &[&str]) -> String {
    let join = |items: &[&str]| {
        items
            .iter()
            .map(|i| shell::quote(i))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut script = String::new();
    let _ = writeln!(
        script,
        "echo '@@os'; uname -m; (. /etc/os-release && echo \"$ID $VERSION_ID\")"
    );
    let _ = writeln!(
        script,
        "echo '@@packages'; dpkg-query -W -f='${{Package}} ${{db:Status-Abbrev}}\\n' {} 2>/dev/null",
        join(packages)
    );
    script.push_str(&files_command(files));
    let _ = writeln!(
        script,
        "echo '@@units'; systemctl show -p Id -p LoadState -p ActiveState -p UnitFileState -p ActiveEnterTimestampMonotonic {} 2>/dev/null",
        join(units)
    );
    let _ = writeln!(
        script,
        "echo '@@wsrep'; if systemctl is-active -q mariadb 2>/dev/null; then timeout 5 mariadb -N -B -e {} 2>/dev/null; fi",
        shell::quote(galera::STATUS_SQL)
    );
    let _ = writeln!(
        script,
        "echo '@@grastate'; cat /var/lib/mysql/grastate.dat 2>/dev/null"
    );
    let _ = writeln!(
        script,
        "echo '@@gvwstate'; test -e /var/lib/mysql/gvwstate.dat && echo yes"
    );
    let _ = writeln!(script, "echo '@@addrs'; ip -o -4 addr show");
    let _ = writeln!(
        script,
        "echo '@@firewall'; nft list table inet minicloud 2>/dev/null | sed -n 's/^[[:space:]]*comment \"\\(.*\\)\"$/\\1/p'"
    );
    script.push_str("true\n");
    script
}

/// The lines of each `@@name` section of a batched command's output, by name.
pub fn sections(output: &str) -> HashMap<&str, Vec<&str>> {
    let mut sections: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut current = "";
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("@@") {
            current = name;
            sections.entry(current).or_default();
        } else {
            sections.entry(current).or_default().push(line);
        }
    }
    sections
}

/// Parse the output of [`gather_command`] (sections it did not write are ignored).
pub fn parse(output: &str) -> HostFacts {
    let sections = sections(output);
    let section = |name: &str| sections.get(name).cloned().unwrap_or_default();
    let os = section("os");
    let mut facts = HostFacts {
        arch: os.first().unwrap_or(&"").to_string(),
        os: os.get(1).unwrap_or(&"").to_string(),
        ..Default::default()
    };
    for line in section("packages") {
        // `ii ` = desired install, currently installed.
        if let Some((name, status)) = line.split_once(' ')
            && status.starts_with("ii")
        {
            facts.installed.insert(name.to_string());
        }
    }
    for line in section("files") {
        // "644 root root <sha256>  /path"
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [mode, owner, group, sha, path] = fields[..] {
            let Ok(mode) = u32::from_str_radix(mode, 8) else {
                continue;
            };
            facts.files.insert(
                path.to_string(),
                FileState {
                    mode,
                    owner: owner.into(),
                    group: group.into(),
                    sha256: sha.into(),
                },
            );
        }
    }
    facts.units = parse_units(&section("units"));
    facts.wsrep = galera::parse_wsrep_status(&section("wsrep").join("\n"));
    facts.grastate = galera::parse_grastate(&section("grastate").join("\n"));
    facts.gvwstate = section("gvwstate").contains(&"yes");
    facts.addresses = parse_ipv4_addrs(&section("addrs").join("\n"));
    facts.scripts = parse_scripts(&section("scripts"));
    facts.firewall = section("firewall").first().map(|comment| {
        comment
            .strip_prefix("minicloud ")
            .unwrap_or(comment)
            .to_string()
    });
    facts
}

/// `systemctl show` blocks (blank-line separated `Key=Value` lines) by unit id.
fn parse_units(lines: &[&str]) -> HashMap<String, UnitState> {
    let mut units = HashMap::new();
    for block in lines.split(|l| l.trim().is_empty()) {
        let values: HashMap<&str, &str> = block.iter().filter_map(|l| l.split_once('=')).collect();
        let Some(id) = values.get("Id") else { continue };
        units.insert(
            id.to_string(),
            UnitState {
                active: ActiveState::from_word(values.get("ActiveState").unwrap_or(&"")),
                enabled: EnabledState::from_word(values.get("UnitFileState").unwrap_or(&"")),
                loaded: values.get("LoadState") == Some(&"loaded"),
                active_since: values
                    .get("ActiveEnterTimestampMonotonic")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            },
        );
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output recorded from a lab db host with Galera running.
    const DB_HOST: &str = "@@os\nx86_64\ndebian 12\n@@packages\nmariadb-server ii \ngalera-4 ii \nkeepalived ii \nhaproxy un \n\
@@files\n644 root root 3f1e0c6f2b9d4a55e2f0c1d1b3a4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2  /etc/mysql/mariadb.conf.d/60-galera.cnf\n\
@@units\nId=mariadb.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\nActiveEnterTimestampMonotonic=123456789\n\n\
Id=mariadb.socket\nLoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\nActiveEnterTimestampMonotonic=0\n\n\
Id=garb.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\nActiveEnterTimestampMonotonic=0\n\
@@wsrep\nwsrep_cluster_size\t3\nwsrep_cluster_status\tPrimary\nwsrep_last_committed\t17\nwsrep_local_state_comment\tSynced\n\
@@grastate\n# GALERA saved state\nversion: 2.1\nuuid:    9b1c0d2e-aaaa-11ef-8000-0242ac110002\nseqno:   -1\nsafe_to_bootstrap: 0\n\
@@gvwstate\nyes\n@@addrs\n1: lo    inet 127.0.0.1/8 scope host lo\n60: eth0@if61    inet 10.231.60.31/24 brd 10.231.60.255 scope global eth0\n\
60: eth0@if61    inet 10.231.60.100/24 scope global secondary eth0\n@@firewall\nminicloud 0123abcd4567ef89\n";

    /// keepalived's data dump from a lab db host that does not hold the DB VIP (written by
    /// [`keepalived_data_command`], keepalived 2.2.7).
    const KEEPALIVED_DUMP: &str = include_str!("../tests/data/keepalived-backup.data");

    /// Where keepalived does not run (no pid file, the pid of a process that has ended, or of
    /// one that is not keepalived), the dump prints nothing and succeeds, so a reader sees "no
    /// state", not a failed step; and a process that is not keepalived gets no signal.
    #[test]
    fn the_keepalived_dump_is_empty_where_keepalived_does_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = |name: &str, pid: Option<u32>| {
            let path = dir.path().join(name);
            if let Some(pid) = pid {
                std::fs::write(&path, format!("{pid}\n")).unwrap();
            }
            path.to_str().unwrap().to_string()
        };
        let mut ended = std::process::Command::new("true").spawn().unwrap();
        let ended_pid = ended.id();
        ended.wait().unwrap();
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        for path in [
            pid_file("missing.pid", None),
            pid_file("ended.pid", Some(ended_pid)),
            pid_file("other.pid", Some(other.id())),
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(keepalived_data_command_at(&path))
                .output()
                .unwrap();
            assert!(out.status.success(), "{path}: {out:?}");
            assert!(out.stdout.is_empty(), "{path}: {out:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            other.try_wait().unwrap().is_none(),
            "a process that is not keepalived was signalled"
        );
        other.kill().unwrap();
        other.wait().unwrap();
    }

    #[test]
    fn a_vrrp_instance_state_is_read_from_keepalived_data_dump() {
        assert_eq!(
            parse_vrrp_state(KEEPALIVED_DUMP, "database"),
            Some(VrrpState::Backup)
        );
        // Another instance's name, an empty dump (keepalived not running) or a dump cut off
        // before the state line: no state, never a guess.
        assert_eq!(parse_vrrp_state(KEEPALIVED_DUMP, "frontend"), None);
        assert_eq!(parse_vrrp_state("", "database"), None);
        let cut = &KEEPALIVED_DUMP[..KEEPALIVED_DUMP.find("State = BACKUP").unwrap()];
        assert_eq!(parse_vrrp_state(cut, "database"), None);
        for (text, state) in [
            ("MASTER", VrrpState::Master),
            ("FAULT", VrrpState::Fault),
            ("INIT", VrrpState::Other),
        ] {
            let dump = KEEPALIVED_DUMP.replace("State = BACKUP", &format!("State = {text}"));
            assert_eq!(parse_vrrp_state(&dump, "database"), Some(state), "{text}");
        }
    }

    /// An instance's state is its own: a "State =" line of the section after it (the track
    /// script's, the interfaces') is not read as the instance's.
    #[test]
    fn a_state_line_after_the_instance_section_is_not_the_instance_state() {
        let dump =
            " VRRP Instance = database\n   Flags:\n------< VRRP Scripts >------\n   State = idle\n";
        assert_eq!(parse_vrrp_state(dump, "database"), None);
    }

    #[test]
    fn a_db_host_is_read_whole() {
        let facts = parse(DB_HOST);
        assert_eq!(
            (facts.arch.as_str(), facts.os.as_str()),
            ("x86_64", "debian 12")
        );
        assert!(facts.installed.contains("galera-4") && !facts.installed.contains("haproxy"));
        let cnf = &facts.files["/etc/mysql/mariadb.conf.d/60-galera.cnf"];
        assert_eq!((cnf.mode, cnf.owner.as_str()), (0o644, "root"));
        assert!(facts.unit("mariadb.service").is_active());
        assert_eq!(facts.unit("mariadb.service").active_since, 123456789);
        assert!(!facts.unit("garb.service").loaded);
        assert_eq!(facts.unit("nothing.service"), UnitState::default());
        assert!(facts.wsrep.as_ref().unwrap().is_synced_primary());
        assert_eq!(facts.grastate.as_ref().unwrap().seqno, -1);
        assert!(facts.gvwstate);
        assert!(facts.has_address("10.231.60.100"));
        assert_eq!(facts.firewall.as_deref(), Some("0123abcd4567ef89"));
    }

    #[test]
    fn a_bare_host_has_no_facts_beyond_its_os() {
        let facts = parse(
            "@@os\nx86_64\ndebian 12\n@@packages\n@@files\n@@units\n@@wsrep\n@@grastate\n@@gvwstate\n@@addrs\n",
        );
        assert!(
            facts.installed.is_empty()
                && facts.files.is_empty()
                && facts.wsrep.is_none()
                && facts.grastate.is_none()
                && facts.firewall.is_none()
        );
    }

    #[test]
    fn a_recorded_hash_counts_only_while_the_file_is_untouched() {
        // The real command, with the records' folder moved into a scratch folder.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "first\n").unwrap();
        let path = file.to_str().unwrap();
        let records = dir.path().join("records");
        let scratch = |text: &str| text.replace(HASH_CACHE_DIR, records.to_str().unwrap());
        let key = |file: &std::path::Path| {
            let out = std::process::Command::new("stat")
                .args(["-c", HASH_KEY_FORMAT])
                .arg(file)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        std::fs::create_dir(&records).unwrap();
        let recorded = "ab".repeat(32);
        std::fs::write(
            scratch(&hash_cache_entry(path)),
            format!("{} {recorded}\n", key(&file)),
        )
        .unwrap();
        let sha256 = |file: &str| {
            let out = std::process::Command::new("sh")
                .args(["-c", &scratch(&files_command(&[file]))])
                .output()
                .unwrap();
            parse(&String::from_utf8_lossy(&out.stdout)).files[file]
                .sha256
                .clone()
        };
        assert_eq!(sha256(path), recorded, "the record stands for the file");
        // Same size, same inode, written in place: only the ctime tells.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"other\n"))
            .unwrap();
        assert_eq!(
            sha256(path),
            crate::converge::desired::sha256_hex(b"other\n"),
            "an edited file is hashed again"
        );
    }

    #[test]
    fn unit_states_are_read_from_systemd_words() {
        let units = parse_units(&[
            "Id=a.service",
            "ActiveState=activating",
            "UnitFileState=static",
            "",
            "Id=b.service",
            "ActiveState=maintenance",
            "UnitFileState=enabled-runtime",
            "",
            "Id=c.service",
            "LoadState=not-found",
            "ActiveState=inactive",
            "UnitFileState=",
        ]);
        let a = &units["a.service"];
        assert_eq!(
            (&a.active, &a.enabled),
            (&ActiveState::Activating, &EnabledState::Static)
        );
        assert!(a.is_activating() && !a.is_active() && !a.is_enabled());
        // Words this version does not know are kept, and are neither active nor enabled.
        let b = &units["b.service"];
        assert_eq!(b.active, ActiveState::Other("maintenance".into()));
        assert_eq!(b.enabled, EnabledState::Other("enabled-runtime".into()));
        assert!(!b.is_active() && !b.is_enabled());
        let c = &units["c.service"];
        assert_eq!(
            (&c.active, &c.enabled, c.loaded),
            (&ActiveState::Inactive, &EnabledState::NotInstalled, false)
        );
        for word in ["active", "reloading", "inactive", "failed", "deactivating"] {
            assert_eq!(ActiveState::from_word(word).to_string(), word);
            assert!(!matches!(
                ActiveState::from_word(word),
                ActiveState::Other(_)
            ));
        }
        for word in ["enabled", "disabled", "masked"] {
            assert_eq!(EnabledState::from_word(word).to_string(), word);
            assert!(!matches!(
                EnabledState::from_word(word),
                EnabledState::Other(_)
            ));
        }
        assert_eq!(UnitState::default().active.to_string(), "");
    }

    proptest::proptest! {
        /// Whatever systemd prints comes back out as printed, and a known word is never
        /// kept as `Other` (so comparing variants is comparing words).
        #[test]
        fn any_unit_state_word_round_trips(word in "[a-z-]{0,14}|active|failed|enabled|static") {
            let active = ActiveState::from_word(&word);
            proptest::prop_assert_eq!(active.to_string(), word.clone());
            proptest::prop_assert_eq!(ActiveState::from_word(active.as_str()), active.clone());
            if let ActiveState::Other(other) = &active {
                proptest::prop_assert!(ActiveState::KNOWN.iter().all(|k| k.as_str() != other));
            }
            let enabled = EnabledState::from_word(&word);
            proptest::prop_assert_eq!(enabled.to_string(), word.clone());
            if let EnabledState::Other(other) = &enabled {
                proptest::prop_assert!(EnabledState::KNOWN.iter().all(|k| k.as_str() != other));
            }
        }
    }

    /// What [`scripts_command`] says of `path`, run here (as the facts are on a host).
    fn script_state(path: &str) -> ScriptState {
        let out = std::process::Command::new("sh")
            .args(["-c", &scripts_command(&[path])])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        parse(&String::from_utf8_lossy(&out.stdout)).scripts[path].clone()
    }

    fn running_as_root() -> bool {
        let out = std::process::Command::new("id").arg("-u").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "0"
    }

    #[test]
    fn a_notify_script_is_refused_unless_keepalived_would_run_it() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let chmod = |path: &std::path::Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("sbin");
        std::fs::create_dir(&folder).unwrap();
        chmod(&folder, 0o755);
        let script = folder.join("move-vip");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        chmod(&script, 0o755);
        let path = script.to_str().unwrap();
        let refusal = |path: &str| script_state(path).refusal();
        if !running_as_root() {
            // Everything here belongs to this user, which keepalived never trusts.
            let why = refusal(path).expect("a script owned by a non-root user is refused");
            assert!(why.contains("not root"), "{why}");
            return;
        }
        // tempdir() is under /tmp: world-writable but sticky, which keepalived allows.
        assert_eq!(refusal(path), None, "root's 0755 script in root's folders");
        let missing = folder.join("nothing");
        assert_eq!(
            refusal(missing.to_str().unwrap()).as_deref(),
            Some("does not exist")
        );
        chmod(&script, 0o644);
        assert!(refusal(path).unwrap().contains("not executable (mode 644)"));
        chmod(&script, 0o757);
        assert!(refusal(path).unwrap().contains("writable by every user"));
        chmod(&script, 0o775);
        std::os::unix::fs::chown(&script, None, Some(1000)).unwrap();
        assert!(
            refusal(path)
                .unwrap()
                .contains("writable by its group (gid 1000)")
        );
        std::os::unix::fs::chown(&script, None, Some(0)).unwrap();
        assert_eq!(
            refusal(path),
            None,
            "group write by root's group is allowed"
        );
        std::os::unix::fs::chown(&script, Some(1000), None).unwrap();
        assert!(refusal(path).unwrap().contains("owned by uid 1000"));
        std::os::unix::fs::chown(&script, Some(0), None).unwrap();
        chmod(&folder, 0o777);
        let why = refusal(path).unwrap();
        assert!(
            why.contains("the folder") && why.contains("every user"),
            "{why}"
        );
        chmod(&folder, 0o1777);
        assert_eq!(refusal(path), None, "a sticky folder is allowed, as /tmp");
        chmod(&folder, 0o755);
        // A link is judged by where it leads too.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        chmod(&open, 0o777);
        let target = open.join("real-move-vip");
        std::fs::write(&target, "#!/bin/sh\n").unwrap();
        chmod(&target, 0o755);
        let link = folder.join("linked");
        symlink(&target, &link).unwrap();
        let why = refusal(link.to_str().unwrap()).unwrap();
        assert!(why.contains("open") && why.contains("every user"), "{why}");
        assert_eq!(
            refusal(dir.path().to_str().unwrap()).as_deref(),
            Some("is not a regular file")
        );
    }

    #[test]
    fn script_facts_are_parsed_whatever_the_link_target_holds() {
        let scripts = parse_scripts(&[
            "script /a/b",
            "file 81ed 0 0 /a/b",
            "part 81ed 0 0 /a/b",
            "part 41ed 0 0 /a",
            "part 43ff 0 0 /",
            "script /c",
            "missing",
            "script /l",
            "file 81ed 0 0 /l",
            "part a1ff 0 0 /l",
            "part 81ed 0 0 /odd dir/x",
            "part 41ff 0 0 /odd dir",
        ]);
        assert_eq!(scripts["/c"], ScriptState::Missing);
        assert_eq!(scripts["/a/b"].refusal(), None);
        let ScriptState::Present { parts, .. } = &scripts["/l"] else {
            panic!("{scripts:?}")
        };
        assert_eq!(parts[2].path, "/odd dir");
        assert!(
            scripts["/l"]
                .refusal()
                .unwrap()
                .contains("the folder \"/odd dir\" is writable by every user")
        );
    }

    #[test]
    fn the_command_asks_for_what_it_is_given() {
        let cmd = gather_command(
            &["haproxy"],
            &["/etc/haproxy/haproxy.cfg"],
            &["haproxy.service"],
        );
        assert!(
            cmd.contains("'haproxy'")
                && cmd.contains("'/etc/haproxy/haproxy.cfg'")
                && cmd.contains("'haproxy.service'")
        );
    }
}
