//! The provider: what every protocol operation needs (issuer, keys, lifetimes, stores, clock),
//! gathered once at start-up.

use std::sync::Arc;

use time::Duration;

use super::clients::ClientRegistry;
use super::jwt;
use super::token::{self, AccessClaims, TokenError};
use crate::audit::Auditor;
use crate::cache::TtlCache;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::keys::{Keyring, MasterKey, Purpose};
use crate::security::login::DummyHash;
use crate::store::{Database, HotStore, Stores};

/// How long a verified signature is remembered (tokens expire sooner or are re-verified).
const VERIFIED_TTL: std::time::Duration = std::time::Duration::from_secs(300);
const VERIFIED_CAPACITY: usize = 20_000;

/// Protocol context shared by every endpoint.
pub struct Provider {
    /// The issuer identifier: the configured URL without a trailing slash.
    pub issuer: String,
    /// The default `aud` of access tokens.
    pub audience: String,
    pub access_token_ttl: Duration,
    /// Replaced when the keys directory changes (see [`crate::app::App::run`]).
    keyring: std::sync::RwLock<Arc<Keyring>>,
    /// Derives refresh-token successors (DESIGN.md, Tokens).
    pub refresh_key: [u8; 32],
    pub clients: ClientRegistry,
    pub db: Arc<dyn Database>,
    /// bcrypt work factor, and the dummy hash that unknown users are checked against.
    pub bcrypt_cost: u32,
    pub dummy_hash: DummyHash,
    /// The audit trail (logins, logouts, revocations).
    pub audit: Auditor,
    pub metrics: crate::telemetry::metrics::Metrics,
    /// Access tokens whose signature was verified, by their text: a gateway introspects the
    /// same token many times, and an ECDSA verification costs more than the rest of the request.
    /// Claims are still checked (expiry) and revocation still read on every use.
    verified: TtlCache<String, AccessClaims>,
    pub hot: Arc<dyn HotStore>,
    pub clock: SharedClock,
    /// Rate limits (see [`crate::security::ratelimit`]).
    pub limits: crate::security::ratelimit::Limits,
    /// Buckets kept in this node's memory: the per-application limit of the token endpoints,
    /// whose machine traffic would otherwise pay a Redis round trip per request.
    pub local_limits: crate::store::memory::MemoryStore,
    /// Lockout after repeated failures (see [`crate::security::lockout`]).
    pub lockout: crate::security::lockout::Lockout,
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
    pub upstreams: crate::federation::upstream::Upstreams,
}

impl Provider {
    pub fn new(
        config: &Config,
        stores: &Stores,
        keyring: Arc<Keyring>,
        master: &MasterKey,
        clock: SharedClock,
        notifier: crate::notify::Notifier,
    ) -> Self {
        Self {
            issuer: config.issuer_str().to_owned(),
            audience: config.access_token_audience.clone(),
            access_token_ttl: config.access_token_ttl,
            keyring: std::sync::RwLock::new(keyring),
            refresh_key: master.derive(Purpose::RefreshSuccessor),
            clients: ClientRegistry::new(stores.db.clone(), stores.hot.clone()),
            db: stores.db.clone(),
            bcrypt_cost: config.bcrypt_cost,
            dummy_hash: DummyHash::default(),
            metrics: Default::default(),
            audit: Auditor::new(
                stores.db.clone(),
                &master.derive(Purpose::AuditChain),
                config.issuer_str(),
            ),
            verified: TtlCache::new(VERIFIED_TTL, std::time::Duration::ZERO, VERIFIED_CAPACITY),
            hot: stores.hot.clone(),
            local_limits: crate::store::memory::MemoryStore::new(clock.clone()),
            clock,
            limits: crate::security::ratelimit::Limits::from_config(config),

            lockout: crate::security::lockout::Lockout::from_config(config),
            device_key: master.derive(Purpose::CookieSigning),
            seal_key: master.derive(Purpose::Encryption),
            mfa_required_roles: config.mfa_required_roles.clone(),
            notifier,
            trusted_proxies: config.trusted_proxies.clone(),
            upstreams: crate::federation::upstream::Upstreams::new(!config.is_https()),
        }
    }

    /// The claims of a valid access token: signature (cached), type, issuer, expiry. Revocation
    /// is the caller's to check ([`super::revocation::is_revoked`]).
    pub fn access_claims(&self, token: &str) -> Result<Arc<AccessClaims>, TokenError> {
        let now = self.clock.now();
        let claims = match self.verified.get(token).flatten() {
            Some(claims) => claims,
            None => {
                let claims: AccessClaims = jwt::verify(&self.keyring(), token, Some(token::ACCESS_TOKEN_TYP))
                    .map_err(|_| TokenError::Invalid)?;
                let claims = Arc::new(claims);
                self.verified.insert(token.to_owned(), Some(claims.clone()));
                claims
            }
        };
        token::check(&claims, &self.issuer, now)?;
        Ok(claims)
    }

    /// The signing keys in use now.
    pub fn keyring(&self) -> Arc<Keyring> {
        self.keyring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Starts using `keyring` (after `propusk keys rotate` on any node).
    pub fn replace_keyring(&self, keyring: Keyring) {
        *self.keyring.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keyring);
    }

    /// An absolute URL of one of our endpoints.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
