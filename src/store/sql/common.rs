//! What every repository of one engine shares: binding whole rows, inserting users and appending outbox events inside a transaction, and the `Database` health and lifecycle.

#[allow(unused_imports)]
use super::*;

/// The common queries for one engine (see [`super::sql_repositories`]).
macro_rules! sql_common {
    ($store:ty, $db:ty, $engine:literal, $begin:literal, $lock:literal) => {
        impl $store {
            /// Binds every users column of `u`, in [`USER_COLUMNS`] order, as `$1` … `$16`.
            fn bind_user<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                u: &'q User,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                query
                    .bind(u.id.as_uuid())
                    .bind(u.username.as_str())
                    .bind(u.password_hash.as_deref())
                    .bind(u.email.as_ref().map(|e| e.as_str()))
                    .bind(u.phone.as_ref().map(|p| p.as_str()))
                    .bind(u.role.as_str())
                    .bind(to_strings(&u.permissions))
                    .bind(u.status.as_str())
                    .bind(u.client_id.map(|c| c.as_uuid()))
                    .bind(u.name.as_deref())
                    .bind(u.email_verified)
                    .bind(u.phone_verified)
                    .bind(u.not_before)
                    .bind(u.created_at)
                    .bind(u.updated_at)
                    .bind(sqlx::types::Json(&u.profile))
            }

            /// Binds every applications column of `a`, in `APPLICATION_COLUMNS` order.
            fn bind_application<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                a: &'q Application,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                query
                    .bind(a.client_id.as_str())
                    .bind(&a.name)
                    .bind(a.secret_hash.as_ref().map(|h| h.0.to_vec()))
                    .bind(to_strings(&a.redirect_uris))
                    .bind(to_strings(&a.post_logout_redirect_uris))
                    .bind(to_strings(&a.grant_types))
                    .bind(sqlx::types::Json(a.scopes.iter().collect::<Vec<_>>()))
                    .bind(a.first_party)
                    .bind(a.may_introspect)
                    .bind(a.service_role.as_ref().map(|r| r.as_str()))
                    .bind(a.account_id.map(|c| c.as_uuid()))
                    .bind(a.id_token_alg.as_str())
                    .bind(ttl_secs(a.access_token_ttl))
                    .bind(ttl_secs(a.refresh_token_ttl))
                    .bind(a.enabled)
                    .bind(a.created_at)
                    .bind(a.updated_at)
                    .bind(sqlx::types::Json(&a.resources))
                    .bind(a.token_permissions)
                    .bind(sqlx::types::Json(&a.settings))
            }

            /// Inserts the user row inside the caller's transaction.
            async fn insert_user_in(tx: &mut sqlx::Transaction<'_, $db>, u: &User) -> Result<(), StoreError> {
                Self::bind_user(sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                ))), u)
                .execute(&mut **tx)
                .await
                .map_err(Self::error)?;
                Ok(())
            }

            /// Appends `events` to the outbox inside the caller's transaction.
            async fn append_events(
                tx: &mut sqlx::Transaction<'_, $db>,
                events: &[$crate::model::event::OutboxEvent],
            ) -> Result<(), StoreError> {
                for event in events {
                    sqlx::query($crate::store::sql::OUTBOX_INSERT)
                        .bind(event.topic)
                        .bind(&event.key)
                        .bind(sqlx::types::Json(&event.payload))
                        .bind(time::OffsetDateTime::now_utc())
                        .execute(&mut **tx)
                        .await
                        .map_err(Self::error)?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Database for $store {
            fn engine(&self) -> &'static str {
                $engine
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map(drop).map_err(Self::error)
            }

            async fn close(&self) {
                self.pool.close().await;
            }

            async fn relay_lease(&self) -> Result<Option<Box<dyn $crate::store::Lease>>, StoreError> {
                self.lease().await
            }
        }
    };
}
pub(in crate::store) use sql_common;
