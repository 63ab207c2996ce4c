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
