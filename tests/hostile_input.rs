//! Hostile strings in every string field of an inventory: each is refused with its key path, or
//! it is harmless everywhere it lands.
//!
//! For each field, proptest generates strings an attacker or a careless user would write (shell
//! metacharacters, quotes, newlines, control and escape bytes, bidi and zero-width characters,
//! very long values) and puts one into an otherwise valid inventory. Then either `parse` or
//! `validate` refuses it, naming the field, or every file rendered for every host keeps the shape
//! it has with a harmless value: the same number of lines, no control byte, and the value only
//! on the lines where the harmless value stood (so it cannot add a directive, a section or a
//! line of SQL).

use minicloud::inventory::{self, text::shown};
use minicloud::render;
use minicloud::secrets::Secrets;
use proptest::prelude::*;
use serde_norway::Value;

/// Inventories that between them use every string field: the default stack with the stats
/// page and file sync, and the Aerospike web pair.
fn bases() -> Vec<(&'static str, Value)> {
    let galera = std::fs::read_to_string("inventory/example.yml").unwrap();
    let mut galera: Value = serde_norway::from_str(&galera).unwrap();
    galera["services"]["file_sync"] =
        serde_norway::from_str("{paths: [/srv/roster/uploads]}").unwrap();
    galera["services"]["galera"]["cluster_name"] = "cluster".into();
    galera["services"]["galera"]["gcache_size"] = "128M".into();
    galera["hosts"]["lb1"]["interfaces"] = serde_norway::from_str("{frontend: eth0}").unwrap();
    galera["hosts"]["lb1"]["ssh"] = serde_norway::from_str("{user: root, key: /k}").unwrap();
    galera["ssh"]["known_hosts"] = "/known".into();
    let aerospike = std::fs::read_to_string("examples/oncall-roster.yml").unwrap();
    let aerospike: Value = serde_norway::from_str(&aerospike).unwrap();
    vec![("galera", galera), ("aerospike", aerospike)]
}

/// (base, key path as validate names it, where the value sits in the YAML tree, a harmless
/// value of the field's kind)
type Field = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
);

const FIELDS: &[Field] = &[
    ("galera", "name", &["name"], "harmless0"),
    ("galera", "ssh.user", &["ssh", "user"], "harmless0"),
    ("galera", "ssh.key", &["ssh", "key"], "harmless0"),
    (
        "galera",
        "ssh.known_hosts",
        &["ssh", "known_hosts"],
        "harmless0",
    ),
    (
        "galera",
        "hosts.lb1.ssh.user",
        &["hosts", "lb1", "ssh", "user"],
        "harmless0",
    ),
    (
        "galera",
        "hosts.lb1.ssh.key",
        &["hosts", "lb1", "ssh", "key"],
        "harmless0",
    ),
    (
        "galera",
        "hosts.lb1.interfaces.frontend",
        &["hosts", "lb1", "interfaces", "frontend"],
        "harmless0",
    ),
    (
        "galera",
        "hosts.lb1.ssh.host",
        &["hosts", "lb1", "ssh", "host"],
        "harmless0",
    ),
    (
        "galera",
        "hosts.lb1.ssh.proxy_jump",
        &["hosts", "lb1", "ssh", "proxy_jump"],
        "harmless0",
    ),
    (
        "galera",
        "ssh.proxy_jump",
        &["ssh", "proxy_jump"],
        "harmless0",
    ),
    ("galera", "ssh.config", &["ssh", "config"], "harmless0"),
    (
        "galera",
        "services.haproxy.stats.user",
        &["services", "haproxy", "stats", "user"],
        "harmless0",
    ),
    (
        "galera",
        "services.roster.database",
        &["services", "roster", "database"],
        "harmless0",
    ),
    (
        "galera",
        "services.roster.db_user",
        &["services", "roster", "db_user"],
        "harmless0",
    ),
    (
        "galera",
        "services.galera.cluster_name",
        &["services", "galera", "cluster_name"],
        "harmless0",
    ),
    (
        "galera",
        "services.galera.gcache_size",
        &["services", "galera", "gcache_size"],
        "64M",
    ),
    (
        "galera",
        "services.file_sync.paths[0]",
        &["services", "file_sync", "paths", "0"],
        "/srv/harmless0",
    ),
    (
        "galera",
        "services.frontend_vip.notify",
        &["services", "frontend_vip", "notify"],
        "/usr/local/sbin/harmless0",
    ),
    (
        "galera",
        "services.db_vip.notify",
        &["services", "db_vip", "notify"],
        "/usr/local/sbin/harmless0",
    ),
    (
        "aerospike",
        "services.frontend_vip.notify",
        &["services", "frontend_vip", "notify"],
        "/usr/local/sbin/harmless0",
    ),
    (
        "aerospike",
        "services.aerospike.namespace",
        &["services", "aerospike", "namespace"],
        "harmless0",
    ),
    (
        "aerospike",
        "services.aerospike.data_size",
        &["services", "aerospike", "data_size"],
        "64M",
    ),
    (
        "aerospike",
        "services.aerospike.package",
        &["services", "aerospike", "package"],
        "harmless0",
    ),
];

/// The base inventory named `name`.
fn base(name: &str) -> Value {
    bases().into_iter().find(|(n, _)| *n == name).unwrap().1
}

fn set(tree: &mut Value, at: &[&str], value: Value) {
    let mut node = tree;
    for key in at {
        node = match key.parse::<usize>() {
            Ok(index) => &mut node[index],
            Err(_) => &mut node[*key],
        };
    }
    *node = value;
}

/// Every host's files of `text`, or the problems that refused it (messages as shown).
fn outcome(text: &str) -> Result<Vec<(String, String)>, Vec<String>> {
    let inv = inventory::parse(text)
        .map_err(|problems| problems.iter().map(|p| p.message()).collect::<Vec<_>>())?;
    let problems = inventory::validate(&inv);
    if !problems.is_empty() {
        return Err(problems.iter().map(|p| p.message()).collect());
    }
    let all = render::render_all(&inv, &Secrets::masked()).expect("a valid inventory renders");
    Ok(all
        .into_iter()
        .flat_map(|(host, files)| {
            files
                .into_iter()
                .map(move |f| (format!("{host}:{}", f.path), f.content))
        })
        .collect())
}

fn with_value(base: &Value, at: &[&str], value: &str) -> String {
    let mut tree = base.clone();
    set(&mut tree, at, Value::String(value.to_string()));
    serde_norway::to_string(&tree).unwrap()
}

/// Strings of the kinds that break configs and shells.
fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just(";".to_string()),
        Just("$(id)".to_string()),
        Just("`id`".to_string()),
        Just("${IFS}".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("\n".to_string()),
        Just("\r".to_string()),
        Just("\t".to_string()),
        Just("\0".to_string()),
        Just("\x1b[2J".to_string()),
        Just("\u{202e}".to_string()),
        Just("\u{200b}".to_string()),
        Just("#".to_string()),
        Just(" ".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(":".to_string()),
        Just("@".to_string()),
        Just("/".to_string()),
        Just("..".to_string()),
        Just("%".to_string()),
        Just("-".to_string()),
        Just("*".to_string()),
        Just("é".to_string()),
        Just("x".repeat(70)),
        "[a-z0-9_.-]{1,8}",
        "\\PC{1,4}",
    ];
    proptest::collection::vec(pieces, 1..6).prop_map(|parts| parts.concat())
}

/// Lines of `file` with `value` swapped back to `harmless`: what an accepted value changed.
fn compare(field: &str, value: &str, harmless: &[(String, String)], hostile: &[(String, String)]) {
    assert_eq!(
        harmless.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        hostile.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        "{field} = {}: a different set of files",
        shown(value)
    );
    for ((path, before), (_, after)) in harmless.iter().zip(hostile) {
        assert_eq!(
            before.lines().count(),
            after.lines().count(),
            "{field} = {} changed the number of lines of {path}:\n{after}",
            shown(value)
        );
        assert!(
            !after
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{field} = {} put a control byte into {path}",
            shown(value)
        );
        for (old, new) in before.lines().zip(after.lines()) {
            if old != new {
                assert!(
                    new.contains(value) || value.trim().is_empty(),
                    "{field} = {} changed a line of {path} it does not stand on: {new:?}",
                    shown(value)
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hostile_strings_are_refused_with_their_key_or_harmless(
        field in 0..FIELDS.len(),
        value in hostile(),
    ) {
        let (base_name, key, at, harmless) = FIELDS[field];
        let base = &base(base_name);
        let harmless = outcome(&with_value(base, at, harmless))
            .unwrap_or_else(|problems| panic!("{key}: the harmless value is refused: {problems:?}"));
        match outcome(&with_value(base, at, &value)) {
            Err(problems) => {
                prop_assert!(
                    problems.iter().any(|p| p.contains(key)),
                    "{key} = {}: refused without naming the key: {problems:?}",
                    shown(&value)
                );
                for problem in &problems {
                    prop_assert!(
                        !problem.chars().any(|c| c.is_control() && c != '\n'),
                        "{key}: a control byte reached the terminal: {problem:?}"
                    );
                }
            }
            Ok(files) => compare(key, &value, &harmless, &files),
        }
    }
}

/// The injections of the review, one by one: each is refused, naming its key.
#[test]
fn the_reported_injections_are_refused() {
    for (base_name, key, at, value) in [
        (
            "aerospike",
            "services.aerospike.namespace",
            &["services", "aerospike", "namespace"][..],
            "roster;touch${IFS}/tmp/x;#",
        ),
        (
            "aerospike",
            "services.aerospike.namespace",
            &["services", "aerospike", "namespace"][..],
            "roster\nROSTER_LISTEN=0.0.0.0:8080",
        ),
        (
            "galera",
            "services.haproxy.stats.user",
            &["services", "haproxy", "stats", "user"][..],
            "admin\n    stats admin if TRUE",
        ),
        (
            "galera",
            "hosts.lb1.interfaces.frontend",
            &["hosts", "lb1", "interfaces", "frontend"][..],
            "eth0\"$(id)",
        ),
        (
            "galera",
            "hosts.lb1.interfaces.frontend",
            &["hosts", "lb1", "interfaces", "frontend"][..],
            "eth\u{1b}[2J",
        ),
        ("galera", "ssh.user", &["ssh", "user"][..], "root; id"),
        (
            "galera",
            "hosts.lb1.ssh.host",
            &["hosts", "lb1", "ssh", "host"][..],
            "-oProxyCommand=id",
        ),
        (
            "galera",
            "ssh.proxy_jump",
            &["ssh", "proxy_jump"][..],
            "x@-oProxyCommand=id",
        ),
        (
            "galera",
            "hosts.lb1.ssh.proxy_jump",
            &["hosts", "lb1", "ssh", "proxy_jump"][..],
            "bastion\nHost *",
        ),
        (
            "galera",
            "services.frontend_vip.notify",
            &["services", "frontend_vip", "notify"][..],
            "/usr/local/sbin/move-vip\"\n    notify_master \"/tmp/evil",
        ),
        (
            "galera",
            "services.frontend_vip.notify",
            &["services", "frontend_vip", "notify"][..],
            "/usr/local/sbin/move-vip /tmp/evil",
        ),
        (
            "galera",
            "services.db_vip.notify",
            &["services", "db_vip", "notify"][..],
            "/etc/keepalived/../../tmp/evil",
        ),
        (
            "galera",
            "services.db_vip.notify",
            &["services", "db_vip", "notify"][..],
            "tmp/evil;$(id)",
        ),
    ] {
        let problems = outcome(&with_value(&base(base_name), at, value)).expect_err(value);
        assert!(
            problems.iter().any(|p| p.contains(key)),
            "{key} = {value:?}: {problems:?}"
        );
    }
}
