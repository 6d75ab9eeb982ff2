//! The whole OpenID Connect code flow, driven by the `openidconnect` crate as a real relying
//! party: discovery, authorize with PKCE, login, consent, callback, code exchange, ID token
//! validation through JWKS, userinfo, refresh, logout.

use openidconnect::core::{CoreAuthenticationFlow, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, CsrfToken, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PostLogoutRedirectUrl, ProviderMetadataWithLogout, Scope, TokenResponse,
};
use serde_json::json;

use crate::support::{Backend, Browser, TestApp, query_param};

#[tokio::test]
async fn a_relying_party_signs_a_user_in_refreshes_and_signs_out() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        let user_id = app.user("ann", "operator", None).await;
        let rp = app.web_app(false).await;
        let gateway = app.service_app("admin", true).await;

        let http = crate::support::rp_http();
        let issuer = IssuerUrl::new(app.base.clone()).unwrap();
        let metadata = ProviderMetadataWithLogout::discover_async(issuer.clone(), &http)
            .await
            .unwrap();
        let end_session = metadata.additional_metadata().end_session_endpoint.clone().unwrap();
        let client = crate::support::rp(metadata, &rp.client_id.clone(), &rp.secret.clone().unwrap());

        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (auth_url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge)
            .url();

        let browser = Browser::default();
        let callback = app.sign_in(&browser, auth_url.as_str(), "ann").await;
        assert!(callback.starts_with("https://client.example.com/cb?"), "{callback}");
        assert_eq!(
            query_param(&callback, "state").as_deref(),
            Some(state.secret().as_str())
        );
        assert_eq!(
            query_param(&callback, "iss").as_deref(),
            Some(app.base.as_str()),
            "RFC 9207"
        );
        let code = query_param(&callback, "code").unwrap();

        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("code exchange ({backend:?}): {e:?}"));
        let id_token = tokens.id_token().unwrap();
        let verifier = client.id_token_verifier();
        let claims = id_token.claims(&verifier, &nonce).unwrap();
        assert_eq!(claims.subject().as_str(), user_id);
        assert!(
            claims.email().is_none(),
            "scope claims go to userinfo (OpenID Connect Core §5.4)"
        );
        let expected_hash = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(claims.access_token_hash(), Some(&expected_hash));

        let info: CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), None)
            .unwrap()
            .request_async(&http)
            .await
            .unwrap();
        assert_eq!(info.subject().as_str(), user_id);
        assert_eq!(info.email().unwrap().as_str(), "ann@example.com");

        // Refresh: a new pair; the new refresh token keeps the scope.
        let refresh = tokens.refresh_token().unwrap().clone();
        let refreshed = client
            .exchange_refresh_token(&refresh)
            .unwrap()
            .request_async(&http)
            .await
            .unwrap();
        let successor = refreshed.refresh_token().unwrap().clone();
        // OpenID Connect Core §12.2: a new ID token for the same user and authentication, with
        // no nonce, bound to the new access token.
        let renewed = refreshed
            .id_token()
            .expect("a refresh of an openid grant renews the ID token");
        let renewed_claims = renewed
            .claims(&verifier, |n: Option<&Nonce>| match n {
                None => Ok(()),
                Some(_) => Err("a refreshed ID token carries no nonce".to_owned()),
            })
            .unwrap();
        assert_eq!(renewed_claims.subject().as_str(), user_id);
        assert_eq!(renewed_claims.auth_time(), claims.auth_time());
        assert_eq!(
            renewed_claims.access_token_hash(),
            Some(
                &AccessTokenHash::from_token(
                    refreshed.access_token(),
                    renewed.signing_alg().unwrap(),
                    renewed.signing_key(&verifier).unwrap(),
                )
                .unwrap()
            )
        );

        // RFC 6750 §2.2: the access token in a form body is as good as in the header; both at
        // once are refused.
        let by_form: serde_json::Value = app
            .client
            .post(app.url("/userinfo"))
            .form(&[("access_token", refreshed.access_token().secret())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(by_form["sub"], user_id.as_str());
        assert_eq!(by_form["email"], "ann@example.com");
        let both = app
            .client
            .post(app.url("/userinfo"))
            .bearer_auth(refreshed.access_token().secret())
            .form(&[("access_token", refreshed.access_token().secret())])
            .send()
            .await
            .unwrap();
        assert_eq!(both.status(), 400);
        assert!(
            both.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_request")
        );
        assert_ne!(successor.secret(), refresh.secret());
        let again = client
            .exchange_refresh_token(&successor)
            .unwrap()
            .request_async(&http)
            .await
            .unwrap();
        let latest = again.refresh_token().unwrap().clone();

        // Introspection sees the access token until the user signs out.
        let access = again.access_token().secret().clone();
        let active = app
            .post_form("/introspect", Some(&gateway), &[("token", &access)])
            .await;
        let body: serde_json::Value = active.json().await.unwrap();
        assert_eq!(body["active"], true);
        assert_eq!(body["sub"], user_id.as_str());
        assert_eq!(
            body["role"],
            serde_json::Value::Null,
            "a third-party token names no role"
        );

        let logout_url = LogoutRequest::from(end_session)
            .set_id_token_hint(id_token)
            .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new("https://client.example.com/bye".into()).unwrap())
            .set_state(CsrfToken::new("bye-state".into()))
            .http_get_url();
        let response = browser.get(logout_url.as_str()).await;
        let to = crate::support::location(&response, &app.base);
        assert!(to.starts_with("https://client.example.com/bye?"), "{to}");
        assert_eq!(query_param(&to, "state").as_deref(), Some("bye-state"));

        let inactive = app
            .post_form("/introspect", Some(&gateway), &[("token", &access)])
            .await;
        assert_eq!(
            inactive.json::<serde_json::Value>().await.unwrap(),
            json!({ "active": false }),
            "inactive at once ({backend:?})"
        );
        let dead = client
            .exchange_refresh_token(&latest)
            .unwrap()
            .request_async(&http)
            .await;
        assert!(dead.is_err(), "the session's refresh family is revoked");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_claims_parameter_adds_claims_to_the_id_token_within_the_granted_scope() {
    use base64::Engine as _;
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let browser = Browser::default();
    let (verifier, challenge) = crate::support::pkce();
    let claims = r#"{"id_token":{"name":null,"phone_number":null},"userinfo":{"email":{"essential":true}}}"#;
    let url = app.authorize_url(
        &rp,
        &[
            ("response_type", "code"),
            ("redirect_uri", "https://client.example.com/cb"),
            ("scope", "openid profile email"),
            ("claims", claims),
            ("nonce", "n-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let callback = app.sign_in(&browser, &url, "ann").await;
    let code = query_param(&callback, "code").unwrap();
    let tokens: serde_json::Value = app
        .post_form(
            "/token",
            Some(&rp),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://client.example.com/cb"),
                ("code_verifier", &verifier),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    let payload = tokens["id_token"].as_str().unwrap().split('.').nth(1).unwrap();
    let id: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        id["name"], "ann tester",
        "asked for in the ID token, within the granted scope"
    );
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["role"], "operator");
    assert!(id.get("email").is_none(), "not asked for in the ID token");
    assert!(id.get("phone_number").is_none(), "the phone scope was not granted");
    let info: serde_json::Value = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], "ann@example.com");
    assert_eq!(
        info["name"], "ann tester",
        "userinfo carries every claim the scope releases"
    );
    assert!(info.get("phone_number").is_none());
    app.stop().await;
}

/// `id_token_signed_response_alg` set through the admin API: the relying party gets ES256 ID
/// tokens (checked by the `openidconnect` crate against JWKS), on the code and refresh grants;
/// anything but RS256 or ES256 is refused.
#[tokio::test]
async fn an_application_may_choose_es256_id_tokens() {
    use openidconnect::core::CoreJwsSigningAlgorithm;
    use reqwest::Method;
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("root", "admin", None).await;
    let user_id = app.user("ann", "operator", None).await;
    let console = app.web_app(true).await;
    let admin = app.access_token(&console, "root").await;
    let body = json!({
        "name": "ES RP", "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": ["https://client.example.com/cb"], "first_party": true,
        "id_token_signed_response_alg": "ES256"
    });
    let (status, created) = app
        .call(&admin, Method::POST, "/admin/v1/applications", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id_token_signed_response_alg"], "ES256");
    let id = created["client_id"].as_str().unwrap().to_owned();
    for bad in ["HS256", "none", "es256x"] {
        let (status, refused) = app
            .call(
                &admin,
                Method::PATCH,
                &format!("/admin/v1/applications/{id}"),
                Some(json!({ "id_token_signed_response_alg": bad })),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {refused}");
    }

    let http = crate::support::rp_http();
    let metadata = crate::support::discover(&app, &http).await;
    assert!(
        metadata
            .id_token_signing_alg_values_supported()
            .contains(&CoreJwsSigningAlgorithm::EcdsaP256Sha256)
    );
    let client = crate::support::rp(metadata, &id, created["client_secret"].as_str().unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let callback = app.sign_in(&Browser::default(), auth_url.as_str(), "ann").await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(query_param(&callback, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let es256 = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let id_token = tokens.id_token().unwrap();
    assert_eq!(
        *id_token.signing_alg().unwrap(),
        CoreJwsSigningAlgorithm::EcdsaP256Sha256
    );
    assert_eq!(id_token.claims(&es256, &nonce).unwrap().subject().as_str(), user_id);
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let renewed = refreshed.id_token().unwrap();
    assert_eq!(
        *renewed.signing_alg().unwrap(),
        CoreJwsSigningAlgorithm::EcdsaP256Sha256
    );
    renewed.claims(&es256, |_: Option<&Nonce>| Ok(())).unwrap();
    app.stop().await;
}

/// The fields of the form_post page, HTML entities undone.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let unescape = |v: &str| {
        v.replace("&quot;", "\"")
            .replace("&#34;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&#60;", "<")
            .replace("&gt;", ">")
            .replace("&#62;", ">")
            .replace("&amp;", "&")
            .replace("&#38;", "&")
    };
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"").unwrap();
            let value = rest.split('"').next().unwrap();
            (unescape(name), unescape(value))
        })
        .collect()
}

/// `response_mode=form_post`: the answer is a page whose form posts code, state and iss to the
/// redirect URI; the page's only script is its own file (CSP `script-src 'self'`, no inline
/// code), with a button for browsers without scripts; every value is escaped; errors go back the
/// same way. The code then works with the `openidconnect` crate.
#[tokio::test]
async fn form_post_answers_with_a_self_submitting_form_and_no_inline_script() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        app.user("ann", "operator", None).await;
        let rp = app.web_app(true).await;
        let http = crate::support::rp_http();
        let metadata = crate::support::discover(&app, &http).await;
        let modes: Vec<String> = metadata
            .response_modes_supported()
            .unwrap()
            .iter()
            .map(|m| serde_json::to_value(m).unwrap().as_str().unwrap().to_owned())
            .collect();
        assert_eq!(modes, ["query", "form_post"]);
        let client = crate::support::rp(metadata, &rp.client_id.clone(), &rp.secret.clone().unwrap());
        let nasty = "x\"><script>alert(1)</script>&'";
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (auth_url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                || CsrfToken::new(nasty.to_owned()),
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .add_extra_param("response_mode", "form_post")
            .url();
        let browser = Browser::default();
        let to = crate::support::location(&browser.get(auth_url.as_str()).await, &app.base);
        let login = browser.get(&to).await.text().await.unwrap();
        let answered = browser
            .post(
                &app.url("/login"),
                &[
                    ("csrf", &crate::support::hidden(&login, "csrf")),
                    ("req", &crate::support::hidden(&login, "req")),
                    ("login", "ann"),
                    ("password", crate::support::PASSWORD),
                ],
            )
            .await;
        assert_eq!(answered.status(), 200, "a page, not a redirect");
        let csp = answered.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(answered.headers()["cache-control"], "no-store");
        let page = answered.text().await.unwrap();
        assert!(
            page.contains(r#"<form id="response" method="post" action="https://client.example.com/cb">"#),
            "{page}"
        );
        assert!(page.contains(r#"<script src="/static/form_post.js" defer></script>"#));
        assert_eq!(page.matches("<script").count(), 1, "no inline script: {page}");
        assert!(page.contains("<noscript>") && page.contains(r#"<button type="submit">"#));
        assert!(!page.contains(nasty), "the state is escaped");
        let fields = form_fields(&page);
        let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        assert_eq!(field("state").as_deref(), Some(nasty));
        assert_eq!(field("iss").as_deref(), Some(app.base.as_str()));
        let script = app.get("/static/form_post.js").await;
        assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
        assert!(script.text().await.unwrap().contains("submit()"));

        let tokens = client
            .exchange_code(AuthorizationCode::new(field("code").unwrap()))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .unwrap();
        tokens
            .id_token()
            .unwrap()
            .claims(&client.id_token_verifier(), &nonce)
            .unwrap();

        // Signed in already: the page comes straight from /authorize; an error (here a
        // malformed prompt) is posted back the same way.
        let (again, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
            .add_extra_param("response_mode", "form_post")
            .url();
        let page = browser.get(again.as_str()).await.text().await.unwrap();
        assert!(form_fields(&page).iter().any(|(n, _)| n == "code"), "{page}");
        let (bad, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_extra_param("response_mode", "form_post")
            .add_extra_param("prompt", "none login")
            .url();
        let page = browser.get(bad.as_str()).await.text().await.unwrap();
        let fields = form_fields(&page);
        assert!(
            fields.iter().any(|(n, v)| n == "error" && v == "invalid_request"),
            "{page}"
        );
        // An unknown mode is refused in the query (the mode it asked for is not one we speak).
        let (odd, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_extra_param("response_mode", "fragment")
            .url();
        let to = crate::support::location(&browser.get(odd.as_str()).await, &app.base);
        assert_eq!(query_param(&to, "error").as_deref(), Some("invalid_request"), "{to}");
        app.stop().await;
    }
}

/// The standard profile claims: set through the admin API and changed by the user through the
/// account API, released by the `profile` and `address` scopes at `/userinfo`, and one by one
/// through the `claims` parameter (an essential `name` with `openid` alone, OP-claims-essential);
/// a third-party application's user consents to what a claim request adds.
#[tokio::test]
async fn profile_and_address_claims_follow_scopes_and_claim_requests() {
    use reqwest::Method;
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        app.user("root", "admin", None).await;
        let console = app.web_app(true).await;
        let admin = app.access_token(&console, "root").await;
        let body = json!({
            "username": "vera", "password": crate::support::PASSWORD, "role": "operator",
            "email": "vera@example.com", "name": "Vera Petrova",
            "profile": {
                "given_name": "Vera", "family_name": "Petrova", "locale": "ru-RU",
                "zoneinfo": "Europe/Moscow", "birthdate": "1990-04-01",
                "address": {"street_address": "Тверская, 1", "locality": "Москва", "postal_code": "125009", "country": "RU"}
            }
        });
        let (status, created) = app.call(&admin, Method::POST, "/admin/v1/users", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["profile"]["locale"], "ru-RU");
        let bad = json!({"username": "x1x", "password": crate::support::PASSWORD, "role": "operator",
            "profile": {"website": "javascript:alert(1)"}});
        let (status, refused) = app.call(&admin, Method::POST, "/admin/v1/users", Some(bad)).await;
        assert_eq!(status, 400, "{refused}");
        let vera = app.access_token(&console, "vera").await;
        let (status, changed) = app
            .call(
                &vera,
                Method::PATCH,
                "/account/v1/profile",
                Some(json!({"profile": {"nickname": "vp", "birthdate": null}})),
            )
            .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["profile"]["nickname"], "vp");
        assert!(changed["profile"].get("birthdate").is_none());
        let (status, _) = app
            .call(
                &vera,
                Method::PATCH,
                "/account/v1/profile",
                Some(json!({"profile": {"role": "admin"}})),
            )
            .await;
        assert_eq!(status, 400, "only profile fields");

        let http = crate::support::rp_http();
        let metadata = crate::support::discover(&app, &http).await;
        assert!(
            metadata
                .scopes_supported()
                .unwrap()
                .iter()
                .any(|s| s.as_str() == "address")
        );
        let tokens_for =
            |rp: crate::support::RegisteredApp, scopes: &'static [&'static str], claims: Option<&'static str>| {
                let (metadata, http) = (metadata.clone(), http.clone());
                let app = &app;
                async move {
                    let client = crate::support::rp(metadata, &rp.client_id.clone(), &rp.secret.clone().unwrap());
                    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
                    let mut request = client
                        .authorize_url(
                            CoreAuthenticationFlow::AuthorizationCode,
                            CsrfToken::new_random,
                            Nonce::new_random,
                        )
                        .set_pkce_challenge(challenge);
                    for s in scopes {
                        request = request.add_scope(Scope::new((*s).into()));
                    }
                    if let Some(claims) = claims {
                        request = request.add_extra_param("claims", claims);
                    }
                    let (url, _, nonce) = request.url();
                    let browser = Browser::default();
                    let callback = app.sign_in(&browser, url.as_str(), "vera").await;
                    let tokens = client
                        .exchange_code(AuthorizationCode::new(query_param(&callback, "code").unwrap()))
                        .unwrap()
                        .set_pkce_verifier(verifier)
                        .request_async(&http)
                        .await
                        .unwrap();
                    let id: CoreUserInfoClaims = client
                        .user_info(tokens.access_token().clone(), None)
                        .unwrap()
                        .request_async(&http)
                        .await
                        .unwrap();
                    let raw: serde_json::Value = app
                        .client
                        .get(app.url("/userinfo"))
                        .bearer_auth(tokens.access_token().secret())
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let id_token = tokens
                        .id_token()
                        .unwrap()
                        .claims(&client.id_token_verifier(), &nonce)
                        .unwrap()
                        .clone();
                    (id, raw, id_token)
                }
            };

        // profile + address: every profile claim and the address at /userinfo, none in the ID token.
        let first = app.web_app(true).await;
        let (info, raw, id_token) = tokens_for(first, &["profile", "address"], None).await;
        assert_eq!(info.given_name().unwrap().get(None).unwrap().as_str(), "Vera");
        assert_eq!(info.locale().unwrap().as_str(), "ru-RU");
        assert_eq!(info.zoneinfo().unwrap().as_str(), "Europe/Moscow");
        assert_eq!(info.address().unwrap().locality.as_ref().unwrap().as_str(), "Москва");
        assert_eq!(raw["nickname"], "vp");
        assert_eq!(raw["preferred_username"], "vera");
        assert!(raw.get("email").is_none(), "no email scope");
        assert!(id_token.given_name().is_none(), "scope claims go to userinfo");

        // openid alone, and an essential name asked of userinfo: the name and nothing else of
        // the profile; a locale asked of the ID token arrives there.
        let second = app.web_app(true).await;
        let (_, raw, id_token) = tokens_for(
            second,
            &[],
            Some(r#"{"userinfo":{"name":{"essential":true}},"id_token":{"locale":null}}"#),
        )
        .await;
        assert_eq!(raw["name"], "Vera Petrova");
        assert!(raw.get("given_name").is_none() && raw.get("address").is_none(), "{raw}");
        assert_eq!(id_token.locale().unwrap().as_str(), "ru-RU");

        // A third-party application: the claim request adds `profile` to what the user consents
        // to, then releases the name alone.
        let third = app.web_app(false).await;
        let client = crate::support::rp(
            metadata.clone(),
            &third.client_id.clone(),
            &third.secret.clone().unwrap(),
        );
        let (url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
            .add_extra_param("claims", r#"{"userinfo":{"name":{"essential":true}}}"#)
            .url();
        let browser = Browser::default();
        let to = crate::support::location(&browser.get(url.as_str()).await, &app.base);
        let login = browser.get(&to).await.text().await.unwrap();
        let consent = browser
            .post(
                &app.url("/login"),
                &[
                    ("csrf", &crate::support::hidden(&login, "csrf")),
                    ("req", &crate::support::hidden(&login, "req")),
                    ("login", "vera"),
                    ("password", crate::support::PASSWORD),
                ],
            )
            .await;
        let page = browser
            .get(&crate::support::location(&consent, &app.base))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("see your name"), "{page}");
        app.stop().await;
    }
}

/// Pushed Authorization Requests (RFC 9126): the client pushes its request (authenticated), then
/// sends only `client_id` and the one-time `request_uri` to `/authorize`; the code then works with
/// the `openidconnect` crate. Refused: a wrong secret, a bad pushed request (answered at `/par`,
/// never redirected), a pushed `request_uri`, another client's, a used or expired one; an
/// application that requires PAR cannot use `/authorize` without it.
#[tokio::test]
async fn pushed_authorization_requests_are_taken_once_by_their_own_client() {
    use reqwest::Method;
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        app.user("root", "admin", None).await;
        app.user("ann", "operator", None).await;
        let console = app.web_app(true).await;
        let admin = app.access_token(&console, "root").await;
        let body = json!({
            "name": "PAR RP", "grant_types": ["authorization_code"], "first_party": true,
            "redirect_uris": ["https://client.example.com/cb"],
            "require_pushed_authorization_requests": true
        });
        let (status, created) = app
            .call(&admin, Method::POST, "/admin/v1/applications", Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["require_pushed_authorization_requests"], true);
        let rp = crate::support::RegisteredApp {
            client_id: created["client_id"].as_str().unwrap().to_owned(),
            secret: created["client_secret"].as_str().map(str::to_owned),
        };
        let http = crate::support::rp_http();
        let metadata = crate::support::discover(&app, &http).await;
        let raw_metadata: serde_json::Value = app.get("/.well-known/openid-configuration").await.json().await.unwrap();
        let par_endpoint = raw_metadata["pushed_authorization_request_endpoint"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(par_endpoint, app.url("/par"));
        let client = crate::support::rp(metadata, &rp.client_id.clone(), &rp.secret.clone().unwrap());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (front, csrf, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .url();
        // The parameters openidconnect would send on the front channel, pushed instead.
        let params: Vec<(String, String)> = front
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let push = |params: Vec<(String, String)>, secret: &str| {
            let request = app
                .client
                .post(&par_endpoint)
                .basic_auth(&rp.client_id, Some(secret))
                .form(&params);
            async move { request.send().await.unwrap() }
        };
        let pushed = push(params.clone(), rp.secret.as_deref().unwrap()).await;
        assert_eq!(pushed.status(), 201);
        assert_eq!(pushed.headers()["cache-control"], "no-store");
        let pushed: serde_json::Value = pushed.json().await.unwrap();
        assert_eq!(pushed["expires_in"], 60);
        let request_uri = pushed["request_uri"].as_str().unwrap().to_owned();
        assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));

        let authorize = |client_id: &str, request_uri: &str| {
            let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
            url.query_pairs_mut()
                .append_pair("client_id", client_id)
                .append_pair("request_uri", request_uri);
            url.to_string()
        };
        let browser = Browser::default();
        let callback = app
            .sign_in(&browser, &authorize(&rp.client_id, &request_uri), "ann")
            .await;
        assert_eq!(query_param(&callback, "state").as_deref(), Some(csrf.secret().as_str()));
        let tokens = client
            .exchange_code(AuthorizationCode::new(query_param(&callback, "code").unwrap()))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .unwrap();
        tokens
            .id_token()
            .unwrap()
            .claims(&client.id_token_verifier(), &nonce)
            .unwrap();

        // Used once: gone.
        let again = browser.get(&authorize(&rp.client_id, &request_uri)).await;
        assert_eq!(again.status(), 400, "a used request_uri");
        // Another client's request_uri.
        let pushed: serde_json::Value = push(params.clone(), rp.secret.as_deref().unwrap())
            .await
            .json()
            .await
            .unwrap();
        let theirs = pushed["request_uri"].as_str().unwrap().to_owned();
        assert_eq!(browser.get(&authorize(&console.client_id, &theirs)).await.status(), 400);
        // Expired after 60 s.
        let pushed: serde_json::Value = push(params.clone(), rp.secret.as_deref().unwrap())
            .await
            .json()
            .await
            .unwrap();
        let late = pushed["request_uri"].as_str().unwrap().to_owned();
        app.clock.advance(time::Duration::seconds(61));
        assert_eq!(browser.get(&authorize(&rp.client_id, &late)).await.status(), 400);

        // Refused at /par, as JSON.
        assert_eq!(push(params.clone(), "wrong-secret").await.status(), 401);
        let with = |name: &str, value: &str| {
            let mut p: Vec<(String, String)> = params.iter().filter(|(k, _)| k != name).cloned().collect();
            p.push((name.to_owned(), value.to_owned()));
            p
        };
        for (case, body, error) in [
            ("bad scope", with("scope", "openid nonsense"), "invalid_scope"),
            (
                "unregistered redirect",
                with("redirect_uri", "https://evil.example/cb"),
                "invalid_request",
            ),
            (
                "pushed request_uri",
                with("request_uri", "urn:ietf:params:oauth:request_uri:x"),
                "invalid_request",
            ),
            (
                "other client_id",
                with("client_id", &console.client_id),
                "invalid_request",
            ),
            (
                "token response type",
                with("response_type", "token"),
                "unsupported_response_type",
            ),
        ] {
            let response = push(body, rp.secret.as_deref().unwrap()).await;
            let status = response.status();
            let answer: serde_json::Value = response.json().await.unwrap();
            assert_eq!(
                (status.as_u16(), answer["error"].as_str().unwrap()),
                (400, error),
                "{case}: {answer}"
            );
        }

        // This application must push: the front channel alone is refused.
        let to = crate::support::location(&browser.get(front.as_str()).await, &app.base);
        assert_eq!(query_param(&to, "error").as_deref(), Some("invalid_request"), "{to}");
        app.stop().await;
    }
}
