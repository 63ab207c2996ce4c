//! What each host should have (packages, files, units) and how that differs from its facts.
//! Pure: `plan` prints these differences, `up` closes them.

use crate::facts::HostFacts;
use crate::inventory::Inventory;
use crate::render::{Checker, Hide, HostFile};
use crate::secrets::MASK;
use indexmap::IndexMap;
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
    /// How `plan` shows it (see [`Hide`]).
    pub hide: Hide,
    /// Text that a diff can show.
    pub text: bool,
    /// The systemd unit it feeds ("" when none).
    pub unit: &'static str,
}

/// The lowercase hex SHA-256 of `bytes` (what `sha256sum` prints).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Managed {
    /// A rendered file as `up` manages it.
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
            hide: file.hide,
            text: true,
            unit: file.unit,
        }
    }

    /// The roster binary, shipped to app hosts.
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
            hide: Hide::Nothing,
            text: false,
            unit: "roster",
        }
    }
}

/// How a managed file differs from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// Not on the host.
    Missing,
    /// Other content.
    Content,
    /// Same content, other mode or owner.
    Metadata,
}

/// How `file` differs on the host, or None when it is as rendered.
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
    /// Packages not installed yet.
    pub packages: Vec<&'static str>,
    /// Managed files that are missing or differ, and how.
    pub files: Vec<(Managed, FileChange)>,
}

impl HostDiff {
    /// Nothing to install or write.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.files.is_empty()
    }
}

/// What differs on `host`: missing packages, and files missing or other than rendered.
pub fn host_diff(inv: &Inventory, host: &str, files: &[Managed], facts: &HostFacts) -> HostDiff {
    HostDiff {
        packages: super::packages(inv, host)
            .into_iter()
            .filter(|p| !facts.installed.contains(*p))
            .collect(),
        files: files
            .iter()
            .filter_map(|f| file_change(f, facts).map(|c| (f.clone(), c)))
            .collect(),
    }
}

/// What `plan` shows of a changed file. A file without a secret: a unified diff, with every
/// value in `known` masked on both sides. A file holding one: only what its [`Hide`] lets
/// through, never a value, old or new; `known` is masked in that too. Binaries are only
/// described.
pub fn describe_change(
    file: &Managed,
    change: &FileChange,
    old: Option<&str>,
    known: &[String],
) -> String {
    let mask = |text: &str| {
        known
            .iter()
            .filter(|s| !s.is_empty())
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), MASK))
    };
    let new = String::from_utf8_lossy(&file.content);
    let shown = match change {
        FileChange::Metadata => format!(
            "{}: mode/owner to {:o} {}:{}\n",
            file.path, file.mode, file.owner, file.group
        ),
        _ if !file.text => format!("{}: new build (sha256 {})\n", file.path, &file.sha256[..12]),
        _ if file.hide != Hide::Nothing => {
            let old = (*change == FileChange::Content).then(|| old.unwrap_or(""));
            secret_diff(&file.path, file.hide, old, &new)
        }
        FileChange::Missing => diff_text(&file.path, "", &mask(&new)),
        FileChange::Content => {
            let (old, new) = (mask(old.unwrap_or("")), mask(&new));
            if old == new {
                format!(
                    "{}: a secret in it changed (values are never shown)\n",
                    file.path
                )
            } else {
                diff_text(&file.path, &old, &new)
            }
        }
    };
    mask(&shown)
}

/// Whether a line of a [`Hide::Values`] file is a comment or blank (no key).
fn is_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t.starts_with(';') || t.starts_with("--")
}

/// The `key → value` lines of a [`Hide::Values`] file (values trimmed), and its other lines.
fn key_values(text: &str) -> (IndexMap<&str, Vec<&str>>, Vec<&str>) {
    let mut keyed: IndexMap<&str, Vec<&str>> = IndexMap::new();
    let mut other = Vec::new();
    for line in text.lines() {
        match line.split_once('=') {
            Some((key, value)) if !is_comment(line) => {
                keyed.entry(key.trim()).or_default().push(value.trim())
            }
            _ => other.push(line),
        }
    }
    (keyed, other)
}

/// The prefix of `prefixes` a [`Hide::Lines`] line starts with, after its indentation.
fn secret_prefix<'p>(line: &str, prefixes: &[&'p str]) -> Option<&'p str> {
    prefixes
        .iter()
        .find(|p| line.trim_start().starts_with(**p))
        .copied()
}

/// `plan`'s view of a change to a file holding a secret (`old` is None for a new file): which
/// keys or lines change, never a value. The comparison sees the values; the output does not.
fn secret_diff(path: &str, hide: Hide, old: Option<&str>, new: &str) -> String {
    let mut out = Vec::new();
    match hide {
        Hide::Nothing => unreachable!("a file without a secret gets a plain diff"),
        Hide::Whole => out.push(format!(
            "{path}: the whole file is a secret: {} (never shown)",
            if old.is_some() { "it changes" } else { "new" }
        )),
        Hide::Values => {
            out.push(format!(
                "{path}: holds secrets: only the keys that change are shown, never a value"
            ));
            let (old_keyed, old_other) = key_values(old.unwrap_or(""));
            let (new_keyed, new_other) = key_values(new);
            for (key, values) in &new_keyed {
                match old_keyed.get(key) {
                    None => out.push(format!("+ {key}")),
                    Some(before) if before != values => {
                        out.push(format!("~ {key} (value changed)"))
                    }
                    Some(_) => {}
                }
            }
            for key in old_keyed.keys().filter(|k| !new_keyed.contains_key(*k)) {
                out.push(format!("- {key}"));
            }
            if old.is_some() && old_other != new_other {
                out.push("~ lines without a key (comments, sections) changed".into());
            }
        }
        Hide::Lines(prefixes) => {
            // Each secret line reads as its start alone, on both sides; the rest is diffed.
            let view = |text: &str| -> String {
                text.lines()
                    .map(|line| match secret_prefix(line, prefixes) {
                        Some(prefix) => {
                            let indent = &line[..line.len() - line.trim_start().len()];
                            format!("{indent}{prefix} {MASK} (secret, never shown)\n")
                        }
                        None => format!("{line}\n"),
                    })
                    .collect()
            };
            let (old_view, new_view) = (view(old.unwrap_or("")), view(new));
            if old_view != new_view {
                out.push(diff_text(path, &old_view, &new_view).trim_end().to_string());
            } else {
                out.push(format!("{path}: holds secrets: values are never shown"));
            }
            if let Some(old) = old {
                for prefix in prefixes {
                    let lines = |text: &'_ str| -> Vec<String> {
                        text.lines()
                            .filter(|l| secret_prefix(l, &[prefix]).is_some())
                            .map(|l| l.trim().to_string())
                            .collect()
                    };
                    let (before, after) = (lines(old), lines(new));
                    if !before.is_empty() && !after.is_empty() && before != after {
                        out.push(format!("~ {prefix} (secret value changed)"));
                    }
                }
            }
        }
    }
    if out.len() == 1 && old.is_some() && !matches!(hide, Hide::Whole | Hide::Lines(_)) {
        out.push("~ (only spacing or order changed)".into());
    }
    out.iter().map(|l| format!("{l}\n")).collect()
}

/// The values in a host's copy (`old`) of a file holding a secret that are, or may be, secret:
/// for `plan` to mask wherever they might show, though the secrets file does not know them
/// (a value from before a rotation or an override). For [`Hide::Values`], those of keys whose
/// value in the new file holds one of `known` (or the mask), or that the new file drops; for
/// [`Hide::Lines`], what follows the start of each secret line; for [`Hide::Whole`], the
/// file. Each with its password part (after `user:`; in a URL, of its user info).
pub fn secret_values<'a>(hide: Hide, old: &'a str, new: &str, known: &[String]) -> Vec<&'a str> {
    let holds_secret = |value: &str| {
        value.contains(MASK)
            || known
                .iter()
                .any(|k| !k.is_empty() && value.contains(k.as_str()))
    };
    let values: Vec<&str> = match hide {
        Hide::Nothing => Vec::new(),
        Hide::Whole => vec![old],
        Hide::Values => {
            let (new_keyed, _) = key_values(new);
            let (old_keyed, _) = key_values(old);
            old_keyed
                .into_iter()
                .filter(|(key, _)| {
                    new_keyed
                        .get(key)
                        .is_none_or(|values| values.iter().any(|v| holds_secret(v)))
                })
                .flat_map(|(_, values)| values)
                .collect()
        }
        Hide::Lines(prefixes) => old
            .lines()
            .filter_map(|line| {
                let prefix = secret_prefix(line, prefixes)?;
                Some(line.trim_start()[prefix.len()..].trim())
            })
            .collect(),
    };
    values
        .into_iter()
        .flat_map(|value| {
            let password = match value.split_once("://") {
                Some((_, rest)) => rest
                    .rsplit_once('@')
                    .and_then(|(userinfo, _)| userinfo.split_once(':'))
                    .map(|(_, pw)| pw),
                None => value.split_once(':').map(|(_, pw)| pw),
            };
            std::iter::once(value).chain(password)
        })
        .filter(|v| !v.is_empty())
        .collect()
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
    use crate::inventory::SstMethod;
    use crate::roles::{packages, units};

    fn managed(path: &str, content: &str, hide: Hide) -> Managed {
        let mut m = Managed::from_rendered(&HostFile {
            path: "/x",
            template: "t",
            content: content.into(),
            mode: 0o644,
            owner: "root",
            group: "root",
            checker: None,
            secret: hide != Hide::Nothing,
            hide,
            unit: "",
        });
        m.path = path.into();
        m
    }

    #[test]
    fn changes_are_told_apart() {
        let file = managed("/etc/a.conf", "a = 1\n", Hide::Nothing);
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
    fn diffs_show_text_but_never_known_secrets() {
        let file = managed("/etc/a.conf", "timeout 5s\n", Hide::Nothing);
        let diff = describe_change(&file, &FileChange::Content, Some("timeout 3s\n"), &[]);
        assert!(
            diff.contains("-timeout 3s") && diff.contains("+timeout 5s"),
            "{diff}"
        );
        let file = managed("/etc/a.conf", "a hunter2-pw b\n", Hide::Nothing);
        let diff = describe_change(
            &file,
            &FileChange::Content,
            Some("a previous-pw b\n"),
            &["hunter2-pw".into(), "previous-pw".into()],
        );
        assert!(
            diff.contains("a secret in it changed") && !diff.contains("-pw"),
            "{diff}"
        );
    }

    /// The old and new values below are known to nobody: what hides them is the file's shape.
    const OLD_PW: &str = "OLD-pw-0123456789abcdef";
    const NEW_PW: &str = "NEW-pw-0123456789abcdef";

    fn assert_hidden(shown: &str) {
        for value in [OLD_PW, NEW_PW, "OLD-pw", "NEW-pw", "0123456789abcdef"] {
            assert!(!shown.contains(value), "{value} shows in:\n{shown}");
        }
    }

    #[test]
    fn an_env_file_shows_only_which_keys_change() {
        let env = |pw: &str, pool: u32, extra: &str| {
            format!(
                "# header\nROSTER_BACKEND=galera\nROSTER_DATABASE_URL=mysql://roster:{pw}@10.0.0.9:3306/roster\n\
                 ROSTER_POOL_SIZE={pool}\n{extra}"
            )
        };
        let file = managed(
            "/etc/roster/roster.env",
            &env(NEW_PW, 8, "ROSTER_NEW=1\n"),
            Hide::Values,
        );
        let old = env(OLD_PW, 5, "ROSTER_GONE=x\n");
        let shown = describe_change(&file, &FileChange::Content, Some(&old), &[]);
        assert_hidden(&shown);
        for line in [
            "~ ROSTER_DATABASE_URL (value changed)",
            "~ ROSTER_POOL_SIZE (value changed)",
            "+ ROSTER_NEW",
            "- ROSTER_GONE",
        ] {
            assert!(shown.contains(line), "{line}:\n{shown}");
        }
        assert!(!shown.contains("ROSTER_BACKEND"), "unchanged:\n{shown}");
        assert!(!shown.contains("=8") && !shown.contains("=5"), "{shown}");
        let new = describe_change(&file, &FileChange::Missing, None, &[]);
        assert_hidden(&new);
        assert!(new.contains("+ ROSTER_DATABASE_URL"), "{new}");
        // The host's old password is found for masking, and only secret-bearing keys' values.
        let known = vec![NEW_PW.to_string()];
        let values = secret_values(Hide::Values, &old, &env(NEW_PW, 8, ""), &known);
        assert!(values.contains(&OLD_PW), "{values:?}");
        assert!(
            !values.contains(&"galera") && !values.contains(&"5"),
            "{values:?}"
        );
    }

    #[test]
    fn an_ini_file_shows_only_which_keys_change() {
        let cnf = |pw: &str| format!("# header\n[galera]\nwsrep_sst_auth = sst:{pw}\n");
        let file = managed("/etc/mysql/sst.cnf", &cnf(NEW_PW), Hide::Values);
        let shown = describe_change(&file, &FileChange::Content, Some(&cnf(OLD_PW)), &[]);
        assert_hidden(&shown);
        assert!(
            shown.contains("~ wsrep_sst_auth (value changed)"),
            "{shown}"
        );
        let old = cnf(OLD_PW);
        let values = secret_values(Hide::Values, &old, &cnf(MASK), &[]);
        assert!(values.contains(&OLD_PW), "{values:?}");
    }

    #[test]
    fn a_config_with_a_secret_line_shows_the_rest_in_full() {
        let cfg = |timeout: u32, user: &str, pw: &str| {
            format!(
                "defaults\n    timeout client {timeout}s\nlisten stats\n    stats auth {user}:{pw}\n"
            )
        };
        let file = managed(
            "/etc/haproxy/haproxy.cfg",
            &cfg(45, "admin", NEW_PW),
            Hide::Lines(&["stats auth"]),
        );
        let shown = describe_change(
            &file,
            &FileChange::Content,
            Some(&cfg(30, "admin", OLD_PW)),
            &[],
        );
        assert_hidden(&shown);
        assert!(
            shown.contains("-    timeout client 30s") && shown.contains("+    timeout client 45s"),
            "{shown}"
        );
        assert!(
            shown.contains("~ stats auth (secret value changed)"),
            "{shown}"
        );
        // Another stats user: still no value, old or new.
        let shown = describe_change(
            &file,
            &FileChange::Content,
            Some(&cfg(45, "root", OLD_PW)),
            &[],
        );
        assert_hidden(&shown);
        assert!(
            shown.contains("~ stats auth (secret value changed)"),
            "{shown}"
        );
        let old = cfg(30, "admin", OLD_PW);
        let values = secret_values(Hide::Lines(&["stats auth"]), &old, "", &[]);
        assert_eq!(values, vec![format!("admin:{OLD_PW}").as_str(), OLD_PW]);
    }

    proptest::proptest! {
        /// Whatever the old and new passwords hold (quotes, `@`, `#`, `=`, spaces), an env file's
        /// and an option file's diffs show neither.
        #[test]
        fn no_value_shows_in_a_secret_files_diff(
            old in "PW[ -~]{8,40}",
            new in "PW[ -~]{8,40}",
        ) {
            let env = |pw: &str| format!("A=1\nROSTER_DATABASE_URL=mysql://roster:{pw}@10.0.0.9/roster\n");
            let cnf = |pw: &str| format!("[galera]\nwsrep_sst_auth = sst:{pw}\n");
            let cfg = |pw: &str| format!("listen stats\n    stats auth admin:{pw}\n");
            for (text, hide) in [
                (&env as &dyn Fn(&str) -> String, Hide::Values),
                (&cnf, Hide::Values),
                (&cfg, Hide::Lines(&["stats auth"])),
            ] {
                let file = managed("/etc/f", &text(&new), hide);
                for shown in [
                    describe_change(&file, &FileChange::Content, Some(&text(&old)), &[]),
                    describe_change(&file, &FileChange::Missing, None, &[]),
                ] {
                    proptest::prop_assert!(!shown.contains(&old) && !shown.contains(&new), "{}", shown);
                }
            }
        }
    }

    #[test]
    fn every_rendered_secret_is_hidden_by_its_files_shape_alone() {
        // Two sets of secrets nobody registered: the host's (old) and the new one.
        let old = crate::secrets::Secrets::canaries("OLDCANARY");
        let new = crate::secrets::Secrets::canaries("NEWCANARY");
        let key_lines: Vec<&str> = [&old, &new]
            .iter()
            .flat_map(|s| crate::secrets::own_key_lines(&s.file_sync_private_key))
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for path in [
            "inventory/example.yml",
            "examples/default.yml",
            "examples/mini-cloud.yml",
            "examples/oncall-roster.yml",
        ] {
            let mut inv = crate::inventory::load(std::path::Path::new(path)).unwrap();
            // Every secret file: the SST one too.
            inv.services.galera.sst_method = SstMethod::Mariabackup;
            let before = crate::render::render_all(&inv, &old).unwrap();
            let after = crate::render::render_all(&inv, &new).unwrap();
            for (host, files) in &after {
                for file in files {
                    let managed = Managed::from_rendered(file);
                    let holds = file.content.contains("NEWCANARY")
                        || key_lines.iter().any(|l| file.content.contains(l));
                    if !holds {
                        continue;
                    }
                    assert!(file.secret, "{host}: {} holds a secret", file.path);
                    seen.insert(file.template);
                    let old_text = &before[host]
                        .iter()
                        .find(|f| f.path == file.path)
                        .unwrap()
                        .content;
                    for shown in [
                        describe_change(&managed, &FileChange::Content, Some(old_text), &[]),
                        describe_change(&managed, &FileChange::Missing, None, &[]),
                    ] {
                        assert!(!shown.contains("CANARY"), "{path} {host}:\n{shown}");
                        for line in &key_lines {
                            assert!(!shown.contains(line), "{path} {host}:\n{shown}");
                        }
                    }
                }
            }
        }
        for template in [
            "roster.env",
            "galera-sst.cnf",
            "haproxy.cfg",
            "file-sync-key",
        ] {
            assert!(seen.contains(template), "{template} not covered: {seen:?}");
        }
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
                for service in crate::roles::services(&inv, host) {
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
