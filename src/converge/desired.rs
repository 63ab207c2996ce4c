//! What each host should have (packages, files, units) and how that differs from its facts.
//! Pure: `plan` prints these differences, `up` closes them.

use crate::facts::HostFacts;
use crate::inventory::{Inventory, Role, SstMethod};
use crate::render::{Checker, HostFile};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Where the roster binary goes on app hosts.
pub const ROSTER_PATH: &str = "/usr/local/bin/roster";

/// A file `up` manages on a host.
#[derive(Debug, Clone)]
pub struct Managed {
    pub path: String,
    pub content: Arc<Vec<u8>>,
    pub sha256: String,
    pub mode: u32,
    pub owner: String,
    pub group: String,
    pub checker: Option<Checker>,
    /// Holds a secret: its content is never shown.
    pub secret: bool,
    /// Text that a diff can show.
    pub text: bool,
    /// The systemd unit it feeds ("" when none).
    pub unit: &'static str,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Managed {
    pub fn from_rendered(file: &HostFile) -> Managed {
        let content = file.content.as_bytes().to_vec();
        Managed {
            path: file.path.to_string(),
            sha256: sha256_hex(&content),
            content: Arc::new(content),
            mode: file.mode,
            owner: file.owner.to_string(),
            group: file.group.to_string(),
            checker: file.checker,
            secret: file.secret,
            text: true,
            unit: file.unit,
        }
    }

    pub fn roster_binary(binary: Arc<Vec<u8>>) -> Managed {
        Managed {
            path: ROSTER_PATH.to_string(),
            sha256: sha256_hex(&binary),
            content: binary,
            mode: 0o755,
            owner: "root".into(),
            group: "root".into(),
            checker: None,
            secret: false,
            text: false,
            unit: "roster",
        }
    }
}

/// Debian packages a host's roles need.
pub fn packages(inv: &Inventory, host: &str) -> Vec<&'static str> {
    let entry = &inv.hosts[host];
    // Every host gets minicloud's firewall table.
    let mut list = vec!["nftables"];
    if entry.has(Role::Lb) {
        list.extend(["haproxy", "keepalived"]);
    }
    if entry.has(Role::Db) {
        list.extend(["mariadb-server", "galera-4", "keepalived", "rsync"]);
        if inv.services.galera.sst_method == SstMethod::Mariabackup {
            list.extend(["mariadb-backup", "socat"]);
        }
    }
    if entry.has(Role::Arbiter) {
        list.push("galera-arbitrator-4");
    }
    if entry.has(Role::App) && inv.services.file_sync.is_some() {
        // python3 runs rrsync (shipped by rsync, which only suggests python3): the sync key's
        // forced command hands every push to it (render/file_sync.rs).
        list.extend(["lsyncd", "rsync", "python3"]);
    }
    if entry.has(Role::App) && inv.services.nginx.enabled {
        list.push("nginx-light");
        if inv.is_web_pair() {
            list.push("keepalived");
        }
    }
    list.sort_unstable();
    list.dedup();
    list
}

/// The systemd units `up` reads on a host: those of the packages its roles get, the roster
/// and Aerospike where their roles are, and the firewall's boot unit. Only these: every unit
/// named costs the host work in each fact read, and no-op runs are mostly fact reads.
pub fn units(inv: &Inventory, host: &str) -> Vec<&'static str> {
    let entry = &inv.hosts[host];
    let mut list = vec!["minicloud-firewall.service"];
    for package in packages(inv, host) {
        list.extend(match package {
            "haproxy" => &["haproxy.service"][..],
            "keepalived" => &["keepalived.service"],
            // The socket is read so that `up` can switch it off (it holds port 3306).
            "mariadb-server" => &["mariadb.service", "mariadb.socket"],
            "galera-arbitrator-4" => &["garb.service"],
            "nginx-light" => &["nginx.service"],
            "lsyncd" => &["lsyncd.service"],
            _ => &[],
        });
    }
    if entry.has(Role::App) {
        list.push("roster.service");
    }
    if entry.has(Role::Aerospike) {
        list.push("aerospike.service");
    }
    list
}

/// How a managed file differs from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    Missing,
    Content,
    /// Same content, other mode or owner.
    Metadata,
}

pub fn file_change(file: &Managed, facts: &HostFacts) -> Option<FileChange> {
    let Some(state) = facts.files.get(&file.path) else {
        return Some(FileChange::Missing);
    };
    if state.sha256 != file.sha256 {
        Some(FileChange::Content)
    } else if state.mode != file.mode || state.owner != file.owner || state.group != file.group {
        Some(FileChange::Metadata)
    } else {
        None
    }
}

/// Everything that differs on one host (before any tier logic such as bootstrapping).
#[derive(Debug, Clone, Default)]
pub struct HostDiff {
    pub packages: Vec<&'static str>,
    pub files: Vec<(Managed, FileChange)>,
}

impl HostDiff {
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.files.is_empty()
    }
}

pub fn host_diff(inv: &Inventory, host: &str, files: &[Managed], facts: &HostFacts) -> HostDiff {
    HostDiff {
        packages: packages(inv, host)
            .into_iter()
            .filter(|p| !facts.installed.contains(*p))
            .collect(),
        files: files
            .iter()
            .filter_map(|f| file_change(f, facts).map(|c| (f.clone(), c)))
            .collect(),
    }
}

/// A unified diff of a file for `plan`. Every value in `secrets` is masked on both sides, so a
/// file holding a password still shows its other changes; binaries are only described.
pub fn describe_change(
    file: &Managed,
    change: &FileChange,
    old: Option<&str>,
    secrets: &[&str],
) -> String {
    let mask = |text: &str| {
        secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(text.to_string(), |t, s| t.replace(s, crate::secrets::MASK))
    };
    let new = mask(&String::from_utf8_lossy(&file.content));
    match change {
        FileChange::Metadata => format!(
            "{}: mode/owner to {:o} {}:{}\n",
            file.path, file.mode, file.owner, file.group
        ),
        _ if !file.text => format!("{}: new build (sha256 {})\n", file.path, &file.sha256[..12]),
        FileChange::Missing => diff_text(&file.path, "", &new),
        FileChange::Content => {
            let old = mask(old.unwrap_or(""));
            if old == new {
                format!(
                    "{}: a secret in it changed (values are never shown)\n",
                    file.path
                )
            } else {
                diff_text(&file.path, &old, &new)
            }
        }
    }
}

fn diff_text(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(&format!("a{path}"), &format!("b{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FileState;

    fn managed(path: &str, content: &str, secret: bool) -> Managed {
        let mut m = Managed::from_rendered(&HostFile {
            path: "/x",
            template: "t",
            content: content.into(),
            mode: 0o644,
            owner: "root",
            group: "root",
            checker: None,
            secret,
            unit: "",
        });
        m.path = path.into();
        m
    }

    #[test]
    fn changes_are_told_apart() {
        let file = managed("/etc/a.conf", "a = 1\n", false);
        let mut facts = HostFacts::default();
        assert_eq!(file_change(&file, &facts), Some(FileChange::Missing));
        let state = FileState {
            mode: 0o644,
            owner: "root".into(),
            group: "root".into(),
            sha256: file.sha256.clone(),
        };
        facts.files.insert("/etc/a.conf".into(), state.clone());
        assert_eq!(file_change(&file, &facts), None);
        facts.files.insert(
            "/etc/a.conf".into(),
            FileState {
                mode: 0o600,
                ..state.clone()
            },
        );
        assert_eq!(file_change(&file, &facts), Some(FileChange::Metadata));
        facts.files.insert(
            "/etc/a.conf".into(),
            FileState {
                sha256: "0".into(),
                ..state
            },
        );
        assert_eq!(file_change(&file, &facts), Some(FileChange::Content));
    }

    #[test]
    fn diffs_show_text_but_never_secrets() {
        let file = managed("/etc/a.conf", "timeout 5s\n", false);
        let diff = describe_change(&file, &FileChange::Content, Some("timeout 3s\n"), &[]);
        assert!(
            diff.contains("-timeout 3s") && diff.contains("+timeout 5s"),
            "{diff}"
        );
        let secret = managed("/etc/s.env", "PASSWORD=hunter2\nPORT=2\n", true);
        let diff = describe_change(
            &secret,
            &FileChange::Content,
            Some("PASSWORD=hunter2\nPORT=1\n"),
            &["hunter2"],
        );
        assert!(
            diff.contains("+PORT=2") && !diff.contains("hunter2"),
            "{diff}"
        );
        let rotated = describe_change(
            &secret,
            &FileChange::Content,
            Some("PASSWORD=previous-pw\nPORT=2\n"),
            &["hunter2", "previous-pw"],
        );
        assert!(
            rotated.contains("a secret in it changed") && !rotated.contains("hunter2"),
            "{rotated}"
        );
    }

    #[test]
    fn units_read_are_those_of_the_roles() {
        let inv = crate::inventory::load(std::path::Path::new("inventory/example.yml")).unwrap();
        assert_eq!(
            units(&inv, "app1"),
            vec![
                "minicloud-firewall.service",
                "garb.service",
                "roster.service"
            ]
        );
        assert_eq!(
            units(&inv, "db1"),
            vec![
                "minicloud-firewall.service",
                "keepalived.service",
                "mariadb.service",
                "mariadb.socket"
            ]
        );
        // Whatever `status` shows of a host, `up` reads too.
        for path in [
            "inventory/example.yml",
            "examples/default.yml",
            "examples/mini-cloud.yml",
            "examples/oncall-roster.yml",
        ] {
            let inv = crate::inventory::load(std::path::Path::new(path)).unwrap();
            for host in inv.hosts.keys() {
                for service in crate::status::probe::services(&inv, host) {
                    assert!(
                        units(&inv, host).contains(&format!("{service}.service").as_str()),
                        "{path}: {host}: {service}"
                    );
                }
            }
        }
    }

    #[test]
    fn packages_follow_roles() {
        let inv = crate::inventory::load(std::path::Path::new("inventory/example.yml")).unwrap();
        assert_eq!(
            packages(&inv, "lb1"),
            vec!["haproxy", "keepalived", "nftables"]
        );
        assert_eq!(
            packages(&inv, "app1"),
            vec!["galera-arbitrator-4", "nftables"]
        );
        assert_eq!(
            packages(&inv, "db1"),
            vec![
                "galera-4",
                "keepalived",
                "mariadb-server",
                "nftables",
                "rsync"
            ]
        );
    }
}
