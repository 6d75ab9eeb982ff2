//! The provider: what every protocol operation needs (issuer, keys, lifetimes, the application
//! directory, the clock) and the ports it reaches the outside through, gathered once at start-up.

use std::sync::Arc;

use time::Duration;

use super::clients::ClientRegistry;
use super::jwt;
use super::ports::{AuditSink, Ports, ProtocolState};
use super::token::{self, AccessClaims, TokenError};
use crate::cache::TtlCache;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::keys::{Keyring, MasterKey, Purpose};

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
    /// Replaced when the keys directory changes (see `crate::app::App::run`).
    keyring: std::sync::RwLock<Arc<Keyring>>,
    /// Derives refresh-token successors (DESIGN.md, Tokens).
    pub refresh_key: [u8; 32],
    pub clients: ClientRegistry,
    pub metrics: crate::telemetry::metrics::Metrics,
    /// Access tokens whose signature was verified, by their text: a gateway introspects the
    /// same token many times, and an ECDSA verification costs more than the rest of the request.
    /// Claims are still checked (expiry) and revocation still read on every use.
    verified: TtlCache<String, AccessClaims>,
    pub clock: SharedClock,
    /// Codes, refresh tokens, the denylist and generations, parked requests.
    pub state: Arc<dyn ProtocolState>,
    /// Where the protocol's own audit records go.
    pub audit: Arc<dyn AuditSink>,
}

impl Provider {
    pub fn new(config: &Config, keyring: Arc<Keyring>, master: &MasterKey, clock: SharedClock, ports: Ports) -> Self {
        Self {
            issuer: config.issuer_str().to_owned(),
            audience: config.access_token_audience.clone(),
            access_token_ttl: config.access_token_ttl,
            keyring: std::sync::RwLock::new(keyring),
            refresh_key: master.derive(Purpose::RefreshSuccessor),
            clients: ClientRegistry::new(ports.directory, ports.state.clone()),
            metrics: Default::default(),
            verified: TtlCache::new(VERIFIED_TTL, std::time::Duration::ZERO, VERIFIED_CAPACITY),
            clock,
            state: ports.state,
            audit: ports.audit,
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
