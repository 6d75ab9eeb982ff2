//! The protocol core's ports ([`crate::oauth::ports`]) over the hot-state store: this file owns
//! their key names, lifetimes and serialisation. Keys (unchanged since they landed, so a rolling
//! upgrade keeps every live code, token and session):
//! `code:{sha256(code)}`, `code-outcome:{sha256(code)}`, `rt:{sha256(token)}`,
//! `sid-families:{sid}`, `deny:jti:{jti}`, `deny:sid:{sid}`, `deny:family:{family}`,
//! `gen:{user,sessions,role,account,app}:{id}`, `nbf:user:{sub}`, `authreq:{id}`.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::{FeedReader, HotStore, LogLine, Taken};
use crate::crypto::digest;
use crate::model::StoreError;
use crate::oauth::authorize::{AuthorizationRequest, Parked};
use crate::oauth::code::{CodeGrant, Issued};
use crate::oauth::ports::{CodeOutcome, CodeStore, Denial, Denylist, Entry, RefreshStore, RequestStore, Use};
use crate::oauth::refresh::RefreshRecord;
use crate::oauth::revocation::Generation;

/// The protocol's state in a hot-state store.
#[derive(Clone)]
pub struct HotState {
    pub(super) hot: Arc<dyn HotStore>,
}

impl HotState {
    pub fn new(hot: Arc<dyn HotStore>) -> Self {
        Self { hot }
    }
}

fn code_key(code: &str) -> String {
    format!("code:{}", digest(code))
}

fn outcome_key(code: &str) -> String {
    format!("code-outcome:{}", digest(code))
}

fn refresh_key(token: &str) -> String {
    format!("rt:{}", digest(token))
}

fn session_families_key(sid: &str) -> String {
    format!("sid-families:{sid}")
}

fn request_key(id: &str) -> String {
    format!("authreq:{id}")
}

/// A pushed authorization request, under the digest of its `request_uri` id.
fn pushed_key(id: &str) -> String {
    format!("par:{}", digest(id))
}

fn denial_key(what: Denial<'_>) -> String {
    match what {
        Denial::Jti(jti) => format!("deny:jti:{jti}"),
        Denial::Session(sid) => format!("deny:sid:{sid}"),
        Denial::Family(family) => format!("deny:family:{family}"),
    }
}

fn generation_key(which: Generation<'_>) -> String {
    match which {
        Generation::User(id) => format!("gen:user:{id}"),
        Generation::Sessions(id) => format!("gen:sessions:{id}"),
        Generation::Role(name) => format!("gen:role:{name}"),
        Generation::Account(id) => format!("gen:account:{id}"),
        Generation::App(id) => format!("gen:app:{id}"),
    }
}

fn entry_key(entry: Entry<'_>) -> String {
    match entry {
        Entry::Denied(what) => denial_key(what),
        Entry::Generation(which) => generation_key(which),
        Entry::LegacyNotBefore(sub) => format!("nbf:user:{sub}"),
    }
}

/// What a code's outcome holds when a replay came first.
const REPLAYED: &[u8] = b"replayed";

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn typed<T: DeserializeOwned>(taken: Taken) -> Result<Use<T>, StoreError> {
    Ok(match taken {
        Taken::Missing => Use::Missing,
        Taken::First(bytes) => Use::First(decode(&bytes)?),
        Taken::Again(bytes) => Use::Again(decode(&bytes)?),
    })
}

/// A number stored as decimal text (a generation, the legacy not-before time).
fn stored_number(value: Option<&[u8]>) -> Option<i64> {
    std::str::from_utf8(value?).ok()?.parse().ok()
}

#[async_trait]
impl CodeStore for HotState {
    async fn put_code(&self, code: &str, grant: &CodeGrant, until: OffsetDateTime) -> Result<(), StoreError> {
        self.hot.put(&code_key(code), &encode(grant)?, until).await
    }

    async fn take_code(&self, code: &str) -> Result<Use<CodeGrant, ()>, StoreError> {
        Ok(match self.hot.take(&code_key(code)).await? {
            Taken::Missing => Use::Missing,
            Taken::First(bytes) => Use::First(decode(&bytes)?),
            Taken::Again(_) => Use::Again(()),
        })
    }

    async fn settle_code(&self, code: &str, outcome: &CodeOutcome, until: OffsetDateTime) -> Result<bool, StoreError> {
        let value = match outcome {
            CodeOutcome::Replayed => REPLAYED.to_vec(),
            CodeOutcome::Issued(issued) => encode(issued)?,
        };
        self.hot.put_new(&outcome_key(code), &value, until).await
    }

    async fn code_outcome(&self, code: &str) -> Result<Option<CodeOutcome>, StoreError> {
        Ok(match self.hot.get(&outcome_key(code)).await? {
            None => None,
            Some(bytes) if bytes == REPLAYED => Some(CodeOutcome::Replayed),
            Some(bytes) => Some(CodeOutcome::Issued(decode::<Issued>(&bytes)?)),
        })
    }
}

#[async_trait]
impl RefreshStore for HotState {
    async fn put_refresh(&self, token: &str, record: &RefreshRecord) -> Result<(), StoreError> {
        self.hot
            .put(&refresh_key(token), &encode(record)?, record.expires_at())
            .await
    }

    async fn put_new_refresh(&self, token: &str, record: &RefreshRecord) -> Result<bool, StoreError> {
        self.hot
            .put_new(&refresh_key(token), &encode(record)?, record.expires_at())
            .await
    }

    async fn take_refresh(&self, token: &str) -> Result<Use<RefreshRecord>, StoreError> {
        typed(self.hot.take(&refresh_key(token)).await?)
    }

    async fn get_refresh(&self, token: &str) -> Result<Option<RefreshRecord>, StoreError> {
        self.hot
            .get(&refresh_key(token))
            .await?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    async fn unrotated_refresh(&self, token: &str, successor: &str) -> Result<Option<RefreshRecord>, StoreError> {
        let values = self.hot.get_many(&[refresh_key(token), refresh_key(successor)]).await?;
        let (Some(Some(bytes)), Some(None)) = (values.first(), values.get(1)) else {
            return Ok(None);
        };
        Ok(serde_json::from_slice(bytes).ok())
    }

    async fn add_session_family(&self, sid: &str, family: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        self.hot.set_add(&session_families_key(sid), family, until).await
    }

    async fn session_families(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        self.hot.set_members(&session_families_key(sid)).await
    }
}

/// The revocation feed (`/revocations`, DESIGN.md Revocation): one entry per denial and per
/// generation moved, kept as long as the longest access token lives.
pub const FEED: &str = "feed:revocations";
pub const FEED_KEEP: time::Duration = time::Duration::hours(24);

/// One entry of the revocation feed, as gateways read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FeedEntry {
    /// `jti`, `session`, `family` (a denial), or the generation moved: `user`, `sessions`,
    /// `role`, `account`, `app`.
    pub kind: String,
    /// The jti, sid, family id, user id (`sub`), role name, account id or client_id.
    pub id: String,
    /// A denial's end (unix seconds): no token it covers lives longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// A generation's new value: tokens issued under a lower one are revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
}

fn feed_line<'a>(head: &'a [u8], tail: &'a [u8]) -> LogLine<'a> {
    LogLine {
        log: FEED,
        keep: FEED_KEEP,
        head,
        tail,
    }
}

impl FeedEntry {
    fn denial(what: Denial<'_>, until: OffsetDateTime) -> Self {
        let (kind, id) = match what {
            Denial::Jti(id) => ("jti", id),
            Denial::Session(id) => ("session", id),
            Denial::Family(id) => ("family", id),
        };
        Self {
            kind: kind.into(),
            id: id.into(),
            until: Some(until.unix_timestamp()),
            generation: None,
        }
    }

    /// The JSON of a generation entry around its value, which the store fills in as it
    /// advances: `{"kind":…,"id":…,"generation":` and `}`.
    fn generation_parts(which: Generation<'_>) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        let (kind, id) = match which {
            Generation::User(id) => ("user", id),
            Generation::Sessions(id) => ("sessions", id),
            Generation::Role(id) => ("role", id),
            Generation::Account(id) => ("account", id),
            Generation::App(id) => ("app", id),
        };
        let mut head = encode(&serde_json::json!({ "kind": kind, "id": id }))?;
        head.pop(); // the closing brace
        head.extend_from_slice(br#","generation":"#);
        Ok((head, b"}".to_vec()))
    }
}

impl HotState {
    /// How far `reader` has read the feed.
    pub async fn feed_cursor(&self, reader: FeedReader) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(super::Key::FeedCursor(reader))
            .await?
            .and_then(|b| String::from_utf8(b).ok()))
    }

    /// Records how far `reader` has read the feed (kept twice the feed's span).
    pub async fn set_feed_cursor(&self, reader: FeedReader, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        self.put(super::Key::FeedCursor(reader), id.as_bytes(), now + FEED_KEEP * 2)
            .await
    }

    /// Starts `reader` at the feed's end, unless another node started it first (what the feed
    /// held before is not read).
    pub async fn start_feed_cursor(&self, reader: FeedReader, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut last = None;
        loop {
            let read = self.feed(last.as_deref(), 1000).await?;
            if read.last.is_some() {
                last = read.last;
            }
            if !read.full {
                break;
            }
        }
        let start = last.unwrap_or_else(|| "0-0".to_owned());
        self.put_new(super::Key::FeedCursor(reader), start.as_bytes(), now + FEED_KEEP * 2)
            .await
            .map(drop)
    }

    /// Up to `limit` feed entries after the id `after` (from the oldest kept when `None`). An
    /// entry that cannot be read is left out, but the batch's `last` id goes past it, so readers
    /// never stall on it.
    pub async fn feed(&self, after: Option<&str>, limit: usize) -> Result<FeedBatch, StoreError> {
        let raw = self.hot.log_read(FEED, after, limit).await?;
        let full = raw.len() >= limit;
        let last = raw.last().map(|(id, _)| id.clone());
        let entries = raw
            .into_iter()
            .filter_map(|(id, bytes)| match serde_json::from_slice(&bytes) {
                Ok(entry) => Some((id, entry)),
                Err(e) => {
                    tracing::warn!(feed.id = %id, error = %e, "an unreadable revocation feed entry is skipped");
                    None
                }
            })
            .collect();
        Ok(FeedBatch { entries, last, full })
    }
}

/// One read of the revocation feed.
#[derive(Debug, Default)]
pub struct FeedBatch {
    /// The readable entries, oldest first, with their ids.
    pub entries: Vec<(String, FeedEntry)>,
    /// The id of the last entry read, readable or not: where the next read starts.
    pub last: Option<String>,
    /// The read returned as many entries as asked: more may follow at once.
    pub full: bool,
}

#[async_trait]
impl Denylist for HotState {
    async fn read(&self, entries: &[Entry<'_>]) -> Result<Vec<Option<i64>>, StoreError> {
        let keys: Vec<String> = entries.iter().map(|e| entry_key(*e)).collect();
        let values = self.hot.get_many(&keys).await?;
        Ok(entries
            .iter()
            .zip(values)
            .map(|(entry, value)| match entry {
                Entry::Denied(_) => value.map(|_| 1),
                _ => stored_number(value.as_deref()),
            })
            .collect())
    }

    /// The denial and its feed entry are one atomic write: a gateway that follows the feed
    /// never misses a revocation that is in force.
    async fn deny(&self, what: Denial<'_>, until: OffsetDateTime) -> Result<(), StoreError> {
        let entry = encode(&FeedEntry::denial(what, until))?;
        let line = feed_line(&entry, b"");
        self.hot.put_logged(&denial_key(what), b"1", until, &line).await
    }

    /// The new generation and its feed entry are one atomic write, so racing advances reach the
    /// feed in the order of their values (compaction keeps the highest).
    async fn advance(&self, which: Generation<'_>, floor: i64, until: OffsetDateTime) -> Result<i64, StoreError> {
        let (head, tail) = FeedEntry::generation_parts(which)?;
        let line = feed_line(&head, &tail);
        self.hot
            .advance_logged(&generation_key(which), floor, until, &line)
            .await
    }
}

#[async_trait]
impl RequestStore for HotState {
    async fn park_request(&self, id: &str, parked: &Parked, until: OffsetDateTime) -> Result<(), StoreError> {
        self.hot.put(&request_key(id), &encode(parked)?, until).await
    }

    async fn parked_request(&self, id: &str) -> Result<Option<Parked>, StoreError> {
        Ok(self
            .hot
            .get(&request_key(id))
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    async fn unpark_request(&self, id: &str) -> Result<(), StoreError> {
        self.hot.delete(&request_key(id)).await.map(|_| ())
    }

    async fn push_request(
        &self,
        id: &str,
        request: &AuthorizationRequest,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.hot.put(&pushed_key(id), &encode(request)?, until).await
    }

    async fn take_pushed(&self, id: &str) -> Result<Option<AuthorizationRequest>, StoreError> {
        Ok(match self.hot.take(&pushed_key(id)).await? {
            Taken::First(bytes) => serde_json::from_slice(&bytes).ok(),
            Taken::Missing | Taken::Again(_) => None,
        })
    }

    async fn note_session_client(&self, sid: &str, client_id: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        self.set_add(super::Key::SessionClients(sid), client_id, until).await
    }

    async fn first_assertion(&self, client_id: &str, jti: &str, until: OffsetDateTime) -> Result<bool, StoreError> {
        let key = format!("assertion:{}", digest(&format!("{client_id}\0{jti}")));
        self.hot.put_new(&key, b"1", until).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_numbers_parse_and_garbage_is_absent() {
        assert_eq!(stored_number(None), None);
        assert_eq!(stored_number(Some(b"1764590000")), Some(1_764_590_000));
        assert_eq!(stored_number(Some(b"garbage")), None);
    }

    #[test]
    fn keys_are_the_ones_that_landed() {
        assert_eq!(generation_key(Generation::User("u")), "gen:user:u");
        assert_eq!(generation_key(Generation::App("a")), "gen:app:a");
        assert_eq!(denial_key(Denial::Session("s")), "deny:sid:s");
        assert_eq!(entry_key(Entry::LegacyNotBefore("u")), "nbf:user:u");
        assert!(code_key("c").starts_with("code:"));
    }
}
