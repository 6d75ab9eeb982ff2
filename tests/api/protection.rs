//! Account protection: rate limits with 429, `Retry-After` and `RateLimit` headers; lockout
//! that grows, ends by itself and by an admin, and cannot be turned against the real user's
//! known device; the password grant under the same lockout; `X-Forwarded-For` believed only
//! from trusted proxies; unknown names treated exactly like real ones.

use reqwest::Method;
use serde_json::Value;
use time::Duration;

use crate::support::{Backend, Browser, PASSWORD, TestApp};

const LOCKED: &str = "Too many failed attempts";

async fn text(response: reqwest::Response) -> (u16, String) {
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn brute_force_is_locked_out_then_rate_limited_and_the_lock_grows_and_ends_by_itself() {
    let app = TestApp::spawn_with(Backend::PostgresRedis, |c| {
        c.rate_limit_login = Some(propusk::store::Rate::new(10, Duration::minutes(1)));
    })
    .await;
    app.user("ann", "operator", None).await;
    let attacker = Browser::default();
    for _ in 0..4 {
        let (status, html) = text(attacker.log_in(&app, "ann", "wrong password 1").await).await;
        assert_eq!(status, 401);
        assert!(html.contains("Invalid username or password."));
    }
    let fifth = attacker.log_in(&app, "ann", "wrong password 1").await;
    assert_eq!(fifth.status(), 429, "the fifth failure locks");
    assert_eq!(fifth.headers()["retry-after"], "60");
    assert!(fifth.text().await.unwrap().contains(LOCKED));
    let (status, html) = text(attacker.log_in(&app, "ann", PASSWORD).await).await;
    assert_eq!(status, 429, "even the right password is refused while locked");
    assert!(html.contains(LOCKED), "{html}");
    assert_eq!(app.user_events("ann").await, ["user.created", "user.locked"]);
    assert_eq!(app.audit_of("lock").await.len(), 1);

    // Ten form posts a minute from one address: the rest get the rate limit.
    for _ in 0..4 {
        attacker.log_in(&app, "ann", "wrong password 1").await;
    }
    let limited = attacker.log_in(&app, "ann", "wrong password 1").await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["ratelimit-policy"], "\"login\";q=10;w=60");
    assert!(
        limited.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"login\";r=0;t=")
    );
    let wait: i64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        limited
            .text()
            .await
            .unwrap()
            .contains("Too many attempts from your network")
    );

    // The lock ends by itself after a minute (the injected clock, no sleeping).
    app.clock.advance(Duration::seconds(61));
    let (status, html) = text(attacker.log_in(&app, "ann", PASSWORD).await).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("You are signed in."));

    // The second lockout of the day lasts five minutes.
    let stranger = Browser::default();
    for _ in 0..5 {
        stranger.log_in(&app, "ann", "wrong password 2").await;
    }
    app.clock.advance(Duration::minutes(2));
    assert_eq!(stranger.log_in(&app, "ann", PASSWORD).await.status(), 429);
    app.clock.advance(Duration::minutes(3) + Duration::seconds(1));
    assert_eq!(stranger.log_in(&app, "ann", PASSWORD).await.status(), 200);
    let logins = app.audit_of("login").await;
    let count = |outcome: &str| logins.iter().filter(|a| a.record.outcome.as_str() == outcome).count();
    assert_eq!(count("failure"), 5 + 5, "every wrong password is on the audit trail");
    assert_eq!(count("denied"), 4 + 1 + 1, "and every attempt the lock refused");
    assert_eq!(count("success"), 2);
    app.stop().await;
}

#[tokio::test]
async fn failures_from_other_sources_cannot_lock_out_the_known_device() {
    let app = TestApp::spawn_with(Backend::PostgresRedis, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let ann = app.user("ann", "operator", None).await;
    let laptop = Browser::forwarded_for("198.51.100.7");
    assert_eq!(laptop.log_in(&app, "ann", PASSWORD).await.status(), 200);
    assert!(laptop.has_cookie("propusk_device"), "a known-device cookie");

    // A distributed guess: 20 addresses, one try each.
    for i in 0..20 {
        let bot = Browser::forwarded_for(&format!("203.0.113.{i}"));
        let status = bot.log_in(&app, "ann", "guess guess guess").await.status();
        assert_eq!(status, if i < 19 { 401 } else { 429 }, "attempt {i}");
    }
    let newcomer = Browser::forwarded_for("192.0.2.50");
    let (status, html) = text(newcomer.log_in(&app, "ann", PASSWORD).await).await;
    assert_eq!(status, 429, "unknown devices are locked out of the account");
    assert!(html.contains(LOCKED));

    // The known device has its own budget: ann still signs in.
    let (status, html) = text(laptop.log_in(&app, "ann", PASSWORD).await).await;
    assert_eq!(status, 200, "{html}");

    // The password grant is an unknown device too: it shares the lockout.
    let legacy = app.password_app().await;
    let response = app
        .post_form(
            "/token",
            Some(&legacy),
            &[("grant_type", "password"), ("username", "ann"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].as_str().unwrap().contains("locked"), "{body}");

    // An admin ends the lockout.
    let admin = app.service_app("admin", false).await;
    let token = app.client_token(&admin).await;
    let (status, _) = app
        .call(&token, Method::POST, &format!("/admin/v1/users/{ann}/unlock"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(newcomer.log_in(&app, "ann", PASSWORD).await.status(), 200);
    assert_eq!(
        app.user_events("ann").await,
        ["user.created", "user.locked", "user.unlocked"]
    );
    let unlock = app.audit_of("user.unlock").await;
    assert_eq!(unlock[0].record.details["was_locked"], true);
    app.stop().await;
}

#[tokio::test]
async fn the_password_grant_counts_failures_into_the_same_lockout() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("bob", "operator", None).await;
    let legacy = app.password_app().await;
    for _ in 0..5 {
        let response = app
            .post_form(
                "/token",
                Some(&legacy),
                &[
                    ("grant_type", "password"),
                    ("username", "bob"),
                    ("password", "not it at all"),
                ],
            )
            .await;
        assert_eq!(response.status(), 400);
    }
    let (status, html) = text(Browser::default().log_in(&app, "bob", PASSWORD).await).await;
    assert_eq!(status, 429, "the login page from the same address is locked too");
    assert!(html.contains(LOCKED));
    app.stop().await;
}

#[tokio::test]
async fn unknown_names_cost_a_dummy_bcrypt_and_lock_like_real_ones() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("carol", "operator", None).await;
    let browser = Browser::default();
    let mut answers = Vec::new();
    for name in ["carol", "nobody-at-all"] {
        let mut seen = Vec::new();
        for _ in 0..6 {
            let (status, html) = text(browser.log_in(&app, name, "wrong wrong wrong").await).await;
            let message = ["Invalid username or password.", LOCKED]
                .into_iter()
                .find(|m| html.contains(m))
                .unwrap_or("?");
            seen.push((status, message));
        }
        answers.push(seen);
    }
    assert_eq!(
        answers[0], answers[1],
        "the same answers for a real and an unknown name"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("propusk_password_dummy_checks_total 5"),
        "each unknown-name attempt until the lock ran bcrypt against the dummy hash: {metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    let limit = Some(propusk::store::Rate::new(2, Duration::minutes(1)));
    let untrusted = TestApp::spawn_with(Backend::Embedded, |c| c.rate_limit_login = limit).await;
    let trusted = TestApp::spawn_with(Backend::Embedded, |c| {
        c.rate_limit_login = limit;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    for (app, want) in [(&untrusted, [401, 401, 429]), (&trusted, [401, 401, 401])] {
        let mut got = Vec::new();
        for i in 0..3 {
            let browser = Browser::forwarded_for(&format!("198.51.100.{i}"));
            got.push(browser.log_in(app, "x", "nope nope nope").await.status().as_u16());
        }
        assert_eq!(got, want);
    }
    let records = trusted.audit_of("login").await;
    assert_eq!(
        records[0].record.ip.as_deref(),
        Some("198.51.100.2"),
        "the audit shows the client"
    );
    let records = untrusted.audit_of("login").await;
    assert_eq!(
        records[0].record.ip.as_deref(),
        Some("127.0.0.1"),
        "not what the client claimed"
    );
    untrusted.stop().await;
    trusted.stop().await;
}

#[tokio::test]
async fn applications_over_their_rate_get_429_with_retry_after() {
    let app = TestApp::spawn_with(Backend::PostgresRedis, |c| {
        c.rate_limit_client = Some(propusk::store::Rate::new(3, Duration::minutes(1)));
        c.rate_limit_admin = Some(propusk::store::Rate::new(2, Duration::minutes(1)));
        c.rate_limit_gateway = Some(propusk::store::Rate::new(5, Duration::minutes(1)));
    })
    .await;
    let service = app.service_app("admin", false).await;
    let gateway = app.service_app("admin", true).await;
    for _ in 0..3 {
        app.client_token(&service).await;
    }
    // A gateway (introspect right) has its own, higher budget at /introspect; at /token it is
    // a client like any other.
    let token = app.client_token(&gateway).await;
    for _ in 0..5 {
        let r = app.post_form("/introspect", Some(&gateway), &[("token", &token)]).await;
        assert_eq!(r.status(), 200);
    }
    let over = app.post_form("/introspect", Some(&gateway), &[("token", &token)]).await;
    assert_eq!(over.status(), 429);
    assert_eq!(over.headers()["ratelimit-policy"], "\"gateway\";q=5;w=60");
    let response = app
        .post_form("/token", Some(&service), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "20");
    assert_eq!(response.headers()["ratelimit-policy"], "\"client\";q=3;w=60");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    app.clock.advance(Duration::seconds(20));
    let token = app.client_token(&service).await;
    for want in [200, 200, 429] {
        let (status, body) = app.call(&token, Method::GET, "/admin/v1/roles", None).await;
        assert_eq!(status, want, "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn parallel_guesses_get_no_more_checks_than_the_threshold() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("pam", "operator", None).await;
    let legacy = app.password_app().await;
    let guesses: Vec<_> = (0..12)
        .map(|i| {
            let (client, url, app) = (app.client.clone(), app.url("/token"), legacy.clone());
            tokio::spawn(async move {
                let password = format!("guess number {i}");
                client
                    .post(url)
                    .basic_auth(&app.client_id, app.secret.as_deref())
                    .form(&[
                        ("grant_type", "password"),
                        ("username", "pam"),
                        ("password", password.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        let status = guess.await.unwrap();
        assert!(matches!(status, 400 | 429), "{status}");
        checked += usize::from(status == 400);
    }
    let failures = app.audit_of("login").await;
    let verified = failures
        .iter()
        .filter(|a| a.record.outcome.as_str() == "failure")
        .count();
    assert!(verified <= 5, "{verified} passwords were checked; the threshold is 5");
    assert!(checked >= 1, "some guesses were answered");
    app.stop().await;
}

#[tokio::test]
async fn a_lock_on_one_name_says_nothing_about_another_name_of_the_account() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("gil", "operator", None).await;
    let browser = Browser::default();
    for _ in 0..5 {
        browser.log_in(&app, "gil", "wrong wrong wrong").await;
    }
    assert_eq!(browser.log_in(&app, "gil", "wrong wrong wrong").await.status(), 429);
    let (status, html) = text(browser.log_in(&app, "gil@example.com", "wrong wrong wrong").await).await;
    assert_eq!(
        status, 401,
        "the email is another name, with its own budget from this address"
    );
    assert!(html.contains("Invalid username or password."));
    app.stop().await;
}
