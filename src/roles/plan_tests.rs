//! The planners' decisions as data: facts in, steps out (no Docker, no SSH).

use super::fixtures::{World, describe, synced};
use super::{Step, UnitAction};
use crate::galera::WsrepStatus;

const DEFAULT: &str = "inventory/example.yml";

fn lines(world: &World, phase: &str) -> Vec<String> {
    world
        .describe_phase(phase)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_converged_stack_plans_nothing() {
    let world = World::converged(DEFAULT);
    assert_eq!(describe(&world.steps()), "");
}

#[test]
fn bare_hosts_install_then_bootstrap_then_join_one_at_a_time() {
    let world = World::bare(DEFAULT);
    let steps = world.steps();
    let text = describe(&steps);
    let pos = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{text}"))
    };
    assert!(pos("db1: install") < pos("db1: load the firewall rules"));
    assert!(
        pos("db1: bootstrap a new Galera cluster on db1") < pos("db2: join the Galera cluster")
    );
    assert!(pos("db1: create the roster database") < pos("db2: join the Galera cluster"));
    assert!(pos("db2: join the Galera cluster") < pos("app1: start garb"));
    assert!(pos("app1: start garb") < pos("app1: start roster"));
    assert!(pos("app2: start roster") < pos("lb1: start haproxy"));
    // After the installation Debian's mariadb.socket is enabled: switched off before the start.
    assert!(pos("db1: disable mariadb.socket") < pos("db1: bootstrap"));
    // A join is one step; the node the bootstrap started from is not joined again.
    assert_eq!(text.matches("join the Galera cluster").count(), 1, "{text}");
}

#[test]
fn a_changed_haproxy_config_reloads_haproxy_backup_first_then_checks_the_vip() {
    let mut world = World::converged(DEFAULT);
    for lb in ["lb1", "lb2"] {
        world.change_file(lb, "/etc/haproxy/haproxy.cfg");
    }
    // The VIP sits on lb1 (converged): lb2 goes first.
    assert_eq!(
        lines(&world, "lb tier"),
        [
            "lb2: write /etc/haproxy/haproxy.cfg",
            "lb2: reload haproxy",
            "lb1: write /etc/haproxy/haproxy.cfg",
            "lb1: reload haproxy",
            "lb2: then wait until the frontend VIP 10.231.50.100:80 to serve the roster",
        ]
    );
}

#[test]
fn a_changed_roster_binary_restarts_app_hosts_one_at_a_time_each_gated() {
    let mut world = World::converged(DEFAULT);
    for app in ["app1", "app2"] {
        world.change_file(app, "/usr/local/bin/roster");
    }
    let text = world.describe_phase("app tier");
    assert_eq!(
        text,
        "app1: create the roster system user\n\
         app1: write /usr/local/bin/roster\n\
         app1: check the roster binary runs (--version)\n\
         app1: restart roster\n\
         app1: then wait until app1's roster to answer /healthz\n\
         app2: create the roster system user\n\
         app2: write /usr/local/bin/roster\n\
         app2: check the roster binary runs (--version)\n\
         app2: restart roster\n\
         app2: then wait until app2's roster to answer /healthz\n\
         app1: then wait until app1's roster to reach its database (/readyz)\n"
    );
}

#[test]
fn a_changed_galera_config_is_a_rolling_restart_one_node_at_a_time() {
    let mut world = World::converged(DEFAULT);
    for db in ["db1", "db2"] {
        world.change_file(db, "/etc/mysql/mariadb.conf.d/60-galera.cnf");
    }
    assert_eq!(
        lines(&world, "db tier"),
        [
            "db1: write /etc/mysql/mariadb.conf.d/60-galera.cnf",
            "db2: write /etc/mysql/mariadb.conf.d/60-galera.cnf",
            "db1: drain the DB VIP (when this node holds it, wait until another Synced node does)",
            "db1: rolling restart of mariadb (config changed), gated on Synced",
            "db1: let this node hold the DB VIP again",
            "db2: drain the DB VIP (when this node holds it, wait until another Synced node does)",
            "db2: rolling restart of mariadb (config changed), gated on Synced",
            "db2: let this node hold the DB VIP again",
        ]
    );
    // garbd stays in the cluster through a rolling restart.
    assert!(world.phase("arbiters").is_empty());
}

#[test]
fn a_node_outside_the_primary_component_joins_without_a_bootstrap() {
    let mut world = World::converged(DEFAULT);
    world
        .unit("db2", "mariadb.service", "inactive")
        .wsrep("db2", None);
    world.wsrep("db1", Some(synced(2)));
    assert_eq!(
        lines(&world, "db tier"),
        ["db2: join the Galera cluster, gated on Synced"]
    );
    assert!(world.phase("arbiters").is_empty(), "garbd is still in");
}

#[test]
fn a_join_an_interrupted_run_left_running_is_waited_for_before_the_users() {
    let mut world = World::converged(DEFAULT);
    world
        .unit("db2", "mariadb.service", "activating")
        .wsrep("db2", None);
    world.wsrep("db1", Some(synced(2)));
    world.facts["app2"]
        .files
        .remove(crate::render::context::ROSTER_ENV);
    let text = lines(&world, "db tier");
    assert_eq!(
        text,
        [
            "db2: join the Galera cluster (first waiting for the join an interrupted run started), gated on Synced",
            "db1: then wait until Synced in a Primary cluster of 1 or more",
            "db1: create the roster database and the accounts of app2",
        ]
    );
}

#[test]
fn after_a_total_outage_the_most_advanced_node_bootstraps_and_garbd_rejoins() {
    let mut world = World::converged(DEFAULT);
    for db in ["db1", "db2"] {
        // Both came back NON-PRIMARY and stay activating (garbd keeps no state).
        world.unit(db, "mariadb.service", "activating").wsrep(
            db,
            Some(WsrepStatus {
                cluster_status: "non-Primary".into(),
                cluster_size: 1,
                local_state: "Initialized".into(),
                last_committed: 5,
            }),
        );
    }
    world.grastate("db1", Some(41), false);
    world.grastate("db2", Some(42), false);
    let text = lines(&world, "db tier");
    assert_eq!(
        text,
        [
            "db1: wait for the Galera bootstrap an interrupted run left running",
            "db2: wait for the Galera bootstrap an interrupted run left running",
            "db1: stop mariadb (it runs outside any Primary component)",
            "db2: stop mariadb (it runs outside any Primary component)",
            "db2: bootstrap the Galera cluster from db2 (most advanced node, seqno 42)",
            "db1: create the roster database and the accounts of app1, app2 and the SST user",
            "db1: join the Galera cluster, gated on Synced",
        ]
    );
    assert_eq!(
        lines(&world, "arbiters"),
        [
            "app1: restart garb",
            "db1: then wait until Synced in a Primary cluster of 3 or more",
        ]
    );
}

#[test]
fn a_crashed_node_is_recovered_before_the_bootstrap_node_is_elected() {
    let mut world = World::converged(DEFAULT);
    for db in ["db1", "db2"] {
        world
            .unit(db, "mariadb.service", "inactive")
            .wsrep(db, None);
    }
    world.grastate("db1", Some(-1), false);
    world.grastate("db2", Some(7), true);
    let steps = world.phase("db tier");
    let bootstrap = steps
        .iter()
        .find(|s| matches!(s, Step::Bootstrap { .. }))
        .unwrap();
    assert_eq!(
        bootstrap.to_string(),
        "recover the last committed position on db1 (--wsrep-recover), then bootstrap the \
         Galera cluster from the most advanced node"
    );
    assert!(
        !steps
            .iter()
            .any(|s| matches!(s, Step::StopOutsidePrimary { .. }))
    );
}

#[test]
fn a_garbd_that_lost_its_cluster_is_restarted() {
    let mut world = World::converged(DEFAULT);
    // Both db nodes are in; the arbiter is not (size 2 of 3).
    world
        .wsrep("db1", Some(synced(2)))
        .wsrep("db2", Some(synced(2)));
    assert_eq!(
        lines(&world, "arbiters"),
        [
            "app1: restart garb",
            "db1: then wait until Synced in a Primary cluster of 3 or more",
        ]
    );
}

#[test]
fn only_a_new_sst_password_is_applied_without_a_restart() {
    let mut world = World::converged("examples/mini-cloud.yml");
    let db = world.inv.hosts_with(crate::inventory::Role::Db)[0].to_string();
    let secret = world.files[&db]
        .iter()
        .find(|f| f.unit == "mariadb" && f.secret)
        .map(|f| f.path.clone());
    let Some(secret) = secret else {
        // This example uses rsync SST: no password file, nothing to test here.
        return;
    };
    world.change_file(&db, &secret);
    let text = world.describe_phase("db tier");
    assert!(text.contains("apply the new SST password"), "{text}");
    assert!(!text.contains("rolling restart"), "{text}");
}

#[test]
fn a_change_a_stopped_run_left_unapplied_is_applied() {
    let mut world = World::converged(DEFAULT);
    world.pending("lb1", "haproxy");
    assert_eq!(
        lines(&world, "lb tier"),
        [
            "lb1: reload haproxy",
            "lb2: then wait until the frontend VIP 10.231.50.100:80 to serve the roster",
        ]
    );
    let mut world = World::converged(DEFAULT);
    world.pending("db1", "");
    assert_eq!(
        lines(&world, "sysctl"),
        ["db1: apply net.ipv4.ip_nonlocal_bind=1"]
    );
}

#[test]
fn the_web_pair_puts_nginx_and_the_vip_on_the_app_hosts() {
    let mut world = World::converged("examples/oncall-roster.yml");
    assert!(world.steps().is_empty(), "{}", describe(&world.steps()));
    let holders = world.inv.frontend_vip_holders();
    assert_eq!(holders, ["web1", "web2"]);
    world.change_file("web1", "/etc/keepalived/keepalived.conf");
    let steps = world.phase("lb tier");
    assert!(steps.contains(&Step::Systemctl {
        host: "web1".into(),
        action: UnitAction::Reload,
        unit: "keepalived".into(),
    }));
    assert!(
        describe(&steps).contains("the frontend VIP 172.28.10.100:80 to serve the roster")
            || describe(&steps).contains("to serve the roster"),
        "{}",
        describe(&steps)
    );
    assert_eq!(
        super::services(&world.inv, "web1")[..2],
        ["roster", "nginx"]
    );
}

#[test]
fn a_stopped_unit_is_started_not_reloaded() {
    let mut world = World::converged(DEFAULT);
    world.unit("lb2", "haproxy.service", "inactive");
    assert_eq!(
        lines(&world, "lb tier"),
        ["lb2: start haproxy"],
        "keepalived runs and nothing changed: no VIP gate"
    );
}

#[test]
fn a_lost_firewall_table_is_loaded_again_on_that_host_only() {
    let mut world = World::converged(DEFAULT);
    world.facts["app2"].firewall = None;
    assert_eq!(
        lines(&world, "firewall"),
        [
            "app2: load the firewall rules (no minicloud table is loaded), kept only if a new SSH connection confirms them"
        ]
    );
}

#[test]
fn no_drain_when_no_other_node_runs_keepalived() {
    let mut world = World::converged(DEFAULT);
    world.change_file("db1", "/etc/mysql/mariadb.conf.d/60-galera.cnf");
    world.unit("db2", "keepalived.service", "inactive");
    let text = world.describe_phase("db tier");
    assert!(text.contains("db1: rolling restart"), "{text}");
    assert!(!text.contains("drain"), "nobody could take the VIP: {text}");
}

#[test]
fn without_a_db_vip_a_rolling_restart_drains_nothing() {
    let mut world = World::converged("examples/mini-cloud.yml");
    if world.inv.services.db_vip.is_some() {
        world.inv.services.db_vip = None;
    }
    let db = world.inv.hosts_with(crate::inventory::Role::Db)[0].to_string();
    world.change_file(&db, "/etc/mysql/mariadb.conf.d/60-galera.cnf");
    let text = world.describe_phase("db tier");
    assert!(text.contains("rolling restart"), "{text}");
    assert!(!text.contains("DB VIP"), "{text}");
}
