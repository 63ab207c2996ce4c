//! The steps `up` executes and `plan` prints: typed data, produced by the role planners from
//! (inventory, facts) and run by `converge::execute`. Because both commands get their steps
//! from the same planners, `plan` cannot describe a run that `up` would not make.
//!
//! A step is either a change (it alters a host) or a check (a gate that must hold before the
//! next step; it changes nothing). A step that meets a contingency at run time (a join an
//! interrupted run left going, the node a crash recovery elects) handles it inside itself, so
//! the sequence of steps is decided before anything runs.

use serde::Serialize;
use std::fmt;

/// What `systemctl` does to a unit in a [`Step::Systemctl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitAction {
    /// `enable --now`: a unit that is not running.
    Start,
    /// `restart`: the unit stops and starts with its new files.
    Restart,
    /// `reload`: the running daemon rereads its files.
    Reload,
    /// Enable at boot (it runs already).
    Enable,
    /// `disable --now`.
    Disable,
}

impl UnitAction {
    /// The `systemctl` verb(s).
    pub fn verb(self) -> &'static str {
        match self {
            UnitAction::Start => "enable --now",
            UnitAction::Restart => "restart",
            UnitAction::Reload => "reload",
            UnitAction::Enable => "enable",
            UnitAction::Disable => "disable --now",
        }
    }

    /// The past tense a report line uses ("reloaded haproxy").
    pub fn done(self) -> &'static str {
        match self {
            UnitAction::Start => "started",
            UnitAction::Restart => "restarted",
            UnitAction::Reload => "reloaded",
            UnitAction::Enable => "enabled",
            UnitAction::Disable => "disabled",
        }
    }

    /// Whether the unit runs its (possibly new) files afterwards, so a change marker of it can go.
    pub fn applies_files(self) -> bool {
        matches!(
            self,
            UnitAction::Start | UnitAction::Restart | UnitAction::Reload
        )
    }
}

/// A condition that must hold before the run goes on. Checked on the step's host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "gate", rename_all = "snake_case")]
pub enum Gate {
    /// A GET from the host answers 200.
    Http {
        what: String,
        address: String,
        port: u16,
        path: String,
        timeout_secs: u64,
    },
    /// The host is Synced in a Primary Galera component of at least `size` members.
    Synced { size: u32, timeout_secs: u64 },
    /// The DB VIP sits on exactly one db host, and that host is Synced.
    DbVip { vip: String, db_hosts: Vec<String> },
}

/// Why a Galera bootstrap starts from the node it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum BootstrapFrom {
    /// No db node has any state: a new cluster on the first.
    NewCluster { host: String },
    /// Every position is known from `grastate.dat`: the most advanced node.
    Known { host: String, seqno: i64 },
    /// Some positions must be recovered (`--wsrep-recover`) first: the most advanced node is
    /// elected once they are.
    AfterRecovery { recover: Vec<String> },
}

/// One step of a run, on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// `apt-get install` (Debian's automatic service starts held).
    Install { host: String, packages: Vec<String> },
    /// Load minicloud's nftables table under a dead-man switch, kept once a new SSH
    /// connection gets in.
    LoadFirewall { host: String, reason: String },
    /// Write one managed file (checked by its daemon's checker, atomically). `unit` is the
    /// unit it feeds, whose change marker is set first; None: no marker (the firewall's boot
    /// unit, which the firewall step confirms by itself).
    Write {
        host: String,
        path: String,
        unit: Option<String>,
    },
    /// `systemctl daemon-reload` after a unit file was written.
    DaemonReload { host: String },
    /// `systemctl ACTION UNIT`.
    Systemctl {
        host: String,
        action: UnitAction,
        unit: String,
    },
    /// `net.ipv4.ip_nonlocal_bind=1` now, unless it already is.
    ApplySysctl { host: String },
    /// Galera: wait for a bootstrap an interrupted run left running on `host`; a Primary
    /// component made by it is the cluster this run joins.
    AwaitBootstrap { host: String },
    /// Galera: stop a mariadb that runs outside any Primary component (it waits for peers
    /// that will never come back), before a bootstrap.
    StopOutsidePrimary { host: String },
    /// Galera: start a new cluster (see [`BootstrapFrom`]). Skipped when an awaited
    /// bootstrap made one.
    Bootstrap { host: String, from: BootstrapFrom },
    /// Galera: bring the node into the Primary component (restart, gated on Synced); with
    /// `interrupted`, first give the join an interrupted run started time to finish. Nothing
    /// to do for the node a bootstrap of this run started from.
    Join { host: String, interrupted: bool },
    /// Galera: before a planned restart, keep the node from holding the DB VIP; when it holds
    /// it, wait until another Synced node does (the app's pool reconnects and retries, no
    /// request is lost, and the restart then cuts no client).
    DrainDbVip { host: String },
    /// Galera: restart a running node whose config changed, gated on Synced.
    RollingRestart { host: String },
    /// Galera: the node may hold the DB VIP again (it stays where it is: `nopreempt`).
    UndrainDbVip { host: String },
    /// The roster's database and the accounts of `apps` (and the SST user), on a node of the
    /// Primary component (`host` when it is one, else the node this run bootstrapped).
    DatabaseUsers {
        host: String,
        apps: Vec<String>,
        with_sst: bool,
    },
    /// Galera: a new SST password applied with SET GLOBAL (no restart).
    SstPassword { host: String },
    /// garbd (re)started: it can only join a Primary component.
    StartArbiter { host: String, restart: bool },
    /// The system user the roster runs as.
    RosterUser { host: String },
    /// The shipped roster binary runs on the host (`roster --version`).
    CheckRoster { host: String },
    /// `mkdir -p` the synced folders (every run: it costs nothing and checks nothing).
    SyncedFolders { host: String, paths: Vec<String> },
    /// Aerospike: copy the server package the inventory names to the host.
    UploadAerospike { host: String, to: String },
    /// Aerospike: install the uploaded package.
    InstallAerospike { host: String },
    /// Aerospike: start (or restart) and wait until `asinfo` reports `cluster_size` nodes.
    StartAerospike {
        host: String,
        restart: bool,
        cluster_size: usize,
    },
    /// Wait until `gate` holds (a check: it changes nothing).
    Wait { host: String, gate: Gate },
}

impl Step {
    /// The host the step runs on.
    pub fn host(&self) -> &str {
        match self {
            Step::Install { host, .. }
            | Step::LoadFirewall { host, .. }
            | Step::Write { host, .. }
            | Step::DaemonReload { host }
            | Step::Systemctl { host, .. }
            | Step::ApplySysctl { host }
            | Step::AwaitBootstrap { host }
            | Step::StopOutsidePrimary { host }
            | Step::Bootstrap { host, .. }
            | Step::Join { host, .. }
            | Step::RollingRestart { host }
            | Step::DrainDbVip { host }
            | Step::UndrainDbVip { host }
            | Step::DatabaseUsers { host, .. }
            | Step::SstPassword { host }
            | Step::StartArbiter { host, .. }
            | Step::RosterUser { host }
            | Step::CheckRoster { host }
            | Step::SyncedFolders { host, .. }
            | Step::UploadAerospike { host, .. }
            | Step::InstallAerospike { host }
            | Step::StartAerospike { host, .. }
            | Step::Wait { host, .. } => host,
        }
    }

    /// Whether the step changes its host; checks (gates, `roster --version`, idempotent
    /// `mkdir -p`) do not, and a plan made only of them is in sync.
    pub fn is_change(&self) -> bool {
        !matches!(
            self,
            Step::Wait { .. }
                | Step::CheckRoster { .. }
                | Step::SyncedFolders { .. }
                | Step::AwaitBootstrap { .. }
        )
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gate::Http { what, .. } => write!(f, "{what}"),
            Gate::Synced { size, .. } => {
                write!(f, "Synced in a Primary cluster of {size} or more")
            }
            Gate::DbVip { vip, .. } => write!(f, "the DB VIP {vip} on exactly one Synced db host"),
        }
    }
}

/// What `plan` says of a step (a written file's diff comes from the file, not from here).
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Install { packages, .. } => write!(f, "install {}", packages.join(" ")),
            Step::LoadFirewall { reason, .. } => write!(
                f,
                "load the firewall rules ({reason}), kept only if a new SSH connection confirms them"
            ),
            Step::Write { path, .. } => write!(f, "write {path}"),
            Step::DaemonReload { .. } => write!(f, "systemctl daemon-reload"),
            Step::Systemctl { action, unit, .. } => {
                let verb = match action {
                    UnitAction::Start => "start",
                    UnitAction::Restart => "restart",
                    UnitAction::Reload => "reload",
                    UnitAction::Enable => "enable",
                    UnitAction::Disable => "disable",
                };
                write!(f, "{verb} {unit}")
            }
            Step::ApplySysctl { .. } => write!(f, "apply net.ipv4.ip_nonlocal_bind=1"),
            Step::AwaitBootstrap { .. } => write!(
                f,
                "wait for the Galera bootstrap an interrupted run left running"
            ),
            Step::StopOutsidePrimary { .. } => {
                write!(f, "stop mariadb (it runs outside any Primary component)")
            }
            Step::Bootstrap { from, .. } => match from {
                BootstrapFrom::NewCluster { host } => {
                    write!(f, "bootstrap a new Galera cluster on {host}")
                }
                BootstrapFrom::Known { host, seqno } => write!(
                    f,
                    "bootstrap the Galera cluster from {host} (most advanced node, seqno {seqno})"
                ),
                BootstrapFrom::AfterRecovery { recover } => write!(
                    f,
                    "recover the last committed position on {} (--wsrep-recover), then bootstrap \
                     the Galera cluster from the most advanced node",
                    recover.join(", ")
                ),
            },
            Step::Join { interrupted, .. } => {
                if *interrupted {
                    write!(
                        f,
                        "join the Galera cluster (first waiting for the join an interrupted run \
                         started), gated on Synced"
                    )
                } else {
                    write!(f, "join the Galera cluster, gated on Synced")
                }
            }
            Step::DrainDbVip { .. } => write!(
                f,
                "drain the DB VIP (when this node holds it, wait until another Synced node does)"
            ),
            Step::UndrainDbVip { .. } => write!(f, "let this node hold the DB VIP again"),
            Step::RollingRestart { .. } => write!(
                f,
                "rolling restart of mariadb (config changed), gated on Synced"
            ),
            Step::DatabaseUsers { apps, with_sst, .. } => {
                let apps = if apps.is_empty() {
                    "no new app host".to_string()
                } else {
                    apps.join(", ")
                };
                let sst = if *with_sst { " and the SST user" } else { "" };
                write!(
                    f,
                    "create the roster database and the accounts of {apps}{sst}"
                )
            }
            Step::SstPassword { .. } => {
                write!(f, "apply the new SST password (SET GLOBAL, no restart)")
            }
            Step::StartArbiter { restart, .. } => {
                write!(f, "{} garb", if *restart { "restart" } else { "start" })
            }
            Step::RosterUser { .. } => write!(f, "create the roster system user"),
            Step::CheckRoster { .. } => write!(f, "check the roster binary runs (--version)"),
            Step::SyncedFolders { paths, .. } => {
                write!(f, "make sure the synced folders exist: {}", paths.join(" "))
            }
            Step::UploadAerospike { to, .. } => write!(f, "upload the Aerospike package to {to}"),
            Step::InstallAerospike { .. } => write!(f, "install Aerospike"),
            Step::StartAerospike {
                restart,
                cluster_size,
                ..
            } => write!(
                f,
                "{} aerospike, gated on a cluster of {cluster_size} or more",
                if *restart { "restart" } else { "start" }
            ),
            Step::Wait { gate, .. } => write!(f, "then wait until {gate}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_serialise_as_objects_tagged_with_their_kind() {
        let step = Step::Systemctl {
            host: "lb1".into(),
            action: UnitAction::Reload,
            unit: "haproxy".into(),
        };
        assert_eq!(
            serde_json::to_value(&step).unwrap(),
            serde_json::json!({"step": "systemctl", "host": "lb1", "action": "reload", "unit": "haproxy"})
        );
        let wait = Step::Wait {
            host: "db1".into(),
            gate: Gate::Synced {
                size: 2,
                timeout_secs: 600,
            },
        };
        assert_eq!(
            serde_json::to_value(&wait).unwrap(),
            serde_json::json!({"step": "wait", "host": "db1", "gate": {"gate": "synced", "size": 2, "timeout_secs": 600}})
        );
    }

    #[test]
    fn checks_are_not_changes() {
        let wait = Step::Wait {
            host: "db1".into(),
            gate: Gate::Synced {
                size: 1,
                timeout_secs: 1,
            },
        };
        assert!(!wait.is_change());
        assert!(!Step::CheckRoster { host: "a".into() }.is_change());
        assert!(Step::RosterUser { host: "a".into() }.is_change());
        assert_eq!(
            wait.to_string(),
            "then wait until Synced in a Primary cluster of 1 or more"
        );
    }
}
