//! The operating systems minicloud supports, as data, and the check that refuses any other
//! before anything changes on a host.
//!
//! Package names, service names and paths are the same on the releases listed here (checked
//! on the lab for both: see the README); a release whose names differ gets its own row and the
//! code that reads it, rather than a guess that half works on a production host.

/// One supported release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// `ID` in /etc/os-release.
    pub id: &'static str,
    /// `VERSION_ID` in /etc/os-release.
    pub version: &'static str,
    /// Debian's name for it (the lab builds images by it).
    pub codename: &'static str,
    /// What the packages that matter are there, for the README and for messages.
    pub notes: &'static str,
}

/// Every release minicloud converges, oldest first.
pub const SUPPORTED: &[Release] = &[
    Release {
        id: "debian",
        version: "12",
        codename: "bookworm",
        notes: "MariaDB 10.11, HAProxy 2.6, keepalived 2.2, nginx 1.22",
    },
    Release {
        id: "debian",
        version: "13",
        codename: "trixie",
        notes: "MariaDB 11.8, HAProxy 3.0, keepalived 2.3, nginx 1.26",
    },
];

impl Release {
    /// The name `minicloud lab up --os` takes: `debian-12`.
    pub fn lab_name(&self) -> String {
        format!("{}-{}", self.id, self.version)
    }

    /// The supported release called `name` (`debian-13`), or what the names are.
    pub fn by_lab_name(name: &str) -> Result<&'static Release, String> {
        SUPPORTED
            .iter()
            .find(|r| r.lab_name() == name)
            .ok_or_else(|| {
                let names: Vec<String> = SUPPORTED.iter().map(Release::lab_name).collect();
                format!("unknown OS {name:?}: one of {}", names.join(", "))
            })
    }
}

/// Machine architectures the hosts may have: the roster binary is built for x86-64 (app hosts),
/// Debian's packages exist for the others too.
pub const ROSTER_ARCH: &str = "x86_64";

/// The release a host's `ID VERSION_ID` fact names, or why it is refused.
pub fn check(host: &str, os: &str) -> Result<&'static Release, String> {
    let mut words = os.split_whitespace();
    let (id, version) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    SUPPORTED
        .iter()
        .find(|r| r.id == id && r.version == version)
        .ok_or_else(|| {
            let shown = if os.trim().is_empty() {
                "an OS without /etc/os-release".to_string()
            } else {
                crate::inventory::text::shown(os.trim())
            };
            let names: Vec<String> = SUPPORTED
                .iter()
                .map(|r| format!("Debian {} ({})", r.version, r.codename))
                .collect();
            format!(
                "{host} runs {shown}, which minicloud does not support; nothing was changed on any \
                 host\n  hint: minicloud converges {}; install one of them on {host}, or remove it \
                 from the inventory",
                names.join(" and ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_12_and_13_pass_and_others_are_refused_by_name() {
        assert_eq!(check("db1", "debian 12").unwrap().codename, "bookworm");
        assert_eq!(check("db1", "debian 13").unwrap().codename, "trixie");
        for os in [
            "debian 11",
            "ubuntu 24.04",
            "rocky 9.4",
            "debian",
            "",
            "debian 12.5",
        ] {
            let err = check("db1", os).unwrap_err();
            assert!(err.starts_with("db1 runs "), "{err}");
            assert!(
                err.contains("Debian 12 (bookworm) and Debian 13 (trixie)"),
                "{err}"
            );
        }
        let err = check("db1", "evil\x1b]0;x\x07 1").unwrap_err();
        assert!(!err.chars().any(|c| c.is_control() && c != '\n'), "{err:?}");
    }
}
