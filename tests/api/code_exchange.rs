//! `/token` with codes and refresh tokens: every way to misuse them, each with its exact error,
//! and what the misuse revokes.

use serde_json::{Value, json};
use time::Duration;

use crate::support::{Backend, Browser, PASSWORD, RegisteredApp, TestApp, pkce, query_param};

const CB: &str = "https://client.example.com/cb";

/// A case: its name, the code's PKCE challenge, the token form, the redeeming client, the error.
type Misuse<'a> = (
    &'a str,
    Option<&'a str>,
    Vec<(&'a str, String)>,
    &'a RegisteredApp,
    &'a str,
);

/// A fresh code for `client` with the given PKCE challenge (if any).
async fn code_for(app: &TestApp, browser: &Browser, client: &RegisteredApp, challenge: Option<&str>) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("redirect_uri", CB),
        ("scope", "openid offline_access"),
    ];
    if let Some(c) = challenge {
        params.push(("code_challenge", c));
        params.push(("code_challenge_method", "S256"));
    }
    let callback = app.sign_in(browser, &app.authorize_url(client, &params), "ann").await;
    query_param(&callback, "code").unwrap()
}

async fn exchange(app: &TestApp, client: &RegisteredApp, form: &[(&str, &str)]) -> (u16, Value) {
    let mut full = vec![("grant_type", "authorization_code")];
    full.extend_from_slice(form);
    let response = app.post_form("/token", Some(client), &full).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn code_misuse_is_invalid_grant_and_issues_nothing() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        app.user("ann", "operator", None).await;
        let rp = app.web_app(true).await;
        let other = app.web_app(true).await;
        let browser = Browser::default();
        let (verifier, challenge) = pkce();
        let (other_verifier, _) = pkce();

        let cases: Vec<Misuse> = vec![
            (
                "wrong verifier",
                Some(&challenge),
                vec![("redirect_uri", CB.into()), ("code_verifier", other_verifier.clone())],
                &rp,
                "invalid_grant",
            ),
            (
                "missing verifier",
                Some(&challenge),
                vec![("redirect_uri", CB.into())],
                &rp,
                "invalid_grant",
            ),
            (
                "verifier without challenge",
                None,
                vec![("redirect_uri", CB.into()), ("code_verifier", verifier.clone())],
                &rp,
                "invalid_grant",
            ),
            (
                "another client",
                Some(&challenge),
                vec![("redirect_uri", CB.into()), ("code_verifier", verifier.clone())],
                &other,
                "invalid_grant",
            ),
            (
                "redirect_uri mismatch",
                Some(&challenge),
                vec![("redirect_uri", format!("{CB}/x")), ("code_verifier", verifier.clone())],
                &rp,
                "invalid_grant",
            ),
            (
                "redirect_uri missing",
                Some(&challenge),
                vec![("code_verifier", verifier.clone())],
                &rp,
                "invalid_grant",
            ),
            (
                "unknown code",
                None,
                vec![("redirect_uri", CB.into())],
                &rp,
                "invalid_grant",
            ),
            ("no code", None, vec![], &rp, "invalid_request"),
        ];
        for (case, challenge, form, client, error) in cases {
            let code = if case == "unknown code" {
                "made-up".to_owned()
            } else {
                code_for(&app, &browser, &rp, challenge).await
            };
            let mut form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if case != "no code" {
                form.push(("code", &code));
            }
            let (status, body) = exchange(&app, client, &form).await;
            assert_eq!(
                (status, body["error"].as_str().unwrap_or("")),
                (400, error),
                "{case} ({backend:?}): {body}"
            );
            assert!(body.get("access_token").is_none(), "{case}");
        }

        // Expired: 61 seconds later.
        let code = code_for(&app, &browser, &rp, Some(&challenge)).await;
        app.clock.advance(Duration::seconds(61));
        let (status, body) = exchange(
            &app,
            &rp,
            &[("code", &code), ("redirect_uri", CB), ("code_verifier", &verifier)],
        )
        .await;
        assert_eq!(
            (status, body["error"].clone()),
            (400, json!("invalid_grant")),
            "expired code"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_replayed_code_revokes_what_it_issued() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        app.user("ann", "operator", None).await;
        let rp = app.web_app(true).await;
        let gateway = app.service_app("admin", true).await;
        let browser = Browser::default();
        let (verifier, challenge) = pkce();
        let code = code_for(&app, &browser, &rp, Some(&challenge)).await;
        let form = [
            ("code", code.as_str()),
            ("redirect_uri", CB),
            ("code_verifier", verifier.as_str()),
        ];
        let (status, tokens) = exchange(&app, &rp, &form).await;
        assert_eq!(status, 200);
        let access = tokens["access_token"].as_str().unwrap();
        let refresh = tokens["refresh_token"].as_str().unwrap();

        let (status, body) = exchange(&app, &rp, &form).await;
        assert_eq!(
            (status, body["error"].clone()),
            (400, json!("invalid_grant")),
            "{backend:?}"
        );
        let introspected: Value = app
            .post_form("/introspect", Some(&gateway), &[("token", access)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            introspected,
            json!({ "active": false }),
            "the access token died with the replay"
        );
        let refreshed = app
            .post_form(
                "/token",
                Some(&rp),
                &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
            )
            .await;
        assert_eq!(refreshed.status(), 400, "and so did the refresh token");
        app.stop().await;
    }
}

async fn refresh(app: &TestApp, client: &RegisteredApp, token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let response = app.post_form("/token", Some(client), &form).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn refresh_rotation_grace_reuse_and_scope() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        app.user("ann", "operator", None).await;
        let rp = app.web_app(true).await;
        let other = app.web_app(true).await;
        let gateway = app.service_app("admin", true).await;
        let browser = Browser::default();
        let tokens = app
            .code_tokens(&browser, &rp, "ann", "openid email offline_access")
            .await;
        let first = tokens["refresh_token"].as_str().unwrap().to_owned();
        let info: Value = app
            .post_form("/introspect", Some(&gateway), &[("token", &first)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (info["active"].clone(), info["token_type"].clone()),
            (json!(true), json!("refresh_token"))
        );

        // Narrower access token; the refresh token keeps the full scope.
        let (status, narrowed) = refresh(&app, &rp, &first, Some("openid")).await;
        assert_eq!(status, 200, "{narrowed}");
        assert_eq!(narrowed["scope"], "openid");
        let second = narrowed["refresh_token"].as_str().unwrap().to_owned();
        let info: Value = app
            .post_form("/introspect", Some(&gateway), &[("token", &first)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(info, json!({ "active": false }), "a rotated token is no longer active");

        // A retry within 10 s returns the same successor.
        app.clock.advance(Duration::seconds(5));
        let (status, retried) = refresh(&app, &rp, &first, None).await;
        assert_eq!(status, 200);
        assert_eq!(
            retried["refresh_token"].as_str().unwrap(),
            second,
            "same successor in the grace window"
        );

        // Escalation and another client's use are refused.
        let (status, body) = refresh(&app, &rp, &second, Some("openid phone")).await;
        assert_eq!((status, body["error"].clone()), (400, json!("invalid_scope")));
        let (status, full) = refresh(&app, &rp, &second, None).await;
        assert_eq!(status, 200);
        assert_eq!(
            full["scope"], "email offline_access openid",
            "the original scope survives narrowing"
        );
        let third = full["refresh_token"].as_str().unwrap().to_owned();

        // Reuse after the grace window revokes the family: the newest token dies too.
        app.clock.advance(Duration::seconds(11));
        let (status, body) = refresh(&app, &rp, &first, None).await;
        assert_eq!(
            (status, body["error"].clone()),
            (400, json!("invalid_grant")),
            "{backend:?}"
        );
        let (status, _) = refresh(&app, &rp, &third, None).await;
        assert_eq!(status, 400, "the family is revoked");

        // A fresh family, presented by another client: refused and revoked.
        let tokens = app
            .code_tokens(&Browser::default(), &rp, "ann", "openid offline_access")
            .await;
        let stolen = tokens["refresh_token"].as_str().unwrap();
        let (status, body) = refresh(&app, &other, stolen, None).await;
        assert_eq!((status, body["error"].clone()), (400, json!("invalid_grant")));
        let (status, _) = refresh(&app, &rp, stolen, None).await;
        assert_eq!(status, 400, "a token shown by another client is burnt");
        app.stop().await;
    }
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family_for_its_own_client_only() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let other = app.web_app(true).await;
    let gateway = app.service_app("admin", true).await;
    let tokens = app
        .code_tokens(&Browser::default(), &rp, "ann", "openid offline_access")
        .await;
    let token = tokens["refresh_token"].as_str().unwrap();
    let response = app.post_form("/revoke", Some(&other), &[("token", token)]).await;
    assert_eq!(response.status(), 400);
    let response = app
        .post_form(
            "/revoke",
            Some(&rp),
            &[("token", token), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let (status, _) = refresh(&app, &rp, token, None).await;
    assert_eq!(status, 400);
    let access = tokens["access_token"].as_str().unwrap();
    let body: Value = app
        .post_form("/introspect", Some(&gateway), &[("token", access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({ "active": false }),
        "the family's access tokens go with it (RFC 7009 §2.1)"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_id_token_is_never_a_bearer_token() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let tokens = app.code_tokens(&Browser::default(), &rp, "ann", "openid email").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let response = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(id_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
    let response = app.client.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let ok = app
        .client
        .post(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "POST works too");
    app.stop().await;
}

#[tokio::test]
async fn the_password_grant_works_only_where_enabled() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let legacy = app
        .register(propusk::identity::admin::NewApplication {
            name: "Legacy".into(),
            grants: vec!["password".into(), "refresh_token".into()],
            first_party: true,
            ..Default::default()
        })
        .await;
    let ok = app
        .post_form(
            "/token",
            Some(&legacy),
            &[
                ("grant_type", "password"),
                ("username", "ann"),
                ("password", PASSWORD),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert!(body["id_token"].is_string() && body["refresh_token"].is_string());
    for (user, password) in [("ann", "wrong password"), ("nobody", PASSWORD)] {
        let bad = app
            .post_form(
                "/token",
                Some(&legacy),
                &[("grant_type", "password"), ("username", user), ("password", password)],
            )
            .await;
        let body: Value = bad.json().await.unwrap();
        assert_eq!(
            body,
            json!({ "error": "invalid_grant", "error_description": "invalid username or password" }),
            "{user}"
        );
    }
    let service = app.service_app("operator", false).await;
    let refused = app
        .post_form(
            "/token",
            Some(&service),
            &[("grant_type", "password"), ("username", "ann"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "unauthorized_client");
    app.stop().await;
}

#[tokio::test]
async fn browser_apps_may_read_token_responses_from_their_own_origin_only() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let spa = app
        .register(propusk::identity::admin::NewApplication {
            name: "SPA".into(),
            public: true,
            redirect_uris: vec!["https://spa.example.com/cb".into()],
            ..Default::default()
        })
        .await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/token"))
        .header("origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    for (origin, allowed) in [("https://spa.example.com", true), ("https://evil.example.com", false)] {
        let response = app
            .client
            .post(app.url("/token"))
            .header("origin", origin)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", spa.client_id.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers().get("access-control-allow-origin").is_some(),
            allowed,
            "{origin}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_user_not_before_time_kills_earlier_access_and_refresh_tokens() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        let user = app.user("ann", "operator", None).await;
        let rp = app.web_app(true).await;
        let gateway = app.service_app("admin", true).await;
        let tokens = app
            .code_tokens(&Browser::default(), &rp, "ann", "openid offline_access")
            .await;
        let access = tokens["access_token"].as_str().unwrap();
        let refresh_token = tokens["refresh_token"].as_str().unwrap();

        // What blocking a user or changing their role does (users/admin work calls this).
        app.clock.advance(Duration::seconds(1));
        propusk::oauth::revocation::end_user(
            app.state.stores.state.as_ref(),
            &user,
            propusk::oauth::revocation::Ends::Everything,
            propusk::clock::Clock::now(&app.clock),
        )
        .await
        .unwrap();
        let body: Value = app
            .post_form("/introspect", Some(&gateway), &[("token", access)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body, json!({ "active": false }), "{backend:?}");
        let (status, _) = refresh(&app, &rp, refresh_token, None).await;
        assert_eq!(status, 400, "the refresh family started before the not-before time");

        // Tokens issued afterwards work.
        let fresh = app.code_tokens(&Browser::default(), &rp, "ann", "openid").await;
        let body: Value = app
            .post_form(
                "/introspect",
                Some(&gateway),
                &[("token", fresh["access_token"].as_str().unwrap())],
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["active"], true);
        app.stop().await;
    }
}
