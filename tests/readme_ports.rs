//! The README's table of ports between the hosts says what the firewall rules allow: every
//! rule of every example inventory has its row, and every row is a rule of one of them, with
//! the same protocol and ports (the ports the examples use; each row names the key that sets
//! a port).

use minicloud::inventory;
use minicloud::render::context::firewall_rules;
use std::collections::BTreeSet;
use std::path::Path;

const BEGIN: &str = "<!-- ports: checked by tests/readme_ports.rs -->";
const END: &str = "<!-- /ports -->";

/// (protocol and ports as the README writes them, the rule's comment in firewall.nft)
type Row = (String, String);

fn example_rules() -> BTreeSet<Row> {
    let mut files = vec!["inventory/example.yml".to_string()];
    for entry in std::fs::read_dir("examples").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            files.push(path.to_string_lossy().into_owned());
        }
    }
    let mut rows = BTreeSet::new();
    for file in files {
        let inv = inventory::load(Path::new(&file)).unwrap_or_else(|e| panic!("{e}"));
        for host in inv.hosts.keys() {
            for rule in firewall_rules(&inv, host) {
                let ports = if rule.proto == "vrrp" {
                    "VRRP (IP protocol 112)".to_string()
                } else {
                    let ports: Vec<String> = rule.ports.iter().map(u16::to_string).collect();
                    format!("{} {}", rule.proto, ports.join(", "))
                };
                rows.insert((ports, rule.why));
            }
        }
    }
    rows
}

/// The table's rows: (second cell, fourth cell), backquotes and the part in brackets after the
/// ports (the key that sets them) left out.
fn readme_rows() -> Vec<Row> {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme.find(BEGIN).expect("the README's marked ports table") + BEGIN.len();
    let end = start
        + readme[start..]
            .find(END)
            .expect("the end of the ports table");
    readme[start..end]
        .lines()
        .filter(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let ports = cells[2].split(" (").next().unwrap().replace('`', "");
            let ports = if cells[2].starts_with("VRRP") {
                cells[2].to_string()
            } else {
                ports
            };
            (ports, cells[4].replace('`', ""))
        })
        .collect()
}

#[test]
fn the_readme_lists_every_firewall_rule_with_its_ports() {
    let rules = example_rules();
    let rows = readme_rows();
    assert!(rows.len() >= 10, "{rows:?}");
    let missing: Vec<&Row> = rules
        .iter()
        .filter(|(_, why)| !rows.iter().any(|(_, w)| w == why))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a README row: {missing:#?}"
    );
    let unknown: Vec<&Row> = rows.iter().filter(|row| !rules.contains(row)).collect();
    assert!(
        unknown.is_empty(),
        "README rows that no example's firewall has (ports or comment differ): {unknown:#?}\n\
         the rules: {rules:#?}"
    );
}
