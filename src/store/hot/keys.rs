//! The names of the hot-state keys that the sign-in protections, one-time codes, password
//! resets, contact changes and federation flows keep (the protocol's and the browser sessions'
//! keys belong to their typed repositories, `protocol` and `sessions`). A caller names a key by
//! its kind and parts; its text form, and the digest of any secret in it, are decided here only.
//! The forms are the ones that landed, so live entries survive an upgrade. [`HotState`] takes
//! these keys only (never a string), and stores records as JSON.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::{Duration, OffsetDateTime};

use super::{Counter, HotState, Rate, Taken, Throttle};
use crate::crypto::digest;
use crate::model::StoreError;
use crate::model::user::UserId;
use crate::oauth::ports::Use;

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
    /// How far a reader of the revocation feed has read it (a feed id).
    FeedCursor(FeedReader),
    /// A browser session (kept under the cookie's digest).
    Session(&'a str),
    /// The ids of a user's live browser sessions.
    UserSessions(UserId),
    /// A browser session by its `sid` (what back-channel logout needs to know of it).
    SessionBySid(&'a str),
    /// The applications a browser session signed in to (client ids).
    SessionClients(&'a str),
    /// A logout token already sent for a session to an application.
    BackchannelSent { sid: &'a str, client: &'a str },
    /// The admin console's sign-in in flight: its PKCE verifier (kept under the state's digest).
    ConsoleSignIn(&'a str),
    /// The admin console's tokens for one browser (kept under the cookie's digest).
    ConsoleSession(&'a str),
}

/// A reader of the revocation feed that keeps a cursor shared by the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedReader {
    /// The relay to the Kafka topic.
    Kafka,
    /// The back-channel logout dispatcher.
    Backchannel,
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
            Key::FeedCursor(FeedReader::Kafka) => f.write_str("feed-cursor:kafka"),
            Key::FeedCursor(FeedReader::Backchannel) => f.write_str("feed-cursor:backchannel"),
            Key::Session(cookie) => write!(f, "session:{}", digest(cookie)),
            Key::UserSessions(user) => write!(f, "user-sessions:{user}"),
            Key::SessionBySid(sid) => write!(f, "session-sid:{sid}"),
            Key::SessionClients(sid) => write!(f, "session-clients:{sid}"),
            Key::BackchannelSent { sid, client } => write!(f, "bcl-sent:{sid}:{}", digest(client)),
            Key::ConsoleSignIn(state) => write!(f, "console-signin:{}", digest(state)),
            Key::ConsoleSession(cookie) => write!(f, "console-session:{}", digest(cookie)),
        }
    }
}

/// The hot-state primitives and JSON records, by [`Key`].
impl HotState {
    pub async fn put(&self, key: Key<'_>, value: &[u8], until: OffsetDateTime) -> Result<(), StoreError> {
        self.hot.put(&key.to_string(), value, until).await
    }

    /// Stores only when absent or expired; true when stored.
    pub async fn put_new(&self, key: Key<'_>, value: &[u8], until: OffsetDateTime) -> Result<bool, StoreError> {
        self.hot.put_new(&key.to_string(), value, until).await
    }

    pub async fn get(&self, key: Key<'_>) -> Result<Option<Vec<u8>>, StoreError> {
        self.hot.get(&key.to_string()).await
    }

    pub async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
        self.hot.get_many(&keys).await
    }

    pub async fn delete(&self, key: Key<'_>) -> Result<bool, StoreError> {
        self.hot.delete(&key.to_string()).await
    }

    pub async fn take(&self, key: Key<'_>) -> Result<Taken, StoreError> {
        self.hot.take(&key.to_string()).await
    }

    pub async fn incr(&self, key: Key<'_>, window: Duration) -> Result<Counter, StoreError> {
        self.hot.incr(&key.to_string(), window).await
    }

    pub async fn throttle(&self, buckets: &[(Key<'_>, Rate)]) -> Result<Throttle, StoreError> {
        let buckets: Vec<(String, Rate)> = buckets.iter().map(|(k, r)| (k.to_string(), *r)).collect();
        self.hot.throttle(&buckets).await
    }

    pub async fn set_add(&self, key: Key<'_>, member: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        self.hot.set_add(&key.to_string(), member, until).await
    }

    pub async fn set_contains(&self, key: Key<'_>, member: &str) -> Result<bool, StoreError> {
        self.hot.set_contains(&key.to_string(), member).await
    }

    pub async fn set_remove(&self, key: Key<'_>, member: &str) -> Result<bool, StoreError> {
        self.hot.set_remove(&key.to_string(), member).await
    }

    pub async fn set_members(&self, key: Key<'_>) -> Result<Vec<String>, StoreError> {
        self.hot.set_members(&key.to_string()).await
    }

    /// Records `member` in the index `index`, so [`Self::clear_index`] deletes it with the rest.
    pub async fn index_add(&self, index: Key<'_>, member: Key<'_>, until: OffsetDateTime) -> Result<(), StoreError> {
        self.hot.set_add(&index.to_string(), &member.to_string(), until).await
    }

    /// Deletes every key `index` names and the index itself; returns the keys that were live.
    pub async fn clear_index(&self, index: Key<'_>) -> Result<Vec<String>, StoreError> {
        let index = index.to_string();
        let mut live = Vec::new();
        for key in self.hot.set_members(&index).await? {
            if self.hot.delete(&key).await? {
                live.push(key);
            }
        }
        self.hot.delete(&index).await?;
        Ok(live)
    }

    /// Stores `value` as JSON under `key` until `until`.
    pub async fn put_record<T: Serialize + Sync>(
        &self,
        key: Key<'_>,
        value: &T,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.put(key, &super::protocol::encode(value)?, until).await
    }

    /// The record under `key`; `None` when absent, expired or unreadable.
    pub async fn record<T: DeserializeOwned>(&self, key: Key<'_>) -> Result<Option<T>, StoreError> {
        Ok(self
            .get(key)
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Takes a single-use record; an unreadable one is `Corrupt`.
    pub async fn take_record<T: DeserializeOwned>(&self, key: Key<'_>) -> Result<Use<T>, StoreError> {
        super::protocol::typed(self.take(key).await?)
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
