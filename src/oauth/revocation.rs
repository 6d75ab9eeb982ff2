//! Revocation (DESIGN.md, Tokens: Revocation), in the hot-state store and read in one round trip
//! by `/introspect`, `/userinfo`, `/authz/check`, the admin and account APIs and every refresh:
//! - `deny:jti:{jti}` — one access token, until it would have expired (`/revoke`);
//! - `deny:sid:{sid}` — every token and family of a browser session, after logout;
//! - `deny:family:{family}` — a revoked refresh-token family and the access tokens it produced;
//! - generation counters, one per thing whose change revokes at once whatever was issued before:
//!   `gen:user:{sub}` (the user's access tokens: a role or permission change, and everything
//!   below), `gen:sessions:{sub}` (everything of the user: block, password reset, sign-out
//!   everywhere, erasure), `gen:role:{name}` (a role's definition: the access tokens of all its
//!   holders), `gen:account:{id}` (a B2B account suspended or deleted: everything of its users and
//!   services), `gen:app:{client_id}` (an application disabled: its tokens and families).
//!
//! A token, family or session carries the generations it was issued under ([`Marks`]); it is
//! inactive once any current generation is higher. Counters, not timestamps: a change and a
//! token in the same instant, on nodes whose clocks differ, are still ordered — the issuer reads
//! the generations *before* it reads the subject, so a change that lands in between leaves the
//! new token already inactive, never a stale token active. A counter never goes back (see
//! [`HotStore::advance`]), so its entry may expire after [`HORIZON`].

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::token::AccessClaims;
use crate::store::{HotStore, StoreError};

/// How long a session entry or generation counter must live: as long as anything it covers — a
/// refresh family lives at most 30 days, sessions 7, access tokens 24 hours.
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

/// What a generation counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation<'a> {
    /// A user's access tokens (`sub`).
    User(&'a str),
    /// Everything of a user: tokens, families, browser sessions (`sub`).
    Sessions(&'a str),
    /// A role's definition.
    Role(&'a str),
    /// A B2B account (its uuid).
    Account(&'a str),
    /// An application (its client_id).
    App(&'a str),
}

impl Generation<'_> {
    fn key(self) -> String {
        match self {
            Generation::User(id) => format!("gen:user:{id}"),
            Generation::Sessions(id) => format!("gen:sessions:{id}"),
            Generation::Role(name) => format!("gen:role:{name}"),
            Generation::Account(id) => format!("gen:account:{id}"),
            Generation::App(id) => format!("gen:app:{id}"),
        }
    }
}

/// The not-before time of releases before generations (unix seconds): tokens, families and
/// sessions issued to the user before it are inactive. Nothing writes it any more; it is read
/// for whatever carries no generation, so a block or reset made before the upgrade stays in force
/// until the entry expires with [`HORIZON`].
fn legacy_key(sub: &str) -> String {
    format!("nbf:user:{sub}")
}

/// A number stored as decimal text (a generation, the legacy not-before time).
fn stored_number(value: Option<&[u8]>) -> Option<i64> {
    std::str::from_utf8(value?).ok()?.parse().ok()
}

/// True when `issued` (unix seconds) lies before the legacy not-before value read.
fn before_legacy(value: Option<&[u8]>, issued: i64) -> bool {
    stored_number(value).is_some_and(|nbf| issued < nbf)
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The generations a token, refresh family or browser session was issued under. Zero (never
/// changed) is left out of tokens, so they grow only for subjects that were changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks {
    #[serde(rename = "u", default, skip_serializing_if = "is_zero")]
    pub user: i64,
    #[serde(rename = "s", default, skip_serializing_if = "is_zero")]
    pub sessions: i64,
    #[serde(rename = "r", default, skip_serializing_if = "is_zero")]
    pub role: i64,
    #[serde(rename = "c", default, skip_serializing_if = "is_zero")]
    pub account: i64,
    #[serde(rename = "a", default, skip_serializing_if = "is_zero")]
    pub app: i64,
    /// The role whose generation `role` is, for tokens that carry no `role` claim (third-party
    /// applications' tokens still die with a cut to the role their permissions came from).
    #[serde(rename = "rn", default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
}

impl Marks {
    pub fn is_empty(&self) -> bool {
        *self == Marks::default()
    }
}

/// A counter's value as stored (absent: 0).
fn parse_generation(value: Option<&[u8]>) -> i64 {
    stored_number(value).unwrap_or(0)
}

/// Reads several generations in one round trip, in order.
pub async fn generations(hot: &dyn HotStore, which: &[Generation<'_>]) -> Result<Vec<i64>, StoreError> {
    let keys: Vec<String> = which.iter().map(|g| g.key()).collect();
    let values = hot.get_many(&keys).await?;
    Ok(values.iter().map(|v| parse_generation(v.as_deref())).collect())
}

/// Moves a generation forward: everything issued under an earlier one is inactive from now on,
/// on every node.
pub async fn advance(hot: &dyn HotStore, which: Generation<'_>, now: OffsetDateTime) -> Result<i64, StoreError> {
    hot.advance(&which.key(), now.unix_timestamp(), now + HORIZON).await
}

/// What a change to a user ends (DESIGN.md, Revocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// Access tokens, refresh families and browser sessions: block, password reset, sign-out
    /// everywhere, erasure.
    Everything,
    /// Access tokens only: a role or permission change (families rebuild the subject at their
    /// next refresh).
    Tokens,
}

impl Ends {
    /// The generations of user `sub` this ending moves.
    pub fn of(self, sub: &str) -> Vec<Generation<'_>> {
        match self {
            Ends::Everything => vec![Generation::Sessions(sub), Generation::User(sub)],
            Ends::Tokens => vec![Generation::User(sub)],
        }
    }
}

/// Ends what `ends` names for user `sub`, now.
pub async fn end_user(hot: &dyn HotStore, sub: &str, ends: Ends, now: OffsetDateTime) -> Result<(), StoreError> {
    for generation in ends.of(sub) {
        advance(hot, generation, now).await?;
    }
    Ok(())
}

/// Runs `write`, moving each of `which` on before it and again after it (DESIGN.md, Revocation):
/// the first move ends what was issued before the change, the second what was issued while the
/// write was under way from rows read before it committed. Every change that revokes goes
/// through here.
pub async fn around<T, E: From<StoreError>>(
    hot: &dyn HotStore,
    which: &[Generation<'_>],
    now: OffsetDateTime,
    write: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    for generation in which {
        advance(hot, *generation, now).await?;
    }
    let done = write.await?;
    for generation in which {
        advance(hot, *generation, now).await?;
    }
    Ok(done)
}

/// The role an access token's permissions came from.
fn role_of(claims: &AccessClaims) -> Option<&str> {
    claims.role.as_deref().or(claims.rev.role_name.as_deref())
}

/// True when the token was revoked by any means: its `jti`, session or family denied, or a
/// generation it was issued under moved on.
pub async fn is_revoked(hot: &dyn HotStore, claims: &AccessClaims) -> Result<bool, StoreError> {
    let mut keys = vec![jti_key(&claims.jti)];
    keys.extend(claims.sid.as_deref().map(sid_key));
    keys.extend(claims.family.as_deref().map(family_key));
    let denials = keys.len();
    let marks = &claims.rev;
    let mut carried = vec![marks.app];
    keys.push(Generation::App(&claims.client_id).key());
    if !claims.is_service() {
        keys.push(Generation::User(&claims.sub).key());
        carried.push(marks.user);
    }
    if let Some(role) = role_of(claims) {
        keys.push(Generation::Role(role).key());
        carried.push(marks.role);
    }
    if let Some(account) = &claims.account_id {
        keys.push(Generation::Account(account).key());
        carried.push(marks.account);
    }
    let legacy = marks.is_empty() && !claims.is_service();
    if legacy {
        keys.push(legacy_key(&claims.sub));
    }
    let values = hot.get_many(&keys).await?;
    let denied = values[..denials].iter().any(Option::is_some);
    let moved_on = values[denials..]
        .iter()
        .zip(&carried)
        .any(|(now, then)| parse_generation(now.as_deref()) > *then);
    let before = legacy && values.last().is_some_and(|v| before_legacy(v.as_deref(), claims.iat));
    Ok(denied || moved_on || before)
}

/// True when a browser session is dead: ended by logout, or begun under a generation of its user
/// or account that has moved on. One round trip.
pub async fn session_revoked(
    hot: &dyn HotStore,
    sid: &str,
    sub: &str,
    account: Option<&str>,
    marks: &Marks,
    auth_time: i64,
) -> Result<bool, StoreError> {
    let mut keys = vec![sid_key(sid), Generation::Sessions(sub).key(), legacy_key(sub)];
    keys.extend(account.map(|a| Generation::Account(a).key()));
    let values = hot.get_many(&keys).await?;
    let legacy = marks.is_empty() && before_legacy(values[2].as_deref(), auth_time);
    let account_moved = values
        .get(3)
        .is_some_and(|v| parse_generation(v.as_deref()) > marks.account);
    Ok(values[0].is_some() || legacy || parse_generation(values[1].as_deref()) > marks.sessions || account_moved)
}

/// What a refresh family depends on, read in one round trip: whether the family or its session
/// was revoked, and the current generations (user, sessions, application, the role it last
/// had, its B2B account).
pub async fn family_state(
    hot: &dyn HotStore,
    family: &str,
    family_created: i64,
    subject: &super::subject::Subject,
    client_id: &str,
) -> Result<(bool, Marks), StoreError> {
    let mut keys = vec![
        family_key(family),
        Generation::User(&subject.sub).key(),
        Generation::Sessions(&subject.sub).key(),
        Generation::App(client_id).key(),
        Generation::Role(subject.role.as_deref().unwrap_or("")).key(),
    ];
    keys.extend(subject.account_id.as_deref().map(|a| Generation::Account(a).key()));
    let account = keys.len() - 1;
    keys.push(legacy_key(&subject.sub));
    let legacy = keys.len() - 1;
    keys.extend(subject.sid.as_deref().map(sid_key));
    let values = hot.get_many(&keys).await?;
    let generation = |i: usize| parse_generation(values[i].as_deref());
    let current = Marks {
        user: generation(1),
        sessions: generation(2),
        app: generation(3),
        role: generation(4),
        account: if subject.account_id.is_some() {
            generation(account)
        } else {
            0
        },
        role_name: None,
    };
    let denied = values[0].is_some() || (subject.sid.is_some() && values[keys.len() - 1].is_some());
    let then = &subject.marks;
    let moved_on = current.sessions > then.sessions || current.account > then.account || current.app > then.app;
    let before = then.is_empty() && before_legacy(values[legacy].as_deref(), family_created);
    Ok((denied || moved_on || before, current))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untouched_generations_cost_no_bytes_in_a_token() {
        assert_eq!(serde_json::to_string(&Marks::default()).unwrap(), "{}");
        let marks = Marks {
            user: 3,
            role_name: Some("client_user".into()),
            ..Marks::default()
        };
        let text = serde_json::to_string(&marks).unwrap();
        assert_eq!(text, r#"{"u":3,"rn":"client_user"}"#);
        assert_eq!(serde_json::from_str::<Marks>(&text).unwrap(), marks);
    }

    #[test]
    fn stored_generations_parse_and_absent_ones_are_zero() {
        assert_eq!(parse_generation(None), 0);
        assert_eq!(parse_generation(Some(b"1764590000")), 1_764_590_000);
        assert_eq!(parse_generation(Some(b"garbage")), 0);
    }
}
