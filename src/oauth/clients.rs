//! Applications and roles as the protocol sees them: cached in process, so that client
//! authentication and `client_credentials` never touch SQL on the hot path.

use std::sync::Arc;
use std::time::Duration;

use crate::identity::application::{Application, ClientId};
use crate::identity::role::{Role, RoleName};
use crate::store::cache::TtlCache;
use crate::store::{Database, StoreError};

/// How long an application or role read from the database is trusted.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
const MISS_TTL: Duration = Duration::from_secs(5);
const CAPACITY: usize = 10_000;

/// Cached application and role lookups.
pub struct ClientRegistry {
    db: Arc<dyn Database>,
    apps: TtlCache<ClientId, Application>,
    roles: TtlCache<RoleName, Role>,
}

impl ClientRegistry {
    pub fn new(db: Arc<dyn Database>) -> Self {
        Self {
            db,
            apps: TtlCache::new(CACHE_TTL, MISS_TTL, CAPACITY),
            roles: TtlCache::new(CACHE_TTL, MISS_TTL, 1_000),
        }
    }

    /// The application with this client_id, if registered and enabled.
    pub async fn application(&self, client_id: &ClientId) -> Result<Option<Arc<Application>>, StoreError> {
        if let Some(cached) = self.apps.get(client_id) {
            return Ok(cached);
        }
        let found = self
            .db
            .find_application(client_id)
            .await?
            .filter(|a| a.enabled)
            .map(Arc::new);
        self.apps.insert(client_id.clone(), found.clone());
        Ok(found)
    }

    /// The role with this name.
    pub async fn role(&self, name: &RoleName) -> Result<Option<Arc<Role>>, StoreError> {
        if let Some(cached) = self.roles.get(name) {
            return Ok(cached);
        }
        let found = self.db.find_role(name).await?.map(Arc::new);
        self.roles.insert(name.clone(), found.clone());
        Ok(found)
    }

    /// Forgets a changed application on this node.
    pub fn forget_application(&self, client_id: &ClientId) {
        self.apps.invalidate(client_id);
    }
}
