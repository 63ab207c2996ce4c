//! Where the lab keeps its local files (SSH key, known_hosts, inventory). Built with or without
//! the `lab` feature: every command's default inventory is the lab's, and `failover-test`
//! tells the lab's inventory from others by this path. Everything that drives Docker is in
//! [`crate::lab`], behind the feature.

use anyhow::Result;
use std::path::PathBuf;

/// The lab's local files: key pair, known_hosts, inventory.
#[derive(Debug, Clone)]
pub struct LabDir {
    /// The folder holding them (`MINICLOUD_LAB_DIR`, else `.minicloud/lab`).
    pub root: PathBuf,
}

impl LabDir {
    /// `MINICLOUD_LAB_DIR`, else `.minicloud/lab` under the current folder (absolute).
    pub fn from_env() -> Result<LabDir> {
        let root = match std::env::var_os("MINICLOUD_LAB_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(".minicloud/lab"),
        };
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()?.join(root)
        };
        Ok(LabDir { root })
    }

    /// The private key every lab host lets root in with.
    pub fn key(&self) -> PathBuf {
        self.root.join("id_ed25519")
    }

    /// The lab hosts' keys, read through Docker when they were made.
    pub fn known_hosts(&self) -> PathBuf {
        self.root.join("known_hosts")
    }

    /// The inventory `lab up` writes for its hosts.
    pub fn inventory(&self) -> PathBuf {
        self.root.join("inventory.yml")
    }
}
