//! The known_hosts decision: facts in (the file's text, the host, its port, the key it offers),
//! a verdict out (known, unknown, changed or revoked), nothing read or written here.
//!
//! russh 0.65's own check (`check_known_hosts_path`) only compares keys of the offered type, so a
//! man-in-the-middle offering an RSA key to a client that recorded the host's ed25519 key reads
//! as "unknown", which `--accept-new-host-keys` then records. It also reads `@revoked` and
//! `@cert-authority` lines as host names, and skips counting comment lines. This parser follows
//! OpenSSH's sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" for what minicloud needs: markers, comma
//! separated patterns with `*`, `?` and `!` negation, hashed names (`|1|salt|hash`) and
//! `[host]:port` for ports other than 22.

use hmac::{Hmac, KeyInit, Mac};
use russh::keys::PublicKey;
use russh::keys::ssh_encoding::base64::{Base64, Encoding};

/// What known_hosts says about the key a host offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A line for this host records exactly this key.
    Known,
    /// No line names this host: the key may be learnt (`--accept-new-host-keys`).
    Unknown,
    /// The host has recorded keys, none of them the offered one (of the same type or not):
    /// `line` is the first recorded line of the offered key's type, else the first one.
    Changed { line: usize },
    /// A `@revoked` line for this host (or a pattern covering it) names the offered key.
    Revoked { line: usize },
    /// A `@revoked` line naming this host has a key that cannot be read: refused rather than
    /// guessed around, since it could be revoking the offered key.
    Unreadable { line: usize, why: String },
}

/// What a line's marker makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

/// Decide about `offered`, shown by `host` on `port`, from the known_hosts `text`. Line numbers
/// count every line of the file from 1, comments and blank lines included, as an editor does.
pub fn decide(text: &str, host: &str, port: u16, offered: &PublicKey) -> Decision {
    let name = host_name(host, port);
    let mut known = false;
    let mut same_type_line = None;
    let mut first_line = None;
    let mut unreadable = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let fields: Vec<&str> = raw.split_whitespace().collect();
        if fields.is_empty() || fields[0].starts_with('#') {
            continue;
        }
        let (marker, rest) = match fields[0] {
            "@revoked" => (Marker::Revoked, &fields[1..]),
            "@cert-authority" => (Marker::CertAuthority, &fields[1..]),
            // An unknown marker: OpenSSH skips the line, whatever host it names.
            other if other.starts_with('@') => continue,
            _ => (Marker::None, &fields[..]),
        };
        let Some(patterns) = rest.first() else {
            continue;
        };
        if !host_matches(&name, patterns) {
            continue;
        }
        // Certificate authorities vouch for host certificates, which minicloud refuses anyway:
        // such a line neither accepts nor changes a plain key.
        if marker == Marker::CertAuthority {
            continue;
        }
        let key = match rest {
            [_, kind, base64, ..] => PublicKey::from_openssh(&format!("{kind} {base64}"))
                .map_err(|err| format!("its {kind} key cannot be read: {err}")),
            _ => Err("it has no key after the host names".to_string()),
        };
        let key = match (key, marker) {
            (Ok(key), _) => key,
            (Err(why), Marker::Revoked) => {
                unreadable.get_or_insert((line, why));
                continue;
            }
            // A recorded key that cannot be read (a type this build does not know, a broken
            // line) still says the host has a key: it can never match, so unless another line
            // records the offered key, the offered key is a changed one.
            (Err(_), _) => {
                first_line.get_or_insert(line);
                continue;
            }
        };
        let same = key.key_data() == offered.key_data();
        match marker {
            Marker::Revoked if same => return Decision::Revoked { line },
            Marker::Revoked | Marker::CertAuthority => {}
            Marker::None => {
                known |= same;
                first_line.get_or_insert(line);
                if key.algorithm() == offered.algorithm() && !same {
                    same_type_line.get_or_insert(line);
                }
            }
        }
    }
    if let Some((line, why)) = unreadable {
        return Decision::Unreadable { line, why };
    }
    match (known, same_type_line.or(first_line)) {
        (true, _) => Decision::Known,
        (false, Some(line)) => Decision::Changed { line },
        (false, None) => Decision::Unknown,
    }
}

/// The name known_hosts records a host under: the bare host on port 22, `[host]:port` otherwise
/// (what ssh writes and what hashed entries hash).
pub fn host_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Whether `name` is covered by a comma separated pattern list: a negated pattern that matches
/// wins over any positive one (OpenSSH's match_hostname).
fn host_matches(name: &str, patterns: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let mut positive = false;
    for pattern in patterns.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if glob(&negated.to_ascii_lowercase(), &name) {
                return false;
            }
        } else if pattern.starts_with("|1|") {
            positive |= hashed_matches(pattern, &name);
        } else {
            positive |= glob(&pattern.to_ascii_lowercase(), &name);
        }
    }
    positive
}

/// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as `ssh-keygen -H` writes it.
fn hashed_matches(entry: &str, name: &str) -> bool {
    let mut parts = entry["|1|".len()..].split('|');
    let (Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (Base64::decode_vec(salt), Base64::decode_vec(hash)) else {
        return false;
    };
    let Ok(mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(name.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

/// Shell-style match of `*` (any run of characters) and `?` (one character), nothing else.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Classic backtracking over the last `*`: linear in practice, no recursion to blow.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ED_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ85JUS7EGBZLG15pPDvWIYVfIytZVd7eVgAwzW9MxNj";
    const ED_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHTTduzo8vHLtVUkIC1AHsDZijURZko5taf6NOsrF6TD";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLN191Oj1K36svYt7Iuhim4iit5MR//M5o3t0hc/rl+E86493bLBXDml5jPdS9eDtY8s3u51hlBYwCbwWXCys5A=";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCryYPvyZvhKQ7nsxXfyFA5sngTw7YpU5UqthgbJdqIbZ79KKGmdlCHoH9imw7lVmKG9jLkRWtvZx34ZyxG9o2sOyNdVGmLBBQVGgSh5kX1qd4ZzxnHgYek34ZVemBXJnfl6uh6472mC+zpMd7yQk1NAqodNkNPrbbUhH2RX+t+Vw==";
    const KEYS: [&str; 4] = [ED_A, ED_B, ECDSA, RSA];
    /// `ssh-keygen -H` of `[app1.example]:2222 ED_A` then `db1.example ED_A`.
    const HASHED_PORT: &str = "|1|1XcRgNkPf8DiZ+kckxNkQMUJVcQ=|tHQqMKSLXC6gqKL6oHuQAjgV/jw=";
    const HASHED_22: &str = "|1|7rwR1SRSD6ooit+3ylrGBiJ3qR4=|EJTIBgnmyRM2abAV5bj3Jtgx4rY=";

    fn key(line: &str) -> PublicKey {
        PublicKey::from_openssh(line).unwrap()
    }

    fn decide22(text: &str, offered: &str) -> Decision {
        decide(text, "10.0.0.1", 22, &key(offered))
    }

    #[test]
    fn the_recorded_key_is_known_and_another_of_its_type_is_changed() {
        let text = format!("10.0.0.1 {ED_A}\n");
        assert_eq!(decide22(&text, ED_A), Decision::Known);
        assert_eq!(decide22(&text, ED_B), Decision::Changed { line: 1 });
        assert_eq!(decide22("", ED_A), Decision::Unknown);
        assert_eq!(
            decide22(&format!("10.0.0.2 {ED_A}\n"), ED_B),
            Decision::Unknown
        );
    }

    #[test]
    fn a_key_of_a_type_not_recorded_is_changed_not_unknown() {
        // The attack: the host's ed25519 key is recorded, a man in the middle offers RSA or
        // ECDSA, which russh's check calls unknown.
        let text = format!("# lab\n\n10.0.0.1 {ED_A}\n");
        assert_eq!(decide22(&text, RSA), Decision::Changed { line: 3 });
        assert_eq!(decide22(&text, ECDSA), Decision::Changed { line: 3 });
        // With several types recorded, the line named is the one of the offered type.
        let text = format!("10.0.0.1 {RSA}\n10.0.0.1 {ED_A}\n");
        assert_eq!(decide22(&text, ED_B), Decision::Changed { line: 2 });
        assert_eq!(decide22(&text, RSA), Decision::Known);
        assert_eq!(decide22(&text, ED_A), Decision::Known);
    }

    #[test]
    fn revoked_keys_are_refused_even_when_also_recorded() {
        let text = format!("10.0.0.1 {ED_A}\n@revoked * {ED_A}\n@revoked 10.0.0.1 {RSA}\n");
        assert_eq!(decide22(&text, ED_A), Decision::Revoked { line: 2 });
        assert_eq!(decide22(&text, RSA), Decision::Revoked { line: 3 });
        // A revocation alone does not make the host known: another key is simply unknown.
        assert_eq!(
            decide22(&format!("@revoked 10.0.0.1 {RSA}\n"), ED_A),
            Decision::Unknown
        );
        // A revocation for another host does not apply.
        let text = format!("10.0.0.1 {ED_A}\n@revoked 10.0.0.9 {ED_A}\n");
        assert_eq!(decide22(&text, ED_A), Decision::Known);
    }

    #[test]
    fn cert_authority_lines_neither_accept_nor_change_a_plain_key() {
        let text = format!("@cert-authority *.example,10.0.0.1 {ED_A}\n");
        assert_eq!(decide22(&text, ED_A), Decision::Unknown);
        let text = format!("@cert-authority * {ED_B}\n10.0.0.1 {ED_A}\n");
        assert_eq!(decide22(&text, ED_A), Decision::Known);
        // Malformed marker lines (no key, an unknown marker) do not crash the parse.
        let text = format!("@cert-authority\n@cert-authority *\n@bogus 10.0.0.1 {ED_B}\n");
        assert_eq!(decide22(&text, ED_A), Decision::Unknown);
    }

    #[test]
    fn hashed_names_match_their_host_and_port_only() {
        let text = format!("{HASHED_PORT} {ED_A}\n{HASHED_22} {ED_A}\n");
        let a = key(ED_A);
        assert_eq!(decide(&text, "app1.example", 2222, &a), Decision::Known);
        assert_eq!(decide(&text, "db1.example", 22, &a), Decision::Known);
        assert_eq!(
            decide(&text, "db1.example", 22, &key(RSA)),
            Decision::Changed { line: 2 }
        );
        assert_eq!(decide(&text, "app1.example", 22, &a), Decision::Unknown);
        assert_eq!(decide(&text, "db1.example", 2222, &a), Decision::Unknown);
        assert_eq!(decide(&text, "db2.example", 22, &a), Decision::Unknown);
    }

    #[test]
    fn ports_lists_globs_and_negations() {
        let text = format!("[10.0.0.1]:2222 {ED_A}\n");
        assert_eq!(
            decide(&text, "10.0.0.1", 2222, &key(ED_B)),
            Decision::Changed { line: 1 }
        );
        assert_eq!(decide(&text, "10.0.0.1", 22, &key(ED_B)), Decision::Unknown);
        let text = format!("app1,10.0.0.1,app2 {ED_A}\n");
        assert_eq!(decide22(&text, ED_A), Decision::Known);
        let text = format!("10.0.0.* {ED_A}\n");
        assert_eq!(decide22(&text, RSA), Decision::Changed { line: 1 });
        let text = format!("10.0.0.?,!10.0.0.1 {ED_A}\n");
        assert_eq!(decide22(&text, RSA), Decision::Unknown);
        assert_eq!(
            decide(&text, "10.0.0.2", 22, &key(RSA)),
            Decision::Changed { line: 1 }
        );
        let text = format!("APP1.Example {ED_A}\n");
        assert_eq!(
            decide(&text, "app1.example", 22, &key(ED_A)),
            Decision::Known
        );
    }

    #[test]
    fn tabs_comments_and_unreadable_lines() {
        let text = format!("  # comment\n10.0.0.1\t{ED_A} root@somewhere\n");
        assert_eq!(decide22(&text, ED_A), Decision::Known);
        // A broken line for this host is a recorded key that matches nothing: the host is not
        // unknown. One for another host is skipped.
        let text = "10.0.0.9 ssh-ed25519 garbage\n10.0.0.1 ssh-ed25519 AAAA\n";
        assert_eq!(decide22(text, ED_A), Decision::Changed { line: 2 });
        assert_eq!(decide22("10.0.0.1\n", ED_A), Decision::Changed { line: 1 });
        let text = format!("10.0.0.1 ssh-foo AAAAB3Nz\n10.0.0.1 {ED_A}\n");
        assert_eq!(decide22(&text, ED_A), Decision::Known);
        // A revocation that cannot be read fails closed.
        let text = format!("10.0.0.1 {ED_A}\n@revoked 10.0.0.1 ssh-ed25519 AAAA\n");
        assert!(matches!(
            decide22(&text, ED_A),
            Decision::Unreadable { line: 2, .. }
        ));
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("a*b?d", "axxbcd"));
        assert!(!glob("a*b?d", "axxbd"));
        assert!(glob("*.*.*", "1.2.3"));
        assert!(!glob("10.0.0.1", "10.0.0.10"));
    }

    fn host() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){0,2}"
    }

    proptest! {
        /// Whatever else the file holds, a host with a recorded key of any type is never
        /// Unknown, and a key that is not recorded for it is never Known.
        #[test]
        fn recorded_hosts_never_learn_an_offered_key(
            host in host(),
            port in prop_oneof![Just(22u16), 1u16..],
            recorded in proptest::collection::vec(0usize..4, 1..4),
            offered in 0usize..4,
            others in proptest::collection::vec((host(), 0usize..4), 0..4),
        ) {
            let name = host_name(&host, port);
            let mut text = String::new();
            for (other, k) in &others {
                if other != &host {
                    text.push_str(&format!("{} {}\n", host_name(other, port), KEYS[*k]));
                }
            }
            for k in &recorded {
                text.push_str(&format!("{name} {}\n", KEYS[*k]));
            }
            let verdict = decide(&text, &host, port, &key(KEYS[offered]));
            if recorded.contains(&offered) {
                prop_assert_eq!(verdict, Decision::Known);
            } else {
                prop_assert!(matches!(verdict, Decision::Changed { .. }), "{:?}", verdict);
            }
        }

        /// A revoked key is refused wherever the revocation sits and whatever else is recorded.
        #[test]
        fn revoked_always_wins(
            host in host(),
            recorded in proptest::collection::vec(0usize..4, 0..4),
            offered in 0usize..4,
            at in 0usize..4,
        ) {
            let mut lines: Vec<String> =
                recorded.iter().map(|k| format!("{host} {}", KEYS[*k])).collect();
            let at = at.min(lines.len());
            lines.insert(at, format!("@revoked {host} {}", KEYS[offered]));
            let verdict = decide(&lines.join("\n"), &host, 22, &key(KEYS[offered]));
            prop_assert_eq!(verdict, Decision::Revoked { line: at + 1 });
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn any_text_is_parsed_without_panic(text in "(\\PC{0,40}\n){0,6}", host in host()) {
            let _ = decide(&text, &host, 22, &key(ED_A));
            let _ = decide(&text, &host, 2222, &key(RSA));
        }
    }
}
