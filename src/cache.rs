//! A small in-process cache with a time to live, keeping hot paths (client authentication,
//! role lookups) free of SQL. Misses are cached briefly too, so a flood of unknown client ids
//! cannot turn into a flood of queries. Freshness is measured on the monotonic clock: a stale
//! entry costs at most `ttl` of delay in seeing an admin change made on another node.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// When an entry was stored, when it was last confirmed still current, and the value (`None`: a
/// cached miss).
type Entry<V> = (Instant, Instant, Option<Arc<V>>);

/// Cached lookups of `V` by `K`.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    entries: RwLock<HashMap<K, Entry<V>>>,
    ttl: Duration,
    miss_ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> TtlCache<K, V> {
    pub fn new(ttl: Duration, miss_ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            ttl,
            miss_ttl,
            capacity,
        }
    }

    /// The cached answer for `key`, if fresh: `Some(None)` is a cached miss.
    pub fn get<Q>(&self, key: &Q) -> Option<Option<Arc<V>>>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let map = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, _, value) = map.get(key)?;
        let ttl = if value.is_some() { self.ttl } else { self.miss_ttl };
        (at.elapsed() < ttl).then(|| value.clone())
    }

    /// [`Self::get`] with how long ago the answer was stored or last confirmed.
    pub fn get_aged<Q>(&self, key: &Q) -> Option<(Option<Arc<V>>, Duration)>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let map = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, confirmed, value) = map.get(key)?;
        let ttl = if value.is_some() { self.ttl } else { self.miss_ttl };
        (at.elapsed() < ttl).then(|| (value.clone(), confirmed.elapsed()))
    }

    /// Records the answer for `key`.
    pub fn insert(&self, key: K, value: Option<Arc<V>>) {
        let mut map = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= self.capacity {
            let ttl = self.ttl;
            map.retain(|_, (at, _, _)| at.elapsed() < ttl);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        let now = Instant::now();
        map.insert(key, (now, now, value));
    }

    /// Records that the answer for `key` was found still current. Its lifetime does not start
    /// again: whatever no check can see (another node's change that moves no generation) is
    /// read anew within the TTL.
    pub fn confirm(&self, key: &K) {
        let mut map = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, confirmed, _)) = map.get_mut(key) {
            *confirmed = Instant::now();
        }
    }

    /// Forgets `key` (after a change made on this node).
    pub fn invalidate(&self, key: &K) {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmed_entry_still_expires_at_its_ttl() {
        let cache: TtlCache<&str, u8> = TtlCache::new(Duration::from_millis(80), Duration::ZERO, 10);
        cache.insert("app", Some(Arc::new(1)));
        std::thread::sleep(Duration::from_millis(50));
        let (_, age) = cache.get_aged("app").unwrap();
        assert!(age >= Duration::from_millis(50));
        cache.confirm(&"app");
        let (value, age) = cache.get_aged("app").unwrap();
        assert_eq!(value.as_deref(), Some(&1));
        assert!(age < Duration::from_millis(50), "confirmed just now");
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get("app").is_none(), "confirming does not extend the lifetime");
    }
}
