//! The second step of a sign-in. After the password, a user with a confirmed factor — or one
//! whose role or B2B account requires a second factor — is parked here: the browser carries a
//! short-lived cookie naming the pending sign-in, and `/login/2fa` asks for a code (or, when
//! the policy requires a factor the user has not got, enrols a TOTP authenticator first).
//! Code failures are counted by the lockout separately from password failures.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::lockout::{Attempt, Factor as LockFactor, Lock, Origin};
use crate::audit::Action;
use crate::crypto::random_token;
use crate::model::mfa::{self, Factor, FactorKind};
use crate::model::user::{User, UserId};
use crate::security::Services;
use crate::store::StoreError;
use crate::store::hot::HotState;
use crate::store::hot::Key;

/// How long the second step may take.
pub const PENDING_LIFETIME: Duration = Duration::minutes(10);

pub fn cookie_name(https: bool) -> &'static str {
    if https { "__Host-propusk-mfa" } else { "propusk_mfa" }
}

/// What a user must do after the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Nothing more.
    Nothing,
    /// Give a code from one of these confirmed factors (or a recovery code).
    Verify(Vec<Factor>),
    /// The policy requires a second factor and the user has none: enrol one now.
    Enrol,
}

/// True when the user's role or B2B account requires a second factor.
pub async fn required(provider: &Services, user: &User) -> Result<bool, StoreError> {
    if provider.mfa_required_roles.iter().any(|r| r == user.role.as_str()) {
        return Ok(true);
    }
    match user.client_id {
        Some(account) => Ok(provider.db.find_account(account).await?.is_some_and(|a| a.mfa_required)),
        None => Ok(false),
    }
}

/// What the user must do after a correct password.
pub async fn need(provider: &Services, user: &User) -> Result<Need, StoreError> {
    let confirmed: Vec<Factor> = provider
        .db
        .list_factors(user.id)
        .await?
        .into_iter()
        .filter(Factor::is_confirmed)
        .collect();
    if !confirmed.is_empty() {
        return Ok(Need::Verify(confirmed));
    }
    Ok(if required(provider, user).await? {
        Need::Enrol
    } else {
        Need::Nothing
    })
}

/// A TOTP enrolment in progress during sign-in: the unconfirmed factor and the recovery codes
/// shown beside it (saved only when the first code confirms the factor).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrolment {
    pub factor: Uuid,
    pub codes: Vec<String>,
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub user_id: UserId,
    /// The browser's known-device id, when it had a valid device cookie.
    pub device: Option<String>,
    pub known_device: bool,
    /// The parked authorization request to continue.
    pub req: Option<String>,
    pub enrol: Option<Enrolment>,
    /// Must enrol (the policy), as opposed to verify.
    pub must_enrol: bool,
    pub created_at: i64,
    /// A random id: codes sent for this sign-in belong to it, so another sign-in of the same
    /// account (someone who knows the password) cannot replace or spend them.
    #[serde(default)]
    pub id: String,
    /// The first step's `amr`: `pwd`, or `fed` after an upstream identity provider.
    #[serde(default = "password_amr")]
    pub first: Vec<String>,
}

fn password_amr() -> Vec<String> {
    vec!["pwd".into()]
}

fn key(token: &str) -> Key<'_> {
    Key::MfaPending(token)
}

/// Parks a pending sign-in; returns the cookie value naming it.
pub async fn park(hot: &HotState, pending: &Pending, now: OffsetDateTime) -> Result<String, StoreError> {
    let token = random_token::<32>();
    save(hot, &token, pending, now).await?;
    Ok(token)
}

/// Saves a changed pending sign-in under its token (keeping its original deadline).
pub async fn save(hot: &HotState, token: &str, pending: &Pending, now: OffsetDateTime) -> Result<(), StoreError> {
    let deadline = OffsetDateTime::from_unix_timestamp(pending.created_at).unwrap_or(now) + PENDING_LIFETIME;
    hot.put_record(key(token), pending, deadline).await
}

/// The pending sign-in of a cookie value, if live.
pub async fn load(hot: &HotState, token: &str) -> Result<Option<Pending>, StoreError> {
    hot.record(key(token)).await
}

/// Ends a pending sign-in (done, or given up).
pub async fn finish(hot: &HotState, token: &str) -> Result<(), StoreError> {
    hot.delete(key(token)).await.map(drop)
}

/// How the user proved the second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    Recovery,
    /// A code sent to the verified email address.
    Email,
    /// A code sent by SMS to the verified phone.
    Sms,
}

impl Method {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "totp" => Some(Self::Totp),
            "recovery" => Some(Self::Recovery),
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Recovery => "recovery",
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    /// The `amr` values (RFC 8176): the first step's (`pwd`), the one-time code (`sms` for a
    /// texted one), and `mfa` for the two together.
    pub fn amr(self, first: &[String]) -> Vec<String> {
        let second = if self == Self::Sms { "sms" } else { "otp" };
        first.iter().cloned().chain([second.into(), "mfa".into()]).collect()
    }

    fn purpose(self) -> &'static str {
        match self {
            Self::Sms => "login-sms",
            _ => "login-email",
        }
    }
}

/// Why a code was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("the code is not valid")]
    Invalid,
    #[error("temporarily locked")]
    Locked(Lock),
    /// Another code for this sign-in is being checked.
    #[error("another code is being checked")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The lockout attempt of a code check for this pending sign-in.
fn attempt(pending: &Pending, ip: std::net::IpAddr) -> Attempt {
    Attempt {
        subject: pending.user_id.to_string(),
        typed: String::new(),
        origin: match (&pending.device, pending.known_device) {
            (Some(device), true) => Origin::KnownDevice(device.clone()),
            _ => Origin::Source(ip),
        },
        factor: LockFactor::Code,
    }
}

/// Checks a code for the pending sign-in under the lockout policy. On success with an
/// enrolment, the factor is confirmed and the recovery codes saved.
pub async fn verify(
    provider: &Services,
    pending: &Pending,
    method: Method,
    code: &str,
    ip: std::net::IpAddr,
    ctx: &crate::audit::RequestContext,
) -> Result<(), CodeError> {
    let hot = provider.state.as_ref();
    let now = provider.clock.now();
    let attempt = attempt(pending, ip);
    if let Some(lock) = provider.lockout.check(hot, &attempt, now).await? {
        return Err(CodeError::Locked(lock));
    }
    let Some(in_flight) = provider.lockout.begin(hot, &attempt, now).await? else {
        return Err(CodeError::Busy);
    };
    let result = check_code(provider, pending, method, code, &attempt, ctx).await;
    provider.lockout.end(hot, in_flight).await;
    result
}

/// The code check and its bookkeeping, while the attempt is marked in flight.
async fn check_code(
    provider: &Services,
    pending: &Pending,
    method: Method,
    code: &str,
    attempt: &Attempt,
    ctx: &crate::audit::RequestContext,
) -> Result<(), CodeError> {
    let (hot, now) = (provider.state.as_ref(), provider.clock.now());
    let attempt = attempt.clone();
    let ok = match (&pending.enrol, method) {
        (Some(enrol), Method::Totp) => confirm_enrolment(provider, pending.user_id, enrol, code, now).await?,
        (Some(_), Method::Recovery) => false,
        (None, Method::Totp) => check_totp(provider, pending.user_id, code, now).await?,
        (None, Method::Recovery) => {
            let hash = mfa::recovery_hash(code);
            !code.trim().is_empty() && provider.db.use_recovery_code(pending.user_id, &hash, now).await?
        }
        (_, Method::Email | Method::Sms) => {
            let kind = if method == Method::Sms {
                FactorKind::Sms
            } else {
                FactorKind::Email
            };
            let factors = provider.db.list_factors(pending.user_id).await?;
            match factors
                .iter()
                .find(|f| f.kind == kind && f.is_confirmed())
                .and_then(|f| f.target.as_deref())
            {
                Some(destination) => super::otp::check(hot, method.purpose(), &pending.id, destination, code).await?,
                None => false,
            }
        }
    };
    if ok {
        provider.lockout.succeeded(hot, &attempt).await?;
        return Ok(());
    }
    provider.metrics.login(false);
    let user = provider.db.find_user(pending.user_id).await?;
    let account = user.as_ref().and_then(|u| u.client_id);
    let record = crate::audit::AuditRecord::second_factor_failed(
        now,
        &pending.user_id.to_string(),
        account,
        method.as_str(),
        ctx,
    );
    provider.audit.record_or_log(record).await;
    match provider.lockout.failed(hot, &attempt, now).await? {
        Some(lock) => {
            provider.metrics.lockout();
            if let Some(user) = user {
                super::announce_lock(provider, &user, &lock, ctx).await;
            }
            Err(CodeError::Locked(lock))
        }
        None => Err(CodeError::Invalid),
    }
}

async fn check_totp(provider: &Services, user: UserId, code: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
    for factor in provider.db.list_factors(user).await? {
        if factor.kind != FactorKind::Totp || !factor.is_confirmed() {
            continue;
        }
        if let Some(step) = mfa::totp_step(&provider.seal_key, &factor, code, now) {
            // Each step once: a code seen (or replayed) before is refused.
            return provider.db.use_totp_step(factor.id, step).await;
        }
    }
    Ok(false)
}

async fn confirm_enrolment(
    provider: &Services,
    user: UserId,
    enrol: &Enrolment,
    code: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let Some(factor) = provider
        .db
        .list_factors(user)
        .await?
        .into_iter()
        .find(|f| f.id == enrol.factor)
    else {
        return Ok(false);
    };
    let Some(step) = mfa::totp_step(&provider.seal_key, &factor, code, now) else {
        return Ok(false);
    };
    if !provider.db.confirm_factor(user, factor.id, now, Some(step)).await? {
        return Ok(false);
    }
    let hashes: Vec<Vec<u8>> = enrol.codes.iter().map(|c| mfa::recovery_hash(c)).collect();
    provider.db.replace_recovery_codes(user, &hashes, now).await?;
    if let Some(user) = provider.db.find_user(user).await? {
        let id = user.id.to_string();
        let details = serde_json::json!({ "kind": "totp", "factor": factor.id, "during": "sign_in" });
        let mut record = crate::audit::AuditRecord::change(now, Action::MfaEnrol, "user", &id, user.client_id, details);
        record.actor_type = crate::audit::ActorType::User;
        record.actor_id = Some(id);
        provider.audit.record_or_log(record).await;
        provider
            .notifier
            .notice(&user, crate::i18n::Msg::NoticeAuthenticatorAdded, None, now);
    }
    Ok(true)
}

/// Why a code could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendCodeError {
    #[error("no verified destination for this method")]
    NoDestination,
    #[error(transparent)]
    Otp(#[from] super::otp::SendError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sends a sign-in code by email or SMS to the destination of the user's confirmed factor.
pub async fn send_code(provider: &Services, pending: &Pending, method: Method) -> Result<(), SendCodeError> {
    let kind = match method {
        Method::Email => FactorKind::Email,
        Method::Sms => FactorKind::Sms,
        _ => return Err(SendCodeError::NoDestination),
    };
    let factor = provider
        .db
        .list_factors(pending.user_id)
        .await?
        .into_iter()
        .find(|f| f.kind == kind && f.is_confirmed())
        .ok_or(SendCodeError::NoDestination)?;
    let destination = factor.target.ok_or(SendCodeError::NoDestination)?;
    let now = provider.clock.now();
    let account = pending.user_id.to_string();
    let code = super::otp::issue(
        provider.state.as_ref(),
        method.purpose(),
        &pending.id,
        &account,
        &destination,
        now,
    )
    .await?;
    let minutes = super::otp::LIFETIME.whole_minutes();
    let lang = match provider.db.find_user(pending.user_id).await? {
        Some(user) => provider.notifier.lang_of(&user),
        None => provider.notifier.default_lang,
    };
    match method {
        Method::Sms => {
            let minutes = minutes.to_string();
            let text = crate::i18n::Msg::SignInSms.fill(lang, &[("code", &code), ("minutes", &minutes)]);
            provider.notifier.sms.send(&destination, &text).await?;
        }
        _ => {
            let message = crate::notify::mail::code(lang, &code, crate::i18n::Msg::PurposeSignIn, minutes);
            provider.notifier.email(&destination, &message).await?;
        }
    }
    Ok(())
}

/// Starts the enrolment of a pending sign-in that must enrol: a new TOTP factor and recovery
/// codes to show.
pub async fn start_enrolment(provider: &Services, pending: &mut Pending) -> Result<(), StoreError> {
    let (factor, _) = mfa::new_totp(&provider.seal_key, pending.user_id, provider.clock.now())
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    provider.db.insert_factor(&factor).await?;
    pending.enrol = Some(Enrolment {
        factor: factor.id,
        codes: mfa::new_recovery_codes().into_iter().map(|(c, _)| c).collect(),
    });
    Ok(())
}
