//! Protections: the client's address behind trusted proxies, rate limits, CSRF tokens and
//! browser sessions.

pub mod client_ip;
pub mod csrf;
pub mod device;
pub mod lockout;
pub mod otp;
pub mod ratelimit;
pub mod reset;
pub mod sealed;
pub mod second_factor;
pub mod session;
pub mod signin;

use aws_lc_rs::hmac;
use base64::Engine as _;

/// base64url(HMAC-SHA256(key, data)).
pub(crate) fn mac(key: &[u8; 32], data: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac::sign(&key, data).as_ref())
}

/// Constant-time equality of two strings.
pub(crate) fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// base64url(SHA-256(data)): how opaque tokens (sessions, codes, refresh tokens) are keyed, so a
/// leaked store holds nothing a browser or client could present.
pub(crate) fn digest(data: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::identity::application::sha256(data.as_bytes()))
}
