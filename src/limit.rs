//! `--limit HOSTS|ROLES` of `up`, `plan` and `status`: which hosts a run may change (or a status
//! judges), as Ansible's `--limit db1,app`.
//!
//! Two steps, both before any host is contacted: [`parse`] checks the words' syntax, so no
//! hostile string gets further than an error message (which shows it escaped); [`Limit::resolve`]
//! matches them against the inventory and names every word that is neither a host nor a role,
//! with the valid ones as the hint (exit 2, nothing touched).
//!
//! The words: a host name (`db1`), a role name (`app`: every host with that role), or either
//! spelled out (`host:db1`, `role:app`). A word that is both a host's and a role's name is
//! refused as ambiguous rather than guessed at: taking both would change more hosts than
//! perhaps meant, taking one would surprise whoever meant the other; `host:`/`role:` say
//! which. Items are separated by commas, spaces around them are ignored, a repeated item (or
//! a host also named by its role) counts once, and an empty item (`db1,,app`, a trailing
//! comma: most often an unset shell variable) is refused, as it could silently drop a host.
//!
//! What a limited run does with the hosts outside it is [`Scope`]'s and `roles::limited`'s.

use crate::inventory::text::shown;
use crate::inventory::{Inventory, Role};
use serde::Serialize;
use std::fmt;

/// The longest `--limit` accepted, in bytes (an inventory has at most a few hundred hosts).
pub const MAX_LEN: usize = 16 * 1024;

/// One item of `--limit`, its syntax checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// A bare name: a host's or a role's.
    Name(String),
    /// `host:NAME`.
    Host(String),
    /// `role:NAME`, a role that exists.
    Role(Role),
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Word::Name(name) => f.write_str(name),
            Word::Host(name) => write!(f, "host:{name}"),
            Word::Role(role) => write!(f, "role:{role}"),
        }
    }
}

/// `--limit` as given, its syntax checked (not yet matched against an inventory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitArg {
    /// The items, in the order given, each once.
    pub words: Vec<Word>,
}

/// The names the inventory's roles go by, for hints.
fn role_names() -> String {
    Role::ALL.map(Role::name).join(", ")
}

/// A name as a host name must be (the inventory's rule for host names), else why not.
fn check_name(item: &str, name: &str) -> Result<String, String> {
    crate::inventory::text::Rule::PlainName
        .check(name)
        .map(|()| name.to_string())
        .map_err(|rejection| {
            format!(
                "--limit item {} is not a host or role name: {}; hint: {}",
                shown(item),
                rejection.why,
                rejection.hint
            )
        })
}

/// Parse `--limit`'s value: comma-separated host and role names.
pub fn parse(text: &str) -> Result<LimitArg, String> {
    if text.len() > MAX_LEN {
        return Err(format!(
            "--limit is {} bytes long, more than {MAX_LEN}; hint: name roles (e.g. --limit db) \
             rather than many hosts",
            text.len()
        ));
    }
    if text.trim().is_empty() {
        return Err(format!(
            "--limit is empty; hint: name hosts or roles, comma-separated (e.g. --limit db1,app; \
             roles: {}), or leave --limit out to act on every host",
            role_names()
        ));
    }
    let mut words: Vec<Word> = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!(
                "--limit {} has an empty item (two commas in a row, or one at an end); hint: \
                 write each host or role once, comma-separated, e.g. --limit db1,app",
                shown(text)
            ));
        }
        let word = match item.split_once(':') {
            None => Word::Name(check_name(item, item)?),
            Some(("host", name)) => Word::Host(check_name(item, name)?),
            Some(("role", name)) => Word::Role(Role::from_name(name).ok_or_else(|| {
                format!(
                    "--limit item {} names no role; hint: roles are {}",
                    shown(item),
                    role_names()
                )
            })?),
            Some(_) => {
                return Err(format!(
                    "--limit item {} is not a host or role name; hint: write a host (db1), a \
                     role ({}), or host:NAME / role:NAME",
                    shown(item),
                    role_names()
                ));
            }
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    Ok(LimitArg { words })
}

/// `--limit` that does not fit the inventory: which words, and what would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    /// What is wrong, every bad word named.
    pub message: String,
    /// What to write instead.
    pub hint: String,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; nothing was touched\nhint: {}",
            self.message, self.hint
        )
    }
}

impl std::error::Error for LimitError {}

/// A `--limit` matched against the inventory: the hosts a run may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limit {
    /// The items as given (`db1`, `app`, `role:db`), for reports.
    pub words: Vec<String>,
    /// The hosts they name, in inventory order, each once.
    pub hosts: Vec<String>,
}

impl Limit {
    /// Match `arg` against `inv`; every word that names nothing (or two things) is reported
    /// at once, with the inventory's hosts and roles as the hint.
    pub fn resolve(inv: &Inventory, arg: &LimitArg) -> Result<Limit, LimitError> {
        let mut chosen: Vec<&str> = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        let mut ambiguous: Vec<String> = Vec::new();
        for word in &arg.words {
            let role_hosts = |role: Role| inv.hosts_with(role);
            match word {
                Word::Host(name) if inv.hosts.contains_key(name) => chosen.push(name),
                Word::Host(name) => unknown.push(format!("host:{name}")),
                Word::Role(role) => chosen.extend(role_hosts(*role)),
                Word::Name(name) => {
                    let host = inv.hosts.contains_key(name);
                    let role = Role::from_name(name).filter(|r| !role_hosts(*r).is_empty());
                    match (host, role) {
                        (true, Some(_)) => ambiguous.push(name.clone()),
                        (true, None) => chosen.push(name),
                        (false, Some(role)) => chosen.extend(role_hosts(role)),
                        (false, None) => unknown.push(name.clone()),
                    }
                }
            }
        }
        if !ambiguous.is_empty() {
            let first = &ambiguous[0];
            return Err(LimitError {
                message: format!(
                    "--limit {} names both a host and a role",
                    ambiguous.join(", ")
                ),
                hint: format!("write host:{first} for the host or role:{first} for the role"),
            });
        }
        if !unknown.is_empty() {
            return Err(LimitError {
                message: format!(
                    "--limit names no host or role of this inventory: {}",
                    unknown.join(", ")
                ),
                hint: Limit::valid_words(inv),
            });
        }
        let hosts: Vec<String> = inv
            .hosts
            .keys()
            .filter(|h| chosen.contains(&h.as_str()))
            .cloned()
            .collect();
        if hosts.is_empty() {
            // Only reachable through a role no host has, spelled role:NAME.
            return Err(LimitError {
                message: format!(
                    "--limit {} names no host of this inventory",
                    arg.words
                        .iter()
                        .map(Word::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                hint: Limit::valid_words(inv),
            });
        }
        Ok(Limit {
            words: arg.words.iter().map(Word::to_string).collect(),
            hosts,
        })
    }

    /// The hosts and the roles (those some host has) `--limit` may name.
    fn valid_words(inv: &Inventory) -> String {
        let hosts: Vec<&str> = inv.hosts.keys().map(String::as_str).collect();
        let roles: Vec<&str> = Role::ALL
            .into_iter()
            .filter(|r| !inv.hosts_with(*r).is_empty())
            .map(Role::name)
            .collect();
        format!(
            "hosts are {}; roles are {} (comma-separated, e.g. --limit {},{})",
            hosts.join(", "),
            roles.join(", "),
            hosts.first().copied().unwrap_or("db1"),
            roles.first().copied().unwrap_or("app")
        )
    }

    /// Whether `host` is inside the limit.
    pub fn contains(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host)
    }

    /// The words as the user wrote them, comma-separated.
    pub fn text(&self) -> String {
        self.words.join(",")
    }
}

/// Which hosts a run may change and which it could not read: what the planners' steps are
/// filtered by (`roles::limited`). Without a limit every host is in scope and must answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scope {
    /// The limit, if one was given.
    pub limit: Option<Limit>,
    /// Hosts outside the limit that could not be connected to or read (each with why): their
    /// facts are unknown, so no decision may rest on them.
    pub unreachable: Vec<(String, String)>,
}

impl Scope {
    /// Every host, all of them reachable (no `--limit`).
    pub fn everything() -> Scope {
        Scope::default()
    }

    /// A scope limited to `limit`.
    pub fn limited(limit: Option<Limit>) -> Scope {
        Scope {
            limit,
            unreachable: Vec::new(),
        }
    }

    /// Whether the run may change `host`.
    pub fn includes(&self, host: &str) -> bool {
        self.limit.as_ref().is_none_or(|l| l.contains(host))
    }

    /// Whether `host` could not be read.
    pub fn is_unreachable(&self, host: &str) -> bool {
        self.unreachable.iter().any(|(h, _)| h == host)
    }

    /// One warning per unreachable host outside the limit.
    pub fn warnings(&self) -> Vec<String> {
        self.unreachable
            .iter()
            .map(|(host, why)| {
                format!("{host} is outside --limit and unreachable ({why}): not read, not changed")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inv() -> Inventory {
        crate::inventory::parse(include_str!("../inventory/example.yml")).unwrap()
    }

    fn resolve(text: &str) -> Result<Vec<String>, String> {
        let arg = parse(text)?;
        Limit::resolve(&inv(), &arg)
            .map(|l| l.hosts)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn hosts_and_roles_mix_and_come_out_in_inventory_order_once() {
        assert_eq!(resolve("db1").unwrap(), ["db1"]);
        assert_eq!(resolve("app, db1").unwrap(), ["app1", "app2", "db1"]);
        assert_eq!(resolve("db1,db,db1").unwrap(), ["db1", "db2"]);
        assert_eq!(
            resolve("role:lb,host:app2").unwrap(),
            ["lb1", "lb2", "app2"]
        );
    }

    #[test]
    fn unknown_words_are_all_named_with_the_valid_ones_as_hint() {
        let err = resolve("db1,dbx,web").unwrap_err();
        assert!(err.contains("dbx, web"), "{err}");
        assert!(
            err.contains("hosts are lb1, lb2, app1, app2, db1, db2"),
            "{err}"
        );
        assert!(err.contains("roles are lb, app, db"), "{err}");
        assert!(err.contains("nothing was touched"), "{err}");
        assert!(resolve("host:db").unwrap_err().contains("host:db"));
    }

    #[test]
    fn a_role_no_host_has_names_nothing() {
        // As a bare word it is no name of this inventory; spelled out, it selects no host.
        assert!(resolve("aerospike").unwrap_err().contains("aerospike"));
        assert!(
            resolve("role:aerospike")
                .unwrap_err()
                .contains("names no host")
        );
    }

    #[test]
    fn a_name_of_a_host_and_a_role_is_refused_as_ambiguous() {
        let text = include_str!("../inventory/example.yml").replace("  db1:", "  db:");
        let inv = crate::inventory::parse(&text).unwrap();
        let err = Limit::resolve(&inv, &parse("db").unwrap()).unwrap_err();
        assert!(err.message.contains("both a host and a role"), "{err}");
        assert!(err.hint.contains("host:db") && err.hint.contains("role:db"));
        let host = Limit::resolve(&inv, &parse("host:db").unwrap()).unwrap();
        assert_eq!(host.hosts, ["db"]);
        let role = Limit::resolve(&inv, &parse("role:db").unwrap()).unwrap();
        assert_eq!(role.hosts, ["db", "db2"]);
    }

    #[test]
    fn empty_limits_and_empty_items_are_refused() {
        for text in ["", " ", ",", "db1,", ",db1", "db1,,app"] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("empty"), "{text:?}: {err}");
        }
        assert!(parse("role:web").unwrap_err().contains("names no role"));
        assert!(
            parse("group:db")
                .unwrap_err()
                .contains("not a host or role")
        );
    }

    #[test]
    fn scope_without_limit_includes_every_host() {
        let scope = Scope::everything();
        assert!(scope.includes("anything"));
        let scope = Scope::limited(Some(Limit::resolve(&inv(), &parse("db").unwrap()).unwrap()));
        assert!(scope.includes("db2") && !scope.includes("lb1"));
    }

    proptest! {
        /// Whatever is typed: an error that shows no raw control character, or words that
        /// each pass the host-name rule.
        #[test]
        fn hostile_strings_are_refused_safely_or_checked(text in "\\PC{0,40}|[\\x00-\\x1f\\x7f\u{202e},: a-z]{0,20}") {
            match parse(&text) {
                Ok(arg) => {
                    for word in &arg.words {
                        let name = match word {
                            Word::Name(n) | Word::Host(n) => n.clone(),
                            Word::Role(r) => r.name().to_string(),
                        };
                        prop_assert!(crate::inventory::text::Rule::PlainName.check(&name).is_ok());
                    }
                    if let Err(err) = Limit::resolve(&inv(), &arg) {
                        prop_assert!(!err.to_string().chars().any(|c| c.is_control() && c != '\n'));
                    }
                }
                Err(err) => {
                    prop_assert!(!err.chars().any(|c| c.is_control() || c == '\u{202e}'), "{err:?}");
                }
            }
        }
    }
}
