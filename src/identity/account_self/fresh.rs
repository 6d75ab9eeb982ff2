//! Fresh proof for sensitive self-service changes (DESIGN.md, Token authority: fresh proof):
//! email, phone, password and second factors change only with a token whose `amr` has `mfa` and
//! whose `auth_time` is within ten minutes — or, for users without a second factor, any sign-in
//! within ten minutes — or with `current_password` (plus `otp`, a TOTP or recovery code, when
//! the user has a factor) in the request. Otherwise the answer is RFC 9470's 401
//! `insufficient_user_authentication` with `max_age`, so the application can send the user
//! through the authorization endpoint again (`max_age=600`, `prompt=login`).

use serde::Deserialize;
use time::Duration;

use super::SelfService;
use crate::identity::admin::AdminError;
use crate::model::mfa::{self, FactorKind};
use crate::model::user::User;
use crate::security::Services;
use crate::security::signin::lockout::{Attempt, Factor as LockFactor, Origin};
use crate::security::signin::{self, Origins, SignInError};

/// How recent a sign-in must be to count as fresh proof.
pub const FRESH: Duration = Duration::minutes(10);

/// What the token says about the sign-in behind it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub auth_time: Option<i64>,
    pub amr: Vec<String>,
}

impl SignedIn {
    /// What a browser session says about its sign-in.
    pub fn of(session: &crate::security::session::Session) -> Self {
        Self {
            auth_time: Some(session.auth_time),
            amr: session.amr.clone(),
        }
    }
}

/// Proof offered in the request body.
// No `Debug`: a password.
#[derive(Default, Deserialize, utoipa::ToSchema)]
pub struct Offered {
    pub current_password: Option<String>,
    pub otp: Option<String>,
    /// The verified known-device id of the browser the proof is typed in (pages only): its
    /// guesses count against that browser, as at the login page, not against the address.
    #[serde(skip)]
    pub device: Option<String>,
}

impl Offered {
    /// Proof typed into a form: empty fields count as not offered.
    pub fn typed(current_password: Option<&str>, otp: Option<&str>) -> Self {
        let given = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_owned);
        Self {
            current_password: given(current_password),
            otp: given(otp),
            device: None,
        }
    }

    /// The proof as typed in a browser with this verified known-device id.
    pub fn in_browser(mut self, device: Option<String>) -> Self {
        self.device = device;
        self
    }
}

impl SelfService<'_> {
    /// Passes when the request carries fresh proof (see the module docs). With
    /// `password_required` (a password change) the current password is checked whatever the
    /// token says. Password guesses go through the sign-in lockout (per account and source, as at
    /// the login page), and a code is looked at only after the password matched, so a stolen
    /// token buys no more guesses than the login page gives.
    pub async fn fresh_proof(
        &self,
        provider: &Services,
        user: &User,
        token: &SignedIn,
        offered: &Offered,
        password_required: bool,
    ) -> Result<(), AdminError> {
        let factors = self.db.list_factors(user.id).await?;
        let has_factor = factors.iter().any(mfa::Factor::is_confirmed);
        let now = self.clock.now().unix_timestamp();
        let recent = token
            .auth_time
            .is_some_and(|t| now - t <= FRESH.whole_seconds() && t <= now + 60);
        let token_proves = recent && (!has_factor || token.amr.iter().any(|m| m == "mfa"));
        if token_proves && !password_required {
            return Ok(());
        }
        let refused = || {
            AdminError::StepUp(if has_factor {
                "sign in again with your second factor, or send current_password and otp".into()
            } else {
                "sign in again, or send current_password".into()
            })
        };
        let Some(password) = offered.current_password.as_deref() else {
            return Err(refused());
        };
        let from = Origins {
            ip: self.ctx.client_ip(),
            device: offered.device.as_deref(),
            via: "step_up",
            ctx: &self.ctx,
        };
        match signin::password(provider, user.username.as_str(), password, from).await {
            Ok(signed_in) if signed_in.user.id == user.id => {}
            Ok(_) | Err(SignInError::Invalid | SignInError::Busy) if password_required => {
                return Err(AdminError::Forbidden("the current password is wrong".into()));
            }
            Ok(_) | Err(SignInError::Invalid | SignInError::Busy) => return Err(refused()),
            Err(SignInError::Locked(_)) => {
                return Err(AdminError::Forbidden(
                    "too many failed attempts: try again later".into(),
                ));
            }
            Err(SignInError::Store(e)) => return Err(e.into()),
        }
        if token_proves || !has_factor {
            return Ok(());
        }
        self.code_under_lockout(provider, user, &factors, offered)
            .await?
            .then_some(())
            .ok_or_else(refused)
    }

    /// [`Self::second_factor_ok`] under the sign-in lockout of codes (per account and source, as
    /// at the login page's second step): a wrong code is counted, audited and may lock, so a
    /// stolen session with a known password cannot guess codes one form post after another.
    async fn code_under_lockout(
        &self,
        provider: &Services,
        user: &User,
        factors: &[mfa::Factor],
        offered: &Offered,
    ) -> Result<bool, AdminError> {
        let otp = offered.otp.as_deref();
        if otp.is_none_or(|c| c.trim().is_empty()) {
            return Ok(false);
        }
        let hot = provider.state.as_ref();
        let now = self.clock.now();
        // A browser this user signed in from before has its own count, as at the login page's
        // second step: someone else's wrong codes from many addresses cannot lock it out.
        let known = match offered.device.as_deref() {
            Some(device) => crate::security::signin::device::is_known(hot, user.id, device).await?,
            None => false,
        };
        let attempt = Attempt {
            subject: user.id.to_string(),
            typed: String::new(),
            origin: match (known, &offered.device) {
                (true, Some(device)) => Origin::KnownDevice(device.clone()),
                _ => Origin::Source(self.ctx.client_ip()),
            },
            factor: LockFactor::Code,
        };
        let locked = || AdminError::Forbidden("too many failed attempts: try again later".into());
        if provider.lockout.check(hot, &attempt, now).await?.is_some() {
            return Err(locked());
        }
        let Some(in_flight) = provider.lockout.begin(hot, &attempt, now).await? else {
            return Err(locked());
        };
        let ok = self.second_factor_ok(user, factors, otp).await;
        provider.lockout.end(hot, in_flight).await;
        if ok? {
            provider.lockout.succeeded(hot, &attempt).await?;
            return Ok(true);
        }
        let record = crate::audit::AuditRecord::second_factor_failed(
            now,
            &user.id.to_string(),
            user.client_id,
            "step_up",
            &self.ctx,
        );
        self.audit.record_or_log(record).await;
        if provider.lockout.failed(hot, &attempt, now).await?.is_some() {
            return Err(locked());
        }
        Ok(false)
    }

    /// A TOTP code of one of the user's authenticators (each step once), or a recovery code.
    async fn second_factor_ok(
        &self,
        user: &User,
        factors: &[mfa::Factor],
        otp: Option<&str>,
    ) -> Result<bool, AdminError> {
        let Some(code) = otp.map(str::trim).filter(|c| !c.is_empty() && c.len() <= 64) else {
            return Ok(false);
        };
        let now = self.clock.now();
        for factor in factors
            .iter()
            .filter(|f| f.kind == FactorKind::Totp && f.is_confirmed())
        {
            if let Some(step) = mfa::totp_step(self.seal_key, factor, code, now)
                && self.db.use_totp_step(factor.id, step).await?
            {
                return Ok(true);
            }
        }
        Ok(self
            .db
            .use_recovery_code(user.id, &mfa::recovery_hash(code), now)
            .await?)
    }
}
