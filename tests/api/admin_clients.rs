//! `/admin/v1/clients`: B2B accounts and their admins.

use reqwest::Method;
use serde_json::json;

use crate::support::{Backend, RegisteredApp, TestApp};

#[tokio::test]
async fn staff_manage_accounts_and_account_admins_see_their_own() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("root", "admin", None).await;
    app.user("olga", "operator", None).await;
    let rp = app.web_app(true).await;
    let (t_root, t_olga) = (app.access_token(&rp, "root").await, app.access_token(&rp, "olga").await);

    let (status, acme) = app
        .call(
            &t_root,
            Method::POST,
            "/admin/v1/clients",
            Some(json!({"name": "ACME Logistics"})),
        )
        .await;
    assert_eq!((status, acme["slug"].clone()), (201, json!("acme-logistics")));
    let (status, _) = app
        .call(
            &t_root,
            Method::POST,
            "/admin/v1/clients",
            Some(json!({"name": "Again", "slug": "acme-logistics"})),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = app
        .call(
            &t_olga,
            Method::POST,
            "/admin/v1/clients",
            Some(json!({"name": "Nope"})),
        )
        .await;
    assert_eq!(status, 403, "operators read accounts, they do not create them");
    app.call(
        &t_root,
        Method::POST,
        "/admin/v1/clients",
        Some(json!({"name": "Globex"})),
    )
    .await;
    let acme_id = acme["id"].as_str().unwrap().to_owned();

    let boss = app.user("boss", "client_user", Some("acme-logistics")).await;
    let ann = app.user("ann", "client_user", Some("acme-logistics")).await;
    let gus = app.user("gus", "client_user", Some("globex")).await;
    let (status, made) = app
        .call(
            &t_root,
            Method::PUT,
            &format!("/admin/v1/clients/{acme_id}/admins/{boss}"),
            None,
        )
        .await;
    assert_eq!((status, made["role"].clone()), (200, json!("client_admin")));
    let (status, _) = app
        .call(
            &t_root,
            Method::PUT,
            &format!("/admin/v1/clients/{acme_id}/admins/{gus}"),
            None,
        )
        .await;
    assert_eq!(status, 400, "gus belongs to another account");

    let t_boss = app.access_token(&rp, "boss").await;
    let (_, seen) = app.call(&t_boss, Method::GET, "/admin/v1/clients", None).await;
    let slugs: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme-logistics"], "an account admin sees its own account only");
    let (_, all) = app.call(&t_olga, Method::GET, "/admin/v1/clients", None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (status, _) = app
        .call(
            &t_boss,
            Method::PATCH,
            &format!("/admin/v1/clients/{acme_id}"),
            Some(json!({"name": "Mine now"})),
        )
        .await;
    assert_eq!(status, 403, "accounts are changed by staff");
    let (status, made) = app
        .call(
            &t_boss,
            Method::PUT,
            &format!("/admin/v1/clients/{acme_id}/admins/{ann}"),
            None,
        )
        .await;
    assert_eq!(
        (status, made["role"].clone()),
        (200, json!("client_admin")),
        "an account admin may appoint another"
    );
    let (status, back) = app
        .call(
            &t_root,
            Method::DELETE,
            &format!("/admin/v1/clients/{acme_id}/admins/{ann}"),
            None,
        )
        .await;
    assert_eq!((status, back["role"].clone()), (200, json!("client_user")));

    let (status, renamed) = app
        .call(
            &t_root,
            Method::PATCH,
            &format!("/admin/v1/clients/{acme_id}"),
            Some(json!({"name": "ACME", "status": "suspended"})),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].clone(), renamed["status"].clone()),
        (200, json!("ACME"), json!("suspended"))
    );
    let (status, gone) = app
        .call(&t_root, Method::DELETE, &format!("/admin/v1/clients/{acme_id}"), None)
        .await;
    assert_eq!((status, gone["status"].clone()), (200, json!("deleted")));
    app.stop().await;
}

#[tokio::test]
async fn custom_roles_can_be_defined_granted_and_retired() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("root", "admin", None).await;
    app.user("olga", "operator", None).await;
    let rp = app.web_app(true).await;
    let (t_root, t_olga) = (app.access_token(&rp, "root").await, app.access_token(&rp, "olga").await);

    let dispatcher = json!({"name": "dispatcher", "description": "Routes parcels", "scope": "account", "permissions": ["parcels:read", "parcels:update"]});
    let (status, role) = app
        .call(&t_root, Method::POST, "/admin/v1/roles", Some(dispatcher.clone()))
        .await;
    assert_eq!(
        (status, role["permissions"].clone()),
        (201, json!(["parcels:read", "parcels:update"]))
    );
    for (case, token, body, status) in [
        ("duplicate", &t_root, dispatcher.clone(), 409),
        (
            "no permission to create",
            &t_olga,
            json!({"name": "x1", "scope": "staff"}),
            403,
        ),
        ("bad scope", &t_root, json!({"name": "x2", "scope": "global"}), 400),
        (
            "bad permission",
            &t_root,
            json!({"name": "x3", "scope": "staff", "permissions": ["parcels:write"]}),
            400,
        ),
    ] {
        let (got, body) = app.call(token, Method::POST, "/admin/v1/roles", Some(body)).await;
        assert_eq!(got, status, "{case}: {body}");
    }
    let (status, _) = app
        .call(
            &t_root,
            Method::PUT,
            "/admin/v1/roles/admin",
            Some(json!({"permissions": []})),
        )
        .await;
    assert_eq!(status, 409, "built-in roles do not change");
    let (status, updated) = app
        .call(
            &t_root,
            Method::PUT,
            "/admin/v1/roles/dispatcher",
            Some(json!({"permissions": ["parcels:*"]})),
        )
        .await;
    assert_eq!((status, updated["permissions"].clone()), (200, json!(["parcels:*"])));

    // Held roles cannot be deleted; free ones can.
    let acme = app
        .call(
            &t_root,
            Method::POST,
            "/admin/v1/clients",
            Some(json!({"name": "Acme"})),
        )
        .await
        .1;
    let (status, _) = app.call(&t_root,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"username": "dan", "password": "correct horse battery", "role": "dispatcher", "client_id": acme["id"]})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .call(&t_root, Method::DELETE, "/admin/v1/roles/dispatcher", None)
        .await;
    assert_eq!(status, 409, "dan still holds it");
    let (status, _) = app
        .call(&t_root, Method::DELETE, "/admin/v1/roles/client_user", None)
        .await;
    assert_eq!(status, 409, "built-in");
    app.call(
        &t_root,
        Method::POST,
        "/admin/v1/roles",
        Some(json!({"name": "temp", "scope": "staff"})),
    )
    .await;
    let (status, _) = app.call(&t_root, Method::DELETE, "/admin/v1/roles/temp", None).await;
    assert_eq!(status, 204);
    let (status, _) = app.call(&t_root, Method::GET, "/admin/v1/roles/temp", None).await;
    assert_eq!(status, 404);
    let (_, all) = app.call(&t_root, Method::GET, "/admin/v1/roles", None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    app.stop().await;
}

#[tokio::test]
async fn applications_are_registered_changed_rotated_and_removed() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("root", "admin", None).await;
    app.user("olga", "operator", None).await;
    let rp = app.web_app(true).await;
    let (t_root, t_olga) = (app.access_token(&rp, "root").await, app.access_token(&rp, "olga").await);

    let body = json!({"name": "Billing", "grant_types": ["client_credentials"], "service_role": "operator", "scopes": ["parcels"]});
    let (status, _) = app
        .call(&t_olga, Method::POST, "/admin/v1/applications", Some(body.clone()))
        .await;
    assert_eq!(status, 403);
    let (status, created) = app
        .call(&t_root, Method::POST, "/admin/v1/applications", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let service = RegisteredApp {
        client_id: id.clone(),
        secret: Some(secret),
    };
    app.client_token(&service).await;

    // A new secret works at once; the old one stops.
    let (status, rotated) = app
        .call(
            &t_root,
            Method::POST,
            &format!("/admin/v1/applications/{id}/secret"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let response = app
        .post_form("/token", Some(&service), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), 401, "the old secret is refused");
    let fresh = RegisteredApp {
        client_id: id.clone(),
        secret: Some(rotated["client_secret"].as_str().unwrap().to_owned()),
    };
    app.client_token(&fresh).await;

    let (status, changed) = app
        .call(
            &t_root,
            Method::PATCH,
            &format!("/admin/v1/applications/{id}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!((status, changed["enabled"].clone()), (200, json!(false)));
    let response = app
        .post_form("/token", Some(&fresh), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), 401, "a disabled application gets no tokens");
    let (status, _) = app
        .call(
            &t_root,
            Method::PATCH,
            &format!("/admin/v1/applications/{id}"),
            Some(json!({"redirect_uris": ["http://evil.example.com/cb"]})),
        )
        .await;
    assert_eq!(status, 400);

    // Grants change as a whole list, and must still fit: the service role needs
    // client_credentials, authorization_code a redirect URI.
    for (grants, why) in [
        (json!(["authorization_code"]), "no redirect URI"),
        (json!(["password"]), "the service role needs client_credentials"),
        (json!(["teleport"]), "no such grant"),
    ] {
        let (status, body) = app
            .call(
                &t_root,
                Method::PATCH,
                &format!("/admin/v1/applications/{id}"),
                Some(json!({"grant_types": grants})),
            )
            .await;
        assert_eq!(status, 400, "{why}: {body}");
    }
    let (status, changed) = app
        .call(
            &t_root,
            Method::PATCH,
            &format!("/admin/v1/applications/{id}"),
            Some(json!({"grant_types": ["client_credentials", "password"]})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["grant_types"], json!(["client_credentials", "password"]));

    let (_, listed) = app.call(&t_root, Method::GET, "/admin/v1/applications", None).await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["client_id"] == id.as_str())
    );
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("secret_hash").is_none())
    );
    let (status, _) = app
        .call(&t_root, Method::DELETE, &format!("/admin/v1/applications/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .call(&t_root, Method::GET, &format!("/admin/v1/applications/{id}"), None)
        .await;
    assert_eq!(status, 404);
    app.stop().await;
}

/// A rotated secret stops working on every node within the application cache's lifetime, even
/// while the old secret keeps being presented there (each use confirms the cached copy, which
/// must not make it live for ever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_stops_on_other_nodes_within_the_cache_lifetime() {
    let a = TestApp::spawn(Backend::PostgresRedis).await;
    let b = a.second_node().await;
    a.user("root", "admin", None).await;
    let rp = a.web_app(true).await;
    let admin = a.access_token(&rp, "root").await;
    let service = a.service_app("operator", false).await;
    b.client_token(&service).await;
    let path = format!("/admin/v1/applications/{}/secret", service.client_id);
    let (status, _) = a.call(&admin, Method::POST, &path, None).await;
    assert_eq!(status, 200);
    let started = std::time::Instant::now();
    let mut refused_after = None;
    while started.elapsed() < std::time::Duration::from_secs(40) {
        let response = b
            .post_form("/token", Some(&service), &[("grant_type", "client_credentials")])
            .await;
        if response.status() == 401 {
            refused_after = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let after = refused_after.expect("the old secret is refused on the other node");
    assert!(after <= std::time::Duration::from_secs(31), "refused after {after:?}");
    b.stop().await;
    a.stop().await;
}
