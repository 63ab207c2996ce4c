//! Secrets the rendered files need (database passwords, the HAProxy stats password).
//!
//! They never live in the inventory. Offline rendering uses masked values so that rendered
//! files can be shown, diffed and checked without revealing anything.

/// Every secret the stack uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Secrets {
    /// MariaDB password of the roster app's user.
    pub roster_db_password: String,
    /// MariaDB password of the SST user (mariabackup state transfers).
    pub sst_password: String,
    /// HAProxy stats page password.
    pub haproxy_stats_password: String,
}

/// What a masked secret reads as in a rendered file.
pub const MASK: &str = "********";

impl Secrets {
    /// Placeholders: files rendered with these are safe to print.
    pub fn masked() -> Self {
        Secrets {
            roster_db_password: MASK.into(),
            sst_password: MASK.into(),
            haproxy_stats_password: MASK.into(),
        }
    }
}
