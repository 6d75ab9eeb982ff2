//! User administration that takes effect at once (DESIGN.md, Revocation scopes): blocking,
//! unblocking and role changes set the user's not-before time first — every earlier token,
//! session and refresh family dies on the next request — then save the change with its event in
//! one transaction, and put it on the audit trail. Refusals are audited too.

use super::principal::{Denied, Principal};
use super::services::UserAdmin;
use super::{AdminError, NewUser, create_user, find_account};
use crate::audit::{Action, Outcome};
use crate::events::{OutboxEvent, UserEvent};
use crate::identity::account_self::ProfileChange;
use crate::model::permission::Permission;
use crate::model::role::RoleName;
use crate::model::user::{User, UserId, UserStatus, Username};
use crate::oauth::revocation::{self, Ends};
use crate::store::{StoreError, UserFilter};

impl UserAdmin<'_> {
    async fn record(&self, who: &Principal, action: Action, user: &User, outcome: Outcome, details: serde_json::Value) {
        self.record_change(
            who,
            action,
            ("user", &user.id.to_string()),
            user.client_id,
            outcome,
            details,
        )
        .await;
    }

    /// Audits a refusal of `action` on `user` and turns it into the error.
    async fn refuse(&self, who: &Principal, action: Action, user: &User, denied: Denied) -> AdminError {
        let target = ("user", user.id.to_string());
        self.refuse_change(who, action, (target.0, &target.1), user.client_id, denied)
            .await
    }

    /// The user, if the principal may see it (`users:read`). Users outside the principal's
    /// reach look absent, so ids of other accounts are not confirmed.
    pub async fn get(&self, who: &Principal, id: &str) -> Result<User, AdminError> {
        let user = self.find(id).await?;
        who.check_user("users:read", &user).map_err(|_| not_found(id))?;
        Ok(user)
    }

    async fn find(&self, id: &str) -> Result<User, AdminError> {
        let user_id = UserId::parse(id).map_err(|_| not_found(id))?;
        self.db
            .find_user(user_id)
            .await?
            .filter(|u| u.status != UserStatus::Deleted)
            .ok_or_else(|| not_found(id))
    }

    /// Saves `user`, ending what `ends` names of what was issued before (DESIGN.md, Revocation).
    async fn apply(
        &self,
        mut user: User,
        ends: Ends,
        events: impl FnOnce(&User) -> Vec<OutboxEvent>,
    ) -> Result<User, AdminError> {
        let now = self.clock.now();
        let sub = user.id.to_string();
        user.not_before = Some(now);
        let read_at = std::mem::replace(&mut user.updated_at, now);
        let events = events(&user);
        revocation::around(
            self.state,
            &ends.of(&sub),
            now,
            self.db.update_user(&user, read_at, &events),
        )
        .await?;
        Ok(user)
    }

    pub async fn block(&self, who: &Principal, id: &str) -> Result<User, AdminError> {
        let mut user = self.find(id).await?;
        if let Err(denied) = who.check_user("users:update", &user) {
            return Err(self.refuse(who, Action::UserBlock, &user, denied).await);
        }
        user.status = UserStatus::Blocked;
        let at = self.clock.now();
        let user = self
            .apply(user, Ends::Everything, |u| vec![UserEvent::blocked(self.source, u, at)])
            .await?;
        self.record(who, Action::UserBlock, &user, Outcome::Success, serde_json::json!({}))
            .await;
        Ok(user)
    }

    pub async fn unblock(&self, who: &Principal, id: &str) -> Result<User, AdminError> {
        let mut user = self.find(id).await?;
        if let Err(denied) = who.check_user("users:update", &user) {
            return Err(self.refuse(who, Action::UserUnblock, &user, denied).await);
        }
        user.status = UserStatus::Active;
        let at = self.clock.now();
        let user = self
            .apply(user, Ends::Tokens, |u| vec![UserEvent::unblocked(self.source, u, at)])
            .await?;
        self.record(who, Action::UserUnblock, &user, Outcome::Success, serde_json::json!({}))
            .await;
        Ok(user)
    }

    /// Ends the user's lockouts (every scope) and clears their failure counts.
    pub async fn unlock(&self, who: &Principal, id: &str) -> Result<User, AdminError> {
        let user = self.find(id).await?;
        if let Err(denied) = who.check_user("users:update", &user) {
            return Err(self.refuse(who, Action::UserUnlock, &user, denied).await);
        }
        let was_locked = crate::security::signin::lockout::unlock(self.state, &user.id.to_string()).await?;
        if was_locked {
            let event = UserEvent::unlocked(self.source, &user, self.clock.now());
            self.db.outbox_enqueue(&[event]).await?;
        }
        let details = serde_json::json!({ "was_locked": was_locked });
        self.record(who, Action::UserUnlock, &user, Outcome::Success, details)
            .await;
        Ok(user)
    }

    /// Removes every second factor and recovery code of the user (they enrol again).
    pub async fn reset_factors(&self, who: &Principal, id: &str) -> Result<u64, AdminError> {
        let user = self.find(id).await?;
        if let Err(denied) = who.check_user("users:update", &user) {
            return Err(self.refuse(who, Action::UserMfaReset, &user, denied).await);
        }
        let removed = self.db.delete_factors(user.id).await?;
        let details = serde_json::json!({ "factors_removed": removed });
        self.record(who, Action::UserMfaReset, &user, Outcome::Success, details)
            .await;
        self.notifier
            .notice(&user, crate::i18n::Msg::NoticeFactorsReset, None, self.clock.now());
        Ok(removed)
    }

    pub async fn change_role(&self, who: &Principal, id: &str, role: &str) -> Result<User, AdminError> {
        let mut user = self.find(id).await?;
        let name = RoleName::parse(role).map_err(|e| AdminError::Invalid {
            field: "role",
            message: e.0,
        })?;
        let found = self.db.find_role(&name).await?.ok_or_else(|| AdminError::Invalid {
            field: "role",
            message: format!("no role {role:?}"),
        })?;
        let allowed = who
            .check_user("users:update", &user)
            .and_then(|()| who.check_grant(&found, user.client_id));
        if let Err(denied) = allowed {
            let details = serde_json::json!({ "new_role": role, "reason": denied.0 });
            self.record(who, Action::UserRoleChange, &user, Outcome::Denied, details)
                .await;
            return Err(AdminError::Forbidden(denied.0));
        }
        let old = std::mem::replace(&mut user.role, name);
        let at = self.clock.now();
        let user = self
            .apply(user, Ends::Tokens, |u| {
                vec![UserEvent::role_changed(self.source, u, old.as_str(), at)]
            })
            .await?;
        let details = serde_json::json!({ "old_role": old, "new_role": user.role });
        self.record(who, Action::UserRoleChange, &user, Outcome::Success, details)
            .await;
        Ok(user)
    }
}

impl UserAdmin<'_> {
    /// Creates a user in the principal's reach: an account's admins create users of their own
    /// account (the default), with roles they could grant.
    pub async fn create(&self, who: &Principal, mut input: NewUser, bcrypt_cost: u32) -> Result<User, AdminError> {
        if input.client.is_none() {
            input.client = who.account.map(|a| a.to_string());
        }
        let account = match input.client.as_deref() {
            Some(c) => match find_account(self.db, c).await {
                Ok(account) => Some(account.id),
                // An account's admin learns nothing of other customers: a missing account is
                // refused as another customer's is.
                Err(AdminError::NotFound(_)) if who.account.is_some() => {
                    return Err(AdminError::Forbidden("the user belongs to another B2B account".into()));
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        // Another customer's account is refused before anything else is looked at, so neither
        // the answer nor its time tells an account's admin whether that account exists.
        if let Some(own) = who.account
            && account != Some(own)
        {
            return Err(AdminError::Forbidden("the user belongs to another B2B account".into()));
        }
        let role_name = RoleName::parse(&input.role).map_err(|e| AdminError::Invalid {
            field: "role",
            message: e.0,
        })?;
        let role = self
            .db
            .find_role(&role_name)
            .await?
            .ok_or_else(|| AdminError::Invalid {
                field: "role",
                message: format!("no role {:?}", input.role),
            })?;
        if let Err(denied) = who
            .check("users:create", account)
            .and_then(|()| who.check_grant(&role, account))
        {
            let details = serde_json::json!({ "username": input.username, "role": input.role, "reason": denied.0 });
            self.record_change(
                who,
                Action::UserCreate,
                ("user", "-"),
                account,
                Outcome::Denied,
                details,
            )
            .await;
            return Err(AdminError::Forbidden(denied.0));
        }
        let user = create_user(self.db, self.clock, bcrypt_cost, self.source, input).await?;
        self.record(
            who,
            Action::UserCreate,
            &user,
            Outcome::Success,
            serde_json::json!({ "role": user.role }),
        )
        .await;
        Ok(user)
    }

    /// Signs the user out everywhere: every token and session issued before now dies.
    pub async fn sign_out_everywhere(&self, who: &Principal, id: &str) -> Result<User, AdminError> {
        let user = self.find(id).await?;
        if let Err(denied) = who.check_user("users:update", &user) {
            return Err(self.refuse(who, Action::UserSessionsRevoke, &user, denied).await);
        }
        let at = self.clock.now();
        let user = self
            .apply(user, Ends::Everything, |u| {
                vec![UserEvent::sessions_revoked(self.source, u, at)]
            })
            .await?;
        self.record(
            who,
            Action::UserSessionsRevoke,
            &user,
            Outcome::Success,
            serde_json::json!({}),
        )
        .await;
        Ok(user)
    }

    /// Grants (`grant`) or revokes one extra permission; an account's admins may grant only what
    /// they hold.
    pub async fn set_permission(
        &self,
        who: &Principal,
        id: &str,
        permission: &str,
        grant: bool,
    ) -> Result<User, AdminError> {
        let mut user = self.find(id).await?;
        let wanted = Permission::parse(permission).map_err(|e| AdminError::Invalid {
            field: "permission",
            message: e.0,
        })?;
        let action = if grant {
            Action::UserPermissionGrant
        } else {
            Action::UserPermissionRevoke
        };
        let mut allowed = who.check_user("users:update", &user);
        if grant && who.account.is_some() && !who.permissions.iter().any(|p| p.covers(&wanted)) {
            allowed = allowed.and(Err(Denied(format!("you cannot grant {wanted}, which you do not hold"))));
        }
        if let Err(denied) = allowed {
            return Err(self.refuse(who, action, &user, denied).await);
        }
        let before = user.permissions.clone();
        user.permissions.retain(|p| *p != wanted);
        if grant {
            user.permissions.push(wanted.clone());
            user.permissions.sort();
        }
        let at = self.clock.now();
        let user = self
            .apply(user, Ends::Tokens, |u| {
                vec![UserEvent::permissions_changed(self.source, u, &before, at)]
            })
            .await?;
        self.record(
            who,
            action,
            &user,
            Outcome::Success,
            serde_json::json!({ "permission": wanted.to_string() }),
        )
        .await;
        Ok(user)
    }
}

impl UserAdmin<'_> {
    /// Updates profile fields of a user in reach (`users:update`).
    pub async fn update_profile(&self, who: &Principal, id: &str, change: ProfileChange) -> Result<User, AdminError> {
        let mut user = self.find(id).await?;
        // check_user: an administrator never manages itself here (its own profile is
        // /account/v1's, with fresh proof).
        if let Err(denied) = who.check_user("users:update", &user) {
            return Err(self.refuse(who, Action::UserUpdate, &user, denied).await);
        }
        let changed = change.apply(&mut user)?;
        let read_at = std::mem::replace(&mut user.updated_at, self.clock.now());
        let event = UserEvent::updated(self.source, &user, &changed, user.updated_at);
        self.db
            .update_user(&user, read_at, &[event])
            .await
            .map_err(|e| match e {
                StoreError::Conflict { constraint } if constraint == "users_changed" => {
                    StoreError::Conflict { constraint }.into()
                }
                StoreError::Conflict { .. } => AdminError::Conflict("email is already used by another user".into()),
                other => other.into(),
            })?;
        self.record(
            who,
            Action::UserUpdate,
            &user,
            Outcome::Success,
            serde_json::json!({ "changed": changed }),
        )
        .await;
        Ok(user)
    }

    /// Deletes a user: personal data is erased, the row stays (`deleted`) so audit records
    /// still resolve, and every token and session ends.
    pub async fn delete(&self, who: &Principal, id: &str) -> Result<User, AdminError> {
        let mut user = self.find(id).await?;
        if let Err(denied) = who.check_user("users:delete", &user) {
            return Err(self.refuse(who, Action::UserDelete, &user, denied).await);
        }
        user.username =
            Username::parse(&format!("deleted-{}", user.id.as_uuid().simple())).map_err(|e| AdminError::Invalid {
                field: "username",
                message: e.0,
            })?;
        user.password_hash = None;
        user.email = None;
        user.phone = None;
        user.name = None;
        user.email_verified = false;
        user.phone_verified = false;
        user.permissions.clear();
        user.status = UserStatus::Deleted;
        // The event carries the erased row: consumers learn the id, not the erased data.
        let at = self.clock.now();
        let user = self
            .apply(user, Ends::Everything, |u| vec![UserEvent::deleted(self.source, u, at)])
            .await?;
        self.record(who, Action::UserDelete, &user, Outcome::Success, serde_json::json!({}))
            .await;
        Ok(user)
    }
}

/// The most users one page lists.
pub const MAX_PAGE: i64 = 200;

impl UserAdmin<'_> {
    /// One page of users the principal may see; account admins see only their own account.
    /// Returns the page and the cursor of the next one.
    pub async fn list(
        &self,
        who: &Principal,
        mut filter: UserFilter,
        limit: Option<i64>,
    ) -> Result<(Vec<User>, Option<String>), AdminError> {
        if let Some(own) = who.account {
            if filter.account.is_some_and(|a| a != own) {
                return Err(AdminError::Forbidden("the account belongs to another customer".into()));
            }
            filter.account = Some(own);
        }
        who.check("users:read", filter.account.or(who.account))
            .map_err(|d| AdminError::Forbidden(d.0))?;
        let limit = limit.unwrap_or(50).clamp(1, MAX_PAGE);
        let users = self.db.list_users(&filter, limit).await?;
        let next = (users.len() as i64 == limit)
            .then(|| users.last().map(|u| u.id.to_string()))
            .flatten();
        Ok((users, next))
    }
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound(format!("no user {:?}", id.chars().take(64).collect::<String>()))
}
