//! A local port forward over one SSH connection (what `ssh -L` does): a listener on
//! 127.0.0.1 whose every accepted connection is carried by a `direct-tcpip` channel to an
//! address the far host reaches and this machine does not (a VIP behind a bastion). HTTP
//! clients then speak to 127.0.0.1 as they would to the address itself.

use super::Connection;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A listening forward; dropping it stops the listener and every connection it carries.
pub struct Forward {
    local: SocketAddr,
    conn: Arc<Connection>,
    /// The accept loop, which owns the tasks of the connections it carries (a `JoinSet`
    /// aborts its tasks when dropped, so aborting the loop ends them all). None once closed.
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl Forward {
    /// Listen on 127.0.0.1 (a free port) and carry each connection through `conn` to
    /// `address:port`, as the far host sees it. A connection the far host cannot open is
    /// closed at once: the client sees it refused, as it would straight.
    pub async fn start(conn: Connection, address: &str, port: u16) -> Result<Forward> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a local port for the forward on 127.0.0.1")?;
        let local = listener.local_addr()?;
        let conn = Arc::new(conn);
        let accept = tokio::spawn(accept_loop(
            listener,
            conn.clone(),
            address.to_string(),
            port,
        ));
        Ok(Forward {
            local,
            conn,
            accept: Some(accept),
        })
    }

    /// Where clients connect (127.0.0.1 and the port picked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The SSH connection carrying it has ended (the far host went away): a new forward is
    /// needed.
    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// Stop listening, end the connections carried, and log out of the far host.
    pub async fn close(mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        // The carried connections' tasks, aborted with the loop, let go of the connection
        // as the runtime gets to them: a moment at most.
        let mut conn = self.conn.clone();
        drop(self);
        for _ in 0..50 {
            match Arc::try_unwrap(conn) {
                Ok(only) => return only.close().await,
                Err(shared) => conn = shared,
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Forward {
    /// Without [`Forward::close`]: stop listening; the connection ends with its last user.
    fn drop(&mut self) {
        if let Some(accept) = &self.accept {
            accept.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, conn: Arc<Connection>, address: String, port: u16) {
    let mut carried = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    carried.spawn(carry(stream, conn.clone(), address.clone(), port));
                }
                // Out of file descriptors, say: the client sees its connect fail; go on.
                Err(err) => tracing::debug!("forward: accept failed: {err}"),
            },
            // Reap finished connections so the set does not grow with every request.
            Some(_) = carried.join_next(), if !carried.is_empty() => {}
        }
    }
}

/// Copy both ways between a local client and a channel to `address:port`, until either
/// side ends.
async fn carry(mut local: TcpStream, conn: Arc<Connection>, address: String, port: u16) {
    let _ = local.set_nodelay(true);
    match conn.connect_tcp(&address, port).await {
        Ok(mut remote) => {
            let _ = tokio::io::copy_bidirectional(&mut local, &mut remote).await;
        }
        // Dropping `local` closes it: the client sees the refusal as a closed connection.
        Err(err) => tracing::debug!("forward: {err:#}"),
    }
}
