//! B2B account administration (`/admin/v1/clients`): staff create and change accounts; an
//! account's admins may read their own. Making a user an account's admin is a role change with
//! all its rules (see [`super::users`]).

use super::principal::Principal;
use super::services::AccountAdmin;
use super::{AdminError, NewAccount, create_account, find_account};
use crate::audit::{Action, Outcome};
use crate::model::account::{Account, AccountId, AccountStatus, display_name};
use crate::model::role::RoleName;
use crate::model::user::User;

/// Changes to an account; absent fields stay.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct AccountChange {
    pub name: Option<String>,
    pub status: Option<String>,
    pub mfa_required: Option<bool>,
}

impl AccountAdmin<'_> {
    /// An account in reach — any with `clients:read`, and always one's own — others look absent.
    pub async fn account(&self, who: &Principal, id: &str) -> Result<Account, AdminError> {
        let account = find_account(self.db, id).await?;
        let own = who.account == Some(account.id);
        if !own && who.check("clients:read", Some(account.id)).is_err() {
            return Err(AdminError::NotFound(format!("no B2B account {id:?}")));
        }
        Ok(account)
    }

    /// One page of accounts: all for staff, their own for an account's admins.
    pub async fn list(
        &self,
        who: &Principal,
        after: Option<AccountId>,
        limit: Option<i64>,
    ) -> Result<Vec<Account>, AdminError> {
        if let Some(own) = who.account {
            return Ok(self
                .db
                .find_account(own)
                .await?
                .into_iter()
                .filter(|a| after.is_none_or(|c| a.id > c))
                .collect());
        }
        who.check("clients:read", None)
            .map_err(|d| AdminError::Forbidden(d.0))?;
        Ok(self.db.list_accounts(after, limit.unwrap_or(50).clamp(1, 200)).await?)
    }

    pub async fn create_account(&self, who: &Principal, input: NewAccount) -> Result<Account, AdminError> {
        who.check("clients:create", None)
            .map_err(|d| AdminError::Forbidden(d.0))?;
        let account = create_account(self.db, self.clock, input).await?;
        self.record_change(
            who,
            Action::ClientCreate,
            ("client", &account.id.to_string()),
            Some(account.id),
            Outcome::Success,
            serde_json::json!({ "slug": account.slug }),
        )
        .await;
        Ok(account)
    }

    pub async fn update_account(
        &self,
        who: &Principal,
        id: &str,
        change: AccountChange,
    ) -> Result<Account, AdminError> {
        let mut account = self.account(who, id).await?;
        if let Err(denied) = who.check("clients:update", None) {
            return Err(self
                .refuse_change(
                    who,
                    Action::ClientUpdate,
                    ("client", &account.id.to_string()),
                    Some(account.id),
                    denied,
                )
                .await);
        }
        if let Some(name) = change.name {
            account.name = display_name(&name).map_err(|e| AdminError::Invalid {
                field: "name",
                message: e.0,
            })?;
        }
        let (was, read_at) = (account.status, account.updated_at);
        if let Some(status) = change.status {
            account.status = AccountStatus::parse(&status).map_err(|e| AdminError::Invalid {
                field: "status",
                message: e.0,
            })?;
        }
        if let Some(required) = change.mfa_required {
            account.mfa_required = required;
        }
        account.updated_at = self.clock.now();
        self.save_account(&account, was, read_at).await?;
        self.record_change(
            who,
            Action::ClientUpdate,
            ("client", &account.id.to_string()),
            Some(account.id),
            Outcome::Success,
            serde_json::json!({ "status": account.status, "mfa_required": account.mfa_required }),
        )
        .await;
        Ok(account)
    }

    /// Deleting an account marks it `deleted`: its users can no longer be created, and the rows
    /// stay for the audit trail.
    pub async fn delete_account(&self, who: &Principal, id: &str) -> Result<Account, AdminError> {
        let mut account = self.account(who, id).await?;
        if let Err(denied) = who.check("clients:delete", None) {
            return Err(self
                .refuse_change(
                    who,
                    Action::ClientDelete,
                    ("client", &account.id.to_string()),
                    Some(account.id),
                    denied,
                )
                .await);
        }
        let (was, read_at) = (account.status, account.updated_at);
        account.status = AccountStatus::Deleted;
        account.updated_at = self.clock.now();
        self.save_account(&account, was, read_at).await?;
        self.record_change(
            who,
            Action::ClientDelete,
            ("client", &account.id.to_string()),
            Some(account.id),
            Outcome::Success,
            serde_json::json!({}),
        )
        .await;
        Ok(account)
    }

    /// Saves `account`; leaving `active` ends everything of its users and services (DESIGN.md,
    /// Revocation), before the write and again after it (see `revocation::end_user`).
    async fn save_account(
        &self,
        account: &Account,
        was: AccountStatus,
        read_at: time::OffsetDateTime,
    ) -> Result<(), AdminError> {
        let ends = was != account.status && account.status != AccountStatus::Active;
        let id = account.id.to_string();
        let generation = crate::oauth::revocation::Generation::Account(&id);
        self.ending(ends.then_some(generation), self.db.update_account(account, read_at))
            .await
    }

    /// Makes `user` an admin of the account (`client_admin`), or back a plain user.
    pub async fn set_account_admin(
        &self,
        who: &Principal,
        id: &str,
        user_id: &str,
        admin: bool,
    ) -> Result<User, AdminError> {
        let account = self.account(who, id).await?;
        let user = self.users().get(who, user_id).await?;
        if user.client_id != Some(account.id) {
            return Err(AdminError::Invalid {
                field: "user_id",
                message: "the user does not belong to this account".into(),
            });
        }
        let role = if admin {
            RoleName::CLIENT_ADMIN
        } else {
            RoleName::CLIENT_USER
        };
        self.users().change_role(who, user_id, role).await
    }
}
