//! Throwaway OpenSSH servers on 127.0.0.1 for the SSH tests (high ports, host keys and an
//! authorized key in a temp dir; run as root). Each is killed when dropped.

#![allow(dead_code)]

use minicloud::ssh::{Hop, Target};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// One sshd on 127.0.0.1, killed when dropped.
pub struct Sshd {
    child: Child,
    pub port: u16,
    log: PathBuf,
    /// The host's public key line (`ssh-ed25519 AAAA...`).
    pub host_key: String,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sshd {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

pub fn keygen(path: &Path) -> String {
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Why sshd cannot run here, if it cannot.
pub fn cannot_run_sshd() -> Option<String> {
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
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub client_key: PathBuf,
}

pub fn lab() -> Option<Lab> {
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
    pub fn sshd(&self, name: &str) -> Sshd {
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

    /// Let a key in too (its `.pub` beside it).
    pub fn authorize(&self, key: &Path) {
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        let path = self.dir.path().join("authorized_keys");
        let mut keys = std::fs::read_to_string(&path).unwrap();
        keys.push_str(&public);
        std::fs::write(path, keys).unwrap();
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// The far server reached through the jump server.
    pub fn target(&self, jump: &Sshd, far: &Sshd, accept_new: bool) -> Target {
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
