//! The verdict: from what every host and VIP showed, `healthy`, `degraded: <why>` or
//! `down: <why>`. Pure, so every rule is unit-tested on made-up states.
//!
//! Down means clients are (or are about to be) refused: the frontend VIP held by nobody or not
//! serving the roster API, no app node ready, no Galera node in a Primary component, the DB VIP held
//! by nobody. Anything else out of place is degraded: the stack serves but has lost redundancy.
//! A problem is reported once, at its cause: an app node whose roster is stopped is not also
//! reported as "not ready" or "DOWN in HAProxy".

use super::{HostHealth, Verdict, VipStatus};
use crate::facts::ActiveState;
use crate::galera::{ClusterStatus, LocalState};
use crate::inventory::{Inventory, Role};

/// The problems found so far: those that make the stack down, and those that degrade it, each
/// in the order found.
#[derive(Debug, Default)]
struct Findings {
    down: Vec<String>,
    degraded: Vec<String>,
}

impl Findings {
    /// The verdict, and every reason, the ones that make it down first.
    fn verdict(mut self) -> (Verdict, Vec<String>) {
        let verdict = if !self.down.is_empty() {
            Verdict::Down
        } else if !self.degraded.is_empty() {
            Verdict::Degraded
        } else {
            Verdict::Healthy
        };
        self.down.extend(self.degraded);
        (verdict, self.down)
    }
}

/// The host called `name`, if the status has it.
fn find<'a>(hosts: &'a [HostHealth], name: &str) -> Option<&'a HostHealth> {
    hosts.iter().find(|h| h.name == name)
}

/// The verdict and its reasons (the ones that make it down first).
pub fn assess(inv: &Inventory, hosts: &[HostHealth], vips: &[VipStatus]) -> (Verdict, Vec<String>) {
    assess_within(inv, hosts, vips, &|_| true)
}

/// The verdict of the hosts `judged` says yes to (`status --limit`), on what every host
/// showed: a host outside is not judged for its own problems, and a tier's verdict (Galera's
/// Primary component and size, a VIP, no app node ready) counts when the limit has a host of
/// that tier, since those hosts depend on it.
pub fn assess_within(
    inv: &Inventory,
    hosts: &[HostHealth],
    vips: &[VipStatus],
    judged: &dyn Fn(&str) -> bool,
) -> (Verdict, Vec<String>) {
    let mut found = Findings::default();
    let tier = |roles: &[Role]| {
        roles
            .iter()
            .any(|r| inv.hosts_with(*r).into_iter().any(judged))
    };
    assess_hosts(hosts, judged, &mut found);
    if let Some(vip) = vips.iter().find(|v| v.name == "frontend")
        && inv.frontend_vip_holders().into_iter().any(judged)
    {
        assess_frontend_vip(inv, hosts, vip, &mut found);
    }
    if tier(&[Role::App]) {
        assess_apps(hosts, judged, &mut found);
    }
    assess_haproxy(hosts, judged, &mut found);
    if tier(&[Role::Aerospike]) {
        assess_aerospike(inv, hosts, judged, &mut found);
    }
    if !inv.hosts_with(Role::Db).is_empty() && tier(&[Role::Db, Role::Arbiter]) {
        assess_galera(inv, hosts, judged, &mut found);
        if let Some(vip) = vips.iter().find(|v| v.name == "db")
            && tier(&[Role::Db])
        {
            assess_db_vip(hosts, vip, &mut found);
        }
    }
    found.verdict()
}

/// Each judged host unreachable, and each of its services not active.
fn assess_hosts(hosts: &[HostHealth], judged: &dyn Fn(&str) -> bool, found: &mut Findings) {
    for h in hosts.iter().filter(|h| judged(&h.name)) {
        if !h.reachable {
            found.degraded.push(format!(
                "{} unreachable ({})",
                h.name,
                h.error.as_deref().unwrap_or("no answer")
            ));
            continue;
        }
        for (service, state) in &h.services {
            if *state != ActiveState::Active {
                let state = match state {
                    ActiveState::Unknown => "not installed",
                    state => state.as_str(),
                };
                found
                    .degraded
                    .push(format!("{}: {service} {state}", h.name));
            }
        }
    }
}

/// The frontend VIP: held by exactly one host (the preferred one unless it has a problem),
/// and serving the roster through it.
fn assess_frontend_vip(
    inv: &Inventory,
    hosts: &[HostHealth],
    vip: &VipStatus,
    found: &mut Findings,
) {
    let candidates = inv.frontend_vip_holders();
    match vip.holders.as_slice() {
        [] => {
            let unseen = candidates
                .iter()
                .any(|h| find(hosts, h).is_some_and(|h| !h.reachable));
            found.down.push(format!(
                "frontend VIP {} held by no {}host",
                vip.address,
                if unseen { "reachable " } else { "" }
            ));
        }
        [holder] => {
            if let Some(first) = candidates.first().and_then(|name| find(hosts, name))
                && first.name != *holder
                && first.troubled()
            {
                found
                    .degraded
                    .push(format!("frontend VIP on {holder} ({} down)", first.name));
            }
        }
        many => found.degraded.push(format!(
            "frontend VIP {} held by {} at once",
            vip.address,
            many.join(" and ")
        )),
    }
    if let Some(readyz) = &vip.readyz
        && !readyz.ok
    {
        found.down.push(format!(
            "frontend VIP does not serve the roster ({})",
            readyz.describe()
        ));
    }
}

/// App nodes: each whose roster runs is ready; at least one is.
fn assess_apps(hosts: &[HostHealth], judged: &dyn Fn(&str) -> bool, found: &mut Findings) {
    let apps: Vec<&HostHealth> = hosts.iter().filter(|h| h.has_role(Role::App)).collect();
    for app in apps.iter().filter(|a| a.runs("roster") && judged(&a.name)) {
        if let Some(readyz) = &app.readyz
            && !readyz.ok
        {
            found.degraded.push(format!(
                "{} not ready (/readyz: {})",
                app.name,
                readyz.describe()
            ));
        }
    }
    let ready = apps
        .iter()
        .filter(|a| a.readyz.as_ref().is_some_and(|r| r.ok))
        .count();
    if !apps.is_empty() && ready == 0 {
        found.down.push("no app node is ready".to_string());
    }
}

/// Every running HAProxy answers on its stats socket and has every healthy app node in its
/// rotation (a node with a problem of its own was reported at its cause).
fn assess_haproxy(hosts: &[HostHealth], judged: &dyn Fn(&str) -> bool, found: &mut Findings) {
    for lb in hosts
        .iter()
        .filter(|h| h.has_role(Role::Lb) && h.runs("haproxy") && judged(&h.name))
    {
        let Some(backends) = &lb.haproxy_backends else {
            found.degraded.push(format!(
                "{}: HAProxy's stats socket did not answer",
                lb.name
            ));
            continue;
        };
        for backend in backends.iter().filter(|b| !b.is_up()) {
            let app_ok = find(hosts, &backend.server)
                .is_some_and(|a| !a.troubled() && a.readyz.as_ref().is_none_or(|r| r.ok));
            if app_ok {
                found.degraded.push(format!(
                    "{} sees {} {}",
                    lb.name, backend.server, backend.status
                ));
            }
        }
    }
}

/// Galera: every running node Synced in one Primary component of the expected size (db
/// nodes and arbitrators).
fn assess_galera(
    inv: &Inventory,
    hosts: &[HostHealth],
    judged: &dyn Fn(&str) -> bool,
    found: &mut Findings,
) {
    let expected = (inv.hosts_with(Role::Db).len() + inv.hosts_with(Role::Arbiter).len()) as u32;
    let mut primary_size = None;
    for db in hosts
        .iter()
        .filter(|h| h.has_role(Role::Db) && h.runs("mariadb"))
    {
        if !judged(&db.name) {
            // Not judged, but its Primary component is the tier's.
            if let Some(g) = db.galera.as_ref().filter(|g| g.is_primary()) {
                primary_size = primary_size.max(Some(g.cluster_size));
            }
            continue;
        }
        match &db.galera {
            None => found.degraded.push(format!(
                "{}: MariaDB does not report Galera status",
                db.name
            )),
            Some(g) if g.cluster_status != ClusterStatus::Primary => found.degraded.push(format!(
                "{} not in the Primary component ({})",
                db.name, g.cluster_status
            )),
            Some(g) => {
                primary_size = primary_size.max(Some(g.cluster_size));
                if g.local_state != LocalState::Synced {
                    found
                        .degraded
                        .push(format!("{} not Synced ({})", db.name, g.local_state));
                }
            }
        }
    }
    match primary_size {
        None => found
            .down
            .push("no Galera node is in a Primary component".to_string()),
        Some(size) if size < expected => {
            found
                .degraded
                .push(format!("Galera size {size} of {expected}"));
        }
        Some(_) => {}
    }
}

/// The DB VIP: held by exactly one host, a Synced one.
fn assess_db_vip(hosts: &[HostHealth], vip: &VipStatus, found: &mut Findings) {
    match vip.holders.as_slice() {
        [] => {
            let unseen = hosts.iter().any(|h| h.has_role(Role::Db) && !h.reachable);
            found.down.push(format!(
                "DB VIP {} held by no {}host",
                vip.address,
                if unseen { "reachable " } else { "" }
            ));
        }
        [holder] => {
            let synced = find(hosts, holder)
                .and_then(|h| h.galera.as_ref())
                .is_some_and(|g| g.is_synced_primary());
            if !synced {
                found
                    .degraded
                    .push(format!("DB VIP on {holder}, which is not Synced"));
            }
        }
        many => found.degraded.push(format!(
            "DB VIP {} held by {} at once",
            vip.address,
            many.join(" and ")
        )),
    }
}

/// Aerospike: one cluster of every node, with its data where it belongs.
fn assess_aerospike(
    inv: &Inventory,
    hosts: &[HostHealth],
    judged: &dyn Fn(&str) -> bool,
    found: &mut Findings,
) {
    let expected = inv.hosts_with(Role::Aerospike).len() as u32;
    if expected == 0 {
        return;
    }
    let nodes: Vec<(&str, &crate::aerospike::AerospikeNode)> = hosts
        .iter()
        .filter(|h| h.has_role(Role::Aerospike) && h.runs("aerospike"))
        .filter_map(|h| h.aerospike.as_ref().map(|a| (h.name.as_str(), a)))
        .collect();
    if nodes.is_empty() {
        found.down.push("no Aerospike node answers".to_string());
        return;
    }
    let size = nodes.iter().map(|(_, a)| a.cluster_size).max().unwrap_or(0);
    if size < expected {
        found
            .degraded
            .push(format!("Aerospike cluster size {size} of {expected}"));
    }
    for (name, node) in nodes.iter().filter(|(name, _)| judged(name)) {
        if !node.cluster_integrity {
            found
                .degraded
                .push(format!("{name}: Aerospike cluster integrity false"));
        }
        if node.migrate_partitions_remaining > 0 {
            found.degraded.push(format!(
                "{name}: Aerospike migrations pending ({} partitions)",
                node.migrate_partitions_remaining
            ));
        }
    }
}

/// The one-line verdict.
pub fn summary(verdict: Verdict, reasons: &[String]) -> String {
    if reasons.is_empty() {
        verdict.name().to_string()
    } else {
        format!("{}: {}", verdict.name(), reasons.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aerospike::AerospikeNode;
    use crate::galera::WsrepStatus;
    use crate::status::probe::{Backend, HttpCheck};
    use indexmap::IndexMap;

    struct World {
        inv: Inventory,
        hosts: Vec<HostHealth>,
        vips: Vec<VipStatus>,
    }

    /// A healthy stack: VIPs on lb1 and db1, everything active, ready, UP and Synced.
    fn healthy() -> World {
        healthy_world(crate::inventory::parse(crate::inventory::TEST_STACK).unwrap())
    }

    /// Any stack, all well: VIPs on the first candidate, everything active, ready, UP, Synced.
    fn healthy_world(inv: Inventory) -> World {
        let frontend_holder = inv.frontend_vip_holders()[0].to_string();
        let db_holder = inv.hosts_with(Role::Db).first().map(|d| d.to_string());
        let frontend_vip = inv.services.frontend_vip.address.to_string();
        let db_vip = inv.services.db_vip.as_ref().map(|v| v.address.to_string());
        let voters = (inv.hosts_with(Role::Db).len() + inv.hosts_with(Role::Arbiter).len()) as u32;
        let aerospike_nodes = inv.hosts_with(Role::Aerospike).len() as u32;
        let apps: Vec<String> = inv
            .hosts_with(Role::App)
            .iter()
            .map(|a| a.to_string())
            .collect();
        let hosts = inv
            .hosts
            .keys()
            .map(|name| {
                let services: IndexMap<String, ActiveState> = crate::roles::services(&inv, name)
                    .into_iter()
                    .map(|s| (s.to_string(), ActiveState::Active))
                    .collect();
                let entry = &inv.hosts[name];
                let mut vips = Vec::new();
                if *name == frontend_holder {
                    vips.push(frontend_vip.clone());
                }
                if Some(name) == db_holder.as_ref() {
                    vips.extend(db_vip.clone());
                }
                HostHealth {
                    name: name.clone(),
                    roles: entry.roles.iter().map(|r| r.name().to_string()).collect(),
                    reachable: true,
                    error: None,
                    services,
                    vips,
                    galera: entry.has(Role::Db).then_some(WsrepStatus {
                        cluster_status: ClusterStatus::Primary,
                        cluster_size: voters,
                        local_state: LocalState::Synced,
                        last_committed: 42,
                    }),
                    haproxy_backends: entry.has(Role::Lb).then(|| {
                        apps.iter()
                            .map(|app| Backend {
                                server: app.to_string(),
                                status: "UP".into(),
                                sessions_now: 0,
                                sessions_total: 10,
                                last_check: "L7OK/200 in 1 ms".into(),
                                seconds_since_change: Some(100),
                            })
                            .collect()
                    }),
                    readyz: entry
                        .has(Role::App)
                        .then(|| HttpCheck::from_status(Some(200))),
                    aerospike: entry.has(Role::Aerospike).then_some(AerospikeNode {
                        cluster_size: aerospike_nodes,
                        cluster_integrity: true,
                        migrate_partitions_remaining: 0,
                        namespace_objects: Some(10),
                    }),
                }
            })
            .collect();
        let mut vips = vec![VipStatus {
            name: "frontend".into(),
            address: frontend_vip,
            holders: vec![frontend_holder],
            readyz: Some(HttpCheck::from_status(Some(200))),
        }];
        if let (Some(address), Some(holder)) = (db_vip, db_holder) {
            vips.push(VipStatus {
                name: "db".into(),
                address,
                holders: vec![holder],
                readyz: None,
            });
        }
        World { inv, hosts, vips }
    }

    impl World {
        fn host(&mut self, name: &str) -> &mut HostHealth {
            self.hosts.iter_mut().find(|h| h.name == name).unwrap()
        }

        fn vip(&mut self, name: &str) -> &mut VipStatus {
            self.vips.iter_mut().find(|v| v.name == name).unwrap()
        }

        fn summary(&self) -> String {
            let (verdict, reasons) = assess(&self.inv, &self.hosts, &self.vips);
            summary(verdict, &reasons)
        }
    }

    #[test]
    fn all_in_place_is_healthy() {
        assert_eq!(healthy().summary(), "healthy");
    }

    #[test]
    fn a_stopped_roster_is_reported_once_at_its_cause() {
        let mut world = healthy();
        world.host("app1").services["roster"] = ActiveState::Inactive;
        world.host("app1").readyz = Some(HttpCheck::from_status(None));
        for lb in ["lb1", "lb2"] {
            world.host(lb).haproxy_backends.as_mut().unwrap()[0].status = "DOWN".into();
        }
        assert_eq!(world.summary(), "degraded: app1: roster inactive");
    }

    #[test]
    fn a_node_haproxy_marks_down_while_it_answers_is_named_per_lb() {
        let mut world = healthy();
        world.host("lb2").haproxy_backends.as_mut().unwrap()[1].status = "DOWN".into();
        assert_eq!(world.summary(), "degraded: lb2 sees app2 DOWN");
    }

    #[test]
    fn a_killed_db_node_degrades_the_cluster() {
        let mut world = healthy();
        world.host("db2").services["mariadb"] = ActiveState::Activating;
        world.host("db2").galera = None;
        world.host("db1").galera.as_mut().unwrap().cluster_size = 2;
        assert_eq!(
            world.summary(),
            "degraded: db2: mariadb activating; Galera size 2 of 3"
        );
    }

    #[test]
    fn a_joining_node_is_not_synced() {
        let mut world = healthy();
        world.host("db2").galera.as_mut().unwrap().local_state = LocalState::Joining;
        assert_eq!(world.summary(), "degraded: db2 not Synced (Joining)");
    }

    #[test]
    fn the_vip_moved_because_its_first_holder_is_down() {
        let mut world = healthy();
        world.host("lb1").services["keepalived"] = ActiveState::Inactive;
        world.host("lb1").vips.clear();
        world.host("lb2").vips = vec!["10.0.1.100".into()];
        world.vip("frontend").holders = vec!["lb2".into()];
        assert_eq!(
            world.summary(),
            "degraded: lb1: keepalived inactive; frontend VIP on lb2 (lb1 down)"
        );
    }

    #[test]
    fn the_vip_on_the_second_holder_with_both_fine_is_healthy() {
        // keepalived runs nopreempt: a returning lb1 does not take the VIP back.
        let mut world = healthy();
        world.vip("frontend").holders = vec!["lb2".into()];
        assert_eq!(world.summary(), "healthy");
    }

    #[test]
    fn no_vip_holder_or_no_answer_is_down() {
        let mut world = healthy();
        world.vip("frontend").holders.clear();
        world.vip("frontend").readyz = Some(HttpCheck::from_status(None));
        assert_eq!(
            world.summary(),
            "down: frontend VIP 10.0.1.100 held by no host; frontend VIP does not serve the roster (no answer)"
        );
    }

    #[test]
    fn a_vip_not_seen_while_a_holder_is_unreachable_is_said_so() {
        let mut world = healthy();
        world.vip("frontend").holders.clear();
        world.host("lb1").reachable = false;
        world.host("lb1").vips.clear();
        assert!(
            world
                .summary()
                .starts_with("down: frontend VIP 10.0.1.100 held by no reachable host;"),
            "{}",
            world.summary()
        );
    }

    #[test]
    fn two_vip_holders_are_split_brain() {
        let mut world = healthy();
        world.vip("frontend").holders = vec!["lb1".into(), "lb2".into()];
        assert_eq!(
            world.summary(),
            "degraded: frontend VIP 10.0.1.100 held by lb1 and lb2 at once"
        );
    }

    impl World {
        /// The verdict judging only `limit`'s hosts, as `status --limit` does.
        fn limited(&self, limit: &[&str]) -> String {
            let judged = |host: &str| limit.contains(&host);
            let (verdict, reasons) = assess_within(&self.inv, &self.hosts, &self.vips, &judged);
            summary(verdict, &reasons)
        }
    }

    #[test]
    fn a_limited_verdict_judges_only_its_hosts_and_their_tiers() {
        let mut world = healthy();
        let lb1 = world.host("lb1");
        lb1.reachable = false;
        lb1.error = Some("no answer within 5 s".into());
        lb1.services.clear();
        lb1.haproxy_backends = None;
        world.vip("frontend").holders = vec![];
        assert!(world.summary().starts_with("down: frontend VIP"));
        // The db hosts do not depend on the lbs: healthy within that view.
        assert_eq!(world.limited(&["db1", "db2"]), "healthy");
        // lb2 is a VIP holder: the VIP held by nobody counts, lb1's own problem does not.
        assert_eq!(
            world.limited(&["lb2"]),
            "down: frontend VIP 10.0.1.100 held by no reachable host"
        );
        // A db node outside the limit: its own problem is not counted, the tier's is.
        world.host("db2").services["mariadb"] = ActiveState::Inactive;
        for db in ["db1", "db2"] {
            world.host(db).galera.as_mut().unwrap().cluster_size = 2;
        }
        assert_eq!(world.limited(&["db1"]), "degraded: Galera size 2 of 3");
        assert_eq!(
            world.limited(&["db2"]),
            "degraded: db2: mariadb inactive; Galera size 2 of 3"
        );
    }

    #[test]
    fn an_unreachable_host_is_named_with_why() {
        let mut world = healthy();
        let lb2 = world.host("lb2");
        lb2.reachable = false;
        lb2.error = Some("no answer within 5 s".into());
        lb2.services.clear();
        lb2.haproxy_backends = None;
        assert_eq!(
            world.summary(),
            "degraded: lb2 unreachable (no answer within 5 s)"
        );
    }

    #[test]
    fn no_primary_component_is_down() {
        let mut world = healthy();
        for db in ["db1", "db2"] {
            let galera = world.host(db).galera.as_mut().unwrap();
            galera.cluster_status = ClusterStatus::NonPrimary;
            galera.cluster_size = 1;
        }
        let summary = world.summary();
        assert!(
            summary.starts_with("down: no Galera node is in a Primary component; ")
                && summary.contains("db1 not in the Primary component (non-Primary)"),
            "{summary}"
        );
    }

    #[test]
    fn the_db_vip_must_sit_on_a_synced_node() {
        let mut world = healthy();
        world.host("db1").galera.as_mut().unwrap().local_state = LocalState::Donor;
        assert_eq!(
            world.summary(),
            "degraded: db1 not Synced (Donor/Desynced); DB VIP on db1, which is not Synced"
        );
        world.vip("db").holders.clear();
        assert!(
            world
                .summary()
                .starts_with("down: DB VIP 10.0.2.100 held by no host")
        );
    }

    #[test]
    fn every_app_unready_is_down() {
        let mut world = healthy();
        for app in ["app1", "app2"] {
            world.host(app).readyz = Some(HttpCheck::from_status(Some(503)));
        }
        assert_eq!(
            world.summary(),
            "down: no app node is ready; app1 not ready (/readyz: 503); app2 not ready (/readyz: 503)"
        );
    }

    #[test]
    fn the_oncall_original_is_judged_by_its_aerospike_cluster() {
        let inv =
            crate::inventory::load(std::path::Path::new("examples/oncall-roster.yml")).unwrap();
        let mut world = healthy_world(inv);
        assert_eq!(world.summary(), "healthy");
        world.host("as2").services["aerospike"] = ActiveState::Failed;
        world.host("as2").aerospike = None;
        for node in ["as1", "as3"] {
            let a = world.host(node).aerospike.as_mut().unwrap();
            a.cluster_size = 2;
            a.migrate_partitions_remaining = 512;
        }
        assert_eq!(
            world.summary(),
            "degraded: as2: aerospike failed; Aerospike cluster size 2 of 3; \
             as1: Aerospike migrations pending (512 partitions); as3: Aerospike migrations pending (512 partitions)"
        );
        for node in ["as1", "as3"] {
            world.host(node).aerospike = None;
        }
        assert!(
            world
                .summary()
                .starts_with("down: no Aerospike node answers")
        );
    }
}
