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
        }
    }

    /// Check `value` against the rule.
    pub fn check(self, value: &str) -> Result<(), Rejection> {
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
    (&["hosts", "*", "interfaces", "*"], Rule::InterfaceName),
    (&["services", "haproxy", "stats", "user"], Rule::StatsUser),
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

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The schema's pattern and length say what the rule says (bar "." and "..").
        #[test]
        fn schema_patterns_agree_with_the_rules(value in "[a-zA-Z0-9_.;: -]{0,40}") {
            for rule in [Rule::UnixUser, Rule::InterfaceName, Rule::StatsUser, Rule::AerospikeNamespace] {
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
    fn a_checked_field_refuses_at_parse_time_with_its_hint() {
        let err = UnixUser::try_from("root; id").unwrap_err();
        assert!(err.contains("is not a unix user name"), "{err}");
        assert!(err.contains(HINT_MARK), "{err}");
        assert_eq!(UnixUser::try_from("deploy").unwrap().as_str(), "deploy");
    }
}
