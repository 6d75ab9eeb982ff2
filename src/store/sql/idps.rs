//! Upstream identity providers and federated links: rows and the `IdpStore` queries.

#[allow(unused_imports)]
use super::*;

#[derive(sqlx::FromRow)]
pub(in crate::store) struct LinkRow {
    issuer: String,
    subject: String,
    user_id: Uuid,
    idp_id: Uuid,
    created_at: OffsetDateTime,
    last_login_at: Option<OffsetDateTime>,
}

impl From<LinkRow> for crate::model::idp::FederatedLink {
    fn from(r: LinkRow) -> Self {
        Self {
            issuer: r.issuer,
            subject: r.subject,
            user_id: UserId::from_uuid(r.user_id),
            idp_id: r.idp_id,
            created_at: r.created_at,
            last_login_at: r.last_login_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(in crate::store) struct IdpRow {
    id: Uuid,
    client_id: Uuid,
    issuer: String,
    oauth_client_id: String,
    client_secret_enc: Option<Vec<u8>>,
    scopes: Json<Vec<String>>,
    claims: Json<crate::model::idp::ClaimMap>,
    domains: Json<Vec<String>>,
    jit: bool,
    default_role: Option<String>,
    role_rules: Json<Vec<crate::model::idp::RoleRule>>,
    required_claims: Json<Vec<crate::model::idp::ClaimValue>>,
    sso_required: bool,
    accept_upstream_mfa: bool,
    enabled: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

pub(in crate::store) const IDP_COLUMNS: &str = "id, client_id, issuer, oauth_client_id, client_secret_enc, scopes, claims, domains, \
     jit, default_role, role_rules, required_claims, sso_required, accept_upstream_mfa, enabled, created_at, updated_at";

impl TryFrom<IdpRow> for crate::model::idp::IdentityProvider {
    type Error = StoreError;
    fn try_from(r: IdpRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            account_id: AccountId::from_uuid(r.client_id),
            issuer: url::Url::parse(&r.issuer)
                .map_err(|e| StoreError::Corrupt(format!("identity_providers.issuer: {e}")))?,
            client_id: r.oauth_client_id,
            client_secret_enc: r.client_secret_enc,
            scopes: r.scopes.0,
            claims: r.claims.0,
            domains: r.domains.0,
            jit: r.jit,
            default_role: r
                .default_role
                .as_deref()
                .map(RoleName::parse)
                .transpose()
                .map_err(corrupt("identity_providers.default_role"))?,
            role_rules: r.role_rules.0,
            required_claims: r.required_claims.0,
            sso_required: r.sso_required,
            accept_upstream_mfa: r.accept_upstream_mfa,
            enabled: r.enabled,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The idps queries for one engine (see [`super::sql_repositories`]).
macro_rules! sql_idps {
    ($store:ty, $db:ty, $engine:literal, $begin:literal, $lock:literal) => {
        impl $store {
            /// Binds every identity_providers column of `i`, in [`IDP_COLUMNS`] order.
            fn bind_idp<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                i: &'q $crate::model::idp::IdentityProvider,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                query
                    .bind(i.id)
                    .bind(i.account_id.as_uuid())
                    .bind(i.issuer.as_str())
                    .bind(i.client_id.as_str())
                    .bind(i.client_secret_enc.as_deref())
                    .bind(sqlx::types::Json(&i.scopes))
                    .bind(sqlx::types::Json(&i.claims))
                    .bind(sqlx::types::Json(&i.domains))
                    .bind(i.jit)
                    .bind(i.default_role.as_ref().map(|r| r.as_str()))
                    .bind(sqlx::types::Json(&i.role_rules))
                    .bind(sqlx::types::Json(&i.required_claims))
                    .bind(i.sso_required)
                    .bind(i.accept_upstream_mfa)
                    .bind(i.enabled)
                    .bind(i.created_at)
                    .bind(i.updated_at)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::IdpStore for $store {
            async fn insert_idp(&self, i: &$crate::model::idp::IdentityProvider) -> Result<(), StoreError> {
                Self::bind_idp(
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO identity_providers ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                        $crate::store::sql::IDP_COLUMNS
                    ))),
                    i,
                )
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(())
            }

            async fn find_idp(&self, id: uuid::Uuid) -> Result<Option<$crate::model::idp::IdentityProvider>, StoreError> {
                sqlx::query_as::<_, $crate::store::sql::IdpRow>(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM identity_providers WHERE id = $1",
                    $crate::store::sql::IDP_COLUMNS
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(Self::error)?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn list_idps(
                &self,
                account: Option<AccountId>,
            ) -> Result<Vec<$crate::model::idp::IdentityProvider>, StoreError> {
                sqlx::query_as::<_, $crate::store::sql::IdpRow>(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM identity_providers WHERE ($1 IS NULL OR client_id = $1) ORDER BY created_at, id",
                    $crate::store::sql::IDP_COLUMNS
                )))
                .bind(account.map(|a| a.as_uuid()))
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn update_idp(&self, i: &$crate::model::idp::IdentityProvider) -> Result<(), StoreError> {
                let done = Self::bind_idp(
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE identity_providers SET ({}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) WHERE id = $1",
                        $crate::store::sql::IDP_COLUMNS.trim_start_matches("id, ")
                    ))),
                    i,
                )
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                found(done.rows_affected())
            }

            async fn delete_idp(&self, id: uuid::Uuid) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                sqlx::query("DELETE FROM federated_identities WHERE idp_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                let done = sqlx::query("DELETE FROM identity_providers WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                tx.commit().await.map_err(Self::error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn find_link(
                &self,
                idp: uuid::Uuid,
                issuer: &str,
                subject: &str,
            ) -> Result<Option<$crate::model::idp::FederatedLink>, StoreError> {
                Ok(sqlx::query_as::<_, $crate::store::sql::LinkRow>(
                    "SELECT issuer, subject, user_id, idp_id, created_at, last_login_at \
                     FROM federated_identities WHERE idp_id = $1 AND issuer = $2 AND subject = $3",
                )
                .bind(idp)
                .bind(issuer)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await
                .map_err(Self::error)?
                .map(Into::into))
            }

            async fn links_of(&self, user: UserId) -> Result<Vec<$crate::model::idp::FederatedLink>, StoreError> {
                Ok(sqlx::query_as::<_, $crate::store::sql::LinkRow>(
                    "SELECT issuer, subject, user_id, idp_id, created_at, last_login_at \
                     FROM federated_identities WHERE user_id = $1 ORDER BY created_at, subject",
                )
                .bind(user.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?
                .into_iter()
                .map(Into::into)
                .collect())
            }

            async fn insert_federated_user(
                &self,
                u: &User,
                link: &$crate::model::idp::FederatedLink,
                events: &[$crate::model::event::OutboxEvent],
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                Self::insert_user_in(&mut tx, u).await?;
                Self::insert_link_in(&mut tx, link).await?;
                Self::append_events(&mut tx, events).await?;
                tx.commit().await.map_err(Self::error)?;
                Ok(())
            }

            async fn insert_link(&self, link: &$crate::model::idp::FederatedLink) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                Self::insert_link_in(&mut tx, link).await?;
                tx.commit().await.map_err(Self::error)
            }

            async fn touch_link(
                &self,
                link: &$crate::model::idp::FederatedLink,
                at: time::OffsetDateTime,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE federated_identities SET last_login_at = $4 \
                     WHERE idp_id = $1 AND issuer = $2 AND subject = $3",
                )
                .bind(link.idp_id)
                .bind(link.issuer.as_str())
                .bind(link.subject.as_str())
                .bind(at)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(())
            }
        }

        impl $store {
            /// Inserts a link between an upstream identity and a user inside the caller's
            /// transaction.
            async fn insert_link_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                link: &$crate::model::idp::FederatedLink,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO federated_identities (issuer, subject, user_id, idp_id, created_at, last_login_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(link.issuer.as_str())
                .bind(link.subject.as_str())
                .bind(link.user_id.as_uuid())
                .bind(link.idp_id)
                .bind(link.created_at)
                .bind(link.last_login_at)
                .execute(&mut **tx)
                .await
                .map_err(Self::error)?;
                Ok(())
            }
        }
    };
}
pub(in crate::store) use sql_idps;
