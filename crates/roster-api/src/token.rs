//! The API token's hash: writes carry the token (`Authorization: Bearer <token>`), app nodes
//! keep only its SHA-256 (`ROSTER_API_TOKEN_SHA256`), written by `minicloud` and read by the app
//! in the form defined here, so the two cannot disagree about it.

use sha2::{Digest, Sha256};

/// SHA-256 of `token`, as the lowercase hex `minicloud` renders into `roster.env`.
pub fn token_sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Read the configured hash: exactly 64 hex digits (either case).
pub fn parse_sha256_hex(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "ROSTER_API_TOKEN_SHA256 must be 64 hex digits (the SHA-256 of the API token), not {} characters",
            text.len()
        ));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("checked hex digits");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_64_hex_digits() {
        let hex = token_sha256_hex("abc");
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            parse_sha256_hex(&hex.to_uppercase()),
            parse_sha256_hex(&hex)
        );
        assert!(parse_sha256_hex(&hex[1..]).is_err());
        assert!(parse_sha256_hex(&format!("{}zz", &hex[2..])).is_err());
        assert!(parse_sha256_hex("********").is_err());
    }
}
