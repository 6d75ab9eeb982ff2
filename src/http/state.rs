//! What every handler may reach.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::keys::MasterKey;
use crate::security::Services;
use crate::store::Stores;

/// What every handler may reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub stores: Stores,
    pub master: Arc<MasterKey>,
    pub provider: Arc<Services>,
    /// Signs CSRF tokens of the HTML forms.
    pub csrf_key: [u8; 32],
    pub clock: SharedClock,
}

impl FromRef<AppState> for Arc<Services> {
    fn from_ref(state: &AppState) -> Self {
        state.provider.clone()
    }
}
