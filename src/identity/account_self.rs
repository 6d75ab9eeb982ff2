//! Self-service (`/account/v1`): a signed-in user reads and edits their own profile, changes
//! their password (the current one required; every other token and session ends), and lists and
//! ends their own sessions.

use serde_json::json;
use time::Duration;

use super::admin::AdminError;
use crate::audit::{Action, ActorType, AuditRecord, Auditor, Outcome, RequestContext};
use crate::clock::Clock;
use crate::events::{OutboxEvent, UserEvent};
use crate::i18n::Msg;
use crate::model::account::display_name;
use crate::model::password::Password;
use crate::model::user::{Email, Phone, User, UserId, UserStatus};
use crate::oauth::revocation::{self, Ends};
use crate::security::session;
use crate::store::{Database, FactorRemoval, StoreError};

mod factors;
mod fresh;
pub use factors::{Channel, TotpEnrolment, VerifyError};
pub use fresh::{FRESH, Offered, SignedIn};

/// What self-service needs.
pub struct SelfService<'a> {
    pub db: &'a dyn Database,
    /// Seals TOTP seeds (derived from the master key).
    pub seal_key: &'a [u8; 32],
    /// Security notices by mail.
    pub notifier: &'a crate::notify::Notifier,
    /// Typed hot state: revocation generations and browser sessions.
    pub state: &'a crate::store::hot::HotState,
    pub clock: &'a dyn Clock,
    pub audit: &'a Auditor,
    pub source: &'a str,
    pub ctx: RequestContext,
}

/// How long a new email or phone waits for its code to be confirmed.
pub const PENDING: Duration = Duration::hours(24);

fn pending_key(channel: Channel, user: UserId) -> crate::store::hot::Key<'static> {
    crate::store::hot::Key::ContactChange {
        channel: channel.field(),
        user,
    }
}

/// New contact values waiting for their code.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Pending {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl Pending {
    fn fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.email.is_some() {
            fields.push("email");
        }
        if self.phone.is_some() {
            fields.push("phone");
        }
        fields
    }
}

/// Profile fields a user may change; `Some("")` clears email or phone. `profile` changes the
/// OpenID Connect profile fields it names (`null` clears one).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub profile: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ProfileChange {
    /// Applies the change, checking each field; email or phone changes reset their
    /// verification. Returns the names of the fields that changed.
    pub fn apply(self, user: &mut User) -> Result<Vec<&'static str>, AdminError> {
        let mut changed = Vec::new();
        if let Some(fields) = &self.profile {
            let profile = user.profile.changed(fields).map_err(field("profile"))?;
            if profile != user.profile {
                user.profile = profile;
                changed.push("profile");
            }
        }
        if let Some(name) = self.name {
            user.name = Some(display_name(&name).map_err(field("name"))?);
            changed.push("name");
        }
        if let Some(email) = self.email {
            let email = (!email.is_empty())
                .then(|| Email::parse(&email))
                .transpose()
                .map_err(field("email"))?;
            if email != user.email {
                user.email = email;
                user.email_verified = false;
                changed.push("email");
            }
        }
        if let Some(phone) = self.phone {
            let phone = (!phone.is_empty())
                .then(|| Phone::parse(&phone))
                .transpose()
                .map_err(field("phone"))?;
            if phone != user.phone {
                user.phone = phone;
                user.phone_verified = false;
                changed.push("phone");
            }
        }
        Ok(changed)
    }
}

/// How a refusal to take the last second factor from a user whose role or B2B account requires
/// one begins (see [`factor_required`]).
const FACTOR_REQUIRED: &str = "your role or account requires a second factor";

/// The refusal (409) of a change that would leave a user whose role or B2B account requires a
/// second factor without one: they must add another `before` it.
fn factor_required(before: &str) -> AdminError {
    AdminError::Conflict(format!("{FACTOR_REQUIRED}: add another before {before}"))
}

/// True when `e` refused a change because it would take the user's last required second factor,
/// for pages that word the refusal themselves.
pub fn is_factor_required(e: &AdminError) -> bool {
    matches!(e, AdminError::Conflict(message) if message.starts_with(FACTOR_REQUIRED))
}

fn field(name: &'static str) -> impl Fn(crate::model::InvalidValue) -> AdminError {
    move |e| AdminError::Invalid {
        field: name,
        message: e.0,
    }
}

impl SelfService<'_> {
    /// The active user behind a token's `sub`.
    pub async fn me(&self, sub: &str) -> Result<User, AdminError> {
        let id = UserId::parse(sub).map_err(|_| AdminError::Forbidden("this token is not a user's".into()))?;
        self.db
            .find_user(id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(|| AdminError::Forbidden("the account is not active".into()))
    }

    pub(crate) async fn record(&self, user: &User, action: Action, outcome: Outcome, details: serde_json::Value) {
        let id = user.id.to_string();
        let mut record = AuditRecord::change(self.clock.now(), action, "user", &id, user.client_id, details);
        record.actor_type = ActorType::User;
        record.actor_id = Some(id);
        record.outcome = outcome;
        record.ip = self.ctx.ip.clone();
        record.user_agent = self.ctx.user_agent.clone();
        self.audit.record_or_log(record).await;
    }

    /// Saves `user`, read when its `updated_at` was `read_at` (see [`Database::update_user`]).
    async fn save(&self, user: &User, read_at: time::OffsetDateTime, event: OutboxEvent) -> Result<(), AdminError> {
        self.db.update_user(user, read_at, &[event]).await.map_err(|e| match e {
            StoreError::Conflict { constraint } if constraint == "users_changed" => {
                StoreError::Conflict { constraint }.into()
            }
            StoreError::Conflict { .. } => AdminError::Conflict("email is already used by another user".into()),
            other => other.into(),
        })
    }

    /// Changes the profile: the name at once, a cleared email or phone at once, and a new email
    /// or phone only once the code sent to it is confirmed (DESIGN.md, fresh proof): until then
    /// it is pending, so no reset link or code ever goes to an address nobody proved. Clearing
    /// the email or phone whose codes are the last second factor of a user whose role or account
    /// requires one is refused, and nothing changes. Returns the user and the pending values.
    pub async fn update_profile(
        &self,
        provider: &crate::security::Services,
        sub: &str,
        change: ProfileChange,
    ) -> Result<(User, Pending), AdminError> {
        let mut user = self.me(sub).await?;
        let mut pending = Pending::default();
        let mut direct = ProfileChange {
            name: change.name,
            profile: change.profile,
            ..ProfileChange::default()
        };
        match change.email.as_deref() {
            Some("") => direct.email = Some(String::new()),
            Some(new) => {
                let email = Email::parse(new).map_err(field("email"))?;
                if Some(&email) != user.email.as_ref() {
                    let taken = self.db.find_user_by_login(email.as_str()).await?;
                    if taken.is_some_and(|other| other.id != user.id) {
                        return Err(AdminError::Conflict("email is already used by another user".into()));
                    }
                    pending.email = Some(email.as_str().to_owned());
                }
            }
            None => {}
        }
        match change.phone.as_deref() {
            Some("") => direct.phone = Some(String::new()),
            Some(new) => {
                let phone = Phone::parse(new).map_err(field("phone"))?;
                if Some(&phone) != user.phone.as_ref() {
                    pending.phone = Some(phone.as_str().to_owned());
                }
            }
            None => {}
        }
        let before = user.clone();
        let changed = direct.apply(&mut user)?;
        // Before anything is stored: a refusal leaves no pending value behind either.
        let dropped = self.drop_code_factors(provider, &user, &changed).await?;
        let now = self.clock.now();
        for (channel, value) in [(Channel::Email, &pending.email), (Channel::Phone, &pending.phone)] {
            if let Some(value) = value {
                self.state
                    .put(pending_key(channel, user.id), value.as_bytes(), now + PENDING)
                    .await?;
            }
        }
        if !changed.is_empty() {
            let read_at = std::mem::replace(&mut user.updated_at, now);
            self.save(
                &user,
                read_at,
                UserEvent::updated(self.source, &user, &changed, user.updated_at),
            )
            .await?;
        }
        // A contact removed is told at the address on file before the change (and the codes that
        // went there with it), so clearing the email first cannot hide a takeover's next step.
        for field in changed.iter().filter(|f| **f == "email" || **f == "phone") {
            let what = if *field == "email" {
                Msg::NoticeEmailRemoved
            } else {
                Msg::NoticePhoneRemoved
            };
            self.notifier.notice(&before, what, self.ctx.ip.as_deref(), now);
        }
        if dropped > 0 {
            self.notifier
                .notice(&before, Msg::NoticeCodesOff, self.ctx.ip.as_deref(), now);
        }
        let details = json!({ "changed": changed, "pending": pending.fields() });
        self.record(&user, Action::ProfileUpdate, Outcome::Success, details)
            .await;
        Ok((user, pending))
    }

    /// Codes go only to verified destinations: a changed one loses its factor. When that would
    /// take the last confirmed factor of a user whose role or account requires one, none goes
    /// and the change is refused: they must add another factor first. The check and the removal
    /// are one step in the store, so a factor removed meanwhile cannot slip past it. Returns how
    /// many factors went.
    async fn drop_code_factors(
        &self,
        provider: &crate::security::Services,
        user: &User,
        changed: &[&'static str],
    ) -> Result<u64, AdminError> {
        use crate::model::mfa::{Factor, FactorKind};
        let kinds: Vec<FactorKind> = [("email", FactorKind::Email), ("phone", FactorKind::Sms)]
            .into_iter()
            .filter(|(field, _)| changed.contains(field))
            .map(|(_, kind)| kind)
            .collect();
        if kinds.is_empty() {
            return Ok(0);
        }
        let doomed: Vec<Factor> = self
            .db
            .list_factors(user.id)
            .await?
            .into_iter()
            .filter(|f| kinds.contains(&f.kind))
            .collect();
        if doomed.is_empty() {
            return Ok(0);
        }
        let keep_one = crate::security::signin::second_factor::required(provider, user).await?;
        let ids: Vec<uuid::Uuid> = doomed.iter().map(|f| f.id).collect();
        match self.db.delete_factors_keeping(user.id, &ids, keep_one).await? {
            FactorRemoval::Removed(dropped) => {
                if dropped > 0 {
                    // With the last confirmed factor go the recovery codes.
                    self.db.delete_factors_unless_confirmed(user.id).await?;
                }
                Ok(dropped)
            }
            FactorRemoval::Refused => Err(factor_required("changing the address or number its codes go to")),
        }
    }

    /// The pending new value of `channel`, if any.
    pub async fn pending(&self, user: &User, channel: Channel) -> Result<Option<String>, AdminError> {
        let value = self.state.get(pending_key(channel, user.id)).await?;
        Ok(value.and_then(|v| String::from_utf8(v).ok()))
    }

    /// Changes the password (the caller checked the current one: [`Self::fresh_proof`] with
    /// `password_required`); every token and session issued before now ends.
    pub async fn change_password(&self, sub: &str, new: &str, cost: u32) -> Result<(), AdminError> {
        let mut user = self.me(sub).await?;
        let email = user.email.as_ref().map(|e| e.as_str().to_owned());
        let password =
            Password::new_password_for(new, user.username.as_str(), email.as_deref()).map_err(field("new_password"))?;
        let now = self.clock.now();
        user.password_hash = Some(password.hash(cost).await.map_err(|_| AdminError::Hashing)?);
        let sub = user.id.to_string();
        user.not_before = Some(now);
        let read_at = std::mem::replace(&mut user.updated_at, now);
        let event = UserEvent::password_changed(self.source, &user, now);
        revocation::around(
            self.state,
            &Ends::Everything.of(&sub),
            now,
            self.save(&user, read_at, event),
        )
        .await?;
        self.notifier
            .notice(&user, Msg::NoticePasswordChanged, self.ctx.ip.as_deref(), now);
        self.record(&user, Action::PasswordChange, Outcome::Success, json!({}))
            .await;
        Ok(())
    }

    pub async fn sessions(&self, sub: &str) -> Result<Vec<String>, AdminError> {
        let user = self.me(sub).await?;
        Ok(session::list(self.state, user.id).await?)
    }

    pub async fn end_session(&self, sub: &str, sid: &str) -> Result<(), AdminError> {
        let user = self.me(sub).await?;
        if !session::revoke(self.state, user.id, sid, self.clock.now()).await? {
            return Err(AdminError::NotFound("no such session".into()));
        }
        self.record(&user, Action::SessionRevoke, Outcome::Success, json!({ "sid": sid }))
            .await;
        Ok(())
    }
}
