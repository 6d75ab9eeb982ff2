//! Consent given to applications that are not first-party: the `ConsentStore` queries.

#[allow(unused_imports)]
use super::*;

/// The consent queries for one engine (see [`super::sql_repositories`]).
macro_rules! sql_consent {
    ($store:ty, $db:ty, $engine:literal, $begin:literal, $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::ConsentStore for $store {
            async fn find_consent(
                &self,
                user: UserId,
                client: &ClientId,
            ) -> Result<Option<$crate::model::scope::Scope>, StoreError> {
                let row: Option<sqlx::types::Json<Vec<String>>> =
                    sqlx::query_scalar("SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2")
                        .bind(user.as_uuid())
                        .bind(client.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(Self::error)?;
                row.map(|r| {
                    $crate::model::scope::Scope::from_tokens(r.0.iter().map(String::as_str))
                        .map_err(|e| StoreError::Corrupt(format!("consents.scopes: {e}")))
                })
                .transpose()
            }

            async fn save_consent(
                &self,
                user: UserId,
                client: &ClientId,
                scope: &$crate::model::scope::Scope,
                at: time::OffsetDateTime,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
                )
                .bind(user.as_uuid())
                .bind(client.as_str())
                .bind(sqlx::types::Json(scope.iter().collect::<Vec<_>>()))
                .bind(at)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(())
            }
        }
    };
}
pub(in crate::store) use sql_consent;
