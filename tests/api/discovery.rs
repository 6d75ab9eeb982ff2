//! Discovery (OIDC Discovery 1.0, RFC 8414) and JWKS.

use serde_json::Value;

use crate::support::{Backend, TestApp};

#[tokio::test]
async fn both_discovery_documents_describe_this_issuer() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let issuer = app.config.issuer_str().to_owned();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["issuer"], issuer.as_str());
        assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks"));
        assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
        assert_eq!(doc["introspection_endpoint"], format!("{issuer}/introspect"));
        assert_eq!(doc["revocation_endpoint"], format!("{issuer}/revoke"));
        assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        let auth: Vec<&str> = doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            auth,
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
        );
        assert_eq!(
            doc["token_endpoint_auth_signing_alg_values_supported"],
            serde_json::json!(["RS256", "PS256", "ES256"])
        );
        assert_eq!(
            doc["response_modes_supported"],
            serde_json::json!(["query", "form_post"])
        );
        assert_eq!(
            doc["acr_values_supported"],
            serde_json::json!(["urn:propusk:loa:1", "urn:propusk:loa:2"])
        );
        assert_eq!(doc["pushed_authorization_request_endpoint"], format!("{issuer}/par"));
    }
    app.stop().await;
}

#[tokio::test]
async fn jwks_publishes_the_public_halves_only() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let jwks: Value = app.get("/jwks").await.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().unwrap().len() >= 43);
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "no private parameters: {key}"
        );
    }
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, ["RS256", "ES256"]);
    assert_eq!(keys[1]["crv"], "P-256");
    assert_eq!(keys[0]["e"], "AQAB");
    app.stop().await;
}

#[tokio::test]
async fn a_rotation_on_another_node_is_published_here_without_a_restart() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let before: Value = app.get("/jwks").await.json().await.unwrap();
    propusk::keys::Keyring::rotate(&app.config.keys_dir).unwrap();
    assert!(propusk::app::reload_keyring(&app.state).await);
    let after: Value = app.get("/jwks").await.json().await.unwrap();
    assert_eq!(after["keys"].as_array().unwrap().len(), 4, "new and previous keys");
    for key in before["keys"].as_array().unwrap() {
        assert!(
            after["keys"].as_array().unwrap().contains(key),
            "the previous keys stay published"
        );
    }
    assert!(!propusk::app::reload_keyring(&app.state).await, "nothing changed since");
    app.stop().await;
}
