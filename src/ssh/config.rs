//! The OpenSSH client config (`~/.ssh/config`), read with the `ssh2-config` crate: what it
//! says about one destination name (Host patterns, first value wins, `Include` followed).
//!
//! Only HostName, User, Port, IdentityFile and ProxyJump are used; any other keyword is
//! ignored (OpenSSH's own are many, and a user's file may hold any of them). A missing file is
//! an empty config. Files are read once per run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::inventory::text::{Jump, parse_jumps, shown};
use crate::inventory::{SshHost, UnixUser};
use ssh2_config::{ParseRule, SshConfig};

/// What the config says about one name; `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub host_name: Option<SshHost>,
    pub user: Option<UnixUser>,
    pub port: Option<u16>,
    /// The first IdentityFile (OpenSSH tries each; minicloud the first).
    pub identity_file: Option<PathBuf>,
    /// ProxyJump: `Some(vec![])` for `ProxyJump none`.
    pub proxy_jump: Option<Vec<Jump>>,
}

type Parsed = Result<Arc<SshConfig>, String>;

/// The parsed file at `path` (after `~` expansion), read once per run.
fn parsed(path: &Path) -> Parsed {
    static FILES: OnceLock<Mutex<HashMap<PathBuf, Parsed>>> = OnceLock::new();
    let path = super::expand_home(path);
    let mut files = FILES
        .get_or_init(Default::default)
        .lock()
        .expect("config cache lock");
    files
        .entry(path.clone())
        .or_insert_with(|| read(&path).map(Arc::new))
        .clone()
}

fn read(path: &Path) -> Result<SshConfig, String> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
    };
    let mut config = SshConfig::default();
    if let Some(home) = std::env::var_os("HOME") {
        config = config.home_dir(home);
    }
    config
        .parse(
            &mut text.as_slice(),
            ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
        )
        .map_err(|err| format!("cannot parse {}: {err}", path.display()))
}

/// What the config file at `path` says about `name` (as `ssh NAME` would look it up).
/// Values that break the inventory's rules are errors naming the file.
pub fn lookup(path: &Path, name: &str) -> Result<HostConfig, String> {
    let config = parsed(path)?;
    let params = config.query(name);
    let file = super::expand_home(path);
    let bad = |key: &str, value: &str, why: String| {
        format!(
            "{}: {key} {} for {}: {why}",
            file.display(),
            shown(value),
            shown(name)
        )
    };
    let host_name = match params.host_name {
        None => None,
        Some(value) => {
            // OpenSSH's tokens in HostName: %h is the name given, %% a percent sign.
            let expanded = value
                .replace("%%", "\u{0}")
                .replace("%h", name)
                .replace('\u{0}', "%");
            Some(
                SshHost::try_from(expanded.as_str())
                    .map_err(|e| bad("HostName", &value, first_line(&e)))?,
            )
        }
    };
    let user = match params.user {
        None => None,
        Some(value) => Some(
            UnixUser::try_from(value.as_str()).map_err(|e| bad("User", &value, first_line(&e)))?,
        ),
    };
    let proxy_jump = match params.proxy_jump {
        None => None,
        Some(hops) => {
            let joined = hops.join(",");
            Some(parse_jumps(&joined).map_err(|why| bad("ProxyJump", &joined, why))?)
        }
    };
    Ok(HostConfig {
        host_name,
        user,
        port: params.port,
        identity_file: params
            .identity_file
            .and_then(|files| files.into_iter().next()),
        proxy_jump,
    })
}

/// A checked type's error without its hint line.
fn first_line(message: &str) -> String {
    message
        .split_once(crate::inventory::text::HINT_MARK)
        .map_or(message, |(why, _)| why)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn host_patterns_first_value_wins() {
        let (_dir, path) = config(
            "Host lb1\n  HostName 10.0.1.11\n  User deploy\n\nHost lb*\n  Port 2222\n  User other\n  \
             IdentityFile /keys/lb\n  IdentityFile /keys/second\n\nHost *.example.com !db.example.com\n  \
             ProxyJump admin@bastion.example.com:2200,[2001:db8::1]\n\nHost *\n  User fallback\n  \
             ForwardAgent yes\n  SomeFutureKeyword x\n",
        );
        let lb1 = lookup(&path, "lb1").unwrap();
        assert_eq!(lb1.host_name.as_deref(), Some("10.0.1.11"));
        assert_eq!(lb1.user.as_deref(), Some("deploy"));
        assert_eq!(lb1.port, Some(2222));
        assert_eq!(lb1.identity_file, Some(PathBuf::from("/keys/lb")));
        assert_eq!(lb1.proxy_jump, None);
        let app = lookup(&path, "app1.example.com").unwrap();
        assert_eq!(app.user.as_deref(), Some("fallback"));
        assert_eq!(app.host_name, None);
        let hops = app.proxy_jump.unwrap();
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[0].to_string(), "admin@bastion.example.com:2200");
        assert_eq!(hops[1].host.as_str(), "2001:db8::1");
        assert_eq!(hops[1].port, None);
        // A negated pattern keeps the block away from that name.
        assert_eq!(lookup(&path, "db.example.com").unwrap().proxy_jump, None);
    }

    #[test]
    fn a_missing_file_is_no_config_and_none_disables_a_jump() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            lookup(&dir.path().join("absent"), "lb1").unwrap(),
            HostConfig::default()
        );
        let (_dir, path) = config("Host direct\n  ProxyJump none\nHost *\n  ProxyJump b\n");
        assert_eq!(lookup(&path, "direct").unwrap().proxy_jump, Some(vec![]));
        assert_eq!(lookup(&path, "other").unwrap().proxy_jump.unwrap().len(), 1);
    }

    #[test]
    fn hostname_tokens_and_hostile_values() {
        let (_dir, path) = config(
            "Host short\n  HostName %h.example.com\nHost evil\n  HostName -oProxyCommand=id\n\
             Host evil2\n  User root;id\n",
        );
        assert_eq!(
            lookup(&path, "short").unwrap().host_name.as_deref(),
            Some("short.example.com")
        );
        let err = lookup(&path, "evil").unwrap_err();
        assert!(
            err.contains("HostName \"-oProxyCommand=id\" for \"evil\"") && err.contains("config"),
            "{err}"
        );
        let err = lookup(&path, "evil2").unwrap_err();
        assert!(err.contains("User \"root;id\""), "{err}");
    }
}
