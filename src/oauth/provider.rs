//! The provider: what every protocol operation needs (issuer, keys, lifetimes, stores, clock),
//! gathered once at start-up.

use std::sync::Arc;

use time::Duration;

use super::clients::ClientRegistry;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::identity::login::DummyHash;
use crate::keys::{Keyring, MasterKey, Purpose};
use crate::store::{Database, HotStore, Stores};

/// Protocol context shared by every endpoint.
pub struct Provider {
    /// The issuer identifier: the configured URL without a trailing slash.
    pub issuer: String,
    /// The default `aud` of access tokens.
    pub audience: String,
    pub access_token_ttl: Duration,
    pub keyring: Arc<Keyring>,
    /// Derives refresh-token successors (DESIGN.md, Tokens).
    pub refresh_key: [u8; 32],
    pub clients: ClientRegistry,
    pub db: Arc<dyn Database>,
    /// bcrypt work factor, and the dummy hash that unknown users are checked against.
    pub bcrypt_cost: u32,
    pub dummy_hash: DummyHash,
    pub hot: Arc<dyn HotStore>,
    pub clock: SharedClock,
}

impl Provider {
    pub fn new(
        config: &Config,
        stores: &Stores,
        keyring: Arc<Keyring>,
        master: &MasterKey,
        clock: SharedClock,
    ) -> Self {
        Self {
            issuer: config.issuer_str().to_owned(),
            audience: config.access_token_audience.clone(),
            access_token_ttl: config.access_token_ttl,
            keyring,
            refresh_key: master.derive(Purpose::RefreshSuccessor),
            clients: ClientRegistry::new(stores.db.clone()),
            db: stores.db.clone(),
            bcrypt_cost: config.bcrypt_cost,
            dummy_hash: DummyHash::default(),
            hot: stores.hot.clone(),
            clock,
        }
    }

    /// An absolute URL of one of our endpoints.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
