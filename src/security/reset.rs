//! Forgotten passwords: a single-use link (a 256-bit token, stored only as its digest) mailed
//! to the account's address, valid 30 minutes. Asking gives the same answer, and costs the same,
//! whether or not the account exists; mail goes out in the background. A reset sets the new
//! password, ends every session and token, lifts lockouts, and (the mailbox being proven)
//! marks the address verified.

use time::{Duration, OffsetDateTime};

use crate::audit::{Action, ActorType, AuditRecord, Outcome, RequestContext};
use crate::crypto::digest;
use crate::crypto::random_token;
use crate::events::UserEvent;
use crate::i18n::Msg;
use crate::model::password::Password;
use crate::model::user::{User, UserId, UserStatus};
use crate::security::Services;
use crate::store::hot::Key;
use crate::store::{Rate, StoreError, Taken, Throttle};

pub const LIFETIME: Duration = Duration::minutes(30);
/// Reset mails a day to one address from one source (a client address, or one of the user's
/// known devices).
pub const DAILY: u32 = 5;
/// Reset mails a day to one address from all unknown sources together: a stranger rotating
/// addresses floods no mailbox, and still cannot spend what the user's own devices may ask.
pub const DAILY_UNKNOWN: u32 = 20;

/// Where a reset request comes from, as the lockout counts it: the client address, and the
/// device id of a verified device cookie (it counts apart only if it is one of the user's).
#[derive(Debug, Clone)]
pub struct Source {
    pub ip: std::net::IpAddr,
    pub device: Option<String>,
}

fn key(token: &str) -> Key<'_> {
    Key::Reset(token)
}

/// The user's outstanding reset tokens (their keys), all voided by one reset.
fn index(user: UserId) -> Key<'static> {
    Key::ResetTokens(user)
}

/// Mails a reset link for the account named by `login` (username or email), if it exists, is
/// active and has an address, within the daily budget. The caller answers the same either way.
pub async fn request(provider: &Services, login: &str, from: Source, ctx: &RequestContext) -> Result<(), StoreError> {
    let now = provider.clock.now();
    let user = crate::security::signin::credentials::find(provider.db.as_ref(), login).await?;
    let Some(user) = user.filter(|u| u.status == UserStatus::Active) else {
        return Ok(());
    };
    let Some(email) = user.email.as_ref().map(|e| e.as_str().to_owned()) else {
        return Ok(());
    };
    if signs_in_upstream(provider, &user).await? {
        tracing::info!("password reset mail not sent: the user signs in through an identity provider");
        return Ok(());
    }
    // Budgets per address and source (DESIGN.md, Fresh proof), as the lockout counts failures:
    // the user's own known device, or the client address plus all unknown sources together.
    let address = digest(&email.to_lowercase());
    let day = Duration::days(1);
    let known = match &from.device {
        Some(d) => super::signin::device::is_known(provider.state.as_ref(), user.id, d)
            .await?
            .then_some(d),
        None => None,
    };
    let source = crate::security::ratelimit::source_key(from.ip);
    let budgets = match known {
        Some(d) => vec![(
            Key::ResetBudgetDevice {
                address: &address,
                device: d,
            },
            Rate::new(DAILY, day),
        )],
        None => vec![
            (
                Key::ResetBudgetSource {
                    address: &address,
                    source: &source,
                },
                Rate::new(DAILY, day),
            ),
            (
                Key::ResetBudgetUnknown { address: &address },
                Rate::new(DAILY_UNKNOWN, day),
            ),
        ],
    };
    if let Throttle::Limited { .. } = provider.state.throttle(&budgets).await? {
        tracing::info!("password reset mail not sent: the daily budget of this address and source is spent");
        return Ok(());
    }
    let token = random_token::<32>();
    // The token names the user and the address it went to: a later change of address voids it.
    let value = format!("{}:{}", user.id, digest(&email.to_lowercase()));
    provider
        .state
        .put(key(&token), value.as_bytes(), now + LIFETIME)
        .await?;
    provider
        .state
        .index_add(index(user.id), key(&token), now + LIFETIME)
        .await?;
    let link = format!("{}/login/reset/confirm?token={token}", provider.issuer);
    let message = crate::notify::mail::reset(provider.notifier.lang_of(&user), &link, LIFETIME.whole_minutes());
    provider.notifier.email_later(email, message);
    record(
        provider,
        &user,
        Action::PasswordResetRequested,
        Outcome::Success,
        ctx,
        now,
    )
    .await;
    Ok(())
}

/// True for a user who signs in through an identity provider (the account requires it, or the
/// user never had a password here): no local password for them, which would outlive their
/// removal at the company's IdP.
async fn signs_in_upstream(provider: &Services, user: &User) -> Result<bool, StoreError> {
    let federated_only = user.password_hash.is_none() && !provider.db.links_of(user.id).await?.is_empty();
    Ok(federated_only || crate::security::signin::sso_required(provider, user.client_id).await?)
}

/// The user a still-valid token belongs to (without using it up); none once the user signs in
/// through an identity provider (a link mailed before single sign-on was required).
pub async fn peek(provider: &Services, token: &str) -> Result<Option<User>, StoreError> {
    let Some(bytes) = provider.state.get(key(token)).await? else {
        return Ok(None);
    };
    let Some((id, sent_to)) = std::str::from_utf8(&bytes).ok().and_then(|s| s.split_once(':')) else {
        return Ok(None);
    };
    let Ok(id) = UserId::parse(id) else {
        return Ok(None);
    };
    let user = provider.db.find_user(id).await?.filter(|u| {
        let current = u.email.as_ref().map(|e| digest(&e.as_str().to_lowercase()));
        u.status == UserStatus::Active && current.is_some_and(|c| crate::crypto::same(&c, sent_to))
    });
    match user {
        Some(u) if !signs_in_upstream(provider, &u).await? => Ok(Some(u)),
        _ => Ok(None),
    }
}

/// Why a reset did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("the link is invalid, used or expired")]
    Gone,
    #[error("the new password {0}")]
    Weak(crate::model::password::Weakness),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed")]
    Hashing,
}

/// Uses the token once to set `new_password`.
pub async fn complete(
    provider: &Services,
    token: &str,
    new_password: &str,
    ctx: &RequestContext,
) -> Result<User, ResetError> {
    let mut user = peek(provider, token).await?.ok_or(ResetError::Gone)?;
    let email = user.email.as_ref().map(|e| e.as_str().to_owned());
    let password =
        Password::checked_for(new_password, user.username.as_str(), email.as_deref()).map_err(ResetError::Weak)?;
    // Single use: only the first taker resets.
    if !matches!(provider.state.take(key(token)).await?, Taken::First(_)) {
        return Err(ResetError::Gone);
    }
    let now = provider.clock.now();
    user.password_hash = Some(
        password
            .hash(provider.bcrypt_cost)
            .await
            .map_err(|_| ResetError::Hashing)?,
    );
    user.email_verified = user.email.is_some();
    let sub = user.id.to_string();
    user.not_before = Some(now);
    let read_at = std::mem::replace(&mut user.updated_at, now);
    let mut events = vec![UserEvent::password_changed(&provider.issuer, &user, now)];
    if super::signin::lockout::unlock(provider.state.as_ref(), &sub).await? {
        events.push(UserEvent::unlocked(&provider.issuer, &user, now));
    }
    let ends = crate::oauth::revocation::Ends::Everything.of(&sub);
    let write = provider.db.update_user(&user, read_at, &events);
    crate::oauth::revocation::around(provider.state.as_ref(), &ends, now, write).await?;
    // Whoever knew the old password loses every foothold: other reset links, known devices.
    provider.state.clear_index(index(user.id)).await?;
    super::signin::device::forget_all(provider.state.as_ref(), user.id).await?;
    record(provider, &user, Action::PasswordReset, Outcome::Success, ctx, now).await;
    provider
        .notifier
        .notice(&user, Msg::NoticePasswordReset, ctx.ip.as_deref(), now);
    Ok(user)
}

async fn record(
    provider: &Services,
    user: &User,
    action: Action,
    outcome: Outcome,
    ctx: &RequestContext,
    now: OffsetDateTime,
) {
    let id = user.id.to_string();
    let mut record = AuditRecord::change(now, action, "user", &id, user.client_id, serde_json::json!({}));
    record.actor_type = ActorType::Anonymous;
    record.actor_id = None;
    record.outcome = outcome;
    record.ip = ctx.ip.clone();
    record.user_agent = ctx.user_agent.clone();
    provider.audit.record_or_log(record).await;
}
