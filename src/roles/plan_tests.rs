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

// `--limit`: the planners still see every host; only the limited hosts' changes are kept.

/// The hosts of `steps`, each once, in order.
fn hosts_of(steps: &[Step]) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for step in steps {
        if !hosts.iter().any(|h| h == step.host()) {
            hosts.push(step.host().to_string());
        }
    }
    hosts
}

#[test]
fn a_limited_plan_changes_only_the_limited_hosts() {
    let mut world = World::converged(DEFAULT);
    for app in ["app1", "app2"] {
        world.change_file(app, "/usr/local/bin/roster");
    }
    world.limit("app1", &[]);
    let steps = world.steps();
    assert_eq!(hosts_of(&steps), ["app1"], "{}", describe(&steps));
    assert!(describe(&steps).contains("app1: restart roster"));
}

/// Found on the lab: after `up --limit app1`, app2's pending change still planned the app
/// tier's closing /readyz gate on app1, so `plan --limit app1` was not in sync.
#[test]
fn a_limited_host_in_sync_gets_no_gate_for_a_change_outside_the_limit() {
    let mut world = World::converged(DEFAULT);
    world.change_file("app2", "/usr/local/bin/roster");
    world.limit("app1", &[]);
    let steps = world.steps();
    assert!(steps.is_empty(), "{}", describe(&steps));
}

#[test]
fn bare_hosts_limited_to_one_lb_get_that_lb_only_and_no_bootstrap() {
    let mut world = World::bare(DEFAULT);
    world.limit("lb1", &[]);
    let steps = world.steps();
    assert_eq!(hosts_of(&steps), ["lb1"], "{}", describe(&steps));
    assert!(describe(&steps).contains("lb1: install haproxy keepalived nftables"));
}

#[test]
fn a_gate_on_a_host_outside_the_limit_still_guards_the_limited_change() {
    let mut world = World::converged(DEFAULT);
    world.change_file("app2", "/usr/local/bin/roster");
    world.limit("app2", &[]);
    let text = describe(&world.steps());
    // app2 restarts; app1 is only read: the tier's readiness gate runs there.
    assert!(text.contains("app2: restart roster"), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("app1:"))
            .collect::<Vec<_>>(),
        ["app1: then wait until app1's roster to reach its database (/readyz)"]
    );
    assert!(
        world
            .steps()
            .iter()
            .filter(|s| s.host() != "app2")
            .all(|s| !s.is_change())
    );
}

#[test]
fn a_limited_rolling_restart_reads_the_other_nodes_facts() {
    let mut world = World::converged(DEFAULT);
    for db in ["db1", "db2"] {
        world.change_file(db, "/etc/mysql/mariadb.conf.d/60-galera.cnf");
    }
    world.limit("db2", &[]);
    assert_eq!(
        lines(&world, "db tier"),
        [
            "db2: write /etc/mysql/mariadb.conf.d/60-galera.cnf",
            "db2: drain the DB VIP (when this node holds it, wait until another Synced node does)",
            "db2: rolling restart of mariadb (config changed), gated on Synced",
            "db2: let this node hold the DB VIP again",
        ]
    );
    // The drain is decided on db1's facts: with its keepalived stopped, nobody could take the
    // VIP, so db2 is not drained (and db1's keepalived, outside the limit, is not started).
    world.unit("db1", "keepalived.service", "inactive");
    let steps = world.phase("db tier");
    let text = describe(&steps);
    assert!(!text.contains("drain"), "{text}");
    assert!(
        steps
            .iter()
            .filter(|s| s.host() == "db1")
            .all(|s| !s.is_change()),
        "{text}"
    );
}

#[test]
fn a_restart_limited_to_one_node_is_refused_while_the_other_is_out_of_the_cluster() {
    let mut world = World::converged(DEFAULT);
    world.change_file("db1", "/etc/mysql/mariadb.conf.d/60-galera.cnf");
    world
        .unit("db2", "mariadb.service", "inactive")
        .wsrep("db2", None);
    world.wsrep("db1", Some(synced(2)));
    world.limit("db1", &[]);
    let refusal = world.try_steps().unwrap_err();
    assert!(
        refusal
            .message
            .contains("db2 is outside --limit and not in the Primary component"),
        "{refusal}"
    );
    assert!(refusal.hint.contains("add db2 to --limit"), "{refusal}");
    // With db2 in the limit, it joins first and db1 then restarts.
    world.limit("db", &[]);
    let text = world.describe_phase("db tier");
    let join = text.find("db2: join").expect("db2 joins");
    let restart = text.find("db1: rolling restart").expect("db1 restarts");
    assert!(join < restart, "{text}");
}

#[test]
fn a_bootstrap_is_refused_unless_every_db_host_is_in_the_limit() {
    let mut world = World::converged(DEFAULT);
    for db in ["db1", "db2"] {
        world
            .unit(db, "mariadb.service", "inactive")
            .wsrep(db, None)
            .grastate(db, Some(7), db == "db2");
    }
    world.limit("db1", &[]);
    let refusal = world.try_steps().unwrap_err();
    assert!(
        refusal
            .message
            .contains("no Galera node is in a Primary component")
    );
    assert!(
        refusal.message.contains("db2 is outside --limit"),
        "{refusal}"
    );
    // An app host alone needs the cluster's accounts, which the bootstrap makes: refused too.
    world.limit("app2", &[]);
    assert!(world.try_steps().is_err());
    // Every db host: the most advanced one (db2, safe_to_bootstrap) bootstraps.
    world.limit("db", &[]);
    let text = describe(&world.steps());
    assert!(
        text.contains("db2: bootstrap the Galera cluster from db2"),
        "{text}"
    );
    // A limit that leaves the db tier alone goes ahead without it.
    world.change_file("lb1", "/etc/haproxy/haproxy.cfg");
    world.limit("lb", &[]);
    let steps = world.steps();
    assert!(describe(&steps).contains("lb1: reload haproxy"));
    assert!(steps.iter().all(|s| s.host().starts_with("lb")));
}

#[test]
fn a_new_app_hosts_accounts_are_kept_narrowed_to_the_limit() {
    let mut world = World::converged(DEFAULT);
    for app in ["app1", "app2"] {
        world.facts[app]
            .files
            .remove(crate::render::context::ROSTER_ENV);
    }
    world.limit("app2", &[]);
    let steps = world.phase("db tier");
    assert_eq!(
        describe(&steps),
        "db1: then wait until Synced in a Primary cluster of 1 or more\n\
         db1: create the roster database and the accounts of app2\n"
    );
    assert!(matches!(
        &steps[1],
        Step::DatabaseUsers { apps, with_sst: false, .. } if apps == &["app2".to_string()]
    ));
}

#[test]
fn an_unreachable_host_outside_the_limit_is_not_needed_for_an_unrelated_change() {
    let mut world = World::converged(DEFAULT);
    world.change_file("app1", "/usr/local/bin/roster");
    world.limit("app1", &["lb1"]);
    let steps = world.steps();
    assert_eq!(hosts_of(&steps), ["app1"], "{}", describe(&steps));
    assert_eq!(world.scope.warnings().len(), 1);
    assert!(world.scope.warnings()[0].starts_with("lb1 is outside --limit and unreachable"));
}

#[test]
fn an_unreachable_host_whose_facts_decide_a_limited_step_refuses_the_run() {
    let mut world = World::converged(DEFAULT);
    world.change_file("db1", "/etc/mysql/mariadb.conf.d/60-galera.cnf");
    world.limit("db1", &["db2"]);
    let refusal = world.try_steps().unwrap_err();
    assert!(
        refusal
            .message
            .starts_with("db2 is outside --limit and unreachable (connection refused)"),
        "{refusal}"
    );
    assert!(
        refusal
            .to_string()
            .contains("nothing was changed on any host")
    );
}

#[test]
fn an_unreachable_host_a_kept_gate_runs_on_refuses_the_run() {
    let mut world = World::converged(DEFAULT);
    world.change_file("app2", "/usr/local/bin/roster");
    world.limit("app2", &["app1"]);
    let refusal = world.try_steps().unwrap_err();
    assert!(
        refusal
            .message
            .contains("app1 is outside --limit and unreachable")
    );
    assert!(refusal.message.contains("runs there"), "{refusal}");
}

#[test]
fn without_a_limit_nothing_is_filtered() {
    let mut unlimited = World::bare(DEFAULT);
    let all = unlimited.steps();
    unlimited.limit("lb,app,db", &[]);
    assert_eq!(unlimited.steps(), all);
}
