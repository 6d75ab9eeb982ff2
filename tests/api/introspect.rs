//! `/introspect` (RFC 7662) and `/revoke` (RFC 7009) for access tokens.

use serde_json::{Value, json};
use time::Duration;

use crate::support::{Backend, TestApp};

async fn introspect(app: &TestApp, caller: &crate::support::RegisteredApp, token: &str) -> Value {
    let response = app.post_form("/introspect", Some(caller), &[("token", token)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_active_token_shows_its_claims_to_the_gateway() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        let gateway = app.service_app("admin", true).await;
        let service = app.service_app("operator", false).await;
        let token = app.client_token(&service).await;
        let body = introspect(&app, &gateway, &token).await;
        assert_eq!(body["active"], true, "{backend:?}");
        assert_eq!(body["sub"], service.client_id.as_str());
        assert_eq!(body["client_id"], service.client_id.as_str());
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["role"], "operator");
        assert_eq!(body["scope"], "labels parcels");
        assert!(body["exp"].as_i64().unwrap() > body["iat"].as_i64().unwrap());
        assert!(body["permissions"].as_array().unwrap().contains(&json!("parcels:*")));
        app.stop().await;
    }
}

#[tokio::test]
async fn clients_without_the_flag_see_only_their_own_tokens() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let a = app.service_app("operator", false).await;
    let b = app.service_app("operator", false).await;
    let token_a = app.client_token(&a).await;
    assert_eq!(introspect(&app, &a, &token_a).await["active"], true);
    assert_eq!(introspect(&app, &b, &token_a).await, json!({ "active": false }));
    app.stop().await;
}

#[tokio::test]
async fn expired_garbage_and_revoked_tokens_are_inactive() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        let gateway = app.service_app("admin", true).await;
        let service = app.service_app("operator", false).await;
        for garbage in ["x", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", &"a".repeat(10_000)] {
            assert_eq!(
                introspect(&app, &gateway, garbage).await,
                json!({ "active": false }),
                "{garbage:.20}"
            );
        }

        let token = app.client_token(&service).await;
        app.clock.advance(Duration::minutes(10));
        assert_eq!(
            introspect(&app, &gateway, &token).await,
            json!({ "active": false }),
            "expired"
        );

        let token = app.client_token(&service).await;
        let other = app.client_token(&service).await;
        let response = app
            .post_form(
                "/revoke",
                Some(&service),
                &[("token", &token), ("token_type_hint", "access_token")],
            )
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            introspect(&app, &gateway, &token).await,
            json!({ "active": false }),
            "revoked at once ({backend:?})"
        );
        assert_eq!(
            introspect(&app, &gateway, &other).await["active"],
            true,
            "only that token"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn introspection_needs_an_authenticated_confidential_client() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let service = app.service_app("operator", false).await;
    let token = app.client_token(&service).await;
    let public = app
        .register(propusk::identity::admin::NewApplication {
            name: "SPA".into(),
            public: true,
            redirect_uris: vec!["https://spa.example.com/cb".into()],
            ..Default::default()
        })
        .await;
    let response = app.post_form("/introspect", Some(&public), &[("token", &token)]).await;
    assert_eq!(response.status(), 401);
    let response = app.post_form("/introspect", None, &[("token", &token)]).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let response = app.post_form("/introspect", Some(&service), &[]).await;
    assert_eq!(response.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn revocation_is_limited_to_the_clients_own_tokens() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let gateway = app.service_app("admin", true).await;
    let a = app.service_app("operator", false).await;
    let b = app.service_app("operator", false).await;
    let token_a = app.client_token(&a).await;

    let response = app.post_form("/revoke", Some(&b), &[("token", &token_a)]).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(
        introspect(&app, &gateway, &token_a).await["active"],
        true,
        "another client cannot revoke it"
    );

    for (case, form, status) in [
        ("unknown token", vec![("token", "not-a-token")], 200),
        ("no token", vec![], 400),
        (
            "an unknown hint is ignored (RFC 7009 §2.2)",
            vec![("token", "x"), ("token_type_hint", "id_token")],
            200,
        ),
    ] {
        let response = app.post_form("/revoke", Some(&a), &form).await;
        assert_eq!(response.status(), status, "{case}");
    }
    let response = app.post_form("/revoke", None, &[("token", &token_a)]).await;
    assert_eq!(response.status(), 401);
    app.stop().await;
}
