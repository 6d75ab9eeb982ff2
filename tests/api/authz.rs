//! `POST /authz/check`: the gateway's question, answered from the token's role, permissions and
//! B2B account, and refused at once after a revocation.

use serde_json::json;
use time::Duration;

use crate::support::{Backend, Browser, TestApp};

#[tokio::test]
async fn a_client_sees_only_its_own_parcels_and_an_operator_sees_all() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme").await;
    let globex = app.account("Globex").await;
    app.user("ann", "client_user", Some("acme")).await;
    app.user("olga", "operator", None).await;
    let rp = app.web_app(true).await;
    let ann = app.code_tokens(&Browser::default(), &rp, "ann", "openid").await;
    let olga = app.code_tokens(&Browser::default(), &rp, "olga", "openid").await;
    let ann = ann["access_token"].as_str().unwrap();
    let olga = olga["access_token"].as_str().unwrap();
    let (acme, globex) = (acme.id.to_string(), globex.id.to_string());

    let cases = [
        ("client, own account", ann, "parcels:read", Some(&acme), true),
        ("client, no account named", ann, "parcels:create", None, true),
        ("client, another account", ann, "parcels:read", Some(&globex), false),
        ("client, beyond its role", ann, "parcels:delete", Some(&acme), false),
        ("operator, any account", olga, "parcels:delete", Some(&globex), true),
        ("operator, beyond its role", olga, "users:update", Some(&acme), false),
    ];
    for (case, token, permission, account, allowed) in cases {
        let (status, body) = app
            .call(
                token,
                reqwest::Method::POST,
                "/authz/check",
                Some(json!({ "permission": permission, "client_id": account })),
            )
            .await;
        assert_eq!(status, 200, "{case}");
        assert_eq!(body["allowed"], allowed, "{case}: {body}");
        assert!(!body["reason"].as_str().unwrap().is_empty());
    }

    let (status, body) = app
        .call(
            ann,
            reqwest::Method::POST,
            "/authz/check",
            Some(json!({ "permission": "parcels" })),
        )
        .await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_request")));
    let (status, _) = app
        .call(
            "not-a-token",
            reqwest::Method::POST,
            "/authz/check",
            Some(json!({ "permission": "parcels:read" })),
        )
        .await;
    assert_eq!(status, 401);

    // Blocking or a role change sets the not-before time: the next check is refused.
    app.clock.advance(Duration::seconds(1));
    let claims = app.state.provider.access_claims(ann).unwrap();
    let now = propusk::clock::Clock::now(&app.clock);
    propusk::oauth::revocation::end_user(
        app.state.stores.state.as_ref(),
        &claims.sub,
        propusk::oauth::revocation::Ends::Everything,
        now,
    )
    .await
    .unwrap();
    let (status, _) = app
        .call(
            ann,
            reqwest::Method::POST,
            "/authz/check",
            Some(json!({ "permission": "parcels:read" })),
        )
        .await;
    assert_eq!(status, 401, "refused on the next request");
    app.stop().await;
}
