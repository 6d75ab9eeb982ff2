//! Second factors end to end: TOTP enrolment through `/account/v1` and sign-in through
//! `/login/2fa` (replayed codes refused, `amr` in the tokens), recovery codes once each, the
//! policy that makes admins enrol during sign-in (QR code, key, recovery codes on the page),
//! code failures locked out separately from passwords, the password grant refused, and an
//! admin's reset.

use propusk::clock::Clock as _;
use propusk::model::user::UserId;
use reqwest::Method;
use serde_json::{Value, json};
use time::Duration;

use crate::support::{Backend, Browser, PASSWORD, TestApp, claims_of, hidden, totp_code};

/// The TOTP key an enrolment page shows.
fn key_on(page: &str) -> &str {
    page.split("<code class=\"key\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no key on {page}"))
}

/// Enrols a TOTP factor for `user` through the account API; returns the seed and the recovery
/// codes.
async fn enrol(app: &TestApp, token: &str) -> (String, Vec<String>) {
    let (status, enrolment) = app.call(token, Method::POST, "/account/v1/factors/totp", None).await;
    assert_eq!(status, 201, "{enrolment}");
    assert!(
        enrolment["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(enrolment["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let id = enrolment["id"].as_str().unwrap();
    let path = format!("/account/v1/factors/{id}/confirm");
    let (status, body) = app
        .call(token, Method::POST, &path, Some(json!({ "code": "000000" })))
        .await;
    assert_eq!(status, 400, "a wrong first code does not confirm: {body}");
    let code = totp_code(&secret, app.clock.now());
    let (status, body) = app
        .call(token, Method::POST, &path, Some(json!({ "code": code })))
        .await;
    assert_eq!(status, 200, "{body}");
    let codes: Vec<String> = serde_json::from_value(body["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

#[tokio::test]
async fn totp_enrolment_and_sign_in_end_to_end() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, "ann").await;
    let (secret, recovery) = enrol(&app, &token).await;
    let (_, factors) = app.call(&token, Method::GET, "/account/v1/factors", None).await;
    assert_eq!(factors["items"][0]["kind"], "totp");
    assert_eq!(factors["items"][0]["confirmed"], true);
    assert_eq!(factors["recovery_codes_left"], 10);
    assert!(
        factors.to_string().find(&secret).is_none(),
        "the seed is never shown again"
    );

    // The code used to confirm cannot sign in: each step once.
    let reused = totp_code(&secret, app.clock.now());
    let browser = Browser::default();
    assert_eq!(browser.log_in(&app, "ann", PASSWORD).await.status(), 303);
    let page = browser.get(&app.url("/login/2fa")).await.text().await.unwrap();
    assert!(page.contains("Code from your authenticator app"), "{page}");
    let replayed = browser
        .post(
            &app.url("/login/2fa"),
            &[("csrf", &hidden(&page, "csrf")), ("method", "totp"), ("code", &reused)],
        )
        .await;
    assert_eq!(replayed.status(), 401, "the confirming code is not accepted twice");
    app.clock.advance(Duration::seconds(30));
    let fresh = totp_code(&secret, app.clock.now());
    let tokens = app
        .code_tokens_with(&Browser::default(), &rp, "ann", "openid", &|_: &str| {
            ("totp".into(), fresh.clone())
        })
        .await;
    let id_token = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["amr"], json!(["pwd", "otp", "mfa"]));
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["amr"], json!(["pwd", "otp", "mfa"]));

    // Recovery codes work once each.
    let one = recovery[0].clone();
    app.code_tokens_with(&Browser::default(), &rp, "ann", "openid", &|_: &str| {
        ("recovery".into(), one.clone())
    })
    .await;
    let again = Browser::default();
    assert_eq!(again.log_in(&app, "ann", PASSWORD).await.status(), 303);
    let page = again.get(&app.url("/login/2fa")).await.text().await.unwrap();
    let response = again
        .post(
            &app.url("/login/2fa"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("method", "recovery"),
                ("code", &recovery[0]),
            ],
        )
        .await;
    assert_eq!(response.status(), 401, "a used recovery code is refused");
    assert!(response.text().await.unwrap().contains("The code is not valid."));
    let (_, factors) = app.call(&token, Method::GET, "/account/v1/factors", None).await;
    assert_eq!(factors["recovery_codes_left"], 9);
    let enrolled = app.audit_of("mfa.enrol").await;
    assert_eq!(
        enrolled
            .iter()
            .filter(|a| a.record.outcome.as_str() == "success")
            .count(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn the_policy_makes_admins_enrol_while_signing_in_and_the_password_grant_refuses_them() {
    let app = TestApp::spawn_with(Backend::Embedded, |c| c.mfa_required_roles = vec!["admin".into()]).await;
    let boss = app.user("boss", "admin", None).await;
    let rp = app.web_app(true).await;
    let seen = std::sync::Mutex::new(String::new());
    let tokens = app
        .code_tokens_with(&Browser::default(), &rp, "boss", "openid", &|page: &str| {
            assert!(page.contains("<svg"), "the QR code inline: {page}");
            assert!(page.contains("Keep these recovery codes"), "{page}");
            *seen.lock().unwrap() = page.to_owned();
            let key = key_on(page);
            ("totp".into(), totp_code(key, app.clock.now()))
        })
        .await;
    assert_eq!(
        claims_of(tokens["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    let page = seen.lock().unwrap().clone();
    let codes: Vec<&str> = page
        .split("<li><code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap())
        .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes on the page");
    let factors = app
        .state
        .stores
        .db
        .list_factors(UserId::parse(&boss).unwrap())
        .await
        .unwrap();
    assert_eq!(factors.len(), 1);
    assert!(factors[0].is_confirmed());
    assert_eq!(
        app.state
            .stores
            .db
            .recovery_codes_left(UserId::parse(&boss).unwrap())
            .await
            .unwrap(),
        10
    );

    // Next time the recovery code from the page works.
    let first = codes[0].to_owned();
    app.code_tokens_with(&Browser::default(), &rp, "boss", "openid", &|page: &str| {
        assert!(!page.contains("<svg"), "no second enrolment");
        ("recovery".into(), first.clone())
    })
    .await;

    let legacy = app.password_app().await;
    let response = app
        .post_form(
            "/token",
            Some(&legacy),
            &[("grant_type", "password"), ("username", "boss"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].as_str().unwrap().contains("second factor"));
    app.stop().await;
}

#[tokio::test]
async fn wrong_codes_lock_the_second_step_not_the_password_and_an_admin_can_reset_factors() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let ann = app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, "ann").await;
    enrol(&app, &token).await;
    let browser = Browser::default();
    assert_eq!(browser.log_in(&app, "ann", PASSWORD).await.status(), 303);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let page = browser.get(&app.url("/login/2fa")).await.text().await.unwrap();
        let response = browser
            .post(
                &app.url("/login/2fa"),
                &[("csrf", &hidden(&page, "csrf")), ("method", "totp"), ("code", "999999")],
            )
            .await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429]);
    let failures: Vec<_> = app
        .audit_of("login")
        .await
        .into_iter()
        .filter(|a| a.record.details["via"] == "second_factor")
        .collect();
    assert_eq!(failures.len(), 5, "every wrong code is on the audit trail");
    assert_eq!(app.user_events("ann").await.last().unwrap(), "user.locked");
    // The password itself is not locked: the same browser gets to the second step again.
    assert_eq!(Browser::default().log_in(&app, "ann", PASSWORD).await.status(), 303);

    let admin = app.service_app("admin", false).await;
    let admin_token = app.client_token(&admin).await;
    let (status, _) = app
        .call(
            &admin_token,
            Method::DELETE,
            &format!("/admin/v1/users/{ann}/factors"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = app.call(&token, Method::GET, "/account/v1/factors", None).await;
    assert_eq!((status, body["items"].as_array().unwrap().len()), (200, 0));
    assert_eq!(app.audit_of("user.mfa_reset").await.len(), 1);
    let response = Browser::default().log_in(&app, "ann", PASSWORD).await;
    assert_eq!(response.status(), 200, "no second step any more");
    app.stop().await;
}

#[tokio::test]
async fn a_b2b_account_can_require_a_second_factor_of_all_its_users() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme").await;
    app.user("carl", "client_user", Some("acme")).await;
    let rp = app.web_app(true).await;
    app.access_token(&rp, "carl").await;
    let admin = app.service_app("admin", false).await;
    let token = app.client_token(&admin).await;
    let (status, body) = app
        .call(
            &token,
            Method::PATCH,
            &format!("/admin/v1/clients/{}", acme.id),
            Some(json!({ "mfa_required": true })),
        )
        .await;
    assert_eq!((status, body["mfa_required"].as_bool()), (200, Some(true)), "{body}");
    let enrolled = app
        .code_tokens_with(&Browser::default(), &rp, "carl", "openid", &|page: &str| {
            assert!(page.contains("Your account needs a second factor"), "{page}");
            let key = key_on(page);
            ("totp".into(), totp_code(key, app.clock.now()))
        })
        .await;
    assert_eq!(
        claims_of(enrolled["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    app.stop().await;
}

#[tokio::test]
async fn a_signed_in_user_turns_on_an_authenticator_from_the_security_page() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("dora", "operator", None).await;
    let anonymous = Browser::default();
    assert_eq!(anonymous.get(&app.url("/account/security")).await.status(), 401);

    let browser = Browser::default();
    assert_eq!(browser.log_in(&app, "dora", PASSWORD).await.status(), 200);
    let page = browser.get(&app.url("/account/security")).await.text().await.unwrap();
    assert!(page.contains("None yet"), "{page}");
    let forged = browser
        .post(&app.url("/account/security"), &[("csrf", "forged"), ("action", "totp")])
        .await;
    assert_eq!(forged.status(), 403);
    let enrol = browser
        .post(
            &app.url("/account/security"),
            &[("csrf", &hidden(&page, "csrf")), ("action", "totp")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(enrol.contains("<svg"), "{enrol}");
    let key = key_on(&enrol);
    let form = |code: &str| {
        vec![
            ("csrf", hidden(&enrol, "csrf")),
            ("action", "confirm".to_owned()),
            ("factor", hidden(&enrol, "factor")),
            ("code", code.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let browser = &browser;
        let url = app.url("/account/security");
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post(&url, &pairs).await
        }
    };
    let wrong = post(form("000000")).await;
    assert_eq!(wrong.status(), 400);
    assert!(
        wrong.text().await.unwrap().contains(key),
        "the same enrolment is shown again"
    );
    let done = post(form(&totp_code(key, app.clock.now()))).await;
    assert_eq!(done.status(), 200);
    let html = done.text().await.unwrap();
    assert_eq!(html.matches("<li><code>").count(), 10, "{html}");
    assert!(html.contains("Authenticator app"), "{html}");
    // From now on sign-in asks for the code.
    assert_eq!(Browser::default().log_in(&app, "dora", PASSWORD).await.status(), 303);

    // New recovery codes, then the factor removed: each with the password and a code (this
    // sign-in had no second factor), here a recovery code.
    let codes = |html: &str| -> Vec<String> {
        html.split("<li><code>")
            .skip(1)
            .map(|rest| rest.split('<').next().unwrap().to_owned())
            .collect()
    };
    let old = codes(&html);
    let page = browser.get(&app.url("/account/security")).await.text().await.unwrap();
    let proof = |action: &str, code: &str| {
        vec![
            ("csrf", hidden(&page, "csrf")),
            ("action", action.to_owned()),
            ("factor", hidden(&page, "factor")),
            ("current_password", PASSWORD.to_owned()),
            ("otp", code.to_owned()),
        ]
    };
    let refused = post(proof("recovery", "not-a-code")).await;
    assert_eq!(refused.status(), 401);
    let renewed = post(proof("recovery", &old[0])).await;
    assert_eq!(renewed.status(), 200);
    let html = renewed.text().await.unwrap();
    assert!(html.contains("New recovery codes are made"), "{html}");
    let new = codes(&html);
    assert_eq!(new.len(), 10);
    assert_eq!(post(proof("remove", &old[1])).await.status(), 401, "the old codes went");
    let removed = post(proof("remove", &new[0])).await;
    assert_eq!(removed.status(), 200);
    let html = removed.text().await.unwrap();
    assert!(
        html.contains("The second factor is removed") && html.contains("None yet"),
        "{html}"
    );
    assert_eq!(Browser::default().log_in(&app, "dora", PASSWORD).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn second_factors_change_only_with_a_token_from_a_second_factor_sign_in() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("eve", "operator", None).await;
    let rp = app.web_app(true).await;
    let password_only = app.access_token(&rp, "eve").await;
    let (secret, _) = enrol(&app, &password_only).await;
    let (_, factors) = app.call(&password_only, Method::GET, "/account/v1/factors", None).await;
    let path = format!("/account/v1/factors/{}", factors["items"][0]["id"].as_str().unwrap());
    for (method, target) in [
        (Method::DELETE, path.as_str()),
        (Method::POST, "/account/v1/recovery-codes"),
    ] {
        let response = app
            .client
            .request(method, app.url(target))
            .bearer_auth(&password_only)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "RFC 9470: step up");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(
            challenge.contains("insufficient_user_authentication") && challenge.contains("max_age=600"),
            "{challenge}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "insufficient_user_authentication");
    }
    // The password and a code in the request are proof enough, even with that token.
    app.clock.advance(Duration::seconds(30));
    let proof =
        serde_json::json!({ "current_password": crate::support::PASSWORD, "otp": totp_code(&secret, app.clock.now()) });
    let (status, body) = app
        .call(
            &password_only,
            Method::POST,
            "/account/v1/recovery-codes",
            Some(proof.clone()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app
        .call(&password_only, Method::POST, "/account/v1/recovery-codes", Some(proof))
        .await;
    assert_eq!(status, 401, "a TOTP step proves once");
    app.clock.advance(Duration::seconds(30));
    let code = totp_code(&secret, app.clock.now());
    let tokens = app
        .code_tokens_with(&Browser::default(), &rp, "eve", "openid", &|_: &str| {
            ("totp".into(), code.clone())
        })
        .await;
    let strong = tokens["access_token"].as_str().unwrap();
    let (status, body) = app.call(strong, Method::POST, "/account/v1/recovery-codes", None).await;
    assert_eq!(
        (status, body["recovery_codes"].as_array().map(Vec::len)),
        (200, Some(10))
    );
    let (status, _) = app.call(strong, Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    app.stop().await;
}

#[tokio::test]
async fn a_password_only_session_signs_in_again_once_a_second_factor_applies() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("fay", "operator", None).await;
    let rp = app.web_app(true).await;
    let browser = Browser::default();
    let tokens = app.code_tokens(&browser, &rp, "fay", "openid").await;
    enrol(&app, tokens["access_token"].as_str().unwrap()).await;
    let (_, challenge) = crate::support::pkce();
    let url = app.authorize_url(
        &rp,
        &[
            ("response_type", "code"),
            ("redirect_uri", "https://client.example.com/cb"),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let response = browser.get(&url).await;
    let to = crate::support::location(&response, &app.base);
    assert!(
        to.starts_with(&app.url("/login?req=")),
        "the old session no longer suffices: {to}"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_old_browser_session_sets_up_an_authenticator_only_with_the_password() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ezra", "operator", None).await;
    let browser = Browser::default();
    assert_eq!(browser.log_in(&app, "ezra", PASSWORD).await.status(), 200);
    // A session from eleven minutes ago (a shared computer, a stolen cookie) is no proof.
    app.clock.advance(Duration::minutes(11));
    let page = browser.get(&app.url("/account/security")).await.text().await.unwrap();
    let url = app.url("/account/security");
    let csrf = hidden(&page, "csrf");
    let refused = browser.post(&url, &[("csrf", &csrf), ("action", "totp")]).await;
    assert_eq!(refused.status(), 401);
    let html = refused.text().await.unwrap();
    assert!(html.contains("current password") && !html.contains("<svg"), "{html}");
    let csrf = hidden(&html, "csrf");
    let wrong = browser
        .post(
            &url,
            &[
                ("csrf", &csrf),
                ("action", "totp"),
                ("current_password", "not it at all"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let csrf = hidden(&wrong.text().await.unwrap(), "csrf");
    let enrol = browser
        .post(
            &url,
            &[("csrf", &csrf), ("action", "totp"), ("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(enrol.status(), 200);
    assert!(enrol.text().await.unwrap().contains("<svg"));
    app.stop().await;
}

#[tokio::test]
async fn password_guesses_with_a_stolen_token_meet_the_sign_in_lockout() {
    let app = TestApp::spawn_with(Backend::PostgresRedis, |c| {
        c.access_token_ttl = Duration::hours(1);
        c.rate_limit_login = None;
    })
    .await;
    app.user("finn", "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, "finn").await;
    app.clock.advance(Duration::minutes(11));
    let guess = |password: &str| json!({ "email": "finn-new@example.com", "current_password": password });
    for n in 0..5 {
        let (status, body) = app
            .call(
                &token,
                Method::PATCH,
                "/account/v1/profile",
                Some(guess(&format!("guess number {n}"))),
            )
            .await;
        // The fifth failure (LOCKOUT_THRESHOLD) locks the account for this source.
        assert_eq!(status, if n < 4 { 401 } else { 403 }, "{body}");
    }
    let (status, body) = app
        .call(&token, Method::PATCH, "/account/v1/profile", Some(guess(PASSWORD)))
        .await;
    assert_eq!(status, 403, "locked now, even for the right password: {body}");
    assert_eq!(app.audit_of("lock").await.len(), 1, "the lock is on the record");
    app.stop().await;
}

#[tokio::test]
async fn an_abandoned_authenticator_enrolment_cannot_be_finished_later() {
    let app = TestApp::spawn_with(Backend::Embedded, |c| c.access_token_ttl = Duration::hours(1)).await;
    app.user("gil", "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, "gil").await;
    let (status, enrolment) = app.call(&token, Method::POST, "/account/v1/factors/totp", None).await;
    assert_eq!(status, 201);
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let path = format!("/account/v1/factors/{}/confirm", enrolment["id"].as_str().unwrap());
    // Eleven minutes later (a stolen token, an unattended screen) the set-up has expired.
    app.clock.advance(Duration::minutes(11));
    let code = totp_code(&secret, app.clock.now());
    let (status, body) = app
        .call(&token, Method::POST, &path, Some(json!({ "code": code })))
        .await;
    assert_eq!(status, 404, "{body}");
    let (_, factors) = app.call(&token, Method::GET, "/account/v1/factors", None).await;
    assert_eq!(factors["items"], json!([]), "and it is gone");
    app.stop().await;
}

/// `acr`: a password-only sign-in is `urn:propusk:loa:1` in the ID and access tokens; a request
/// that accepts only `loa:2` (`acr_values`, through the `openidconnect` crate) steps a
/// password-only session up — the user signs in again with their second factor — and then gets
/// `loa:2`; a user without one gets `unmet_authentication_requirements`; `prompt=none` with a
/// session that already has a factor answers at once.
#[tokio::test]
async fn a_request_for_loa2_steps_a_password_session_up_to_a_second_factor() {
    use openidconnect::core::CoreAuthenticationFlow;
    use openidconnect::{
        AuthenticationContextClass, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
        TokenResponse,
    };
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let http = crate::support::rp_http();
    let metadata = crate::support::discover(&app, &http).await;
    let supported: Vec<String> = metadata
        .acr_values_supported()
        .unwrap()
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    assert_eq!(supported, ["urn:propusk:loa:1", "urn:propusk:loa:2"]);
    let client = crate::support::rp(metadata, &rp.client_id.clone(), &rp.secret.clone().unwrap());
    let browser = Browser::default();
    let sign_in = |acr: Option<&'static str>, prompt_none: bool| {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        if let Some(acr) = acr {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.into()));
        }
        if prompt_none {
            request = request.add_prompt(openidconnect::core::CoreAuthPrompt::None);
        }
        let (url, _, nonce) = request.url();
        (url.to_string(), verifier, nonce)
    };
    let redeem = |code: String, verifier, nonce: Nonce| {
        let (client, http) = (client.clone(), http.clone());
        async move {
            let tokens = client
                .exchange_code(AuthorizationCode::new(code))
                .unwrap()
                .set_pkce_verifier(verifier)
                .request_async(&http)
                .await
                .unwrap();
            let id = tokens
                .id_token()
                .unwrap()
                .claims(&client.id_token_verifier(), &nonce)
                .unwrap();
            let acr = id.auth_context_ref().map(|a| a.as_str().to_owned());
            (acr, claims_of(tokens.access_token().secret()))
        }
    };

    let (url, verifier, nonce) = sign_in(None, false);
    let callback = app.sign_in(&browser, &url, "ann").await;
    let code = crate::support::query_param(&callback, "code").unwrap();
    let (acr, access) = redeem(code, verifier, nonce).await;
    assert_eq!(acr.as_deref(), Some("urn:propusk:loa:1"));
    assert_eq!(access["acr"], "urn:propusk:loa:1");

    // Ann has no second factor: loa:2 cannot be met (a factor enrolled within this very sign-in
    // would prove nothing beyond the password). She signs in again and the client is told.
    let (url, _, _) = sign_in(Some("urn:propusk:loa:2"), false);
    let callback = app.sign_in(&browser, &url, "ann").await;
    assert_eq!(
        crate::support::query_param(&callback, "error").as_deref(),
        Some("unmet_authentication_requirements"),
        "{callback}"
    );

    // Ann adds an authenticator (from a password-only token); her browser session is still
    // password-only, so loa:2 signs her in again with the factor, and then holds.
    let token = app.access_token(&rp, "ann").await;
    let (secret, _) = enrol(&app, &token).await;
    let (url, verifier, nonce) = sign_in(Some("urn:propusk:loa:2"), false);
    app.clock.advance(time::Duration::seconds(30));
    let callback = app
        .sign_in_with(&browser, &url, "ann", &|page: &str| {
            assert!(page.contains("Code from your authenticator app"), "{page}");
            ("totp".into(), totp_code(&secret, app.clock.now()))
        })
        .await;
    let code = crate::support::query_param(&callback, "code").unwrap();
    let (acr, access) = redeem(code, verifier, nonce).await;
    assert_eq!(acr.as_deref(), Some("urn:propusk:loa:2"));
    assert_eq!(access["acr"], "urn:propusk:loa:2");
    assert!(access["amr"].as_array().unwrap().contains(&json!("mfa")));

    // The session has a second factor now: prompt=none and loa:2 answer at once.
    let (url, verifier, nonce) = sign_in(Some("urn:propusk:loa:2"), true);
    let to = crate::support::location(&browser.get(&url).await, &app.base);
    let code = crate::support::query_param(&to, "code").unwrap_or_else(|| panic!("{to}"));
    assert_eq!(
        redeem(code, verifier, nonce).await.0.as_deref(),
        Some("urn:propusk:loa:2")
    );

    // A browser with only a password session and prompt=none: login_required.
    let other = Browser::default();
    app.user("bob", "operator", None).await;
    let (url, _, _) = sign_in(None, false);
    app.sign_in(&other, &url, "bob").await;
    let (url, _, _) = sign_in(Some("urn:propusk:loa:2"), true);
    let to = crate::support::location(&other.get(&url).await, &app.base);
    assert_eq!(
        crate::support::query_param(&to, "error").as_deref(),
        Some("login_required")
    );
    app.stop().await;
}

/// Fresh proof for a sensitive self-service change takes a code under the sign-in lockout of
/// codes: someone holding a stolen session and the password cannot guess codes one request after
/// another (each wrong one is audited, and the lock holds even for the right code).
#[tokio::test]
async fn step_up_codes_are_counted_under_the_lockout() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("gus", "operator", None).await;
    let rp = app.web_app(true).await;
    let browser = Browser::default();
    assert_eq!(browser.log_in(&app, "gus", PASSWORD).await.status(), 200);
    let token = app.access_token(&rp, "gus").await;
    let (secret, _) = enrol(&app, &token).await;
    // The browser's sign-in is now old (and had no second factor): a new email needs proof.
    app.clock.advance(Duration::minutes(11));
    let attempt = |otp: String| new_email_with_code(&app, &browser, "gus.new@example.com", otp);
    for _ in 0..5 {
        assert_eq!(attempt("000000".into()).await, 401);
    }
    let right = totp_code(&secret, app.clock.now());
    assert_eq!(attempt(right).await, 401, "locked, even for the right code");
    let failures = app.audit_of("login").await;
    assert!(
        failures
            .iter()
            .filter(|r| r.record.details["method"] == "step_up")
            .count()
            >= 5,
        "each wrong code is on the record"
    );
    let user = app.state.stores.db.find_user_by_login("gus").await.unwrap().unwrap();
    assert_eq!(
        user.email.as_ref().map(|e| e.as_str()),
        Some("gus@example.com"),
        "no change went through"
    );
    app.stop().await;
}

/// Asks for a new email on the account page with the password and `otp` as fresh proof; the
/// answer's status.
async fn new_email_with_code(app: &TestApp, browser: &Browser, email: &str, otp: String) -> u16 {
    let url = app.url("/account");
    let page = browser.get(&url).await.text().await.unwrap();
    let csrf = hidden(&page, "csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "profile"),
        ("email", email),
        ("current_password", PASSWORD),
        ("otp", otp.as_str()),
    ];
    browser.post(&url, &form).await.status().as_u16()
}

/// Step-up codes count per known browser, as the login page's second step does: wrong codes
/// typed in another browser (someone who has the password) lock that browser, not the user's
/// own, which still changes the email with the right code.
#[tokio::test]
async fn wrong_step_up_codes_elsewhere_do_not_lock_the_users_own_browser() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("hal", "operator", None).await;
    let rp = app.web_app(true).await;
    let (mine, theirs) = (Browser::default(), Browser::default());
    assert_eq!(mine.log_in(&app, "hal", PASSWORD).await.status(), 200);
    assert_eq!(theirs.log_in(&app, "hal", PASSWORD).await.status(), 200);
    let token = app.access_token(&rp, "hal").await;
    let (secret, _) = enrol(&app, &token).await;
    app.clock.advance(Duration::minutes(11));
    let attempt = |browser: &'static str, otp: String| {
        let browser = if browser == "mine" { &mine } else { &theirs };
        new_email_with_code(&app, browser, "hal.new@example.com", otp)
    };
    for _ in 0..6 {
        assert_eq!(attempt("theirs", "000000".into()).await, 401);
    }
    let right = totp_code(&secret, app.clock.now());
    assert_eq!(attempt("theirs", right.clone()).await, 401, "their browser is locked");
    assert_eq!(attempt("mine", right).await, 200, "mine is not");
    let user = app.state.stores.db.find_user_by_login("hal").await.unwrap().unwrap();
    assert_eq!(
        user.email.as_ref().map(|e| e.as_str()),
        Some("hal@example.com"),
        "waits for its code"
    );
    app.stop().await;
}

/// A user whose B2B account requires a second factor cannot remove the last one.
#[tokio::test]
async fn the_last_required_factor_stays() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let acme = app.account("Acme").await;
    app.user("ida", "client_user", Some(acme.slug.as_str())).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, "ida").await;
    let (_, recovery) = enrol(&app, &token).await;
    // The account begins requiring a second factor.
    let db = app.state.stores.db.as_ref();
    let mut account = db.find_account(acme.id).await.unwrap().unwrap();
    let read_at = account.updated_at;
    account.mfa_required = true;
    account.updated_at = app.clock.now();
    db.update_account(&account, read_at).await.unwrap();
    let (_, factors) = app.call(&token, Method::GET, "/account/v1/factors", None).await;
    let id = factors["items"][0]["id"].as_str().unwrap().to_owned();
    let proof = json!({ "current_password": PASSWORD, "otp": recovery[0] });
    let (status, body) = app
        .call(
            &token,
            Method::DELETE,
            &format!("/account/v1/factors/{id}"),
            Some(proof),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (_, factors) = app.call(&token, Method::GET, "/account/v1/factors", None).await;
    assert_eq!(factors["items"].as_array().unwrap().len(), 1, "{factors}");
    app.stop().await;
}

/// A user whose B2B account requires a second factor cannot clear the email whose codes are their
/// last one; once another factor is there, the address goes and its codes with it.
#[tokio::test]
async fn the_address_of_the_last_required_factor_stays() {
    use propusk::model::mfa::{self, Factor, FactorKind};
    let app = TestApp::spawn(Backend::Embedded).await;
    let acme = app.account("Acme").await;
    let id = UserId::parse(&app.user("jim", "client_user", Some(acme.slug.as_str())).await).unwrap();
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, "jim").await;
    let db = app.state.stores.db.as_ref();
    let now = app.clock.now();
    let code_factor = |kind: FactorKind, target: &str| Factor {
        id: uuid::Uuid::now_v7(),
        user_id: id,
        kind,
        secret_enc: None,
        target: Some(target.to_owned()),
        confirmed_at: Some(now),
        last_used_step: None,
        created_at: now,
    };
    db.insert_factor(&code_factor(FactorKind::Email, "jim@example.com"))
        .await
        .unwrap();
    let recovery = mfa::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = recovery.iter().map(|(_, hash)| hash.clone()).collect();
    db.replace_recovery_codes(id, &hashes, now).await.unwrap();
    // The account begins requiring a second factor.
    let mut account = db.find_account(acme.id).await.unwrap().unwrap();
    let read_at = account.updated_at;
    account.mfa_required = true;
    account.updated_at = app.clock.now();
    db.update_account(&account, read_at).await.unwrap();

    let clear = |otp: &str| json!({ "email": "", "current_password": PASSWORD, "otp": otp });
    let (status, body) = app
        .call(
            &token,
            Method::PATCH,
            "/account/v1/profile",
            Some(clear(&recovery[0].0)),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let user = db.find_user(id).await.unwrap().unwrap();
    assert_eq!(
        user.email.as_ref().map(|e| e.as_str()),
        Some("jim@example.com"),
        "no change went through"
    );
    assert_eq!(db.list_factors(id).await.unwrap().len(), 1, "the factor stays");

    let sms = code_factor(FactorKind::Sms, "+447700900123");
    db.insert_factor(&sms).await.unwrap();
    let (status, body) = app
        .call(
            &token,
            Method::PATCH,
            "/account/v1/profile",
            Some(clear(&recovery[1].0)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(db.find_user(id).await.unwrap().unwrap().email.is_none());
    assert_eq!(db.list_factors(id).await.unwrap(), vec![sms], "the email's codes went");
    app.stop().await;
}
