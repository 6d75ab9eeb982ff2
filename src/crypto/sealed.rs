//! Secrets that must be read back (TOTP seeds, upstream client secrets), encrypted at rest with
//! AES-256-GCM under a key derived from the master key. The associated data binds a ciphertext
//! to what it belongs to (e.g. `totp:{user id}`), so a sealed value moved to another row does
//! not open. Layout: 12-byte random nonce, then ciphertext and tag.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// Opening failed: wrong key, wrong associated data, or a damaged value.
#[derive(Debug, thiserror::Error)]
#[error("a sealed secret could not be opened")]
pub struct SealError;

fn key(key: &[u8; 32]) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| SealError)
}

/// Encrypts `plain` for `context`.
pub fn seal(master: &[u8; 32], context: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    super::fill(&mut nonce);
    let mut data = plain.to_vec();
    key(master)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut data,
        )
        .map_err(|_| SealError)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&data);
    Ok(out)
}

/// Decrypts what [`seal`] made for the same `context`.
pub fn open(master: &[u8; 32], context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(SealError);
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
    let mut data = data.to_vec();
    let plain = key(master)?
        .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
        .map_err(|_| SealError)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let k = [3u8; 32];
        let sealed = seal(&k, "totp:a", b"seed").unwrap_or_default();
        assert_ne!(&sealed[NONCE_LEN..], b"seed");
        assert_eq!(open(&k, "totp:a", &sealed).ok(), Some(b"seed".to_vec()));
        assert!(open(&k, "totp:b", &sealed).is_err(), "another row");
        assert!(open(&[4u8; 32], "totp:a", &sealed).is_err(), "another key");
        assert!(open(&k, "totp:a", &sealed[..10]).is_err());
        let mut flipped = sealed.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert!(open(&k, "totp:a", &flipped).is_err());
    }
}
