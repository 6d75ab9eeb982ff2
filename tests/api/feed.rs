//! The revocation feed (`GET /revocations`, Server-Sent Events) for gateways that verify tokens
//! offline: each kind of revocation arrives within a second, the feed replays what a new client
//! needs, and a client that reconnects with `Last-Event-ID` loses nothing and gets nothing twice.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Backend, Browser, RegisteredApp, TestApp};

/// A connected feed and what it has sent but not yet been read.
struct Feed {
    response: reqwest::Response,
    buffer: String,
}

impl Feed {
    async fn open(app: &TestApp, client: &RegisteredApp, last: Option<&str>) -> Self {
        let mut request = app
            .client
            .get(app.url("/revocations"))
            .basic_auth(&client.client_id, client.secret.as_deref());
        if let Some(id) = last {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event: its id and data.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                };
                if let (Some(id), Some(data)) = (field("id:"), field("data:")) {
                    return (id, serde_json::from_str(&data).unwrap());
                }
                continue; // a keep-alive comment
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.response.chunk())
                .await
                .expect("the feed sent nothing for 5 s")
                .unwrap()
                .expect("the feed ended");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The first event (skipping others) of `kind` about `id`.
    async fn until(&mut self, kind: &str, id: &str) -> (String, Value) {
        loop {
            let (event_id, data) = self.next().await;
            if data["kind"] == kind && data["id"] == id {
                return (event_id, data);
            }
        }
    }
}

#[tokio::test]
async fn every_kind_of_revocation_reaches_the_feed_at_once_and_a_reconnect_loses_none() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.account("Acme").await;
    app.user("ann", "client_user", Some("acme")).await;
    app.user("root", "admin", None).await;
    let rp = app.web_app(true).await;
    let gateway = app.service_app("admin", true).await;

    // Only applications with the introspect right may listen.
    let plain = app.service_app("operator", false).await;
    let refused = app
        .client
        .get(app.url("/revocations"))
        .basic_auth(&plain.client_id, plain.secret.as_deref())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(app.get("/revocations").await.status(), 401);

    // Revoked before the gateway connects: replayed at connect.
    let early = app.access_token(&rp, "ann").await;
    let early_jti = app.state.oauth.access_claims(&early).unwrap().jti.clone();
    app.revoke(&rp, &early).await;
    let mut feed = Feed::open(&app, &gateway, None).await;
    let (_, entry) = feed.until("jti", &early_jti).await;
    assert!(entry["until"].as_i64().unwrap() > 0);

    // /revoke while connected: within a second.
    let token = app.access_token(&rp, "ann").await;
    let jti = app.state.oauth.access_claims(&token).unwrap().jti.clone();
    let started = Instant::now();
    app.revoke(&rp, &token).await;
    let (after_revoke, _) = feed.until("jti", &jti).await;
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());

    // Logout: the session.
    let browser = Browser::default();
    let tokens = app.code_tokens(&browser, &rp, "ann", "openid").await;
    let claims = app
        .state
        .oauth
        .access_claims(tokens["access_token"].as_str().unwrap())
        .unwrap();
    let sid = claims.sid.clone().unwrap();
    app.logout(&browser).await;
    feed.until("session", &sid).await;

    // A block: the user's generations move.
    let admin = app.access_token(&rp, "root").await;
    let sub = claims.sub.clone();
    let (status, body) = app
        .call(
            &admin,
            reqwest::Method::POST,
            &format!("/admin/v1/users/{sub}/block"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, moved) = feed.until("sessions", &sub).await;
    assert!(moved["generation"].as_i64().unwrap() > 0);
    let (last_seen, _) = feed.until("user", &sub).await;
    drop(feed);

    // Revoked while the gateway was away: a reconnect from its last id gets it, and nothing it
    // had already seen.
    app.user("bob", "operator", None).await;
    let missed = app.access_token(&rp, "bob").await;
    let missed_jti = app.state.oauth.access_claims(&missed).unwrap().jti.clone();
    app.revoke(&rp, &missed).await;
    let mut feed = Feed::open(&app, &gateway, Some(&last_seen)).await;
    let mut seen = Vec::new();
    loop {
        let (id, entry) = feed.next().await;
        assert_ne!(id, after_revoke, "nothing before the last id comes again");
        seen.push(entry.clone());
        if entry["kind"] == "jti" && entry["id"] == missed_jti.as_str() {
            break;
        }
    }
    assert!(seen.iter().all(|e| e["id"] != jti.as_str()));

    let bad = app
        .client
        .get(app.url("/revocations"))
        .basic_auth(&gateway.client_id, gateway.secret.as_deref())
        .header("Last-Event-ID", "not-an-id")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    drop(feed);
    app.stop().await;
}

/// A gateway that verifies tokens without asking Propusk (the signature is checked with the
/// keys alone) and applies the feed as the README says.
#[derive(Default)]
struct OfflineGateway {
    denied: std::collections::HashSet<(String, String)>,
    generations: std::collections::HashMap<(String, String), i64>,
}

impl OfflineGateway {
    fn apply(&mut self, entry: &Value) {
        let kind = entry["kind"].as_str().unwrap().to_owned();
        let id = entry["id"].as_str().unwrap().to_owned();
        match entry["generation"].as_i64() {
            Some(g) => {
                let seen = self.generations.entry((kind, id)).or_default();
                *seen = (*seen).max(g);
            }
            None => {
                self.denied.insert((kind, id));
            }
        }
    }

    fn refuses(&self, claims: &Value) -> bool {
        let denied = |kind: &str, field: &str| {
            claims[field]
                .as_str()
                .is_some_and(|id| self.denied.contains(&(kind.to_owned(), id.to_owned())))
        };
        let rev = |mark: &str| claims["rev"][mark].as_i64().unwrap_or(0);
        let moved = |kind: &str, id: Option<&str>, mark: &str| {
            id.is_some_and(|id| {
                self.generations
                    .get(&(kind.to_owned(), id.to_owned()))
                    .is_some_and(|g| *g > rev(mark))
            })
        };
        let role = claims["role"].as_str().or(claims["rev"]["rn"].as_str());
        denied("jti", "jti")
            || denied("session", "sid")
            || denied("family", "fam")
            || moved("user", claims["sub"].as_str(), "u")
            || moved("role", role, "r")
            || moved("account", claims["clientId"].as_str(), "c")
            || moved("app", claims["client_id"].as_str(), "a")
    }

    /// Reads the feed until the gateway refuses `token`; fails after one second.
    async fn refuses_within_a_second(&mut self, app: &TestApp, feed: &mut Feed, token: &str) {
        // Offline verification: signature, issuer, expiry with the keys, no call to Propusk.
        let claims = serde_json::to_value(&*app.state.oauth.access_claims(token).unwrap()).unwrap();
        let started = Instant::now();
        while !self.refuses(&claims) {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "not refused within 1 s: {claims}"
            );
            let (_, entry) = feed.next().await;
            self.apply(&entry);
        }
    }
}

#[tokio::test]
async fn an_offline_gateway_applying_the_feed_refuses_each_kind_of_revoked_token_within_a_second() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme").await;
    app.user("ann", "client_user", Some("acme")).await;
    app.user("olga", "operator", None).await;
    app.user("root", "admin", None).await;
    let rp = app.web_app(true).await;
    let gateway_app = app.service_app("admin", true).await;
    let admin = app.access_token(&rp, "root").await;
    let mut feed = Feed::open(&app, &gateway_app, None).await;
    let mut gateway = OfflineGateway::default();
    let call = |path: String, method: reqwest::Method, body: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let (status, answer) = app.call(&admin, method, &path, Some(body)).await;
            assert_eq!(status, 200, "{path}: {answer}");
        }
    };

    // jti: /revoke.
    let token = app.access_token(&rp, "ann").await;
    app.revoke(&rp, &token).await;
    gateway.refuses_within_a_second(&app, &mut feed, &token).await;

    // family: /revoke of the refresh token ends the access tokens it produced.
    let tokens = app.code_tokens(&Browser::default(), &rp, "ann", "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    app.revoke(&rp, tokens["refresh_token"].as_str().unwrap()).await;
    gateway.refuses_within_a_second(&app, &mut feed, token).await;

    // session: logout.
    let browser = Browser::default();
    let tokens = app.code_tokens(&browser, &rp, "ann", "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    app.logout(&browser).await;
    gateway.refuses_within_a_second(&app, &mut feed, token).await;

    // role: a role's permissions change.
    let role = serde_json::json!({
        "name": "dispatcher", "description": "d", "scope": "staff", "permissions": ["parcels:read"]
    });
    let (status, body) = app
        .call(&admin, reqwest::Method::POST, "/admin/v1/roles", Some(role))
        .await;
    assert!(status == 200 || status == 201, "{body}");
    app.user("dave", "dispatcher", None).await;
    let token = app.access_token(&rp, "dave").await;
    let change = serde_json::json!({ "permissions": ["parcels:read", "parcels:update"] });
    call("/admin/v1/roles/dispatcher".into(), reqwest::Method::PUT, change).await;
    gateway.refuses_within_a_second(&app, &mut feed, &token).await;

    // account: Acme is suspended.
    let token = app.access_token(&rp, "ann").await;
    let suspend = serde_json::json!({ "status": "suspended" });
    call(
        format!("/admin/v1/clients/{}", acme.id),
        reqwest::Method::PATCH,
        suspend,
    )
    .await;
    gateway.refuses_within_a_second(&app, &mut feed, &token).await;

    // app: the application is disabled; and user: a block (on a second application's token).
    let other = app.web_app(true).await;
    let token = app.access_token(&other, "olga").await;
    let disable = serde_json::json!({ "enabled": false });
    call(
        format!("/admin/v1/applications/{}", other.client_id),
        reqwest::Method::PATCH,
        disable,
    )
    .await;
    gateway.refuses_within_a_second(&app, &mut feed, &token).await;
    let token = app.access_token(&rp, "olga").await;
    let sub = app.state.oauth.access_claims(&token).unwrap().sub.clone();
    let (status, _) = app
        .call(
            &admin,
            reqwest::Method::POST,
            &format!("/admin/v1/users/{sub}/block"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    gateway.refuses_within_a_second(&app, &mut feed, &token).await;
    drop(feed);
    app.stop().await;
}

#[tokio::test]
async fn an_open_feed_ends_when_its_application_loses_the_introspect_right() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("root", "admin", None).await;
    let rp = app.web_app(true).await;
    let gateway = app.service_app("admin", true).await;
    let admin = app.access_token(&rp, "root").await;
    let mut feed = Feed::open(&app, &gateway, None).await;
    let path = format!("/admin/v1/applications/{}", gateway.client_id);
    let change = serde_json::json!({ "introspect": false });
    let (status, body) = app.call(&admin, reqwest::Method::PATCH, &path, Some(change)).await;
    assert_eq!(status, 200, "{body}");
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while feed.response.chunk().await.unwrap().is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ended");
    app.stop().await;
}

/// One application cannot hold every stream of a node: past its own share it gets a 503 with
/// `Retry-After`, and another application still connects.
#[tokio::test]
async fn one_application_cannot_take_every_feed_stream() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let greedy = app.service_app("admin", true).await;
    let other = app.service_app("admin", true).await;
    let mut open = Vec::new();
    for _ in 0..32 {
        open.push(Feed::open(&app, &greedy, None).await);
    }
    let refused = app
        .client
        .get(app.url("/revocations"))
        .basic_auth(&greedy.client_id, greedy.secret.as_deref())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let _fine = Feed::open(&app, &other, None).await;
    drop(open);
    app.stop().await;
}

/// An entry nobody can read (a foreign or damaged write) is stepped over: the revocations after
/// it still reach a new stream and an open one.
#[tokio::test]
async fn an_unreadable_feed_entry_does_not_stall_the_feed() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let gateway = app.service_app("admin", true).await;
    let keep = time::Duration::hours(1);
    for _ in 0..3 {
        app.state
            .stores
            .hot
            .log_append("feed:revocations", b"not json", keep)
            .await
            .unwrap();
    }
    let mut feed = Feed::open(&app, &gateway, None).await;
    let token = app.access_token(&rp, "ann").await;
    let jti = app.state.oauth.access_claims(&token).unwrap().jti.clone();
    app.revoke(&rp, &token).await;
    feed.until("jti", &jti).await;
    app.state
        .stores
        .hot
        .log_append("feed:revocations", b"{", keep)
        .await
        .unwrap();
    let later = app.access_token(&rp, "ann").await;
    let later_jti = app.state.oauth.access_claims(&later).unwrap().jti.clone();
    app.revoke(&rp, &later).await;
    feed.until("jti", &later_jti).await;
    app.stop().await;
}
