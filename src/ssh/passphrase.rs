//! Private key files, with or without a passphrase.
//!
//! A key without a passphrase is read as it is. For an encrypted key, the ssh-agent is asked
//! first when it holds that key (`ssh-add` once, no prompt); else the passphrase is asked on
//! the terminal (`/dev/tty`, not echoed) once per key file and run, with `--ask-pass` even when
//! the agent holds the key. The passphrase is never stored, logged or passed on: it is wiped
//! from memory once the key is decrypted, and only the decrypted key stays in this process's
//! memory for the rest of the run (every host's connection uses it). Without a terminal an
//! encrypted key the agent does not hold is an error with a hint.

use anyhow::{Result, anyhow, bail};
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKey, PublicKey};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use zeroize::Zeroizing;

/// `--ask-pass`: prompt for an encrypted key's passphrase even when the agent holds the key,
/// and fail up front when there is no terminal.
static ASK_PASS: AtomicBool = AtomicBool::new(false);

/// Set `--ask-pass` for the run.
pub fn set_ask_pass(on: bool) {
    ASK_PASS.store(on, Ordering::Relaxed);
}

/// How to sign with a key file.
pub enum Key {
    Plain(Arc<PrivateKey>),
    /// The key is encrypted and the agent holds it: sign through the agent.
    InAgent(Box<AgentClient<tokio::net::UnixStream>>, PublicKey),
}

/// Decrypted keys of this run, by file.
fn unlocked() -> &'static Mutex<HashMap<PathBuf, Arc<PrivateKey>>> {
    static KEYS: OnceLock<Mutex<HashMap<PathBuf, Arc<PrivateKey>>>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

/// What a key file holds, before any passphrase.
enum Read {
    Plain(Box<PrivateKey>),
    Encrypted {
        text: Zeroizing<String>,
        public: Option<PublicKey>,
    },
}

fn read(path: &Path, label: &str) -> Result<Read> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|err| {
        anyhow!(
            "cannot load the SSH key {} for {label}: {err}; hint: check the path (ssh.key in the \
             inventory, or IdentityFile in ~/.ssh/config), or leave ssh.key out to use the ssh-agent",
            path.display()
        )
    })?);
    match russh::keys::decode_secret_key(&text, None) {
        Ok(key) => Ok(Read::Plain(Box::new(key))),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            let public = PrivateKey::from_openssh(text.as_bytes())
                .ok()
                .map(|key| key.public_key().clone())
                .or_else(|| {
                    let mut pub_path = path.as_os_str().to_owned();
                    pub_path.push(".pub");
                    let line = std::fs::read_to_string(pub_path).ok()?;
                    PublicKey::from_openssh(line.trim()).ok()
                });
            Ok(Read::Encrypted { text, public })
        }
        Err(err) => bail!(
            "cannot load the SSH key {} for {label}: {err}; hint: it must be an OpenSSH or PEM \
             private key (ssh-keygen -t ed25519 makes one)",
            path.display()
        ),
    }
}

/// Is there a terminal to ask on?
fn terminal() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// The key at `path`, ready to sign; `label` names the host in messages.
pub async fn load_key(path: &Path, label: &str) -> Result<Key> {
    if let Some(key) = unlocked().lock().expect("keys lock").get(path) {
        return Ok(Key::Plain(key.clone()));
    }
    let (text, public) = match read(path, label)? {
        Read::Plain(key) => return Ok(Key::Plain(Arc::new(*key))),
        Read::Encrypted { text, public } => (text, public),
    };
    let ask_pass = ASK_PASS.load(Ordering::Relaxed);
    if !ask_pass
        && let Some(public) = &public
        && let Some(agent) = agent_holding(public).await
    {
        return Ok(Key::InAgent(Box::new(agent), public.clone()));
    }
    let has_terminal = terminal();
    unlock(path, &text, label, has_terminal)
        .await
        .map(Key::Plain)
}

/// Ready each key file (path, a host that uses it) up front: the passphrase of an encrypted
/// one is asked now (unless the agent holds it and --ask-pass is not given). A file that
/// cannot be read is left for the connection to report with its host.
pub async fn prepare(keys: &[(PathBuf, String)]) -> Result<()> {
    for (path, host) in keys {
        if path.is_file() {
            load_key(path, host).await?;
        }
    }
    Ok(())
}

/// The agent, when it holds `public`.
async fn agent_holding(public: &PublicKey) -> Option<AgentClient<tokio::net::UnixStream>> {
    let mut agent = AgentClient::connect_env().await.ok()?;
    let identities = agent.request_identities().await.ok()?;
    identities
        .iter()
        .any(|identity| identity.public_key().key_data() == public.key_data())
        .then_some(agent)
}

/// Ask for the passphrase (one prompt at a time in the process; three tries) and decrypt.
async fn unlock(
    path: &Path,
    text: &Zeroizing<String>,
    label: &str,
    has_terminal: bool,
) -> Result<Arc<PrivateKey>> {
    if !has_terminal {
        bail!(
            "the SSH key {} for {label} is protected by a passphrase, and there is no terminal to \
             ask it on; hint: add the key to the ssh-agent (eval $(ssh-agent); ssh-add {}) and run \
             again: minicloud then signs through the agent",
            path.display(),
            path.display()
        );
    }
    static PROMPT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = PROMPT.lock().await;
    // Another connection may have asked while this one waited.
    if let Some(key) = unlocked().lock().expect("keys lock").get(path) {
        return Ok(key.clone());
    }
    for attempt in 1..=3 {
        let prompt = format!("Passphrase for {}: ", path.display());
        let passphrase = tokio::task::spawn_blocking(move || {
            rpassword::prompt_password(prompt).map(Zeroizing::new)
        })
        .await
        .map_err(|err| anyhow!("the passphrase prompt failed: {err}"))?
        .map_err(|err| anyhow!("cannot read the passphrase for {}: {err}", path.display()))?;
        match russh::keys::decode_secret_key(text, Some(passphrase.as_str())) {
            Ok(key) => {
                let key = Arc::new(key);
                unlocked()
                    .lock()
                    .expect("keys lock")
                    .insert(path.to_owned(), key.clone());
                return Ok(key);
            }
            Err(_) if attempt < 3 => eprintln!("wrong passphrase, try again"),
            Err(_) => {}
        }
    }
    bail!(
        "{label}: wrong passphrase for {} (3 tries); hint: check it with ssh-keygen -y -f {}",
        path.display(),
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ed25519 key encrypted with the passphrase "secret" (ssh-keygen -N secret).
    fn encrypted_key(dir: &Path) -> PathBuf {
        let path = dir.join("id_ed25519");
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "secret", "-C", "test", "-f"])
            .arg(&path)
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success());
        path
    }

    #[tokio::test]
    async fn an_encrypted_key_without_a_terminal_fails_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = encrypted_key(dir.path());
        let Read::Encrypted { text, public } = read(&path, "app1").unwrap() else {
            panic!("the key reads as encrypted");
        };
        assert!(
            public.is_some(),
            "the public half is readable without the passphrase"
        );
        let err = unlock(&path, &text, "app1 (10.0.0.1:22)", false)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("protected by a passphrase")
                && err.contains("no terminal")
                && err.contains("hint: add the key to the ssh-agent")
                && !err.contains("secret"),
            "{err}"
        );
        // With the passphrase the same text decrypts (what the prompt does).
        assert!(russh::keys::decode_secret_key(&text, Some("secret")).is_ok());
        assert!(russh::keys::decode_secret_key(&text, Some("wrong")).is_err());
    }
}
