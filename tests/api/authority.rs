//! Token authority (DESIGN.md, Tokens: Revocation and Token authority): what each kind of token
//! may do at each bearer endpoint, judged against the user, account, role and application as
//! they are now — on real PostgreSQL + Redis, and across two nodes sharing them.

use reqwest::Method;
use serde_json::{Value, json};
use time::Duration;

use crate::support::{Backend, Browser, PASSWORD, RegisteredApp, TestApp};
use propusk::identity::admin::NewApplication;

const CB: &str = "https://client.example.com/cb";

/// A third-party application that may ask for `openid`, `offline_access` and parcel permissions.
async fn third_party(app: &TestApp) -> RegisteredApp {
    app.register(NewApplication {
        name: "Partner portal".into(),
        redirect_uris: vec![CB.into()],
        scopes: vec![
            "openid".into(),
            "offline_access".into(),
            "parcels:*".into(),
            "users:read".into(),
        ],
        ..NewApplication::default()
    })
    .await
}

/// A first-party confidential application with the password and refresh grants.
async fn first_party_password(app: &TestApp) -> RegisteredApp {
    app.register(NewApplication {
        name: "Dispatch console".into(),
        grants: vec!["password".into(), "refresh_token".into()],
        first_party: true,
        ..NewApplication::default()
    })
    .await
}

/// Password-grant tokens of `user` for `client`: (access, refresh).
async fn password_tokens(app: &TestApp, client: &RegisteredApp, user: &str) -> (String, String) {
    let response = app
        .post_form(
            "/token",
            Some(client),
            &[("grant_type", "password"), ("username", user), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 200, "password grant for {user}");
    let body: Value = response.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// A refresh; the status and body.
async fn refresh(app: &TestApp, client: &RegisteredApp, token: &str) -> (u16, Value) {
    let response = app
        .post_form(
            "/token",
            Some(client),
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `/authz/check` for `parcels:read`: `allowed`, `denied`, or the status.
async fn authz(app: &TestApp, token: &str, permission: &str) -> String {
    let (status, body) = app
        .call(
            token,
            Method::POST,
            "/authz/check",
            Some(json!({ "permission": permission })),
        )
        .await;
    match (status, body["allowed"].as_bool()) {
        (200, Some(true)) => "allowed".into(),
        (200, Some(false)) => "denied".into(),
        (status, _) => status.to_string(),
    }
}

/// `active` or `inactive` at `/introspect`, asked by `gateway`.
async fn introspect(app: &TestApp, gateway: &RegisteredApp, token: &str) -> String {
    let body: Value = app
        .post_form("/introspect", Some(gateway), &[("token", token)])
        .await
        .json()
        .await
        .unwrap();
    if body["active"] == true { "active" } else { "inactive" }.into()
}

/// A bearer endpoint of the matrix: its column name, method, path and body.
type Endpoint = (&'static str, Method, &'static str, Option<Value>);

/// Every bearer endpoint of the matrix: `/userinfo`, each `/account/v1` route, a sample of
/// `/admin/v1`, `/authz/check` and `/introspect`.
fn endpoints() -> Vec<Endpoint> {
    vec![
        ("userinfo", Method::GET, "/userinfo", None),
        ("profile", Method::GET, "/account/v1/profile", None),
        (
            "name",
            Method::PATCH,
            "/account/v1/profile",
            Some(json!({ "name": "Someone" })),
        ),
        (
            "email",
            Method::PATCH,
            "/account/v1/profile",
            Some(json!({ "email": "mallory@evil.example" })),
        ),
        (
            "password",
            Method::POST,
            "/account/v1/password",
            Some(json!({ "current_password": "a wrong guess", "new_password": "a new passphrase" })),
        ),
        ("sessions", Method::GET, "/account/v1/sessions", None),
        ("end session", Method::DELETE, "/account/v1/sessions/no-such-sid", None),
        ("factors", Method::GET, "/account/v1/factors", None),
        ("totp", Method::POST, "/account/v1/factors/totp", None),
        (
            "confirm",
            Method::POST,
            "/account/v1/factors/00000000-0000-0000-0000-000000000000/confirm",
            Some(json!({ "code": "123456" })),
        ),
        ("email factor", Method::POST, "/account/v1/factors/email", None),
        (
            "remove",
            Method::DELETE,
            "/account/v1/factors/00000000-0000-0000-0000-000000000000",
            None,
        ),
        ("recovery", Method::POST, "/account/v1/recovery-codes", None),
        (
            "verify",
            Method::POST,
            "/account/v1/verification/email/confirm",
            Some(json!({ "code": "000000" })),
        ),
        ("admin users", Method::GET, "/admin/v1/users", None),
        ("admin audit", Method::GET, "/admin/v1/audit", None),
        ("admin roles", Method::GET, "/admin/v1/roles", None),
    ]
}

/// What `token` gets at `endpoint`: the status, and for refusals the error (`ins` 403
/// insufficient_scope, `fbd` 403 forbidden, `inv` 401 invalid_token, `stp` 401 step-up).
async fn probe(app: &TestApp, token: &str, (_, method, path, body): &Endpoint) -> String {
    let (status, body) = app.call(token, method.clone(), path, body.clone()).await;
    match (status, body["error"].as_str()) {
        (403, Some("insufficient_scope")) => "ins".into(),
        (403, Some("forbidden")) => "fbd".into(),
        (401, Some("invalid_token") | None) => "inv".into(),
        (401, Some("insufficient_user_authentication")) => "stp".into(),
        (status, _) => status.to_string(),
    }
}

/// The matrix cells of `token`: every endpoint, then `/authz/check` for `parcels:read`, then
/// `/introspect`.
async fn row(app: &TestApp, gateway: &RegisteredApp, token: &str) -> Vec<String> {
    let mut cells = Vec::new();
    for endpoint in &endpoints() {
        cells.push(probe(app, token, endpoint).await);
    }
    cells.push(match authz(app, token, "parcels:read").await.as_str() {
        "allowed" => "alw".into(),
        "denied" => "den".into(),
        "401" => "inv".into(),
        other => other.to_owned(),
    });
    cells.push(match introspect(app, gateway, token).await.as_str() {
        "active" => "act".into(),
        _ => "ina".into(),
    });
    cells
}

/// A row: the 17 endpoint cells, then `/authz/check` and `/introspect`.
fn with(cells: [&'static str; 17], authz: &'static str, introspect: &'static str) -> [&'static str; 19] {
    let mut row = [
        "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
    ];
    row[..17].copy_from_slice(&cells);
    row[17] = authz;
    row[18] = introspect;
    row
}

#[tokio::test]
async fn every_kind_of_token_gets_exactly_its_authority_at_every_bearer_endpoint() {
    // Rationing off: the matrix guesses codes and passwords from one address many times.
    let app = TestApp::spawn_with(Backend::PostgresRedis, |c| c.rate_limit_login = None).await;
    let acme = app.account("Acme").await;
    let globex = app.account("Globex").await;
    let acme_id = acme.id.to_string();
    for user in ["ann", "bob", "dan"] {
        app.user(user, "client_admin", Some(&acme_id)).await;
    }
    app.user("cat", "client_admin", Some(&globex.id.to_string())).await;
    let fp = app.web_app(true).await;
    let fp_doomed = app.web_app(true).await;
    let tp = third_party(&app).await;
    let svc = app.service_app("operator", false).await;
    let gateway = app.service_app("admin", true).await;
    let staff = app.client_token(&gateway).await;

    let browser = Browser::default();
    let first = app.code_tokens(&browser, &fp, "ann", "openid").await;
    let tp_openid = app.code_tokens(&Browser::default(), &tp, "ann", "openid").await;
    let tp_parcels = app
        .code_tokens(&Browser::default(), &tp, "ann", "openid parcels:*")
        .await;
    let service = app.client_token(&svc).await;
    let wrong_aud = {
        let mut claims = app
            .state
            .provider
            .access_claims(first["access_token"].as_str().unwrap())
            .unwrap();
        let claims = std::sync::Arc::make_mut(&mut claims);
        claims.aud = "https://billing.example.com".into();
        claims.jti = "another-audience".into();
        propusk::oauth::token::mint(&app.state.provider.keyring(), claims).unwrap()
    };
    let disabled = app.access_token(&fp_doomed, "bob").await;
    let blocked = app.access_token(&fp, "dan").await;
    let suspended = app.access_token(&fp, "cat").await;
    // The changes, in the same instant as the tokens (the test clock does not move).
    let bob_app = format!("/admin/v1/applications/{}", fp_doomed.client_id);
    let (s, _) = app
        .call(&staff, Method::PATCH, &bob_app, Some(json!({ "enabled": false })))
        .await;
    assert_eq!(s, 200);
    let dan = app.state.provider.access_claims(&blocked).unwrap().sub.clone();
    let (s, _) = app
        .call(&staff, Method::POST, &format!("/admin/v1/users/{dan}/block"), None)
        .await;
    assert_eq!(s, 200);
    let globex_path = format!("/admin/v1/clients/{}", globex.id);
    let (s, _) = app
        .call(
            &staff,
            Method::PATCH,
            &globex_path,
            Some(json!({ "status": "suspended" })),
        )
        .await;
    assert_eq!(s, 200);

    let s = |v: &str| v.to_owned();
    let refused = ["inv"; 17];
    #[rustfmt::skip]
    let table: Vec<(&str, String, [&str; 19])> = vec![
        //  userinfo profile name  email  passwd sess   end    factrs totp   confirm efactr remove recov  verify adm-us adm-au adm-ro authz  intro
        ("first-party user", s(first["access_token"].as_str().unwrap()),
           ["200", "200", "200", "200", "fbd", "200", "404", "200", "201", "404", "400", "404", "400", "400", "200", "200", "200", "alw", "act"]),
        ("third-party openid", s(tp_openid["access_token"].as_str().unwrap()),
           ["200", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "den", "act"]),
        ("third-party parcels:*", s(tp_parcels["access_token"].as_str().unwrap()),
           ["200", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "alw", "act"]),
        ("service with a role", service.clone(),
           ["ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "200", "200", "fbd", "alw", "act"]),
        ("another audience", wrong_aud.clone(),
           ["ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "ins", "alw", "act"]),
        ("ID token", s(first["id_token"].as_str().unwrap()), with(refused, "inv", "ina")),
        ("refresh token", s(first["refresh_token"].as_str().unwrap()), with(refused, "inv", "act")),
        ("disabled app", disabled.clone(), with(refused, "inv", "ina")),
        ("blocked user, same instant", blocked.clone(), with(refused, "inv", "ina")),
        ("suspended account", suspended.clone(), with(refused, "inv", "ina")),
    ];
    let names: Vec<&str> = endpoints().iter().map(|e| e.0).chain(["authz", "introspect"]).collect();
    let mut wrong = Vec::new();
    let mut check = |kind: &str, got: Vec<String>, want: &[&str]| {
        for ((name, got), want) in names.iter().zip(&got).zip(want) {
            if got != want {
                wrong.push(format!("{kind} at {name}: got {got}, want {want}"));
            }
        }
    };
    for (kind, token, expected) in &table {
        check(kind, row(&app, &gateway, token).await, expected);
    }
    // Expired: every endpoint refuses it, introspection calls it inactive.
    app.clock.advance(Duration::minutes(11));
    let expired = first["access_token"].as_str().unwrap();
    check(
        "expired",
        row(&app, &gateway, expired).await,
        &with(refused, "inv", "ina"),
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    app.stop().await;
}

#[tokio::test]
async fn a_third_party_token_carries_only_consented_permissions_the_user_holds_and_no_role() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme").await;
    app.user("ann", "client_user", Some(&acme.id.to_string())).await;
    let tp = third_party(&app).await;
    let tokens = app
        .code_tokens(&Browser::default(), &tp, "ann", "openid parcels:* users:read")
        .await;
    let claims = crate::support::claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        claims["permissions"],
        json!(["parcels:create", "parcels:read"]),
        "{claims}"
    );
    assert!(claims.get("role").is_none(), "no role for third parties: {claims}");
    assert_eq!(claims["clientId"], acme.id.to_string());
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(authz(&app, access, "parcels:read").await, "allowed");
    assert_eq!(authz(&app, access, "parcels:delete").await, "denied");
    assert_eq!(authz(&app, access, "users:read").await, "denied");

    // The takeover chain of issue 12 stops at its first step: no second factor, no email.
    let (status, body) = app.call(access, Method::POST, "/account/v1/factors/totp", None).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("insufficient_scope")));
    let (status, _) = app
        .call(
            access,
            Method::PATCH,
            "/account/v1/profile",
            Some(json!({ "email": "m@evil.example" })),
        )
        .await;
    assert_eq!(status, 403);
    app.stop().await;
}

#[tokio::test]
async fn families_started_in_the_same_instant_as_a_block_all_die() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    let client = first_party_password(&app).await;
    let gateway = app.service_app("admin", true).await;
    let staff = app.client_token(&gateway).await;
    let mut families = Vec::new();
    for _ in 0..12 {
        families.push(password_tokens(&app, &client, "ann").await);
    }
    let sub = app.state.provider.access_claims(&families[0].0).unwrap().sub.clone();
    let (s, _) = app
        .call(&staff, Method::POST, &format!("/admin/v1/users/{sub}/block"), None)
        .await;
    assert_eq!(s, 200);
    for (_, refresh_token) in &families {
        let (status, body) = refresh(&app, &client, refresh_token).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    }
    for (access, _) in &families {
        assert_eq!(introspect(&app, &gateway, access).await, "inactive");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_demotion_and_a_role_cut_reach_the_next_refresh_and_end_the_access_tokens() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme").await;
    let acme_id = acme.id.to_string();
    app.user("ann", "client_admin", Some(&acme_id)).await;
    let client = first_party_password(&app).await;
    let gateway = app.service_app("admin", true).await;
    let staff = app.client_token(&gateway).await;

    let (access, refresh_token) = password_tokens(&app, &client, "ann").await;
    assert_eq!(authz(&app, &access, "users:update").await, "allowed");
    let sub = app.state.provider.access_claims(&access).unwrap().sub.clone();
    let path = format!("/admin/v1/users/{sub}/role");
    let (s, _) = app
        .call(&staff, Method::PUT, &path, Some(json!({ "role": "client_user" })))
        .await;
    assert_eq!(s, 200);
    assert_eq!(authz(&app, &access, "parcels:read").await, "401", "the old token ended");
    let (status, body) = refresh(&app, &client, &refresh_token).await;
    assert_eq!(status, 200, "the family lives on: {body}");
    let claims = crate::support::claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["role"], "client_user");
    assert_eq!(claims["permissions"], json!(["parcels:create", "parcels:read"]));

    // A custom role held by several users: cut it, and every holder's next token follows.
    let role = json!({ "name": "dispatcher", "scope": "staff", "permissions": ["parcels:*", "users:read"] });
    let (s, _) = app.call(&staff, Method::POST, "/admin/v1/roles", Some(role)).await;
    assert_eq!(s, 201);
    let mut holders = Vec::new();
    for n in 0..4 {
        app.user(&format!("disp{n}"), "dispatcher", None).await;
        holders.push(password_tokens(&app, &client, &format!("disp{n}")).await);
    }
    let cut = json!({ "permissions": ["parcels:read"] });
    let (s, _) = app
        .call(&staff, Method::PUT, "/admin/v1/roles/dispatcher", Some(cut))
        .await;
    assert_eq!(s, 200);
    for (access, refresh_token) in &holders {
        assert_eq!(authz(&app, access, "parcels:read").await, "401");
        let (status, body) = refresh(&app, &client, refresh_token).await;
        assert_eq!(status, 200);
        let claims = crate::support::claims_of(body["access_token"].as_str().unwrap());
        assert_eq!(claims["permissions"], json!(["parcels:read"]));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_suspended_account_signs_in_refreshes_and_checks_nothing() {
    for backend in [Backend::PostgresRedis, Backend::Embedded] {
        let app = TestApp::spawn(backend).await;
        let acme = app.account("Acme").await;
        app.user("ann", "client_user", Some(&acme.id.to_string())).await;
        let client = first_party_password(&app).await;
        let gateway = app.service_app("admin", true).await;
        let staff = app.client_token(&gateway).await;
        let (access, refresh_token) = password_tokens(&app, &client, "ann").await;
        let path = format!("/admin/v1/clients/{}", acme.id);
        let (s, _) = app
            .call(&staff, Method::PATCH, &path, Some(json!({ "status": "suspended" })))
            .await;
        assert_eq!(s, 200);
        assert_eq!(authz(&app, &access, "parcels:read").await, "401", "{backend:?}");
        let (status, _) = refresh(&app, &client, &refresh_token).await;
        assert_eq!(status, 400, "{backend:?}");
        let response = app
            .post_form(
                "/token",
                Some(&client),
                &[("grant_type", "password"), ("username", "ann"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(response.status(), 400, "{backend:?}: no new sign-in");
        let login = Browser::default().log_in(&app, "ann", PASSWORD).await;
        assert_ne!(login.status(), 303, "{backend:?}: the login page refuses too");
        // Back to active: new sign-ins work again; what ended stays ended.
        let (s, _) = app
            .call(&staff, Method::PATCH, &path, Some(json!({ "status": "active" })))
            .await;
        assert_eq!(s, 200);
        password_tokens(&app, &client, "ann").await;
        assert_eq!(refresh(&app, &client, &refresh_token).await.0, 400);
        app.stop().await;
    }
}

#[tokio::test]
async fn whichever_redemption_of_a_code_loses_nothing_issued_from_it_stays_active() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    let fp = app.web_app(true).await;
    let gateway = app.service_app("admin", true).await;
    for racers in [2usize, 5, 20] {
        let (verifier, challenge) = crate::support::pkce();
        let url = app.authorize_url(
            &fp,
            &[
                ("response_type", "code"),
                ("redirect_uri", CB),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let callback = app.sign_in(&Browser::default(), &url, "ann").await;
        let code = crate::support::query_param(&callback, "code").unwrap();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CB),
            ("code_verifier", verifier.as_str()),
        ];
        let requests = (0..racers).map(|_| {
            app.client
                .post(app.url("/token"))
                .basic_auth(&fp.client_id, fp.secret.as_deref())
                .form(&form)
                .send()
        });
        let mut handles = Vec::new();
        for request in requests {
            handles.push(tokio::spawn(request));
        }
        let mut issued = Vec::new();
        for handle in handles {
            let response = handle.await.unwrap().unwrap();
            if response.status() == 200 {
                issued.push(response.json::<Value>().await.unwrap());
            } else {
                assert_eq!(response.status(), 400);
            }
        }
        assert!(issued.len() <= 1, "{racers} racers: one winner at most");
        for tokens in &issued {
            let access = tokens["access_token"].as_str().unwrap();
            assert_eq!(introspect(&app, &gateway, access).await, "inactive", "{racers} racers");
            let refresh_token = tokens["refresh_token"].as_str().unwrap();
            assert_eq!(refresh(&app, &fp, refresh_token).await.0, 400, "{racers} racers");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_change_on_one_node_takes_effect_on_the_other_at_the_next_request() {
    let a = TestApp::spawn(Backend::PostgresRedis).await;
    let b = a.second_node().await;
    let acme = a.account("Acme").await;
    let acme_id = acme.id.to_string();
    let client = first_party_password(&a).await;
    let gateway = a.service_app("admin", true).await;
    let staff = a.client_token(&gateway).await;
    let role = json!({ "name": "dispatcher", "scope": "account", "permissions": ["parcels:*"] });
    assert_eq!(a.call(&staff, Method::POST, "/admin/v1/roles", Some(role)).await.0, 201);
    let mut users = Vec::new();
    for n in 0..5 {
        a.user(&format!("user{n}"), "dispatcher", Some(&acme_id)).await;
        let (access, refresh_token) = password_tokens(&b, &client, &format!("user{n}")).await;
        // B caches the application, role and account now.
        let (status, body) = refresh(&b, &client, &refresh_token).await;
        assert_eq!(status, 200);
        assert_eq!(authz(&b, &access, "parcels:delete").await, "allowed");
        users.push((
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        ));
    }

    // A role cut on A: B's next check refuses the old tokens, B's next refresh mints the cut.
    let cut = json!({ "permissions": ["parcels:read"] });
    assert_eq!(
        a.call(&staff, Method::PUT, "/admin/v1/roles/dispatcher", Some(cut))
            .await
            .0,
        200
    );
    for (access, refresh_token) in users.iter_mut() {
        assert_eq!(authz(&b, access, "parcels:read").await, "401");
        let (status, body) = refresh(&b, &client, refresh_token).await;
        assert_eq!(status, 200);
        let claims = crate::support::claims_of(body["access_token"].as_str().unwrap());
        assert_eq!(claims["permissions"], json!(["parcels:read"]));
        *access = body["access_token"].as_str().unwrap().to_owned();
        *refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(authz(&b, access, "parcels:read").await, "allowed");
    }

    // A demotion and an extra grant on A: B, which holds the users' rows in its cache, mints
    // the new role and permissions at the next refresh.
    let demoted = b.state.provider.access_claims(&users[0].0).unwrap().sub.clone();
    let path = format!("/admin/v1/users/{demoted}/role");
    let (status, _) = a
        .call(&staff, Method::PUT, &path, Some(json!({ "role": "client_user" })))
        .await;
    assert_eq!(status, 200);
    let granted = b.state.provider.access_claims(&users[1].0).unwrap().sub.clone();
    let path = format!("/admin/v1/users/{granted}/permissions/invoices:read");
    assert_eq!(a.call(&staff, Method::PUT, &path, None).await.0, 200);
    for (n, want_role, want) in [
        (0, "client_user", json!(["parcels:create", "parcels:read"])),
        (1, "dispatcher", json!(["invoices:read", "parcels:read"])),
    ] {
        let (access, refresh_token) = &mut users[n];
        assert_eq!(
            authz(&b, access, "parcels:read").await,
            "401",
            "user {n}'s old token ended"
        );
        let (status, body) = refresh(&b, &client, refresh_token).await;
        assert_eq!(status, 200);
        let claims = crate::support::claims_of(body["access_token"].as_str().unwrap());
        assert_eq!(
            (claims["role"].clone(), claims["permissions"].clone()),
            (json!(want_role), want)
        );
        *access = body["access_token"].as_str().unwrap().to_owned();
        *refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    }

    // A block on A: B's introspection and refresh see it.
    let (access, refresh_token) = users.pop().unwrap();
    let sub = b.state.provider.access_claims(&access).unwrap().sub.clone();
    assert_eq!(
        a.call(&staff, Method::POST, &format!("/admin/v1/users/{sub}/block"), None)
            .await
            .0,
        200
    );
    assert_eq!(introspect(&b, &gateway, &access).await, "inactive");
    assert_eq!(refresh(&b, &client, &refresh_token).await.0, 400);

    // The account suspended on A: every user's refresh on B fails.
    let path = format!("/admin/v1/clients/{acme_id}");
    let suspend = json!({ "status": "suspended" });
    assert_eq!(a.call(&staff, Method::PATCH, &path, Some(suspend)).await.0, 200);
    for (access, refresh_token) in &users {
        assert_eq!(authz(&b, access, "parcels:read").await, "401");
        assert_eq!(refresh(&b, &client, refresh_token).await.0, 400);
    }

    // The application disabled on A: B refuses its tokens at once though it cached it.
    let staff_b = b.client_token(&gateway).await;
    assert_eq!(authz(&b, &staff_b, "parcels:read").await, "allowed");
    let app_path = format!("/admin/v1/applications/{}", gateway.client_id);
    let other = a.service_app("admin", false).await;
    let other_staff = a.client_token(&other).await;
    let disable = json!({ "enabled": false });
    assert_eq!(
        a.call(&other_staff, Method::PATCH, &app_path, Some(disable)).await.0,
        200
    );
    assert_eq!(authz(&b, &staff_b, "parcels:read").await, "401");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_block_made_before_generations_still_ends_what_carries_none() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    let client = first_party_password(&app).await;
    let (access, refresh_token) = password_tokens(&app, &client, "ann").await;
    let claims = app.state.provider.access_claims(&access).unwrap();
    assert!(
        claims.rev.is_empty(),
        "an untouched user's token carries no generations"
    );
    // What the release before generations wrote for a block: a not-before time in seconds.
    let nbf = (claims.iat + 1).to_string();
    let until = propusk::clock::Clock::now(&app.clock) + Duration::days(31);
    let key = format!("nbf:user:{}", claims.sub);
    app.state.stores.hot.put(&key, nbf.as_bytes(), until).await.unwrap();
    assert_eq!(authz(&app, &access, "parcels:read").await, "401");
    assert_eq!(refresh(&app, &client, &refresh_token).await.0, 400);
    app.stop().await;
}

#[tokio::test]
async fn an_application_that_loses_first_party_standing_loses_it_on_every_node_at_once() {
    let a = TestApp::spawn(Backend::PostgresRedis).await;
    let b = a.second_node().await;
    a.user("ann", "operator", None).await;
    let client = first_party_password(&a).await;
    let gateway = a.service_app("admin", true).await;
    let staff = a.client_token(&gateway).await;
    // B knows the application as first-party.
    let (access, _) = password_tokens(&b, &client, "ann").await;
    assert_eq!(b.call(&access, Method::GET, "/account/v1/profile", None).await.0, 200);

    let path = format!("/admin/v1/applications/{}", client.client_id);
    let change = json!({ "first_party": false });
    assert_eq!(a.call(&staff, Method::PATCH, &path, Some(change)).await.0, 200);
    assert_eq!(
        b.call(&access, Method::GET, "/account/v1/profile", None).await.0,
        401,
        "its tokens ended"
    );
    // A family started on A after the change, refreshed on B: a third party's token, refused
    // by the account API on B though B's cache still says first-party.
    let (fresh, refresh_token) = password_tokens(&a, &client, "ann").await;
    assert_eq!(b.call(&fresh, Method::GET, "/account/v1/profile", None).await.0, 403);
    let (status, body) = refresh(&b, &client, &refresh_token).await;
    assert_eq!(status, 200);
    let claims = crate::support::claims_of(body["access_token"].as_str().unwrap());
    assert!(claims.get("role").is_none(), "{claims}");
    assert!(
        claims.get("permissions").is_none(),
        "no permissions: the claim is left out"
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_refresh_token_introspects_without_role_or_permissions_and_loses_withdrawn_scopes() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme").await;
    app.user("ann", "client_user", Some(&acme.id.to_string())).await;
    let tp = third_party(&app).await;
    let gateway = app.service_app("admin", true).await;
    let staff = app.client_token(&gateway).await;
    let tokens = app
        .code_tokens(&Browser::default(), &tp, "ann", "openid offline_access parcels:*")
        .await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let body: Value = app
        .post_form("/introspect", Some(&gateway), &[("token", refresh_token)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["active"], true);
    assert!(
        body.get("role").is_none() && body.get("permissions").is_none(),
        "{body}"
    );

    // The application may no longer ask for parcel permissions: the next token has none.
    let path = format!("/admin/v1/applications/{}", tp.client_id);
    let change = json!({ "scopes": ["openid", "offline_access"] });
    assert_eq!(app.call(&staff, Method::PATCH, &path, Some(change)).await.0, 200);
    let (status, body) = refresh(&app, &tp, refresh_token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "offline_access openid");
    let claims = crate::support::claims_of(body["access_token"].as_str().unwrap());
    assert!(
        claims.get("permissions").is_none(),
        "no permissions: the claim is left out"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_resource_indicator_sets_the_audience_only_for_resources_the_application_may_name() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    let billing = "https://billing.example.com";
    let gateway = app.service_app("admin", true).await;
    let staff = app.client_token(&gateway).await;
    // Through the admin API: a service allowed the billing resource.
    let body = json!({
        "name": "Billing sync", "grant_types": ["client_credentials"], "service_role": "operator",
        "resources": [billing],
    });
    let (status, created) = app
        .call(&staff, Method::POST, "/admin/v1/applications", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["resources"], json!([billing]));
    let service = RegisteredApp {
        client_id: created["client_id"].as_str().unwrap().to_owned(),
        secret: created["client_secret"].as_str().map(str::to_owned),
    };
    let grant = |resource: Option<&'static str>| {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend(resource.map(|r| ("resource", r)));
        let app = &app;
        let service = &service;
        async move {
            let response = app.post_form("/token", Some(service), &form).await;
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = grant(Some(billing)).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(crate::support::claims_of(token)["aud"], billing);
    let (status, body) = app.call(token, Method::GET, "/admin/v1/users", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope")),
        "another resource's token"
    );
    assert_eq!(
        authz(&app, token, "parcels:read").await,
        "allowed",
        "judged by its permissions"
    );
    let (status, body) = grant(Some("https://other.example.com")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")));
    let (status, body) = grant(None).await;
    assert_eq!(status, 200);
    assert_eq!(
        crate::support::claims_of(body["access_token"].as_str().unwrap())["aud"],
        "propusk"
    );
    let response = app
        .post_form(
            "/token",
            Some(&service),
            &[
                ("grant_type", "client_credentials"),
                ("resource", billing),
                ("resource", billing),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_target",
        "one resource at most"
    );

    // The code flow: the resource authorized at /authorize is the audience, refreshes keep it.
    let web = app
        .register(NewApplication {
            name: "Billing portal".into(),
            redirect_uris: vec![CB.into()],
            first_party: true,
            resources: vec![billing.into()],
            ..NewApplication::default()
        })
        .await;
    let (verifier, challenge) = crate::support::pkce();
    let url = app.authorize_url(
        &web,
        &[
            ("response_type", "code"),
            ("redirect_uri", CB),
            ("scope", "openid offline_access"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", billing),
        ],
    );
    let callback = app.sign_in(&Browser::default(), &url, "ann").await;
    let code = crate::support::query_param(&callback, "code").unwrap();
    let response = app
        .post_form(
            "/token",
            Some(&web),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(
        crate::support::claims_of(tokens["access_token"].as_str().unwrap())["aud"],
        billing
    );
    let (status, body) = refresh(&app, &web, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        crate::support::claims_of(body["access_token"].as_str().unwrap())["aud"],
        billing
    );
    let url = app.authorize_url(
        &web,
        &[
            ("response_type", "code"),
            ("redirect_uri", CB),
            ("scope", "openid"),
            ("resource", "https://other.example.com"),
        ],
    );
    let to = crate::support::location(&Browser::default().get(&url).await, &app.base);
    assert_eq!(
        crate::support::query_param(&to, "error").as_deref(),
        Some("invalid_target"),
        "{to}"
    );
    app.stop().await;
}

#[tokio::test]
async fn consent_names_each_permission_in_plain_words() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("ann", "operator", None).await;
    let tp = third_party(&app).await;
    let browser = Browser::default();
    let url = app.authorize_url(
        &tp,
        &[
            ("response_type", "code"),
            ("redirect_uri", CB),
            ("scope", "openid parcels:* users:read"),
        ],
    );
    let response = browser.get(&url).await;
    let to = crate::support::location(&response, &app.base);
    let page = browser.get(&to).await.text().await.unwrap();
    let form_page = if page.contains("name=\"password\"") {
        let response = browser
            .post(
                &app.url("/login"),
                &[
                    ("csrf", &crate::support::hidden(&page, "csrf")),
                    ("req", &crate::support::hidden(&page, "req")),
                    ("login", "ann"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        let to = crate::support::location(&response, &app.base);
        browser.get(&to).await.text().await.unwrap()
    } else {
        page
    };
    assert!(
        form_page.contains("view, create, change and delete parcels for you"),
        "{form_page}"
    );
    assert!(
        form_page.contains("view users for you (only as far as you may yourself)"),
        "{form_page}"
    );
    app.stop().await;
}

#[tokio::test]
async fn authz_check_refuses_a_token_meant_for_another_audience_when_asked_for_its_own() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let gateway = app.service_app("admin", true).await;
    let token = app.client_token(&gateway).await;
    let check = |audience: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let body = json!({ "permission": "parcels:read", "audience": audience });
            app.call(&token, Method::POST, "/authz/check", Some(body)).await.1
        }
    };
    assert_eq!(check("propusk").await["allowed"], true);
    let other = check("https://billing.example.com").await;
    assert_eq!(other["allowed"], false);
    assert!(
        other["reason"].as_str().unwrap().contains("meant for propusk"),
        "{other}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_grace_window_replay_is_judged_against_the_subject_as_it_is_now() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme").await;
    app.user("ann", "client_admin", Some(&acme.id.to_string())).await;
    let client = first_party_password(&app).await;
    let gateway = app.service_app("admin", true).await;
    let staff = app.client_token(&gateway).await;
    let (access, first) = password_tokens(&app, &client, "ann").await;
    let (status, rotated) = refresh(&app, &client, &first).await;
    assert_eq!(status, 200);
    // Demoted within the grace window: a retried refresh gets the same successor, with the
    // role as it is now.
    let sub = app.state.provider.access_claims(&access).unwrap().sub.clone();
    let path = format!("/admin/v1/users/{sub}/role");
    assert_eq!(
        app.call(&staff, Method::PUT, &path, Some(json!({ "role": "client_user" })))
            .await
            .0,
        200
    );
    let (status, replayed) = refresh(&app, &client, &first).await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["refresh_token"], rotated["refresh_token"]);
    let claims = crate::support::claims_of(replayed["access_token"].as_str().unwrap());
    assert_eq!(claims["role"], "client_user");
    // Blocked within the grace window: the replay is refused like everything else.
    assert_eq!(
        app.call(&staff, Method::POST, &format!("/admin/v1/users/{sub}/block"), None)
            .await
            .0,
        200
    );
    let (status, body) = refresh(&app, &client, &first).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    app.stop().await;
}

#[tokio::test]
async fn a_role_edit_on_another_node_does_not_leave_service_tokens_born_inactive() {
    let a = TestApp::spawn(Backend::PostgresRedis).await;
    let b = a.second_node().await;
    let gateway = a.service_app("admin", true).await;
    let staff = a.client_token(&gateway).await;
    let role = json!({ "name": "courier", "scope": "staff", "permissions": ["parcels:read"] });
    assert_eq!(a.call(&staff, Method::POST, "/admin/v1/roles", Some(role)).await.0, 201);
    let courier = a.service_app("courier", false).await;
    // B caches the application and its service role.
    let before = b.client_token(&courier).await;
    assert_eq!(introspect(&b, &gateway, &before).await, "active");
    let widen = json!({ "permissions": ["parcels:read", "parcels:update"] });
    assert_eq!(
        a.call(&staff, Method::PUT, "/admin/v1/roles/courier", Some(widen))
            .await
            .0,
        200
    );
    assert_eq!(
        introspect(&b, &gateway, &before).await,
        "inactive",
        "the edit ends the old token"
    );
    // B's cached copies are confirmed against the generations every second (monotonic time, as
    // the cache keeps it): after that, B mints live tokens with the new permissions.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let after = b.client_token(&courier).await;
    assert_eq!(introspect(&b, &gateway, &after).await, "active");
    let claims = crate::support::claims_of(&after);
    assert_eq!(claims["permissions"], json!(["parcels:read", "parcels:update"]));
    b.stop().await;
    a.stop().await;
}
