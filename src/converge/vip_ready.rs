//! Whether a VIP has somewhere to go before its holder is drained: another host that may hold
//! it whose keepalived instance is BACKUP. One wait, used by `up`'s rolling restart and by the
//! planned-stop drills (db-stop, lb-stop), so that a planned move never leaves the VIP with
//! nobody.

use super::session::gate;
use crate::facts::{self, VrrpState};
use crate::inventory::{Inventory, Role, VipKind};
use crate::render::context::{DB_VIP_RISE, FRONTEND_CHECK_INTERVAL, FRONTEND_CHECK_RISE};
use anyhow::Result;
use std::future::Future;
use std::time::{Duration, Instant};

/// The longest wait for another host to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Wait until a host other than `holder` that may hold the `kind` VIP is ready to take it:
/// its keepalived instance is BACKUP (or already MASTER). A node that has just come back
/// stays in FAULT until its check has passed `rise` times; draining the holder before then
/// leaves the VIP with nobody (measured on the lab for the DB VIP: 2.1 s without a write).
///
/// `run(host, command)` runs `command` ([`facts::keepalived_data_command`]) on `host` and
/// returns what it printed.
/// Where no host's state can be read, the wait ends after the time the check needs to pass
/// `rise` times after a restart.
pub async fn another_holder_ready<F, Fut>(
    inv: &Inventory,
    kind: VipKind,
    holder: &str,
    run: F,
) -> Result<()>
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = Result<String>>,
{
    let (candidates, what, vip) = match kind {
        VipKind::Database => (inv.hosts_with(Role::Db), "db host", "DB"),
        VipKind::Frontend => (
            inv.frontend_vip_holders(),
            "frontend VIP holder",
            "frontend",
        ),
    };
    let others: Vec<&str> = candidates.into_iter().filter(|h| *h != holder).collect();
    let dump_command = facts::keepalived_data_command();
    let unreadable_wait = unreadable_wait(inv, kind);
    let instance = kind.instance();
    let started = Instant::now();
    gate(
        &format!("another {what} than {holder} ready to take the {vip} VIP (keepalived BACKUP)"),
        READY_TIMEOUT,
        || async {
            let mut states = Vec::new();
            for other in &others {
                let dump = run(other.to_string(), dump_command.clone()).await?;
                states.push((other.to_string(), facts::parse_vrrp_state(&dump, instance)));
            }
            Ok(not_ready(&states, started.elapsed() >= unreadable_wait))
        },
    )
    .await
}

/// How long to wait where keepalived's state cannot be read: `rise` + 1 check intervals.
fn unreadable_wait(inv: &Inventory, kind: VipKind) -> Duration {
    let (interval, rise) = match kind {
        VipKind::Database => (
            inv.services.galera.failure_detection.check_interval,
            DB_VIP_RISE,
        ),
        VipKind::Frontend => (FRONTEND_CHECK_INTERVAL, FRONTEND_CHECK_RISE),
    };
    Duration::from_secs(u64::from(interval * (rise + 1)))
}

/// The decision, pure: None when one host is ready (or none could be read and the fallback
/// wait is over), else what was seen.
fn not_ready(states: &[(String, Option<VrrpState>)], waited_enough: bool) -> Option<String> {
    let ready = states
        .iter()
        .any(|(_, s)| matches!(s, Some(VrrpState::Backup | VrrpState::Master)));
    let none_readable = states.iter().all(|(_, s)| s.is_none());
    if ready || (none_readable && waited_enough) {
        return None;
    }
    let seen: Vec<String> = states
        .iter()
        .map(|(host, s)| match s {
            Some(state) => format!("{host}: {state:?}"),
            None => format!("{host}: state not readable"),
        })
        .collect();
    Some(seen.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(list: &[(&str, Option<VrrpState>)]) -> Vec<(String, Option<VrrpState>)> {
        list.iter().map(|(h, s)| (h.to_string(), *s)).collect()
    }

    #[test]
    fn a_backup_elsewhere_is_ready_a_fault_is_not() {
        use VrrpState::*;
        assert_eq!(not_ready(&states(&[("db2", Some(Backup))]), false), None);
        assert_eq!(not_ready(&states(&[("db2", Some(Master))]), false), None);
        assert_eq!(
            not_ready(&states(&[("db2", Some(Fault))]), true),
            Some("db2: Fault".into())
        );
        assert_eq!(
            not_ready(&states(&[("db2", Some(Other))]), true),
            Some("db2: Other".into())
        );
        // One ready node of several is enough.
        assert_eq!(
            not_ready(
                &states(&[("db2", Some(Fault)), ("db3", Some(Backup))]),
                false
            ),
            None
        );
    }

    #[test]
    fn an_unreadable_state_waits_out_the_rise_time_and_no_longer() {
        let unread = states(&[("db2", None)]);
        assert_eq!(
            not_ready(&unread, false),
            Some("db2: state not readable".into())
        );
        assert_eq!(not_ready(&unread, true), None);
        // A node read in FAULT is never passed by the fallback: it is known not to be ready.
        let mixed = states(&[("db2", None), ("db3", Some(VrrpState::Fault))]);
        assert!(not_ready(&mixed, true).is_some());
    }
}
