//! The in-process hot-state store of the embedded default: the same semantics as Redis for one
//! node. Expired entries are swept every few thousand writes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use super::StoreError;
use super::hot::{Counter, HotStore, LogLine, Rate, Taken, Throttle};
use crate::clock::{SharedClock, from_unix_millis, unix_micros, unix_millis};

const SWEEP_EVERY: u64 = 4_096;

#[derive(Debug)]
enum Entry {
    Value {
        value: Vec<u8>,
        expires_at: OffsetDateTime,
        used: bool,
    },
    Counter {
        count: u64,
        resets_at: OffsetDateTime,
    },
    Set(BTreeMap<String, OffsetDateTime>),
    /// A rate-limit bucket's theoretical arrival time (unix µs).
    Arrival(i64),
    /// A log: entries with their ids (unix ms, sequence), oldest first, and how long they stay.
    Log(std::collections::VecDeque<((i64, u64), Vec<u8>)>, i64),
}

impl Entry {
    fn is_live(&self, now: OffsetDateTime) -> bool {
        match self {
            Entry::Value { expires_at, .. } => *expires_at > now,
            Entry::Counter { resets_at, .. } => *resets_at > now,
            Entry::Set(members) => members.values().any(|e| *e > now),
            Entry::Arrival(tat) => *tat > unix_micros(now),
            Entry::Log(entries, keep_ms) => entries
                .back()
                .is_some_and(|((ms, _), _)| ms + keep_ms > crate::clock::unix_millis(now)),
        }
    }
}

/// Hot state in a mutex-guarded map.
#[derive(Debug)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Entry>>,
    writes: AtomicU64,
    clock: SharedClock,
}

/// A log id `{ms}-{seq}`.
fn parse_log_id(id: &str) -> Option<(i64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

fn wrong_type(key: &str) -> StoreError {
    StoreError::Corrupt(format!("key {key} holds another kind of entry"))
}

impl MemoryStore {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            writes: AtomicU64::new(0),
            clock,
        }
    }

    /// Runs `f` on the map, sweeping expired entries now and then.
    fn with<T>(&self, write: bool, f: impl FnOnce(&mut HashMap<String, Entry>, OffsetDateTime) -> T) -> T {
        let now = self.clock.now();
        // A poisoned lock only means another thread panicked mid-call; the map is still whole.
        let mut map = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if write && self.writes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            map.retain(|_, e| e.is_live(now));
        }
        f(&mut map, now)
    }

    fn insert(map: &mut HashMap<String, Entry>, key: &str, value: Vec<u8>, expires_at: OffsetDateTime) {
        let used = false;
        map.insert(
            key.to_owned(),
            Entry::Value {
                value,
                expires_at,
                used,
            },
        );
    }

    fn advance_in(
        map: &mut HashMap<String, Entry>,
        now: OffsetDateTime,
        key: &str,
        floor: i64,
        expires_at: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let stored = match Self::live_value(map, key, now)? {
            Some((value, _)) => std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            None => 0,
        };
        let next = (stored + 1).max(floor);
        Self::insert(map, key, next.to_string().into_bytes(), expires_at);
        Ok(next)
    }

    /// Fails, before anything is written, when `key` holds something other than a log.
    fn check_log(map: &HashMap<String, Entry>, key: &str) -> Result<(), StoreError> {
        match map.get(key) {
            None | Some(Entry::Log(..)) => Ok(()),
            Some(_) => Err(wrong_type(key)),
        }
    }

    /// Appends `entry` to the log `key`, dropping entries older than `keep`; returns its id.
    fn append(
        map: &mut HashMap<String, Entry>,
        now: OffsetDateTime,
        key: &str,
        entry: Vec<u8>,
        keep: Duration,
    ) -> Result<String, StoreError> {
        let now_ms = unix_millis(now);
        let keep_ms = i64::try_from(keep.whole_milliseconds()).unwrap_or(i64::MAX / 2);
        let slot = map
            .entry(key.to_owned())
            .or_insert_with(|| Entry::Log(Default::default(), keep_ms));
        let Entry::Log(entries, kept) = slot else {
            return Err(wrong_type(key));
        };
        *kept = keep_ms;
        while entries.front().is_some_and(|((ms, _), _)| *ms < now_ms - keep_ms) {
            entries.pop_front();
        }
        // Ids grow even if the clock steps back.
        let id = match entries.back() {
            Some(((ms, seq), _)) if *ms >= now_ms => (*ms, seq + 1),
            _ => (now_ms, 0),
        };
        entries.push_back((id, entry));
        Ok(format!("{}-{}", id.0, id.1))
    }

    /// The live value entry under `key`, if any.
    fn live_value<'a>(
        map: &'a mut HashMap<String, Entry>,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(&'a mut Vec<u8>, &'a mut bool)>, StoreError> {
        match map.get_mut(key) {
            None => Ok(None),
            Some(Entry::Value {
                value,
                expires_at,
                used,
            }) => Ok((*expires_at > now).then_some((value, used))),
            Some(_) => Err(wrong_type(key)),
        }
    }
}

#[async_trait]
impl HotStore for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn put(&self, key: &str, value: &[u8], expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.with(true, |map, _| Self::insert(map, key, value.to_vec(), expires_at));
        Ok(())
    }

    async fn put_logged(
        &self,
        key: &str,
        value: &[u8],
        expires_at: OffsetDateTime,
        line: &LogLine<'_>,
    ) -> Result<(), StoreError> {
        self.with(true, |map, now| {
            Self::check_log(map, line.log)?;
            Self::insert(map, key, value.to_vec(), expires_at);
            Self::append(map, now, line.log, [line.head, line.tail].concat(), line.keep).map(drop)
        })
    }

    async fn put_new(&self, key: &str, value: &[u8], expires_at: OffsetDateTime) -> Result<bool, StoreError> {
        self.with(true, |map, now| {
            if Self::live_value(map, key, now)?.is_some() {
                return Ok(false);
            }
            map.insert(
                key.to_owned(),
                Entry::Value {
                    value: value.to_vec(),
                    expires_at,
                    used: false,
                },
            );
            Ok(true)
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(false, |map, now| {
            Ok(Self::live_value(map, key, now)?.map(|(v, _)| v.clone()))
        })
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.with(false, |map, now| {
            keys.iter()
                .map(|key| Ok(Self::live_value(map, key, now)?.map(|(v, _)| v.clone())))
                .collect()
        })
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.with(true, |map, now| Ok(map.remove(key).is_some_and(|e| e.is_live(now))))
    }

    async fn take(&self, key: &str) -> Result<Taken, StoreError> {
        self.with(true, |map, now| {
            Ok(match Self::live_value(map, key, now)? {
                None => Taken::Missing,
                Some((value, used)) if *used => Taken::Again(value.clone()),
                Some((value, used)) => {
                    *used = true;
                    Taken::First(value.clone())
                }
            })
        })
    }

    async fn incr(&self, key: &str, window: Duration) -> Result<Counter, StoreError> {
        self.with(true, |map, now| {
            let entry = map.entry(key.to_owned()).or_insert(Entry::Counter {
                count: 0,
                resets_at: now,
            });
            let Entry::Counter { count, resets_at } = entry else {
                return Err(wrong_type(key));
            };
            if *resets_at <= now {
                // Millisecond precision, as Redis keeps it, so both stores answer alike.
                *count = 0;
                *resets_at = from_unix_millis(unix_millis(now + window));
            }
            *count += 1;
            Ok(Counter {
                count: *count,
                resets_at: *resets_at,
            })
        })
    }

    async fn advance(&self, key: &str, floor: i64, expires_at: OffsetDateTime) -> Result<i64, StoreError> {
        self.with(true, |map, now| Self::advance_in(map, now, key, floor, expires_at))
    }

    async fn advance_logged(
        &self,
        key: &str,
        floor: i64,
        expires_at: OffsetDateTime,
        line: &LogLine<'_>,
    ) -> Result<i64, StoreError> {
        self.with(true, |map, now| {
            Self::check_log(map, line.log)?;
            let next = Self::advance_in(map, now, key, floor, expires_at)?;
            let entry = [line.head, next.to_string().as_bytes(), line.tail].concat();
            Self::append(map, now, line.log, entry, line.keep)?;
            Ok(next)
        })
    }

    async fn throttle(&self, buckets: &[(String, Rate)]) -> Result<Throttle, StoreError> {
        self.with(true, |map, now| {
            let now = unix_micros(now);
            let mut steps = Vec::with_capacity(buckets.len());
            let mut worst: Option<(usize, i64)> = None;
            for (i, (key, rate)) in buckets.iter().enumerate() {
                let stored = match map.get(key) {
                    None => 0,
                    Some(Entry::Arrival(tat)) => *tat,
                    Some(_) => return Err(wrong_type(key)),
                };
                match rate.step(stored, now) {
                    Ok(step) => steps.push(step),
                    Err(wait) if worst.is_none_or(|(_, w)| wait > w) => worst = Some((i, wait)),
                    Err(_) => {}
                }
            }
            if let Some((index, wait_us)) = worst {
                let retry_after_ms = (wait_us + 999) / 1000;
                return Ok(Throttle::Limited { index, retry_after_ms });
            }
            for ((key, _), (tat, _)) in buckets.iter().zip(&steps) {
                map.insert(key.clone(), Entry::Arrival(*tat));
            }
            Ok(Throttle::Allowed {
                remaining: steps.into_iter().map(|(_, r)| r).collect(),
            })
        })
    }

    async fn set_add(&self, key: &str, member: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.with(true, |map, now| {
            let entry = map.entry(key.to_owned()).or_insert_with(|| Entry::Set(BTreeMap::new()));
            let Entry::Set(members) = entry else {
                return Err(wrong_type(key));
            };
            members.retain(|_, e| *e > now);
            members.insert(member.to_owned(), expires_at);
            Ok(())
        })
    }

    async fn set_remove(&self, key: &str, member: &str) -> Result<bool, StoreError> {
        self.with(true, |map, now| match map.get_mut(key) {
            None => Ok(false),
            Some(Entry::Set(members)) => Ok(members.remove(member).is_some_and(|e| e > now)),
            Some(_) => Err(wrong_type(key)),
        })
    }

    async fn set_contains(&self, key: &str, member: &str) -> Result<bool, StoreError> {
        self.with(false, |map, now| match map.get(key) {
            None => Ok(false),
            Some(Entry::Set(members)) => Ok(members.get(member).is_some_and(|e| *e > now)),
            Some(_) => Err(wrong_type(key)),
        })
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        self.with(false, |map, now| match map.get(key) {
            None => Ok(Vec::new()),
            Some(Entry::Set(members)) => Ok(members
                .iter()
                .filter(|(_, e)| **e > now)
                .map(|(m, _)| m.clone())
                .collect()),
            Some(_) => Err(wrong_type(key)),
        })
    }

    async fn log_append(&self, key: &str, entry: &[u8], keep: Duration) -> Result<String, StoreError> {
        self.with(true, |map, now| Self::append(map, now, key, entry.to_vec(), keep))
    }

    async fn log_read(
        &self,
        key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let after = match after {
            None => None,
            Some(id) => Some(parse_log_id(id).ok_or_else(|| StoreError::Corrupt(format!("log id {id:?}")))?),
        };
        self.with(false, |map, _| match map.get(key) {
            None => Ok(Vec::new()),
            Some(Entry::Log(entries, _)) => Ok(entries
                .iter()
                .filter(|(id, _)| after.is_none_or(|a| *id > a))
                .take(limit)
                .map(|((ms, seq), e)| (format!("{ms}-{seq}"), e.clone()))
                .collect()),
            Some(_) => Err(wrong_type(key)),
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
