//! The revocation feed (`GET /revocations`, Server-Sent Events) for gateways that verify tokens
//! offline: each kind of revocation arrives within a second, the feed replays what a new client
//! needs, and a client that reconnects with `Last-Event-ID` loses nothing and gets nothing twice.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Backend, Browser, RegisteredApp, TestApp, hidden};

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

async fn revoke(app: &TestApp, rp: &RegisteredApp, token: &str) {
    let response = app
        .client
        .post(app.url("/revoke"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
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
    revoke(&app, &rp, &early).await;
    let mut feed = Feed::open(&app, &gateway, None).await;
    let (_, entry) = feed.until("jti", &early_jti).await;
    assert!(entry["until"].as_i64().unwrap() > 0);

    // /revoke while connected: within a second.
    let token = app.access_token(&rp, "ann").await;
    let jti = app.state.oauth.access_claims(&token).unwrap().jti.clone();
    let started = Instant::now();
    revoke(&app, &rp, &token).await;
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
    let page = browser.get(&app.url("/logout")).await.text().await.unwrap();
    let done = browser
        .post(
            &app.url("/logout"),
            &[("csrf", &hidden(&page, "csrf")), ("confirm", "yes")],
        )
        .await;
    assert_eq!(done.status(), 200);
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
    revoke(&app, &rp, &missed).await;
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
