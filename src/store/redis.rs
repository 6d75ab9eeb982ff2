//! The Redis hot-state store: several multiplexed connections that reconnect by themselves
//! after Redis restarts; every key under `{prefix}:`. Values and counters are hashes carrying
//! their expiry (`e`, unix millis), sets are sorted sets scored by each member's expiry. Every
//! read-modify-write is one Lua script, so it is atomic across nodes.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use time::{Duration, OffsetDateTime};

use super::StoreError;
use super::hot::{Counter, HotStore, LogLine, RECLAIM_SLACK_MS, Rate, Taken, Throttle};
use crate::clock::{SharedClock, from_unix_millis, unix_micros, unix_millis};

const PUT_NEW: &str = r"
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1";

const TAKE: &str = r"
local r = redis.call('HMGET', KEYS[1], 'v', 'e', 'u')
if not r[1] or not r[2] or tonumber(r[2]) <= tonumber(ARGV[1]) then return {0, false} end
if r[3] then return {2, r[1]} end
redis.call('HSET', KEYS[1], 'u', '1')
return {1, r[1]}";

const DELETE: &str = r"
local t = redis.call('TYPE', KEYS[1])['ok']
local live = 0
if t == 'hash' then
  local e = redis.call('HGET', KEYS[1], 'e')
  if e and tonumber(e) > tonumber(ARGV[1]) then live = 1 end
elseif t == 'zset' then
  if redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf') > 0 then live = 1 end
end
redis.call('DEL', KEYS[1])
return live";

const INCR: &str = r"
local now = tonumber(ARGV[1])
local r = redis.call('HMGET', KEYS[1], 'n', 'e')
if not r[2] or tonumber(r[2]) <= now then
  local e = now + tonumber(ARGV[2])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'n', 1, 'e', e)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, e}
end
return {redis.call('HINCRBY', KEYS[1], 'n', 1), tonumber(r[2])}";

// A log is a Redis stream; entries older than ARGV[2] ms by the server's own clock (the clock of
// the ids it hands out) are trimmed as the new one is added.
const LOG_APPEND: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('XADD', KEYS[1], 'MINID', math.max(now - tonumber(ARGV[2]), 0), '*', 'e', ARGV[1])
";

// A generation counter is a value entry (`v` decimal, `e` expiry) so `get_many` reads it.
const ADVANCE: &str = r"
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0') or 0
local n = math.max(v + 1, tonumber(ARGV[1]))
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', string.format('%.0f', n), 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return n";

// `put` and `advance` that also append a line to a log (KEYS[2]) in the same script, so a
// revocation and its feed entry are written together; the log trims as LOG_APPEND does.
const PUT_LOGGED: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ty = redis.call('TYPE', KEYS[2]).ok
if ty ~= 'none' and ty ~= 'stream' then
  return redis.error_reply('WRONGTYPE log')
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('XADD', KEYS[2], 'MINID', math.max(now - tonumber(ARGV[5]), 0), '*', 'e', ARGV[4])
return 1";

const ADVANCE_LOGGED: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ty = redis.call('TYPE', KEYS[2]).ok
if ty ~= 'none' and ty ~= 'stream' then
  return redis.error_reply('WRONGTYPE log')
end
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0') or 0
local n = math.max(v + 1, tonumber(ARGV[1]))
local s = string.format('%.0f', n)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', s, 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('XADD', KEYS[2], 'MINID', math.max(now - tonumber(ARGV[6]), 0), '*', 'e', ARGV[4] .. s .. ARGV[5])
return n";

const SET_ADD: &str = r"
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = math.floor(tonumber(top[2]) - now + tonumber(ARGV[4]))
if ttl < 1 then ttl = 1 end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1";

const SET_REMOVE: &str = r"
local s = redis.call('ZSCORE', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[2])
if s and tonumber(s) > tonumber(ARGV[1]) then return 1 end
return 0";

// KEYS: the buckets; ARGV: now (µs), then (interval, period) per bucket in µs, then the reclaim
// slack in ms. Mirrors `Rate::step`; answers the wait in ms, rounded up.
const THROTTLE: &str = r"
local now = tonumber(ARGV[1])
local tats, remaining = {}, {}
local wait, worst = 0, 0
for i, key in ipairs(KEYS) do
  local interval, period = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local stored = tonumber(redis.call('HGET', key, 't') or '0')
  local tat = math.max(stored, now) + interval
  local over = tat - now - period
  if over > 0 then
    if over > wait then wait, worst = over, i end
  else
    tats[i] = tat
    remaining[i] = math.floor(-over / interval)
  end
end
if worst > 0 then return {0, worst - 1, math.ceil(wait / 1000)} end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 't', string.format('%.0f', tats[i]), 'e', string.format('%.0f', math.ceil(tats[i] / 1000)))
  redis.call('PEXPIRE', key, math.ceil((tats[i] - now) / 1000) + tonumber(ARGV[#ARGV]))
end
return {1, 0, 0, unpack(remaining)}";

/// Hot state in Redis.
pub struct RedisStore {
    pool: Vec<ConnectionManager>,
    next: AtomicUsize,
    prefix: String,
    clock: SharedClock,
    put_new: Script,
    take: Script,
    delete: Script,
    incr: Script,
    advance: Script,
    log_append: Script,
    put_logged: Script,
    advance_logged: Script,
    set_add: Script,
    set_remove: Script,
    throttle: Script,
}

fn error(e: RedisError) -> StoreError {
    if e.code() == Some("WRONGTYPE") {
        StoreError::Corrupt("a key holds another kind of entry".into())
    } else {
        StoreError::unavailable(e)
    }
}

fn keep_ms(keep: Duration) -> i64 {
    i64::try_from(keep.whole_milliseconds()).unwrap_or(i64::MAX / 2)
}

/// Milliseconds a backend should keep an entry expiring at `expires_ms`.
fn reclaim_after(now_ms: i64, expires_ms: i64) -> i64 {
    (expires_ms - now_ms).max(1) + RECLAIM_SLACK_MS
}

impl RedisStore {
    /// Opens `pool_size` connections to `url`; fails when Redis cannot be reached now.
    pub async fn connect(url: &str, prefix: &str, pool_size: usize, clock: SharedClock) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(error)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(std::time::Duration::from_secs(2)))
            .set_response_timeout(Some(std::time::Duration::from_secs(2)))
            .set_number_of_retries(3)
            .set_max_delay(std::time::Duration::from_secs(2));
        let mut pool = Vec::with_capacity(pool_size);
        for _ in 0..pool_size.max(1) {
            pool.push(
                ConnectionManager::new_with_config(client.clone(), config.clone())
                    .await
                    .map_err(error)?,
            );
        }
        Ok(Self {
            pool,
            next: AtomicUsize::new(0),
            prefix: prefix.to_owned(),
            clock,
            put_new: Script::new(PUT_NEW),
            take: Script::new(TAKE),
            delete: Script::new(DELETE),
            incr: Script::new(INCR),
            advance: Script::new(ADVANCE),
            log_append: Script::new(LOG_APPEND),
            put_logged: Script::new(PUT_LOGGED),
            advance_logged: Script::new(ADVANCE_LOGGED),
            set_add: Script::new(SET_ADD),
            set_remove: Script::new(SET_REMOVE),
            throttle: Script::new(THROTTLE),
        })
    }

    fn con(&self) -> ConnectionManager {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len();
        self.pool[i].clone()
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.prefix)
    }

    fn now_ms(&self) -> i64 {
        unix_millis(self.clock.now())
    }
}

#[async_trait]
impl HotStore for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn put(&self, key: &str, value: &[u8], expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let (key, exp) = (self.key(key), unix_millis(expires_at));
        redis::pipe()
            .atomic()
            .del(&key)
            .hset_multiple(&key, &[("v", value), ("e", exp.to_string().as_bytes())])
            .pexpire(&key, reclaim_after(self.now_ms(), exp))
            .exec_async(&mut self.con())
            .await
            .map_err(error)
    }

    async fn put_new(&self, key: &str, value: &[u8], expires_at: OffsetDateTime) -> Result<bool, StoreError> {
        let (now, exp) = (self.now_ms(), unix_millis(expires_at));
        let stored: i64 = self
            .put_new
            .key(self.key(key))
            .arg(now)
            .arg(value)
            .arg(exp)
            .arg(reclaim_after(now, exp))
            .invoke_async(&mut self.con())
            .await
            .map_err(error)?;
        Ok(stored == 1)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (value, exp): (Option<Vec<u8>>, Option<i64>) = redis::cmd("HMGET")
            .arg(self.key(key))
            .arg("v")
            .arg("e")
            .query_async(&mut self.con())
            .await
            .map_err(error)?;
        Ok(value.filter(|_| exp.is_some_and(|e| e > self.now_ms())))
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("HMGET").arg(self.key(key)).arg("v").arg("e");
        }
        let rows: Vec<(Option<Vec<u8>>, Option<i64>)> = pipe.query_async(&mut self.con()).await.map_err(error)?;
        let now = self.now_ms();
        Ok(rows
            .into_iter()
            .map(|(value, exp)| value.filter(|_| exp.is_some_and(|e| e > now)))
            .collect())
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let live: i64 = self
            .delete
            .key(self.key(key))
            .arg(self.now_ms())
            .invoke_async(&mut self.con())
            .await
            .map_err(error)?;
        Ok(live == 1)
    }

    async fn take(&self, key: &str) -> Result<Taken, StoreError> {
        let (state, value): (i64, Option<Vec<u8>>) = self
            .take
            .key(self.key(key))
            .arg(self.now_ms())
            .invoke_async(&mut self.con())
            .await
            .map_err(error)?;
        Ok(match (state, value) {
            (1, Some(v)) => Taken::First(v),
            (2, Some(v)) => Taken::Again(v),
            _ => Taken::Missing,
        })
    }

    async fn incr(&self, key: &str, window: Duration) -> Result<Counter, StoreError> {
        let window_ms = i64::try_from(window.whole_milliseconds())
            .unwrap_or(i64::MAX / 4)
            .max(1);
        let (count, resets_ms): (u64, i64) = self
            .incr
            .key(self.key(key))
            .arg(self.now_ms())
            .arg(window_ms)
            .arg(window_ms + RECLAIM_SLACK_MS)
            .invoke_async(&mut self.con())
            .await
            .map_err(error)?;
        Ok(Counter {
            count,
            resets_at: from_unix_millis(resets_ms),
        })
    }

    async fn advance(&self, key: &str, floor: i64, expires_at: OffsetDateTime) -> Result<i64, StoreError> {
        let (now, exp) = (self.now_ms(), unix_millis(expires_at));
        self.advance
            .key(self.key(key))
            .arg(floor)
            .arg(exp)
            .arg(reclaim_after(now, exp))
            .invoke_async(&mut self.con())
            .await
            .map_err(error)
    }

    async fn throttle(&self, buckets: &[(String, Rate)]) -> Result<Throttle, StoreError> {
        if buckets.is_empty() {
            return Ok(Throttle::Allowed { remaining: Vec::new() });
        }
        let mut invocation = self.throttle.prepare_invoke();
        invocation.arg(unix_micros(self.clock.now()));
        for (key, rate) in buckets {
            invocation
                .key(self.key(key))
                .arg(rate.interval_us())
                .arg(rate.period_us());
        }
        invocation.arg(RECLAIM_SLACK_MS);
        let reply: Vec<i64> = invocation.invoke_async(&mut self.con()).await.map_err(error)?;
        Ok(match reply.as_slice() {
            [1, _, _, remaining @ ..] => Throttle::Allowed {
                remaining: remaining.iter().map(|r| u32::try_from(*r).unwrap_or(0)).collect(),
            },
            [_, index, wait, ..] => Throttle::Limited {
                index: usize::try_from(*index).unwrap_or(0),
                retry_after_ms: *wait,
            },
            _ => return Err(StoreError::Corrupt("unexpected throttle reply".into())),
        })
    }

    async fn set_add(&self, key: &str, member: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let _: i64 = self
            .set_add
            .key(self.key(key))
            .arg(self.now_ms())
            .arg(unix_millis(expires_at))
            .arg(member)
            .arg(RECLAIM_SLACK_MS)
            .invoke_async(&mut self.con())
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn set_remove(&self, key: &str, member: &str) -> Result<bool, StoreError> {
        let live: i64 = self
            .set_remove
            .key(self.key(key))
            .arg(self.now_ms())
            .arg(member)
            .invoke_async(&mut self.con())
            .await
            .map_err(error)?;
        Ok(live == 1)
    }

    async fn set_contains(&self, key: &str, member: &str) -> Result<bool, StoreError> {
        let score: Option<f64> = redis::cmd("ZSCORE")
            .arg(self.key(key))
            .arg(member)
            .query_async(&mut self.con())
            .await
            .map_err(error)?;
        // Scores are whole milliseconds well inside f64's exact range.
        Ok(score.is_some_and(|s| s as i64 > self.now_ms()))
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let mut members: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.key(key))
            .arg(format!("({}", self.now_ms()))
            .arg("+inf")
            .query_async(&mut self.con())
            .await
            .map_err(error)?;
        members.sort();
        Ok(members)
    }

    async fn put_logged(
        &self,
        key: &str,
        value: &[u8],
        expires_at: OffsetDateTime,
        line: &LogLine<'_>,
    ) -> Result<(), StoreError> {
        let (now, exp) = (self.now_ms(), unix_millis(expires_at));
        let _: i64 = self
            .put_logged
            .key(self.key(key))
            .key(self.key(line.log))
            .arg(value)
            .arg(exp)
            .arg(reclaim_after(now, exp))
            .arg([line.head, line.tail].concat())
            .arg(keep_ms(line.keep))
            .invoke_async(&mut self.con())
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn advance_logged(
        &self,
        key: &str,
        floor: i64,
        expires_at: OffsetDateTime,
        line: &LogLine<'_>,
    ) -> Result<i64, StoreError> {
        let (now, exp) = (self.now_ms(), unix_millis(expires_at));
        self.advance_logged
            .key(self.key(key))
            .key(self.key(line.log))
            .arg(floor)
            .arg(exp)
            .arg(reclaim_after(now, exp))
            .arg(line.head)
            .arg(line.tail)
            .arg(keep_ms(line.keep))
            .invoke_async(&mut self.con())
            .await
            .map_err(error)
    }

    async fn log_append(&self, key: &str, entry: &[u8], keep: Duration) -> Result<String, StoreError> {
        self.log_append
            .key(self.key(key))
            .arg(entry)
            .arg(keep_ms(keep))
            .invoke_async(&mut self.con())
            .await
            .map_err(error)
    }

    async fn log_read(
        &self,
        key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let entries: Vec<(String, Vec<(String, Vec<u8>)>)> = redis::cmd("XRANGE")
            .arg(self.key(key))
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.con())
            .await
            .map_err(error)?;
        Ok(entries
            .into_iter()
            .filter_map(|(id, fields)| fields.into_iter().next().map(|(_, value)| (id, value)))
            .collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.con())
            .await
            .map(drop)
            .map_err(error)
    }
}
