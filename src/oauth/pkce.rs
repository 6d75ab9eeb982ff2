//! Proof Key for Code Exchange (RFC 7636), S256 only (RFC 9700 §2.1.1: `plain` is refused).

use base64::Engine as _;

use crate::crypto::same;
use crate::crypto::sha256;

/// A `code_challenge`: base64url(SHA-256(verifier)), always 43 characters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(s.to_owned()))
    }

    /// True when `verifier` (43–128 unreserved characters, RFC 7636 §4.1) hashes to this challenge.
    pub fn verify(&self, verifier: &str) -> bool {
        let valid = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        valid
            && same(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes())),
                &self.0,
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn the_rfc_example_verifies() {
        let challenge = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").unwrap();
        assert!(challenge.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!challenge.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"));
        assert!(!challenge.verify("short"));
        assert!(!challenge.verify(&"a".repeat(129)));
        assert!(CodeChallenge::parse("too-short").is_none());
        assert!(CodeChallenge::parse(&"+".repeat(43)).is_none());
    }
}
