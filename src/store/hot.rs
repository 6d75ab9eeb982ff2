//! The hot-state store: short-lived values (refresh tokens, codes, sessions, the blacklist,
//! rate-limit counters, lockouts, OTP challenges). Expiry is decided by comparing a stored
//! expiry time with the injected clock; backend TTLs only reclaim space.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

mod keys;
mod protocol;
mod sessions;

pub use keys::{FeedReader, Key};

pub use protocol::{FEED_KEEP, FeedBatch, FeedEntry, HotState};

use super::StoreError;
pub use crate::model::rate::Rate;

/// What [`HotStore::take`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Absent or expired.
    Missing,
    /// The first take: the value is now marked used (and kept until it expires).
    First(Vec<u8>),
    /// Taken before: a replay.
    Again(Vec<u8>),
}

/// A counter's state after an increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub count: u64,
    /// When the counter's window ends and it starts again from zero (millisecond precision).
    pub resets_at: OffsetDateTime,
}

/// What [`HotStore::throttle`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Throttle {
    /// Every bucket had room; one request was counted in each. `remaining`: what is left in
    /// each bucket, in order.
    Allowed { remaining: Vec<u32> },
    /// Bucket `index` was full; nothing was counted. Retry after `retry_after_ms`
    /// (rounded up).
    Limited { index: usize, retry_after_ms: i64 },
}

/// Key-value state with expiry. Keys are `{kind}:{id}` (see [`key`]); implementations add
/// their prefix. A key holds one kind of thing: a value, a counter or a set.
#[async_trait]
pub trait HotStore: Send + Sync {
    /// `redis` or `memory`.
    fn name(&self) -> &'static str;

    /// Stores `value` until `expires_at`, replacing what was there (and any used mark).
    async fn put(&self, key: &str, value: &[u8], expires_at: OffsetDateTime) -> Result<(), StoreError>;

    /// Stores `value` only when the key is absent or expired; true when stored.
    async fn put_new(&self, key: &str, value: &[u8], expires_at: OffsetDateTime) -> Result<bool, StoreError>;

    /// The value, unless absent or expired.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// The values of several keys in one round trip, in order; `None` where absent or expired.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;

    /// Removes the key; true when something unexpired was there.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;

    /// Atomically takes a single-use value: the first caller gets [`Taken::First`], every later
    /// one [`Taken::Again`], until the value expires.
    async fn take(&self, key: &str) -> Result<Taken, StoreError>;

    /// Atomically adds one to a fixed-window counter. The window opens at the first increment
    /// (or the first after the previous window ended) and lasts `window`.
    async fn incr(&self, key: &str, window: Duration) -> Result<Counter, StoreError>;

    /// Atomically moves a generation counter forward and returns its new value: one more than
    /// the stored value, and at least `floor` (the caller's clock in unix seconds), so a counter
    /// that expired and starts again never falls back below values handed out before. The value
    /// is read back by [`HotStore::get`]/[`HotStore::get_many`] as decimal text; it lives until
    /// `expires_at`.
    async fn advance(&self, key: &str, floor: i64, expires_at: OffsetDateTime) -> Result<i64, StoreError>;

    /// Counts one request against every bucket `(key, rate)` atomically: all or none. The
    /// buckets are GCRA arrival times (see [`Rate::step`]).
    async fn throttle(&self, buckets: &[(String, Rate)]) -> Result<Throttle, StoreError>;

    /// Adds `member` to a set, to stay until `expires_at` (each member has its own expiry).
    async fn set_add(&self, key: &str, member: &str, expires_at: OffsetDateTime) -> Result<(), StoreError>;

    /// Removes `member`; true when it was there, unexpired.
    async fn set_remove(&self, key: &str, member: &str) -> Result<bool, StoreError>;

    /// True when `member` is in the set, unexpired.
    async fn set_contains(&self, key: &str, member: &str) -> Result<bool, StoreError>;

    /// The unexpired members, sorted.
    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError>;

    /// `put`, and appends `line` to its log in the same atomic step (a revocation and its feed
    /// entry are written together or not at all).
    async fn put_logged(
        &self,
        key: &str,
        value: &[u8],
        expires_at: OffsetDateTime,
        line: &LogLine<'_>,
    ) -> Result<(), StoreError>;

    /// `advance`, and appends `line` with the new value between its head and tail in the same
    /// atomic step, so racing advances reach the log in the order of their values.
    async fn advance_logged(
        &self,
        key: &str,
        floor: i64,
        expires_at: OffsetDateTime,
        line: &LogLine<'_>,
    ) -> Result<i64, StoreError>;

    /// Appends `entry` to the log `key` and returns its id; entries older than `keep` are dropped.
    /// Ids are `{unix ms}-{sequence}` and grow with every append (a Redis stream in Redis).
    async fn log_append(&self, key: &str, entry: &[u8], keep: Duration) -> Result<String, StoreError>;

    /// Up to `limit` entries of the log `key` after the id `after` (from the oldest kept when
    /// `None`), oldest first, with their ids.
    async fn log_read(
        &self,
        key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Checks that the backend answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A line a write appends to a log (`put_logged`, `advance_logged`): `head`, the written value
/// when there is one, then `tail`. Entries older than `keep` are dropped as it is added.
#[derive(Debug, Clone, Copy)]
pub struct LogLine<'a> {
    pub log: &'a str,
    pub keep: Duration,
    pub head: &'a [u8],
    pub tail: &'a [u8],
}

/// The key of an item: `{kind}:{id}`, e.g. `key("code", hash)`.
pub fn key(kind: &str, id: &str) -> String {
    format!("{kind}:{id}")
}

/// How long a backend keeps an entry after its logical expiry before reclaiming it, so a
/// clock that runs slightly behind the backend's never loses live data.
pub(crate) const RECLAIM_SLACK_MS: i64 = 60_000;
