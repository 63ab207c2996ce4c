//! Galera cluster state as minicloud reads it, and the quorum-safe decision of which node may
//! bootstrap a new cluster. Pure: parsers of what MariaDB prints, and the choice over them.

use crate::word_enum::word_enum;
use std::collections::HashMap;

word_enum! {
    /// `wsrep_cluster_status`: whether the node's component has quorum.
    pub enum ClusterStatus {
        /// In the component that has quorum: it may commit.
        Primary = "Primary",
        /// Cut off from quorum (a partition, or a whole cluster restarted): it refuses writes.
        NonPrimary = "non-Primary",
        /// Not connected to any component.
        Disconnected = "Disconnected",
    }
}

word_enum! {
    /// `wsrep_local_state_comment`: where the node is in joining the cluster.
    pub enum LocalState {
        /// Up to date: serves reads and writes.
        Synced = "Synced",
        /// Sending a state transfer to a joiner (with rsync SST it blocks meanwhile).
        Donor = "Donor/Desynced",
        /// Receiving its state from a donor.
        Joining = "Joining",
        /// Has its state, catching up on the writes since.
        Joined = "Joined",
    }
}

/// `SHOW GLOBAL STATUS` wsrep variables of a running node (`status --json` shows them as is).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WsrepStatus {
    /// [`ClusterStatus::Primary`] when this node is in the component that has quorum.
    pub cluster_status: ClusterStatus,
    /// Members of its component, arbitrators included.
    pub cluster_size: u32,
    /// Synced, donor, joining, ... (`wsrep_local_state_comment`).
    #[serde(rename = "local_state_comment")]
    pub local_state: LocalState,
    /// The seqno of the last transaction it committed (-1 when not reported).
    pub last_committed: i64,
}

impl WsrepStatus {
    /// In the component that has quorum and up to date: fit to serve (and hold the DB VIP).
    pub fn is_synced_primary(&self) -> bool {
        self.is_primary() && self.local_state == LocalState::Synced
    }

    /// In the component that has quorum (whatever its local state).
    pub fn is_primary(&self) -> bool {
        self.cluster_status == ClusterStatus::Primary
    }

    /// What a wait for this node to be Synced should tell the operator when it is not: a
    /// Donor that stays one may have been desynced on purpose and never resynced.
    pub fn not_synced_hint(&self) -> Option<&'static str> {
        (self.local_state == LocalState::Donor).then_some(
            "a node stays Donor/Desynced while it sends a state transfer, or while \
             wsrep_desync is ON (a backup tool; an earlier minicloud stopped in a rolling \
             restart): if neither, `SET GLOBAL wsrep_desync = OFF` on it",
        )
    }
}

/// The SQL whose output [`parse_wsrep_status`] reads.
pub const STATUS_SQL: &str = "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status', \
     'wsrep_cluster_size', 'wsrep_local_state_comment', 'wsrep_last_committed')";

/// Parse `mariadb -N -B -e STATUS_SQL` (name TAB value lines). None when the node is not a
/// Galera node (no wsrep variables).
pub fn parse_wsrep_status(output: &str) -> Option<WsrepStatus> {
    let values: HashMap<&str, &str> = output
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let cluster_status = ClusterStatus::from_word(values.get("wsrep_cluster_status")?);
    Some(WsrepStatus {
        cluster_status,
        cluster_size: values
            .get("wsrep_cluster_size")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        local_state: LocalState::from_word(values.get("wsrep_local_state_comment").unwrap_or(&"")),
        last_committed: values
            .get("wsrep_last_committed")
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1),
    })
}

/// What `grastate.dat` says about a stopped node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraState {
    /// The cluster's state UUID.
    pub uuid: String,
    /// -1 after a crash: the position must be recovered with `--wsrep-recover`.
    pub seqno: i64,
    /// Set on the last node to leave after a clean shutdown.
    pub safe_to_bootstrap: bool,
}

/// Parse `grastate.dat`; None without a uuid and a seqno (no file, or not one of Galera's).
pub fn parse_grastate(text: &str) -> Option<GraState> {
    let mut uuid = None;
    let mut seqno = None;
    let mut safe = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "uuid" => uuid = Some(value.trim().to_string()),
            "seqno" => seqno = value.trim().parse().ok(),
            "safe_to_bootstrap" => safe = value.trim() == "1",
            _ => {}
        }
    }
    Some(GraState {
        uuid: uuid?,
        seqno: seqno?,
        safe_to_bootstrap: safe,
    })
}

/// `Recovered position: UUID:SEQNO` from a `mariadbd --wsrep-recover` log.
pub fn parse_recovered_position(log: &str) -> Option<(String, i64)> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("Recovered position:"))?;
    let position = line.split("Recovered position:").nth(1)?.trim();
    let (uuid, seqno) = position.rsplit_once(':')?;
    Some((uuid.to_string(), seqno.trim().parse().ok()?))
}

/// A stopped db node's claim to be the most advanced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePosition {
    /// The db host's inventory name.
    pub host: String,
    /// Position from grastate, or recovered when grastate said -1; None when unknown.
    pub seqno: Option<i64>,
    /// grastate.dat's `safe_to_bootstrap: 1`.
    pub safe_to_bootstrap: bool,
    /// The node has never been part of a cluster (fresh install: no grastate).
    pub fresh: bool,
}

/// Which node should bootstrap a new cluster when none is running.
///
/// The one with the highest committed seqno: any other would throw away transactions the
/// cluster acknowledged. On a tie, the one marked `safe_to_bootstrap` (the last to leave after
/// a clean shutdown), then inventory order. Fresh nodes only when every node is fresh. A node
/// whose position is unknown blocks the choice: guessing could lose data.
pub fn choose_bootstrap(nodes: &[NodePosition]) -> Result<&NodePosition, String> {
    if nodes.is_empty() {
        return Err("no db hosts".into());
    }
    if nodes.iter().all(|n| n.fresh) {
        return Ok(&nodes[0]);
    }
    if let Some(unknown) = nodes.iter().find(|n| !n.fresh && n.seqno.is_none()) {
        return Err(format!(
            "the last committed position of {} is unknown (grastate.dat says -1 and --wsrep-recover found none); \
             refusing to guess which node is the most advanced",
            unknown.host
        ));
    }
    let best = nodes
        .iter()
        .filter(|n| !n.fresh)
        .enumerate()
        // max_by_key keeps the last of equals: rank earlier inventory entries higher.
        .max_by_key(|(index, n)| (n.seqno, n.safe_to_bootstrap, std::cmp::Reverse(*index)))
        .map(|(_, n)| n)
        .expect("at least one node that is not fresh");
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_donor_gets_the_desync_hint() {
        let status = |local_state| WsrepStatus {
            cluster_status: ClusterStatus::Primary,
            cluster_size: 2,
            local_state,
            last_committed: 7,
        };
        assert!(
            status(LocalState::Donor)
                .not_synced_hint()
                .is_some_and(|h| h.contains("wsrep_desync = OFF"))
        );
        for other in [LocalState::Synced, LocalState::Joining, LocalState::Joined] {
            assert_eq!(status(other).not_synced_hint(), None);
        }
    }

    fn node(host: &str, seqno: Option<i64>, safe: bool) -> NodePosition {
        NodePosition {
            host: host.into(),
            seqno,
            safe_to_bootstrap: safe,
            fresh: false,
        }
    }

    #[test]
    fn status_is_parsed() {
        let out = "wsrep_cluster_size\t3\nwsrep_cluster_status\tPrimary\nwsrep_last_committed\t42\nwsrep_local_state_comment\tSynced\n";
        let status = parse_wsrep_status(out).unwrap();
        assert!(status.is_synced_primary());
        assert_eq!((status.cluster_size, status.last_committed), (3, 42));
        assert_eq!(parse_wsrep_status(""), None);
        // The names `status --json` documents (docs/status.md).
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            serde_json::json!({"cluster_status": "Primary", "cluster_size": 3,
                               "local_state_comment": "Synced", "last_committed": 42})
        );
    }

    #[test]
    fn states_are_read_from_mariadb_words() {
        let read = |cluster: &str, local: &str| {
            parse_wsrep_status(&format!(
                "wsrep_cluster_status\t{cluster}\nwsrep_local_state_comment\t{local}\n"
            ))
            .unwrap()
        };
        let donor = read("Primary", "Donor/Desynced");
        assert_eq!(
            (&donor.cluster_status, &donor.local_state),
            (&ClusterStatus::Primary, &LocalState::Donor)
        );
        assert!(donor.is_primary() && !donor.is_synced_primary());
        let cut_off = read("non-Primary", "Initialized");
        assert_eq!(cut_off.cluster_status, ClusterStatus::NonPrimary);
        assert_eq!(cut_off.local_state, LocalState::Other("Initialized".into()));
        assert!(!cut_off.is_primary());
        assert_eq!(
            read("Disconnected", "Joining").cluster_status,
            ClusterStatus::Disconnected
        );
        let joined = read("Primary", "Joined");
        assert_eq!(joined.local_state, LocalState::Joined);
        // A state MariaDB may print in more words: kept whole, and printed as it came.
        let receiving = read("Primary", "Joining: receiving State Transfer");
        assert_eq!(
            receiving.local_state.to_string(),
            "Joining: receiving State Transfer"
        );
        assert!(!receiving.is_synced_primary());
        assert_eq!(
            serde_json::to_value(&cut_off).unwrap()["cluster_status"],
            "non-Primary"
        );
        // Words are a program's output: matched exactly.
        assert_eq!(
            ClusterStatus::from_word("primary"),
            ClusterStatus::Other("primary".into())
        );
    }

    proptest::proptest! {
        /// Whatever MariaDB prints comes back out as printed.
        #[test]
        fn any_galera_state_word_round_trips(word in "[A-Za-z/: -]{0,24}|Primary|Synced|Donor/Desynced") {
            let cluster = ClusterStatus::from_word(&word);
            proptest::prop_assert_eq!(cluster.to_string(), word.clone());
            proptest::prop_assert_eq!(ClusterStatus::from_word(cluster.as_str()), cluster);
            let local = LocalState::from_word(&word);
            proptest::prop_assert_eq!(local.to_string(), word.clone());
            proptest::prop_assert_eq!(LocalState::from_word(local.as_str()), local);
        }
    }

    #[test]
    fn grastate_is_parsed() {
        let text = "# GALERA saved state\nversion: 2.1\nuuid:    6a8b1c2d-0000-11ef-9f3e-1a2b3c4d5e6f\nseqno:   -1\nsafe_to_bootstrap: 0\n";
        let state = parse_grastate(text).unwrap();
        assert_eq!((state.seqno, state.safe_to_bootstrap), (-1, false));
        assert!(parse_grastate("version: 2.1\n").is_none());
    }

    #[test]
    fn recovered_position_is_parsed() {
        let log = "2026-11-23 13:00:01 0 [Note] InnoDB: ...\n2026-11-23 13:00:02 0 [Note] WSREP: Recovered position: 6a8b1c2d-0000-11ef-9f3e-1a2b3c4d5e6f:1234\n";
        assert_eq!(
            parse_recovered_position(log),
            Some(("6a8b1c2d-0000-11ef-9f3e-1a2b3c4d5e6f".into(), 1234))
        );
        assert_eq!(parse_recovered_position("nothing"), None);
    }

    #[test]
    fn bootstrap_from_the_most_advanced_node_never_a_stale_one() {
        let nodes = [node("db1", Some(10), true), node("db2", Some(12), false)];
        assert_eq!(
            choose_bootstrap(&nodes).unwrap().host,
            "db2",
            "the higher seqno wins over safe_to_bootstrap"
        );
        let tie = [node("db1", Some(12), false), node("db2", Some(12), true)];
        assert_eq!(
            choose_bootstrap(&tie).unwrap().host,
            "db2",
            "on a tie, the safe one"
        );
        let tie = [node("db1", Some(12), false), node("db2", Some(12), false)];
        assert_eq!(
            choose_bootstrap(&tie).unwrap().host,
            "db1",
            "then inventory order"
        );
    }

    #[test]
    fn unknown_positions_block_the_choice() {
        let nodes = [node("db1", Some(10), true), node("db2", None, false)];
        assert!(choose_bootstrap(&nodes).unwrap_err().contains("db2"));
    }

    #[test]
    fn a_fresh_cluster_bootstraps_from_the_first_node_and_fresh_nodes_never_win_otherwise() {
        let fresh = |h: &str| NodePosition {
            host: h.into(),
            seqno: None,
            safe_to_bootstrap: false,
            fresh: true,
        };
        assert_eq!(
            choose_bootstrap(&[fresh("db1"), fresh("db2")])
                .unwrap()
                .host,
            "db1"
        );
        assert_eq!(
            choose_bootstrap(&[fresh("db1"), node("db2", Some(3), false)])
                .unwrap()
                .host,
            "db2"
        );
    }
}
