//! Browser sessions (DESIGN.md, Tokens): an opaque 256-bit cookie value; the hot-state store keeps
//! the session under the value's SHA-256, with 12 hours idle and 7 days absolute lifetime. Each
//! session has a public id (`sid`) that tokens carry, so logout can revoke them.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::crypto::digest;
use crate::crypto::random_token;
use crate::model::user::{User, UserId};
use crate::oauth::revocation::{self, Generation, Marks};
use crate::store::{HotStore, StoreError};

pub const IDLE: Duration = Duration::hours(12);
pub const ABSOLUTE: Duration = Duration::days(7);

/// Cookie names: `__Host-` prefixed over https (RFC 6265bis §4.1.3.2), plain for http development.
pub fn cookie_name(https: bool) -> &'static str {
    if https { "__Host-propusk" } else { "propusk_session" }
}

pub fn csrf_cookie_name(https: bool) -> &'static str {
    if https { "__Host-propusk-csrf" } else { "propusk_csrf" }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure over https.
pub fn set_cookie(name: &str, value: &str, https: bool, max_age: Duration) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        max_age.whole_seconds().max(0)
    )
}

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
    pub async fn revoked(&self, hot: &dyn HotStore) -> Result<bool, StoreError> {
        let sub = self.user_id.to_string();
        revocation::session_revoked(
            hot,
            &self.sid,
            &sub,
            self.account.as_deref(),
            &self.marks,
            self.auth_time,
        )
        .await
    }

    fn expires_at(&self, now: OffsetDateTime) -> OffsetDateTime {
        let absolute = OffsetDateTime::from_unix_timestamp(self.created_at).unwrap_or(now) + ABSOLUTE;
        (now + IDLE).min(absolute)
    }
}

fn key(cookie: &str) -> String {
    format!("session:{}", digest(cookie))
}

fn user_sessions(user: UserId) -> String {
    format!("user-sessions:{user}")
}

/// Starts a session of `user`, under the generations current now; returns the cookie value and
/// the session. `authenticated_at` (unix seconds): when the user proved who they are, if
/// earlier than now (an upstream IdP's sign-in); never later than now.
pub async fn start(
    hot: &dyn HotStore,
    user: &User,
    amr: Vec<String>,
    now: OffsetDateTime,
    authenticated_at: Option<i64>,
) -> Result<(String, Session), StoreError> {
    let user_id = user.id;
    let sub = user_id.to_string();
    let account = user.client_id.map(|a| a.to_string());
    let mut which = vec![Generation::Sessions(&sub)];
    which.extend(account.as_deref().map(Generation::Account));
    let read = revocation::generations(hot, &which).await?;
    let marks = Marks {
        sessions: read[0],
        account: read.get(1).copied().unwrap_or(0),
        ..Marks::default()
    };
    let cookie = random_token::<32>();
    let session = Session {
        sid: random_token::<16>(),
        user_id,
        auth_time: authenticated_at.map_or(now.unix_timestamp(), |t| t.min(now.unix_timestamp())),
        amr,
        created_at: now.unix_timestamp(),
        account,
        marks,
    };
    save(hot, &cookie, &session, now).await?;
    hot.set_add(&user_sessions(user_id), &session.sid, now + ABSOLUTE)
        .await?;
    Ok((cookie, session))
}

async fn save(hot: &dyn HotStore, cookie: &str, session: &Session, now: OffsetDateTime) -> Result<(), StoreError> {
    let value = serde_json::to_vec(session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    hot.put(&key(cookie), &value, session.expires_at(now)).await
}

/// The session of this cookie, if live; using it extends the idle lifetime.
pub async fn load(hot: &dyn HotStore, cookie: &str, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
    let Some(bytes) = hot.get(&key(cookie)).await? else {
        return Ok(None);
    };
    let Ok(session) = serde_json::from_slice::<Session>(&bytes) else {
        return Ok(None);
    };
    if session.revoked(hot).await? {
        return Ok(None);
    }
    save(hot, cookie, &session, now).await?;
    Ok(Some(session))
}

/// Ends the session of this cookie (the caller revokes its tokens).
pub async fn end(hot: &dyn HotStore, cookie: &str, session: &Session) -> Result<(), StoreError> {
    hot.delete(&key(cookie)).await?;
    hot.set_remove(&user_sessions(session.user_id), &session.sid).await?;
    Ok(())
}

/// The ids (`sid`) of the user's live sessions.
pub async fn list(hot: &dyn HotStore, user: UserId) -> Result<Vec<String>, StoreError> {
    hot.set_members(&user_sessions(user)).await
}

/// Ends the user's session `sid` from elsewhere (self-service or admin): its cookie stops
/// working, its tokens and refresh families are revoked. False when it was not the user's.
pub async fn revoke(hot: &dyn HotStore, user: UserId, sid: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
    if !hot.set_contains(&user_sessions(user), sid).await? {
        return Ok(false);
    }
    crate::oauth::revocation::deny_session(hot, sid, now).await?;
    crate::oauth::refresh::revoke_session_families(hot, sid, now).await?;
    hot.set_remove(&user_sessions(user), sid).await?;
    Ok(true)
}
