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

/// How long a password may be, in characters.
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 16..=128;

/// The characters a password may hold, as told to the user.
pub const PASSWORD_CHARSET: &str = "A-Z a-z 0-9 . _ ~ + = -";

/// Whether `c` may be part of a password. None of these needs escaping anywhere a password
/// goes: inside '...' in SQL (no quote, no backslash), a MariaDB option file and HAProxy's
/// config (no `#`, `;`, quote, backslash or space), a systemd environment file (no `$`, quote
/// or backslash), a URL's user info (unreserved characters and the sub-delimiters `+` and `=`),
/// `user:password` pairs (no `:`), and never a line of its own (no control character).
pub fn password_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '+' | '=' | '-')
}

/// What is wrong with `value` as a password, if anything. Never quotes the value: at most the
/// kind of character that is not allowed.
pub fn password_problem(value: &str) -> Option<String> {
    if let Some(c) = value.chars().find(|c| !password_char(*c)) {
        let what = match c {
            '\n' => "a newline".to_string(),
            '\r' => "a carriage return".to_string(),
            '\t' => "a tab".to_string(),
            ' ' => "a space".to_string(),
            '\'' => "a single quote".to_string(),
            '"' => "a double quote".to_string(),
            '\\' => "a backslash".to_string(),
            c if c.is_ascii_graphic() => format!("{c:?}"),
            _ => "a control or non-ASCII character".to_string(),
        };
        return Some(format!("it holds {what}, which is not allowed"));
    }
    let length = value.chars().count();
    (!PASSWORD_LENGTH.contains(&length)).then(|| {
        format!(
            "it is {length} characters long, not {} to {}",
            PASSWORD_LENGTH.start(),
            PASSWORD_LENGTH.end()
        )
    })
}

/// A secret value that cannot be used, named by where it comes from (never quoted).
#[derive(Debug)]
pub struct BadSecret {
    /// The environment variable, or the secrets file and key, that holds it.
    pub source: String,
    /// What is wrong with it.
    pub problem: String,
    /// How to fix it.
    pub hint: String,
}

impl std::fmt::Display for BadSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}; nothing was changed; hint: {}",
            self.source, self.problem, self.hint
        )
    }
}

impl std::error::Error for BadSecret {}

/// The rule every password follows, for hints.
fn password_rule() -> String {
    format!(
        "a password is {} to {} characters of {PASSWORD_CHARSET} (none of them needs escaping in \
         SQL, option files, environment files or URLs), e.g. `openssl rand -hex 24`",
        PASSWORD_LENGTH.start(),
        PASSWORD_LENGTH.end()
    )
}

/// The first environment override (see [`NAMES`]) that is not a usable password, looked up
/// with `lookup` (the process environment in use; a map in tests).
pub fn check_environment_with(lookup: impl Fn(&str) -> Option<String>) -> Result<(), BadSecret> {
    for variable in NAMES.iter().filter_map(|(_, variable, _)| *variable) {
        let Some(value) = lookup(variable).filter(|v| !v.is_empty()) else {
            continue;
        };
        if let Some(problem) = password_problem(&value) {
            return Err(BadSecret {
                source: format!("the environment variable {variable}"),
                problem,
                hint: format!(
                    "{}; or unset {variable} to use the secrets file",
                    password_rule()
                ),
            });
        }
    }
    Ok(())
}

/// [`check_environment_with`] the process environment.
pub fn check_environment() -> Result<(), BadSecret> {
    check_environment_with(|variable| std::env::var(variable).ok())
}

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

/// Register more values for [`redact`]: secrets read elsewhere (a host's copy of a file holding
/// one), which are no less secret for being unknown to the secrets file. Any length; not empty.
pub fn register_values<'a>(values: impl IntoIterator<Item = &'a str>) {
    let mut loaded = LOADED.write().expect("secrets lock");
    for value in values {
        // A key is also scrubbed line by line: a log may cut it anywhere but at a line end.
        for part in std::iter::once(value).chain(own_key_lines(value)) {
            // Any length (a short password is still a password), but never the empty string,
            // which would match between every two characters.
            if !part.is_empty() && !loaded.iter().any(|v| v == part) {
                loaded.push(part.to_string());
            }
        }
    }
    // Longest first, so a whole key is masked before its lines.
    loaded.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// Every value registered for [`redact`] so far, longest first.
pub fn registered() -> Vec<String> {
    LOADED.read().expect("secrets lock").clone()
}

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
    register_values(secrets.values().iter().copied());
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

impl Secrets {
    /// Secrets whose every password is `prefix-NAME` and whose key pair is a new one: for
    /// tests that search output for every value.
    #[cfg(test)]
    pub(crate) fn canaries(prefix: &str) -> Self {
        let mut secrets = Secrets::masked();
        for (name, _, _) in NAMES {
            if let Some(field) = secrets.field_mut(name) {
                *field = format!("{prefix}-{name}");
            }
        }
        let (private, public) = ssh_key_pair("minicloud-file-sync").expect("a key pair");
        secrets.file_sync_private_key = private;
        secrets.file_sync_public_key = public;
        secrets
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
    // The same bounds as an inventory's: a secrets file is a few lines.
    let text = crate::inventory::limits::read_text(path)
        .with_context(|| format!("reading {}", path.display()))?;
    if let Err(deep) = crate::inventory::limits::check_nesting(&text) {
        bail!(
            "{}: nested too deep at line {}; hint: a secrets file is one level of `name: value` \
             lines: fix it, or move it away to generate new secrets",
            path.display(),
            deep.line
        );
    }
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

    /// Every password (each secret but the key pair, which has no variable): (name, value).
    fn passwords(&self) -> Vec<(&'static str, String)> {
        NAMES
            .iter()
            .filter(|(_, variable, _)| variable.is_some())
            .filter_map(|(name, _, _)| {
                let mut copy = self.clone();
                copy.field_mut(name).map(|value| (*name, value.clone()))
            })
            .collect()
    }

    /// Every value of the secrets file at `path` must be usable: passwords by
    /// [`password_problem`], the key pair must parse. An empty value is one still to generate.
    fn check_file(&self, path: &Path) -> Result<(), BadSecret> {
        let bad = |key: &str, problem: String, hint: String| BadSecret {
            source: format!("{}: {key}", path.display()),
            problem,
            hint,
        };
        for (name, value) in self.passwords() {
            if let Some(problem) = password_problem(&value).filter(|_| !value.is_empty()) {
                return Err(bad(
                    &name.replace('-', "_"),
                    problem,
                    format!(
                        "{}; or run `minicloud secrets rotate {name}` for a new random one",
                        password_rule()
                    ),
                ));
            }
        }
        let rotate = "run `minicloud secrets rotate file-sync-key` for a new key pair".to_string();
        let private = &self.file_sync_private_key;
        if !private.is_empty() && russh::keys::PrivateKey::from_openssh(private).is_err() {
            return Err(bad(
                "file_sync_private_key",
                "it is not an OpenSSH private key".into(),
                rotate,
            ));
        }
        let public = &self.file_sync_public_key;
        // One line: it goes into authorized_keys, where a second line would be a second key.
        if !public.is_empty()
            && (public.contains(['\n', '\r'])
                || russh::keys::PublicKey::from_openssh(public).is_err())
        {
            return Err(bad(
                "file_sync_public_key",
                "it is not one line holding an OpenSSH public key".into(),
                rotate,
            ));
        }
        Ok(())
    }

    /// Values given through environment variables win over the file (and are never written to
    /// it). Checked by [`check_environment`] before.
    fn apply_environment(&mut self) {
        for (name, variable, _) in NAMES {
            if let Some(value) = from_environment(*variable)
                && let Some(field) = self.field_mut(name)
            {
                *field = value;
            }
        }
    }

    /// The file's secrets with the environment's values over them, each registered for
    /// [`redact`]: those of the file too, which an override hides but which are still secret.
    fn with_environment(mut self) -> Secrets {
        register_for_redaction(&self);
        self.apply_environment();
        register_for_redaction(&self);
        self
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
        check_environment()?;
        let secrets = read_file(path)?;
        secrets.check_file(path)?;
        Ok(secrets.with_environment())
    }

    /// The secrets for a command that changes nothing (`plan`): like [`load_or_generate`]
    /// but never writes. A missing file, or a secret missing from it, reads as [`MASK`] (the
    /// first `up` generates it); the flag says whether the file was missing.
    ///
    /// [`load_or_generate`]: Secrets::load_or_generate
    pub fn load_without_writing(path: &Path) -> Result<(Secrets, bool)> {
        check_environment()?;
        let missing = !path.exists();
        let mut secrets = if missing {
            Secrets::masked()
        } else {
            let secrets = read_file(path)?;
            secrets.check_file(path)?;
            secrets
        };
        for (name, _, _) in NAMES {
            if let Some(field) = secrets.field_mut(name).filter(|f| f.is_empty()) {
                *field = MASK.into();
            }
        }
        if secrets.file_sync_private_key.is_empty() {
            let masked = Secrets::masked();
            secrets.file_sync_private_key = masked.file_sync_private_key;
            secrets.file_sync_public_key = masked.file_sync_public_key;
        }
        Ok((secrets.with_environment(), missing))
    }

    /// The file's secrets, with those it lacks generated (all of them when there is no file),
    /// and whether that changed anything. Nothing is checked or written here.
    fn read_or_generate(path: &Path) -> Result<(Secrets, bool)> {
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
        for (name, _, _) in NAMES {
            if let Some(field) = secrets.field_mut(name).filter(|f| f.is_empty()) {
                *field = generate();
            }
        }
        if secrets.file_sync_private_key.is_empty() {
            let (private, public) = ssh_key_pair("minicloud-file-sync")?;
            secrets.file_sync_private_key = private;
            secrets.file_sync_public_key = public;
        }
        let changed = before.as_ref() != Some(&secrets);
        Ok((secrets, changed))
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
        check_environment()?;
        // The file gets every secret; the environment's values stay out of it. A bad value in
        // it is checked only after the rotation: rotating is how a bad one is replaced.
        let (mut stored, _) = Secrets::read_or_generate(path)?;
        if name == "file-sync-key" {
            let (private, public) = ssh_key_pair("minicloud-file-sync")?;
            stored.file_sync_private_key = private;
            stored.file_sync_public_key = public;
        } else {
            *stored.field_mut(name).expect("listed name") = generate();
        }
        stored.check_file(path)?;
        write_file(path, &stored)?;
        Ok(stored.with_environment())
    }

    /// Read the secrets file, or create it with new random values (mode 0600, written whole).
    /// A file from an older minicloud gets the secrets it lacks added; the others stay.
    /// Environment variables (see [`NAMES`]) override the file's values. Every value is
    /// checked before anything is written.
    pub fn load_or_generate(path: &Path) -> Result<Secrets> {
        check_environment()?;
        let (secrets, changed) = Secrets::read_or_generate(path)?;
        secrets.check_file(path)?;
        if changed {
            write_file(path, &secrets)?;
        }
        Ok(secrets.with_environment())
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
            "roster_db_password: aaaaaaaaaaaaaaaa\nsst_password: bbbbbbbbbbbbbbbb\n\
             haproxy_stats_password: cccccccccccccccc\n",
        )
        .unwrap();
        let secrets = Secrets::load_or_generate(&path).unwrap();
        assert_eq!(secrets.roster_db_password, "aaaaaaaaaaaaaaaa");
        assert!(secrets.file_sync_private_key.contains("OPENSSH"));
        assert_eq!(secrets.roster_api_token.len(), 32);
        assert_eq!(Secrets::load_or_generate(&path).unwrap(), secrets);
    }

    /// Values that would need escaping somewhere, or are too short or too long.
    const HOSTILE: &[(&str, &str)] = &[
        ("ok-but\n[mysqld]\ninit_file=/tmp/x.sql", "a newline"),
        ("0123456789abcdef'; DROP USER x; --", "a single quote"),
        ("0123456789abcdef\\'", "a backslash"),
        ("0123456789abcdef@evil", "'@'"),
        ("0123456789abcdef/x", "'/'"),
        ("0123456789abcdef#x", "'#'"),
        ("0123456789abcdef:x", "':'"),
        ("0123456789abcdef$HOME", "'$'"),
        ("0123456789abcdef x", "a space"),
        ("short", "5 characters long"),
        ("0123456789abcd\u{e9}f", "non-ASCII"),
    ];

    #[test]
    fn a_bad_environment_value_is_refused_naming_the_variable_never_the_value() {
        for (name, variable, _) in NAMES {
            let Some(variable) = variable else { continue };
            for (value, what) in HOSTILE {
                let err = check_environment_with(|v| (v == *variable).then(|| value.to_string()))
                    .expect_err(value)
                    .to_string();
                assert!(err.contains(variable), "{name}: {err}");
                assert!(err.contains(what), "{value:?}: {err}");
                assert!(err.contains("hint: a password is 16 to 128"), "{err}");
                assert!(!err.contains(value), "the value is quoted: {err}");
            }
            let long = "x".repeat(129);
            assert!(check_environment_with(|v| (v == *variable).then(|| long.clone())).is_err());
        }
        for good in ["0123456789abcdef", "A.b_c~d+e=f-0123", &"z".repeat(128)] {
            check_environment_with(|_| Some(good.to_string())).unwrap();
        }
        // Unset or empty: the file's value is used.
        check_environment_with(|_| None).unwrap();
        check_environment_with(|_| Some(String::new())).unwrap();
    }

    #[test]
    fn every_ascii_character_outside_the_charset_is_refused() {
        for byte in 0u8..=127 {
            let c = byte as char;
            let value = format!("0123456789abcdef{c}");
            let allowed = c.is_ascii_alphanumeric() || "._~+=-".contains(c);
            assert_eq!(password_problem(&value).is_none(), allowed, "{c:?}");
        }
    }

    #[test]
    fn a_hand_edited_file_is_checked_and_rotating_repairs_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.secrets.yml");
        let good = Secrets::load_or_generate(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replace(&good.sst_password, "pw' OR '1'='1");
        std::fs::write(&path, &edited).unwrap();
        for err in [
            Secrets::load_or_generate(&path).unwrap_err(),
            Secrets::load_existing(&path).unwrap_err(),
            Secrets::load_without_writing(&path).unwrap_err(),
        ] {
            let err = err.to_string();
            assert!(err.contains("lab.secrets.yml: sst_password"), "{err}");
            assert!(err.contains("secrets rotate sst-password"), "{err}");
            assert!(!err.contains("pw'"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), edited, "untouched");
        let rotated = Secrets::rotate(&path, "sst-password").unwrap();
        assert!(password_problem(&rotated.sst_password).is_none());
        assert_eq!(rotated.roster_db_password, good.roster_db_password);
        // A second line in the public key would be a second authorized key.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace(
                &format!("file_sync_public_key: {}", rotated.file_sync_public_key),
                &format!(
                    "file_sync_public_key: \"{}\\nssh-ed25519 AAAA evil\"",
                    rotated.file_sync_public_key
                ),
            ),
        )
        .unwrap();
        let err = Secrets::load_or_generate(&path).unwrap_err().to_string();
        assert!(err.contains("file_sync_public_key"), "{err}");
    }

    #[test]
    fn loading_without_writing_never_creates_or_completes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.secrets.yml");
        let (secrets, missing) = Secrets::load_without_writing(&path).unwrap();
        assert!(missing && !path.exists());
        assert_eq!(secrets, Secrets::masked());
        let older = "roster_db_password: aaaaaaaaaaaaaaaa\nsst_password: bbbbbbbbbbbbbbbb\n\
                     haproxy_stats_password: cccccccccccccccc\n";
        std::fs::write(&path, older).unwrap();
        let (secrets, missing) = Secrets::load_without_writing(&path).unwrap();
        assert!(!missing);
        assert_eq!(secrets.sst_password, "bbbbbbbbbbbbbbbb");
        assert_eq!(secrets.file_sync_private_key, MASK);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), older);
    }

    #[test]
    fn an_oversized_or_deeply_nested_secrets_file_is_refused_unparsed() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.secrets.yml");
        std::fs::write(&big, "#".repeat(2 * 1024 * 1024)).unwrap();
        let err = format!("{:#}", read_file(&big).unwrap_err());
        assert!(err.contains("larger than 1024 KiB"), "{err}");
        let deep = dir.path().join("deep.secrets.yml");
        std::fs::write(&deep, format!("a: {}\n", "[".repeat(50_000))).unwrap();
        let err = format!("{:#}", read_file(&deep).unwrap_err());
        assert!(err.contains("nested too deep at line 1"), "{err}");
    }

    #[test]
    fn redact_hides_short_values_too() {
        register_values(["Zq7"]);
        assert_eq!(redact("a Zq7 b"), format!("a {MASK} b"));
        register_values([""]);
        assert_eq!(redact("xyz"), "xyz", "the empty string is never registered");
    }
}
