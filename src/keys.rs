//! Key material: the signing keyring (ES256 and RS256, current and previous, published as
//! JWKS) and the master key every other server secret is derived from (DESIGN.md, Keys).

pub mod jwk;
pub mod keyring;
pub mod master;
pub mod pem;

pub use keyring::{Keyring, SigningKey};
pub use master::{MasterKey, Purpose};

/// Why key material could not be loaded or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("key generation failed")]
    Generation,
}

impl KeyError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn invalid(path: &std::path::Path, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.display().to_string(),
            message: message.into(),
        }
    }
}

/// Writes `data` to `path` readable by the owner only (0600), atomically: a temporary file
/// renamed into place, so a crash never leaves half a key.
pub(crate) fn write_private(path: &std::path::Path, data: &[u8]) -> Result<(), KeyError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| KeyError::io(&tmp, e))?;
    file.write_all(data)
        .and_then(|()| file.sync_all())
        .map_err(|e| KeyError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| KeyError::io(path, e))
}

/// Creates the keys directory (0700) when missing.
pub(crate) fn ensure_dir(dir: &std::path::Path) -> Result<(), KeyError> {
    use std::os::unix::fs::DirBuilderExt as _;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| KeyError::io(dir, e))
}
