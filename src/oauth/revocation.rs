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
//! [`Denylist::advance`]), so its entry may expire after [`HORIZON`].

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::ports::{Denial, Denylist, Entry};
use super::token::AccessClaims;
use crate::model::StoreError;

/// How long a session entry or generation counter must live: as long as anything it covers — a
/// refresh family lives at most 30 days, sessions 7, access tokens 24 hours.
pub const HORIZON: Duration = Duration::days(31);

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

/// True when `issued` (unix seconds) lies before the legacy not-before time read: the not-before
/// of releases before generations (tokens, families and sessions issued to the user before it are
/// inactive). Nothing writes it any more; it is read for whatever carries no generation, so a
/// block or reset made before the upgrade stays in force until the entry expires with
/// [`HORIZON`].
fn before_legacy(value: Option<i64>, issued: i64) -> bool {
    value.is_some_and(|nbf| issued < nbf)
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

/// Reads several generations in one round trip, in order.
pub async fn generations(deny: &dyn Denylist, which: &[Generation<'_>]) -> Result<Vec<i64>, StoreError> {
    let entries: Vec<Entry<'_>> = which.iter().map(|g| Entry::Generation(*g)).collect();
    let values = deny.read(&entries).await?;
    Ok(values.into_iter().map(|v| v.unwrap_or(0)).collect())
}

/// Moves a generation forward: everything issued under an earlier one is inactive from now on,
/// on every node.
pub async fn advance(deny: &dyn Denylist, which: Generation<'_>, now: OffsetDateTime) -> Result<i64, StoreError> {
    deny.advance(which, now.unix_timestamp(), now + HORIZON).await
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
pub async fn end_user(deny: &dyn Denylist, sub: &str, ends: Ends, now: OffsetDateTime) -> Result<(), StoreError> {
    for generation in ends.of(sub) {
        advance(deny, generation, now).await?;
    }
    Ok(())
}

/// Runs `write`, moving each of `which` on before it and again after it (DESIGN.md, Revocation):
/// the first move ends what was issued before the change, the second what was issued while the
/// write was under way from rows read before it committed. Every change that revokes goes
/// through here.
pub async fn around<T, E: From<StoreError>>(
    deny: &dyn Denylist,
    which: &[Generation<'_>],
    now: OffsetDateTime,
    write: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    for generation in which {
        advance(deny, *generation, now).await?;
    }
    let done = write.await?;
    for generation in which {
        advance(deny, *generation, now).await?;
    }
    Ok(done)
}

/// The role an access token's permissions came from.
fn role_of(claims: &AccessClaims) -> Option<&str> {
    claims.role.as_deref().or(claims.rev.role_name.as_deref())
}

/// True when the token was revoked by any means: its `jti`, session or family denied, or a
/// generation it was issued under moved on.
pub async fn is_revoked(deny: &dyn Denylist, claims: &AccessClaims) -> Result<bool, StoreError> {
    let mut entries = vec![Entry::Denied(Denial::Jti(&claims.jti))];
    entries.extend(claims.sid.as_deref().map(|s| Entry::Denied(Denial::Session(s))));
    entries.extend(claims.family.as_deref().map(|f| Entry::Denied(Denial::Family(f))));
    let denials = entries.len();
    let marks = &claims.rev;
    let mut carried = vec![marks.app];
    entries.push(Entry::Generation(Generation::App(&claims.client_id)));
    if !claims.is_service() {
        entries.push(Entry::Generation(Generation::User(&claims.sub)));
        carried.push(marks.user);
    }
    if let Some(role) = role_of(claims) {
        entries.push(Entry::Generation(Generation::Role(role)));
        carried.push(marks.role);
    }
    if let Some(account) = &claims.account_id {
        entries.push(Entry::Generation(Generation::Account(account)));
        carried.push(marks.account);
    }
    let legacy = marks.is_empty() && !claims.is_service();
    if legacy {
        entries.push(Entry::LegacyNotBefore(&claims.sub));
    }
    let values = deny.read(&entries).await?;
    let denied = values[..denials].iter().any(Option::is_some);
    let moved_on = values[denials..]
        .iter()
        .zip(&carried)
        .any(|(now, then)| now.unwrap_or(0) > *then);
    let before = legacy && values.last().is_some_and(|v| before_legacy(*v, claims.iat));
    Ok(denied || moved_on || before)
}

/// True when a browser session is dead: ended by logout, or begun under a generation of its user
/// or account that has moved on. One round trip.
pub async fn session_revoked(
    deny: &dyn Denylist,
    sid: &str,
    sub: &str,
    account: Option<&str>,
    marks: &Marks,
    auth_time: i64,
) -> Result<bool, StoreError> {
    let mut entries = vec![
        Entry::Denied(Denial::Session(sid)),
        Entry::Generation(Generation::Sessions(sub)),
        Entry::LegacyNotBefore(sub),
    ];
    entries.extend(account.map(|a| Entry::Generation(Generation::Account(a))));
    let values = deny.read(&entries).await?;
    let legacy = marks.is_empty() && before_legacy(values[2], auth_time);
    let account_moved = values.get(3).is_some_and(|v| v.unwrap_or(0) > marks.account);
    Ok(values[0].is_some() || legacy || values[1].unwrap_or(0) > marks.sessions || account_moved)
}

/// What a refresh family depends on, read in one round trip: whether the family or its session
/// was revoked, and the current generations (user, sessions, application, the role it last
/// had, its B2B account).
pub async fn family_state(
    deny: &dyn Denylist,
    family: &str,
    family_created: i64,
    subject: &super::subject::Subject,
    client_id: &str,
) -> Result<(bool, Marks), StoreError> {
    let mut entries = vec![
        Entry::Denied(Denial::Family(family)),
        Entry::Generation(Generation::User(&subject.sub)),
        Entry::Generation(Generation::Sessions(&subject.sub)),
        Entry::Generation(Generation::App(client_id)),
        Entry::Generation(Generation::Role(subject.role.as_deref().unwrap_or(""))),
    ];
    entries.extend(
        subject
            .account_id
            .as_deref()
            .map(|a| Entry::Generation(Generation::Account(a))),
    );
    let account = entries.len() - 1;
    entries.push(Entry::LegacyNotBefore(&subject.sub));
    let legacy = entries.len() - 1;
    entries.extend(subject.sid.as_deref().map(|s| Entry::Denied(Denial::Session(s))));
    let values = deny.read(&entries).await?;
    let generation = |i: usize| values[i].unwrap_or(0);
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
    let denied = values[0].is_some() || (subject.sid.is_some() && values[entries.len() - 1].is_some());
    let then = &subject.marks;
    let moved_on = current.sessions > then.sessions || current.account > then.account || current.app > then.app;
    let before = then.is_empty() && before_legacy(values[legacy], family_created);
    Ok((denied || moved_on || before, current))
}

/// Blacklists one access token until it expires.
pub async fn deny_token(deny: &dyn Denylist, claims: &AccessClaims) -> Result<(), StoreError> {
    deny_jti(deny, &claims.jti, claims.expires_at()).await
}

/// Blacklists the access token `jti`, which expires at `exp`.
pub async fn deny_jti(deny: &dyn Denylist, jti: &str, exp: OffsetDateTime) -> Result<(), StoreError> {
    deny.deny(Denial::Jti(jti), exp).await
}

/// Blacklists every access token of a browser session.
pub async fn deny_session(deny: &dyn Denylist, sid: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    deny.deny(Denial::Session(sid), now + HORIZON).await
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
}
