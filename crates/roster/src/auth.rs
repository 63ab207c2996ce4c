//! Who may write: POST, PUT and DELETE need `Authorization: Bearer <token>`; reads stay open.
//!
//! An app node knows only the SHA-256 of the token (`ROSTER_API_TOKEN_SHA256`), so nothing on
//! its disk lets anyone write; the token itself stays in the operator's secrets file. A node
//! started without the hash refuses every write (fail closed) rather than accepting them all.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_api::ErrorBody;
use sha2::{Digest, Sha256};

/// What a 401 asks for (`WWW-Authenticate`).
const CHALLENGE: &str = "Bearer realm=\"roster\"";

/// Methods that change the roster, and so need the token.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Equal without stopping at the first difference: how long it takes says nothing about how
/// much of a guess was right.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The bearer token of a request, if it has one (scheme case-insensitive, per RFC 7235).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No token, or not the right one: 401, the client may ask its user and try again.
    Unauthorized,
    /// This node has no token hash configured: 403, no token can help.
    NotConfigured,
}

/// Whether a write with `headers` may go ahead on a node configured with `expected` (the
/// token's SHA-256; None: not configured).
pub fn check(expected: Option<&[u8; 32]>, headers: &HeaderMap) -> Result<(), Refused> {
    let Some(expected) = expected else {
        return Err(Refused::NotConfigured);
    };
    let Some(token) = bearer(headers) else {
        return Err(Refused::Unauthorized);
    };
    let given: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if constant_time_eq(&given, expected) {
        Ok(())
    } else {
        Err(Refused::Unauthorized)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Unauthorized => {
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(ErrorBody::new(
                        "writing needs the roster API token: send Authorization: Bearer <token> (`minicloud secrets list` says where it is kept)",
                    )),
                )
                    .into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(CHALLENGE),
                );
                response
            }
            Refused::NotConfigured => (
                StatusCode::FORBIDDEN,
                axum::Json(ErrorBody::new(
                    "writes are disabled on this node: it has no API token hash configured (ROSTER_API_TOKEN_SHA256)",
                )),
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_api::token::{parse_sha256_hex, token_sha256_hex};

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_right_bearer_token_writes() {
        let hash = parse_sha256_hex(&token_sha256_hex("s3cret-token")).unwrap();
        assert_eq!(check(Some(&hash), &with("Bearer s3cret-token")), Ok(()));
        assert_eq!(check(Some(&hash), &with("bearer s3cret-token")), Ok(()));
        for wrong in [
            "Bearer s3cret-tokeN",
            "Bearer s3cret-token2",
            "Bearer ",
            "Basic s3cret-token",
            "s3cret-token",
        ] {
            assert_eq!(
                check(Some(&hash), &with(wrong)),
                Err(Refused::Unauthorized),
                "{wrong}"
            );
        }
        assert_eq!(
            check(Some(&hash), &HeaderMap::new()),
            Err(Refused::Unauthorized)
        );
        assert_eq!(
            check(None, &with("Bearer s3cret-token")),
            Err(Refused::NotConfigured),
            "no hash configured: fail closed"
        );
    }

    #[test]
    fn refusals_say_how_to_authenticate() {
        let response = Refused::Unauthorized.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"roster\""
        );
        assert_eq!(
            Refused::NotConfigured.into_response().status(),
            StatusCode::FORBIDDEN
        );
        assert!(is_write(&Method::POST) && is_write(&Method::PUT) && is_write(&Method::DELETE));
        assert!(!is_write(&Method::GET) && !is_write(&Method::HEAD));
    }
}
