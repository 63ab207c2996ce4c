//! A key with a passphrase, held by the ssh-agent: minicloud signs through the agent, with no
//! prompt. A test binary of its own: it points SSH_AUTH_SOCK (process-wide) at an agent it
//! starts. Needs root and sshd like tests/ssh_jump.rs (SKIPPED without them).

mod sshd;

use minicloud::ssh::Connection;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An ssh-agent of this test, stopped when dropped.
struct Agent(std::process::Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_encrypted_key_the_agent_holds_signs_without_a_prompt() {
    let Some(lab) = sshd::lab() else { return };
    let dir = lab.dir.path();
    let key = dir.join("id_locked");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "agent passphrase", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    lab.authorize(&key);
    let socket = dir.join("agent.sock");
    let _agent = Agent(
        Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent starts"),
    );
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no agent socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let askpass = dir.join("askpass");
    std::fs::write(&askpass, "#!/bin/sh\necho 'agent passphrase'\n").unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&askpass)
        .status()
        .unwrap();
    let added = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &socket)
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", "none")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    // SAFETY: the only test of this binary, and nothing else runs yet.
    unsafe { std::env::set_var("SSH_AUTH_SOCK", &socket) };
    let far = lab.sshd("far");
    let jump = lab.sshd("jump");
    let mut target = lab.target(&jump, &far, true);
    // Straight to the host, with the encrypted key as ssh.key.
    target.jumps.clear();
    target.key = Some(key.clone());
    let conn = Connection::open(&target)
        .await
        .expect("signs through the agent");
    assert_eq!(conn.check("echo ok").await.unwrap().stdout_text(), "ok\n");
    conn.close().await;
    assert!(
        far.log().contains("Accepted publickey for root"),
        "{}",
        far.log()
    );
}
