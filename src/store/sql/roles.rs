//! Roles and their permissions: rows and the `RoleStore` queries.

#[allow(unused_imports)]
use super::*;

#[derive(sqlx::FromRow)]
pub(in crate::store) struct RoleRow {
    name: String,
    description: String,
    scope: String,
    permissions: Json<Vec<String>>,
    builtin: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<RoleRow> for Role {
    type Error = StoreError;
    fn try_from(r: RoleRow) -> Result<Self, StoreError> {
        Ok(Role {
            name: RoleName::parse(&r.name).map_err(corrupt("roles.name"))?,
            description: r.description,
            scope: RoleScope::parse(&r.scope).map_err(corrupt("roles.scope"))?,
            permissions: parse_permissions(&r.permissions.0, "roles.permissions")?,
            builtin: r.builtin,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The roles queries for one engine (see [`super::sql_repositories`]).
macro_rules! sql_roles {
    ($store:ty, $db:ty, $engine:literal, $begin:literal, $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::RoleStore for $store {
            async fn find_role(&self, name: &RoleName) -> Result<Option<Role>, StoreError> {
                sqlx::query_as::<_, RoleRow>("SELECT * FROM roles WHERE name = $1")
                    .bind(name.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(Self::error)?
                    .map(Role::try_from)
                    .transpose()
            }

            async fn insert_role(&self, r: &Role) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO roles (name, description, scope, permissions, builtin, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(r.name.as_str())
                .bind(&r.description)
                .bind(r.scope.as_str())
                .bind(to_strings(&r.permissions))
                .bind(r.builtin)
                .bind(r.created_at)
                .bind(r.updated_at)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(())
            }

            async fn update_role(&self, r: &Role) -> Result<(), StoreError> {
                let done =
                    sqlx::query("UPDATE roles SET description = $2, permissions = $3, updated_at = $4 WHERE name = $1")
                        .bind(r.name.as_str())
                        .bind(&r.description)
                        .bind(to_strings(&r.permissions))
                        .bind(r.updated_at)
                        .execute(&self.pool)
                        .await
                        .map_err(Self::error)?;
                found(done.rows_affected())
            }

            async fn delete_role(&self, name: &RoleName) -> Result<(), StoreError> {
                let done = sqlx::query("DELETE FROM roles WHERE name = $1 AND builtin = false")
                    .bind(name.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(Self::error)?;
                found(done.rows_affected())
            }

            async fn list_roles(&self) -> Result<Vec<Role>, StoreError> {
                sqlx::query_as::<_, RoleRow>("SELECT * FROM roles ORDER BY name")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(Self::error)?
                    .into_iter()
                    .map(Role::try_from)
                    .collect()
            }
        }
    };
}
pub(in crate::store) use sql_roles;
