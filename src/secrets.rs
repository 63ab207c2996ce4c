//! Secrets the rendered files need (database passwords, the HAProxy stats password).
//!
//! They never live in the inventory: `up` generates them once into a file of their own beside
//! it (mode 0600) and reuses them. Offline rendering uses masked values so that rendered files
//! can be shown, diffed and checked without revealing anything.

use anyhow::{Context, Result};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Every secret the stack uses.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// MariaDB password of the roster app's user.
    pub roster_db_password: String,
    /// MariaDB password of the SST user (mariabackup state transfers).
    pub sst_password: String,
    /// HAProxy stats page password.
    pub haproxy_stats_password: String,
    /// The SSH key app hosts sync files with (lsyncd), OpenSSH format; added to older files.
    #[serde(default)]
    pub file_sync_private_key: String,
    /// Its public half (not a secret; kept beside it so both always match).
    #[serde(default)]
    pub file_sync_public_key: String,
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
            file_sync_private_key: MASK.into(),
            file_sync_public_key: "ssh-ed25519 (the file sync key generated on the first `up`)"
                .into(),
        }
    }
}

impl std::fmt::Debug for Secrets {
    /// Never print a value, even in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

/// Where the secrets of the inventory at `inventory` live: `<name>.secrets.yml` beside it.
pub fn secrets_path(inventory: &Path) -> PathBuf {
    let stem = inventory
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "inventory".into());
    inventory.with_file_name(format!("{stem}.secrets.yml"))
}

/// A new Ed25519 key pair: (private key in OpenSSH format, `ssh-ed25519 ... comment`).
fn ssh_key_pair(comment: &str) -> Result<(String, String)> {
    use russh::keys::ssh_key::LineEnding;
    use russh::keys::{Algorithm, PrivateKey};
    let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
        .context("generating an SSH key")?;
    let public = key
        .public_key()
        .to_openssh()
        .context("encoding a public key")?;
    Ok((
        key.to_openssh(LineEnding::LF)?.to_string(),
        format!("{public} {comment}"),
    ))
}

fn generate() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

impl Secrets {
    /// Read the secrets file, or create it with new random values (mode 0600, written whole).
    /// A file from an older minicloud gets the secrets it lacks added; the others stay.
    pub fn load_or_generate(path: &Path) -> Result<Secrets> {
        let mut secrets = if path.exists() {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_norway::from_str(&text).with_context(|| {
                format!("{} is not a minicloud secrets file; hint: fix it, or move it away to generate new secrets", path.display())
            })?
        } else {
            Secrets {
                roster_db_password: generate(),
                sst_password: generate(),
                haproxy_stats_password: generate(),
                file_sync_private_key: String::new(),
                file_sync_public_key: String::new(),
            }
        };
        let before = path.exists().then(|| secrets.clone());
        if secrets.file_sync_private_key.is_empty() {
            let (private, public) = ssh_key_pair("minicloud-file-sync")?;
            secrets.file_sync_private_key = private;
            secrets.file_sync_public_key = public;
        }
        if before.as_ref() != Some(&secrets) {
            let text = format!(
                "# minicloud secrets, generated on first `up`. Keep this file private (mode 0600).\n{}",
                serde_norway::to_string(&secrets)?
            );
            crate::files::write_atomic(path, text.as_bytes(), 0o600)?;
        }
        Ok(secrets)
    }

    /// Every secret value, to keep them out of output.
    pub fn values(&self) -> [&str; 4] {
        [
            &self.roster_db_password,
            &self.sst_password,
            &self.haproxy_stats_password,
            &self.file_sync_private_key,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = secrets_path(&dir.path().join("lab.yml"));
        assert!(path.ends_with("lab.secrets.yml"));
        let first = Secrets::load_or_generate(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(Secrets::load_or_generate(&path).unwrap(), first);
        assert_ne!(first.roster_db_password, first.sst_password);
        assert_eq!(first.roster_db_password.len(), 32);
        assert!(!format!("{first:?}").contains(&first.roster_db_password));
        assert!(
            first
                .file_sync_private_key
                .contains("BEGIN OPENSSH PRIVATE KEY")
        );
        assert!(first.file_sync_public_key.starts_with("ssh-ed25519 "));
    }

    #[test]
    fn an_older_file_gets_what_it_lacks_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.secrets.yml");
        std::fs::write(
            &path,
            "roster_db_password: a\nsst_password: b\nhaproxy_stats_password: c\n",
        )
        .unwrap();
        let secrets = Secrets::load_or_generate(&path).unwrap();
        assert_eq!(secrets.roster_db_password, "a");
        assert!(secrets.file_sync_private_key.contains("OPENSSH"));
        assert_eq!(Secrets::load_or_generate(&path).unwrap(), secrets);
    }
}
