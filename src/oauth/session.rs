//! A signed-in browser session as the protocol reasons about it (its user, when and how they
//! authenticated, the generations it began under). Cookies and storage: `crate::security::session`.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::ports::Denylist;
use super::revocation::{self, Marks};
use crate::model::StoreError;
use crate::model::user::UserId;

pub const IDLE: Duration = Duration::hours(12);
pub const ABSOLUTE: Duration = Duration::days(7);

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The public session id carried by tokens (`sid`).
    pub sid: String,
    pub user_id: UserId,
    /// When the user last authenticated (unix seconds): `auth_time`.
    pub auth_time: i64,
    /// Authentication methods used (RFC 8176): `pwd`, `otp`, `mfa` …
    pub amr: Vec<String>,
    /// When the session began (unix seconds), for the absolute lifetime.
    pub created_at: i64,
    /// The user's B2B account, whose suspension ends the session.
    #[serde(default)]
    pub account: Option<String>,
    /// The revocation generations the session began under (`sessions`, `account`).
    #[serde(default)]
    pub marks: Marks,
}

impl Session {
    /// True when the session was ended: logged out, or a generation it began under moved on.
    pub async fn revoked(&self, deny: &dyn Denylist) -> Result<bool, StoreError> {
        let sub = self.user_id.to_string();
        revocation::session_revoked(
            deny,
            &self.sid,
            &sub,
            self.account.as_deref(),
            &self.marks,
            self.auth_time,
        )
        .await
    }

    pub fn expires_at(&self, now: OffsetDateTime) -> OffsetDateTime {
        let absolute = OffsetDateTime::from_unix_timestamp(self.created_at).unwrap_or(now) + ABSOLUTE;
        (now + IDLE).min(absolute)
    }
}
