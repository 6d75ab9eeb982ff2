//! The master key: one secret (`PROPUSK_MASTER_KEY`, or `KEYS_DIR/master.key` made on first
//! start) from which HKDF-SHA256 derives every other server secret, one per purpose, so that
//! no two mechanisms ever share a key.

use std::fmt;
use std::path::Path;

use aws_lc_rs::hkdf;
use base64::Engine as _;
use secrecy::ExposeSecret as _;

use super::{KeyError, ensure_dir, write_private};

use crate::config::Config;

/// What a derived key is for; the label is the HKDF `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    CookieSigning,
    Csrf,
    RefreshSuccessor,
    AuditChain,
    Encryption,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::CookieSigning => b"propusk/v1/cookie-signing",
            Self::Csrf => b"propusk/v1/csrf",
            Self::RefreshSuccessor => b"propusk/v1/refresh-successor",
            Self::AuditChain => b"propusk/v1/audit-chain",
            Self::Encryption => b"propusk/v1/encryption",
        }
    }
}

/// The master secret. Prints `[redacted]`.
pub struct MasterKey {
    prk: hkdf::Prk,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// From the configuration, else from `KEYS_DIR/master.key`, generated when missing.
    pub fn load_or_create(config: &Config) -> Result<Self, KeyError> {
        if let Some(secret) = &config.master_key {
            let bytes = crate::crypto::decode_key(secret.expose_secret()).ok_or_else(|| {
                KeyError::invalid(Path::new("PROPUSK_MASTER_KEY"), "expected base64 of at least 32 bytes")
            })?;
            return Ok(Self::from_bytes(&bytes));
        }
        let dir = &config.keys_dir;
        ensure_dir(dir)?;
        let path = dir.join("master.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = crate::crypto::decode_key(text.trim())
                    .ok_or_else(|| KeyError::invalid(&path, "expected base64 of at least 32 bytes"))?;
                Ok(Self::from_bytes(&bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                crate::crypto::fill(&mut bytes);
                let text = base64::engine::general_purpose::STANDARD.encode(bytes);
                write_private(&path, format!("{text}\n").as_bytes())?;
                Ok(Self::from_bytes(&bytes))
            }
            Err(e) => Err(KeyError::io(&path, e)),
        }
    }

    fn from_bytes(ikm: &[u8]) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"propusk master key").extract(ikm);
        Self { prk }
    }

    /// The 256-bit key for `purpose`.
    pub fn derive(&self, purpose: Purpose) -> [u8; 32] {
        let mut out = [0u8; 32];
        let info = [purpose.label()];
        // Expanding 32 bytes of SHA-256 output cannot fail (the limit is 255 × 32).
        if let Ok(okm) = self.prk.expand(&info, hkdf::HKDF_SHA256) {
            let _ = okm.fill(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_different_keys_and_the_same_master_the_same_ones() {
        let a = MasterKey::from_bytes(&[7; 32]);
        let b = MasterKey::from_bytes(&[7; 32]);
        assert_eq!(a.derive(Purpose::Csrf), b.derive(Purpose::Csrf));
        assert_ne!(a.derive(Purpose::Csrf), a.derive(Purpose::CookieSigning));
        assert_ne!(
            a.derive(Purpose::Csrf),
            MasterKey::from_bytes(&[8; 32]).derive(Purpose::Csrf)
        );
    }
}
