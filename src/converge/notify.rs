//! The VIPs' notify scripts, checked before `up` or `plan` changes anything: keepalived with
//! `enable_script_security` silently disables a script that is missing, not executable or
//! writable by a non-root user, and the VIP would then move on the network but not at the
//! provider. The facts are read with every host's other facts ([`crate::facts::scripts_command`]).

use crate::facts::HostFacts;
use crate::inventory::Inventory;
use crate::inventory::text::shown;
use anyhow::{Result, bail};
use indexmap::IndexMap;

/// The notify scripts keepalived runs on `host`, with the inventory key that names each.
pub fn scripts(inv: &Inventory, host: &str) -> Vec<(String, String)> {
    inv.vips_on(host)
        .into_iter()
        .filter_map(|(kind, vip)| {
            let script = vip.notify.as_ref()?;
            Some((format!("{}.notify", kind.key()), script.to_string()))
        })
        .collect()
}

/// Every host's notify scripts must be ones keepalived will run; the first that is not stops
/// the run, naming the host, the key and why, with what to do.
pub fn check(inv: &Inventory, facts: &IndexMap<String, HostFacts>) -> Result<()> {
    for (host, host_facts) in facts {
        for (key, path) in scripts(inv, host) {
            let why = match host_facts.scripts.get(&path) {
                Some(state) => state.refusal(),
                None => Some("was not read".to_string()),
            };
            if let Some(why) = why {
                bail!(
                    "{host}: {key} {} {why}; nothing was changed on any host\n  hint: install the \
                     script on {host} owned by root, executable and writable by root only, in \
                     folders only root can write to (e.g. install -o root -g root -m 0755 \
                     move-vip {}): keepalived runs it as root and refuses any script a non-root \
                     user could change",
                    shown(&path),
                    shown(&path),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{PathEntry, ScriptState};

    /// The reference inventory with a notify script on both VIPs.
    fn inventory() -> Inventory {
        let text = std::fs::read_to_string("inventory/example.yml")
            .unwrap()
            .replace(
                "virtual_router_id: 51",
                "virtual_router_id: 51\n    notify: /usr/local/sbin/move-vip",
            )
            .replace(
                "virtual_router_id: 52",
                "virtual_router_id: 52\n    notify: /usr/local/sbin/move-db-vip",
            );
        let inv = crate::inventory::parse(&text).unwrap();
        assert!(crate::inventory::validate(&inv).is_empty());
        inv
    }

    fn good(path: &str) -> ScriptState {
        let entry = |mode, path: &str| PathEntry {
            mode,
            uid: 0,
            gid: 0,
            path: path.into(),
        };
        ScriptState::Present {
            file: entry(0o100_755, path),
            parts: vec![entry(0o100_755, path), entry(0o040_755, "/")],
        }
    }

    /// Every host's facts with each script it runs in `state`.
    fn facts(inv: &Inventory, state: impl Fn(&str) -> ScriptState) -> IndexMap<String, HostFacts> {
        inv.hosts
            .keys()
            .map(|host| {
                let mut facts = HostFacts::default();
                for (_, path) in scripts(inv, host) {
                    facts.scripts.insert(path.clone(), state(&path));
                }
                (host.clone(), facts)
            })
            .collect()
    }

    #[test]
    fn each_vip_holder_runs_its_vips_script_and_no_other_host_does() {
        let inv = inventory();
        let paths =
            |host| -> Vec<String> { scripts(&inv, host).into_iter().map(|s| s.1).collect() };
        assert_eq!(paths("lb1"), ["/usr/local/sbin/move-vip"]);
        assert_eq!(paths("lb2"), ["/usr/local/sbin/move-vip"]);
        assert_eq!(paths("db2"), ["/usr/local/sbin/move-db-vip"]);
        assert!(paths("app1").is_empty());
        assert_eq!(scripts(&inv, "db1")[0].0, "services.db_vip.notify");
    }

    #[test]
    fn a_missing_or_unsafe_script_stops_the_run_naming_host_key_and_fix() {
        let inv = inventory();
        assert!(check(&inv, &facts(&inv, good)).is_ok());
        let missing = facts(&inv, |path| {
            if path.ends_with("move-db-vip") {
                ScriptState::Missing
            } else {
                good(path)
            }
        });
        let err = check(&inv, &missing).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "db1: services.db_vip.notify \"/usr/local/sbin/move-db-vip\" does not exist; nothing was changed"
            ),
            "{err}"
        );
        assert!(err.contains("\n  hint: install the script on db1"), "{err}");
        let writable = facts(&inv, |path| {
            let ScriptState::Present { file, mut parts } = good(path) else {
                unreachable!()
            };
            parts[1].mode = 0o040_777;
            ScriptState::Present { file, parts }
        });
        let err = check(&inv, &writable).unwrap_err().to_string();
        assert!(
            err.starts_with("lb1: services.frontend_vip.notify")
                && err.contains("the folder \"/\" is writable by every user"),
            "{err}"
        );
        // A host whose facts lack the script (never read) is refused, not waved through.
        let unread = facts(&inv, |_| ScriptState::Missing)
            .into_iter()
            .map(|(host, _)| (host, HostFacts::default()))
            .collect();
        assert!(
            check(&inv, &unread)
                .unwrap_err()
                .to_string()
                .contains("was not read")
        );
    }
}
