//! The db tier of `up`: Galera in quorum-safe order, then the app's database users, then the
//! DB VIP (keepalived, only ever on a Synced node).
//!
//! - No node in a Primary component: bootstrap from the most advanced node (grastate.dat, or
//!   `--wsrep-recover` after a crash), never from a stale one; then join the others.
//! - Join one node at a time; each must be Synced in the Primary component before the next.
//! - A running node whose config changed gets a restart, one node at a time, under the same gate.

use super::session::gate;
use super::{Stack, commands};
use crate::galera::{self, NodePosition, WsrepStatus};
use crate::inventory::{Net, Role};
use anyhow::{Result, bail};
use std::time::{Duration, Instant};

/// A node may take long to join: a full state transfer copies the whole dataset.
const JOIN_TIMEOUT: Duration = Duration::from_secs(600);
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a join left running by an interrupted run is given before it counts as stuck.
const INTERRUPTED_JOIN_TIMEOUT: Duration = Duration::from_secs(120);

/// Live Galera status of a db host (None when mariadb does not answer).
async fn status(stack: &Stack<'_>, host: &str) -> Result<Option<WsrepStatus>> {
    let out = stack.session(host).run(&commands::wsrep_status()).await?;
    Ok(if out.success() {
        galera::parse_wsrep_status(&out.stdout_text())
    } else {
        None
    })
}

/// Gate state: None when `host` is Synced in a Primary component of at least `size` members.
pub(crate) async fn size_state(stack: &Stack<'_>, host: &str, size: u32) -> Result<Option<String>> {
    Ok(match status(stack, host).await? {
        Some(s) if s.is_synced_primary() && s.cluster_size >= size => None,
        Some(s) => Some(format!(
            "{host}: {} {} size {}",
            s.cluster_status, s.local_state, s.cluster_size
        )),
        None => Some(format!("{host}: mariadb not answering")),
    })
}

async fn wait_synced(stack: &Stack<'_>, host: &str, size: u32, timeout: Duration) -> Result<()> {
    stack.step(format!(
        "{host}: waiting until Synced in a Primary cluster of {size}"
    ));
    gate(
        &format!("{host} to be Synced in a Primary cluster of {size}"),
        timeout,
        || size_state(stack, host, size),
    )
    .await
}

pub(crate) async fn converge_db(stack: &Stack<'_>) -> Result<()> {
    let db = stack.hosts_with(Role::Db);
    for host in &db {
        // Enabled first: Debian's mariadb.service says Also=mariadb.socket, so enabling it
        // later would bring the socket back.
        if !stack.facts[*host].unit("mariadb.service").is_enabled() {
            stack.session(host).systemctl("enable", "mariadb").await?;
        }
        // Debian's socket unit holds port 3306, and mariadbd then cannot bind it.
        let socket = stack.facts[*host].unit("mariadb.socket");
        if socket.is_active() || socket.is_enabled() {
            stack
                .session(host)
                .systemctl("disable --now", "mariadb.socket")
                .await?;
            stack.changed(host, "disabled mariadb.socket (it holds port 3306)");
        }
    }
    let mut config_changed = Vec::new();
    // Nodes where only the SST password file changed: applied with SET GLOBAL, no restart.
    let mut sst_auth_changed = Vec::new();
    let mut sst_password_changed = false;
    for host in &db {
        let files = stack.changed_files(host, Some("mariadb"));
        let secret_changed = files.iter().any(|f| f.secret);
        let only_secret = secret_changed && files.iter().all(|f| f.secret);
        sst_password_changed |= secret_changed;
        if stack.put_changed(host, "mariadb").await? {
            if only_secret {
                sst_auth_changed.push(*host);
            } else {
                config_changed.push(*host);
            }
        }
    }
    let mut primary: Vec<&str> = Vec::new();
    for host in &db {
        if let Some(s) = &stack.facts[*host].wsrep
            && s.is_primary()
        {
            primary.push(host);
        }
    }
    let mut bootstrapped = false;
    if primary.is_empty() {
        let first = bootstrap(stack, &db).await?;
        primary.push(first);
        bootstrapped = true;
    } else {
        // A join an interrupted run started goes on in systemd after the run is gone: let it
        // finish (it is the join this run would make) rather than write to the cluster while
        // it transfers state (CREATE DATABASE then fails with "Lock wait timeout") or stop it
        // half-way. A node that does not get there in time is stopped and joined below.
        for host in &db {
            if primary.contains(host) || !stack.facts[*host].unit("mariadb.service").is_activating()
            {
                continue;
            }
            stack.step(format!(
                "{host}: waiting for the join an interrupted run started"
            ));
            let size = primary.len() as u32 + 1;
            let joined = gate(
                &format!("{host}'s join to finish"),
                INTERRUPTED_JOIN_TIMEOUT,
                || size_state(stack, host, size),
            )
            .await;
            super::interrupt::refuse_after_ctrl_c(host, "joining the cluster")?;
            if joined.is_ok() {
                // Started (by the earlier run) after its config was written.
                stack.applied(host, "mariadb").await?;
                primary.push(host);
                stack.changed(
                    host,
                    format!(
                        "joined the Galera cluster (Synced, {size} db nodes; a join an \
                         interrupted run started)"
                    ),
                );
            }
        }
    }
    // Accounts before any node joins: a joiner's state transfer (mariabackup) logs into its
    // donor as the SST user. App hosts' accounts: all of them for a new cluster, else those of
    // new app hosts. A changed password of an existing app host is set by the app tier, just
    // before that host restarts with it, so no other host loses its database meanwhile.
    let apps = stack.hosts_with(Role::App);
    let new_accounts: Vec<&str> = if bootstrapped {
        apps
    } else {
        apps.into_iter()
            .filter(|h| {
                !stack.facts[*h]
                    .files
                    .contains_key(crate::render::context::ROSTER_ENV)
            })
            .collect()
    };
    if !new_accounts.is_empty() || bootstrapped || sst_password_changed {
        // A join an interrupted run started goes on in systemd after the run is gone, and an
        // rsync donor blocks writes (DDL times out with "Lock wait timeout") until its state
        // transfer ends: wait until the node is Synced again before writing to it.
        wait_synced(stack, primary[0], 1, JOIN_TIMEOUT).await?;
        database_users(
            stack,
            primary[0],
            &new_accounts,
            bootstrapped || sst_password_changed,
        )
        .await?;
    }
    for host in sst_auth_changed.iter().filter(|h| primary.contains(h)) {
        let sql = commands::sst_auth(
            crate::render::context::SST_USER,
            &stack.secrets.sst_password,
        );
        stack
            .session(host)
            .must_with_stdin(
                "applying the SST password",
                "mariadb --batch",
                sql.as_bytes(),
            )
            .await?;
        stack.changed(host, "applied the new SST password (no restart needed)");
        stack.applied(host, "mariadb").await?;
    }
    // Join the nodes that are not in the Primary component, one at a time.
    for host in &db {
        if primary.contains(host) {
            continue;
        }
        stack.step(format!("{host}: joining the cluster"));
        let state = stack.facts[*host].unit("mariadb.service");
        if state.is_activating() || (state.is_active() && stack.facts[*host].wsrep.is_none()) {
            stack
                .session(host)
                .must("stopping a stuck mariadb", commands::kill_mariadb())
                .await?;
        }
        let started = Instant::now();
        stack.session(host).systemctl("restart", "mariadb").await?;
        primary.push(host);
        wait_synced(stack, host, primary.len() as u32, JOIN_TIMEOUT).await?;
        // Started after its config was written: the change is in effect on this node.
        stack.applied(host, "mariadb").await?;
        stack.host_work("Galera state transfer to joiners", started, false);
        stack.changed(
            host,
            format!(
                "joined the Galera cluster (Synced, {} db nodes)",
                primary.len()
            ),
        );
    }
    // Rolling restarts where the config changed on a node that was already running.
    for host in &config_changed {
        let was_running = stack.facts[*host]
            .wsrep
            .as_ref()
            .is_some_and(|s| s.is_primary());
        if !was_running {
            continue;
        }
        let size = status(stack, host)
            .await?
            .map(|s| s.cluster_size)
            .unwrap_or(db.len() as u32);
        stack.step(format!("{host}: rolling restart"));
        stack.session(host).systemctl("restart", "mariadb").await?;
        wait_synced(stack, host, size, JOIN_TIMEOUT).await?;
        stack.applied(host, "mariadb").await?;
        stack.changed(host, "restarted mariadb (config changed), Synced again");
    }
    // Every node now runs its config: started, joined or restarted with it (each node's marker
    // went as soon as it did; this catches a node that needed nothing).
    for host in &db {
        stack.applied(host, "mariadb").await?;
    }
    db_vip(stack, &db).await
}

/// Start a new cluster from the most advanced node. Returns it.
async fn bootstrap<'s>(stack: &Stack<'_>, db: &[&'s str]) -> Result<&'s str> {
    // A bootstrap an earlier run started (and left running when it was killed) must finish,
    // not be stopped as a stuck mariadb: wait for it; if it made a Primary component, that is
    // the cluster to join.
    for host in db {
        if !stack.facts[*host].unit("mariadb.service").is_activating() {
            continue;
        }
        let waited = stack
            .session(host)
            .must(
                "waiting for an earlier run's Galera bootstrap",
                &commands::wait_for_bootstrap(BOOTSTRAP_TIMEOUT.as_secs()),
            )
            .await?;
        if waited.stdout_text().contains("waited") && size_state(stack, host, 1).await?.is_none() {
            stack.changed(
                host,
                "the Galera bootstrap an interrupted run started finished (Primary)",
            );
            stack.applied(host, "mariadb").await?;
            return Ok(host);
        }
    }
    let mut positions = Vec::new();
    for host in db {
        let facts = &stack.facts[*host];
        let state = facts.unit("mariadb.service");
        if state.is_active() || state.is_activating() {
            // Running but not Primary: it waits for peers that will never come back (after a
            // total outage garbd has no state to re-form the old view with).
            stack.step(format!(
                "{host}: stopping a mariadb that is not in a Primary component"
            ));
            stack
                .session(host)
                .must("stopping mariadb", commands::kill_mariadb())
                .await?;
            stack.changed(
                host,
                "stopped mariadb (running outside any Primary component)",
            );
        }
        let position = match &facts.grastate {
            None => NodePosition {
                host: host.to_string(),
                seqno: None,
                safe_to_bootstrap: false,
                fresh: true,
            },
            Some(g) if g.seqno >= 0 => NodePosition {
                host: host.to_string(),
                seqno: Some(g.seqno),
                safe_to_bootstrap: g.safe_to_bootstrap,
                fresh: false,
            },
            Some(g) => {
                stack.step(format!(
                    "{host}: recovering the last committed position (--wsrep-recover)"
                ));
                let out = stack.session(host).run(commands::wsrep_recover()).await?;
                let recovered =
                    galera::parse_recovered_position(&out.stdout_text()).map(|(_, seqno)| seqno);
                NodePosition {
                    host: host.to_string(),
                    seqno: recovered,
                    safe_to_bootstrap: g.safe_to_bootstrap,
                    fresh: false,
                }
            }
        };
        positions.push(position);
    }
    let chosen = galera::choose_bootstrap(&positions)
        .map_err(|why| anyhow::anyhow!("cannot bootstrap Galera: {why}"))?;
    let host = db
        .iter()
        .copied()
        .find(|h| *h == chosen.host)
        .expect("chosen among db hosts");
    let why = match chosen.seqno {
        Some(seqno) => format!("most advanced node, seqno {seqno}"),
        None => "new cluster".to_string(),
    };
    stack.step(format!("{host}: bootstrapping the Galera cluster ({why})"));
    let started = Instant::now();
    stack
        .session(host)
        .must_finish("bootstrapping Galera", &commands::bootstrap_cluster())
        .await?;
    wait_synced(stack, host, 1, BOOTSTRAP_TIMEOUT).await?;
    stack.applied(host, "mariadb").await?;
    stack.host_work("MariaDB start (new cluster)", started, false);
    stack.changed(host, format!("bootstrapped the Galera cluster ({why})"));
    Ok(host)
}

/// The roster's database and the accounts of `app_hosts` (run on db host `host`), and the SST
/// user when `with_sst` and mariabackup is used.
pub(super) async fn database_users(
    stack: &Stack<'_>,
    host: &str,
    app_hosts: &[&str],
    with_sst: bool,
) -> Result<()> {
    let roster = &stack.inv.services.roster;
    let apps: Vec<String> = app_hosts
        .iter()
        .filter_map(|h| stack.inv.address(h, Net::Backend))
        .map(|a| a.to_string())
        .collect();
    let sst = (with_sst
        && stack.inv.services.galera.sst_method == crate::inventory::SstMethod::Mariabackup)
        .then_some((
            crate::render::context::SST_USER,
            stack.secrets.sst_password.as_str(),
        ));
    let sql = commands::database_users(
        &roster.database,
        &roster.db_user,
        &apps,
        &stack.secrets.roster_db_password,
        sst,
    );
    stack
        .session(host)
        .must_with_stdin(
            "creating the roster database and users",
            "mariadb --batch",
            sql.as_bytes(),
        )
        .await?;
    let mut what = format!(
        "database {} and user {} for {}",
        roster.database,
        roster.db_user,
        if app_hosts.is_empty() {
            "no new app host".to_string()
        } else {
            app_hosts.join(", ")
        }
    );
    if sst.is_some() {
        what.push_str(", SST user");
    }
    stack.changed(host, what);
    Ok(())
}

/// keepalived for the DB VIP on every db host, then the VIP must sit on exactly one Synced node.
async fn db_vip(stack: &Stack<'_>, db: &[&str]) -> Result<()> {
    let Some(vip) = &stack.inv.services.db_vip else {
        return Ok(());
    };
    let vip = vip.address.to_string();
    let mut touched = false;
    for host in db {
        let changed = stack.put_changed(host, "keepalived").await?;
        stack
            .ensure_unit(host, "keepalived", changed, "reload")
            .await?;
        touched |= changed || !stack.facts[*host].unit("keepalived.service").is_active();
    }
    if !touched {
        return Ok(());
    }
    stack.step(format!("waiting for the DB VIP {vip} on a Synced node"));
    gate(
        &format!("the DB VIP {vip} on exactly one Synced db host"),
        Duration::from_secs(30),
        || async {
            let mut holders = Vec::new();
            for host in db {
                let out = stack.session(host).run("ip -o -4 addr show").await?;
                if crate::facts::parse_ipv4_addrs(&out.stdout_text())
                    .iter()
                    .any(|(_, a)| *a == vip)
                {
                    holders.push(*host);
                }
            }
            match holders[..] {
                [one] => match size_state(stack, one, 1).await? {
                    None => Ok(None),
                    Some(state) => bail!("the DB VIP sits on {one}, which is not Synced ({state})"),
                },
                _ => Ok(Some(format!("held by {holders:?}"))),
            }
        },
    )
    .await
}

/// What the db tier would do on `host` beyond its files (for `plan`).
pub(crate) fn plan_notes(stack: &Stack<'_>, host: &str) -> Vec<String> {
    if !stack.inv.hosts[host].has(Role::Db) {
        return Vec::new();
    }
    let db = stack.hosts_with(Role::Db);
    let any_primary = db.iter().any(|h| {
        stack.facts[*h]
            .wsrep
            .as_ref()
            .is_some_and(|s| s.is_primary())
    });
    let facts = &stack.facts[host];
    let in_primary = facts.wsrep.as_ref().is_some_and(|s| s.is_primary());
    if !any_primary {
        vec!["no Galera node is in a Primary component: bootstrap from the most advanced node, then join the others".into()]
    } else if !in_primary {
        vec!["join the running Galera cluster (gated on Synced)".into()]
    } else if !stack.changed_files(host, Some("mariadb")).is_empty() {
        vec!["rolling restart of mariadb (config changed), gated on Synced".into()]
    } else {
        Vec::new()
    }
}
