//! Compact JWS (RFC 7515) signing and verification for our own tokens: ES256 access tokens
//! (`typ: at+jwt`, RFC 9068) and RS256/ES256 ID tokens. Verification picks the key by `kid`
//! and insists the header's `alg` is that key's, so no algorithm confusion is possible.

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys::{Keyring, SigningKey};

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Serialize, serde::Deserialize)]
struct Header {
    alg: String,
    kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

/// Why a JWT was refused. Deliberately coarse: callers answer `invalid_token` either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("wrong token type")]
    WrongType,
    #[error("signing failed")]
    Signing,
}

/// Signs `claims` as a compact JWS with `key`, declaring `typ` (e.g. `at+jwt`, `JWT`).
pub fn sign<C: Serialize>(key: &SigningKey, typ: &str, claims: &C) -> Result<String, JwtError> {
    let header = Header {
        alg: key.alg.as_str().to_owned(),
        kid: key.kid().to_owned(),
        typ: Some(typ.to_owned()),
    };
    let header = serde_json::to_vec(&header).map_err(|_| JwtError::Signing)?;
    let payload = serde_json::to_vec(claims).map_err(|_| JwtError::Signing)?;
    let mut token = String::with_capacity(512);
    B64.encode_string(header, &mut token);
    token.push('.');
    B64.encode_string(payload, &mut token);
    let signature = key.sign(token.as_bytes()).map_err(|_| JwtError::Signing)?;
    token.push('.');
    B64.encode_string(signature, &mut token);
    Ok(token)
}

/// Verifies a compact JWS against the keyring and, when `typ` is given, its header type;
/// returns the decoded claims. Expiry and other claim rules are the caller's.
pub fn verify<C: DeserializeOwned>(keyring: &Keyring, token: &str, typ: Option<&str>) -> Result<C, JwtError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Header = serde_json::from_slice(&B64.decode(header_b64).map_err(|_| JwtError::Malformed)?)
        .map_err(|_| JwtError::Malformed)?;
    let key = keyring.find(&header.kid).ok_or(JwtError::UnknownKey)?;
    if header.alg != key.alg.as_str() {
        return Err(JwtError::BadSignature);
    }
    let signature = B64.decode(sig_b64).map_err(|_| JwtError::Malformed)?;
    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
    if !key.verify(signed.as_bytes(), &signature) {
        return Err(JwtError::BadSignature);
    }
    if let Some(expected) = typ {
        // RFC 9068 §4: `at+jwt`, also accepted as `application/at+jwt`, compared case-blind.
        let actual = header.typ.as_deref().unwrap_or("");
        let actual = actual.strip_prefix("application/").unwrap_or(actual);
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(JwtError::WrongType);
        }
    }
    serde_json::from_slice(&B64.decode(payload_b64).map_err(|_| JwtError::Malformed)?).map_err(|_| JwtError::Malformed)
}

/// The claims of a token without checking anything: only for hints whose signature is checked
/// elsewhere or whose content is advisory.
pub fn peek<C: DeserializeOwned>(token: &str) -> Option<C> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::application::SigningAlg;

    fn keyring() -> (tempfile::TempDir, Keyring) {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::load_or_create(dir.path()).unwrap();
        (dir, ring)
    }

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Claims {
        sub: String,
    }

    #[test]
    fn tokens_verify_with_both_algorithms_and_across_rotation() {
        let (dir, ring) = keyring();
        let claims = Claims { sub: "u1".into() };
        for alg in SigningAlg::ALL {
            let token = sign(ring.active(*alg).unwrap(), "at+jwt", &claims).unwrap();
            assert_eq!(verify::<Claims>(&ring, &token, Some("at+jwt")).unwrap(), claims);
        }
        let old = sign(ring.active(SigningAlg::Es256).unwrap(), "at+jwt", &claims).unwrap();
        Keyring::rotate(dir.path()).unwrap();
        let rotated = Keyring::load_or_create(dir.path()).unwrap();
        assert_eq!(
            verify::<Claims>(&rotated, &old, Some("at+jwt")).unwrap(),
            claims,
            "previous key still verifies"
        );
        Keyring::rotate(dir.path()).unwrap();
        let twice = Keyring::load_or_create(dir.path()).unwrap();
        assert_eq!(
            verify::<Claims>(&twice, &old, None),
            Err(JwtError::UnknownKey),
            "retired after two rotations"
        );
    }

    #[test]
    fn tampering_type_confusion_and_alg_swaps_are_refused() {
        let (_dir, ring) = keyring();
        let es = ring.active(SigningAlg::Es256).unwrap();
        let token = sign(es, "at+jwt", &Claims { sub: "u1".into() }).unwrap();
        let parts: Vec<&str> = token.split('.').collect();

        let forged_payload = B64.encode(br#"{"sub":"admin"}"#);
        let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(verify::<Claims>(&ring, &tampered, None), Err(JwtError::BadSignature));

        let id_token = sign(es, "JWT", &Claims { sub: "u1".into() }).unwrap();
        assert_eq!(
            verify::<Claims>(&ring, &id_token, Some("at+jwt")),
            Err(JwtError::WrongType)
        );

        let swapped = B64.encode(format!(r#"{{"alg":"RS256","kid":"{}","typ":"at+jwt"}}"#, es.kid()));
        let swapped = format!("{swapped}.{}.{}", parts[1], parts[2]);
        assert_eq!(verify::<Claims>(&ring, &swapped, None), Err(JwtError::BadSignature));

        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none","kid":"x"}"#), parts[1]);
        assert!(verify::<Claims>(&ring, &none, None).is_err());
        for bad in ["", "a", "a.b", "a.b.c.d", &"x".repeat(MAX_TOKEN_BYTES + 1)] {
            assert!(verify::<Claims>(&ring, bad, None).is_err(), "{bad:.10}");
        }
    }
}
