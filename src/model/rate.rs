//! A rate limit, as configured and as the hot store counts it.

use axum::http::{HeaderName, HeaderValue};
use time::Duration;

/// A rate limit: `count` requests per `period`, in bursts of up to `count` (GCRA: the
/// generic cell rate algorithm, so the budget refills smoothly instead of per fixed window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    pub const fn new(count: u32, period: Duration) -> Self {
        Self { count, period }
    }

    /// The period in microseconds (at least 1).
    pub fn period_us(&self) -> i64 {
        i64::try_from(self.period.whole_microseconds())
            .unwrap_or(i64::MAX / 4)
            .max(1)
    }

    /// Microseconds between two requests at the sustained rate (at least 1): microseconds, so
    /// rates well above 1000/s keep their precision.
    pub fn interval_us(&self) -> i64 {
        (self.period_us() / i64::from(self.count.max(1))).max(1)
    }

    /// One GCRA step: given the stored theoretical arrival time (unix µs, 0 when none) and
    /// now (unix µs), the new arrival time and what is left when the request is allowed, or
    /// how many microseconds to wait.
    pub fn step(&self, stored_tat: i64, now: i64) -> Result<(i64, u32), i64> {
        let tat = stored_tat.max(now) + self.interval_us();
        let over = tat - now - self.period_us();
        if over > 0 {
            return Err(over);
        }
        let remaining = (-over) / self.interval_us();
        Ok((tat, u32::try_from(remaining).unwrap_or(u32::MAX)))
    }
}

/// A refused request: which policy, and when to come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    pub policy: &'static str,
    pub rate: Rate,
    pub retry_after: Duration,
}

impl Limited {
    /// Whole seconds to wait, at least 1.
    pub fn retry_after_secs(&self) -> i64 {
        (self.retry_after.whole_milliseconds() as i64 + 999)
            .div_euclid(1000)
            .max(1)
    }

    /// `Retry-After`, `RateLimit-Policy` and `RateLimit` for the 429 response.
    pub fn headers(&self) -> [(HeaderName, HeaderValue); 3] {
        let wait = self.retry_after_secs();
        let window = self.rate.period.whole_seconds().max(1);
        let value = |s: String| HeaderValue::from_str(&s).unwrap_or(HeaderValue::from_static(""));
        [
            (HeaderName::from_static("retry-after"), value(wait.to_string())),
            (
                HeaderName::from_static("ratelimit-policy"),
                value(format!("\"{}\";q={};w={window}", self.policy, self.rate.count)),
            ),
            (
                HeaderName::from_static("ratelimit"),
                value(format!("\"{}\";r=0;t={wait}", self.policy)),
            ),
        ]
    }
}
