//! Lockout after repeated failures, built so that an attacker cannot lock the real user out.
//!
//! Failures are counted per *scope*, separately for passwords and one-time codes:
//! - a **known device** (a browser holding a signed device cookie from an earlier successful
//!   sign-in of this user) has its own budget, and nothing else applies to it;
//! - any other attempt counts against its **source** (the client address) for this account,
//!   and against the **account** as a whole (a higher threshold, for guessing spread over many
//!   addresses) — which again locks only unknown devices.
//!
//! Each scope locks after its threshold of consecutive failures, for a time that grows with
//! each lockout within a day (`PROPUSK_LOCKOUT_DURATIONS`), and unlocks by itself. Unknown
//! login names are counted and locked exactly like real ones (under a digest of the name), so a
//! lockout says nothing about whether an account exists.

use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use crate::config::Config;
use crate::store::StoreError;
use crate::store::hot::HotState;
use crate::store::hot::Key;

/// Consecutive failures are remembered this long.
const FAILURE_WINDOW: Duration = Duration::days(1);
/// An in-flight marker outlives a crashed attempt at most this long.
const IN_FLIGHT: Duration = Duration::seconds(10);

/// The markers of an attempt in flight (see [`Lockout::begin`]).
#[derive(Debug)]
#[must_use = "end the attempt with Lockout::end"]
pub struct InFlight {
    factor: &'static str,
    subject: String,
    scopes: Vec<String>,
}

/// Lockouts count toward the next one's length this long.
const LEVEL_WINDOW: Duration = Duration::days(1);

/// What was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Password,
    /// A one-time code (TOTP, email, SMS) or a recovery code.
    Code,
}

impl Factor {
    fn tag(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::Code => "otp",
        }
    }
}

/// Where an attempt comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A browser this user signed in from before (its device id).
    KnownDevice(String),
    /// Anything else, by client address.
    Source(IpAddr),
}

/// One sign-in attempt: whose account (a user id, or a digest of an unknown name), from where,
/// with what.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub subject: String,
    /// A digest of the name typed (empty for codes): the per-source budget counts per name, so
    /// locking `bob` from one address says nothing about whether `bob@…` is the same account.
    pub typed: String,
    pub origin: Origin,
    pub factor: Factor,
}

pub use crate::model::lockout::{Lock, LockScope};

/// The lockout policy.
#[derive(Debug, Clone)]
pub struct Lockout {
    pub threshold: u32,
    pub account_threshold: u32,
    pub durations: Vec<Duration>,
}

impl Lockout {
    pub fn from_config(config: &Config) -> Self {
        Self {
            threshold: config.lockout_threshold,
            account_threshold: config.lockout_account_threshold,
            durations: config.lockout_durations.clone(),
        }
    }

    /// The scopes an attempt counts in, with their thresholds: `(scope, scope id, threshold)`.
    fn scopes(&self, attempt: &Attempt) -> Vec<(LockScope, String, u32)> {
        match &attempt.origin {
            Origin::KnownDevice(device) => vec![(LockScope::Device, format!("d:{device}"), self.threshold)],
            Origin::Source(ip) => vec![
                (
                    LockScope::Source,
                    format!("s:{}:{}", attempt.typed, crate::security::ratelimit::source_key(*ip)),
                    self.threshold,
                ),
                (LockScope::Account, "a".to_owned(), self.account_threshold),
            ],
        }
    }

    fn lock_key<'a>(attempt: &'a Attempt, scope: &'a str) -> Key<'a> {
        let (factor, subject) = (attempt.factor.tag(), attempt.subject.as_str());
        Key::Lock { factor, subject, scope }
    }

    fn failures_key<'a>(attempt: &'a Attempt, scope: &'a str) -> Key<'a> {
        let (factor, subject) = (attempt.factor.tag(), attempt.subject.as_str());
        Key::LockFailures { factor, subject, scope }
    }

    /// The lock that stops this attempt, if any (the longest, when several apply).
    pub async fn check(
        &self,
        hot: &HotState,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> Result<Option<Lock>, StoreError> {
        let scopes = self.scopes(attempt);
        let keys: Vec<Key<'_>> = scopes.iter().map(|(_, id, _)| Self::lock_key(attempt, id)).collect();
        let found = hot.get_many(&keys).await?;
        Ok(found
            .into_iter()
            .flatten()
            .filter_map(|bytes| serde_json::from_slice::<Lock>(&bytes).ok())
            .filter(|lock| lock.until > now)
            .max_by_key(|lock| lock.until))
    }

    /// Counts a failure; returns the lock it started, if it reached a threshold.
    pub async fn failed(
        &self,
        hot: &HotState,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> Result<Option<Lock>, StoreError> {
        let mut started: Option<Lock> = None;
        for (scope, id, threshold) in self.scopes(attempt) {
            let failures = hot.incr(Self::failures_key(attempt, &id), FAILURE_WINDOW).await?;
            let locks = Key::Locks(&attempt.subject);
            if failures.count == 1 {
                hot.index_add(locks, Self::failures_key(attempt, &id), now + FAILURE_WINDOW)
                    .await?;
            }
            if failures.count < u64::from(threshold) {
                continue;
            }
            hot.delete(Self::failures_key(attempt, &id)).await?;
            let (factor, subject) = (attempt.factor.tag(), attempt.subject.as_str());
            let level_key = Key::LockLevel {
                factor,
                subject,
                scope: &id,
            };
            let level = hot.incr(level_key, LEVEL_WINDOW).await?.count;
            let level = u32::try_from(level).unwrap_or(u32::MAX);
            let index = usize::try_from(level.saturating_sub(1)).unwrap_or(usize::MAX);
            let length = self
                .durations
                .get(index)
                .or(self.durations.last())
                .copied()
                .unwrap_or(Duration::minutes(1));
            let lock = Lock {
                scope,
                until: now + length,
                level,
            };
            let key = Self::lock_key(attempt, &id);
            hot.put_record(key, &lock, lock.until).await?;
            let indexed_until = lock.until.max(now + LEVEL_WINDOW);
            hot.index_add(locks, key, indexed_until).await?;
            hot.index_add(locks, level_key, now + LEVEL_WINDOW).await?;
            if started.as_ref().is_none_or(|s| lock.until > s.until) {
                started = Some(lock);
            }
        }
        Ok(started)
    }

    /// Marks the attempt in flight in each of its scopes, or `None` when another attempt is: the
    /// lock is checked before the (slow) verification and failures are counted after it, so
    /// parallel guesses would otherwise all pass the check. End it with [`Self::end`].
    pub async fn begin(
        &self,
        hot: &HotState,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> Result<Option<InFlight>, StoreError> {
        let mut taken = Vec::new();
        for (_, id, _) in self.scopes(attempt) {
            let (factor, subject) = (attempt.factor.tag(), attempt.subject.as_str());
            let key = Key::InFlight {
                factor,
                subject,
                scope: &id,
            };
            if hot.put_new(key, b"1", now + IN_FLIGHT).await? {
                taken.push(id);
            } else {
                for scope in &taken {
                    hot.delete(Key::InFlight { factor, subject, scope }).await?;
                }
                return Ok(None);
            }
        }
        Ok(Some(InFlight {
            factor: attempt.factor.tag(),
            subject: attempt.subject.clone(),
            scopes: taken,
        }))
    }

    /// Ends an attempt begun with [`Self::begin`].
    pub async fn end(&self, hot: &HotState, in_flight: InFlight) {
        let (factor, subject) = (in_flight.factor, in_flight.subject.as_str());
        for scope in &in_flight.scopes {
            if let Err(e) = hot.delete(Key::InFlight { factor, subject, scope }).await {
                tracing::warn!(error = %e, "an in-flight sign-in marker stays until it expires");
            }
        }
    }

    /// A success ends the run of failures in the attempt's scopes.
    pub async fn succeeded(&self, hot: &HotState, attempt: &Attempt) -> Result<(), StoreError> {
        for (_, id, _) in self.scopes(attempt) {
            hot.delete(Self::failures_key(attempt, &id)).await?;
        }
        Ok(())
    }
}

/// Ends every lock and failure count on `subject` (admin unlock, password reset); true when a
/// lock was in force.
pub async fn unlock(hot: &HotState, subject: &str) -> Result<bool, StoreError> {
    let live = hot.clear_index(Key::Locks(subject)).await?;
    Ok(live.iter().any(|key| Key::is_lock(key)))
}
