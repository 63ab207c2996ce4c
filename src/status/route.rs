//! How this machine reaches the frontend VIP as a client (`status`'s check through it, the
//! drills' load): straight, or through the bastion.
//!
//! The rule: when the hosts holding the frontend VIP are reached over SSH through jump hosts
//! (`ssh.proxy_jump`, or ProxyJump of `~/.ssh/config`), this machine is taken not to reach
//! their network, and HTTP to the VIP goes through an SSH connection to the last jump host (a
//! local forward on 127.0.0.1, one `direct-tcpip` channel per HTTP connection): the requests
//! then come from that jump host, as the hosts' own SSH does. Otherwise they go straight.
//! What is measured is the same HTTP path from the VIP on; only the first leg differs.

use crate::inventory::Inventory;
use crate::ssh::forward::Forward;
use crate::ssh::{Connection, Target};
use anyhow::{Context, Result};

/// The jump host HTTP to the frontend VIP goes through, or None when it goes straight: the
/// last jump host of the first VIP holder's SSH route. Pure (reads `~/.ssh/config` only as
/// [`Inventory::ssh_target`] does).
pub fn frontend_jump(inv: &Inventory) -> Option<Target> {
    let holder = inv.frontend_vip_holders().first().copied()?;
    inv.ssh_target(holder, false).last_jump()
}

/// A client's way to the frontend VIP, (re)connected when needed.
pub struct FrontendRoute {
    vip: String,
    port: u16,
    jump: Option<Target>,
    forward: Option<Forward>,
}

impl FrontendRoute {
    /// The route [`frontend_jump`] picks for `inv`; nothing is connected yet.
    pub fn new(inv: &Inventory) -> FrontendRoute {
        FrontendRoute {
            vip: inv.services.frontend_vip.address.to_string(),
            port: super::frontend_port(inv),
            jump: frontend_jump(inv),
            forward: None,
        }
    }

    /// Whether requests go through a jump host.
    pub fn through_jump(&self) -> bool {
        self.jump.is_some()
    }

    /// `http://VIP:port`, or through the jump host `http://127.0.0.1:N` (its forward started,
    /// or started again when its SSH connection has ended).
    pub async fn base_url(&mut self) -> Result<String> {
        let Some(jump) = &self.jump else {
            return Ok(format!("http://{}:{}", self.vip, self.port));
        };
        if self.forward.as_ref().is_none_or(Forward::is_closed) {
            if let Some(old) = self.forward.take() {
                old.close().await;
            }
            let conn = Connection::open(jump).await.with_context(|| {
                format!(
                    "reaching the frontend VIP {}:{} through the jump host",
                    self.vip, self.port
                )
            })?;
            self.forward = Some(Forward::start(conn, &self.vip, self.port).await?);
        }
        let local = self.forward.as_ref().expect("started above").local_addr();
        Ok(format!("http://{local}"))
    }

    /// End the forward, if any.
    pub async fn close(self) {
        if let Some(forward) = self.forward {
            forward.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(ssh: &str) -> Inventory {
        let dir = tempfile::tempdir().unwrap();
        let text = crate::inventory::TEST_STACK.replace(
            "ssh: {user: root}",
            &format!(
                "ssh: {{user: deploy, config: {}{ssh}}}",
                dir.path().join("absent").display()
            ),
        );
        crate::inventory::parse(&text).unwrap_or_else(|p| panic!("{p:?}\n{text}"))
    }

    #[test]
    fn without_jump_hosts_the_vip_is_asked_straight() {
        let inv = stack("");
        assert!(frontend_jump(&inv).is_none());
        let route = FrontendRoute::new(&inv);
        assert!(!route.through_jump());
        let url = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(FrontendRoute::new(&inv).base_url())
            .unwrap();
        assert_eq!(url, "http://10.0.1.100:80");
    }

    #[test]
    fn behind_a_bastion_the_vip_is_asked_from_the_last_jump_host() {
        let inv = stack(", proxy_jump: 'ops@outer.example:2022,bastion'");
        let jump = frontend_jump(&inv).expect("through the bastion");
        assert_eq!(
            (jump.address.as_str(), jump.port, jump.user.as_str()),
            ("bastion", 22, "deploy")
        );
        // The bastion itself is reached through the hop before it.
        assert_eq!(jump.jumps.len(), 1);
        assert_eq!(
            (jump.jumps[0].address.as_str(), jump.jumps[0].port),
            ("outer.example", 2022)
        );
        assert!(FrontendRoute::new(&inv).through_jump());
    }
}
