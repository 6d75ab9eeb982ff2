//! Users: rows and the `UserStore` queries.

#[allow(unused_imports)]
use super::*;

#[derive(sqlx::FromRow)]
pub(in crate::store) struct UserRow {
    id: Uuid,
    username: String,
    password_hash: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    role: String,
    permissions: Json<Vec<String>>,
    status: String,
    client_id: Option<Uuid>,
    name: Option<String>,
    email_verified: bool,
    phone_verified: bool,
    not_before: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    profile: Json<crate::model::profile::Profile>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId::from_uuid(r.id),
            username: Username::parse(&r.username).map_err(corrupt("users.username"))?,
            password_hash: r.password_hash,
            email: r
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(corrupt("users.email"))?,
            phone: r
                .phone
                .as_deref()
                .map(Phone::parse)
                .transpose()
                .map_err(corrupt("users.phone"))?,
            role: RoleName::parse(&r.role).map_err(corrupt("users.role"))?,
            permissions: parse_permissions(&r.permissions.0, "users.permissions")?,
            status: UserStatus::parse(&r.status).map_err(corrupt("users.status"))?,
            client_id: r.client_id.map(AccountId::from_uuid),
            name: r.name,
            email_verified: r.email_verified,
            phone_verified: r.phone_verified,
            not_before: r.not_before,
            created_at: r.created_at,
            updated_at: r.updated_at,
            profile: r.profile.0,
        })
    }
}

/// The users columns in a fixed order; spliced into SQL text (a constant, never input).
pub(in crate::store) const USER_COLUMNS: &str = "id, username, password_hash, email, phone, role, permissions, status, \
    client_id, name, email_verified, phone_verified, not_before, created_at, updated_at, profile";

/// The users queries for one engine (see [`super::sql_repositories`]).
macro_rules! sql_users {
    ($store:ty, $db:ty, $engine:literal, $begin:literal, $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::UserStore for $store {
            async fn insert_user(&self, u: &User, events: &[$crate::model::event::OutboxEvent]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                Self::insert_user_in(&mut tx, u).await?;
                Self::append_events(&mut tx, events).await?;
                tx.commit().await.map_err(Self::error)?;
                Ok(())
            }

            async fn update_user(
                &self,
                u: &User,
                read_at: time::OffsetDateTime,
                events: &[$crate::model::event::OutboxEvent],
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                // Row-value SET with the same 16 parameters as the insert (created_at is rewritten
                // with its own value), so both bind through `bind_user`; $17 is the version read.
                let done = Self::bind_user(sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE users SET ({}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                     WHERE id = $1 AND updated_at = $17",
                    USER_COLUMNS.trim_start_matches("id, ")
                ))), u)
                .bind(read_at)
                .execute(&mut *tx)
                .await
                .map_err(Self::error)?;
                changed_since(done.rows_affected(), "users_changed")?;
                if u.status == $crate::model::user::UserStatus::Deleted {
                    // Erasure: the upstream identities linked to the user go too.
                    sqlx::query("DELETE FROM federated_identities WHERE user_id = $1")
                        .bind(u.id.as_uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::error)?;
                }
                Self::append_events(&mut tx, events).await?;
                tx.commit().await.map_err(Self::error)?;
                Ok(())
            }

            async fn list_users(&self, f: &$crate::store::UserFilter, limit: i64) -> Result<Vec<User>, StoreError> {
                use $crate::store::UserSearch;
                let search = f.query.as_deref().map(UserSearch::parse);
                // A start is a range in byte order (an index range with a bound parameter); the
                // other searches are LIKE patterns (trigram indexes on PostgreSQL).
                let (fragment, first, second) = match &search {
                    None => ("", None, None),
                    Some(UserSearch::StartsWith(start)) => (
                        if $engine == "postgres" {
                            " AND ((username COLLATE \"C\" >= $6 AND username COLLATE \"C\" < $7) \
                             OR (lower(email) COLLATE \"C\" >= $6 AND lower(email) COLLATE \"C\" < $7))"
                        } else {
                            " AND ((username >= $6 AND username < $7) OR (lower(email) >= $6 AND lower(email) < $7))"
                        },
                        Some(start.clone()),
                        Some(format!("{start}\u{10FFFF}")),
                    ),
                    Some(other) => (
                        " AND (username LIKE $6 ESCAPE '\\' OR lower(email) LIKE $6 ESCAPE '\\')",
                        Some(other.like_pattern()),
                        None,
                    ),
                };
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE status <> 'deleted' \
                     AND ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR role = $2) AND ($3 IS NULL OR status = $3) \
                     AND ($4 IS NULL OR id > $4){fragment} ORDER BY id LIMIT $5"
                );
                let mut query = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
                    .bind(f.account.map(|a| a.as_uuid()))
                    .bind(f.role.as_deref())
                    .bind(f.status.as_deref())
                    .bind(f.after.map(|a| a.as_uuid()))
                    .bind(limit);
                for value in [first, second].into_iter().flatten() {
                    query = query.bind(value);
                }
                query
                    .fetch_all(&self.pool)
                    .await
                    .map_err(Self::error)?
                    .into_iter()
                    .map(User::try_from)
                    .collect()
            }

            async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
                sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
                    .bind(id.as_uuid())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(Self::error)?
                    .map(User::try_from)
                    .transpose()
            }

            async fn find_user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
                // Usernames cannot contain '@' and emails must, so at most one row matches.
                sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users \
                     WHERE (username = lower($1) OR lower(email) = lower($1)) AND status <> 'deleted'"
                )))
                .bind(login.trim())
                .fetch_optional(&self.pool)
                .await
                .map_err(Self::error)?
                .map(User::try_from)
                .transpose()
            }
        }
    };
}
pub(in crate::store) use sql_users;
