//! Storage behind traits, one per aggregate, each with a production and an embedded
//! implementation that pass one shared contract suite (`tests/store/`):
//! relational data in PostgreSQL or SQLite, hot state in Redis or in process.

pub mod directory;
pub mod hot;
pub mod memory;
pub mod postgres;
pub mod redis;
mod sql;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::ExposeSecret as _;

use crate::clock::SharedClock;
use crate::config::{Config, DatabaseConfig};
use crate::model::account::{Account, AccountId, Slug};
use crate::model::application::{Application, ClientId};
use crate::model::audit::{AuditRecord, StoredAudit};
use crate::model::event::{OutboxEvent, OutboxRow};
use crate::model::idp::{FederatedLink, IdentityProvider};
use crate::model::mfa::Factor;
use crate::model::role::{Role, RoleName};
use crate::model::scope::Scope;
use crate::model::user::{User, UserId};
use time::OffsetDateTime;

pub use hot::{Counter, HotStore, Rate, Taken, Throttle};

pub use crate::model::StoreError;

/// B2B customer accounts (table `clients`).
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn insert_account(&self, account: &Account) -> Result<(), StoreError>;
    async fn find_account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;
    async fn find_account_by_slug(&self, slug: &Slug) -> Result<Option<Account>, StoreError>;
    /// Accounts in id (creation) order after `after`, at most `limit`.
    async fn list_accounts(&self, after: Option<AccountId>, limit: i64) -> Result<Vec<Account>, StoreError>;
    /// Saves name, slug, status and 2FA policy if the account is still as read (`updated_at` = `read_at`), else
    /// `Conflict { constraint: "clients_changed" }` — a change from a stale read (say, a rename
    /// read before a suspension) must not undo another.
    async fn update_account(&self, account: &Account, read_at: OffsetDateTime) -> Result<(), StoreError>;
}

/// Users.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts the user and appends `events` to the outbox, in one transaction.
    async fn insert_user(&self, user: &User, events: &[OutboxEvent]) -> Result<(), StoreError>;
    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// Saves every mutable field of `user` and appends `events`, in one transaction — only if
    /// the row is still as it was read (its `updated_at` is `read_at`): a write from a row read
    /// before another change (a block landing during a profile edit) must not undo it. Else
    /// `Conflict { constraint: "users_changed" }` (also when the user does not exist).
    async fn update_user(&self, user: &User, read_at: OffsetDateTime, events: &[OutboxEvent])
    -> Result<(), StoreError>;
    /// Users matching `filter`, in id (creation) order, after the cursor, at most `limit`.
    async fn list_users(&self, filter: &UserFilter, limit: i64) -> Result<Vec<User>, StoreError>;
    /// The user whose username or email (case-insensitive) is `login`, deleted users excluded.
    async fn find_user_by_login(&self, login: &str) -> Result<Option<User>, StoreError>;
}

/// Which audit records to list: every field optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub account: Option<AccountId>,
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Option<String>,
    /// Only records older than this id (cursor pagination, newest first).
    pub before: Option<i64>,
}

/// What to list: every field optional.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub account: Option<AccountId>,
    pub role: Option<String>,
    pub status: Option<String>,
    /// Text the username or email matches (case-insensitive; see [`UserSearch`]).
    pub query: Option<String>,
    /// Only users created after this one (cursor pagination).
    pub after: Option<UserId>,
}

/// How the admin user search matches its text `q`, as Keycloak's does: `anna` — a username or
/// email that starts with it (an index range: fast at any size); `*anna*` — one that contains it
/// (a trigram index: slower on millions of users); `*@acme.example` — one that ends with it;
/// `"anna@acme.example"` — exactly. Case does not matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSearch {
    StartsWith(String),
    Contains(String),
    EndsWith(String),
    Exactly(String),
}

impl UserSearch {
    pub fn parse(q: &str) -> Self {
        let q = q.trim().to_lowercase();
        if let Some(inner) = q.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            return Self::Exactly(inner.to_owned());
        }
        match (q.strip_prefix('*'), q.strip_suffix('*')) {
            (Some(rest), Some(_)) if !rest.is_empty() => Self::Contains(rest[..rest.len() - 1].to_owned()),
            (Some(rest), _) => Self::EndsWith(rest.to_owned()),
            (None, Some(start)) => Self::StartsWith(start.to_owned()),
            (None, None) => Self::StartsWith(q),
        }
    }

    /// The LIKE pattern of the search (wildcards typed by the caller matched literally).
    pub fn like_pattern(&self) -> String {
        let escape = |s: &str| s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        match self {
            Self::StartsWith(s) => format!("{}%", escape(s)),
            Self::Contains(s) => format!("%{}%", escape(s)),
            Self::EndsWith(s) => format!("%{}", escape(s)),
            Self::Exactly(s) => escape(s),
        }
    }
}

/// Roles and their permission sets.
#[async_trait]
pub trait RoleStore: Send + Sync {
    async fn find_role(&self, name: &RoleName) -> Result<Option<Role>, StoreError>;
    async fn list_roles(&self) -> Result<Vec<Role>, StoreError>;
    async fn insert_role(&self, role: &Role) -> Result<(), StoreError>;
    /// Saves description and permissions; `NotFound` when absent.
    async fn update_role(&self, role: &Role) -> Result<(), StoreError>;
    /// `Conflict { constraint: "foreign_key" }` while users or applications hold it.
    async fn delete_role(&self, name: &RoleName) -> Result<(), StoreError>;
}

/// OAuth applications.
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    async fn insert_application(&self, app: &Application) -> Result<(), StoreError>;
    async fn find_application(&self, client_id: &ClientId) -> Result<Option<Application>, StoreError>;
    /// Applications in client_id order after `after`, at most `limit`.
    async fn list_applications(&self, after: Option<&ClientId>, limit: i64) -> Result<Vec<Application>, StoreError>;
    /// Saves every mutable field (secret included) if the application is still as read (`updated_at` = `read_at`), else
    /// `Conflict { constraint: "applications_changed" }` (a stale write must not re-enable it).
    async fn update_application(&self, app: &Application, read_at: OffsetDateTime) -> Result<(), StoreError>;
    /// Removes the application (its consents go with it); `NotFound` when absent.
    async fn delete_application(&self, client_id: &ClientId) -> Result<(), StoreError>;
}

/// Consent users gave to applications that are not first-party.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// The scopes `user` allowed `client` to have, if any.
    async fn find_consent(&self, user: UserId, client: &ClientId) -> Result<Option<Scope>, StoreError>;
    /// Records (or widens/replaces) the consent.
    async fn save_consent(
        &self,
        user: UserId,
        client: &ClientId,
        scope: &Scope,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// Seals an audit row: given its id and the previous row's HMAC, returns the row's HMAC, the
/// event announcing it (appended to the outbox in the same transaction) and the seal of the
/// chain's new head.
pub type AuditSeal<'a> = dyn Fn(i64, &[u8]) -> (Vec<u8>, OutboxEvent, Vec<u8>) + Send + Sync + 'a;

/// The append-only audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends `record` as the next row, one writer at a time: reads the last row's id and HMAC,
    /// asks `seal` for the new HMAC and inserts, in one transaction. Returns the new id.
    async fn append_audit(&self, record: &AuditRecord, seal: &AuditSeal<'_>) -> Result<i64, StoreError>;
    /// Up to `limit` rows with ids above `after`, in id order.
    async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<StoredAudit>, StoreError>;
    /// The chain's head: the last row's id and its seal, once a row was appended.
    async fn audit_head(&self) -> Result<Option<(i64, Vec<u8>)>, StoreError>;
    /// Rows matching `filter`, newest first, below the cursor.
    async fn audit_search(&self, filter: &AuditFilter, limit: i64) -> Result<Vec<StoredAudit>, StoreError>;
}

/// The transactional outbox: events wait here until the relay has them acknowledged.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Up to `limit` unsent events, oldest first.
    async fn outbox_unsent(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError>;
    /// How many events wait.
    async fn outbox_backlog(&self) -> Result<i64, StoreError>;
    /// Appends events that go with no relational change (a lockout lives in the hot state).
    async fn outbox_enqueue(&self, events: &[OutboxEvent]) -> Result<(), StoreError>;
    /// Marks events sent (after the broker acknowledged them).
    async fn outbox_mark_sent(&self, ids: &[i64], at: OffsetDateTime) -> Result<(), StoreError>;
    /// Deletes the events sent before `before` (`OUTBOX_RETENTION`); returns how many.
    async fn outbox_purge_sent(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
    /// When the oldest event still waiting was written, if one waits.
    async fn outbox_oldest_unsent(&self) -> Result<Option<OffsetDateTime>, StoreError>;
}

/// Upstream identity providers of B2B accounts.
#[async_trait]
pub trait IdpStore: Send + Sync {
    async fn insert_idp(&self, idp: &IdentityProvider) -> Result<(), StoreError>;
    async fn find_idp(&self, id: uuid::Uuid) -> Result<Option<IdentityProvider>, StoreError>;
    /// The account's providers, oldest first; every provider with `None`.
    async fn list_idps(&self, account: Option<AccountId>) -> Result<Vec<IdentityProvider>, StoreError>;
    async fn update_idp(&self, idp: &IdentityProvider) -> Result<(), StoreError>;
    /// Removes a provider and the links of users to it; false when it was not there.
    async fn delete_idp(&self, id: uuid::Uuid) -> Result<bool, StoreError>;
    /// The link of an upstream identity (issuer, subject) made through provider `idp`.
    async fn find_link(
        &self,
        idp: uuid::Uuid,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<FederatedLink>, StoreError>;
    /// Every link of a user, oldest first.
    async fn links_of(&self, user: UserId) -> Result<Vec<FederatedLink>, StoreError>;
    /// Creates a just-in-time user, its link and its events in one transaction: all or nothing.
    async fn insert_federated_user(
        &self,
        user: &User,
        link: &FederatedLink,
        events: &[OutboxEvent],
    ) -> Result<(), StoreError>;
    /// Links an upstream identity to an existing user; `Conflict` when it is linked already.
    async fn insert_link(&self, link: &FederatedLink) -> Result<(), StoreError>;
    /// Records a sign-in through the link.
    async fn touch_link(&self, link: &FederatedLink, at: OffsetDateTime) -> Result<(), StoreError>;
}

/// Second factors and recovery codes.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// The user's factors, oldest first.
    async fn list_factors(&self, user: UserId) -> Result<Vec<Factor>, StoreError>;
    async fn insert_factor(&self, factor: &Factor) -> Result<(), StoreError>;
    /// Marks the factor confirmed (and its first TOTP step used), in the user's turn with the
    /// other writers of their factors; false when it is not the user's.
    async fn confirm_factor(
        &self,
        user: UserId,
        id: uuid::Uuid,
        at: OffsetDateTime,
        step: Option<i64>,
    ) -> Result<bool, StoreError>;
    /// Accepts TOTP `step` for the factor unless it (or a later one) was accepted before.
    async fn use_totp_step(&self, id: uuid::Uuid, step: i64) -> Result<bool, StoreError>;
    /// Removes one factor; false when it was not the user's.
    async fn delete_factor(&self, user: UserId, id: uuid::Uuid) -> Result<bool, StoreError>;
    /// Removes those of the factors `ids` that are the user's, in one transaction. With
    /// `keep_one` (the user's role or account requires a second factor) it removes none and
    /// answers [`FactorRemoval::Refused`] when the user had a confirmed factor and would be
    /// left with none. Writers of one user's factors take turns (PostgreSQL locks the user's
    /// row, SQLite takes its write lock at once), so two removals of a user's last two factors
    /// cannot both pass.
    async fn delete_factors_keeping(
        &self,
        user: UserId,
        ids: &[uuid::Uuid],
        keep_one: bool,
    ) -> Result<FactorRemoval, StoreError>;
    /// Removes every factor and recovery code of the user; how many factors went.
    async fn delete_factors(&self, user: UserId) -> Result<u64, StoreError>;
    /// As [`Self::delete_factors`], but only while the user has no confirmed factor, checked in
    /// the same turn (an authenticator confirmed meanwhile stays, with the recovery codes);
    /// whether it cleared.
    async fn delete_factors_unless_confirmed(&self, user: UserId) -> Result<bool, StoreError>;
    /// Replaces the user's recovery codes with these hashes, taking turns with the other writers
    /// of the user's factors: of two replacements at once, one set is left, never both.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Uses a recovery code once; false when unknown or used.
    async fn use_recovery_code(&self, user: UserId, hash: &[u8], at: OffsetDateTime) -> Result<bool, StoreError>;
    /// How many unused recovery codes the user has.
    async fn recovery_codes_left(&self, user: UserId) -> Result<i64, StoreError>;
}

/// What [`FactorStore::delete_factors_keeping`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorRemoval {
    /// This many of the factors were the user's and are gone (0: none was).
    Removed(u64),
    /// Nothing changed: the user would have been left without a confirmed factor.
    Refused,
}

/// The relational store as a whole: every repository plus health and lifecycle.
#[async_trait]
pub trait Database:
    AccountStore
    + UserStore
    + RoleStore
    + ApplicationStore
    + ConsentStore
    + AuditStore
    + OutboxStore
    + FactorStore
    + IdpStore
{
    /// `postgres` or `sqlite`.
    fn engine(&self) -> &'static str;
    /// Round-trips a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Closes the pool, waiting for connections to be returned.
    async fn close(&self);
    /// Tries to become the one outbox relay among the nodes sharing this database: `Some` while
    /// held (PostgreSQL: a session advisory lock on a connection of its own, released when the
    /// lease is dropped or the node dies); SQLite serves one node, which always gets it.
    async fn relay_lease(&self) -> Result<Option<Box<dyn Lease>>, StoreError>;
}

/// Held while this node is the one outbox relay.
#[async_trait]
pub trait Lease: Send + Sync {
    /// True while the lease still holds (its connection answers).
    async fn held(&mut self) -> bool;
}

/// Every store one node uses.
#[derive(Clone)]
pub struct Stores {
    pub db: Arc<dyn Database>,
    pub hot: Arc<dyn HotStore>,
    /// The protocol's and the browser sessions' typed state over `hot`.
    pub state: Arc<hot::HotState>,
}

impl Stores {
    pub fn new(db: Arc<dyn Database>, hot: Arc<dyn HotStore>) -> Self {
        let state = Arc::new(hot::HotState::new(hot.clone()));
        Self { db, hot, state }
    }
}

/// Connects to the configured relational store, creating the PostgreSQL database or SQLite
/// file when missing, and applies pending migrations.
pub async fn connect_database(config: &Config) -> Result<Arc<dyn Database>, StoreError> {
    Ok(match &config.database {
        DatabaseConfig::Postgres(url) => {
            Arc::new(postgres::PgStore::connect(url.expose_secret(), config.database_max_connections).await?)
        }
        DatabaseConfig::Sqlite(path) => Arc::new(sqlite::SqliteStore::open(path).await?),
    })
}

/// Connects the configured hot-state store: Redis, or the in-process one.
pub async fn connect_hot(config: &Config, clock: SharedClock) -> Result<Arc<dyn HotStore>, StoreError> {
    Ok(match &config.redis {
        Some(redis) => Arc::new(
            redis::RedisStore::connect(redis.url.expose_secret(), &config.redis_prefix, redis.pool_size, clock).await?,
        ),
        None => Arc::new(memory::MemoryStore::new(clock)),
    })
}

#[cfg(test)]
mod tests {
    use super::UserSearch;

    #[test]
    fn the_user_search_reads_its_text_as_keycloak_does() {
        let parse = UserSearch::parse;
        assert_eq!(parse(" Anna "), UserSearch::StartsWith("anna".into()));
        assert_eq!(parse("anna*"), UserSearch::StartsWith("anna".into()));
        assert_eq!(parse("*Anna*"), UserSearch::Contains("anna".into()));
        assert_eq!(parse("*@acme.example"), UserSearch::EndsWith("@acme.example".into()));
        assert_eq!(parse("\"a@b.c\""), UserSearch::Exactly("a@b.c".into()));
        assert_eq!(parse("*"), UserSearch::EndsWith(String::new()));
        assert_eq!(parse("**"), UserSearch::Contains(String::new()));
        assert_eq!(parse("\""), UserSearch::StartsWith("\"".into()));
        assert_eq!(UserSearch::Contains("a_b%".into()).like_pattern(), "%a\\_b\\%%");
    }
}
