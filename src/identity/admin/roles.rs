//! Role administration (`/admin/v1/roles`): staff define custom roles (a scope and a permission
//! set); built-in roles cannot be changed or deleted. An account's admins may read the account
//! roles they could hand out. A role's new permissions reach its holders' tokens as those are
//! refreshed (at most the access-token lifetime).

use super::AdminError;
use super::principal::Principal;
use super::services::RoleAdmin;
use crate::audit::{Action, Outcome};
use crate::model::permission;
use crate::model::role::{Role, RoleName, RoleScope};
use crate::store::StoreError;

/// A role as an API body carries it.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct RoleInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub scope: Option<String>,
    pub permissions: Option<Vec<String>>,
}

fn invalid(field: &'static str) -> impl Fn(crate::model::InvalidValue) -> AdminError {
    move |e| AdminError::Invalid { field, message: e.0 }
}

impl RoleAdmin<'_> {
    /// Staff with `roles:read` see every role; an account's admins the account roles.
    pub async fn list(&self, who: &Principal) -> Result<Vec<Role>, AdminError> {
        let all = self.db.list_roles().await?;
        if who.account.is_some() {
            return Ok(all.into_iter().filter(|r| r.scope == RoleScope::Account).collect());
        }
        who.check("roles:read", None).map_err(|d| AdminError::Forbidden(d.0))?;
        Ok(all)
    }

    pub async fn role(&self, who: &Principal, name: &str) -> Result<Role, AdminError> {
        let missing = || AdminError::NotFound(format!("no role {name:?}"));
        let parsed = RoleName::parse(name).map_err(|_| missing())?;
        let role = self.db.find_role(&parsed).await?.ok_or_else(missing)?;
        let visible = match who.account {
            Some(_) => role.scope == RoleScope::Account,
            None => who.check("roles:read", None).is_ok(),
        };
        if visible { Ok(role) } else { Err(missing()) }
    }

    pub async fn create_role(&self, who: &Principal, input: RoleInput) -> Result<Role, AdminError> {
        let name = RoleName::parse(input.name.as_deref().unwrap_or_default()).map_err(invalid("name"))?;
        if let Err(denied) = who.check("roles:create", None) {
            return Err(self
                .refuse_change(who, Action::RoleCreate, ("role", name.as_str()), None, denied)
                .await);
        }
        let scope = RoleScope::parse(input.scope.as_deref().unwrap_or_default()).map_err(invalid("scope"))?;
        let permissions = permission::parse_all(input.permissions.iter().flatten().map(String::as_str))
            .map_err(invalid("permissions"))?;
        let now = self.clock.now();
        let role = Role {
            name,
            description: input.description.unwrap_or_default(),
            scope,
            permissions,
            builtin: false,
            created_at: now,
            updated_at: now,
        };
        self.db.insert_role(&role).await.map_err(|e| match e {
            StoreError::Conflict { .. } => AdminError::Conflict(format!("role {} already exists", role.name)),
            other => other.into(),
        })?;
        self.record_change(
            who,
            Action::RoleCreate,
            ("role", role.name.as_str()),
            None,
            Outcome::Success,
            serde_json::json!({ "permissions": role.permissions }),
        )
        .await;
        Ok(role)
    }

    pub async fn update_role(&self, who: &Principal, name: &str, input: RoleInput) -> Result<Role, AdminError> {
        let mut role = self.role(who, name).await?;
        if let Err(denied) = who.check("roles:update", None) {
            return Err(self
                .refuse_change(who, Action::RoleUpdate, ("role", name), None, denied)
                .await);
        }
        if role.builtin {
            return Err(AdminError::Conflict(format!(
                "{} is a built-in role and cannot change",
                role.name
            )));
        }
        if let Some(description) = input.description {
            role.description = description;
        }
        if let Some(permissions) = input.permissions {
            role.permissions =
                permission::parse_all(permissions.iter().map(String::as_str)).map_err(invalid("permissions"))?;
        }
        role.updated_at = self.clock.now();
        // Every holder's access tokens end; their families rebuild from the new definition.
        let generation = crate::oauth::revocation::Generation::Role(role.name.as_str());
        self.ending(Some(generation), self.db.update_role(&role)).await?;
        self.record_change(
            who,
            Action::RoleUpdate,
            ("role", name),
            None,
            Outcome::Success,
            serde_json::json!({ "permissions": role.permissions }),
        )
        .await;
        Ok(role)
    }

    pub async fn delete_role(&self, who: &Principal, name: &str) -> Result<(), AdminError> {
        let role = self.role(who, name).await?;
        if let Err(denied) = who.check("roles:delete", None) {
            return Err(self
                .refuse_change(who, Action::RoleDelete, ("role", name), None, denied)
                .await);
        }
        if role.builtin {
            return Err(AdminError::Conflict(format!(
                "{} is a built-in role and cannot be deleted",
                role.name
            )));
        }
        self.db.delete_role(&role.name).await.map_err(|e| match e {
            StoreError::Conflict { .. } => {
                AdminError::Conflict(format!("{} is still held by users or applications", role.name))
            }
            other => other.into(),
        })?;
        self.record_change(
            who,
            Action::RoleDelete,
            ("role", name),
            None,
            Outcome::Success,
            serde_json::json!({}),
        )
        .await;
        Ok(())
    }
}
