//! What every handler may reach, and the narrow parts a handler may ask for instead
//! (`State<Arc<oauth::Provider>>` for the protocol core alone, `State<Arc<Services>>` for sign-in
//! and the flows built on it, `State<Arc<Config>>`, `State<Stores>`).

use std::sync::Arc;

use axum::extract::FromRef;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::keys::MasterKey;
use crate::oauth::provider::Provider;
use crate::security::Services;
use crate::store::Stores;

/// What every handler may reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub stores: Stores,
    pub master: Arc<MasterKey>,
    pub provider: Arc<Services>,
    /// The protocol core (also `provider.oauth`).
    pub oauth: Arc<Provider>,
    /// Signs CSRF tokens of the HTML forms.
    pub csrf_key: [u8; 32],
    pub clock: SharedClock,
    /// The gateway's route map (`GATEWAY_ROUTES`).
    pub gateway: Arc<super::gateway::Routes>,
    /// The revocation feed's tail on this node and its open streams.
    pub feed: Arc<super::revocations::Tail>,
    /// Becomes true when the node starts shutting down: long-lived responses end.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl FromRef<AppState> for Arc<Services> {
    fn from_ref(state: &AppState) -> Self {
        state.provider.clone()
    }
}

impl FromRef<AppState> for Arc<Provider> {
    fn from_ref(state: &AppState) -> Self {
        state.oauth.clone()
    }
}

impl FromRef<AppState> for Arc<Config> {
    fn from_ref(state: &AppState) -> Self {
        state.config.clone()
    }
}

impl FromRef<AppState> for Stores {
    fn from_ref(state: &AppState) -> Self {
        state.stores.clone()
    }
}
