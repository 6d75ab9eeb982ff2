//! What sign-in, browser sessions, second factors, lockout and the flows built on them need
//! beyond the protocol core: the stores, the audit trail, mail and SMS, limits, and the keys of
//! cookies and sealed secrets. Built once at start-up; the protocol core it extends is
//! [`Services::oauth`] (also reachable through `Deref`, so a flow can hand `&Services` to the
//! protocol's functions).

use std::ops::Deref;
use std::sync::Arc;

use crate::audit::Auditor;
use crate::config::Config;
use crate::keys::{MasterKey, Purpose};
use crate::oauth::provider::Provider;
use crate::security::signin::credentials::DummyHash;
use crate::store::hot::HotState;
use crate::store::{Database, Stores};

pub struct Services {
    /// The protocol core.
    pub oauth: Arc<Provider>,
    pub db: Arc<dyn Database>,
    /// Typed hot state: the protocol's ports and browser sessions.
    pub state: Arc<HotState>,
    /// The audit trail (logins, logouts, revocations).
    pub audit: Arc<Auditor>,
    /// bcrypt work factor, and the dummy hash that unknown users are checked against.
    pub bcrypt_cost: u32,
    pub dummy_hash: DummyHash,
    /// Rate limits (see [`crate::security::ratelimit`]).
    pub limits: crate::security::ratelimit::Limits,
    /// Buckets kept in this node's memory: the per-application limit of the token endpoints,
    /// whose machine traffic would otherwise pay a Redis round trip per request.
    pub local_limits: HotState,
    /// Lockout after repeated failures (see [`crate::security::signin::lockout`]).
    pub lockout: crate::security::signin::lockout::Lockout,
    /// Seals secrets that must be read back (TOTP seeds, upstream client secrets).
    pub seal_key: [u8; 32],
    /// Mail and SMS to users.
    pub notifier: crate::notify::Notifier,
    /// Roles whose users must use a second factor.
    pub mfa_required_roles: Vec<String>,
    /// Signs known-device cookies.
    pub device_key: [u8; 32],
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<crate::config::IpNet>,
    /// Upstream identity providers' metadata and keys (corporate SSO).
    pub upstreams: Arc<crate::outbound::Upstreams>,
    /// Keys of `private_key_jwt` clients fetched from their `jwks_uri` (through `upstreams`).
    pub client_keys: crate::oauth::client_assertion::ClientKeys,
}

impl Services {
    pub fn new(
        config: &Config,
        stores: &Stores,
        oauth: Arc<Provider>,
        audit: Arc<Auditor>,
        master: &MasterKey,
        notifier: crate::notify::Notifier,
    ) -> Self {
        let upstreams = Arc::new(crate::outbound::Upstreams::new(!config.is_https()));
        Self {
            db: stores.db.clone(),
            state: stores.state.clone(),
            audit,
            bcrypt_cost: config.bcrypt_cost,
            dummy_hash: DummyHash::default(),
            local_limits: HotState::new(Arc::new(crate::store::memory::MemoryStore::new(oauth.clock.clone()))),
            limits: crate::security::ratelimit::Limits::from_config(config),
            lockout: crate::security::signin::lockout::Lockout::from_config(config),
            device_key: master.derive(Purpose::CookieSigning),
            seal_key: master.derive(Purpose::Encryption),
            mfa_required_roles: config.mfa_required_roles.clone(),
            notifier,
            trusted_proxies: config.trusted_proxies.clone(),
            upstreams: upstreams.clone(),
            client_keys: crate::oauth::client_assertion::ClientKeys::new(upstreams),
            oauth,
        }
    }
}

impl Deref for Services {
    type Target = Provider;

    fn deref(&self) -> &Provider {
        &self.oauth
    }
}
