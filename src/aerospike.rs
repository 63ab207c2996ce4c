//! Aerospike cluster state as minicloud reads it: the command that asks a node (`asinfo`,
//! shipped with the server) and a pure parser of its `key=value;key=value` answers.

use crate::shell::Argv;
use serde::Serialize;
use std::collections::HashMap;

/// What one node says about itself and its cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AerospikeNode {
    /// Nodes in the cluster this node is in.
    pub cluster_size: u32,
    /// false while the cluster is split or forming.
    pub cluster_integrity: bool,
    /// Partitions still to move between nodes (0 when data is where it belongs).
    pub migrate_partitions_remaining: u64,
    /// Records of the roster's namespace on this node (master and replica copies).
    pub namespace_objects: Option<u64>,
}

/// The command that prints a node's statistics, then `@@asns`, then its namespace's: read-only,
/// through the service port on the node's own address (what the rendered config binds). The
/// namespace comes from the inventory: it goes in as one quoted word, never as shell text.
pub fn status_command(address: &str, namespace: &str) -> String {
    let asinfo = |what: String| {
        Argv::new("timeout")
            .args(["3", "asinfo", "-h", address, "-p", "3000", "-v"])
            .arg(what)
    };
    format!(
        "{} 2>/dev/null; echo; echo '@@asns'; {} 2>/dev/null; echo",
        asinfo("statistics".into()),
        asinfo(format!("namespace/{namespace}"))
    )
}

/// `a=1;b=2` → {a: 1, b: 2} (asinfo's answer format; later keys win).
pub fn parse_pairs(text: &str) -> HashMap<&str, &str> {
    text.trim()
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// A node from its `statistics` and `namespace/NS` answers; None when it did not answer
/// (not running, or not an Aerospike node).
pub fn parse_node(statistics: &str, namespace: &str) -> Option<AerospikeNode> {
    let stats = parse_pairs(statistics);
    let cluster_size = stats.get("cluster_size")?.parse().ok()?;
    let ns = parse_pairs(namespace);
    Some(AerospikeNode {
        cluster_size,
        cluster_integrity: stats.get("cluster_integrity") == Some(&"true"),
        migrate_partitions_remaining: stats
            .get("migrate_partitions_remaining")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        namespace_objects: ns.get("objects").and_then(|v| v.parse().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Answers in the format Aerospike 7 documents for `asinfo -v statistics` and
    // `asinfo -v namespace/NS` (no server can be run here; see the README), trimmed.
    const STATISTICS: &str = "failed_best_practices=false;cluster_size=3;cluster_key=8F1B3C0D2E4A;cluster_generation=5;cluster_principal=BB9030011AC4202;cluster_min_compatibility_id=10;cluster_max_compatibility_id=10;cluster_integrity=true;cluster_is_member=true;cluster_duplicate_nodes=null;cluster_clock_skew_stop_writes_sec=0;cluster_clock_skew_ms=0;uptime=1204;migrate_allowed=true;migrate_partitions_remaining=0;fabric_bytes_per_second=0;objects=120\n";
    const NAMESPACE: &str = "ns_cluster_size=3;effective_replication_factor=2;objects=81;tombstones=0;xdr_tombstones=0;master_objects=40;prole_objects=41;migrate_tx_partitions_remaining=0;migrate_rx_partitions_remaining=0;replication-factor=2;storage-engine=memory;storage-engine.data-size=1073741824\n";

    #[test]
    fn a_settled_node_reads_whole() {
        assert_eq!(
            parse_node(STATISTICS, NAMESPACE),
            Some(AerospikeNode {
                cluster_size: 3,
                cluster_integrity: true,
                migrate_partitions_remaining: 0,
                namespace_objects: Some(81),
            })
        );
    }

    #[test]
    fn a_node_migrating_after_a_join() {
        let stats = STATISTICS
            .replace(
                "migrate_partitions_remaining=0",
                "migrate_partitions_remaining=1365",
            )
            .replace("cluster_integrity=true", "cluster_integrity=false");
        let node = parse_node(&stats, "").unwrap();
        assert_eq!(node.migrate_partitions_remaining, 1365);
        assert!(!node.cluster_integrity);
        assert_eq!(node.namespace_objects, None);
    }

    #[test]
    fn no_answer_is_no_node() {
        assert_eq!(parse_node("", ""), None);
        assert_eq!(parse_node("ERROR::not found", ""), None);
    }

    #[test]
    fn the_command_reads_both_answers_from_the_node() {
        let cmd = status_command("10.0.2.41", "roster");
        assert!(
            cmd.contains("asinfo -h 10.0.2.41 -p 3000 -v statistics"),
            "{cmd}"
        );
        assert!(cmd.contains("-v namespace/roster"), "{cmd}");
    }
}
