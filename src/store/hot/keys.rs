//! The names of the hot-state keys that the sign-in protections, one-time codes, password
//! resets, contact changes and federation flows keep (the protocol's and the browser sessions'
//! keys belong to their typed repositories, `protocol` and `sessions`). A caller names a key by
//! its kind and parts; its text form, and the digest of any secret in it, are decided here only.
//! The forms are the ones that landed, so live entries survive an upgrade.

use std::fmt;

use crate::crypto::digest;
use crate::model::user::UserId;

/// One hot-state key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    /// Failures counted toward a lock: the factor's tag, the subject, the lock scope's id.
    LockFailures {
        factor: &'a str,
        subject: &'a str,
        scope: &'a str,
    },
    /// A lock in force (JSON `Lock`).
    Lock {
        factor: &'a str,
        subject: &'a str,
        scope: &'a str,
    },
    /// How many locks the scope had today (the next one lasts longer).
    LockLevel {
        factor: &'a str,
        subject: &'a str,
        scope: &'a str,
    },
    /// An attempt being checked right now.
    InFlight {
        factor: &'a str,
        subject: &'a str,
        scope: &'a str,
    },
    /// The lock keys of a subject, so an unlock finds them all.
    Locks(&'a str),
    /// A rate-limit bucket.
    RateLimit { policy: &'a str, id: &'a str },
    /// A password-reset token (kept under its digest).
    Reset(&'a str),
    /// The reset tokens of a user, voided together.
    ResetTokens(UserId),
    /// The daily reset-mail budget of an address (`address`: a digest) from one known device.
    ResetBudgetDevice { address: &'a str, device: &'a str },
    /// … from one client address (keyed as `ratelimit::source_key`).
    ResetBudgetSource { address: &'a str, source: &'a str },
    /// … from every unknown source together.
    ResetBudgetUnknown { address: &'a str },
    /// A one-time code's challenge.
    Otp { purpose: &'a str, subject: &'a str },
    /// The daily budget of codes sent to one destination (kept under its digest).
    OtpDestination(&'a str),
    /// The daily budget of codes sent for one account.
    OtpAccount(&'a str),
    /// Wrong guesses at one challenge.
    OtpAttempts {
        purpose: &'a str,
        subject: &'a str,
        sent_at: i64,
    },
    /// A user's known devices.
    Devices(UserId),
    /// A sign-in waiting for its second factor (kept under the token's digest).
    MfaPending(&'a str),
    /// A lock notice already sent to the user (once per lock).
    LockNotice(UserId),
    /// The state of a flow to an upstream identity provider (kept under its digest).
    FederationState(&'a str),
    /// A new email or phone waiting for its code: the channel (`email`, `phone`) and the user.
    ContactChange { channel: &'a str, user: UserId },
}

impl Key<'_> {
    /// True when the text is a [`Key::Lock`].
    pub fn is_lock(text: &str) -> bool {
        text.starts_with("lock:")
    }
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Key::LockFailures { factor, subject, scope } => write!(f, "lockfail:{factor}:{subject}:{scope}"),
            Key::Lock { factor, subject, scope } => write!(f, "lock:{factor}:{subject}:{scope}"),
            Key::LockLevel { factor, subject, scope } => write!(f, "locklevel:{factor}:{subject}:{scope}"),
            Key::InFlight { factor, subject, scope } => write!(f, "inflight:{factor}:{subject}:{scope}"),
            Key::Locks(subject) => write!(f, "locks:{subject}"),
            Key::RateLimit { policy, id } => write!(f, "rl:{policy}:{id}"),
            Key::Reset(token) => write!(f, "reset:{}", digest(token)),
            Key::ResetTokens(user) => write!(f, "reset-tokens:{user}"),
            Key::ResetBudgetDevice { address, device } => {
                write!(f, "reset-budget:{address}:device:{}", digest(device))
            }
            Key::ResetBudgetSource { address, source } => write!(f, "reset-budget:{address}:ip:{source}"),
            Key::ResetBudgetUnknown { address } => write!(f, "reset-budget:{address}:unknown"),
            Key::Otp { purpose, subject } => write!(f, "otp:{purpose}:{subject}"),
            Key::OtpDestination(destination) => write!(f, "otp-dest:{}", digest(&destination.to_lowercase())),
            Key::OtpAccount(account) => write!(f, "otp-acct:{account}"),
            Key::OtpAttempts {
                purpose,
                subject,
                sent_at,
            } => write!(f, "otp-attempts:{purpose}:{subject}:{sent_at}"),
            Key::Devices(user) => write!(f, "devices:{user}"),
            Key::MfaPending(token) => write!(f, "mfa-pending:{}", digest(token)),
            Key::LockNotice(user) => write!(f, "notice-lock:{user}"),
            Key::FederationState(state) => write!(f, "fed-state:{}", digest(state)),
            Key::ContactChange { channel, user } => write!(f, "pending-{channel}:{user}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_the_forms_that_landed() {
        let user = UserId::parse("0190c6a4-7d38-7000-8000-000000000001").unwrap();
        let lock = Key::Lock {
            factor: "pwd",
            subject: "u",
            scope: "a",
        }
        .to_string();
        assert_eq!(lock, "lock:pwd:u:a");
        assert!(Key::is_lock(&lock));
        assert!(!Key::is_lock(&Key::Locks("u").to_string()));
        assert_eq!(Key::Devices(user).to_string(), format!("devices:{user}"));
        assert_eq!(
            Key::ContactChange { channel: "email", user }.to_string(),
            format!("pending-email:{user}")
        );
        assert_eq!(
            Key::OtpDestination("A@x.io").to_string(),
            Key::OtpDestination("a@x.io").to_string()
        );
        assert!(
            !Key::Reset("secret").to_string().contains("secret"),
            "secrets are kept as digests"
        );
    }
}
