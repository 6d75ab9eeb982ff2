//! Cryptographic primitives every layer uses, and nothing else: randomness from the operating
//! system, random tokens, SHA-256 digests, HMAC-SHA256 and constant-time comparison. A leaf:
//! it imports no other module of the crate.

pub mod sealed;

use aws_lc_rs::{digest, hmac};
use base64::Engine as _;

/// Fills `buf` with random bytes. If the system RNG fails the process aborts: issuing a
/// predictable secret would be worse than stopping.
pub fn fill(buf: &mut [u8]) {
    if aws_lc_rs::rand::fill(buf).is_err() {
        eprintln!("propusk: the system random number generator failed");
        std::process::abort();
    }
}

/// `N` random bytes as base64url (no padding): token values, ids, secrets.
pub fn random_token<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let hash = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.as_ref());
    out
}

/// base64url(SHA-256(data)): how opaque tokens (sessions, codes, refresh tokens) are keyed, so a
/// leaked store holds nothing a browser or client could present.
pub fn digest(data: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(data.as_bytes()))
}

/// base64url(HMAC-SHA256(key, data)).
pub fn mac(key: &[u8; 32], data: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac::sign(&key, data).as_ref())
}

/// Constant-time equality of two strings.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Makes aws-lc-rs the process's TLS crypto provider (outgoing HTTPS: SMS webhooks, upstream
/// identity providers). Idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Base64 (standard or URL-safe) of at least 32 bytes: the form of a master key.
pub fn decode_key(text: &str) -> Option<Vec<u8>> {
    let standard = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = standard
        .decode(text)
        .or_else(|_| url.decode(text.trim_end_matches('=')))
        .ok()?;
    (bytes.len() >= 32).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_digests_and_macs_have_their_sizes_and_compare_in_full() {
        assert_eq!(random_token::<32>().len(), 43);
        assert_ne!(random_token::<16>(), random_token::<16>());
        assert_eq!(digest("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
        assert_eq!(mac(&[7; 32], b"x").len(), 43);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
