//! One-time codes sent by email or SMS: 6 digits, 5 minutes, at most 5 attempts per code, a
//! 30 s cooldown before another is sent, and daily send budgets per destination (a phone number
//! or address) and per account — SMS toll fraud pays per message, so sending is rationed
//! whoever asks. Codes are stored only as a keyed digest.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::crypto::{digest, same};
use crate::store::StoreError;
use crate::store::hot::HotState;
use crate::store::hot::Key;

pub const LIFETIME: Duration = Duration::minutes(5);
pub const MAX_ATTEMPTS: u64 = 5;
pub const COOLDOWN: Duration = Duration::seconds(30);
/// Codes a day to one phone number or address.
pub const PER_DESTINATION_DAILY: u32 = 10;
/// Codes a day for one account, whatever the destination.
pub const PER_ACCOUNT_DAILY: u32 = 20;

/// Why no code was sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("wait {0} s before asking for another code")]
    Cooldown(i64),
    #[error("the daily limit of codes is reached")]
    Budget { retry_after_secs: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Serialize, Deserialize)]
struct Challenge {
    digest: String,
    /// Where the code went: a code proves control of that destination only.
    #[serde(default)]
    destination: String,
    /// Unix ms: when it was sent (cooldown, and the attempts counter's identity).
    sent_at: i64,
}

fn key<'a>(purpose: &'a str, subject: &'a str) -> Key<'a> {
    Key::Otp { purpose, subject }
}

fn code_digest(purpose: &str, subject: &str, code: &str) -> String {
    digest(&format!("{purpose}:{subject}:{code}"))
}

/// A uniformly random 6-digit code.
pub fn random_code() -> String {
    loop {
        let mut b = [0u8; 4];
        crate::crypto::fill(&mut b);
        let n = u32::from_le_bytes(b);
        // Reject the top sliver so every code is equally likely.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// Makes a new code for `purpose` and `subject` (replacing an earlier one) to send to
/// `destination`, unless the cooldown or a daily budget (of the destination, and of `account`)
/// forbids it.
pub async fn issue(
    hot: &HotState,
    purpose: &str,
    subject: &str,
    account: &str,
    destination: &str,
    now: OffsetDateTime,
) -> Result<String, SendError> {
    let now_ms = crate::clock::unix_millis(now);
    if let Some(old) = hot.record::<Challenge>(key(purpose, subject)).await? {
        let wait = old.sent_at + COOLDOWN.whole_milliseconds() as i64 - now_ms;
        if wait > 0 {
            return Err(SendError::Cooldown((wait + 999) / 1000));
        }
    }
    // Daily budgets: fixed 24-hour windows, counted whether or not the other budget allows the
    // message (a refused request still spent an attempt at the destination).
    let budgets = [
        (Key::OtpDestination(destination), PER_DESTINATION_DAILY),
        (Key::OtpAccount(account), PER_ACCOUNT_DAILY),
    ];
    for (key, budget) in budgets {
        let spent = hot.incr(key, Duration::days(1)).await?;
        if spent.count > u64::from(budget) {
            let wait = (spent.resets_at - now).whole_seconds().max(1);
            return Err(SendError::Budget { retry_after_secs: wait });
        }
    }
    let code = random_code();
    let challenge = Challenge {
        digest: code_digest(purpose, subject, &code),
        destination: digest(&destination.to_lowercase()),
        sent_at: now_ms,
    };
    hot.put_record(key(purpose, subject), &challenge, now + LIFETIME)
        .await?;
    Ok(code)
}

/// Checks a code: true once, for the right code within its lifetime and attempt budget, sent
/// to `destination` (a code sent to another address or phone proves nothing about this one).
pub async fn check(
    hot: &HotState,
    purpose: &str,
    subject: &str,
    destination: &str,
    code: &str,
) -> Result<bool, StoreError> {
    let Some(challenge) = hot.record::<Challenge>(key(purpose, subject)).await? else {
        return Ok(false);
    };
    let sent_at = challenge.sent_at;
    let attempts_key = Key::OtpAttempts {
        purpose,
        subject,
        sent_at,
    };
    let attempts = hot.incr(attempts_key, LIFETIME).await?;
    if attempts.count > MAX_ATTEMPTS {
        hot.delete(key(purpose, subject)).await?;
        return Ok(false);
    }
    let code = code.trim();
    let right_place = same(&digest(&destination.to_lowercase()), &challenge.destination);
    if code.len() != 6 || !same(&code_digest(purpose, subject, code), &challenge.digest) || !right_place {
        return Ok(false);
    }
    // Single use: only the caller that removes it wins.
    hot.delete(key(purpose, subject)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = random_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
