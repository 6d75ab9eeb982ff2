//! The smaller defects of issue 12, each its own test: hostile input that must not reach the
//! database, budgets a stranger must not spend, headers every answer carries, client errors
//! client libraries can read, and connections that must not hold the server.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Backend, Browser, PASSWORD, TestApp};
use propusk::security::reset::{self, Source};

#[tokio::test]
async fn a_nul_byte_in_a_login_name_or_a_filter_is_refused_not_a_store_failure() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "admin", None).await;
    let legacy = app.password_app().await;
    let response = app
        .post_form(
            "/token",
            Some(&legacy),
            &[
                ("grant_type", "password"),
                ("username", "ann\0"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "the usual answer: {body}");
    let page = Browser::default().log_in(&app, "a\0nn", PASSWORD).await;
    assert!(page.status().is_client_error(), "{}", page.status());

    let staff = app.client_token(&app.service_app("admin", false).await).await;
    for path in [
        "/admin/v1/users?q=a%00b",
        "/admin/v1/users?role=ad%00min",
        "/admin/v1/audit?action=login%00",
        "/admin/v1/audit?actor_id=%00",
        "/admin/v1/audit?outcome=x%00",
    ] {
        let (status, body) = app.call(&staff, Method::GET, path, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{path}: {body}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_stranger_cannot_spend_the_reset_mails_of_the_users_own_sources() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    let provider = &app.state.provider;
    let ctx = Default::default();
    let stranger = Source {
        ip: [203, 0, 113, 7].into(),
        device: None,
    };
    for _ in 0..8 {
        reset::request(provider, "ann", stranger.clone(), &ctx).await.unwrap();
    }
    let sent = || async { app.audit_of("password.reset_requested").await.len() };
    assert_eq!(
        sent().await,
        reset::DAILY as usize,
        "the stranger's source has its own budget"
    );
    // Ann, from her own network, still gets her link.
    let home = Source {
        ip: [198, 51, 100, 20].into(),
        device: None,
    };
    reset::request(provider, "ann", home, &ctx).await.unwrap();
    assert_eq!(sent().await, reset::DAILY as usize + 1);
    // Strangers rotating addresses stop at the budget of all unknown sources; a known device
    // of Ann's keeps its own.
    for n in 0..40u8 {
        let rotating = Source {
            ip: [192, 0, 2, n].into(),
            device: None,
        };
        reset::request(provider, "ann", rotating, &ctx).await.unwrap();
    }
    assert_eq!(sent().await, reset::DAILY_UNKNOWN as usize);
    let user = app.state.stores.db.find_user_by_login("ann").await.unwrap().unwrap();
    let now = propusk::clock::Clock::now(&app.clock);
    propusk::security::signin::device::remember(&app.state.stores.state, user.id, "laptop", now)
        .await
        .unwrap();
    let device = Source {
        ip: [192, 0, 2, 1].into(),
        device: Some("laptop".into()),
    };
    reset::request(provider, "ann", device, &ctx).await.unwrap();
    assert_eq!(
        sent().await,
        reset::DAILY_UNKNOWN as usize + 1,
        "the known device's own budget"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_account_admin_never_edits_itself_through_the_admin_api() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme").await;
    let boss = app.user("boss", "client_admin", Some(&acme.id.to_string())).await;
    let token = app.access_token(&app.web_app(true).await, "boss").await;
    let (status, body) = app
        .call(
            &token,
            Method::PATCH,
            &format!("/admin/v1/users/{boss}"),
            Some(json!({ "name": "Big Boss" })),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn the_audit_listing_is_rationed_like_every_admin_route() {
    let app = TestApp::spawn_with(Backend::Embedded, |c| {
        c.rate_limit_admin = Some(propusk::store::Rate::new(3, time::Duration::minutes(1)));
    })
    .await;
    let staff = app.client_token(&app.service_app("admin", false).await).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.call(&staff, Method::GET, "/admin/v1/audit", None).await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    app.stop().await;
}

#[tokio::test]
async fn answers_carry_nosniff_and_hsts_when_the_issuer_is_https() {
    let plain = TestApp::spawn(Backend::Embedded).await;
    let response = plain.get("/.well-known/openid-configuration").await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers().get("strict-transport-security").is_none());
    let error = plain.get("/no/such/page").await;
    assert_eq!(error.headers()["x-content-type-options"], "nosniff");
    plain.stop().await;

    let https = TestApp::spawn_with(Backend::Embedded, |c| {
        c.issuer = url::Url::parse("https://id.example.com").unwrap();
    })
    .await;
    let response = https.get("/healthz").await;
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    https.stop().await;
}

#[tokio::test]
async fn a_wrong_secret_in_the_body_is_a_readable_400_and_in_the_header_a_401_challenge() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let service = app.service_app("operator", false).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", service.client_id.as_str()),
        ("client_secret", "wrong"),
    ];
    let response = app.client.post(app.url("/token")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("www-authenticate").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let response = app
        .client
        .post(app.url("/token"))
        .basic_auth(&service.client_id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    app.stop().await;
}

/// True when the server closed the connection (EOF or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn slow_and_greedy_clients_are_cut_off_while_health_checks_go_on() {
    let app = TestApp::spawn_with(Backend::Embedded, |c| {
        c.header_read_timeout = time::Duration::seconds(1);
        c.max_connections_per_client = 8;
    })
    .await;
    // Half a request's headers, then nothing: closed after the header-read timeout.
    let mut slow = Vec::new();
    for _ in 0..6 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(stream);
    }
    // A client without a connection pool: each check on a connection of its own.
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let health = || async { fresh.get(app.url("/healthz")).send().await.unwrap().status() };
    assert_eq!(health().await, 200, "answered during the attack");
    // Over the per-client limit: closed at once, before a byte is read.
    let mut greedy = Vec::new();
    for _ in 0..4 {
        greedy.push(TcpStream::connect(app.addr).await.unwrap());
    }
    let mut refused = 0;
    for stream in &mut greedy {
        if closed_within(stream, Duration::from_millis(300)).await {
            refused += 1;
        }
    }
    assert!(
        refused >= 2,
        "connections over the per-client limit are closed: {refused}"
    );
    let started = Instant::now();
    for stream in &mut slow {
        assert!(
            closed_within(stream, Duration::from_secs(3)).await,
            "a slow client is cut off"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(health().await, 200, "the server answers throughout");

    // A body declared over the limit is refused at once, not awaited.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\ngrant_type=x",
        )
        .await
        .unwrap();
    let mut answer = vec![0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer))
        .await
        .expect("answered at once")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    app.stop().await;
}
