//! Browser sessions (DESIGN.md, Tokens): an opaque 256-bit cookie value; the hot-state store keeps
//! the session under the value's SHA-256, with 12 hours idle and 7 days absolute lifetime. Each
//! session has a public id (`sid`) that tokens carry, so logout can revoke them.

use time::{Duration, OffsetDateTime};

use crate::crypto::random_token;
use crate::model::user::{User, UserId};
use crate::oauth::revocation::{self, Generation, Marks};
use crate::store::StoreError;
use crate::store::hot::HotState;

pub use crate::oauth::session::{ABSOLUTE, IDLE, Session};

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

/// Starts a session of `user`, under the generations current now; returns the cookie value and
/// the session. `authenticated_at` (unix seconds): when the user proved who they are, if
/// earlier than now (an upstream IdP's sign-in); never later than now.
pub async fn start(
    hot: &HotState,
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
    hot.add_user_session(user_id, &session.sid, now + ABSOLUTE).await?;
    hot.put_record(
        crate::store::hot::Key::SessionBySid(&session.sid),
        &session,
        now + ABSOLUTE,
    )
    .await?;
    Ok((cookie, session))
}

async fn save(hot: &HotState, cookie: &str, session: &Session, now: OffsetDateTime) -> Result<(), StoreError> {
    hot.put_session(cookie, session, session.expires_at(now)).await
}

/// The session of this cookie, if live; using it extends the idle lifetime.
pub async fn load(hot: &HotState, cookie: &str, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
    let Some(session) = hot.session(cookie).await? else {
        return Ok(None);
    };
    if session.revoked(hot).await? {
        return Ok(None);
    }
    save(hot, cookie, &session, now).await?;
    Ok(Some(session))
}

/// Ends the session of this cookie (the caller revokes its tokens).
pub async fn end(hot: &HotState, cookie: &str, session: &Session) -> Result<(), StoreError> {
    hot.delete_session(cookie).await?;
    hot.remove_user_session(session.user_id, &session.sid).await?;
    Ok(())
}

/// The ids (`sid`) of the user's live sessions.
pub async fn list(hot: &HotState, user: UserId) -> Result<Vec<String>, StoreError> {
    hot.user_sessions(user).await
}

/// Ends the user's session `sid` from elsewhere (self-service or admin): its cookie stops
/// working, its tokens and refresh families are revoked. False when it was not the user's.
pub async fn revoke(hot: &HotState, user: UserId, sid: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
    if !hot.has_user_session(user, sid).await? {
        return Ok(false);
    }
    crate::oauth::revocation::deny_session(hot, sid, now).await?;
    crate::oauth::refresh::revoke_session_families(hot, sid, now).await?;
    hot.remove_user_session(user, sid).await?;
    Ok(true)
}
