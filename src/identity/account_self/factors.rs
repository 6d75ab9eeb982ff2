//! Self-service second factors: enrol a TOTP authenticator (confirmed by its first code), list
//! and remove factors, and get a fresh set of recovery codes.

use serde_json::json;
use uuid::Uuid;

use super::SelfService;
use crate::audit::{Action, Outcome};
use crate::i18n::Msg;
use crate::identity::admin::AdminError;
use crate::model::mfa::{self, FactorKind};
use crate::model::user::User;
use crate::store::FactorRemoval;

/// A TOTP enrolment waiting for its first code: what the authenticator app needs.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    /// The seed in base32, for typing in.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as an SVG QR code.
    pub qr_svg: String,
}

impl SelfService<'_> {
    /// The user's factors and how many recovery codes are left.
    pub async fn factors(&self, sub: &str) -> Result<serde_json::Value, AdminError> {
        let user = self.me(sub).await?;
        let factors = self.db.list_factors(user.id).await?;
        let left = self.db.recovery_codes_left(user.id).await?;
        let items: Vec<_> = factors.iter().map(mfa::Factor::view).collect();
        Ok(json!({ "items": items, "recovery_codes_left": left }))
    }

    /// Starts a TOTP enrolment (an unconfirmed factor).
    pub async fn enrol_totp(&self, sub: &str, issuer_name: &str) -> Result<TotpEnrolment, AdminError> {
        let user = self.me(sub).await?;
        let (factor, secret) = mfa::new_totp(self.seal_key, user.id, self.clock.now())
            .map_err(|e| AdminError::Store(crate::store::StoreError::Corrupt(e.to_string())))?;
        self.db.insert_factor(&factor).await?;
        let uri = mfa::otpauth_uri(issuer_name, user.username.as_str(), &secret);
        Ok(TotpEnrolment {
            id: factor.id,
            qr_svg: mfa::qr_svg(&uri),
            otpauth_uri: uri,
            secret,
        })
    }

    /// Confirms an enrolment with a code from the authenticator. The first factor also brings
    /// ten recovery codes, shown this once.
    pub async fn confirm_totp(&self, sub: &str, id: &str, code: &str) -> Result<Option<Vec<String>>, AdminError> {
        let user = self.me(sub).await?;
        let factor = self.factor(&user, id).await?;
        let now = self.clock.now();
        // An enrolment is finished within the time its fresh proof is good for; an abandoned one
        // is gone, so no later (and unproven) session can pick it up.
        if !factor.is_confirmed() && now - factor.created_at > super::FRESH {
            self.db.delete_factor(user.id, factor.id).await?;
            return Err(not_found(id));
        }
        let step = (factor.kind == FactorKind::Totp && !factor.is_confirmed())
            .then(|| mfa::totp_step(self.seal_key, &factor, code, now))
            .flatten();
        let Some(step) = step else {
            self.record(
                &user,
                Action::MfaEnrol,
                Outcome::Failure,
                json!({ "kind": "totp", "reason": "wrong code" }),
            )
            .await;
            return Err(AdminError::Invalid {
                field: "code",
                message: "the code does not match; check the authenticator's clock and try the next code".into(),
            });
        };
        if !self.db.confirm_factor(user.id, factor.id, now, Some(step)).await? {
            return Err(not_found(id));
        }
        let codes = if self.db.recovery_codes_left(user.id).await? == 0 {
            Some(self.replace_recovery_codes(&user).await?)
        } else {
            None
        };
        self.record(
            &user,
            Action::MfaEnrol,
            Outcome::Success,
            json!({ "kind": "totp", "factor": factor.id }),
        )
        .await;
        self.mfa_notice(&user, Msg::NoticeAuthenticatorAdded);
        Ok(codes)
    }

    /// True when the user has a confirmed second factor.
    async fn has_confirmed_factor(&self, user: crate::model::user::UserId) -> Result<bool, AdminError> {
        Ok(self.db.list_factors(user).await?.iter().any(mfa::Factor::is_confirmed))
    }

    /// Removes one factor (with the last one, the recovery codes go too). The last confirmed
    /// factor of a user whose role or account requires one stays: add another first. The store
    /// checks that and removes in one step, so two removals at once cannot take the last two.
    pub async fn remove_factor(
        &self,
        provider: &crate::security::Services,
        sub: &str,
        id: &str,
    ) -> Result<(), AdminError> {
        let user = self.me(sub).await?;
        let factor = self.factor(&user, id).await?;
        // The store judges whether a confirmed factor would be left, in its own turn: a factor
        // read here as unconfirmed may be confirmed by now.
        let keep_one = crate::security::signin::second_factor::required(provider, &user).await?;
        match self.db.delete_factors_keeping(user.id, &[factor.id], keep_one).await? {
            FactorRemoval::Refused => return Err(super::factor_required("removing this one")),
            // Removed meanwhile, by another request.
            FactorRemoval::Removed(0) => return Err(not_found(id)),
            FactorRemoval::Removed(_) => {}
        }
        // With the last confirmed factor go the enrolments and the recovery codes.
        self.db.delete_factors_unless_confirmed(user.id).await?;
        self.record(
            &user,
            Action::MfaRemove,
            Outcome::Success,
            json!({ "kind": factor.kind, "factor": factor.id }),
        )
        .await;
        self.mfa_notice(&user, Msg::NoticeFactorRemoved);
        Ok(())
    }

    /// Ten new recovery codes, replacing the old ones; only for users with a factor.
    pub async fn new_recovery_codes(&self, sub: &str) -> Result<Vec<String>, AdminError> {
        let user = self.me(sub).await?;
        if !self.has_confirmed_factor(user.id).await? {
            return Err(AdminError::Invalid {
                field: "factors",
                message: "recovery codes need a confirmed second factor first".into(),
            });
        }
        let codes = self.replace_recovery_codes(&user).await?;
        self.record(&user, Action::MfaRecoveryCodes, Outcome::Success, json!({}))
            .await;
        // The old codes stopped working: the owner hears of it, in case it was not them.
        self.mfa_notice(&user, Msg::NoticeRecoveryCodes);
        Ok(codes)
    }

    fn mfa_notice(&self, user: &User, what: Msg) {
        self.notifier
            .notice(user, what, self.ctx.ip.as_deref(), self.clock.now());
    }

    async fn replace_recovery_codes(&self, user: &User) -> Result<Vec<String>, AdminError> {
        let codes = mfa::new_recovery_codes();
        let hashes: Vec<Vec<u8>> = codes.iter().map(|(_, h)| h.clone()).collect();
        self.db
            .replace_recovery_codes(user.id, &hashes, self.clock.now())
            .await?;
        Ok(codes.into_iter().map(|(c, _)| c).collect())
    }

    async fn factor(&self, user: &User, id: &str) -> Result<mfa::Factor, AdminError> {
        let wanted = Uuid::parse_str(id).map_err(|_| not_found(id))?;
        self.db
            .list_factors(user.id)
            .await?
            .into_iter()
            .find(|f| f.id == wanted)
            .ok_or_else(|| not_found(id))
    }
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound(format!("no factor {id}"))
}

/// What is verified: the email address or the phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Phone,
}

impl Channel {
    fn purpose(self) -> &'static str {
        match self {
            Self::Email => "verify-email",
            Self::Phone => "verify-phone",
        }
    }

    /// Its name in paths and forms (`email`, `phone`), also the profile field it verifies.
    pub fn field(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
        }
    }

    /// The channel [`Channel::field`] names.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Email, Self::Phone].into_iter().find(|c| c.field() == name)
    }
}

/// Why a verification code was not sent.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Otp(#[from] crate::security::signin::otp::SendError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
}

impl From<crate::store::StoreError> for VerifyError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Admin(e.into())
    }
}

impl SelfService<'_> {
    /// Sends a code to the user's email address or phone to prove it is theirs.
    pub async fn send_verification(
        &self,
        sub: &str,
        channel: Channel,
        notifier: &crate::notify::Notifier,
    ) -> Result<(), VerifyError> {
        let user = self.me(sub).await?;
        // A pending new value first (the change waits for this code), else the current one.
        let current = match channel {
            Channel::Email => user.email.as_ref().map(|e| e.as_str().to_owned()),
            Channel::Phone => user.phone.as_ref().map(|p| p.as_str().to_owned()),
        };
        let destination = self
            .pending(&user, channel)
            .await?
            .or(current)
            .ok_or_else(|| AdminError::Invalid {
                field: channel.field(),
                message: format!("there is no {} on the profile to verify", channel.field()),
            })?;
        let now = self.clock.now();
        let subject = user.id.to_string();
        let code =
            crate::security::signin::otp::issue(self.state, channel.purpose(), &subject, &subject, &destination, now)
                .await?;
        let minutes = crate::security::signin::otp::LIFETIME.whole_minutes();
        match channel {
            Channel::Email => {
                let message =
                    crate::notify::mail::code(notifier.lang_of(&user), &code, Msg::PurposeVerifyEmail, minutes);
                notifier.email(&destination, &message).await?;
            }
            Channel::Phone => {
                let minutes = minutes.to_string();
                let text = Msg::VerifyPhoneSms.fill(notifier.lang_of(&user), &[("code", &code), ("minutes", &minutes)]);
                notifier.sms.send(&destination, &text).await?;
            }
        }
        Ok(())
    }

    /// Checks the code: applies a pending new email or phone (verified, the old address told),
    /// or marks the current one verified. A new value whose old one carries the codes that are
    /// the last second factor of a user whose role or account requires one is refused (see
    /// `drop_code_factors`): they must add another factor first.
    pub async fn confirm_verification(
        &self,
        provider: &crate::security::Services,
        sub: &str,
        channel: Channel,
        code: &str,
    ) -> Result<User, AdminError> {
        let mut user = self.me(sub).await?;
        let subject = user.id.to_string();
        let pending = self.pending(&user, channel).await?;
        let current = match channel {
            Channel::Email => user.email.as_ref().map(|e| e.as_str().to_owned()),
            Channel::Phone => user.phone.as_ref().map(|p| p.as_str().to_owned()),
        };
        let destination = pending.clone().or(current).unwrap_or_default();
        if destination.is_empty()
            || !crate::security::signin::otp::check(self.state, channel.purpose(), &subject, &destination, code).await?
        {
            self.record(
                &user,
                Action::Verify,
                Outcome::Failure,
                json!({ "channel": channel.field() }),
            )
            .await;
            return Err(AdminError::Invalid {
                field: "code",
                message: "the code is wrong, used or expired".into(),
            });
        }
        let before = user.clone();
        let field = channel.field();
        let mut changed = vec![if field == "email" {
            "email_verified"
        } else {
            "phone_verified"
        }];
        if let Some(new) = &pending {
            let parsed = match channel {
                Channel::Email => crate::model::user::Email::parse(new).map(|e| user.email = Some(e)),
                Channel::Phone => crate::model::user::Phone::parse(new).map(|p| user.phone = Some(p)),
            };
            parsed.map_err(|e| AdminError::Invalid { field, message: e.0 })?;
            changed.insert(0, field);
            self.drop_code_factors(provider, &user, &changed).await?;
        }
        match channel {
            Channel::Email => user.email_verified = true,
            Channel::Phone => user.phone_verified = true,
        }
        let read_at = std::mem::replace(&mut user.updated_at, self.clock.now());
        let event = crate::events::UserEvent::updated(self.source, &user, &changed, user.updated_at);
        self.save(&user, read_at, event).await?;
        if pending.is_some() {
            self.state.delete(super::pending_key(channel, user.id)).await?;
            // The address that was on file hears of it: a takeover would announce itself.
            let what = match channel {
                Channel::Email => Msg::NoticeEmailChanged,
                Channel::Phone => Msg::NoticePhoneChanged,
            };
            self.notifier
                .notice(&before, what, self.ctx.ip.as_deref(), user.updated_at);
        }
        self.record(
            &user,
            Action::Verify,
            Outcome::Success,
            json!({ "channel": field, "changed": pending.is_some() }),
        )
        .await;
        Ok(user)
    }

    /// Adds a code-by-email or code-by-SMS factor to the user's verified address or phone.
    pub async fn add_code_factor(&self, sub: &str, kind: FactorKind) -> Result<mfa::Factor, AdminError> {
        let user = self.me(sub).await?;
        let target = match kind {
            FactorKind::Email if user.email_verified => user.email.as_ref().map(|e| e.as_str().to_owned()),
            FactorKind::Sms if user.phone_verified => user.phone.as_ref().map(|p| p.as_str().to_owned()),
            _ => None,
        };
        let Some(target) = target else {
            let field = if kind == FactorKind::Sms { "phone" } else { "email" };
            return Err(AdminError::Invalid {
                field,
                message: format!("verify the {field} first: codes go only to a verified {field}"),
            });
        };
        let existing = self.db.list_factors(user.id).await?;
        if existing.iter().any(|f| f.kind == kind) {
            return Err(AdminError::Conflict(format!("a {kind} factor exists already")));
        }
        let now = self.clock.now();
        let factor = mfa::Factor {
            id: Uuid::now_v7(),
            user_id: user.id,
            kind,
            secret_enc: None,
            target: Some(target),
            confirmed_at: Some(now),
            last_used_step: None,
            created_at: now,
        };
        self.db.insert_factor(&factor).await?;
        self.record(
            &user,
            Action::MfaEnrol,
            Outcome::Success,
            json!({ "kind": kind, "factor": factor.id }),
        )
        .await;
        self.mfa_notice(&user, Msg::NoticeCodesOn);
        Ok(factor)
    }
}
