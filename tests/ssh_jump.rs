//! SSH through a jump host, for real: two OpenSSH servers on 127.0.0.1 (high ports, throwaway
//! host keys and an authorized key in a temp dir), and minicloud's `ssh::Connection` reaching
//! the second through the first over a `direct-tcpip` channel, with both host keys checked.
//!
//! Needs root and /usr/sbin/sshd (openssh-server, installed by scripts/test.sh); without them
//! each test says SKIPPED and passes.

mod sshd;

use minicloud::ssh::Connection;
use sshd::{Sshd, free_port, keygen, lab};
use std::process::{Command, Stdio};

#[tokio::test]
async fn a_command_runs_through_a_jump_host_with_both_host_keys_recorded() {
    let Some(lab) = lab() else { return };
    let (jump, far) = (lab.sshd("jump"), lab.sshd("far"));
    let conn = Connection::open(&lab.target(&jump, &far, true))
        .await
        .expect("connects through the jump host");
    let out = conn.check("echo ok").await.unwrap();
    assert_eq!(out.stdout_text(), "ok\n");
    conn.close().await;
    // Each host's key went in under its own [address]:port.
    let known = std::fs::read_to_string(lab.known_hosts()).unwrap();
    for server in [&jump, &far] {
        let entry = format!("[127.0.0.1]:{} {}", server.port, server.host_key);
        assert!(known.contains(&entry), "{entry} missing from:\n{known}");
    }
    // The far host was reached through the jump host's forwarding, not straight.
    let log = jump.log();
    assert!(
        log.contains(&format!("target 127.0.0.1 port {}", far.port)),
        "the jump host forwarded nothing:\n{log}"
    );
    // Known keys now: a second connection needs no --accept-new-host-keys.
    let conn = Connection::open(&lab.target(&jump, &far, false))
        .await
        .unwrap();
    assert_eq!(conn.check("echo ok").await.unwrap().stdout_text(), "ok\n");
    conn.close().await;
}

#[tokio::test]
async fn a_changed_key_on_the_far_hop_is_refused() {
    let Some(lab) = lab() else { return };
    let (jump, far) = (lab.sshd("jump"), lab.sshd("far"));
    let impostor = keygen(&lab.dir.path().join("impostor"));
    std::fs::write(
        lab.known_hosts(),
        format!(
            "[127.0.0.1]:{} {}\n[127.0.0.1]:{} {impostor}\n",
            jump.port, jump.host_key, far.port
        ),
    )
    .unwrap();
    let err = Connection::open(&lab.target(&jump, &far, true))
        .await
        .err()
        .expect("a changed far key is refused")
        .to_string();
    eprintln!("refused: {err}");
    assert!(
        err.contains("HOST KEY CHANGED")
            && err.contains(&format!(
                "far (127.0.0.1:{} via root@127.0.0.1:{})",
                far.port, jump.port
            ))
            && err.contains("line 2 of"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_jump_host_is_named_as_the_hop_that_failed() {
    let Some(lab) = lab() else { return };
    let (jump, far) = (lab.sshd("jump"), lab.sshd("far"));
    let err = Connection::open(&lab.target(&jump, &far, false))
        .await
        .err()
        .expect("an unknown jump host key is refused")
        .to_string();
    eprintln!("refused: {err}");
    assert!(
        err.contains(&format!(
            "far: jump host 1 of 1 (root@127.0.0.1:{})",
            jump.port
        )) && err.contains("unknown host key")
            && err.contains("--accept-new-host-keys"),
        "{err}"
    );
    // A far port nothing listens on: the jump host's refusal names the hop and the address.
    std::fs::write(
        lab.known_hosts(),
        format!("[127.0.0.1]:{} {}\n", jump.port, jump.host_key),
    )
    .unwrap();
    let mut target = lab.target(&jump, &far, false);
    target.port = free_port();
    let err = Connection::open(&target)
        .await
        .err()
        .expect("a closed far port fails")
        .to_string();
    eprintln!("refused: {err}");
    assert!(
        err.contains("jump host 1 of 1") && err.contains("could not open a connection to it"),
        "{err}"
    );
}

#[tokio::test]
async fn an_inventory_alias_and_jump_from_the_ssh_config_file() {
    let Some(lab) = lab() else { return };
    let (jump, far) = (lab.sshd("jump"), lab.sshd("far"));
    let dir = lab.dir.path();
    let config = dir.join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host far-alias\n  HostName 127.0.0.1\n  Port {}\n  ProxyJump bastion\n\n\
             Host bastion\n  HostName 127.0.0.1\n  Port {}\n  User root\n\n\
             Host *\n  IdentityFile {}\n",
            far.port,
            jump.port,
            lab.client_key.display()
        ),
    )
    .unwrap();
    let inventory = format!(
        "name: t\nssh: {{config: {}, known_hosts: {}}}\n\
         networks: {{frontend: 10.0.1.0/24, backend: 10.0.2.0/24}}\n\
         hosts:\n  lb1: {{roles: [lb], addresses: {{frontend: 10.0.1.11}}, ssh: {{host: far-alias}}}}\n\
         services:\n  frontend_vip: {{address: 10.0.1.100, virtual_router_id: 51}}\n",
        config.display(),
        lab.known_hosts().display()
    );
    let inv = minicloud::inventory::parse(&inventory).expect("the inventory parses");
    let target = inv.ssh_target("lb1", true);
    assert_eq!(
        (target.address.as_str(), target.port, target.jumps.len()),
        ("127.0.0.1", far.port, 1)
    );
    let conn = Connection::open(&target).await.expect("connects");
    assert_eq!(conn.check("echo ok").await.unwrap().stdout_text(), "ok\n");
    conn.close().await;
    assert!(
        jump.log()
            .contains(&format!("target 127.0.0.1 port {}", far.port))
    );
}

#[tokio::test]
async fn hosts_behind_one_jump_host_share_one_login_to_it() {
    let Some(lab) = lab() else { return };
    let (jump, far) = (lab.sshd("jump"), lab.sshd("far"));
    let target = lab.target(&jump, &far, true);
    let first = Connection::open(&target).await.unwrap();
    let (second, third) = tokio::join!(Connection::open(&target), Connection::open(&target));
    let (second, third) = (second.unwrap(), third.unwrap());
    for conn in [&first, &second, &third] {
        assert_eq!(conn.check("echo ok").await.unwrap().stdout_text(), "ok\n");
    }
    let logins = |sshd: &Sshd| sshd.log().matches("Accepted publickey for root").count();
    assert_eq!((logins(&jump), logins(&far)), (1, 3), "{}", jump.log());
    // The shared session outlives the first connection, and ends with the last.
    first.close().await;
    assert_eq!(second.check("echo ok").await.unwrap().stdout_text(), "ok\n");
    second.close().await;
    third.close().await;
    let again = Connection::open(&target).await.unwrap();
    again.close().await;
    assert_eq!(
        logins(&jump),
        2,
        "a new login once the last connection closed"
    );
}

/// An encrypted key with no terminal to ask on and no agent: `plan` stops before connecting,
/// with a hint, and never echoes anything of the key. (`setsid`: no controlling terminal even
/// when the tests run on one.)
#[test]
fn an_encrypted_key_without_a_terminal_or_agent_stops_before_any_host() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_locked");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "a passphrase", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    let inventory = dir.path().join("inventory.yml");
    std::fs::write(
        &inventory,
        format!(
            "name: t\nssh: {{key: {}, known_hosts: {}, config: {}}}\n\
             networks: {{frontend: 10.0.1.0/24, backend: 10.0.2.0/24}}\n\
             hosts:\n  lb1: {{roles: [lb], addresses: {{frontend: 10.0.1.11}}}}\n  \
             app1: {{roles: [app, arbiter], addresses: {{frontend: 10.0.1.21, backend: 10.0.2.21}}}}\n  \
             db1: {{roles: [db], addresses: {{backend: 10.0.2.31}}}}\n  \
             db2: {{roles: [db], addresses: {{backend: 10.0.2.32}}}}\n\
             services:\n  frontend_vip: {{address: 10.0.1.100, virtual_router_id: 51}}\n  \
             db_vip: {{address: 10.0.2.100, virtual_router_id: 52}}\n",
            key.display(),
            dir.path().join("known_hosts").display(),
            dir.path().join("no_config").display()
        ),
    )
    .unwrap();
    for extra in [&[][..], &["--ask-pass"][..]] {
        let out = Command::new("setsid")
            .arg("-w")
            .arg(assert_cmd::cargo::cargo_bin("minicloud"))
            .args(["plan", "-i"])
            .arg(&inventory)
            .args(extra)
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null())
            .output()
            .expect("setsid runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(
            stderr.contains("is protected by a passphrase")
                && stderr.contains("no terminal")
                && stderr.contains("ssh-add"),
            "{extra:?}: {stderr}"
        );
    }
}

#[tokio::test]
async fn a_tcp_connection_from_the_far_host_reaches_what_only_it_can() {
    use tokio::io::AsyncReadExt;
    let Some(lab) = lab() else { return };
    let (jump, far) = (lab.sshd("jump"), lab.sshd("far"));
    let conn = Connection::open(&lab.target(&jump, &far, true))
        .await
        .unwrap();
    // The far host's own sshd, spoken to from the far host: it greets with its banner.
    let mut stream = conn.connect_tcp("127.0.0.1", far.port).await.unwrap();
    let mut banner = [0u8; 8];
    stream.read_exact(&mut banner).await.unwrap();
    assert_eq!(&banner, b"SSH-2.0-");
    drop(stream);
    let err = conn
        .connect_tcp("127.0.0.1", free_port())
        .await
        .err()
        .expect("nothing listens there")
        .to_string();
    assert!(
        err.contains("cannot open a connection from there to 127.0.0.1:"),
        "{err}"
    );
    conn.close().await;
}

/// An echo server on 127.0.0.1: what only the far side is meant to reach.
async fn echo_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    port
}

/// Send `message` through 127.0.0.1:`port`, end the sending side, read all that comes back
/// (or how the reading failed).
async fn round_trip(port: u16, message: &[u8]) -> std::io::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(message).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut back = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut back),
    )
    .await
    .expect("an answer within 10 s")?;
    Ok(back)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_forward_through_the_last_jump_host_carries_many_connections() {
    use minicloud::ssh::forward::Forward;
    let Some(lab) = lab() else { return };
    let (jump, far) = (lab.sshd("jump"), lab.sshd("far"));
    // What status and the drills do behind a bastion: a connection to the far host's last
    // jump host, and a local forward over it.
    let bastion = lab
        .target(&jump, &far, true)
        .last_jump()
        .expect("the target has a jump host");
    assert_eq!((bastion.port, bastion.jumps.len()), (jump.port, 0));
    let echo = echo_server().await;
    let forward = Forward::start(Connection::open(&bastion).await.unwrap(), "127.0.0.1", echo)
        .await
        .unwrap();
    let local = forward.local_addr();
    assert!(local.ip().is_loopback() && local.port() != echo);
    // Several at once, each its own channel, each answered with its own bytes.
    let sends = (0..6).map(|n| {
        let message = format!("hello {n} ").repeat(5000);
        async move { (round_trip(local.port(), message.as_bytes()).await, message) }
    });
    for (back, message) in futures_util::future::join_all(sends).await {
        assert_eq!(back.unwrap(), message.as_bytes());
    }
    // They went through the jump host's forwarding, not straight.
    let log = jump.log();
    let forwarded = log
        .matches(&format!("target 127.0.0.1 port {echo}"))
        .count();
    assert!(forwarded >= 6, "{forwarded} forwarded:\n{log}");
    forward.close().await;
    // Closed: nothing listens there any more.
    assert!(
        tokio::net::TcpStream::connect(local).await.is_err(),
        "the forward still listens after close"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_to_where_nothing_listens_closes_the_client_at_once() {
    use minicloud::ssh::forward::Forward;
    let Some(lab) = lab() else { return };
    let jump = lab.sshd("jump");
    let far = lab.sshd("far");
    let bastion = lab.target(&jump, &far, true).last_jump().unwrap();
    let forward = Forward::start(
        Connection::open(&bastion).await.unwrap(),
        "127.0.0.1",
        free_port(),
    )
    .await
    .unwrap();
    // The far side refuses: the client's connection ends at once (closed, or reset since
    // what it sent was never read), no bytes, no hang.
    match round_trip(forward.local_addr().port(), b"anyone?").await {
        Ok(back) => assert!(back.is_empty(), "{back:?}"),
        Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}"),
    }
    forward.close().await;
}
