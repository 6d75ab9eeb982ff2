//! `/authorize` refusals: which get an error page (never a redirect) and which go back to the
//! client with the RFC error, `state` and `iss`; prompt, max_age, consent memory, loopback ports.

use time::Duration;

use crate::support::{Backend, Browser, RegisteredApp, TestApp, location, pkce, query_param};

const CB: &str = "https://client.example.com/cb";

/// A case: its name, the client, the parameters, and the error expected at the redirect URI.
type Refusal<'a> = (&'a str, &'a RegisteredApp, Vec<(&'a str, &'a str)>, &'a str);

#[tokio::test]
async fn an_untrusted_client_or_redirect_uri_gets_an_error_page_never_a_redirect() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let rp = app.web_app(true).await;
    let (_, challenge) = pkce();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("unknown client", vec![("client_id", "nobody")]),
        (
            "redirect_uri with a longer path",
            vec![("redirect_uri", "https://client.example.com/cb/x")],
        ),
        (
            "redirect_uri prefix only",
            vec![("redirect_uri", "https://client.example.com/c")],
        ),
        (
            "redirect_uri with a query",
            vec![("redirect_uri", "https://client.example.com/cb?x=1")],
        ),
        (
            "redirect_uri in another case",
            vec![("redirect_uri", "https://CLIENT.example.com/CB")],
        ),
        (
            "redirect_uri with a fragment",
            vec![("redirect_uri", "https://client.example.com/cb#f")],
        ),
        ("another host", vec![("redirect_uri", "https://evil.example.com/cb")]),
        (
            "http instead of https",
            vec![("redirect_uri", "http://client.example.com/cb")],
        ),
    ];
    for (case, overrides) in cases {
        let mut params = vec![
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "st"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let mut client = rp.clone();
        let mut redirect = CB;
        for (k, v) in overrides {
            if k == "client_id" {
                client = RegisteredApp {
                    client_id: v.into(),
                    secret: None,
                };
            } else {
                redirect = v;
            }
        }
        params.push(("redirect_uri", redirect));
        let response = app
            .client
            .get(app.authorize_url(&client, &params))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{case}");
        assert!(response.headers().get("location").is_none(), "{case}: never a redirect");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let html = response.text().await.unwrap();
        assert!(html.contains("Something went wrong"), "{case}: {html}");
    }
    let response = app
        .client
        .get(format!("{}&client_id=again", app.authorize_url(&rp, &[])))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "a repeated parameter");
    app.stop().await;
}

#[tokio::test]
async fn request_errors_go_back_to_the_client_with_state_and_iss() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let rp = app.web_app(true).await;
    let spa = app
        .register(propusk::identity::admin::NewApplication {
            name: "SPA".into(),
            public: true,
            redirect_uris: vec![CB.into()],
            ..Default::default()
        })
        .await;
    let (_, challenge) = pkce();
    let ok = |extra: &[(&'static str, &'static str)]| {
        let mut p: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("redirect_uri", CB),
            ("scope", "openid"),
            ("state", "st"),
        ];
        p.extend_from_slice(extra);
        p
    };
    let leaked: &'static str = Box::leak(challenge.into_boxed_str());
    let cases: Vec<Refusal> = vec![
        (
            "response_type token",
            &rp,
            vec![
                ("response_type", "token"),
                ("redirect_uri", CB),
                ("scope", "openid"),
                ("state", "st"),
            ],
            "unsupported_response_type",
        ),
        (
            "no response_type",
            &rp,
            vec![("redirect_uri", CB), ("scope", "openid"), ("state", "st")],
            "invalid_request",
        ),
        ("unknown scope", &rp, ok(&[("scope", "openid admin")]), "invalid_scope"),
        ("public client without PKCE", &spa, ok(&[]), "invalid_request"),
        (
            "plain PKCE",
            &spa,
            ok(&[("code_challenge", leaked), ("code_challenge_method", "plain")]),
            "invalid_request",
        ),
        (
            "challenge without method",
            &spa,
            ok(&[("code_challenge", leaked)]),
            "invalid_request",
        ),
        (
            "method without challenge",
            &rp,
            ok(&[("code_challenge_method", "S256")]),
            "invalid_request",
        ),
        (
            "malformed challenge",
            &rp,
            ok(&[("code_challenge", "short"), ("code_challenge_method", "S256")]),
            "invalid_request",
        ),
        (
            "prompt none with login",
            &rp,
            ok(&[("prompt", "none login")]),
            "invalid_request",
        ),
        ("bad max_age", &rp, ok(&[("max_age", "-1")]), "invalid_request"),
        (
            "request object",
            &rp,
            ok(&[("request", "eyJ.e30.")]),
            "request_not_supported",
        ),
        ("claims not JSON", &rp, ok(&[("claims", "nope")]), "invalid_request"),
        (
            "bad id_token_hint",
            &rp,
            ok(&[("id_token_hint", "a.b.c")]),
            "invalid_request",
        ),
        (
            "no session with prompt=none",
            &rp,
            ok(&[("prompt", "none")]),
            "login_required",
        ),
    ];
    for (case, client, params, error) in cases {
        let mut params = params;
        if params.iter().filter(|(k, _)| *k == "scope").count() > 1 {
            let last = params.iter().rposition(|(k, _)| *k == "scope").unwrap();
            let value = params.remove(last).1;
            let first = params.iter().position(|(k, _)| *k == "scope").unwrap();
            params[first].1 = value;
        }
        let response = app.client.get(app.authorize_url(client, &params)).send().await.unwrap();
        let to = location(&response, &app.base);
        assert!(to.starts_with(CB), "{case}: {to}");
        assert_eq!(query_param(&to, "error").as_deref(), Some(error), "{case}: {to}");
        assert_eq!(query_param(&to, "state").as_deref(), Some("st"), "{case}");
        assert_eq!(query_param(&to, "iss").as_deref(), Some(app.base.as_str()), "{case}");
        assert!(query_param(&to, "code").is_none(), "{case}");
    }
    app.stop().await;
}

#[tokio::test]
async fn consent_is_asked_once_remembered_and_prompt_consent_asks_again() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(false).await;
    let browser = Browser::default();
    let params = |extra: &[(&'static str, &'static str)]| {
        let mut p = vec![
            ("response_type", "code"),
            ("redirect_uri", CB),
            ("scope", "openid email"),
            ("state", "x"),
        ];
        p.extend_from_slice(extra);
        p
    };
    let callback = app
        .sign_in(&browser, &app.authorize_url(&rp, &params(&[])), "ann")
        .await;
    assert!(query_param(&callback, "code").is_some());

    // Signed in and consented: straight back with a code (SSO), even with prompt=none.
    let response = browser
        .get(&app.authorize_url(&rp, &params(&[("prompt", "none")])))
        .await;
    let to = location(&response, &app.base);
    assert!(query_param(&to, "code").is_some(), "{to}");

    // prompt=consent asks again; offline_access asks until a consent names it, and then
    // stands like any other remembered scope (OpenID Connect Core §11).
    for extra in [&[("prompt", "consent")][..], &[("scope", "openid offline_access")]] {
        let mut p = params(&[]);
        for (k, v) in extra {
            p.retain(|(key, _)| key != k);
            p.push((k, v));
        }
        let response = browser.get(&app.authorize_url(&rp, &p)).await;
        assert!(
            location(&response, &app.base).starts_with(&app.url("/consent")),
            "{extra:?}"
        );
    }
    let mut offline = params(&[]);
    offline.retain(|(k, _)| *k != "scope");
    offline.push(("scope", "openid email offline_access"));
    let consent = location(&browser.get(&app.authorize_url(&rp, &offline)).await, &app.base);
    let page = browser.get(&consent).await.text().await.unwrap();
    let allowed = browser
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &crate::support::hidden(&page, "csrf")),
                ("req", &crate::support::hidden(&page, "req")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert!(query_param(&location(&allowed, &app.base), "code").is_some());
    let to = location(&browser.get(&app.authorize_url(&rp, &offline)).await, &app.base);
    assert!(query_param(&to, "code").is_some(), "remembered: {to}");
    // prompt=none when consent is missing for a wider scope: consent_required.
    let mut p = params(&[("prompt", "none")]);
    p.retain(|(k, _)| *k != "scope");
    p.push(("scope", "openid email phone"));
    let to = location(&browser.get(&app.authorize_url(&rp, &p)).await, &app.base);
    assert_eq!(query_param(&to, "error").as_deref(), Some("consent_required"));

    // Denying consent: access_denied.
    let response = browser
        .get(&app.authorize_url(&rp, &params(&[("prompt", "consent")])))
        .await;
    let consent = location(&response, &app.base);
    let page = browser.get(&consent).await.text().await.unwrap();
    let denied = browser
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &crate::support::hidden(&page, "csrf")),
                ("req", &crate::support::hidden(&page, "req")),
                ("decision", "deny"),
            ],
        )
        .await;
    let to = location(&denied, &app.base);
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));
    app.stop().await;
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_login() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let browser = Browser::default();
    let base = [
        ("response_type", "code"),
        ("redirect_uri", CB),
        ("scope", "openid"),
        ("state", "x"),
    ];
    app.sign_in(&browser, &app.authorize_url(&rp, &base), "ann").await;
    let mut with_login = base.to_vec();
    with_login.push(("prompt", "login"));
    let to = location(&browser.get(&app.authorize_url(&rp, &with_login)).await, &app.base);
    assert!(to.starts_with(&app.url("/login")), "{to}");
    let callback = app.sign_in(&browser, &app.authorize_url(&rp, &with_login), "ann").await;
    assert!(
        query_param(&callback, "code").is_some(),
        "prompt=login is satisfied by the new login: {callback}"
    );

    app.clock.advance(Duration::seconds(120));
    let mut aged = base.to_vec();
    aged.push(("max_age", "60"));
    let to = location(&browser.get(&app.authorize_url(&rp, &aged)).await, &app.base);
    assert!(to.starts_with(&app.url("/login")), "older than max_age: {to}");
    app.stop().await;
}

#[tokio::test]
async fn wrong_passwords_and_forged_forms_are_refused() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let browser = Browser::default();
    let url = app.authorize_url(
        &rp,
        &[("response_type", "code"), ("redirect_uri", CB), ("scope", "openid")],
    );
    let login = location(&browser.get(&url).await, &app.base);
    let page = browser.get(&login).await.text().await.unwrap();
    let (csrf, req) = (
        crate::support::hidden(&page, "csrf"),
        crate::support::hidden(&page, "req"),
    );
    let mut messages = Vec::new();
    for (user, password) in [("ann", "wrong password"), ("nobody", "wrong password")] {
        let response = browser
            .post(
                &app.url("/login"),
                &[("csrf", &csrf), ("req", &req), ("login", user), ("password", password)],
            )
            .await;
        assert_eq!(response.status(), 401);
        let html = response.text().await.unwrap();
        assert!(html.contains("Invalid username or password."));
        messages.push(html.replace(user, ""));
    }
    assert_eq!(
        messages[0], messages[1],
        "an unknown user looks exactly like a wrong password"
    );
    let forged = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", "forged"),
                ("req", &req),
                ("login", "ann"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403, "no CSRF token, no login");
    let fresh = Browser::default();
    let no_cookie = fresh
        .post(
            &app.url("/login"),
            &[
                ("csrf", &csrf),
                ("req", &req),
                ("login", "ann"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    assert_eq!(no_cookie.status(), 403, "a token without its cookie is worthless");
    app.stop().await;
}

#[tokio::test]
async fn a_native_app_loopback_redirect_matches_any_port() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let native = app
        .register(propusk::identity::admin::NewApplication {
            name: "CLI".into(),
            public: true,
            first_party: true,
            redirect_uris: vec!["http://127.0.0.1/callback".into()],
            ..Default::default()
        })
        .await;
    let (_, challenge) = pkce();
    let browser = Browser::default();
    let url = app.authorize_url(
        &native,
        &[
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:53124/callback"),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let callback = app.sign_in(&browser, &url, "ann").await;
    assert!(
        callback.starts_with("http://127.0.0.1:53124/callback?code="),
        "{callback}"
    );
    let other_path = url.replace("%2Fcallback", "%2Fother");
    assert_eq!(app.client.get(other_path).send().await.unwrap().status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn a_parked_request_can_be_finished_only_in_the_browser_that_started_it() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(false).await;
    let attacker = Browser::default();
    let url = app.authorize_url(
        &rp,
        &[("response_type", "code"), ("redirect_uri", CB), ("scope", "openid")],
    );
    let login = location(&attacker.get(&url).await, &app.base);
    assert!(login.starts_with(&app.url("/login?req=")));

    // The victim opens the attacker's half-done request in their own browser.
    let victim = Browser::default();
    let page = victim.get(&login).await;
    assert_eq!(page.status(), 400, "another browser cannot continue it");
    let consent = login.replace("/login?", "/consent?");
    assert_eq!(victim.get(&consent).await.status(), 400);

    // The browser that started it can.
    let callback = app.sign_in(&attacker, &url, "ann").await;
    assert!(query_param(&callback, "code").is_some());
    app.stop().await;
}

#[tokio::test]
async fn consent_cannot_short_cut_a_required_login() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(false).await;
    let browser = Browser::default();
    let base = [
        ("response_type", "code"),
        ("redirect_uri", CB),
        ("scope", "openid"),
        ("state", "x"),
    ];
    app.sign_in(&browser, &app.authorize_url(&rp, &base), "ann").await;

    let mut again = base.to_vec();
    again.push(("prompt", "login"));
    app.clock.advance(Duration::seconds(5));
    let login = location(&browser.get(&app.authorize_url(&rp, &again)).await, &app.base);
    assert!(login.starts_with(&app.url("/login?req=")), "{login}");
    let consent = login.replace("/login?", "/consent?");
    let response = browser.get(&consent).await;
    assert!(
        location(&response, &app.base).starts_with(&app.url("/login?req=")),
        "consent page refuses to skip the login"
    );
    app.stop().await;
}

#[tokio::test]
async fn signing_out_everywhere_ends_browser_sessions_too() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let user = app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let browser = Browser::default();
    let url = app.authorize_url(
        &rp,
        &[("response_type", "code"), ("redirect_uri", CB), ("scope", "openid")],
    );
    app.sign_in(&browser, &url, "ann").await;
    assert!(
        query_param(&location(&browser.get(&url).await, &app.base), "code").is_some(),
        "SSO while the session lives"
    );

    let now = propusk::clock::Clock::now(&app.clock);
    propusk::oauth::revocation::end_user(
        app.state.stores.state.as_ref(),
        &user,
        propusk::oauth::revocation::Ends::Everything,
        now,
    )
    .await
    .unwrap();
    let to = location(&browser.get(&url).await, &app.base);
    assert!(
        to.starts_with(&app.url("/login")),
        "the session began before the not-before time: {to}"
    );
    app.stop().await;
}
