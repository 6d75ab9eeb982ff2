//! Time as Propusk sees it. Every expiry decision reads an injected [`Clock`], so tests move
//! time forward instead of sleeping, and stores hold expiry times rather than trusting TTLs.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Duration, OffsetDateTime};

/// The source of "now" for one application instance.
pub trait Clock: Send + Sync + Debug {
    /// The current time in UTC, truncated to microseconds (what PostgreSQL keeps), so that a
    /// time read back from any store equals the time written.
    fn now(&self) -> OffsetDateTime;
}

/// A shared clock handle, as stores and services hold it.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        truncate(OffsetDateTime::now_utc())
    }
}

/// A clock that stands still until told to move: for tests and simulations.
#[derive(Debug, Clone)]
pub struct ManualClock {
    micros: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            micros: Arc::new(AtomicI64::new(to_micros(start))),
        }
    }

    /// A clock standing at the current wall-clock time.
    pub fn starting_now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    /// Moves the clock forward (or backward, for a negative duration).
    pub fn advance(&self, by: Duration) {
        let micros = i64::try_from(by.whole_microseconds()).unwrap_or(i64::MAX);
        self.micros.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        from_micros(self.micros.load(Ordering::SeqCst))
    }
}

fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    from_micros(to_micros(t))
}

fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Microseconds since the Unix epoch (rate-limit arrival times).
pub fn unix_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// Milliseconds since the Unix epoch: how the hot-state stores record expiry.
pub fn unix_millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The inverse of [`unix_millis`].
pub fn from_unix_millis(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::starting_now();
        let before = clock.now();
        clock.advance(Duration::minutes(5));
        assert_eq!(clock.now() - before, Duration::minutes(5));
    }

    #[test]
    fn system_clock_keeps_microseconds_only() {
        assert_eq!(SystemClock.now().nanosecond() % 1_000, 0);
    }
}
