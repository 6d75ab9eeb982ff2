//! OAuth applications: rows and the `ApplicationStore` queries.

#[allow(unused_imports)]
use super::*;

#[derive(sqlx::FromRow)]
pub(in crate::store) struct ApplicationRow {
    client_id: String,
    name: String,
    secret_hash: Option<Vec<u8>>,
    redirect_uris: Json<Vec<String>>,
    post_logout_redirect_uris: Json<Vec<String>>,
    grant_types: Json<Vec<String>>,
    scopes: Json<Vec<String>>,
    first_party: bool,
    may_introspect: bool,
    service_role: Option<String>,
    account_id: Option<Uuid>,
    id_token_alg: String,
    access_token_ttl_secs: Option<i32>,
    refresh_token_ttl_secs: Option<i32>,
    enabled: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    resources: Json<Vec<String>>,
    token_permissions: bool,
    settings: Json<crate::model::application::ClientSettings>,
}

pub(in crate::store) const APPLICATION_COLUMNS: &str = "client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
     grant_types, scopes, first_party, may_introspect, service_role, account_id, id_token_alg, \
     access_token_ttl_secs, refresh_token_ttl_secs, enabled, created_at, updated_at, resources, \
     token_permissions, settings";

fn uris(list: &[String], what: &str) -> Result<Vec<RedirectUri>, StoreError> {
    list.iter()
        .map(|u| RedirectUri::parse(u))
        .collect::<Result<_, _>>()
        .map_err(corrupt(what))
}

impl TryFrom<ApplicationRow> for Application {
    type Error = StoreError;
    fn try_from(r: ApplicationRow) -> Result<Self, StoreError> {
        let secret_hash = match r.secret_hash {
            Some(bytes) => Some(
                SecretHash::from_bytes(&bytes)
                    .ok_or_else(|| StoreError::Corrupt("applications.secret_hash: not 32 bytes".into()))?,
            ),
            None => None,
        };
        Ok(Application {
            client_id: ClientId::parse(&r.client_id).map_err(corrupt("applications.client_id"))?,
            name: r.name,
            secret_hash,
            redirect_uris: uris(&r.redirect_uris.0, "applications.redirect_uris")?,
            post_logout_redirect_uris: uris(&r.post_logout_redirect_uris.0, "applications.post_logout_redirect_uris")?,
            grant_types: r
                .grant_types
                .0
                .iter()
                .map(|g| GrantType::parse(g))
                .collect::<Result<_, _>>()
                .map_err(corrupt("applications.grant_types"))?,
            scopes: Scope::from_tokens(r.scopes.0.iter().map(String::as_str))
                .map_err(corrupt("applications.scopes"))?,
            first_party: r.first_party,
            may_introspect: r.may_introspect,
            service_role: r
                .service_role
                .as_deref()
                .map(RoleName::parse)
                .transpose()
                .map_err(corrupt("applications.service_role"))?,
            account_id: r.account_id.map(AccountId::from_uuid),
            id_token_alg: SigningAlg::parse(&r.id_token_alg).map_err(corrupt("applications.id_token_alg"))?,
            access_token_ttl: r.access_token_ttl_secs.map(|s| Duration::seconds(i64::from(s))),
            refresh_token_ttl: r.refresh_token_ttl_secs.map(|s| Duration::seconds(i64::from(s))),
            enabled: r.enabled,
            resources: r.resources.0,
            token_permissions: r.token_permissions,
            settings: r.settings.0,
            generation: 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The applications queries for one engine (see [`super::sql_repositories`]).
macro_rules! sql_applications {
    ($store:ty, $db:ty, $engine:literal, $begin:literal, $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::ApplicationStore for $store {
            async fn insert_application(&self, a: &Application) -> Result<(), StoreError> {
                Self::bind_application(
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO applications ({}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
                        $crate::store::sql::APPLICATION_COLUMNS
                    ))),
                    a,
                )
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(())
            }

            async fn list_applications(&self, after: Option<&ClientId>, limit: i64) -> Result<Vec<Application>, StoreError> {
                sqlx::query_as::<_, ApplicationRow>(
                    "SELECT * FROM applications WHERE ($1 IS NULL OR client_id > $1) ORDER BY client_id LIMIT $2",
                )
                .bind(after.map(|c| c.as_str()))
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?
                .into_iter()
                .map(Application::try_from)
                .collect()
            }

            async fn update_application(&self, a: &Application, read_at: time::OffsetDateTime) -> Result<(), StoreError> {
                // Row-value SET with the same 20 parameters as the insert (created_at is rewritten
                // with its own value), so both bind through `bind_application`.
                let done = Self::bind_application(
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE applications SET ({}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) \
                         WHERE client_id = $1 AND updated_at = $21",
                        $crate::store::sql::APPLICATION_COLUMNS.trim_start_matches("client_id, ")
                    ))),
                    a,
                )
                .bind(read_at)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                changed_since(done.rows_affected(), "applications_changed")
            }

            async fn delete_application(&self, client_id: &ClientId) -> Result<(), StoreError> {
                let done = sqlx::query("DELETE FROM applications WHERE client_id = $1")
                    .bind(client_id.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(Self::error)?;
                found(done.rows_affected())
            }

            async fn find_application(&self, client_id: &ClientId) -> Result<Option<Application>, StoreError> {
                sqlx::query_as::<_, ApplicationRow>("SELECT * FROM applications WHERE client_id = $1")
                    .bind(client_id.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(Self::error)?
                    .map(Application::try_from)
                    .transpose()
            }
        }
    };
}
pub(in crate::store) use sql_applications;
