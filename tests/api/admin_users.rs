//! The admin API on users: who may block, unblock and change roles of whom (delegated
//! administration), and that a change takes effect on the very next request.

use serde_json::{Value, json};
use time::Duration;

use crate::support::{Backend, TestApp};

/// A case: its name, the caller's token, the request, and the status expected.
type Case<'a> = (&'a str, &'a str, reqwest::Method, String, Option<Value>, u16);

#[tokio::test]
async fn delegated_administration_boundaries_and_instant_effect() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let db = app.state.stores.db.as_ref();
    app.account("Acme").await;
    app.account("Globex").await;
    let root = app.user("root", "admin", None).await;
    let olga = app.user("olga", "operator", None).await;
    let boss = app.user("boss", "client_admin", Some("acme")).await;
    let ann = app.user("ann", "client_user", Some("acme")).await;
    let gus = app.user("gus", "client_user", Some("globex")).await;
    let rp = app.web_app(true).await;
    let gateway = app.service_app("admin", true).await;
    let (t_root, t_olga, t_boss, t_ann) = (
        app.access_token(&rp, "root").await,
        app.access_token(&rp, "olga").await,
        app.access_token(&rp, "boss").await,
        app.access_token(&rp, "ann").await,
    );
    app.clock.advance(Duration::seconds(1));

    use reqwest::Method;
    let block = |id: &str| format!("/admin/v1/users/{id}/block");
    let role = |id: &str| format!("/admin/v1/users/{id}/role");
    let refused: Vec<Case> = vec![
        (
            "operator cannot block (users:read only)",
            &t_olga,
            Method::POST,
            block(&ann),
            None,
            403,
        ),
        (
            "client admin cannot block another account's user",
            &t_boss,
            Method::POST,
            block(&gus),
            None,
            403,
        ),
        (
            "client admin cannot block staff",
            &t_boss,
            Method::POST,
            block(&olga),
            None,
            403,
        ),
        (
            "client user cannot block anyone",
            &t_ann,
            Method::POST,
            block(&gus),
            None,
            403,
        ),
        (
            "client admin cannot raise itself",
            &t_boss,
            Method::PUT,
            role(&boss),
            Some(json!({"role": "client_admin"})),
            403,
        ),
        (
            "client admin cannot grant a staff role",
            &t_boss,
            Method::PUT,
            role(&ann),
            Some(json!({"role": "operator"})),
            403,
        ),
        (
            "no staff role for an account user",
            &t_root,
            Method::PUT,
            role(&ann),
            Some(json!({"role": "operator"})),
            403,
        ),
        (
            "unknown role",
            &t_root,
            Method::PUT,
            role(&ann),
            Some(json!({"role": "nobody"})),
            400,
        ),
        (
            "unknown user",
            &t_root,
            Method::POST,
            block("0196b4f2-0000-7000-8000-000000000000"),
            None,
            404,
        ),
        ("malformed id", &t_root, Method::POST, block("x"), None, 404),
        (
            "client admin cannot read another account's user",
            &t_boss,
            Method::GET,
            format!("/admin/v1/users/{gus}"),
            None,
            404,
        ),
    ];
    for (case, token, method, path, body, status) in refused {
        let (got, answer) = app.call(token, method, &path, body).await;
        assert_eq!(got, status, "{case}: {answer}");
        assert!(
            answer["error"].is_string() && answer["error_description"].is_string(),
            "{case}: {answer}"
        );
    }
    let (status, _) = app
        .call("garbage", Method::GET, &format!("/admin/v1/users/{ann}"), None)
        .await;
    assert_eq!(status, 401);
    let service_token = app.client_token(&app.service_app("operator", false).await).await;
    let (status, user) = app
        .call(&service_token, Method::GET, &format!("/admin/v1/users/{ann}"), None)
        .await;
    assert_eq!(
        (status, user["username"].clone()),
        (200, json!("ann")),
        "a service with a role may read"
    );

    // The account's admin blocks its own user: the user's token dies at once.
    let before: Value = app
        .post_form("/introspect", Some(&gateway), &[("token", &t_ann)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["active"], true);
    let (status, blocked) = app.call(&t_boss, Method::POST, &block(&ann), None).await;
    assert_eq!((status, blocked["status"].clone()), (200, json!("blocked")));
    let after: Value = app
        .post_form("/introspect", Some(&gateway), &[("token", &t_ann)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after, json!({ "active": false }), "inactive on the next request");
    let check = app
        .client
        .post(app.url("/authz/check"))
        .bearer_auth(&t_ann)
        .json(&json!({"permission": "parcels:read"}))
        .send()
        .await
        .unwrap();
    assert_eq!(check.status(), 401);

    let (status, _) = app
        .call(&t_root, Method::POST, &format!("/admin/v1/users/{ann}/unblock"), None)
        .await;
    assert_eq!(status, 200);
    let (status, changed) = app
        .call(&t_boss, Method::PUT, &role(&ann), Some(json!({"role": "client_admin"})))
        .await;
    assert_eq!(
        (status, changed["role"].clone()),
        (200, json!("client_admin")),
        "an account admin may grant what it holds"
    );
    let (status, _) = app
        .call(&t_root, Method::PUT, &role(&olga), Some(json!({"role": "admin"})))
        .await;
    assert_eq!(status, 200);

    // Events, in order per user, and the audit trail with the refusals.
    let events = db.outbox_unsent(1000).await.unwrap();
    let ann_events: Vec<&str> = events
        .iter()
        .filter(|e| e.key == ann && e.topic == "propusk.user-events")
        .map(|e| e.payload["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        ann_events,
        ["user.created", "user.blocked", "user.unblocked", "user.roleChanged"]
    );
    let role_change = events
        .iter()
        .find(|e| e.key == ann && e.payload["type"] == "user.roleChanged")
        .unwrap();
    assert_eq!(
        (
            role_change.payload["data"]["old_role"].clone(),
            role_change.payload["data"]["new_role"].clone()
        ),
        (json!("client_user"), json!("client_admin"))
    );
    let audit = db.audit_page(0, 1000).await.unwrap();
    let denied = audit
        .iter()
        .filter(|r| r.record.outcome == propusk::audit::Outcome::Denied)
        .count();
    assert_eq!(denied, 7, "every refused change is on the record");
    assert_eq!(app.state.provider.audit.verify().await.unwrap().broken_at, None);
    let _ = (root, gus);
    app.stop().await;
}

#[tokio::test]
async fn create_users_grant_permissions_and_sign_out_everywhere() {
    use reqwest::Method;
    let app = TestApp::spawn(Backend::Embedded).await;
    let db = app.state.stores.db.as_ref();
    let acme = app.account("Acme").await;
    app.account("Globex").await;
    app.user("root", "admin", None).await;
    app.user("boss", "client_admin", Some("acme")).await;
    let rp = app.web_app(true).await;
    let gateway = app.service_app("admin", true).await;
    let (t_root, t_boss) = (app.access_token(&rp, "root").await, app.access_token(&rp, "boss").await);

    let new = |name: &str, role: &str, client: Option<&str>| json!({ "username": name, "password": "correct horse battery", "role": role, "client_id": client });
    let (status, ann) = app
        .call(
            &t_boss,
            Method::POST,
            "/admin/v1/users",
            Some(new("ann", "client_user", None)),
        )
        .await;
    assert_eq!(status, 201, "{ann}");
    assert_eq!(
        ann["client_id"],
        acme.id.to_string(),
        "an account admin creates in its own account"
    );
    let ann_id = ann["id"].as_str().unwrap().to_owned();
    for (case, token, body, status) in [
        (
            "another account",
            &t_boss,
            new("eve", "client_user", Some("globex")),
            403,
        ),
        ("a staff user", &t_boss, new("eve", "operator", None), 403),
        ("a duplicate", &t_root, new("ann", "operator", None), 409),
        ("a bad username", &t_root, new("a b", "operator", None), 400),
        (
            "a role that needs an account",
            &t_root,
            new("eve", "client_user", None),
            403,
        ),
    ] {
        let (got, body) = app.call(token, Method::POST, "/admin/v1/users", Some(body)).await;
        assert_eq!(got, status, "{case}: {body}");
    }

    // Extra grants: an account admin grants only what it holds.
    let grant = |p: &str| format!("/admin/v1/users/{ann_id}/permissions/{p}");
    let (status, user) = app.call(&t_boss, Method::PUT, &grant("parcels:delete"), None).await;
    assert_eq!((status, user["permissions"].clone()), (200, json!(["parcels:delete"])));
    let (status, _) = app.call(&t_boss, Method::PUT, &grant("invoices:read"), None).await;
    assert_eq!(status, 403, "not held by the account admin");
    let (status, _) = app.call(&t_root, Method::PUT, &grant("invoices:read"), None).await;
    assert_eq!(status, 200, "staff may");
    let (status, user) = app.call(&t_root, Method::DELETE, &grant("parcels:delete"), None).await;
    assert_eq!((status, user["permissions"].clone()), (200, json!(["invoices:read"])));
    let (status, _) = app.call(&t_root, Method::PUT, &grant("nonsense"), None).await;
    assert_eq!(status, 400);

    // A permission change reaches new tokens; signing out everywhere kills the old ones.
    app.clock.advance(Duration::seconds(1));
    let t_ann = app.access_token(&rp, "ann").await;
    let claims = app.state.provider.access_claims(&t_ann).unwrap();
    assert!(
        claims.permissions.contains(&"invoices:read".to_owned()),
        "{:?}",
        claims.permissions
    );
    app.clock.advance(Duration::seconds(1));
    let (status, _) = app
        .call(&t_boss, Method::POST, &format!("/admin/v1/users/{ann_id}/logout"), None)
        .await;
    assert_eq!(status, 200);
    let body: Value = app
        .post_form("/introspect", Some(&gateway), &[("token", &t_ann)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({ "active": false }));
    let types: Vec<String> = db
        .outbox_unsent(1000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.key == ann_id && e.topic == "propusk.user-events")
        .map(|e| e.payload["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "user.created",
            "user.permissionsChanged",
            "user.permissionsChanged",
            "user.permissionsChanged",
            "user.sessionsRevoked"
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn listing_filters_pages_and_stays_inside_the_account() {
    use reqwest::Method;
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        let acme = app.account("Acme").await;
        let globex = app.account("Globex").await;
        app.user("root", "admin", None).await;
        app.user("boss", "client_admin", Some("acme")).await;
        for name in ["ann", "amy", "al_x"] {
            app.user(name, "client_user", Some("acme")).await;
        }
        app.user("gus", "client_user", Some("globex")).await;
        let rp = app.web_app(true).await;
        let (t_root, t_boss) = (app.access_token(&rp, "root").await, app.access_token(&rp, "boss").await);
        let names = |v: &Value| -> Vec<String> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned())
                .collect()
        };

        let (status, all) = app.call(&t_root, Method::GET, "/admin/v1/users", None).await;
        assert_eq!(status, 200);
        assert_eq!(
            names(&all),
            ["root", "boss", "ann", "amy", "al_x", "gus"],
            "{backend:?}: creation order"
        );
        let (_, mine) = app.call(&t_boss, Method::GET, "/admin/v1/users", None).await;
        assert_eq!(
            names(&mine),
            ["boss", "ann", "amy", "al_x"],
            "an account admin sees its own account"
        );
        let (status, _) = app
            .call(
                &t_boss,
                Method::GET,
                &format!("/admin/v1/users?client_id={}", globex.id),
                None,
            )
            .await;
        assert_eq!(status, 403);

        let (_, filtered) = app
            .call(
                &t_root,
                Method::GET,
                &format!("/admin/v1/users?client_id={}&role=client_user", acme.id),
                None,
            )
            .await;
        assert_eq!(names(&filtered), ["ann", "amy", "al_x"]);
        let (_, searched) = app.call(&t_root, Method::GET, "/admin/v1/users?q=*L_*", None).await;
        assert_eq!(names(&searched), ["al_x"], "the underscore is matched literally");
        let (_, searched) = app.call(&t_root, Method::GET, "/admin/v1/users?q=AL_", None).await;
        assert_eq!(names(&searched), ["al_x"], "a start, any case");

        let (_, first) = app.call(&t_root, Method::GET, "/admin/v1/users?limit=4", None).await;
        assert_eq!(names(&first).len(), 4);
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let (_, second) = app
            .call(
                &t_root,
                Method::GET,
                &format!("/admin/v1/users?limit=4&cursor={cursor}"),
                None,
            )
            .await;
        assert_eq!(names(&second), ["al_x", "gus"]);
        assert_eq!(second["next_cursor"], Value::Null);
        let (status, _) = app
            .call(&t_root, Method::GET, "/admin/v1/users?status=frozen", None)
            .await;
        assert_eq!(status, 400);
        app.stop().await;
    }
}

#[tokio::test]
async fn profile_updates_and_deletion_erase_personal_data() {
    use reqwest::Method;
    let app = TestApp::spawn(Backend::Embedded).await;
    let db = app.state.stores.db.as_ref();
    app.account("Acme").await;
    app.user("boss", "client_admin", Some("acme")).await;
    let ann = app.user("ann", "client_user", Some("acme")).await;
    let olga = app.user("olga", "operator", None).await;
    let rp = app.web_app(true).await;
    let t_boss = app.access_token(&rp, "boss").await;

    let (status, user) = app
        .call(
            &t_boss,
            Method::PATCH,
            &format!("/admin/v1/users/{ann}"),
            Some(json!({"name": "Ann Lee"})),
        )
        .await;
    assert_eq!((status, user["name"].clone()), (200, json!("Ann Lee")));
    let (status, _) = app
        .call(
            &t_boss,
            Method::PATCH,
            &format!("/admin/v1/users/{olga}"),
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(status, 403, "staff are out of reach");

    let (status, gone) = app
        .call(&t_boss, Method::DELETE, &format!("/admin/v1/users/{ann}"), None)
        .await;
    assert_eq!((status, gone["status"].clone()), (200, json!("deleted")));
    assert_eq!(gone["email"], Value::Null);
    assert_eq!(gone["name"], Value::Null);
    assert!(gone["username"].as_str().unwrap().starts_with("deleted-"));
    let (status, _) = app
        .call(&t_boss, Method::GET, &format!("/admin/v1/users/{ann}"), None)
        .await;
    assert_eq!(status, 404, "a deleted user is gone from the API");
    let kept = db
        .find_user(propusk::model::user::UserId::parse(&ann).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.status,
        propusk::model::user::UserStatus::Deleted,
        "the row stays for the audit trail"
    );
    let event = db
        .outbox_unsent(1000)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.payload["type"] == "user.deleted")
        .unwrap();
    assert_eq!(
        event.payload["data"]["email"],
        Value::Null,
        "the event does not carry the erased data"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_audit_trail_is_readable_within_reach() {
    use reqwest::Method;
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme").await;
    let globex = app.account("Globex").await;
    app.user("olga", "operator", None).await;
    app.user("boss", "client_admin", Some("acme")).await;
    app.user("gus", "client_user", Some("globex")).await;
    let rp = app.web_app(true).await;
    let (t_olga, t_boss) = (app.access_token(&rp, "olga").await, app.access_token(&rp, "boss").await);
    app.access_token(&rp, "gus").await;

    let (status, all) = app
        .call(&t_olga, Method::GET, "/admin/v1/audit?action=login", None)
        .await;
    assert_eq!(status, 200);
    let users: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["actor_id"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), 3, "staff see every login, newest first: {all}");
    let (_, mine) = app.call(&t_boss, Method::GET, "/admin/v1/audit", None).await;
    let accounts: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["client_id"].as_str().unwrap())
        .collect();
    assert!(
        !accounts.is_empty() && accounts.iter().all(|a| *a == acme.id.to_string()),
        "{mine}"
    );
    let (status, _) = app
        .call(
            &t_boss,
            Method::GET,
            &format!("/admin/v1/audit?client_id={}", globex.id),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (_, page) = app.call(&t_olga, Method::GET, "/admin/v1/audit?limit=1", None).await;
    let cursor = page["next_cursor"].as_i64().unwrap();
    let (_, next) = app
        .call(
            &t_olga,
            Method::GET,
            &format!("/admin/v1/audit?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert!(next["items"][0]["id"].as_i64().unwrap() < cursor);
    app.stop().await;
}

#[tokio::test]
async fn every_built_in_role_against_every_action_and_target() {
    use reqwest::Method;
    let app = TestApp::spawn(Backend::Embedded).await;
    app.account("Acme").await;
    app.account("Globex").await;
    for (name, role, account) in [
        ("root", "admin", None),
        ("olga", "operator", None),
        ("boss", "client_admin", Some("acme")),
        ("carl", "client_user", Some("acme")),
    ] {
        app.user(name, role, account).await;
    }
    let own = app.user("ann", "client_user", Some("acme")).await;
    let other = app.user("gus", "client_user", Some("globex")).await;
    let staff = app.user("stan", "operator", None).await;
    let rp = app.web_app(true).await;
    let mut tokens = std::collections::BTreeMap::new();
    for actor in ["root", "olga", "boss", "carl"] {
        tokens.insert(actor, app.access_token(&rp, actor).await);
    }
    // (actor, [read, update profile, grant permission, unlock, reset 2FA, sign out everywhere,
    // block, role] for each of own-account, other-account and staff targets)
    let expected: [(&str, [[u16; 8]; 3]); 4] = [
        (
            "root",
            [
                [200, 200, 200, 200, 204, 200, 200, 200],
                [200, 200, 200, 200, 204, 200, 200, 200],
                [200, 200, 200, 200, 204, 200, 200, 403],
            ],
        ),
        (
            "olga",
            [
                [200, 403, 403, 403, 403, 403, 403, 403],
                [200, 403, 403, 403, 403, 403, 403, 403],
                [200, 403, 403, 403, 403, 403, 403, 403],
            ],
        ),
        (
            "boss",
            [
                [200, 200, 200, 200, 204, 200, 200, 200],
                [404, 403, 403, 403, 403, 403, 403, 403],
                [404, 403, 403, 403, 403, 403, 403, 403],
            ],
        ),
        (
            "carl",
            [
                [404, 403, 403, 403, 403, 403, 403, 403],
                [404, 403, 403, 403, 403, 403, 403, 403],
                [404, 403, 403, 403, 403, 403, 403, 403],
            ],
        ),
    ];
    for (actor, rows) in expected {
        for ((target_name, target), statuses) in [("own account", &own), ("other account", &other), ("staff", &staff)]
            .iter()
            .zip(rows)
        {
            let requests = [
                (Method::GET, format!("/admin/v1/users/{target}"), None),
                (
                    Method::PATCH,
                    format!("/admin/v1/users/{target}"),
                    Some(json!({"name": "Renamed Person"})),
                ),
                (
                    Method::PUT,
                    format!("/admin/v1/users/{target}/permissions/parcels:read"),
                    None,
                ),
                (Method::POST, format!("/admin/v1/users/{target}/unlock"), None),
                (Method::DELETE, format!("/admin/v1/users/{target}/factors"), None),
                (Method::POST, format!("/admin/v1/users/{target}/logout"), None),
                (Method::POST, format!("/admin/v1/users/{target}/block"), None),
                (
                    Method::PUT,
                    format!("/admin/v1/users/{target}/role"),
                    Some(json!({"role": "client_user"})),
                ),
            ];
            for ((method, path, body), status) in requests.into_iter().zip(statuses) {
                let action = format!("{method} {}", path.rsplit('/').next().unwrap_or_default());
                let (got, answer) = app.call(&tokens[actor], method, &path, body).await;
                assert_eq!(got, status, "{actor} × {action} × {target_name}: {answer}");
            }
        }
    }
    app.stop().await;
}
