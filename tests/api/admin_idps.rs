//! `/admin/v1/clients/{id}/identity-providers`: staff manage an account's upstream OpenID
//! providers; the client secret is write-only and sealed; domains are staff-only and no two
//! accounts may claim overlapping ones; an account role with `identity_providers:*` manages its
//! own account's providers but not domains; refusals change nothing.

use reqwest::Method;
use serde_json::json;

use crate::support::{Backend, TestApp};

#[tokio::test]
async fn identity_providers_are_managed_within_reach() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let db = app.state.stores.db.as_ref();
    let acme = app.account("Acme").await;
    let globex = app.account("Globex").await;
    let admin = app.service_app("admin", false).await;
    let staff = app.client_token(&admin).await;
    let base = format!("/admin/v1/clients/{}/identity-providers", acme.id);

    let body = json!({
        "issuer": "https://login.acme.example",
        "client_id": "propusk",
        "client_secret": "s3cret-upstream",
        "domains": ["acme.example"],
        "jit": true,
        "default_role": "client_user",
        "role_rules": [{ "claim": "groups", "value": "logistics-admins", "role": "client_admin" }],
        "claims": { "username": "upn" },
    });
    let (status, idp) = app.call(&staff, Method::POST, &base, Some(body)).await;
    assert_eq!(status, 201, "{idp}");
    assert_eq!(idp["has_client_secret"], true);
    assert_eq!(idp["claims"]["username"], "upn");
    assert_eq!(idp["claims"]["email"], "email", "unnamed claims keep their defaults");
    assert!(!idp.to_string().contains("s3cret"), "the secret is never shown");
    let id = idp["id"].as_str().unwrap().to_owned();
    let stored = db.find_idp(uuid::Uuid::parse_str(&id).unwrap()).await.unwrap().unwrap();
    let sealed = stored.client_secret_enc.unwrap();
    assert!(!sealed.windows(6).any(|w| w == b"s3cret"));

    // Refusals, each naming its field, none writing anything.
    let refusals = [
        (
            json!({ "issuer": "http://idp.example", "client_id": "x" }),
            400,
            "issuer",
        ),
        (
            json!({ "issuer": "https://a.example", "client_id": "x", "scopes": ["email"] }),
            400,
            "scopes",
        ),
        (
            json!({ "issuer": "https://a.example", "client_id": "x", "default_role": "operator" }),
            400,
            "default_role",
        ),
        (
            json!({ "issuer": "https://a.example", "client_id": "x", "jit": true }),
            400,
            "default_role",
        ),
        (
            json!({ "issuer": "https://a.example", "client_id": "x", "color": "red" }),
            400,
            "body",
        ),
        (
            json!({ "issuer": "https://a.example", "client_id": "x", "domains": ["not a domain"] }),
            400,
            "domains",
        ),
    ];
    for (body, want, field) in refusals {
        let (status, answer) = app.call(&staff, Method::POST, &base, Some(body.clone())).await;
        assert_eq!(status, want, "{body}: {answer}");
        assert!(
            answer["error_description"].as_str().unwrap().contains(field),
            "{body}: {answer}"
        );
    }
    let other = format!("/admin/v1/clients/{}/identity-providers", globex.id);
    let claim = json!({ "issuer": "https://sso.globex.example", "client_id": "x", "domains": ["eu.acme.example"] });
    let (status, answer) = app.call(&staff, Method::POST, &other, Some(claim)).await;
    assert_eq!(status, 409, "another account cannot claim acme's subdomain: {answer}");
    let (_, list) = app.call(&staff, Method::GET, &base, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing half-written");
    let (_, list) = app.call(&staff, Method::GET, &other, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // An account role that may manage its own account's providers, but not domains.
    let (status, _) = app
        .call(
            &staff,
            Method::POST,
            "/admin/v1/roles",
            Some(json!({ "name": "sso_admin", "scope": "account", "permissions": ["identity_providers:*", "users:read"] })),
        )
        .await;
    assert_eq!(status, 201);
    app.user("ivy", "sso_admin", Some("acme")).await;
    app.user("boss", "client_admin", Some("acme")).await;
    let rp = app.web_app(true).await;
    let ivy = app.access_token(&rp, "ivy").await;
    let boss = app.access_token(&rp, "boss").await;
    let path = format!("{base}/{id}");
    let (status, patched) = app
        .call(&ivy, Method::PATCH, &path, Some(json!({ "enabled": false })))
        .await;
    assert_eq!((status, patched["enabled"].as_bool()), (200, Some(false)), "{patched}");
    let (status, answer) = app
        .call(
            &ivy,
            Method::PATCH,
            &path,
            Some(json!({ "domains": ["acme-corp.example"] })),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error_description"].as_str().unwrap().contains("only staff"));
    let (status, _) = app.call(&ivy, Method::GET, &other, None).await;
    assert_eq!(status, 404, "another account looks absent");
    let (status, _) = app.call(&boss, Method::GET, &base, None).await;
    assert_eq!(
        status, 403,
        "the built-in client_admin has no identity_providers permission"
    );
    let (_, read) = app.call(&staff, Method::GET, &path, None).await;
    assert_eq!(
        read["domains"],
        json!(["acme.example"]),
        "the refused change wrote nothing"
    );
    // Nor may it relax the account's 2FA policy, or hand out through the mapping a role with
    // permissions it does not hold.
    for body in [
        json!({ "accept_upstream_mfa": true }),
        json!({ "required_claims": [] }),
        json!({ "default_role": "client_admin" }),
        json!({ "role_rules": [{ "claim": "groups", "value": "x", "role": "client_admin" }] }),
    ] {
        let (status, answer) = app.call(&ivy, Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(status, 403, "{body}: {answer}");
    }
    let (status, answer) = app
        .call(
            &ivy,
            Method::PATCH,
            &path,
            Some(json!({ "accept_upstream_mfa": false })),
        )
        .await;
    assert_eq!(status, 200, "turning it off is stricter: {answer}");
    // Pointing the provider at another issuer drops the staff-approved domains: the trust they
    // carry belonged to the old issuer.
    let (status, moved) = app
        .call(
            &ivy,
            Method::PATCH,
            &path,
            Some(json!({ "issuer": "https://login2.acme.example" })),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["domains"], json!([]));
    assert_eq!(moved["accept_upstream_mfa"], false);

    let (status, _) = app.call(&staff, Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let (status, _) = app.call(&staff, Method::GET, &path, None).await;
    assert_eq!(status, 404);
    assert_eq!(app.audit_of("idp.create").await.len(), 1);
    assert!(
        app.audit_of("idp.update").await.len() >= 2,
        "the change and the refusal"
    );
    assert_eq!(app.audit_of("idp.delete").await.len(), 1);
    app.stop().await;
}
