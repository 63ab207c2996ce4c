//! The host firewall during `up`: minicloud's nftables table is replaced in one transaction,
//! under a dead-man switch, and kept only once a NEW SSH connection from this machine gets in.
//!
//! An established connection survives any rule set (`ct state established` comes first), so
//! only a fresh one proves that the rules let minicloud back in. Until then the new rules sit
//! in a staged file and a systemd timer on the host is armed to load the previous table; the
//! boot-time file (`/etc/minicloud/firewall.nft`) is replaced only after the confirmation, so
//! a reboot never loads unconfirmed rules either.

use super::Stack;
use super::commands::{arm_dead_man, disarm_dead_man};
use super::host::Host;
use crate::inventory::Inventory;
use crate::render::FIREWALL_RULES;
use crate::shell;
use anyhow::{Result, bail};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// The transient timer (and service) that restores the previous rules.
pub const ROLLBACK_UNIT: &str = "minicloud-firewall-rollback";
const STAGED: &str = "/etc/minicloud/firewall.nft.new";
const ROLLBACK: &str = "/etc/minicloud/firewall.rollback.nft";

/// The client address in `$SSH_CONNECTION` ("client port server port").
pub fn ssh_client_address(ssh_connection: &str) -> Option<Ipv4Addr> {
    ssh_connection.split_whitespace().next()?.parse().ok()
}

/// Whether rules allowing SSH only from `firewall.ssh_from` would let `client` in.
pub fn ssh_allowed_from(inv: &Inventory, client: Ipv4Addr) -> bool {
    inv.firewall.ssh_from.is_empty() || inv.firewall.ssh_from.iter().any(|n| n.contains(&client))
}

/// Stage the rules on stdin (private, checked by `nft -c`), save the loaded table as the
/// rollback, arm the dead-man switch, then load the staged rules in one transaction.
pub fn stage_and_load_script(dead_man_seconds: u64) -> String {
    format!(
        "set -e\nmkdir -p /etc/minicloud\numask 077\ncat > {staged}\n\
         if ! out=$(nft -c -f {staged} 2>&1); then rm -f {staged}; printf '%s\\n' \"$out\" >&2; \
         echo 'nft -c refused the new rules; nothing was loaded' >&2; exit 3; fi\n\
         {{ printf 'table inet minicloud\\ndelete table inet minicloud\\n'; nft list table inet minicloud 2>/dev/null || true; }} > {rollback}\n\
         {arm}\n\
         nft -f {staged}\n",
        staged = STAGED,
        rollback = ROLLBACK,
        arm = arm_dead_man(
            ROLLBACK_UNIT,
            &format!("nft -f {ROLLBACK} && rm -f {STAGED} {ROLLBACK}"),
            dead_man_seconds
        ),
    )
}

/// Run over the new connection: disarm, make sure the switch had not fired already, then keep
/// the staged rules as the boot-time file.
pub fn confirm_script(fingerprint: &str) -> String {
    format!(
        "set -e\n{disarm}\n\
         if ! nft list table inet minicloud 2>/dev/null | grep -qF {comment}; then \
         echo 'the dead-man switch fired before the confirmation: the previous rules are back' >&2; exit 3; fi\n\
         mv -f {STAGED} {FIREWALL_RULES}\nrm -f {ROLLBACK}\n",
        disarm = disarm_dead_man(ROLLBACK_UNIT),
        comment = shell::quote(&format!("comment \"minicloud {fingerprint}\"")),
    )
}

/// How the host got on after a failed confirmation, read over the old connection.
fn rollback_state_script() -> String {
    format!(
        "systemctl is-active -q {ROLLBACK_UNIT}.timer && echo armed || echo fired; \
         nft list table inet minicloud 2>/dev/null | sed -n 's/^[[:space:]]*comment \"minicloud \\(.*\\)\"$/\\1/p'"
    )
}

/// Load `rules` on `host` and keep them only if a new connection to it confirms them within
/// `dead_man`. On failure, waits for the dead-man switch to restore the previous rules and
/// says whether a new connection gets in again.
pub async fn load_confirmed(
    host: &impl Host,
    rules: &[u8],
    fingerprint: &str,
    dead_man: Duration,
) -> Result<()> {
    let name = host.name().to_string();
    host.must_with_stdin(
        "loading the firewall rules",
        &stage_and_load_script(dead_man.as_secs()),
        rules,
    )
    .await?;
    let loaded_at = Instant::now();
    let connect_timeout = (dead_man / 3).clamp(Duration::from_secs(2), Duration::from_secs(10));
    // Part of the step in progress: a Ctrl-C now must not leave the rules unconfirmed.
    let confirmed = host
        .run_on_new_connection(
            "confirming the firewall rules",
            &confirm_script(fingerprint),
            connect_timeout,
        )
        .await;
    let Err(why) = confirmed else {
        return Ok(());
    };
    // Locked out (or too late): the switch restores the previous rules; watch it over the
    // connection that is still open, then try a new one again.
    let deadline = dead_man + Duration::from_secs(15);
    let mut state = String::new();
    while loaded_at.elapsed() < deadline {
        state = host
            .must_in_step("reading the dead-man switch", &rollback_state_script())
            .await
            .map(|o| o.stdout_text())
            .unwrap_or_default();
        if state.starts_with("fired") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let back_in = match host
        .run_on_new_connection("connecting again", "true", connect_timeout)
        .await
    {
        Ok(_) => "a new SSH connection gets in again",
        Err(_) => "a new SSH connection still fails: check the host from its console",
    };
    let loaded = state.lines().nth(1).unwrap_or("");
    let restored = if state.starts_with("fired") && loaded == fingerprint {
        format!("the switch was disarmed and the new rules stay loaded ({back_in})")
    } else if state.starts_with("fired") {
        format!(
            "the dead-man switch restored the previous rules after {} s ({back_in})",
            dead_man.as_secs()
        )
    } else {
        format!(
            "the dead-man switch had not fired after {} s ({back_in})",
            deadline.as_secs()
        )
    };
    bail!(
        "{name}: the new firewall rules were not confirmed: {why:#}\n{restored}; {FIREWALL_RULES} \
         still holds the previous rules.\nhint: the rules must let SSH in from this machine \
         (firewall.ssh_from); `minicloud render --host {name} --file {FIREWALL_RULES}` shows them"
    )
}

/// The port SSH reaches `host` on, when the host's firewall rules would let SSH in on another
/// one (the rules take `ssh.port` of the inventory; a `Port` of `~/.ssh/config` is not in them).
pub fn ssh_port_mismatch(inv: &Inventory, host: &str) -> Option<(u16, u16)> {
    let rules = inv.hosts[host].ssh.port.unwrap_or(inv.ssh.port);
    let used = inv.ssh_target(host, false).port;
    (used != rules).then_some((used, rules))
}

/// Before anything changes: every host whose rules will be loaded must be reached on the SSH
/// port the rules let in, and see this machine (or the last jump host) at an address
/// `firewall.ssh_from` allows, or the new rules would lock minicloud out.
pub(super) async fn check_ssh_source<H: Host>(stack: &Stack<'_, H>) -> Result<()> {
    let ctx = stack.ctx();
    for host in stack.sessions.keys().filter(|h| stack.scope.includes(h)) {
        if crate::roles::firewall::host_reason(&ctx, host).is_none() {
            continue;
        }
        if let Some((used, rules)) = ssh_port_mismatch(stack.inv, host) {
            bail!(
                "{host}: SSH reaches it on port {used} (from the ssh config file), but its new \
                 firewall rules would let SSH in on port {rules} only and lock minicloud out; \
                 nothing was changed on any host\nhint: set ssh.port: {used} for it in the \
                 inventory (hosts.{host}.ssh.port, or ssh.port for every host)"
            );
        }
    }
    if stack.inv.firewall.ssh_from.is_empty() {
        return Ok(());
    }
    for host in stack.sessions.keys().filter(|h| stack.scope.includes(h)) {
        if crate::roles::firewall::host_reason(&ctx, host).is_none() {
            continue;
        }
        // As the login user: sudo would drop SSH_CONNECTION from the environment.
        let seen = stack
            .session(host)
            .run_as_login("printf '%s' \"$SSH_CONNECTION\"")
            .await?
            .stdout_text();
        let Some(client) = ssh_client_address(&seen) else {
            continue;
        };
        if !ssh_allowed_from(stack.inv, client) {
            // Through jump hosts, the host sees the last one.
            let through = match stack.inv.ssh_target(host, false).jumps.last() {
                Some(hop) => format!(" (through the jump host {})", hop.address),
                None => String::new(),
            };
            let allowed: Vec<String> = stack
                .inv
                .firewall
                .ssh_from
                .iter()
                .map(|n| n.to_string())
                .collect();
            bail!(
                "{host} sees this machine{through} as {client}, which firewall.ssh_from ({}) does not \
                 include: its new firewall rules would lock minicloud out; nothing was changed on \
                 any host\nhint: add {client}/32 (or its network) to firewall.ssh_from",
                allowed.join(", ")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_source_is_checked_against_ssh_from() {
        let mut inv = crate::inventory::parse(include_str!("../../inventory/example.yml")).unwrap();
        let client = ssh_client_address("10.231.50.1 51234 10.231.50.11 22").unwrap();
        assert!(
            ssh_allowed_from(&inv, client),
            "empty ssh_from: from anywhere"
        );
        inv.firewall.ssh_from = vec!["192.0.2.0/24".parse().unwrap()];
        assert!(!ssh_allowed_from(&inv, client));
        inv.firewall
            .ssh_from
            .push("10.231.50.1/32".parse().unwrap());
        assert!(ssh_allowed_from(&inv, client));
        assert_eq!(ssh_client_address(""), None);
    }

    #[test]
    fn a_port_from_the_ssh_config_file_that_the_rules_do_not_open_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, "Host 10.231.50.11\n  Port 2222\n").unwrap();
        let text = include_str!("../../inventory/example.yml").replacen(
            "  port: 22\n",
            &format!("  config: {}\n", config.display()),
            1,
        );
        let mut inv = crate::inventory::parse(&text).unwrap();
        assert_eq!(ssh_port_mismatch(&inv, "lb1"), Some((2222, 22)));
        assert_eq!(ssh_port_mismatch(&inv, "lb2"), None);
        inv.ssh.port_given = true;
        assert_eq!(
            ssh_port_mismatch(&inv, "lb1"),
            None,
            "the inventory's port wins"
        );
    }

    #[test]
    fn rules_are_checked_before_the_switch_is_armed_and_armed_before_they_load() {
        let script = stage_and_load_script(30);
        let check = script.find("nft -c -f").unwrap();
        let save = script.find("nft list table inet minicloud").unwrap();
        let arm = script.find("systemd-run").unwrap();
        let load = script
            .rfind("nft -f /etc/minicloud/firewall.nft.new")
            .unwrap();
        assert!(check < save && save < arm && arm < load, "{script}");
        assert!(script.contains("--on-active=30s"));
        assert!(script.contains("umask 077"));
        let confirm = confirm_script("0123");
        assert!(
            confirm
                .find("systemctl stop minicloud-firewall-rollback.timer")
                .unwrap()
                < confirm.find("mv -f").unwrap()
        );
        assert!(confirm.contains("comment \"minicloud 0123\""));
    }
}
