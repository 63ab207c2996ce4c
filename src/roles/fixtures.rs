//! Test worlds for the planners: an inventory and the facts of its hosts, built as data, so a
//! test says "these facts" and reads back "these steps" (no Docker, no SSH).

use super::aerospike::PackageKind;
use super::desired::{self, HostDiff, Managed};
use super::{Ctx, Step};
use crate::facts::{FileState, HostFacts, UnitState};
use crate::galera::{GraState, WsrepStatus};
use crate::inventory::{Inventory, Role};
use crate::secrets::Secrets;
use indexmap::IndexMap;
use std::sync::Arc;

/// The default inventory (inventory/example.yml).
pub fn default_inventory() -> Inventory {
    crate::inventory::parse(include_str!("../../inventory/example.yml")).unwrap()
}

/// An inventory, each host's managed files, and facts to plan from.
pub struct World {
    pub inv: Inventory,
    pub files: IndexMap<String, Vec<Managed>>,
    pub facts: IndexMap<String, HostFacts>,
    pub pending: IndexMap<String, Vec<String>>,
    pub aerospike: Option<PackageKind>,
    /// `--limit` and the hosts that could not be read (default: every host, all read).
    pub scope: crate::limit::Scope,
}

impl World {
    fn new(path: &str) -> World {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let inv = crate::inventory::load(&path).unwrap();
        let rendered = crate::render::render_all(&inv, &Secrets::masked()).unwrap();
        let binary = Managed::roster_binary(Arc::new(b"roster build".to_vec()));
        let files = rendered
            .iter()
            .map(|(host, host_files)| {
                let mut managed: Vec<Managed> =
                    host_files.iter().map(Managed::from_rendered).collect();
                if inv.hosts[host].has(Role::App) {
                    managed.insert(0, binary.clone());
                }
                (host.clone(), managed)
            })
            .collect();
        let hosts: Vec<String> = inv.hosts.keys().cloned().collect();
        World {
            facts: hosts
                .iter()
                .map(|h| (h.clone(), HostFacts::default()))
                .collect(),
            pending: hosts.iter().map(|h| (h.clone(), Vec::new())).collect(),
            inv,
            files,
            aerospike: None,
            scope: crate::limit::Scope::everything(),
        }
    }

    /// Hosts with nothing on them yet.
    pub fn bare(path: &str) -> World {
        World::new(path)
    }

    /// Hosts as `up` leaves them: packages installed, every file in place, every unit running
    /// and enabled, the firewall loaded, Galera Primary and Synced with every voter in, the
    /// VIPs on the first holder.
    pub fn converged(path: &str) -> World {
        let mut world = World::new(path);
        let db = world.inv.hosts_with(Role::Db).len();
        let voters = (db + world.inv.hosts_with(Role::Arbiter).len()) as u32;
        let vip = world.inv.services.frontend_vip.address.to_string();
        let holder = world
            .inv
            .frontend_vip_holders()
            .first()
            .map(|h| h.to_string());
        for (host, facts) in world.facts.iter_mut() {
            for package in super::packages(&world.inv, host) {
                facts.installed.insert(package.to_string());
            }
            for unit in super::units(&world.inv, host) {
                facts.units.insert(unit.to_string(), unit_state("active"));
            }
            facts
                .units
                .insert("mariadb.socket".into(), UnitState::default());
            for file in &world.files[host] {
                facts.files.insert(
                    file.path.clone(),
                    FileState {
                        mode: file.mode,
                        owner: file.owner.clone(),
                        group: file.group.clone(),
                        sha256: file.sha256.clone(),
                    },
                );
            }
            facts.firewall = Some(super::firewall::desired_fingerprint(&world.inv, host));
            if world.inv.hosts[host].has(Role::Db) {
                facts.wsrep = Some(synced(voters));
                facts.grastate = Some(GraState {
                    uuid: "u".into(),
                    seqno: -1,
                    safe_to_bootstrap: false,
                });
            }
            if holder.as_deref() == Some(host.as_str()) {
                facts.addresses.push(("eth0".into(), vip.clone()));
            }
        }
        world
    }

    /// The Aerospike package the inventory names is of this kind.
    pub fn with_aerospike(mut self, kind: PackageKind) -> World {
        self.aerospike = Some(kind);
        self
    }

    /// Set a unit's active state (`active`, `inactive`, `activating`, ...).
    pub fn unit(&mut self, host: &str, unit: &str, active: &str) -> &mut World {
        let state = self.facts[host].units.entry(unit.to_string()).or_default();
        state.active = active.into();
        state.loaded = true;
        if state.enabled == crate::facts::EnabledState::NotInstalled {
            state.enabled = "enabled".into();
        }
        self
    }

    /// The host's copy of `path` differs from the inventory's.
    pub fn change_file(&mut self, host: &str, path: &str) -> &mut World {
        self.facts[host]
            .files
            .get_mut(path)
            .unwrap_or_else(|| panic!("{host} has no {path}"))
            .sha256 = "other".into();
        self
    }

    /// The Galera status `host` answers with (None: mariadb does not answer).
    pub fn wsrep(&mut self, host: &str, status: Option<WsrepStatus>) -> &mut World {
        self.facts[host].wsrep = status;
        self
    }

    /// What `grastate.dat` says on `host` (None: no file, a fresh node).
    pub fn grastate(&mut self, host: &str, seqno: Option<i64>, safe: bool) -> &mut World {
        self.facts[host].grastate = seqno.map(|seqno| GraState {
            uuid: "u".into(),
            seqno,
            safe_to_bootstrap: safe,
        });
        self
    }

    /// A stopped run left `unit`'s change on `host` unapplied.
    pub fn pending(&mut self, host: &str, unit: &str) -> &mut World {
        self.pending[host].push(crate::converge::commands::pending_marker(unit).to_string());
        self
    }

    fn diffs(&self) -> IndexMap<String, HostDiff> {
        self.facts
            .iter()
            .map(|(host, f)| {
                (
                    host.clone(),
                    desired::host_diff(&self.inv, host, &self.files[host], f),
                )
            })
            .collect()
    }

    /// Every step of a run, as `plan` computes them (installs, then the phases planned on the
    /// facts the hosts would show after them).
    pub fn steps(&self) -> Vec<Step> {
        self.try_steps()
            .unwrap_or_else(|refusal| panic!("{refusal}"))
    }

    /// The steps of a run as `plan` computes them, or why a limited run is refused.
    pub fn try_steps(&self) -> Result<Vec<Step>, super::limited::Refusal> {
        self.with_ctx(|ctx| Ok(super::plan_run(ctx)?.steps().cloned().collect()))
    }

    /// Limit the run to `limit` (as `--limit` would), with `unreachable` hosts outside it not
    /// read: their facts become placeholders, as `up` makes them.
    pub fn limit(&mut self, limit: &str, unreachable: &[&str]) -> &mut World {
        let arg = crate::limit::parse(limit).unwrap();
        let limit = crate::limit::Limit::resolve(&self.inv, &arg).unwrap();
        self.scope = crate::limit::Scope::limited(Some(limit));
        for host in unreachable {
            self.facts.insert(host.to_string(), HostFacts::default());
            self.scope
                .unreachable
                .push((host.to_string(), "connection refused".into()));
        }
        self
    }

    /// The steps of one phase, planned on the facts as they are.
    pub fn phase(&self, phase: &str) -> Vec<Step> {
        self.with_ctx(|ctx| {
            super::plan_phases(ctx)
                .unwrap_or_else(|refusal| panic!("{refusal}"))
                .into_iter()
                .find(|(role, _)| role.phase == phase)
                .map(|(_, steps)| steps)
                .unwrap_or_else(|| panic!("no phase {phase}"))
        })
    }

    /// `plan` with the planners' view of this world.
    fn with_ctx<T>(&self, plan: impl FnOnce(&Ctx) -> T) -> T {
        let diffs = self.diffs();
        plan(&Ctx {
            inv: &self.inv,
            facts: &self.facts,
            diffs: &diffs,
            pending: &self.pending,
            aerospike_package: self.aerospike.as_ref(),
            scope: &self.scope,
        })
    }

    /// One phase's steps as `host: step` lines.
    pub fn describe_phase(&self, phase: &str) -> String {
        describe(&self.phase(phase))
    }
}

/// Steps as `host: step` lines.
pub fn describe(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| format!("{}: {s}\n", s.host()))
        .collect()
}

/// A unit that is loaded and enabled, in `active` state.
pub fn unit_state(active: &str) -> UnitState {
    UnitState {
        active: active.into(),
        enabled: "enabled".into(),
        loaded: true,
        active_since: 1,
    }
}

/// Synced in a Primary component of `size`.
pub fn synced(size: u32) -> WsrepStatus {
    WsrepStatus {
        cluster_status: "Primary".into(),
        cluster_size: size,
        local_state: "Synced".into(),
        last_committed: 10,
    }
}
