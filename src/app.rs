//! Assembling one Propusk node: stores, keys and the HTTP router, bound to its own listener
//! (tests pass port 0 and run many apps at once, so nothing here is global).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::events::relay::Relay;
pub use crate::http::AppState;
use crate::keys::{KeyError, Keyring, MasterKey, Purpose};
use crate::model::application::SigningAlg;
use crate::oauth::ports::Ports;
use crate::oauth::provider::Provider;
use crate::security::Services;
use crate::store::directory::Directory;
use crate::store::{self, StoreError, Stores};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the {engine} database: {source}")]
    Database { engine: &'static str, source: StoreError },
    #[error("cannot load the gateway route map (GATEWAY_ROUTES): {0}")]
    GatewayRoutes(String),
    #[error("cannot reach the hot-state store (Redis at {url}): {source}")]
    HotStore { url: String, source: StoreError },
    #[error("cannot load keys: {0}")]
    Keys(#[from] KeyError),
    #[error("cannot set up mail or SMS: {0}")]
    Notify(#[from] crate::notify::NotifyError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// A node ready to serve.
pub struct App {
    listener: TcpListener,
    state: AppState,
}

impl App {
    /// Builds a node on the wall clock.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds a node: opens and migrates the database, connects the hot-state store, loads (or
    /// on first start creates) the keys, and binds the listener.
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        Self::build_on(None, config, clock).await
    }

    /// Builds a node on an already bound listener (tests bind first, to know the port their
    /// issuer URL names), or binds `config.listen` when given none.
    pub async fn build_on(
        listener: Option<TcpListener>,
        config: Config,
        clock: SharedClock,
    ) -> Result<Self, StartError> {
        crate::crypto::install_tls_provider();
        // The three are independent; the database (a TLS handshake, the migration check) is the
        // slowest, so start-up takes about as long as it alone.
        let engine = config.database.engine();
        let keys_dir = config.keys_dir.clone();
        let (db, hot, keyring) = tokio::join!(
            store::connect_database(&config),
            store::connect_hot(&config, clock.clone()),
            tokio::task::spawn_blocking(move || Keyring::load_or_create(&keys_dir)),
        );
        let db = db.map_err(|source| StartError::Database { engine, source })?;
        let hot = hot.map_err(|source| StartError::HotStore {
            url: config.redis.as_ref().map_or_else(String::new, |r| shown_url(&r.url)),
            source,
        })?;
        let keyring = keyring.map_err(|_| StartError::Keys(KeyError::Generation))??;
        let master = MasterKey::load_or_create(&config)?;
        let listener = match listener {
            Some(listener) => listener,
            None => TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?,
        };
        let stores = Stores::new(db, hot);
        // Off the start's path (a second database connection costs ~100 ms here); the console
        // registers it itself if asked for first.
        let (db, console_clock, issuer) = (stores.db.clone(), clock.clone(), config.issuer_str().to_owned());
        tokio::spawn(async move {
            let ensured =
                crate::identity::admin::ensure_console_application(db.as_ref(), console_clock.as_ref(), &issuer);
            if let Err(e) = ensured.await {
                tracing::warn!(error = %e, "the admin console's application could not be registered: /console will not work");
            }
        });
        let notifier = crate::notify::Notifier::from_config(&config)?;
        if notifier.sms.name() == "log" && !config.is_https() {
            tracing::warn!("no PROPUSK_SMS_WEBHOOK_URL: SMS codes are written to the log (development only)");
        }
        let audit = Arc::new(crate::audit::Auditor::new(
            stores.db.clone(),
            &master.derive(Purpose::AuditChain),
            config.issuer_str(),
        ));
        let ports = Ports {
            state: stores.state.clone(),
            directory: Arc::new(Directory::new(stores.db.clone())),
            audit: audit.clone(),
        };
        let oauth = Arc::new(Provider::new(&config, Arc::new(keyring), &master, clock.clone(), ports));
        let provider = Arc::new(Services::new(&config, &stores, oauth.clone(), audit, &master, notifier));
        let gateway =
            crate::http::gateway::load(config.gateway_routes.as_deref()).map_err(StartError::GatewayRoutes)?;
        let state = AppState {
            config: Arc::new(config),
            stores,
            csrf_key: master.derive(Purpose::Csrf),
            master: Arc::new(master),
            provider,
            oauth,
            clock,
            gateway,
            feed: Arc::default(),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
        };
        Ok(Self { listener, state })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| self.state.config.listen)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts forwarding the outbox when brokers are configured.
    fn start_relay(&self) -> Option<tokio::task::JoinHandle<()>> {
        let config = &self.state.config;
        if config.kafka_brokers.is_empty() {
            tracing::info!("no Kafka brokers configured: events wait in the outbox");
            return None;
        }
        match Relay::new(
            self.state.stores.db.clone(),
            self.state.stores.state.clone(),
            &config.kafka_brokers,
            &config.kafka_topic_prefix,
            config.outbox_retention,
        ) {
            Ok(relay) => Some(tokio::spawn(relay.run())),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the Kafka producer; events wait in the outbox");
                None
            }
        }
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish and closes the
    /// database pool.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let reload = tokio::spawn(reload_keys(self.state.clone()));
        let relay = self.start_relay();
        let backchannel = tokio::spawn(crate::security::backchannel::run(
            self.state.provider.clone(),
            self.state.closing.subscribe(),
        ));
        let router = crate::http::router(self.state.clone());
        let limits = crate::http::server::Limits::from_config(&self.state.config);
        // Long-lived responses (the revocation feed) end when shutdown begins, so draining does
        // not wait for them.
        let closing = self.state.closing.clone();
        let shutdown = async move {
            shutdown.await;
            closing.send_replace(true);
        };
        let result = crate::http::server::serve(self.listener, router, limits, shutdown).await;
        reload.abort();
        backchannel.abort();
        if let Some(relay) = relay {
            relay.abort();
        }
        self.state.stores.db.close().await;
        result
    }
}

/// How often a node looks for keys another node added with `propusk keys rotate`.
const KEY_RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Reloads the keyring from the shared keys directory when its files change, so a rotation
/// reaches every node without a restart (new keys are published at once and sign only after
/// [`crate::keys::keyring::ACTIVATION_DELAY`], by when every node and JWKS cache knows them).
async fn reload_keys(state: AppState) {
    let mut ticker = tokio::time::interval(KEY_RELOAD_INTERVAL);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        reload_keyring(&state).await;
    }
}

/// Reloads the keyring once; true when it changed.
pub async fn reload_keyring(state: &AppState) -> bool {
    let dir = state.config.keys_dir.clone();
    match tokio::task::spawn_blocking(move || Keyring::load(&dir)).await {
        Ok(Ok(keyring)) => {
            let current = state.provider.keyring();
            let kids = |k: &Keyring| k.published().map(|j| j.kid.clone()).collect::<Vec<_>>();
            let complete = SigningAlg::ALL.iter().all(|alg| keyring.active(*alg).is_some());
            if complete && kids(&keyring) != kids(&current) {
                tracing::info!(kids = ?kids(&keyring), "signing keys reloaded");
                state.provider.replace_keyring(keyring);
                return true;
            }
            false
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot reload signing keys; keeping the current ones");
            false
        }
        Err(_) => false,
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// A store URL as logs and errors may show it: without user name or password.
fn shown_url(url: &secrecy::SecretString) -> String {
    use secrecy::ExposeSecret as _;
    match url::Url::parse(url.expose_secret()) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => "(an unparsable URL)".to_owned(),
    }
}
