//! One rule per place an inventory string goes: what it may contain, and what to tell a user
//! whose value breaks it.
//!
//! Every string an inventory gives minicloud ends up somewhere with its own syntax: a shell
//! command run as root, a line of a daemon's config, an SQL statement, a file name. Quoting for
//! each of those is easy to get wrong and hard to test, so the first defence is an allowlist
//! that fits the destination: a value that passes its [`Rule`] cannot change the meaning of any
//! line it lands in. The typed fields ([`UnixUser`], [`InterfaceName`], [`StatsUser`],
//! [`AerospikeNamespace`]) are checked while the file is parsed, so no code can hold one that
//! was not checked; names that are map keys and the remaining fields are checked by
//! [`super::validate`] with the same rules.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a string goes, and so what it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Stack, host and Galera cluster names: file paths, unit names, config entries.
    PlainName,
    /// A login name on the hosts (`ssh.user`): Debian's `NAME_REGEX` for users.
    UnixUser,
    /// A Linux network interface (keepalived `interface`, nftables `iifname`).
    InterfaceName,
    /// The HAProxy stats page user (`stats auth USER:PASSWORD`).
    StatsUser,
    /// An Aerospike namespace (`namespace NAME {`, `asinfo -v namespace/NAME`).
    AerospikeNamespace,
    /// A MariaDB database name (backquoted in SQL, a URL path segment).
    SqlDatabase,
    /// A MariaDB user name (quoted in SQL, a URL's user part).
    SqlUser,
    /// A file on the control machine (SSH key, known_hosts, a package to upload): only read
    /// here, but printed in progress lines and errors.
    LocalPath,
    /// Where SSH connects (`ssh.host`): an IPv4 or IPv6 address, or a DNS name (or a Host
    /// alias of `~/.ssh/config`, which is a name too).
    SshHost,
    /// A jump host chain (`ssh.proxy_jump`), OpenSSH's `[user@]host[:port]`, comma-separated,
    /// outermost first; `none` for no jump host.
    ProxyJump,
    /// A program on the hosts that keepalived runs as root (a VIP's `notify`): written into
    /// keepalived.conf as one quoted word, so it must stay one word of plain characters.
    HostScript,
}

/// Why a value breaks its rule, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub why: String,
    pub hint: &'static str,
}

/// Marks the hint inside a parse error's message, so [`super::parse`] can show it as the hint.
pub const HINT_MARK: &str = "\n  hint: ";

impl Rule {
    /// What the value is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Rule::PlainName => "a plain name",
            Rule::UnixUser => "a unix user name",
            Rule::InterfaceName => "a network interface name",
            Rule::StatsUser => "a stats page user name",
            Rule::AerospikeNamespace => "an Aerospike namespace name",
            Rule::SqlDatabase => "a MariaDB database name",
            Rule::SqlUser => "a MariaDB user name",
            Rule::LocalPath => "a file path",
            Rule::SshHost => "an SSH host (address or DNS name)",
            Rule::ProxyJump => "a jump host chain",
            Rule::HostScript => "an absolute path of a script on the hosts",
        }
    }

    /// The hint that goes with a rejected value.
    pub fn hint(self) -> &'static str {
        match self {
            Rule::PlainName => {
                "use 1 to 63 letters, digits, '-' and '_': it names files, units and config entries"
            }
            Rule::UnixUser => {
                "use 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or '_' (e.g. root, deploy)"
            }
            Rule::InterfaceName => {
                "use the name `ip link` shows: 1 to 15 of letters, digits, '-', '_' and '.' (e.g. eth1, ens3, bond0.20)"
            }
            Rule::StatsUser => "use 1 to 32 letters, digits, '-', '_' and '.' (e.g. admin)",
            Rule::AerospikeNamespace => "use 1 to 31 letters, digits, '-' and '_' (e.g. roster)",
            Rule::SqlDatabase => "use 1 to 64 letters, digits and '_' (e.g. roster)",
            Rule::SqlUser => "use 1 to 32 letters, digits and '_' (e.g. roster)",
            Rule::LocalPath => {
                "write a path of printable characters, at most 4096 bytes (relative paths are taken from the inventory's folder)"
            }
            Rule::SshHost => {
                "write an IPv4 address (10.0.1.5), an IPv6 address (2001:db8::5, no brackets) or a DNS name (lb1.example.com: labels of letters, digits, '-' and '_', at most 253 bytes)"
            }
            Rule::ProxyJump => {
                "write [user@]host[:port] like OpenSSH's ProxyJump (bastion.example.com, admin@10.0.0.1:2222, [2001:db8::1]:22), several comma-separated (outermost first), or none"
            }
            Rule::HostScript => {
                "write an absolute path of letters, digits, '-', '_', '.' and '/', without . or .. parts, at most 255 bytes (e.g. /usr/local/sbin/move-vip); keepalived passes its own arguments, so give none"
            }
        }
    }

    /// The rule as a JSON Schema pattern (ECMA regex) and the longest value in bytes, for the
    /// inventory's schema. Only the typed fields' rules are needed there; the pattern leaves
    /// out the rare cases only [`Rule::check`] catches (an interface named "." or "..").
    pub fn pattern(self) -> (&'static str, usize) {
        match self {
            Rule::PlainName => ("^[A-Za-z0-9_][A-Za-z0-9_-]*$", 63),
            Rule::UnixUser => ("^[a-z_][a-z0-9_-]*$", 32),
            Rule::InterfaceName => ("^[A-Za-z0-9_.][A-Za-z0-9_.-]*$", 15),
            Rule::StatsUser => ("^[A-Za-z0-9_.][A-Za-z0-9_.-]*$", 32),
            Rule::AerospikeNamespace => ("^[A-Za-z0-9_][A-Za-z0-9_-]*$", 31),
            Rule::SqlDatabase => ("^[A-Za-z0-9_]+$", 64),
            Rule::SqlUser => ("^[A-Za-z0-9_]+$", 32),
            Rule::LocalPath => ("^[^\\u0000-\\u001f\\u007f]+$", 4096),
            // Looser than the rule for IPv6 (any hex digits and colons).
            Rule::SshHost => (
                "^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*|[0-9A-Fa-f:.]+)$",
                253,
            ),
            Rule::ProxyJump => ("^[A-Za-z0-9_.:@\\[\\],-]+$", 1024),
            // Each part is a name that is not "." or "..": no lookahead, so spelled out.
            Rule::HostScript => (
                "^(/([A-Za-z0-9_-][A-Za-z0-9_.-]*|\\.[A-Za-z0-9_-][A-Za-z0-9_.-]*|\\.\\.[A-Za-z0-9_.-]+))+$",
                HOST_SCRIPT_MAX,
            ),
        }
    }

    /// Check `value` against the rule.
    pub fn check(self, value: &str) -> Result<(), Rejection> {
        let rejection = |why: String| Rejection {
            why: format!("{} is not {}: {why}", shown(value), self.noun()),
            hint: self.hint(),
        };
        match self {
            Rule::SshHost => return check_ssh_host(value).map_err(rejection),
            Rule::ProxyJump => return parse_jumps(value).map(drop).map_err(rejection),
            Rule::HostScript => return check_host_script(value).map_err(rejection),
            _ => {}
        }
        let reject = |why: String| {
            Err(Rejection {
                why: format!("{} is not {}: {why}", shown(value), self.noun()),
                hint: self.hint(),
            })
        };
        let (max, allowed): (usize, fn(char) -> bool) = match self {
            Rule::PlainName => (63, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            Rule::UnixUser => (32, |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
            }),
            Rule::InterfaceName => (15, |c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            Rule::StatsUser => (32, |c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            Rule::AerospikeNamespace => (31, |c| c.is_ascii_alphanumeric() || "-_".contains(c)),
            Rule::SqlDatabase => (64, |c| c.is_ascii_alphanumeric() || c == '_'),
            Rule::SqlUser => (32, |c| c.is_ascii_alphanumeric() || c == '_'),
            Rule::LocalPath => (4096, |c| !c.is_control()),
            // Checked above.
            Rule::SshHost | Rule::ProxyJump | Rule::HostScript => return Ok(()),
        };
        if value.is_empty() {
            return reject("it is empty".into());
        }
        if value.len() > max {
            return reject(format!("{} bytes, at most {max}", value.len()));
        }
        if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
            return reject(format!("{} is not allowed here", shown_char(bad)));
        }
        // Leading '-' would read as an option to the commands these names are passed to.
        if self != Rule::LocalPath && value.starts_with('-') {
            return reject("it starts with '-'".into());
        }
        match self {
            Rule::UnixUser if value.starts_with(|c: char| c.is_ascii_digit()) => {
                reject("it starts with a digit".into())
            }
            Rule::InterfaceName if value == "." || value == ".." => {
                reject("the kernel refuses it".into())
            }
            _ => Ok(()),
        }
    }
}

/// An IPv4 or IPv6 address, or a DNS name: what [`Rule::SshHost`] allows.
fn check_ssh_host(value: &str) -> Result<(), String> {
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if value.is_empty() {
        return Err("it is empty".into());
    }
    if value.len() > 253 {
        return Err(format!("{} bytes, at most 253", value.len()));
    }
    if value.contains(':') {
        return Err("it is not a valid IPv6 address".into());
    }
    if value
        .split('.')
        .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("it is not a valid IPv4 address".into());
    }
    for label in value.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (two dots in a row, or a dot at an end)".into());
        }
        if label.len() > 63 {
            return Err(format!(
                "the label {} is longer than 63 bytes",
                shown(label)
            ));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("{} is not allowed here", shown_char(bad)));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "the label {} starts or ends with '-'",
                shown(label)
            ));
        }
    }
    Ok(())
}

/// The longest script path [`Rule::HostScript`] allows: far above any real one, and a bound
/// on what lands in a line of keepalived.conf.
pub const HOST_SCRIPT_MAX: usize = 255;

/// An absolute path of plain parts: what [`Rule::HostScript`] allows. keepalived splits its
/// script strings at white space and would read quotes, `#` and `!` as syntax, and the path
/// also goes into the shell command that checks it before `up`: plain characters keep it one
/// word everywhere. `.` and `..` parts are refused so the path says where the file is.
fn check_host_script(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    if value.len() > HOST_SCRIPT_MAX {
        return Err(format!("{} bytes, at most {HOST_SCRIPT_MAX}", value.len()));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-_.".contains(*c)))
    {
        return Err(format!("{} is not allowed here", shown_char(bad)));
    }
    let Some(rest) = value.strip_prefix('/') else {
        return Err("it is not an absolute path (it must start with '/')".into());
    };
    for part in rest.split('/') {
        match part {
            "" => return Err("it has an empty part ('//', or a '/' at the end)".into()),
            "." | ".." => return Err(format!("it has a {} part", shown(part))),
            _ => {}
        }
    }
    Ok(())
}

/// One hop of a jump host chain: `[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    pub user: Option<UnixUser>,
    pub host: SshHost,
    pub port: Option<u16>,
}

impl fmt::Display for Jump {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        match (self.host.contains(':'), self.port) {
            (true, Some(port)) => write!(f, "[{}]:{port}", self.host),
            (false, Some(port)) => write!(f, "{}:{port}", self.host),
            (_, None) => write!(f, "{}", self.host),
        }
    }
}

/// Parse a jump host chain (OpenSSH's ProxyJump syntax): hops outermost first; `none` is no
/// hop at all.
pub fn parse_jumps(value: &str) -> Result<Vec<Jump>, String> {
    if value == "none" {
        return Ok(Vec::new());
    }
    if value.len() > 1024 {
        return Err(format!("{} bytes, at most 1024", value.len()));
    }
    value
        .split(',')
        .enumerate()
        .map(|(index, hop)| {
            parse_jump(hop).map_err(|why| format!("hop {} {}: {why}", index + 1, shown(hop)))
        })
        .collect()
}

fn parse_jump(hop: &str) -> Result<Jump, String> {
    if hop.is_empty() {
        return Err("it is empty".into());
    }
    let (user, rest) = match hop.rsplit_once('@') {
        Some((user, rest)) => (
            Some(UnixUser::try_from(user).map_err(|e| {
                e.split_once(HINT_MARK)
                    .map_or(e.clone(), |(why, _)| why.to_string())
            })?),
            rest,
        ),
        None => (None, hop),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| "a '[' without its ']'".to_string())?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("{} after ']'", shown(after))),
            },
        }
    } else if rest.matches(':').count() > 1 {
        // A bare IPv6 address: no port can follow it.
        (rest, None)
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    check_ssh_host(host).map_err(|why| format!("host {}: {why}", shown(host)))?;
    let port = match port {
        None => None,
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 => Some(port),
            _ => return Err(format!("port {} is not 1 to 65535", shown(text))),
        },
    };
    Ok(Jump {
        user,
        host: SshHost(host.to_string()),
        port,
    })
}

/// A value as it may be shown on a terminal: quoted, control characters escaped (an inventory
/// must not be able to move the cursor or retitle the window of the person reading an error),
/// and cut at 80 characters.
pub fn shown(value: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::from("\"");
    for (index, c) in value.chars().enumerate() {
        if index == MAX {
            out.push_str("\"…");
            return out;
        }
        out.push_str(&escaped(c));
    }
    out.push('"');
    out
}

/// One character as shown in a message, quoted.
fn shown_char(c: char) -> String {
    format!("'{}'", escaped(c))
}

/// A character itself when printable, else its escape.
fn escaped(c: char) -> String {
    if c.is_control() || c == '"' || c == '\\' || is_invisible(c) {
        c.escape_default().collect()
    } else {
        c.to_string()
    }
}

/// Characters that print as nothing or reorder text around them (bidi overrides, zero widths).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Escape every control and invisible character of a message meant for a terminal.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if (c.is_control() && c != '\n') || is_invisible(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Where the typed fields sit in an inventory (`*`: any key), with their rules. The types check
/// themselves while the file is read, but serde's error then names only the enclosing map and
/// stops at the first bad value; checking the YAML tree first names each field's own key path
/// and reports them all. A field missing here is still refused by its type.
const TYPED_FIELDS: &[(&[&str], Rule)] = &[
    (&["ssh", "user"], Rule::UnixUser),
    (&["hosts", "*", "ssh", "user"], Rule::UnixUser),
    (&["hosts", "*", "ssh", "host"], Rule::SshHost),
    (&["ssh", "proxy_jump"], Rule::ProxyJump),
    (&["hosts", "*", "ssh", "proxy_jump"], Rule::ProxyJump),
    (&["hosts", "*", "interfaces", "*"], Rule::InterfaceName),
    (&["services", "haproxy", "stats", "user"], Rule::StatsUser),
    (&["services", "frontend_vip", "notify"], Rule::HostScript),
    (&["services", "db_vip", "notify"], Rule::HostScript),
    (
        &["services", "aerospike", "namespace"],
        Rule::AerospikeNamespace,
    ),
];

/// Every typed field of `tree` that breaks its rule: (key path, rejection).
pub fn check_tree(tree: &serde_norway::Value) -> Vec<(String, Rejection)> {
    fn walk(
        node: &serde_norway::Value,
        pattern: &[&str],
        path: String,
        rule: Rule,
        out: &mut Vec<(String, Rejection)>,
    ) {
        let Some((first, rest)) = pattern.split_first() else {
            if let Some(value) = node.as_str()
                && let Err(rejection) = rule.check(value)
            {
                out.push((path, rejection));
            }
            return;
        };
        let Some(map) = node.as_mapping() else {
            return;
        };
        for (key, child) in map {
            let Some(key) = key.as_str() else { continue };
            if *first == "*" || *first == key {
                let path = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                walk(child, rest, path, rule, out);
            }
        }
    }
    let mut out = Vec::new();
    for (pattern, rule) in TYPED_FIELDS {
        walk(tree, pattern, String::new(), *rule, &mut out);
    }
    out
}

/// A string field whose value was checked against `RULE` when it was read.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $rule:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The rule its values obey.
            pub const RULE: Rule = $rule;

            /// The value, checked.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let (pattern, max) = Self::RULE.pattern();
                schemars::json_schema!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": max,
                    "pattern": pattern,
                    "description": Self::RULE.hint(),
                })
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(value: String) -> Result<Self, String> {
                match Self::RULE.check(&value) {
                    Ok(()) => Ok($name(value)),
                    Err(rejection) => Err(format!("{}{HINT_MARK}{}", rejection.why, rejection.hint)),
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = String;

            fn try_from(value: &str) -> Result<Self, String> {
                $name::try_from(value.to_string())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// A login name on the hosts: it is passed to SSH and to `sudo`/`chown` on the hosts.
    UnixUser,
    Rule::UnixUser
);
checked_string!(
    /// A network interface name: it lands in keepalived.conf and the nftables rules.
    InterfaceName,
    Rule::InterfaceName
);
checked_string!(
    /// The HAProxy stats page user: it lands in `stats auth USER:PASSWORD`.
    StatsUser,
    Rule::StatsUser
);
checked_string!(
    /// An Aerospike namespace: it lands in aerospike.conf, roster.env and an `asinfo` command.
    AerospikeNamespace,
    Rule::AerospikeNamespace
);
checked_string!(
    /// Where SSH connects: an IPv4 or IPv6 address or a DNS name (never an option to a
    /// command, never a shell word).
    SshHost,
    Rule::SshHost
);
checked_string!(
    /// A script on the hosts keepalived runs as root on a VIP's state changes (`notify`): an
    /// absolute path of plain parts, one word in keepalived.conf and in a shell command.
    HostScript,
    Rule::HostScript
);
checked_string!(
    /// A jump host chain, `[user@]host[:port]`, comma-separated; see [`ProxyJump::hops`].
    ProxyJump,
    Rule::ProxyJump
);

impl ProxyJump {
    /// The hops, outermost first (none for `none`).
    pub fn hops(&self) -> Vec<Jump> {
        parse_jumps(&self.0).expect("checked when read")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The schema's pattern and length say what the rule says (bar "." and "..").
        #[test]
        fn schema_patterns_agree_with_the_rules(value in "[a-zA-Z0-9_.;: -]{0,40}|(/[a-z.;$ -]{0,4}){0,5}") {
            for rule in [Rule::UnixUser, Rule::InterfaceName, Rule::StatsUser, Rule::AerospikeNamespace, Rule::HostScript] {
                if rule == Rule::InterfaceName && (value == "." || value == "..") {
                    continue;
                }
                let (pattern, max) = rule.pattern();
                let by_schema = !value.is_empty()
                    && value.len() <= max
                    && regex::Regex::new(pattern).unwrap().is_match(&value);
                proptest::prop_assert_eq!(by_schema, rule.check(&value).is_ok(), "{:?} {:?}", rule, value);
            }
        }
    }

    #[test]
    fn the_injections_found_are_refused() {
        for (rule, value) in [
            (Rule::AerospikeNamespace, "roster;touch${IFS}/tmp/x;#"),
            (Rule::AerospikeNamespace, "roster\nnamespace evil {"),
            (Rule::StatsUser, "admin\n    stats admin if TRUE"),
            (Rule::StatsUser, "admin:pw"),
            (Rule::InterfaceName, "eth0\"$(id)"),
            (Rule::InterfaceName, "eth\0"),
            (Rule::InterfaceName, "eth\x1b[2J"),
            (Rule::InterfaceName, "."),
            (Rule::InterfaceName, "a-very-long-name"),
            (Rule::UnixUser, "root; id"),
            (Rule::UnixUser, "Root"),
            (Rule::UnixUser, "-oProxyCommand=id"),
            (Rule::SqlDatabase, &"d".repeat(65)),
            (Rule::SqlUser, "roster'@'%"),
            (Rule::PlainName, "a/b"),
            (Rule::LocalPath, "key\nfile"),
            (Rule::LocalPath, ""),
            (Rule::HostScript, "/usr/local/sbin/move-vip --force"),
            (Rule::HostScript, "/usr/local/sbin/move\"vip"),
            (Rule::HostScript, "/usr/local/sbin/move-vip;id"),
            (Rule::HostScript, "/usr/local/sbin/$(id)"),
            (Rule::HostScript, "/etc/keepalived/../../tmp/x"),
            (Rule::HostScript, "/usr/./sbin/x"),
            (Rule::HostScript, "usr/local/sbin/move-vip"),
            (Rule::HostScript, "/usr/local/sbin/"),
            (Rule::HostScript, "/usr//sbin/x"),
            (Rule::HostScript, "/"),
            (Rule::HostScript, "/x#comment"),
            (Rule::HostScript, "/x!y"),
            (Rule::HostScript, &format!("/{}", "x".repeat(255))),
        ] {
            assert!(rule.check(value).is_err(), "{rule:?} accepted {value:?}");
        }
    }

    #[test]
    fn ordinary_values_pass() {
        for (rule, value) in [
            (Rule::AerospikeNamespace, "roster"),
            (Rule::StatsUser, "admin"),
            (Rule::InterfaceName, "eth1"),
            (Rule::InterfaceName, "bond0.20"),
            (Rule::InterfaceName, "enp0s31f6"),
            (Rule::UnixUser, "root"),
            (Rule::UnixUser, "_deploy-1"),
            (Rule::SqlDatabase, "roster_2"),
            (Rule::PlainName, "lab-1_a"),
            (Rule::LocalPath, "~/.ssh/id_ed25519"),
            (Rule::HostScript, "/usr/local/sbin/move-vip"),
            (Rule::HostScript, "/etc/keepalived/notify.d/aws_eip-1.2.sh"),
            (Rule::HostScript, "/opt/.hidden/..x/..."),
            (Rule::HostScript, &format!("/{}", "x".repeat(254))),
        ] {
            assert_eq!(rule.check(value), Ok(()), "{rule:?} refused {value:?}");
        }
    }

    #[test]
    fn shown_values_carry_no_control_bytes_and_stay_short() {
        let shown = shown(&format!("\x1b]0;pwned\x07{}", "x".repeat(200)));
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(shown.starts_with("\"\\u{1b}]0;pwned\\u{7}"), "{shown}");
        assert!(shown.chars().count() < 100, "{shown}");
        assert_eq!(terminal_safe("a\u{202e}b\x1b\nc"), "a\\u{202e}b\\u{1b}\nc");
    }

    #[test]
    fn ssh_hosts_and_jump_chains() {
        for good in [
            "10.0.1.5",
            "2001:db8::5",
            "lb1",
            "lb1.example.com",
            "db_1.internal",
        ] {
            assert_eq!(Rule::SshHost.check(good), Ok(()), "{good}");
        }
        for bad in [
            "10.0.1.311",
            "-oProxyCommand=id",
            "lb1;id",
            "a..b",
            "lb1.",
            "[2001:db8::5]",
            "2001:db8::zz",
            "",
            "a b",
        ] {
            assert!(Rule::SshHost.check(bad).is_err(), "accepted {bad:?}");
        }
        let hops = parse_jumps("admin@bastion.example.com:2222,[2001:db8::1]:22,10.0.0.1,fe80::1")
            .unwrap();
        let shown: Vec<String> = hops.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "admin@bastion.example.com:2222",
                "[2001:db8::1]:22",
                "10.0.0.1",
                "fe80::1"
            ]
        );
        assert_eq!(parse_jumps("none").unwrap(), vec![]);
        for (bad, why) in [
            ("bastion:0", "port \"0\" is not 1 to 65535"),
            ("bastion:99999", "is not 1 to 65535"),
            ("a,,b", "hop 2 \"\": it is empty"),
            ("Root@bastion", "is not a unix user name"),
            ("[2001:db8::1", "without its ']'"),
            ("-J@x", "is not a unix user name"),
            ("b;id", "';' is not allowed"),
        ] {
            let err = parse_jumps(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(
            ProxyJump::try_from("bastion:x")
                .unwrap_err()
                .contains(HINT_MARK)
        );
    }

    #[test]
    fn a_checked_field_refuses_at_parse_time_with_its_hint() {
        let err = UnixUser::try_from("root; id").unwrap_err();
        assert!(err.contains("is not a unix user name"), "{err}");
        assert!(err.contains(HINT_MARK), "{err}");
        assert_eq!(UnixUser::try_from("deploy").unwrap().as_str(), "deploy");
    }
}
