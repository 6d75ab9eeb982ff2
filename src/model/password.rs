//! Passwords: bcrypt at the configured cost, always off the async executor.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::model::InvalidValue;

/// bcrypt reads at most 72 bytes; longer passwords would be silently truncated, so they are
/// refused instead.
pub const MAX_BYTES: usize = 72;
/// The shortest password accepted (NIST SP 800-63B asks for at least 8; we ask for 10).
pub const MIN_CHARS: usize = 10;

/// The rule a new password breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// Longer than bcrypt can use ([`MAX_BYTES`]).
    TooLong,
    /// Shorter than [`MIN_CHARS`].
    TooShort,
    /// Blank, or with control characters.
    Blank,
    /// The username or email address.
    Personal,
    /// One of the most commonly used passwords.
    Common,
}

impl fmt::Display for Weakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Weakness::TooLong => write!(f, "is longer than {MAX_BYTES} bytes, which bcrypt cannot use"),
            Weakness::TooShort => write!(f, "must be at least {MIN_CHARS} characters"),
            Weakness::Blank => f.write_str("must not be blank or contain control characters"),
            Weakness::Personal => f.write_str("must not be the username or email address"),
            Weakness::Common => f.write_str("is one of the most commonly used passwords; choose another"),
        }
    }
}

impl From<Weakness> for InvalidValue {
    fn from(w: Weakness) -> Self {
        InvalidValue::new(w.to_string())
    }
}

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
        Ok(Self::checked(s)?)
    }

    /// Checks a new password for a user: the policy, and not the user's own name or email, nor
    /// a commonly used password.
    pub fn new_password_for(s: &str, username: &str, email: Option<&str>) -> Result<Self, InvalidValue> {
        Ok(Self::checked_for(s, username, email)?)
    }

    /// [`Password::new_password`], saying which rule a weak one breaks.
    pub fn checked(s: &str) -> Result<Self, Weakness> {
        if s.len() > MAX_BYTES {
            return Err(Weakness::TooLong);
        }
        if s.chars().count() < MIN_CHARS {
            return Err(Weakness::TooShort);
        }
        if s.trim().is_empty() || s.chars().any(|c| c.is_control()) {
            return Err(Weakness::Blank);
        }
        Ok(Self(SecretString::from(s.to_owned())))
    }

    /// [`Password::new_password_for`], saying which rule a weak one breaks.
    pub fn checked_for(s: &str, username: &str, email: Option<&str>) -> Result<Self, Weakness> {
        let password = Self::checked(s)?;
        let lower = s.to_lowercase();
        let email = email.map(str::to_lowercase);
        let local_part = email.as_deref().and_then(|e| e.split('@').next());
        if lower == username.to_lowercase()
            || Some(lower.as_str()) == email.as_deref()
            || Some(lower.as_str()) == local_part
        {
            return Err(Weakness::Personal);
        }
        if is_common(&lower) {
            return Err(Weakness::Common);
        }
        Ok(password)
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

static COMMON: &str = include_str!("common_passwords.txt");

/// True when `lower` (lower-cased) is on the bundled list of common passwords.
fn is_common(lower: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
    .contains(lower)
}

/// The hashing task failed (it panicked or the runtime is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_password_is_not_their_name_email_or_a_common_one() {
        let cases = [
            ("annabelle-01", false),
            ("ANNABELLE-01", false),
            ("ann.smith@example.com", false),
            ("ann.smith1", true),
            ("ann.smith", false),
            ("1q2w3e4r5t", false),
            ("Basketball", false),
            ("quiet harbour lantern", true),
        ];
        for (candidate, ok) in cases {
            let result = Password::new_password_for(candidate, "annabelle-01", Some("Ann.Smith@example.com"));
            assert_eq!(result.is_ok(), ok, "{candidate}");
        }
    }

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
