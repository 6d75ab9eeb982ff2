//! Passwords: bcrypt at the configured cost, always off the async executor.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::InvalidValue;

/// bcrypt reads at most 72 bytes; longer passwords would be silently truncated, so they are
/// refused instead.
pub const MAX_BYTES: usize = 72;
/// The shortest password accepted (NIST SP 800-63B asks for at least 8; we ask for 10).
pub const MIN_CHARS: usize = 10;

/// A candidate password. Prints `[redacted]`.
#[derive(Clone)]
pub struct Password(SecretString);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// Wraps a password presented at login: no policy, only what bcrypt can take.
    pub fn presented(s: &str) -> Result<Self, InvalidValue> {
        if s.is_empty() || s.len() > MAX_BYTES {
            return Err(InvalidValue::new(format!("must be 1-{MAX_BYTES} bytes")));
        }
        Ok(Self(SecretString::from(s.to_owned())))
    }

    /// Checks a new password against the policy.
    pub fn new_password(s: &str) -> Result<Self, InvalidValue> {
        if s.len() > MAX_BYTES {
            return Err(InvalidValue::new(format!(
                "is longer than {MAX_BYTES} bytes, which bcrypt cannot use"
            )));
        }
        if s.chars().count() < MIN_CHARS {
            return Err(InvalidValue::new(format!("must be at least {MIN_CHARS} characters")));
        }
        if s.trim().is_empty() || s.chars().any(|c| c.is_control()) {
            return Err(InvalidValue::new("must not be blank or contain control characters"));
        }
        Ok(Self(SecretString::from(s.to_owned())))
    }

    /// Hashes with bcrypt on the blocking pool.
    pub async fn hash(self, cost: u32) -> Result<String, PasswordError> {
        tokio::task::spawn_blocking(move || bcrypt::hash(self.0.expose_secret(), cost))
            .await
            .map_err(|_| PasswordError)?
            .map_err(|_| PasswordError)
    }

    /// Checks against a stored bcrypt hash on the blocking pool. A malformed hash is a mismatch.
    pub async fn verify(self, hash: String) -> Result<bool, PasswordError> {
        tokio::task::spawn_blocking(move || bcrypt::verify(self.0.expose_secret(), &hash).unwrap_or(false))
            .await
            .map_err(|_| PasswordError)
    }
}

/// The hashing task failed (it panicked or the runtime is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_and_overlong_passwords() {
        assert!(Password::new_password("short").is_err());
        assert!(Password::new_password(&"é".repeat(37)).is_err(), "74 bytes");
        assert!(Password::new_password(&"a".repeat(72)).is_ok());
        assert!(Password::new_password("          ").is_err());
        assert!(format!("{:?}", Password::new_password("correct horse").unwrap()).contains("redacted"));
    }

    #[tokio::test]
    async fn hashes_verify() {
        let hash = Password::new_password("correct horse").unwrap().hash(4).await.unwrap();
        assert!(
            Password::presented("correct horse")
                .unwrap()
                .verify(hash.clone())
                .await
                .unwrap()
        );
        assert!(!Password::presented("wrong horse!").unwrap().verify(hash).await.unwrap());
        assert!(
            !Password::presented("x")
                .unwrap()
                .verify("garbage".into())
                .await
                .unwrap()
        );
    }
}
