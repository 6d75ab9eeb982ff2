//! `TestApp`: the real server on port 0 on either backend, with a clock the test moves, and
//! fixtures made as the CLI makes them (users, accounts, applications), and JSON API calls.

use super::*;

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
        propusk::crypto::install_tls_provider();
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
    /// Sends this handle's requests (and resolves redirects) through `base` instead, e.g. a load
    /// balancer in front of several nodes.
    pub fn set_base(&mut self, base: String) {
        self.base = base;
    }

    /// Ends the node at once, as a crash would: open connections are dropped mid-request.
    pub fn kill(mut self) {
        self.shutdown.take();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

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
            profile: Default::default(),
        };
        let user =
            propusk::identity::admin::create_user(self.state.stores.db.as_ref(), &self.clock, 4, &self.base, input)
                .await
                .unwrap();
        user.id.to_string()
    }

    /// A B2B account named `name` (its slug made from the name), as `admin client create` would.
    pub async fn account(&self, name: &str) -> propusk::model::account::Account {
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

    /// An app whose events go to the test broker under a fresh topic prefix; the prefix.
    pub async fn with_kafka() -> (Self, String) {
        Self::with_kafka_and(|_| {}).await
    }

    /// [`Self::with_kafka`], after letting the test adjust the configuration.
    pub async fn with_kafka_and(adjust: impl FnOnce(&mut Config)) -> (Self, String) {
        Self::with_brokers(kafka_brokers(), adjust).await
    }

    /// An app whose events go to `brokers` (a private broker, say) under a fresh topic prefix;
    /// the prefix.
    pub async fn with_brokers(brokers: String, adjust: impl FnOnce(&mut Config)) -> (Self, String) {
        let topics = format!("t{}.", uuid::Uuid::new_v4().simple());
        let prefix = topics.clone();
        let app = Self::spawn_with(Backend::PostgresRedis, move |c| {
            c.kafka_brokers = vec![brokers];
            c.kafka_topic_prefix = prefix;
            adjust(c);
        })
        .await;
        (app, topics)
    }

    /// `/revoke` of `token` by `client` (RFC 7009), which must succeed.
    pub async fn revoke(&self, client: &RegisteredApp, token: &str) {
        let response = self
            .client
            .post(self.url("/revoke"))
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    /// Signs the browser out through the logout page (confirming it).
    pub async fn logout(&self, browser: &Browser) {
        let page = browser.get(&self.url("/logout")).await.text().await.unwrap();
        let done = browser
            .post(
                &self.url("/logout"),
                &[("csrf", &hidden(&page, "csrf")), ("confirm", "yes")],
            )
            .await;
        assert_eq!(done.status(), 200);
    }

    /// Blocks the user `sub` through the admin API with `admin`'s token.
    pub async fn block(&self, admin: &str, sub: &str) {
        let path = format!("/admin/v1/users/{sub}/block");
        let (status, body) = self.call(admin, reqwest::Method::POST, &path, None).await;
        assert_eq!(status, 200, "{body}");
    }
}
