//! Signing in, every step in one place: the password check against stored credentials
//! ([`credentials`]) under the lockout ([`lockout`]) — checked before bcrypt, failures counted, a
//! new lock audited and announced (`user.locked`), unknown names taking exactly the same path —
//! the known-device cookie ([`device`]), the second factor ([`second_factor`], with its one-time
//! codes in [`otp`]), the password grant ([`password_grant`]) and the end of a successful sign-in
//! ([`finish`]: device, a fresh browser session, audit). The login pages in `crate::http` only
//! translate between forms and these steps.

pub mod credentials;
pub mod device;
pub mod lockout;
pub mod otp;
pub mod password_grant;
pub mod second_factor;

use std::net::IpAddr;

use self::lockout::{Attempt, Factor, Lock, Origin};
use crate::audit::{AuditRecord, RequestContext};
use crate::model::event::UserEvent;
use crate::model::user::User;
use crate::security::Services;
use crate::security::signin::credentials::LoginError;
use crate::store::StoreError;

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown user, wrong password, or a user who may not sign in: indistinguishable.
    #[error("invalid username or password")]
    Invalid,
    /// Too many failures from this device, source or (for unknown devices) on this account.
    #[error("temporarily locked")]
    Locked(Lock),
    /// Another attempt on this account (from this source) is being checked right now.
    #[error("another sign-in attempt is in progress")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a password attempt comes from.
#[derive(Debug, Clone, Copy)]
pub struct Origins<'a> {
    pub ip: IpAddr,
    /// The verified device id of the browser's device cookie, if any.
    pub device: Option<&'a str>,
    /// `login_page` or `password_grant`, for the audit trail.
    pub via: &'a str,
    pub ctx: &'a RequestContext,
}

/// The lockout subject of a login name: the user's id, or a digest of the unknown name.
pub fn subject(user: Option<&User>, login: &str) -> String {
    match user {
        Some(u) => u.id.to_string(),
        None => format!("n:{}", crate::crypto::digest(&login.trim().to_lowercase())),
    }
}

/// A successful check: the user, and whether the browser was a known device of theirs.
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    pub known_device: bool,
}

/// Checks a password under the lockout policy.
#[tracing::instrument(skip_all, fields(via = from.via))]
pub async fn password(
    provider: &Services,
    login_name: &str,
    password: &str,
    from: Origins<'_>,
) -> Result<SignedIn, SignInError> {
    let hot = provider.state.as_ref();
    let now = provider.clock.now();
    let user = credentials::find(provider.db.as_ref(), login_name).await?;
    let known_device = match (&user, from.device) {
        (Some(u), Some(d)) => device::is_known(hot, u.id, d).await?,
        _ => false,
    };
    let attempt = Attempt {
        subject: subject(user.as_ref(), login_name),
        typed: crate::crypto::digest(&login_name.trim().to_lowercase()),
        origin: match (known_device, from.device) {
            (true, Some(d)) => Origin::KnownDevice(d.to_owned()),
            _ => Origin::Source(from.ip),
        },
        factor: Factor::Password,
    };
    if let Some(lock) = provider.lockout.check(hot, &attempt, now).await? {
        provider.metrics.login_locked();
        let record = AuditRecord::login_locked(now, login_name, from.via, lock.scope.as_str(), from.ctx);
        provider.audit.record_or_log(record).await;
        return Err(SignInError::Locked(lock));
    }
    let Some(in_flight) = provider.lockout.begin(hot, &attempt, now).await? else {
        let record = AuditRecord::login_locked(now, login_name, from.via, "in_flight", from.ctx);
        provider.audit.record_or_log(record).await;
        return Err(SignInError::Busy);
    };
    let result = settle(provider, &attempt, user, login_name, password, from, known_device).await;
    provider.lockout.end(hot, in_flight).await;
    result
}

/// The password check and its bookkeeping, while the attempt is marked in flight.
async fn settle(
    provider: &Services,
    attempt: &Attempt,
    user: Option<User>,
    login_name: &str,
    password: &str,
    from: Origins<'_>,
    known_device: bool,
) -> Result<SignedIn, SignInError> {
    let hot = provider.state.as_ref();
    let attempt = attempt.clone();
    if user.as_ref().is_none_or(|u| u.password_hash.is_none()) {
        provider.metrics.dummy_check();
    }
    // Asked for every attempt, known user or not, right password or not: the answer's timing
    // must not tell them apart.
    let refused = refused_by_account(provider, user.as_ref()).await?;
    match credentials::check(&provider.dummy_hash, provider.bcrypt_cost, user, password).await {
        Ok(user) if refused.is_some() => {
            // The B2B account is suspended, or signs in through its identity provider: exactly
            // the answer of a wrong password (a distinct one would confirm the password), and it
            // counts as one.
            failed(provider, &attempt, Some(user), login_name, from, refused).await
        }
        Ok(user) => {
            provider.lockout.succeeded(hot, &attempt).await?;
            Ok(SignedIn { user, known_device })
        }
        Err(LoginError::Store(e)) => Err(e.into()),
        Err(LoginError::InvalidCredentials { user }) => {
            failed(provider, &attempt, user.map(|u| *u), login_name, from, None).await
        }
    }
}

/// True when what a finished sign-in rested on still stands, read again *after* the session's
/// generations were read: the user active with the password that was checked, and its B2B
/// account active. A block, reset or suspension that landed while the sign-in was under way
/// (a bcrypt check, a parked second step) is not outlived by the session it would start.
pub async fn still_standing(provider: &Services, signed_in: &User) -> Result<bool, StoreError> {
    let Some(user) = provider.db.find_user(signed_in.id).await? else {
        return Ok(false);
    };
    if user.status != crate::model::user::UserStatus::Active || user.password_hash != signed_in.password_hash {
        return Ok(false);
    }
    match user.client_id {
        None => Ok(true),
        Some(account) => Ok(provider
            .db
            .find_account(account)
            .await?
            .is_some_and(|a| a.status == crate::model::account::AccountStatus::Active)),
    }
}

/// Why the user's B2B account refuses password sign-in, if it does: it is not active
/// (`account_inactive`), or it signs in through its identity provider only (`sso_required`).
/// Always the same two queries (for an account that cannot exist for unknown users and staff),
/// so timing tells nothing.
async fn refused_by_account(provider: &Services, user: Option<&User>) -> Result<Option<&'static str>, StoreError> {
    let account = user
        .and_then(|u| u.client_id)
        .unwrap_or_else(|| crate::model::account::AccountId::from_uuid(uuid::Uuid::nil()));
    let found = provider.db.find_account(account).await?;
    if user.is_some_and(|u| u.client_id.is_some())
        && found.is_none_or(|a| a.status != crate::model::account::AccountStatus::Active)
    {
        return Ok(Some("account_inactive"));
    }
    let sso = crate::security::signin::sso_required(provider, Some(account)).await?;
    Ok(sso.then_some("sso_required"))
}

/// A failed password check: audited (with `reason`), counted, perhaps a new lock.
async fn failed(
    provider: &Services,
    attempt: &Attempt,
    user: Option<User>,
    login_name: &str,
    from: Origins<'_>,
    reason: Option<&str>,
) -> Result<SignedIn, SignInError> {
    let (hot, now) = (provider.state.as_ref(), provider.clock.now());
    provider.metrics.login(false);
    let mut record = AuditRecord::login_failed(now, login_name, from.via, from.ctx);
    if let Some(reason) = reason {
        record = record.because(reason);
    }
    provider.audit.record_or_log(record).await;
    match provider.lockout.failed(hot, attempt, now).await? {
        Some(lock) => {
            provider.metrics.lockout();
            if let Some(user) = user {
                announce_lock(provider, &user, &lock, from.ctx).await;
            }
            Err(SignInError::Locked(lock))
        }
        None => Err(SignInError::Invalid),
    }
}

/// The audit record and `user.locked` event of a new lock.
pub async fn announce_lock(provider: &Services, user: &User, lock: &Lock, ctx: &RequestContext) {
    let now = provider.clock.now();
    let event = UserEvent::locked(&provider.issuer, user, lock, ctx.ip.as_deref(), now);
    if let Err(e) = provider.db.outbox_enqueue(&[event]).await {
        tracing::error!(error = %e, "the user.locked event could not be queued");
    }
    let record = AuditRecord::locked(now, &user.id.to_string(), user.client_id, lock, ctx);
    provider.audit.record_or_log(record).await;
    let what = match lock.scope {
        crate::security::signin::lockout::LockScope::Account => crate::i18n::Msg::NoticeAccountLocked,
        _ => crate::i18n::Msg::NoticeSourceLocked,
    };
    // One lockout notice an hour at most: an attacker locking source after source must not
    // flood the user's mailbox.
    let once = crate::store::hot::Key::LockNotice(user.id);
    if provider
        .state
        .put_new(once, b"1", now + time::Duration::hours(1))
        .await
        .unwrap_or(false)
    {
        provider.notifier.notice(user, what, ctx.ip.as_deref(), now);
    }
}

/// True when the user's B2B account has an enabled provider that requires SSO: the user may not
/// sign in with a password.
pub async fn sso_required(
    provider: &Services,
    account: Option<crate::model::account::AccountId>,
) -> Result<bool, StoreError> {
    let Some(account) = account else { return Ok(false) };
    Ok(provider
        .db
        .list_idps(Some(account))
        .await?
        .iter()
        .any(|idp| idp.enabled && idp.sso_required))
}

/// A sign-in whose every step succeeded (password and second factor, or the upstream IdP).
pub struct Success<'a> {
    pub user: &'a User,
    /// RFC 8176 methods: `pwd`, then `otp`, `mfa` after a second factor; `fed` upstream.
    pub amr: Vec<String>,
    /// How the user signed in, for the audit trail: `login_page` or `federation`.
    pub via: &'a str,
    /// The browser's verified known-device id, if it had one.
    pub device: Option<String>,
    /// The browser was a known device of this user.
    pub known_device: bool,
    /// When the user authenticated (unix seconds), if earlier than now (an upstream IdP's
    /// `auth_time`).
    pub authenticated_at: Option<i64>,
}

/// What a finished sign-in hands the browser.
pub struct Finished {
    /// The new session's cookie value, and the session.
    pub cookie: String,
    pub session: crate::security::session::Session,
    /// A new known-device cookie value, when the browser had none.
    pub device_cookie: Option<String>,
}

/// Why a sign-in could not be finished.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    /// The user or its account was blocked, suspended or changed while signing in.
    #[error("the account cannot sign in now")]
    NotStanding,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Finishes a sign-in: remembers the device, ends the browser's `previous` session and starts a
/// fresh one (against fixation), checks the user is still standing, audits the login and sends
/// a new-device notice.
pub async fn finish(
    provider: &Services,
    done: Success<'_>,
    previous: Option<(String, crate::security::session::Session)>,
    ctx: &RequestContext,
) -> Result<Finished, FinishError> {
    use crate::security::session;
    let user = done.user;
    let now = provider.clock.now();
    let (device_id, device_cookie) = match done.device {
        Some(id) => (id, None),
        None => {
            let (id, value) = device::issue(&provider.device_key);
            (id, Some(value))
        }
    };
    if let Err(e) = device::remember(provider.state.as_ref(), user.id, &device_id, now).await {
        tracing::warn!(error = %e, "the known device could not be remembered");
    }
    if let Some((old_cookie, old)) = previous {
        let _ = session::end(&provider.state, &old_cookie, &old).await;
    }
    let (cookie, started) = session::start(&provider.state, user, done.amr.clone(), now, done.authenticated_at).await?;
    let standing = still_standing(provider, user).await;
    if !matches!(standing, Ok(true)) {
        let _ = session::end(&provider.state, &cookie, &started).await;
        return Err(match standing {
            Err(e) => FinishError::Store(e),
            Ok(_) => FinishError::NotStanding,
        });
    }
    let mut record = AuditRecord::login_succeeded(now, &user.id.to_string(), user.client_id, done.via, ctx);
    if let serde_json::Value::Object(details) = &mut record.details {
        details.insert("amr".into(), serde_json::json!(done.amr));
    }
    if done.via == "federation" {
        provider
            .metrics
            .federated(crate::telemetry::metrics::Federated::Success);
    } else {
        provider.metrics.login(true);
    }
    provider.audit.record_or_log(record).await;
    if !done.known_device {
        provider
            .notifier
            .notice(user, crate::i18n::Msg::NoticeNewDevice, ctx.ip.as_deref(), now);
    }
    Ok(Finished {
        cookie,
        session: started,
        device_cookie,
    })
}
