//! SSH through a jump host, for real: two OpenSSH servers on 127.0.0.1 (high ports, throwaway
//! host keys and an authorized key in a temp dir), and minicloud's `ssh::Connection` reaching
//! the second through the first over a `direct-tcpip` channel, with both host keys checked.
//!
//! Needs root and /usr/sbin/sshd (openssh-server, installed by scripts/test.sh); without them
//! each test says SKIPPED and passes.

use minicloud::ssh::{Connection, Hop, Target};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// One sshd on 127.0.0.1, killed when dropped.
struct Sshd {
    child: Child,
    port: u16,
    log: PathBuf,
    /// The host's public key line (`ssh-ed25519 AAAA...`).
    host_key: String,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sshd {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn keygen(path: &Path) -> String {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "minicloud-test",
            "-f",
        ])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    let mut fields = public.split_whitespace();
    format!("{} {}", fields.next().unwrap(), fields.next().unwrap())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Why sshd cannot run here, if it cannot.
fn cannot_run_sshd() -> Option<String> {
    if !Path::new(SSHD).exists() {
        return Some(format!(
            "{SSHD} is missing (apt-get install openssh-server)"
        ));
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root (sshd needs root to run its privilege separation)".into());
    }
    None
}

/// The client key and the folder every server of a test shares.
struct Lab {
    dir: tempfile::TempDir,
    client_key: PathBuf,
}

fn lab() -> Option<Lab> {
    if let Some(why) = cannot_run_sshd() {
        eprintln!("SKIPPED: {why}; the loopback jump-host test did not run");
        return None;
    }
    // sshd refuses to start without its privilege separation folder.
    std::fs::create_dir_all("/run/sshd").ok();
    let dir = tempfile::tempdir().unwrap();
    let client_key = dir.path().join("id_client");
    let public = keygen(&client_key);
    std::fs::write(dir.path().join("authorized_keys"), format!("{public}\n")).unwrap();
    Some(Lab { dir, client_key })
}

impl Lab {
    fn sshd(&self, name: &str) -> Sshd {
        let dir = self.dir.path();
        let host_key_path = dir.join(format!("host_{name}"));
        let host_key = keygen(&host_key_path);
        let port = free_port();
        let log = dir.join(format!("sshd_{name}.log"));
        let config = dir.join(format!("sshd_{name}.conf"));
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 UsePAM no\nStrictModes no\nPidFile none\nPermitRootLogin prohibit-password\n\
                 AllowTcpForwarding yes\nLogLevel DEBUG1\n",
                host_key_path.display(),
                dir.join("authorized_keys").display()
            ),
        )
        .unwrap();
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .arg("-E")
            .arg(&log)
            .stdin(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let mut sshd = Sshd {
            child,
            port,
            log,
            host_key,
        };
        // Ready once it answers with its banner.
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = sshd.child.try_wait() {
                panic!("sshd {name} exited {status}: {}", sshd.log());
            }
            if let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::Read;
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let mut banner = [0u8; 4];
                if (&stream).read_exact(&mut banner).is_ok() && &banner == b"SSH-" {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sshd {name} did not answer: {}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sshd.port = port;
        sshd
    }

    fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// The far server reached through the jump server.
    fn target(&self, jump: &Sshd, far: &Sshd, accept_new: bool) -> Target {
        Target {
            name: "far".into(),
            address: "127.0.0.1".into(),
            port: far.port,
            user: "root".into(),
            key: Some(self.client_key.clone()),
            jumps: vec![Hop {
                address: "127.0.0.1".into(),
                port: jump.port,
                user: "root".into(),
                key: Some(self.client_key.clone()),
            }],
            known_hosts: self.known_hosts(),
            accept_new_host_key: accept_new,
            connect_timeout: Duration::from_secs(10),
            unresolved: None,
        }
    }
}

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
