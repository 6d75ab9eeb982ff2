//! Test harness shared by the test binaries: real PostgreSQL (a fresh database per test,
//! cloned from a migrated template), real Redis (a unique key prefix per test), a TCP proxy that
//! can cut a connection mid-test, and `TestApp`, the real server on port 0.
//!
//! Components are required: when PostgreSQL or Redis is unreachable the tests fail loudly.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use propusk::app::App;
use propusk::clock::ManualClock;
use propusk::config::{Config, DatabaseConfig, RedisConfig};
use propusk::identity::admin::NewApplication;
use secrecy::SecretString;
use sqlx::{Connection as _, Executor as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The PostgreSQL server tests use (no database in the URL).
pub fn pg_server() -> String {
    std::env::var("PROPUSK_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The Redis server tests use.
pub fn redis_url() -> String {
    std::env::var("PROPUSK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("propusk-test-{}", uuid::Uuid::new_v4().simple())
}

/// A hash of the PostgreSQL migrations, naming the template database built from them.
fn migrations_hash() -> u64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        for byte in file
            .file_name()
            .unwrap()
            .as_encoded_bytes()
            .iter()
            .chain(&std::fs::read(&file).unwrap())
        {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// A new, migrated PostgreSQL database of its own; returns its URL. Databases are named
/// `propusk_t_*`; `scripts/test` drops them after the run.
pub async fn fresh_database() -> String {
    let server = pg_server();
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be running at {server} (start it with scripts/test): {e}"));
    let hash = migrations_hash();
    let template = format!("propusk_tpl_{hash:016x}");
    let lock = i64::from_ne_bytes(hash.to_ne_bytes());
    // One process at a time builds the template and clones it (PostgreSQL refuses to copy a
    // database that another session is copying or connected to).
    admin
        .execute(sqlx::query("SELECT pg_advisory_lock($1)").bind(lock))
        .await
        .unwrap();
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&template)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    if !exists {
        let building = format!("{template}_building");
        admin
            .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {building}")))
            .await
            .unwrap();
        let store = propusk::store::postgres::PgStore::connect(&format!("{server}/{building}"), 2)
            .await
            .unwrap();
        propusk::store::Database::close(&store).await;
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE {building} RENAME TO {template}"
            )))
            .await
            .unwrap();
    }
    let name = format!("propusk_t_{}", uuid::Uuid::new_v4().simple());
    let created = admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {template}"
        )))
        .await;
    admin
        .execute(sqlx::query("SELECT pg_advisory_unlock($1)").bind(lock))
        .await
        .unwrap();
    created.unwrap();
    admin.close().await.unwrap();
    format!("{server}/{name}")
}

/// A TCP proxy in front of a real component; `cut` drops every connection and refuses new ones
/// until `restore`.
pub struct TcpProxy {
    pub addr: SocketAddr,
    up: Arc<watch::Sender<bool>>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(watch::Sender::new(true));
        let sender = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !*sender.borrow() {
                    drop(inbound);
                    continue;
                }
                let mut down = sender.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { addr, up }
    }

    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}

/// The address of a `redis://host:port` URL.
pub fn redis_addr() -> SocketAddr {
    let url = url::Url::parse(&redis_url()).unwrap();
    let host = url.host_str().unwrap();
    format!("{host}:{}", url.port().unwrap_or(6379)).parse().unwrap()
}

/// An application registered for a test, with its one-time secret.
#[derive(Debug, Clone)]
pub struct RegisteredApp {
    pub client_id: String,
    pub secret: Option<String>,
}

/// Where a test app keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file and in-process hot state: the embedded default.
    Embedded,
    /// Real PostgreSQL and Redis.
    PostgresRedis,
}

/// The real server, on port 0, with a clock the test moves.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub config: Config,
    pub state: propusk::app::AppState,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns after letting the test adjust the configuration.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        propusk::app::install_crypto();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::embedded_in(dir.path());
        if backend == Backend::PostgresRedis {
            config.database = DatabaseConfig::Postgres(SecretString::from(fresh_database().await));
            config.redis = Some(RedisConfig {
                url: SecretString::from(redis_url()),
                pool_size: 2,
            });
            config.redis_prefix = unique_prefix();
        }
        // Bind first, so the issuer can name the real port.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.listen = addr;
        config.issuer = url::Url::parse(&format!("http://{addr}")).unwrap();
        // Tests sign admins in with a password alone unless they test the 2FA policy.
        config.mfa_required_roles = Vec::new();
        adjust(&mut config);
        let clock = ManualClock::starting_now();
        let app = App::build_on(Some(listener), config.clone(), Arc::new(clock.clone()))
            .await
            .unwrap_or_else(|e| panic!("the test app must start ({backend:?}): {e}"));
        let addr = app.local_addr();
        let state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run(async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            clock,
            config,
            state,
            dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A second node on this node's stores: the same database, Redis prefix, keys and issuer.
    pub async fn second_node(&self) -> Self {
        Self::spawn_with(Backend::PostgresRedis, |config| {
            config.database = self.config.database.clone();
            config.redis_prefix = self.config.redis_prefix.clone();
            config.keys_dir = self.config.keys_dir.clone();
            config.issuer = self.config.issuer.clone();
        })
        .await
    }

    /// Asks for a password reset link for `login`, as the reset page does from 127.0.0.1.
    pub async fn request_reset(&self, login: &str) {
        let from = propusk::security::reset::Source {
            ip: [127, 0, 0, 1].into(),
            device: None,
        };
        propusk::security::reset::request(&self.state.provider, login, from, &Default::default())
            .await
            .unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers an application as `propusk admin app create` would; returns it and its secret.
    pub async fn register(&self, input: NewApplication) -> RegisteredApp {
        let (app, secret) =
            propusk::identity::admin::create_application(self.state.stores.db.as_ref(), &self.clock, input)
                .await
                .unwrap();
        RegisteredApp {
            client_id: app.client_id.to_string(),
            secret: secret.map(|s| s.expose().to_owned()),
        }
    }

    /// A confidential `client_credentials` application with a service role.
    pub async fn service_app(&self, role: &str, introspect: bool) -> RegisteredApp {
        self.register(NewApplication {
            name: format!("{role} service"),
            grants: vec!["client_credentials".into()],
            scopes: vec!["parcels".into(), "labels".into()],
            role: Some(role.into()),
            introspect,
            ..NewApplication::default()
        })
        .await
    }

    /// POSTs a form, authenticating with HTTP Basic when `auth` is given.
    pub async fn post_form(
        &self,
        path: &str,
        auth: Option<&RegisteredApp>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).form(form);
        if let Some(app) = auth {
            request = request.basic_auth(&app.client_id, app.secret.as_deref());
        }
        request.send().await.unwrap()
    }

    /// A `client_credentials` access token for `app`.
    pub async fn client_token(&self, app: &RegisteredApp) -> String {
        let response = self
            .post_form("/token", Some(app), &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// Creates a user as `propusk admin user create` would; returns its id.
    pub async fn user(&self, username: &str, role: &str, client: Option<&str>) -> String {
        let input = propusk::identity::admin::NewUser {
            username: username.into(),
            password: SecretString::from(PASSWORD.to_owned()),
            role: role.into(),
            client: client.map(str::to_owned),
            email: Some(format!("{username}@example.com")),
            phone: None,
            name: Some(format!("{username} tester")),
        };
        let user =
            propusk::identity::admin::create_user(self.state.stores.db.as_ref(), &self.clock, 4, &self.base, input)
                .await
                .unwrap();
        user.id.to_string()
    }

    /// A B2B account named `name` (its slug made from the name), as `admin client create` would.
    pub async fn account(&self, name: &str) -> propusk::identity::account::Account {
        let input = propusk::identity::admin::NewAccount {
            name: name.into(),
            slug: None,
        };
        propusk::identity::admin::create_account(self.state.stores.db.as_ref(), &self.clock, input)
            .await
            .unwrap()
    }

    /// A confidential application that may use the password grant (legacy tools).
    pub async fn password_app(&self) -> RegisteredApp {
        self.register(NewApplication {
            name: "legacy tool".into(),
            grants: vec!["password".into()],
            ..NewApplication::default()
        })
        .await
    }

    /// A confidential web application using the code flow; `first_party` skips consent.
    pub async fn web_app(&self, first_party: bool) -> RegisteredApp {
        self.register(NewApplication {
            name: "Tracking web".into(),
            redirect_uris: vec!["https://client.example.com/cb".into()],
            post_logout_redirect_uris: vec!["https://client.example.com/bye".into()],
            first_party,
            ..NewApplication::default()
        })
        .await
    }
}

/// A browser: follows nothing by itself, keeps cookies.
pub struct Browser {
    client: reqwest::Client,
    jar: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl Default for Browser {
    fn default() -> Self {
        propusk::app::install_crypto();
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: Default::default(),
        }
    }
}

impl Browser {
    /// A browser whose requests arrive through a proxy that says they come from `ip`.
    pub fn forwarded_for(ip: &str) -> Self {
        propusk::app::install_crypto();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", ip.parse().unwrap());
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
            jar: Default::default(),
        }
    }

    /// Loads the login page and submits it; the response to the POST.
    pub async fn log_in(&self, app: &TestApp, login: &str, password: &str) -> reqwest::Response {
        let page = self.get(&app.url("/login")).await.text().await.unwrap();
        self.post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("login", login),
                ("password", password),
            ],
        )
        .await
    }

    fn cookie_header(&self) -> String {
        self.jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&self, response: &reqwest::Response) {
        let mut jar = self.jar.lock().unwrap();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.jar.lock().unwrap().contains_key(name)
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        let response = self
            .client
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .client
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }
}

/// The `Location` of a redirect, made absolute against `base`.
pub fn location(response: &reqwest::Response, base: &str) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    let to = response.headers()["location"].to_str().unwrap();
    if to.starts_with('/') {
        format!("{base}{to}")
    } else {
        to.to_owned()
    }
}

/// The value of the hidden form field `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The claims of a JWT (unverified: the tests check what was issued).
pub fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// The current TOTP code of a base32 seed at `at` (what an authenticator app shows).
pub fn totp_code(base32: &str, at: time::OffsetDateTime) -> String {
    let secret = totp_rs::Secret::try_from_base32(base32).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    totp.generate(u64::try_from(at.unix_timestamp()).unwrap()).to_string()
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl TestApp {
    /// Drives a browser from an authorization URL through login (and consent, when asked) to the
    /// client's callback; returns the callback URL.
    pub async fn sign_in(&self, browser: &Browser, authorize_url: &str, username: &str) -> String {
        self.sign_in_with(browser, authorize_url, username, &|page: &str| {
            panic!("unexpected second-factor step: {page}")
        })
        .await
    }

    /// [`Self::sign_in`] where the second-factor page is answered by `second` (given the page,
    /// it returns the method and the code).
    pub async fn sign_in_with(
        &self,
        browser: &Browser,
        authorize_url: &str,
        username: &str,
        second: &dyn Fn(&str) -> (String, String),
    ) -> String {
        let mut response = browser.get(authorize_url).await;
        let mut to = location(&response, &self.base);
        if to.starts_with(&self.url("/login")) {
            let page = browser.get(&to).await.text().await.unwrap();
            response = browser
                .post(
                    &self.url("/login"),
                    &[
                        ("csrf", &hidden(&page, "csrf")),
                        ("req", &hidden(&page, "req")),
                        ("login", username),
                        ("password", PASSWORD),
                    ],
                )
                .await;
            to = location(&response, &self.base);
        }
        if to == self.url("/login/2fa") {
            let page = browser.get(&to).await.text().await.unwrap();
            let (method, code) = second(&page);
            response = browser
                .post(
                    &self.url("/login/2fa"),
                    &[("csrf", &hidden(&page, "csrf")), ("method", &method), ("code", &code)],
                )
                .await;
            to = location(&response, &self.base);
        }
        if to.starts_with(&self.url("/consent")) {
            let page = browser.get(&to).await.text().await.unwrap();
            response = browser
                .post(
                    &self.url("/consent"),
                    &[
                        ("csrf", &hidden(&page, "csrf")),
                        ("req", &hidden(&page, "req")),
                        ("decision", "allow"),
                    ],
                )
                .await;
            to = location(&response, &self.base);
        }
        to
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    use base64::Engine as _;
    let verifier = format!("v{}", uuid::Uuid::new_v4().simple()).repeat(2);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (
        verifier,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()),
    )
}

impl TestApp {
    /// `/authorize?…` for `client` with `params` (the caller gives everything else).
    pub fn authorize_url(&self, client: &RegisteredApp, params: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        url.query_pairs_mut().append_pair("client_id", &client.client_id);
        for (k, v) in params {
            url.query_pairs_mut().append_pair(k, v);
        }
        url.to_string()
    }

    /// Signs `username` in for `client` (code flow with PKCE, scope `scope`) and redeems the
    /// code; returns the token response.
    pub async fn code_tokens(
        &self,
        browser: &Browser,
        client: &RegisteredApp,
        username: &str,
        scope: &str,
    ) -> serde_json::Value {
        self.code_tokens_with(browser, client, username, scope, &|page: &str| {
            panic!("unexpected second-factor step: {page}")
        })
        .await
    }

    /// [`Self::code_tokens`] answering a second-factor step with `second`.
    pub async fn code_tokens_with(
        &self,
        browser: &Browser,
        client: &RegisteredApp,
        username: &str,
        scope: &str,
        second: &dyn Fn(&str) -> (String, String),
    ) -> serde_json::Value {
        let (verifier, challenge) = pkce();
        let url = self.authorize_url(
            client,
            &[
                ("response_type", "code"),
                ("redirect_uri", "https://client.example.com/cb"),
                ("scope", scope),
                ("state", "s1"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let callback = self.sign_in_with(browser, &url, username, second).await;
        let code = query_param(&callback, "code").unwrap_or_else(|| panic!("no code in {callback}"));
        let response = self
            .post_form(
                "/token",
                Some(client),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", "https://client.example.com/cb"),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

/// The test Kafka broker `scripts/test` started (required: tests fail without it).
pub fn kafka_brokers() -> String {
    std::env::var("PROPUSK_TEST_KAFKA_BROKERS")
        .unwrap_or_else(|_| panic!("PROPUSK_TEST_KAFKA_BROKERS is not set: run the tests with scripts/test"))
}

/// A private tansu broker (for outage tests) listening on `port`, advertising `advertised`.
pub struct Broker(std::process::Child);

impl Broker {
    pub fn start(port: u16, advertised: u16) -> Self {
        let bin = std::env::var("PROPUSK_TEST_TANSU")
            .unwrap_or_else(|_| panic!("PROPUSK_TEST_TANSU is not set: run the tests with scripts/test"));
        let child = std::process::Command::new(bin)
            .args(["broker", "--listener-url", &format!("tcp://127.0.0.1:{port}")])
            .args(["--advertised-listener-url", &format!("tcp://127.0.0.1:{advertised}")])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self(child)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads `topic` from the beginning of every partition until `done` says enough or `timeout`
/// passes; returns (key, CloudEvent) pairs in the order read.
pub async fn consume(
    brokers: &str,
    topic: &str,
    timeout: std::time::Duration,
    done: impl Fn(&[(String, serde_json::Value)]) -> bool + Send + 'static,
) -> Vec<(String, serde_json::Value)> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    use rdkafka::{ClientConfig, Message as _, Offset, TopicPartitionList};
    let brokers = brokers.to_owned();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", format!("test-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let deadline = std::time::Instant::now() + timeout;
        let partitions = loop {
            let found = consumer
                .fetch_metadata(Some(&topic), std::time::Duration::from_secs(2))
                .ok()
                .and_then(|m| m.topics().first().map(|t| t.partitions().len()))
                .unwrap_or(0);
            if found > 0 || std::time::Instant::now() > deadline {
                break found;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        let mut list = TopicPartitionList::new();
        for p in 0..partitions {
            list.add_partition_offset(&topic, p as i32, Offset::Beginning).unwrap();
        }
        consumer.assign(&list).unwrap();
        let mut seen = Vec::new();
        while std::time::Instant::now() < deadline && !done(&seen) {
            if let Some(Ok(message)) = consumer.poll(std::time::Duration::from_millis(200)) {
                let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
                let value = serde_json::from_slice(message.payload().unwrap_or_default()).unwrap();
                seen.push((key, value));
            }
        }
        seen
    })
    .await
    .unwrap()
}

impl TestApp {
    /// A JSON API call with a bearer token; the status, and the body (`Null` when none).
    pub async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.client.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// The CloudEvents types queued for the user named `username`, in order.
    pub async fn user_events(&self, username: &str) -> Vec<String> {
        self.state
            .stores
            .db
            .outbox_unsent(10_000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.topic.ends_with("user-events") && e.payload["data"]["username"] == username)
            .map(|e| e.payload["type"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The audit records (newest first) with `action`.
    pub async fn audit_of(&self, action: &str) -> Vec<propusk::audit::StoredAudit> {
        let filter = propusk::store::AuditFilter {
            action: Some(action.into()),
            ..Default::default()
        };
        self.state.stores.db.audit_search(&filter, 1000).await.unwrap()
    }

    /// The access token of `user`, signed in to `client` (code flow, scope `openid`).
    pub async fn access_token(&self, client: &RegisteredApp, user: &str) -> String {
        let tokens = self.code_tokens(&Browser::default(), client, user, "openid").await;
        tokens["access_token"].as_str().unwrap().to_owned()
    }
}

/// The test SMTP server (scripts/test starts it).
pub fn smtp_url() -> String {
    std::env::var("PROPUSK_TEST_SMTP_URL")
        .unwrap_or_else(|_| panic!("PROPUSK_TEST_SMTP_URL is not set: run the tests with scripts/test"))
}

/// Points a configuration at the test SMTP server.
pub fn with_mail(config: &mut Config) {
    config.smtp_url = Some(SecretString::from(smtp_url()));
    config.smtp_from = Some("Propusk <no-reply@propusk.test>".into());
}

/// Every message the test SMTP server received for `to`, oldest first, waiting up to 5 s for
/// at least `n` of them.
pub async fn mails_to(to: &str, n: usize) -> Vec<String> {
    let dir = std::env::var("PROPUSK_TEST_MAILDIR")
        .unwrap_or_else(|_| panic!("PROPUSK_TEST_MAILDIR is not set: run the tests with scripts/test"));
    let needle = format!("To: {to}");
    for _ in 0..100 {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(std::path::Path::new(&dir).join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if text.lines().any(|l| l.eq_ignore_ascii_case(&needle)) {
                    let modified = entry.metadata().and_then(|m| m.modified()).ok();
                    found.push((modified, entry.file_name(), text));
                }
            }
        }
        if found.len() >= n {
            found.sort();
            return found.into_iter().map(|(_, _, t)| t).collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} mails to {to} arrived");
}

/// The mails to `to` containing `needle`, waiting up to 5 s for at least `n` of them.
pub async fn mails_about(to: &str, needle: &str, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let all = mails_to(to, 0).await;
        let found: Vec<String> = all.into_iter().filter(|m| m.contains(needle)).collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} mails to {to} about {needle:?} arrived");
}

/// The first run of six digits in a text (a one-time code in a mail or SMS).
pub fn six_digits(text: &str) -> String {
    let bytes = text.as_bytes();
    for i in 0..bytes.len().saturating_sub(5) {
        let window = &bytes[i..i + 6];
        let before = i == 0 || !bytes[i - 1].is_ascii_digit();
        let after = bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit());
        if before && after && window.iter().all(u8::is_ascii_digit) {
            return String::from_utf8(window.to_vec()).unwrap();
        }
    }
    panic!("no six-digit code in {text}");
}

/// A local HTTP endpoint standing in for an SMS provider: it records each JSON body, and
/// answers 503 to the first `fail_first` requests.
pub struct SmsSink {
    pub url: url::Url,
    pub received: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    pub calls: Arc<std::sync::atomic::AtomicUsize>,
}

impl SmsSink {
    pub async fn start(fail_first: usize) -> Self {
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (r, c) = (received.clone(), calls.clone());
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let (r, c) = (r.clone(), c.clone());
                async move {
                    if c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < fail_first {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    r.lock().unwrap().push(body);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: url::Url::parse(&format!("http://{addr}/sms")).unwrap(),
            received,
            calls,
        }
    }

    /// The texts received for `to`, waiting up to 5 s for at least `n`.
    pub async fn texts_to(&self, to: &str, n: usize) -> Vec<String> {
        for _ in 0..100 {
            let texts: Vec<String> = self
                .received
                .lock()
                .unwrap()
                .iter()
                .filter(|b| b["to"] == to)
                .map(|b| b["text"].as_str().unwrap().to_owned())
                .collect();
            if texts.len() >= n {
                return texts;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("fewer than {n} texts to {to} arrived");
    }
}
