//! RP-Initiated Logout without a hint (confirmation page), with an expired hint, with an
//! unregistered post-logout URI; and the session cookie's name and attributes.

use serde_json::{Value, json};
use time::Duration;

use crate::support::{Backend, Browser, TestApp, hidden, location, query_param};

#[tokio::test]
async fn without_a_hint_the_user_confirms_and_the_sessions_tokens_die() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let gateway = app.service_app("admin", true).await;
    let browser = Browser::default();
    let tokens = app.code_tokens(&browser, &rp, "ann", "openid").await;
    let access = tokens["access_token"].as_str().unwrap();

    let page = browser.get(&app.url("/logout")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign out?"), "a confirmation page: {html}");
    let forged = browser
        .post(&app.url("/logout"), &[("csrf", "forged"), ("confirm", "yes")])
        .await;
    assert!(
        forged.text().await.unwrap().contains("Sign out?"),
        "a forged confirmation only asks again"
    );
    let body: Value = app
        .post_form("/introspect", Some(&gateway), &[("token", access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["active"], true);

    let done = browser
        .post(
            &app.url("/logout"),
            &[("csrf", &hidden(&html, "csrf")), ("confirm", "yes")],
        )
        .await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("You are signed out."));
    assert!(!browser.has_cookie("propusk_session"), "the session cookie is cleared");
    let body: Value = app
        .post_form("/introspect", Some(&gateway), &[("token", access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({ "active": false }));

    // The next authorization needs a new login.
    let url = app.authorize_url(
        &rp,
        &[
            ("response_type", "code"),
            ("redirect_uri", "https://client.example.com/cb"),
            ("scope", "openid"),
        ],
    );
    assert!(location(&browser.get(&url).await, &app.base).starts_with(&app.url("/login")));
    app.stop().await;
}

#[tokio::test]
async fn an_expired_hint_still_signs_out_and_unregistered_targets_are_refused() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let browser = Browser::default();
    let tokens = app.code_tokens(&browser, &rp, "ann", "openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    app.clock.advance(Duration::hours(2));

    let bad = format!("/logout?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fevil.example.com%2F");
    let response = browser.get(&app.url(&bad)).await;
    assert_eq!(response.status(), 400, "never redirect to an unregistered URI");
    assert!(response.headers().get("location").is_none());

    let good =
        format!("/logout?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fclient.example.com%2Fbye&state=z");
    let response = browser.get(&app.url(&good)).await;
    let to = location(&response, &app.base);
    assert!(to.starts_with("https://client.example.com/bye"), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("z"));
    assert_eq!(query_param(&to, "iss").as_deref(), Some(app.base.as_str()));
    app.stop().await;
}

#[tokio::test]
async fn over_https_the_session_cookie_is_host_prefixed_and_secure() {
    let app = TestApp::spawn_with(Backend::Embedded, |_| {}).await;
    app.user("ann", "operator", None).await;
    // A second node on the same files, with an https issuer (TLS ends at the proxy in front).
    let mut config = app.config.clone();
    config.issuer = url::Url::parse("https://auth.example.com").unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let https = propusk::app::App::build(config).await.unwrap();
    let addr = https.local_addr();
    let task = tokio::spawn(https.run(async { tokio::time::sleep(std::time::Duration::from_secs(5)).await }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(format!("http://{addr}/login")).send().await.unwrap();
    let csrf_cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(csrf_cookie.starts_with("__Host-propusk-csrf="), "{csrf_cookie}");
    let html = page.text().await.unwrap();
    let value = csrf_cookie.split(';').next().unwrap().to_owned();
    let response = client
        .post(format!("http://{addr}/login"))
        .header("cookie", value)
        .form(&[
            ("csrf", hidden(&html, "csrf").as_str()),
            ("login", "ann"),
            ("password", crate::support::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(cookies[0].starts_with("__Host-propusk-device="), "{cookies:?}");
    assert!(cookies[1].starts_with("__Host-propusk="), "{cookies:?}");
    for cookie in &cookies {
        for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert!(!cookie.contains("Domain="), "__Host- cookies carry no Domain");
    }
    task.abort();
    app.stop().await;
}

#[tokio::test]
async fn a_cross_site_logout_post_becomes_a_top_level_get_that_carries_the_session() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let browser = Browser::default();
    let tokens = app.code_tokens(&browser, &rp, "ann", "openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    // The application's form POST arrives without cookies (SameSite=Lax).
    let response = app
        .client
        .post(app.url("/logout"))
        .form(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://client.example.com/bye"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    let to = location(&response, &app.base);
    assert!(to.starts_with(&app.url("/logout?id_token_hint=")), "{to}");
    let done = browser.get(&to).await;
    let bye = location(&done, &app.base);
    assert!(bye.starts_with("https://client.example.com/bye"), "{bye}");
    assert!(!browser.has_cookie("propusk_session"));
    app.stop().await;
}
