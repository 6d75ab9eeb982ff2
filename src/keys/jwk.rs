//! Public JSON Web Keys (RFC 7517, 7518) and their thumbprints (RFC 7638), which serve as `kid`.

use base64::Engine as _;
use serde::Serialize;

/// A public signing key as `/jwks` publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Jwk {
    /// A P-256 key from its uncompressed point (`04 || x || y`).
    pub fn ec_p256(point: &[u8]) -> Option<Self> {
        let (&tag, xy) = point.split_first()?;
        if tag != 4 || xy.len() != 64 {
            return None;
        }
        let (x, y) = xy.split_at(32);
        let (x, y) = (b64(x), b64(y));
        let kid = thumbprint(&format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#));
        Some(Self {
            kty: "EC",
            use_: "sig",
            alg: "ES256",
            kid,
            crv: Some("P-256"),
            x: Some(x),
            y: Some(y),
            n: None,
            e: None,
        })
    }

    /// An RSA key from its big-endian modulus and exponent (no leading zeros).
    pub fn rsa(modulus: &[u8], exponent: &[u8]) -> Self {
        let (n, e) = (b64(modulus), b64(exponent));
        let kid = thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        Self {
            kty: "RSA",
            use_: "sig",
            alg: "RS256",
            kid,
            crv: None,
            x: None,
            y: None,
            n: Some(n),
            e: Some(e),
        }
    }
}

/// RFC 7638: base64url(SHA-256(canonical JSON of the required members)).
fn thumbprint(canonical: &str) -> String {
    b64(&crate::crypto::sha256(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    /// The worked example of RFC 7638 §3.1.
    #[test]
    fn rsa_thumbprint_matches_rfc7638() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let modulus = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(n).unwrap();
        let jwk = Jwk::rsa(&modulus, &[1, 0, 1]);
        assert_eq!(jwk.kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert_eq!(jwk.e.as_deref(), Some("AQAB"));
    }
}
