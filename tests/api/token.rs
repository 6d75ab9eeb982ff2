//! `/token` with `client_credentials`: the happy path with a real OAuth client library and our
//! own requests, and a table of refusals, each with its exact RFC error.

use base64::Engine as _;
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, Scope, TokenResponse as _, TokenUrl};
use serde_json::Value;

use crate::support::{Backend, RegisteredApp, TestApp, claims_of};

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

#[tokio::test]
async fn the_oauth2_crate_gets_a_service_token() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        let service = app.service_app("operator", false).await;
        let client = BasicClient::new(ClientId::new(service.client_id.clone()))
            .set_client_secret(ClientSecret::new(service.secret.clone().unwrap()))
            .set_auth_uri(AuthUrl::new(app.url("/authorize")).unwrap())
            .set_token_uri(TokenUrl::new(app.url("/token")).unwrap());
        let http = oauth2::reqwest::Client::builder()
            .redirect(oauth2::reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let token = client
            .exchange_client_credentials()
            .add_scope(Scope::new("parcels".into()))
            .request_async(&http)
            .await
            .unwrap();
        assert_eq!(token.scopes().unwrap(), &vec![Scope::new("parcels".into())]);
        assert_eq!(token.expires_in().unwrap().as_secs(), 600);
        assert!(
            token.refresh_token().is_none(),
            "no refresh token for client_credentials"
        );

        let jwt = token.access_token().secret();
        assert_eq!(header_of(jwt)["typ"], "at+jwt");
        assert_eq!(header_of(jwt)["alg"], "ES256");
        let claims = claims_of(jwt);
        assert_eq!(claims["sub"], service.client_id.as_str(), "{backend:?}");
        assert_eq!(claims["client_id"], service.client_id.as_str());
        assert_eq!(claims["iss"], app.config.issuer_str());
        assert_eq!(claims["aud"], "propusk");
        assert_eq!(claims["role"], "operator");
        assert_eq!(claims["scope"], "parcels");
        assert!(claims.get("clientId").is_none(), "a staff service has no B2B account");
        let permissions: Vec<&str> = claims["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(permissions, ["audit:read", "clients:read", "parcels:*", "users:read"]);
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 600);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_tenant_service_token_carries_its_account_and_all_allowed_scopes_by_default() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let account = propusk::identity::admin::create_account(
        app.state.stores.db.as_ref(),
        &app.clock,
        propusk::identity::admin::NewAccount {
            name: "Acme".into(),
            slug: None,
        },
    )
    .await
    .unwrap();
    let service = app
        .register(propusk::identity::admin::NewApplication {
            name: "ERP".into(),
            grants: vec!["client_credentials".into()],
            scopes: vec!["parcels".into(), "labels".into()],
            role: Some("client_user".into()),
            account: Some("acme".into()),
            ..Default::default()
        })
        .await;
    // client_secret_post this time.
    let response = app
        .client
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", service.client_id.as_str()),
            ("client_secret", service.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "labels parcels");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["clientId"], account.id.to_string());
    assert_eq!(claims["role"], "client_user");
    app.stop().await;
}

/// A refusal: name, form, whether to authenticate as the service app, status, error.
type Case = (&'static str, Vec<(&'static str, String)>, Auth, u16, &'static str);

#[derive(Clone, Copy)]
enum Auth {
    Service,
    WrongSecret,
    None,
    Public,
    CodeApp,
}

fn refusals(service: &RegisteredApp) -> Vec<Case> {
    let cc = || ("grant_type", "client_credentials".to_owned());
    vec![
        (
            "no client authentication",
            vec![cc()],
            Auth::None,
            401,
            "invalid_client",
        ),
        ("wrong secret", vec![cc()], Auth::WrongSecret, 401, "invalid_client"),
        (
            "unknown client, authenticated in the body: 400, no challenge",
            vec![cc(), ("client_id", "nobody".into()), ("client_secret", "x".into())],
            Auth::None,
            400,
            "invalid_client",
        ),
        ("public client", vec![cc()], Auth::Public, 401, "invalid_client"),
        (
            "client without the grant",
            vec![cc()],
            Auth::CodeApp,
            400,
            "unauthorized_client",
        ),
        ("missing grant_type", vec![], Auth::Service, 400, "invalid_request"),
        (
            "unsupported grant_type",
            vec![("grant_type", "implicit".into())],
            Auth::Service,
            400,
            "unsupported_grant_type",
        ),
        (
            "repeated parameter",
            vec![cc(), cc()],
            Auth::Service,
            400,
            "invalid_request",
        ),
        (
            "scope beyond the client's",
            vec![cc(), ("scope", "parcels admin".into())],
            Auth::Service,
            400,
            "invalid_scope",
        ),
        (
            "malformed scope",
            vec![cc(), ("scope", "a\"b".into())],
            Auth::Service,
            400,
            "invalid_scope",
        ),
        (
            "two authentication methods",
            vec![cc(), ("client_secret", service.secret.clone().unwrap())],
            Auth::Service,
            400,
            "invalid_request",
        ),
    ]
}

#[tokio::test]
async fn refusals_carry_the_rfc_error_and_issue_nothing() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        let service = app.service_app("operator", false).await;
        let public = app
            .register(propusk::identity::admin::NewApplication {
                name: "SPA".into(),
                public: true,
                redirect_uris: vec!["https://spa.example.com/cb".into()],
                ..Default::default()
            })
            .await;
        let code_app = app
            .register(propusk::identity::admin::NewApplication {
                name: "Web".into(),
                redirect_uris: vec!["https://web.example.com/cb".into()],
                ..Default::default()
            })
            .await;
        for (case, form, auth, status, error) in refusals(&service) {
            let mut request = app.client.post(app.url("/token"));
            request = match auth {
                Auth::Service => request.basic_auth(&service.client_id, service.secret.as_deref()),
                Auth::WrongSecret => request.basic_auth(&service.client_id, Some("wrong")),
                Auth::Public => request.basic_auth(&public.client_id, None::<&str>),
                Auth::CodeApp => request.basic_auth(&code_app.client_id, code_app.secret.as_deref()),
                Auth::None => request,
            };
            let body = serde_urlencoded::to_string(&form).unwrap();
            let response = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), status, "{case} ({backend:?})");
            assert_eq!(response.headers()["cache-control"], "no-store", "{case}");
            if status == 401 {
                assert_eq!(
                    response.headers()["www-authenticate"],
                    "Basic realm=\"propusk\"",
                    "{case}"
                );
            }
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], error, "{case}: {body}");
            assert!(body.get("access_token").is_none(), "{case}: nothing issued");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_invalid_requests() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let service = app.service_app("operator", false).await;
    let big = format!("grant_type=client_credentials&junk={}", "x".repeat(1024 * 1024));
    // Undecodable percent sequences are kept literally by the form decoder, so that grant_type
    // is merely unknown.
    let cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "json body",
            "application/json",
            r#"{"grant_type":"client_credentials"}"#.into(),
            "invalid_request",
        ),
        (
            "no content type",
            "",
            "grant_type=client_credentials".into(),
            "invalid_request",
        ),
        (
            "broken encoding",
            "application/x-www-form-urlencoded",
            "grant_type=%ZZ&%".into(),
            "unsupported_grant_type",
        ),
        ("1 MB body", "application/x-www-form-urlencoded", big, "invalid_request"),
    ];
    for (case, content_type, body, error) in cases {
        let mut request = app
            .client
            .post(app.url("/token"))
            .basic_auth(&service.client_id, service.secret.as_deref())
            .body(body);
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        let want = if case == "1 MB body" { 413 } else { 400 };
        assert_eq!(response.status(), want, "{case}");
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["error"], error, "{case}");
    }
    assert_eq!(
        app.get("/token").await.status(),
        405,
        "GET is not allowed at the token endpoint"
    );
    app.stop().await;
}
