//! Revocation state that `/introspect`, `/userinfo` and `/authz/check` consult on every request
//! (DESIGN.md, Revocation scopes), all in the hot-state store and read in one round trip:
//! - `deny:jti:{jti}` — one access token, until it would have expired;
//! - `deny:sid:{sid}` — every token of a browser session, after logout;
//! - `nbf:user:{sub}` — tokens issued to the user before this time (unix seconds) are inactive
//!   (block, role or permission change, sign-out everywhere);
//! - `deny:family:{family}` — a revoked refresh-token family and the access tokens it produced.

use time::{Duration, OffsetDateTime};

use super::token::AccessClaims;
use crate::store::{HotStore, StoreError};

/// How long a session or user entry must live: as long as anything it covers — a refresh
/// family lives at most 30 days, sessions 7, access tokens 24 hours.
pub const HORIZON: Duration = Duration::days(31);

fn jti_key(jti: &str) -> String {
    format!("deny:jti:{jti}")
}

pub(crate) fn family_key(family: &str) -> String {
    format!("deny:family:{family}")
}

pub(crate) fn sid_key(sid: &str) -> String {
    format!("deny:sid:{sid}")
}

pub(crate) fn user_key(sub: &str) -> String {
    format!("nbf:user:{sub}")
}

/// True when the token was revoked by any of the three means.
pub async fn is_revoked(hot: &dyn HotStore, claims: &AccessClaims) -> Result<bool, StoreError> {
    let mut keys = vec![jti_key(&claims.jti), user_key(&claims.sub)];
    keys.extend(claims.sid.as_deref().map(sid_key));
    keys.extend(claims.family.as_deref().map(family_key));
    let values = hot.get_many(&keys).await?;
    let before_user_nbf = parse_not_before(values[1].as_deref()).is_some_and(|nbf| claims.iat < nbf);
    // Every other key is a blacklist entry: present means revoked.
    let denied = values.iter().enumerate().any(|(i, v)| i != 1 && v.is_some());
    Ok(denied || before_user_nbf)
}

/// True when a session is dead: ended by logout, or begun (`auth_time`) before the user's
/// not-before time (block, role change, sign-out everywhere). One round trip.
pub async fn session_revoked(hot: &dyn HotStore, sid: &str, sub: &str, auth_time: i64) -> Result<bool, StoreError> {
    let values = hot.get_many(&[sid_key(sid), user_key(sub)]).await?;
    Ok(values[0].is_some() || parse_not_before(values[1].as_deref()).is_some_and(|nbf| auth_time < nbf))
}

/// A not-before time as stored (unix seconds).
pub(crate) fn parse_not_before(value: Option<&[u8]>) -> Option<i64> {
    std::str::from_utf8(value?).ok()?.parse().ok()
}

/// Blacklists one access token until it expires.
pub async fn deny_token(hot: &dyn HotStore, claims: &AccessClaims) -> Result<(), StoreError> {
    deny_jti(hot, &claims.jti, claims.expires_at()).await
}

/// Blacklists the access token `jti`, which expires at `exp`.
pub async fn deny_jti(hot: &dyn HotStore, jti: &str, exp: OffsetDateTime) -> Result<(), StoreError> {
    hot.put(&jti_key(jti), b"1", exp).await
}

/// Blacklists every access token of a browser session.
pub async fn deny_session(hot: &dyn HotStore, sid: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    hot.put(&sid_key(sid), b"1", now + HORIZON).await
}

/// Makes every token issued to `sub` before `now` inactive. Second precision: a token issued
/// in the same second as the change stays valid, so a change never rejects the token that
/// the same request is about to issue.
pub async fn set_not_before(hot: &dyn HotStore, sub: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    hot.put(
        &user_key(sub),
        now.unix_timestamp().to_string().as_bytes(),
        now + HORIZON,
    )
    .await
}
