//! What the PostgreSQL and SQLite repositories share: row types, their conversion into domain
//! types, and the queries themselves, written once in SQL both engines accept (`$n`
//! placeholders, uuids bound as `Uuid`, JSON as `Json`) and instantiated per engine by
//! [`sql_repositories!`]. The contract suite runs every query against both.

use sqlx::types::Json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::StoreError;
use crate::audit::{ActorType, AuditRecord, Outcome, StoredAudit};
use crate::identity::InvalidValue;
use crate::identity::account::{Account, AccountId, AccountStatus, Slug};
use crate::identity::application::{Application, ClientId, GrantType, SecretHash, SigningAlg};
use crate::identity::permission::{self, Permission};
use crate::identity::role::{Role, RoleName, RoleScope};
use crate::identity::user::{Email, Phone, User, UserId, UserStatus, Username};
use crate::oauth::redirect_uri::RedirectUri;
use crate::oauth::scope::Scope;

fn corrupt(what: &str) -> impl Fn(InvalidValue) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

pub(super) fn to_strings<T: ToString>(items: &[T]) -> Json<Vec<String>> {
    Json(items.iter().map(ToString::to_string).collect())
}

#[derive(sqlx::FromRow)]
pub(super) struct AccountRow {
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

#[derive(sqlx::FromRow)]
pub(super) struct LinkRow {
    issuer: String,
    subject: String,
    user_id: Uuid,
    idp_id: Uuid,
    created_at: OffsetDateTime,
    last_login_at: Option<OffsetDateTime>,
}

impl From<LinkRow> for crate::identity::idp::FederatedLink {
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
pub(super) struct IdpRow {
    id: Uuid,
    client_id: Uuid,
    issuer: String,
    oauth_client_id: String,
    client_secret_enc: Option<Vec<u8>>,
    scopes: Json<Vec<String>>,
    claims: Json<crate::identity::idp::ClaimMap>,
    domains: Json<Vec<String>>,
    jit: bool,
    default_role: Option<String>,
    role_rules: Json<Vec<crate::identity::idp::RoleRule>>,
    required_claims: Json<Vec<crate::identity::idp::ClaimValue>>,
    sso_required: bool,
    accept_upstream_mfa: bool,
    enabled: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

pub(super) const IDP_COLUMNS: &str = "id, client_id, issuer, oauth_client_id, client_secret_enc, scopes, claims, domains, \
     jit, default_role, role_rules, required_claims, sso_required, accept_upstream_mfa, enabled, created_at, updated_at";

impl TryFrom<IdpRow> for crate::identity::idp::IdentityProvider {
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

#[derive(sqlx::FromRow)]
pub(super) struct FactorRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    secret_enc: Option<Vec<u8>>,
    target: Option<String>,
    confirmed_at: Option<OffsetDateTime>,
    last_used_step: Option<i64>,
    created_at: OffsetDateTime,
}

impl TryFrom<FactorRow> for crate::identity::mfa::Factor {
    type Error = StoreError;
    fn try_from(r: FactorRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            user_id: UserId::from_uuid(r.user_id),
            kind: crate::identity::mfa::FactorKind::parse(&r.kind).map_err(corrupt("mfa_factors.kind"))?,
            secret_enc: r.secret_enc,
            target: r.target,
            confirmed_at: r.confirmed_at,
            last_used_step: r.last_used_step,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
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
        })
    }
}

fn parse_permissions(list: &[String], what: &str) -> Result<Vec<Permission>, StoreError> {
    permission::parse_all(list.iter().map(String::as_str)).map_err(corrupt(what))
}

#[derive(sqlx::FromRow)]
pub(super) struct RoleRow {
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

#[derive(sqlx::FromRow)]
pub(super) struct ApplicationRow {
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
}

pub(super) const APPLICATION_COLUMNS: &str = "client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
     grant_types, scopes, first_party, may_introspect, service_role, account_id, id_token_alg, \
     access_token_ttl_secs, refresh_token_ttl_secs, enabled, created_at, updated_at, resources";

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
            generation: 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    id: i64,
    occurred_at: OffsetDateTime,
    actor_type: String,
    actor_id: Option<String>,
    client_id: Option<Uuid>,
    ip: Option<String>,
    user_agent: Option<String>,
    action: String,
    target_type: Option<String>,
    target_id: Option<String>,
    outcome: String,
    details: Json<serde_json::Value>,
    prev_hmac: Vec<u8>,
    hmac: Vec<u8>,
}

impl TryFrom<AuditRow> for StoredAudit {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("audit_logs.{what} of row {}", r.id));
        Ok(StoredAudit {
            id: r.id,
            record: AuditRecord {
                occurred_at: r.occurred_at,
                actor_type: ActorType::parse(&r.actor_type).ok_or_else(|| bad("actor_type"))?,
                actor_id: r.actor_id,
                client_id: r.client_id.map(AccountId::from_uuid),
                ip: r.ip,
                user_agent: r.user_agent,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                outcome: Outcome::parse(&r.outcome).ok_or_else(|| bad("outcome"))?,
                details: r.details.0,
            },
            prev_hmac: r.prev_hmac,
            hmac: r.hmac,
        })
    }
}

pub(super) const OUTBOX_INSERT: &str = "INSERT INTO outbox (topic, key, payload, created_at) VALUES ($1, $2, $3, $4)";

#[derive(sqlx::FromRow)]
pub(super) struct OutboxDbRow {
    id: i64,
    topic: String,
    key: String,
    payload: Json<serde_json::Value>,
}

impl From<OutboxDbRow> for crate::events::OutboxRow {
    fn from(r: OutboxDbRow) -> Self {
        Self {
            id: r.id,
            topic: r.topic,
            key: r.key,
            payload: r.payload.0,
        }
    }
}

pub(super) const AUDIT_INSERT: &str = "INSERT INTO audit_logs (id, occurred_at, actor_type, actor_id, client_id, ip, \
    user_agent, action, target_type, target_id, outcome, details, prev_hmac, hmac) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/// What is left of a driver error once each engine has recognised its constraint violations.
pub(super) fn driver_error(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreError::Corrupt(e.to_string()),
        other => StoreError::unavailable(other),
    }
}

/// Seconds of an optional lifetime, as the `*_ttl_secs` columns hold them.
pub(super) fn ttl_secs(d: Option<Duration>) -> Option<i32> {
    d.map(|d| i32::try_from(d.whole_seconds()).unwrap_or(i32::MAX))
}

/// The users columns in a fixed order; spliced into SQL text (a constant, never input).
pub(super) const USER_COLUMNS: &str = "id, username, password_hash, email, phone, role, permissions, status, \
    client_id, name, email_verified, phone_verified, not_before, created_at, updated_at";

/// Implements the repository traits for a store type with a `pool` field and an
/// `fn error(sqlx::Error) -> StoreError`; the SQL is the same for both engines.
/// An UPDATE or DELETE of one row by its key: `NotFound` when it touched none.
/// A conditional update (`… AND updated_at = read_at`) that matched nothing: the row changed
/// since it was read (or is gone).
pub(super) fn changed_since(rows_affected: u64, constraint: &str) -> Result<(), StoreError> {
    if rows_affected == 0 {
        return Err(StoreError::Conflict {
            constraint: constraint.to_owned(),
        });
    }
    Ok(())
}

pub(super) fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

macro_rules! sql_repositories {
    ($store:ty, $db:ty, $engine:literal, begin_audit: $begin:literal, lock_audit: $lock:literal) => {
        impl $store {
            /// Binds every users column of `u`, in [`USER_COLUMNS`] order, as `$1` … `$15`.
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
            }

            /// Inserts the user row inside the caller's transaction.
            async fn insert_user_in(tx: &mut sqlx::Transaction<'_, $db>, u: &User) -> Result<(), StoreError> {
                Self::bind_user(sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                ))), u)
                .execute(&mut **tx)
                .await
                .map_err(Self::error)?;
                Ok(())
            }

            /// Appends `events` to the outbox inside the caller's transaction.
            async fn append_events(
                tx: &mut sqlx::Transaction<'_, $db>,
                events: &[$crate::events::OutboxEvent],
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
        impl $crate::store::AuditStore for $store {
            async fn append_audit(
                &self,
                r: &$crate::audit::AuditRecord,
                seal: &$crate::store::AuditSeal<'_>,
            ) -> Result<i64, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(Self::error)?;
                sqlx::query($lock).execute(&mut *tx).await.map_err(Self::error)?;
                let last: Option<(i64, Vec<u8>)> =
                    sqlx::query_as("SELECT id, hmac FROM audit_logs ORDER BY id DESC LIMIT 1")
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(Self::error)?;
                let (id, prev) = match last {
                    Some((id, hmac)) => (id + 1, hmac),
                    None => (1, $crate::audit::GENESIS.to_vec()),
                };
                // Continue after the sealed head if rows were cut from the end: the gap stays
                // visible to `audit verify` instead of being papered over by the next row.
                let head: Option<i64> = sqlx::query_scalar("SELECT last_id FROM audit_head WHERE id = 1")
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                let id = id.max(head.map_or(0, |h| h + 1));
                let (hmac, event, head) = seal(id, &prev);
                sqlx::query($crate::store::sql::AUDIT_INSERT)
                    .bind(id)
                    .bind(r.occurred_at)
                    .bind(r.actor_type.as_str())
                    .bind(r.actor_id.as_deref())
                    .bind(r.client_id.map(|c| c.as_uuid()))
                    .bind(r.ip.as_deref())
                    .bind(r.user_agent.as_deref())
                    .bind(&r.action)
                    .bind(r.target_type.as_deref())
                    .bind(r.target_id.as_deref())
                    .bind(r.outcome.as_str())
                    .bind(sqlx::types::Json(&r.details))
                    .bind(prev)
                    .bind(hmac)
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                sqlx::query(
                    "INSERT INTO audit_head (id, last_id, seal) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET last_id = excluded.last_id, seal = excluded.seal",
                )
                .bind(id)
                .bind(head)
                .execute(&mut *tx)
                .await
                .map_err(Self::error)?;
                Self::append_events(&mut tx, std::slice::from_ref(&event)).await?;
                tx.commit().await.map_err(Self::error)?;
                Ok(id)
            }

            async fn audit_head(&self) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
                sqlx::query_as("SELECT last_id, seal FROM audit_head WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(Self::error)
            }

            async fn audit_search(
                &self,
                f: &$crate::store::AuditFilter,
                limit: i64,
            ) -> Result<Vec<$crate::audit::StoredAudit>, StoreError> {
                sqlx::query_as::<_, $crate::store::sql::AuditRow>(
                    "SELECT * FROM audit_logs WHERE ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR action = $2) \
                     AND ($3 IS NULL OR actor_id = $3) AND ($4 IS NULL OR target_id = $4) \
                     AND ($5 IS NULL OR outcome = $5) AND ($6 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7",
                )
                .bind(f.account.map(|a| a.as_uuid()))
                .bind(f.action.as_deref())
                .bind(f.actor_id.as_deref())
                .bind(f.target_id.as_deref())
                .bind(f.outcome.as_deref())
                .bind(f.before)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?
                .into_iter()
                .map($crate::audit::StoredAudit::try_from)
                .collect()
            }

            async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<$crate::audit::StoredAudit>, StoreError> {
                sqlx::query_as::<_, $crate::store::sql::AuditRow>(
                    "SELECT * FROM audit_logs WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?
                .into_iter()
                .map($crate::audit::StoredAudit::try_from)
                .collect()
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::OutboxStore for $store {
            async fn outbox_unsent(&self, limit: i64) -> Result<Vec<$crate::events::OutboxRow>, StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::sql::OutboxDbRow>(
                    "SELECT id, topic, key, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn outbox_backlog(&self) -> Result<i64, StoreError> {
                sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(Self::error)
            }

            async fn outbox_enqueue(&self, events: &[$crate::events::OutboxEvent]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                Self::append_events(&mut tx, events).await?;
                tx.commit().await.map_err(Self::error)
            }

            async fn outbox_mark_sent(&self, ids: &[i64], at: time::OffsetDateTime) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                for id in ids {
                    sqlx::query("UPDATE outbox SET sent_at = $1 WHERE id = $2")
                        .bind(at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::error)?;
                }
                tx.commit().await.map_err(Self::error)?;
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
        }

        use $crate::store::sql::{AccountRow, ApplicationRow, RoleRow, USER_COLUMNS, UserRow, changed_since, found, to_strings, ttl_secs};

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

        #[async_trait::async_trait]
        impl $crate::store::UserStore for $store {
            async fn insert_user(&self, u: &User, events: &[$crate::events::OutboxEvent]) -> Result<(), StoreError> {
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
                events: &[$crate::events::OutboxEvent],
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                // Row-value SET with the same 15 parameters as the insert (created_at is rewritten
                // with its own value), so both bind through `bind_user`; $16 is the version read.
                let done = Self::bind_user(sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE users SET ({}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                     WHERE id = $1 AND updated_at = $16",
                    USER_COLUMNS.trim_start_matches("id, ")
                ))), u)
                .bind(read_at)
                .execute(&mut *tx)
                .await
                .map_err(Self::error)?;
                changed_since(done.rows_affected(), "users_changed")?;
                if u.status == $crate::identity::user::UserStatus::Deleted {
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
                // LIKE wildcards typed by the caller are matched literally.
                let pattern = f.query.as_deref().map(|q| {
                    format!("%{}%", q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
                });
                sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE status <> 'deleted' \
                     AND ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR role = $2) AND ($3 IS NULL OR status = $3) \
                     AND ($4 IS NULL OR username LIKE $4 ESCAPE '\\' OR lower(email) LIKE $4 ESCAPE '\\') \
                     AND ($5 IS NULL OR id > $5) ORDER BY id LIMIT $6"
                )))
                .bind(f.account.map(|a| a.as_uuid()))
                .bind(f.role.as_deref())
                .bind(f.status.as_deref())
                .bind(pattern)
                .bind(f.after.map(|a| a.as_uuid()))
                .bind(limit)
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
                let done = sqlx::query("UPDATE roles SET description = $2, permissions = $3, updated_at = $4 WHERE name = $1")
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

        #[async_trait::async_trait]
        impl $crate::store::ApplicationStore for $store {
            async fn insert_application(&self, a: &Application) -> Result<(), StoreError> {
                Self::bind_application(
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO applications ({}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
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
                // Row-value SET with the same 18 parameters as the insert (created_at is rewritten
                // with its own value), so both bind through `bind_application`.
                let done = Self::bind_application(
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE applications SET ({}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
                         WHERE client_id = $1 AND updated_at = $19",
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

        impl $store {
            /// Binds every identity_providers column of `i`, in [`IDP_COLUMNS`] order.
            fn bind_idp<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                i: &'q $crate::identity::idp::IdentityProvider,
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
            async fn insert_idp(&self, i: &$crate::identity::idp::IdentityProvider) -> Result<(), StoreError> {
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

            async fn find_idp(&self, id: uuid::Uuid) -> Result<Option<$crate::identity::idp::IdentityProvider>, StoreError> {
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
            ) -> Result<Vec<$crate::identity::idp::IdentityProvider>, StoreError> {
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

            async fn update_idp(&self, i: &$crate::identity::idp::IdentityProvider) -> Result<(), StoreError> {
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
            ) -> Result<Option<$crate::identity::idp::FederatedLink>, StoreError> {
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

            async fn links_of(&self, user: UserId) -> Result<Vec<$crate::identity::idp::FederatedLink>, StoreError> {
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
                link: &$crate::identity::idp::FederatedLink,
                events: &[$crate::events::OutboxEvent],
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                Self::insert_user_in(&mut tx, u).await?;
                Self::insert_link_in(&mut tx, link).await?;
                Self::append_events(&mut tx, events).await?;
                tx.commit().await.map_err(Self::error)?;
                Ok(())
            }

            async fn insert_link(&self, link: &$crate::identity::idp::FederatedLink) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                Self::insert_link_in(&mut tx, link).await?;
                tx.commit().await.map_err(Self::error)
            }

            async fn touch_link(
                &self,
                link: &$crate::identity::idp::FederatedLink,
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
                link: &$crate::identity::idp::FederatedLink,
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

        #[async_trait::async_trait]
        impl $crate::store::FactorStore for $store {
            async fn list_factors(&self, user: UserId) -> Result<Vec<$crate::identity::mfa::Factor>, StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::sql::FactorRow>(
                    "SELECT id, user_id, kind, secret_enc, target, confirmed_at, last_used_step, created_at \
                     FROM mfa_factors WHERE user_id = $1 ORDER BY created_at, id",
                )
                .bind(user.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn insert_factor(&self, f: &$crate::identity::mfa::Factor) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO mfa_factors (id, user_id, kind, secret_enc, target, confirmed_at, last_used_step, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(f.id)
                .bind(f.user_id.as_uuid())
                .bind(f.kind.as_str())
                .bind(f.secret_enc.as_deref())
                .bind(f.target.as_deref())
                .bind(f.confirmed_at)
                .bind(f.last_used_step)
                .bind(f.created_at)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(())
            }

            async fn confirm_factor(
                &self,
                user: UserId,
                id: uuid::Uuid,
                at: time::OffsetDateTime,
                step: Option<i64>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE mfa_factors SET confirmed_at = $1, last_used_step = $2 \
                     WHERE id = $3 AND user_id = $4 AND confirmed_at IS NULL",
                )
                .bind(at)
                .bind(step)
                .bind(id)
                .bind(user.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn use_totp_step(&self, id: uuid::Uuid, step: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE mfa_factors SET last_used_step = $1 \
                     WHERE id = $2 AND (last_used_step IS NULL OR last_used_step < $1)",
                )
                .bind(step)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_factor(&self, user: UserId, id: uuid::Uuid) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM mfa_factors WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user.as_uuid())
                    .execute(&self.pool)
                    .await
                    .map_err(Self::error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_factors(&self, user: UserId) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                let done = sqlx::query("DELETE FROM mfa_factors WHERE user_id = $1")
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                tx.commit().await.map_err(Self::error)?;
                Ok(done.rows_affected())
            }

            async fn replace_recovery_codes(
                &self,
                user: UserId,
                hashes: &[Vec<u8>],
                at: time::OffsetDateTime,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                for hash in hashes {
                    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
                        .bind(user.as_uuid())
                        .bind(hash.as_slice())
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::error)?;
                }
                tx.commit().await.map_err(Self::error)?;
                Ok(())
            }

            async fn use_recovery_code(&self, user: UserId, hash: &[u8], at: time::OffsetDateTime) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
                )
                .bind(at)
                .bind(user.as_uuid())
                .bind(hash)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn recovery_codes_left(&self, user: UserId) -> Result<i64, StoreError> {
                sqlx::query_scalar("SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                    .bind(user.as_uuid())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(Self::error)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::ConsentStore for $store {
            async fn find_consent(
                &self,
                user: UserId,
                client: &ClientId,
            ) -> Result<Option<$crate::oauth::scope::Scope>, StoreError> {
                let row: Option<sqlx::types::Json<Vec<String>>> =
                    sqlx::query_scalar("SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2")
                        .bind(user.as_uuid())
                        .bind(client.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(Self::error)?;
                row.map(|r| {
                    $crate::oauth::scope::Scope::from_tokens(r.0.iter().map(String::as_str))
                        .map_err(|e| StoreError::Corrupt(format!("consents.scopes: {e}")))
                })
                .transpose()
            }

            async fn save_consent(
                &self,
                user: UserId,
                client: &ClientId,
                scope: &$crate::oauth::scope::Scope,
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
pub(super) use sql_repositories;
