//! Applications, roles, B2B accounts and users as the protocol sees them: cached in process, so
//! that client authentication, `client_credentials` and refresh stay free of SQL on the hot path.
//! (A user's cached row serves only the subject of a refresh — status, role, permissions,
//! account — every change to which moves the user's generation.)
//!
//! A cache may hold data, never hide a revocation (DESIGN.md, Revocation): each entry remembers
//! the revocation generation read *before* its row, and a token minted from it carries that
//! generation. An entry older than a change therefore mints tokens that are already inactive,
//! and a caller that has read the current generation (every refresh does, in the round trip it
//! makes anyway) reloads an entry that is behind it.

use std::sync::Arc;
use std::time::Duration;

use super::ports::{ClientDirectory, ProtocolState};
use super::revocation::{self, Generation};
use crate::cache::TtlCache;
use crate::model::StoreError;
use crate::model::account::{Account, AccountId};
use crate::model::application::{Application, ClientId};
use crate::model::role::{Role, RoleName};
use crate::model::user::{User, UserId};

/// How long an application, role or account read from the database is trusted.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
const MISS_TTL: Duration = Duration::from_secs(5);
const CAPACITY: usize = 10_000;
/// How often a cached row used without a generation in hand (client authentication,
/// `client_credentials`) has its generation read again: a change made on another node reaches
/// the tokens this node mints within this, not within [`CACHE_TTL`] — one Redis read a second
/// per row, not one per request.
const CONFIRM_EVERY: Duration = Duration::from_secs(1);

/// A cached row and the revocation generation read before it.
#[derive(Debug)]
pub struct Marked<T> {
    pub generation: i64,
    pub value: T,
}

/// Cached application, role and account lookups.
pub struct ClientRegistry {
    db: Arc<dyn ClientDirectory>,
    state: Arc<dyn ProtocolState>,
    apps: TtlCache<ClientId, Application>,
    roles: TtlCache<RoleName, Marked<Role>>,
    accounts: TtlCache<AccountId, Marked<Account>>,
    users: TtlCache<UserId, Marked<User>>,
}

impl ClientRegistry {
    pub fn new(db: Arc<dyn ClientDirectory>, state: Arc<dyn ProtocolState>) -> Self {
        Self {
            db,
            state,
            apps: TtlCache::new(CACHE_TTL, MISS_TTL, CAPACITY),
            roles: TtlCache::new(CACHE_TTL, MISS_TTL, 1_000),
            accounts: TtlCache::new(CACHE_TTL, MISS_TTL, CAPACITY),
            users: TtlCache::new(CACHE_TTL, MISS_TTL, CAPACITY),
        }
    }

    async fn generation(&self, which: Generation<'_>) -> Result<i64, StoreError> {
        Ok(revocation::generations(self.state.as_ref(), &[which]).await?[0])
    }

    /// The application with this client_id, if registered and enabled; its `generation` is the
    /// one read before the row.
    pub async fn application(&self, client_id: &ClientId) -> Result<Option<Arc<Application>>, StoreError> {
        match self.apps.get_aged(client_id) {
            // A miss stays a miss for its own (short) time: unknown ids cost no query each.
            Some((None, _)) => Ok(None),
            Some((cached, age)) if age < CONFIRM_EVERY => Ok(cached),
            Some((Some(app), _)) => {
                let current = self.generation(Generation::App(client_id.as_str())).await?;
                if app.generation >= current {
                    self.apps.confirm(client_id);
                    return Ok(Some(app));
                }
                self.load_application(client_id, Some(current)).await
            }
            None => self.load_application(client_id, None).await,
        }
    }

    /// [`Self::application`], reloaded when the cached copy is older than `current`.
    pub async fn application_at(
        &self,
        client_id: &ClientId,
        current: i64,
    ) -> Result<Option<Arc<Application>>, StoreError> {
        match self.apps.get(client_id) {
            Some(Some(app)) if app.generation >= current => Ok(Some(app)),
            Some(None) => Ok(None),
            _ => self.load_application(client_id, Some(current)).await,
        }
    }

    async fn load_application(
        &self,
        client_id: &ClientId,
        known: Option<i64>,
    ) -> Result<Option<Arc<Application>>, StoreError> {
        let generation = match known {
            Some(g) => g,
            None => self.generation(Generation::App(client_id.as_str())).await?,
        };
        let found = self
            .db
            .find_application(client_id)
            .await?
            .filter(|a| a.enabled)
            .map(|mut a| {
                a.generation = generation;
                Arc::new(a)
            });
        self.apps.insert(client_id.clone(), found.clone());
        Ok(found)
    }

    /// The role with this name, reloaded when its cached copy is older than `current` (`None`:
    /// whatever the cache holds).
    pub async fn role(&self, name: &RoleName, current: Option<i64>) -> Result<Option<Arc<Marked<Role>>>, StoreError> {
        let which = Generation::Role(name.as_str());
        marked(self, &self.roles, name, current, which, self.db.find_role(name)).await
    }

    /// The B2B account, reloaded when its cached copy is older than `current` (`None`: whatever
    /// the cache holds).
    pub async fn account(
        &self,
        id: AccountId,
        current: Option<i64>,
    ) -> Result<Option<Arc<Marked<Account>>>, StoreError> {
        let key = id.to_string();
        marked(
            self,
            &self.accounts,
            &id,
            current,
            Generation::Account(&key),
            self.db.find_account(id),
        )
        .await
    }

    /// The user's row, from a copy read under a generation at least `current` (the user's
    /// generation, read before: see [`super::revocation::Generation::User`]).
    pub async fn user(&self, id: UserId, current: i64) -> Result<Option<Arc<Marked<User>>>, StoreError> {
        let key = id.to_string();
        marked(
            self,
            &self.users,
            &id,
            Some(current),
            Generation::User(&key),
            self.db.find_user(id),
        )
        .await
    }

    /// The user's row as stored now, uncached.
    pub async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.db.find_user(id).await
    }

    /// Forgets a changed application on this node.
    pub fn forget_application(&self, client_id: &ClientId) {
        self.apps.invalidate(client_id);
    }
}

/// A cached row of `cache`, reloaded by `load` when the copy is older than `current` (`None`:
/// the cached copy, its generation confirmed every [`CONFIRM_EVERY`]). A row loaded without a
/// known `current` is marked with `which` as read before it. `load` is lazy: it runs only on a
/// reload.
async fn marked<K: Eq + std::hash::Hash + Clone, V>(
    registry: &ClientRegistry,
    cache: &TtlCache<K, Marked<V>>,
    key: &K,
    current: Option<i64>,
    which: Generation<'_>,
    load: impl std::future::Future<Output = Result<Option<V>, StoreError>>,
) -> Result<Option<Arc<Marked<V>>>, StoreError> {
    let current = match (cache.get_aged(key), current) {
        (Some((Some(entry), _)), Some(now)) if entry.generation >= now => return Ok(Some(entry)),
        (Some((None, _)), None) => return Ok(None),
        (Some((cached, age)), None) if age < CONFIRM_EVERY => return Ok(cached),
        // Without a generation in hand, an older entry is confirmed against the current one.
        (Some((Some(entry), _)), None) => {
            let now = registry.generation(which).await?;
            if entry.generation >= now {
                cache.confirm(key);
                return Ok(Some(entry));
            }
            Some(now)
        }
        (_, current) => current,
    };
    let generation = match current {
        Some(g) => g,
        None => registry.generation(which).await?,
    };
    let found = load.await?.map(|value| Arc::new(Marked { generation, value }));
    cache.insert(key.clone(), found.clone());
    Ok(found)
}
