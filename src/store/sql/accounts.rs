//! B2B accounts (`clients`): rows and the `AccountStore` queries.

#[allow(unused_imports)]
use super::*;

#[derive(sqlx::FromRow)]
pub(in crate::store) struct AccountRow {
    id: Uuid,
    name: String,
    slug: String,
    status: String,
    mfa_required: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Self, StoreError> {
        Ok(Account {
            id: AccountId::from_uuid(r.id),
            name: r.name,
            slug: Slug::parse(&r.slug).map_err(corrupt("clients.slug"))?,
            status: AccountStatus::parse(&r.status).map_err(corrupt("clients.status"))?,
            mfa_required: r.mfa_required,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The accounts queries for one engine (see [`super::sql_repositories`]).
macro_rules! sql_accounts {
    ($store:ty, $db:ty, $engine:literal, $begin:literal, $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::AccountStore for $store {
            async fn insert_account(&self, a: &Account) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO clients (id, name, slug, status, created_at, updated_at, mfa_required) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(a.id.as_uuid())
                .bind(&a.name)
                .bind(a.slug.as_str())
                .bind(a.status.as_str())
                .bind(a.created_at)
                .bind(a.updated_at)
                .bind(a.mfa_required)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(())
            }

            async fn find_account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
                sqlx::query_as::<_, AccountRow>("SELECT * FROM clients WHERE id = $1")
                    .bind(id.as_uuid())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(Self::error)?
                    .map(Account::try_from)
                    .transpose()
            }

            async fn list_accounts(&self, after: Option<AccountId>, limit: i64) -> Result<Vec<Account>, StoreError> {
                sqlx::query_as::<_, AccountRow>("SELECT * FROM clients WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2")
                    .bind(after.map(|a| a.as_uuid()))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(Self::error)?
                    .into_iter()
                    .map(Account::try_from)
                    .collect()
            }

            async fn update_account(&self, a: &Account, read_at: time::OffsetDateTime) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "UPDATE clients SET name = $2, slug = $3, status = $4, updated_at = $5, mfa_required = $6 \
                     WHERE id = $1 AND updated_at = $7",
                )
                .bind(a.id.as_uuid())
                .bind(&a.name)
                .bind(a.slug.as_str())
                .bind(a.status.as_str())
                .bind(a.updated_at)
                .bind(a.mfa_required)
                .bind(read_at)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                changed_since(done.rows_affected(), "clients_changed")
            }

            async fn find_account_by_slug(&self, slug: &Slug) -> Result<Option<Account>, StoreError> {
                sqlx::query_as::<_, AccountRow>("SELECT * FROM clients WHERE slug = $1")
                    .bind(slug.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(Self::error)?
                    .map(Account::try_from)
                    .transpose()
            }
        }
    };
}
pub(in crate::store) use sql_accounts;
