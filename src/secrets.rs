//! Secrets the rendered files need (database passwords, the HAProxy stats password, the file
//! sync key).
//!
//! They never live in the inventory: `up` generates them once into a file of their own beside
//! it (mode 0600) and reuses them; an environment variable per secret overrides the file.
//! Offline rendering uses masked values so that rendered files can be shown, diffed and checked
//! without revealing anything, and every value loaded is registered for [`redact`], which
//! scrubs them from logs and error messages.

use anyhow::{Context, Result, bail};
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
    /// The token roster writes (POST, PUT, DELETE) carry; app hosts get only its SHA-256.
    /// Added to older files.
    #[serde(default)]
    pub roster_api_token: String,
}

/// What a masked secret reads as in a rendered file.
pub const MASK: &str = "********";

/// The secrets a user can name: (name for `secrets rotate`, environment variable that
/// overrides the file, what it is). The file sync key is a key pair, so it has no variable.
pub const NAMES: &[(&str, Option<&str>, &str)] = &[
    (
        "roster-db-password",
        Some("MINICLOUD_ROSTER_DB_PASSWORD"),
        "the roster app's MariaDB password",
    ),
    (
        "sst-password",
        Some("MINICLOUD_SST_PASSWORD"),
        "the MariaDB SST user's password (mariabackup state transfers)",
    ),
    (
        "haproxy-stats-password",
        Some("MINICLOUD_HAPROXY_STATS_PASSWORD"),
        "the HAProxy stats page password",
    ),
    (
        "file-sync-key",
        None,
        "the SSH key pair app hosts sync files with",
    ),
    (
        "roster-api-token",
        Some("MINICLOUD_ROSTER_API_TOKEN"),
        "the bearer token roster writes need (app hosts hold only its SHA-256)",
    ),
];

/// The value of a secret's environment variable, when it is set and not empty.
pub fn from_environment(variable: Option<&str>) -> Option<String> {
    variable
        .and_then(|v| std::env::var(v).ok())
        .filter(|value| !value.is_empty())
}

/// Every secret value loaded in this process, scrubbed from logs and errors by [`redact`].
static LOADED: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// `text` with every loaded secret value (and every line of the file sync key) masked.
pub fn redact(text: &str) -> String {
    let loaded = LOADED.read().expect("secrets lock");
    loaded.iter().fold(text.to_string(), |t, secret| {
        t.replace(secret.as_str(), MASK)
    })
}

/// The lines of a PEM-armoured private key that belong to it alone: not the armour, and not
/// the first base64 line, which every OpenSSH key of one type shares. Nothing for a one-line value.
pub fn own_key_lines(value: &str) -> impl Iterator<Item = &str> {
    value
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .skip(1)
}

fn register_for_redaction(secrets: &Secrets) {
    let mut loaded = LOADED.write().expect("secrets lock");
    for value in secrets.values() {
        // A key is also scrubbed line by line: a log may cut it anywhere but at a line end.
        let parts = std::iter::once(value).chain(own_key_lines(value));
        for part in parts {
            if part.len() >= 8 && !loaded.iter().any(|v| v == part) {
                loaded.push(part.to_string());
            }
        }
    }
    // Longest first, so a whole key is masked before its lines.
    loaded.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

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
            roster_api_token: MASK.into(),
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

fn read_file(path: &Path) -> Result<Secrets> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_norway::from_str(&text).with_context(|| {
        format!(
            "{} is not a minicloud secrets file; hint: fix it, or move it away to generate new secrets",
            path.display()
        )
    })
}

fn write_file(path: &Path, secrets: &Secrets) -> Result<()> {
    let text = format!(
        "# minicloud secrets, generated on first `up`. Keep this file private (mode 0600).\n{}",
        serde_norway::to_string(secrets)?
    );
    crate::files::write_atomic(path, text.as_bytes(), 0o600)
}

impl Secrets {
    fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        match name {
            "roster-db-password" => Some(&mut self.roster_db_password),
            "sst-password" => Some(&mut self.sst_password),
            "haproxy-stats-password" => Some(&mut self.haproxy_stats_password),
            "roster-api-token" => Some(&mut self.roster_api_token),
            _ => None,
        }
    }

    /// Values given through environment variables win over the file (and are never written to it).
    fn apply_environment(&mut self) {
        for (name, variable, _) in NAMES {
            if let Some(value) = from_environment(*variable)
                && let Some(field) = self.field_mut(name)
            {
                *field = value;
            }
        }
    }

    /// The secrets of the inventory whose secrets file is `path`, for showing them
    /// (`render --show-secrets`): the file must exist; nothing is generated.
    pub fn load_existing(path: &Path) -> Result<Secrets> {
        if !path.exists() {
            bail!(
                "{} does not exist: secrets are generated by the first `minicloud up`; hint: run \
                 `up` (or `minicloud secrets rotate NAME`) first, or render without --show-secrets",
                path.display()
            );
        }
        let mut secrets = read_file(path)?;
        secrets.apply_environment();
        register_for_redaction(&secrets);
        Ok(secrets)
    }

    /// Give secret `name` a new value in the file at `path` (written whole, mode 0600); `up`
    /// then rolls it out. Refused for a secret given through its environment variable.
    pub fn rotate(path: &Path, name: &str) -> Result<Secrets> {
        let Some((_, variable, _)) = NAMES.iter().find(|(n, _, _)| *n == name) else {
            let names: Vec<&str> = NAMES.iter().map(|(n, _, _)| *n).collect();
            bail!(
                "no secret is called {name:?}; hint: one of {}",
                names.join(", ")
            );
        };
        if let Some(variable) = variable
            && from_environment(Some(variable)).is_some()
        {
            bail!(
                "{name} comes from the environment variable {variable}, not from {}; hint: \
                 change the variable and run `minicloud up`",
                path.display()
            );
        }
        // The file exists with every secret after this; the environment's values stay out of it.
        Secrets::load_or_generate(path)?;
        let mut stored = read_file(path)?;
        if name == "file-sync-key" {
            let (private, public) = ssh_key_pair("minicloud-file-sync")?;
            stored.file_sync_private_key = private;
            stored.file_sync_public_key = public;
        } else {
            *stored.field_mut(name).expect("listed name") = generate();
        }
        write_file(path, &stored)?;
        stored.apply_environment();
        register_for_redaction(&stored);
        Ok(stored)
    }

    /// Read the secrets file, or create it with new random values (mode 0600, written whole).
    /// A file from an older minicloud gets the secrets it lacks added; the others stay.
    /// Environment variables (see [`NAMES`]) override the file's values.
    pub fn load_or_generate(path: &Path) -> Result<Secrets> {
        let mut secrets = if path.exists() {
            read_file(path)?
        } else {
            Secrets {
                roster_db_password: generate(),
                sst_password: generate(),
                haproxy_stats_password: generate(),
                file_sync_private_key: String::new(),
                file_sync_public_key: String::new(),
                roster_api_token: generate(),
            }
        };
        let before = path.exists().then(|| secrets.clone());
        if secrets.file_sync_private_key.is_empty() {
            let (private, public) = ssh_key_pair("minicloud-file-sync")?;
            secrets.file_sync_private_key = private;
            secrets.file_sync_public_key = public;
        }
        if secrets.roster_api_token.is_empty() {
            secrets.roster_api_token = generate();
        }
        if before.as_ref() != Some(&secrets) {
            write_file(path, &secrets)?;
        }
        secrets.apply_environment();
        register_for_redaction(&secrets);
        Ok(secrets)
    }

    /// Every secret value, to keep them out of output.
    pub fn values(&self) -> [&str; 5] {
        [
            &self.roster_db_password,
            &self.sst_password,
            &self.haproxy_stats_password,
            &self.file_sync_private_key,
            &self.roster_api_token,
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
    fn rotating_changes_only_the_named_secret_and_redact_hides_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.secrets.yml");
        let before = Secrets::load_or_generate(&path).unwrap();
        let after = Secrets::rotate(&path, "haproxy-stats-password").unwrap();
        assert_ne!(after.haproxy_stats_password, before.haproxy_stats_password);
        assert_eq!(after.roster_db_password, before.roster_db_password);
        assert_eq!(Secrets::load_or_generate(&path).unwrap(), after);
        let line = format!(
            "old {} new {}",
            before.haproxy_stats_password, after.haproxy_stats_password
        );
        assert_eq!(redact(&line), format!("old {MASK} new {MASK}"));
        let key_line = own_key_lines(&after.file_sync_private_key).next().unwrap();
        assert!(!redact(key_line).contains(key_line));
        let shared_header = after.file_sync_private_key.lines().nth(1).unwrap();
        assert_eq!(
            redact(shared_header),
            shared_header,
            "every ed25519 key has it"
        );
        let token = Secrets::rotate(&path, "roster-api-token").unwrap();
        assert_ne!(token.roster_api_token, after.roster_api_token);
        assert_eq!(token.roster_db_password, after.roster_db_password);
        assert_eq!(redact(&after.roster_api_token), MASK);
        let rotated = Secrets::rotate(&path, "file-sync-key").unwrap();
        assert_ne!(rotated.file_sync_public_key, after.file_sync_public_key);
        let err = Secrets::rotate(&path, "root-password")
            .unwrap_err()
            .to_string();
        assert!(err.contains("roster-db-password"), "{err}");
        assert!(
            Secrets::load_existing(&dir.path().join("none.secrets.yml"))
                .unwrap_err()
                .to_string()
                .contains("first `minicloud up`")
        );
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
        assert_eq!(secrets.roster_api_token.len(), 32);
        assert_eq!(Secrets::load_or_generate(&path).unwrap(), secrets);
    }
}
