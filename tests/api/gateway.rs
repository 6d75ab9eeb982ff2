//! Forward authentication (`/gateway/check`): the shapes nginx, Traefik and Envoy speak, the
//! route map, and a real nginx (`auth_request`) in front of a small upstream — identity headers
//! reach the service, a missing permission is 403, and `/revoke`, logout and a block are 401 on
//! the very next request.

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::support::{Backend, Browser, Nginx, RegisteredApp, TestApp};

const ROUTES: &str = r#"
[[route]]
method = "DELETE"
path = "/parcels/**"
permission = "parcels:delete"

[[route]]
method = "GET"
path = "/parcels/**"
permission = "parcels:read"

[[route]]
path = "/billing/**"
permission = "parcels:read"
audience = "https://billing.example"
"#;

/// A Propusk with the route map above, an account user `ann` (client_user of Acme) and a
/// first-party web application.
async fn setup(backend: Backend) -> (TestApp, RegisteredApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.toml");
    std::fs::write(&routes, ROUTES).unwrap();
    let app = TestApp::spawn_with(backend, |c| c.gateway_routes = Some(routes)).await;
    app.account("Acme").await;
    app.user("ann", "client_user", Some("acme")).await;
    let rp = app.web_app(true).await;
    (app, rp, dir)
}

async fn check(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.client.request(method, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_check_answers_nginx_traefik_and_envoy_alike() {
    let (app, rp, _dir) = setup(Backend::Embedded).await;
    let tokens = app.code_tokens(&Browser::default(), &rp, "ann", "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    let bearer = format!("Bearer {token}");
    let claims = app.state.oauth.access_claims(token).unwrap();

    let none = check(&app, "GET", "/gateway/check", &[("X-Original-URI", "/parcels/1")]).await;
    assert_eq!(none.status(), 401);
    assert!(header(&none, "www-authenticate").contains("invalid_token"));

    let nginx = [
        ("Authorization", bearer.as_str()),
        ("X-Original-Method", "GET"),
        ("X-Original-URI", "/parcels/1?expand=events"),
    ];
    let ok = check(&app, "GET", "/gateway/check", &nginx).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(header(&ok, "x-user-id"), claims.sub);
    assert_eq!(header(&ok, "x-user-role"), "client_user");
    assert_eq!(header(&ok, "x-client-id"), claims.account_id.clone().unwrap());
    assert_eq!(header(&ok, "x-application-id"), rp.client_id);
    assert!(header(&ok, "x-permissions").split(',').any(|p| p == "parcels:read"));
    assert_eq!(header(&ok, "cache-control"), "no-store");

    let delete = [
        ("Authorization", bearer.as_str()),
        ("X-Original-Method", "DELETE"),
        ("X-Original-URI", "/parcels/1"),
    ];
    let refused = check(&app, "GET", "/gateway/check", &delete).await;
    assert_eq!(refused.status(), 403);
    assert!(header(&refused, "www-authenticate").contains("insufficient_scope"));
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error_description"].as_str().unwrap().contains("parcels:delete"),
        "{body}"
    );

    let traefik = [
        ("Authorization", bearer.as_str()),
        ("X-Forwarded-Method", "DELETE"),
        ("X-Forwarded-Uri", "/parcels/1"),
    ];
    assert_eq!(check(&app, "GET", "/gateway/check", &traefik).await.status(), 403);
    let auth = [("Authorization", bearer.as_str())];
    // Envoy: the original method and the path after the prefix.
    assert_eq!(
        check(&app, "GET", "/gateway/check/parcels/1", &auth).await.status(),
        200
    );
    assert_eq!(
        check(&app, "DELETE", "/gateway/check/parcels/1", &auth).await.status(),
        403
    );

    let explicit = [
        ("Authorization", bearer.as_str()),
        ("X-Original-URI", "/anything"),
        ("X-Required-Permission", "users:update"),
    ];
    assert_eq!(check(&app, "GET", "/gateway/check", &explicit).await.status(), 403);
    let unmatched = [("Authorization", bearer.as_str()), ("X-Original-URI", "/anything")];
    assert_eq!(
        check(&app, "GET", "/gateway/check", &unmatched).await.status(),
        200,
        "no route: the token alone decides"
    );
    let sneaky = [
        ("Authorization", bearer.as_str()),
        ("X-Original-URI", "/other/%2e%2e/parcels/1"),
    ];
    assert_eq!(check(&app, "GET", "/gateway/check", &sneaky).await.status(), 403);
    let billing = [
        ("Authorization", bearer.as_str()),
        ("X-Original-URI", "/billing/invoices"),
    ];
    let other_audience = check(&app, "GET", "/gateway/check", &billing).await;
    assert_eq!(other_audience.status(), 403, "the token is for Propusk, not billing");

    // What an attacker behind a gateway might try (each 403):
    let attacks: [(&str, &[(&str, &str)]); 6] = [
        (
            "X-Required-Permission adds to the route's permission, never replaces it",
            &[
                ("X-Original-Method", "DELETE"),
                ("X-Original-URI", "/parcels/1"),
                ("X-Required-Permission", "parcels:read"),
            ],
        ),
        (
            "the client's own X-Original-URI disagreeing with the gateway's X-Forwarded-Uri",
            &[
                ("X-Forwarded-Method", "DELETE"),
                ("X-Forwarded-Uri", "/parcels/1"),
                ("X-Original-URI", "/public/x"),
                ("X-Original-Method", "GET"),
            ],
        ),
        (
            "a method override",
            &[("X-Original-URI", "/public/x"), ("X-HTTP-Method-Override", "DELETE")],
        ),
        (
            "a path parameter",
            &[("X-Original-Method", "DELETE"), ("X-Original-URI", "/parcels;x/1")],
        ),
        ("a fragment", &[("X-Original-URI", "/public/x#/../../admin")]),
        ("nothing names the original request", &[]),
    ];
    for (case, headers) in attacks {
        let mut all = vec![("Authorization", bearer.as_str())];
        all.extend_from_slice(headers);
        assert_eq!(check(&app, "GET", "/gateway/check", &all).await.status(), 403, "{case}");
    }
    let encoded = [
        ("Authorization", bearer.as_str()),
        ("X-Original-Method", "DELETE"),
        ("X-Original-URI", "/%70arcels/1"),
    ];
    assert_eq!(
        check(&app, "GET", "/gateway/check", &encoded).await.status(),
        403,
        "an encoded letter still names the route"
    );
    // Every identity header is sent, empty when the token has no such claim, so a gateway that
    // copies them never lets a client's own through.
    let service = app.service_app("operator", false).await;
    let service_token = format!("Bearer {}", app.client_token(&service).await);
    let staff = check(
        &app,
        "GET",
        "/gateway/check",
        &[
            ("Authorization", service_token.as_str()),
            ("X-Original-URI", "/parcels/1"),
        ],
    )
    .await;
    assert_eq!(staff.status(), 200);
    assert!(staff.headers().contains_key("x-client-id"));
    assert_eq!(header(&staff, "x-client-id"), "", "a staff service has no B2B account");

    let id_token = tokens["id_token"].as_str().unwrap();
    let id_bearer = format!("Bearer {id_token}");
    let wrong_kind = [("Authorization", id_bearer.as_str()), ("X-Original-URI", "/parcels/1")];
    assert_eq!(check(&app, "GET", "/gateway/check", &wrong_kind).await.status(), 401);
}

#[tokio::test]
async fn a_bad_route_map_stops_the_start_with_its_mistake_named() {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.toml");
    std::fs::write(&routes, "[[route]]\npath = \"parcels\"\n").unwrap();
    let mut config = propusk::config::Config::embedded_in(dir.path());
    config.gateway_routes = Some(routes);
    let clock = std::sync::Arc::new(propusk::clock::ManualClock::starting_now());
    let Err(e) = propusk::app::App::build_on(None, config, clock).await else {
        panic!("a bad route map must stop the start");
    };
    let text = e.to_string();
    assert!(text.contains("GATEWAY_ROUTES") && text.contains("route 1"), "{text}");
}

/// A service behind the gateway: answers every request with the identity headers it received.
async fn echo_service() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request).to_lowercase();
                let seen: serde_json::Map<String, Value> = text
                    .lines()
                    .filter_map(|l| l.split_once(": "))
                    .filter(|(k, _)| k.starts_with("x-"))
                    .map(|(k, v)| (k.to_owned(), Value::String(v.trim().to_owned())))
                    .collect();
                let body = Value::Object(seen).to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    addr
}

/// nginx with `auth_request` against Propusk, in front of `upstream`.
async fn gateway_nginx(propusk: std::net::SocketAddr, upstream: std::net::SocketAddr) -> Nginx {
    let port = crate::support::free_port();
    let servers = format!(
        r#"
  server {{
    listen 127.0.0.1:{port};
    location = /_propusk {{
      internal;
      proxy_pass http://{propusk}/gateway/check;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }}
    location / {{
      auth_request /_propusk;
      auth_request_set $user_id $upstream_http_x_user_id;
      auth_request_set $user_role $upstream_http_x_user_role;
      auth_request_set $client_id $upstream_http_x_client_id;
      auth_request_set $application_id $upstream_http_x_application_id;
      auth_request_set $permissions $upstream_http_x_permissions;
      proxy_set_header X-User-Id $user_id;
      proxy_set_header X-User-Role $user_role;
      proxy_set_header X-Client-Id $client_id;
      proxy_set_header X-Application-Id $application_id;
      proxy_set_header X-Permissions $permissions;
      proxy_pass http://{upstream};
    }}
  }}"#
    );
    Nginx::start(port, &servers).await
}

async fn through(nginx: &Nginx, method: reqwest::Method, path: &str, token: Option<&str>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .request(method, nginx.url(path))
        .header("X-User-Id", "forged-by-the-client");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn nginx_passes_the_identity_and_sees_revoke_logout_and_block_at_once() {
    let (app, rp, _dir) = setup(Backend::PostgresRedis).await;
    let nginx = gateway_nginx(app.addr, echo_service().await).await;
    let get = reqwest::Method::GET;

    let (status, _) = through(&nginx, get.clone(), "/parcels/1", None).await;
    assert_eq!(status, 401, "no token");

    let browser = Browser::default();
    let tokens = app.code_tokens(&browser, &rp, "ann", "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    let claims = app.state.oauth.access_claims(token).unwrap();
    let (status, seen) = through(&nginx, get.clone(), "/parcels/1", Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        seen["x-user-id"],
        claims.sub.as_str(),
        "the client's own X-User-Id is replaced"
    );
    assert_eq!(seen["x-user-role"], "client_user");
    assert_eq!(seen["x-client-id"], claims.account_id.clone().unwrap().as_str());
    assert_eq!(seen["x-application-id"], rp.client_id.to_lowercase().as_str());
    assert!(seen["x-permissions"].as_str().unwrap().contains("parcels:read"));
    let (status, _) = through(&nginx, reqwest::Method::DELETE, "/parcels/1", Some(token)).await;
    assert_eq!(status, 403, "client_user may not delete parcels");

    // /revoke by the application: the next request is refused.
    app.revoke(&rp, token).await;
    assert_eq!(
        through(&nginx, get.clone(), "/parcels/1", Some(token)).await.0,
        401,
        "revoked"
    );

    // Logout ends the session's tokens.
    let tokens = app.code_tokens(&browser, &rp, "ann", "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(through(&nginx, get.clone(), "/parcels/1", Some(token)).await.0, 200);
    app.logout(&browser).await;
    assert_eq!(
        through(&nginx, get.clone(), "/parcels/1", Some(token)).await.0,
        401,
        "logged out"
    );

    // A block by staff ends every token of the user.
    let ann = Browser::default();
    let tokens = app.code_tokens(&ann, &rp, "ann", "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(through(&nginx, get.clone(), "/parcels/1", Some(token)).await.0, 200);
    app.user("root", "admin", None).await;
    let admin = app.code_tokens(&Browser::default(), &rp, "root", "openid").await;
    let admin = admin["access_token"].as_str().unwrap();
    let sub = app.state.oauth.access_claims(token).unwrap().sub.clone();
    let (status, body) = app
        .call(
            admin,
            reqwest::Method::POST,
            &format!("/admin/v1/users/{sub}/block"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(through(&nginx, get, "/parcels/1", Some(token)).await.0, 401, "blocked");
}

/// The sizes of typical access tokens (printed for BENCHMARKS.md with `--no-capture`), held under
/// a bound so that growth is a decision: some gateways key their caches by the token.
#[tokio::test]
async fn typical_access_tokens_stay_small() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.account("Acme").await;
    app.user("olga", "operator", None).await;
    app.user("adam", "client_admin", Some("acme")).await;
    app.user("ann", "client_user", Some("acme")).await;
    let rp = app.web_app(true).await;
    let service = app.service_app("operator", false).await;
    let mut sizes = Vec::new();
    for (kind, user) in [
        ("staff (operator)", "olga"),
        ("account admin", "adam"),
        ("account user", "ann"),
    ] {
        sizes.push((kind, app.access_token(&rp, user).await.len()));
    }
    sizes.push(("service (client_credentials)", app.client_token(&service).await.len()));
    let slim = app
        .register(propusk::identity::admin::NewApplication {
            name: "Small tokens".into(),
            redirect_uris: vec!["https://client.example.com/cb".into()],
            first_party: true,
            token_permissions: Some(false),
            ..Default::default()
        })
        .await;
    for (kind, user) in [
        ("staff (operator), without permissions", "olga"),
        ("account admin, without permissions", "adam"),
        ("account user, without permissions", "ann"),
    ] {
        sizes.push((kind, app.access_token(&slim, user).await.len()));
    }
    for (kind, size) in &sizes {
        eprintln!("access token, {kind}: {size} characters");
        assert!(*size < 1200, "{kind}: {size} characters");
    }
}

/// An application whose tokens leave `permissions` out: smaller tokens, and the gateway,
/// `/authz/check`, `/introspect` and the admin API read the permissions from the role and user.
#[tokio::test]
async fn tokens_without_permissions_are_judged_by_the_role_and_user_read_now() {
    let (app, _, _dir) = setup(Backend::PostgresRedis).await;
    let small = app
        .register(propusk::identity::admin::NewApplication {
            name: "Small tokens".into(),
            redirect_uris: vec!["https://client.example.com/cb".into()],
            first_party: true,
            token_permissions: Some(false),
            ..Default::default()
        })
        .await;
    let full = app.web_app(true).await;
    let slim = app.access_token(&small, "ann").await;
    let fat = app.access_token(&full, "ann").await;
    assert!(
        slim.len() + 40 < fat.len(),
        "{} vs {} characters",
        slim.len(),
        fat.len()
    );
    let payload = slim.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert!(payload.get("permissions").is_none(), "{payload}");
    assert_eq!(
        payload["role"], "client_user",
        "every other claim a service reads stays"
    );
    assert!(payload["clientId"].is_string());

    let bearer = format!("Bearer {slim}");
    let read = [("Authorization", bearer.as_str()), ("X-Original-URI", "/parcels/1")];
    let ok = check(&app, "GET", "/gateway/check", &read).await;
    assert_eq!(ok.status(), 200);
    assert!(header(&ok, "x-permissions").split(',').any(|p| p == "parcels:read"));
    let delete = [
        ("Authorization", bearer.as_str()),
        ("X-Original-Method", "DELETE"),
        ("X-Original-URI", "/parcels/1"),
    ];
    assert_eq!(check(&app, "GET", "/gateway/check", &delete).await.status(), 403);

    let (status, body) = app
        .call(
            &slim,
            reqwest::Method::POST,
            "/authz/check",
            Some(serde_json::json!({ "permission": "parcels:read" })),
        )
        .await;
    assert_eq!((status, body["allowed"].clone()), (200, Value::Bool(true)), "{body}");

    let gateway = app.service_app("admin", true).await;
    let seen: Value = app
        .post_form("/introspect", Some(&gateway), &[("token", &slim)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["active"], true);
    assert!(
        seen["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "parcels:read"),
        "{seen}"
    );

    // The token says it left its permissions out: turning the setting back on changes nothing
    // for tokens already issued.
    app.user("root", "admin", None).await;
    let admin = app.access_token(&full, "root").await;
    let path = format!("/admin/v1/applications/{}", small.client_id);
    let change = serde_json::json!({ "token_permissions": true });
    assert_eq!(
        app.call(&admin, reqwest::Method::PATCH, &path, Some(change)).await.0,
        200
    );
    let still = check(&app, "GET", "/gateway/check", &read).await;
    assert!(header(&still, "x-permissions").split(',').any(|p| p == "parcels:read"));

    // A service of such an application: its role's permissions.
    let service = app
        .register(propusk::identity::admin::NewApplication {
            name: "Small service".into(),
            grants: vec!["client_credentials".into()],
            scopes: vec!["parcels".into()],
            role: Some("operator".into()),
            token_permissions: Some(false),
            ..Default::default()
        })
        .await;
    let token = format!("Bearer {}", app.client_token(&service).await);
    let ok = check(
        &app,
        "GET",
        "/gateway/check",
        &[("Authorization", token.as_str()), ("X-Original-URI", "/parcels/1")],
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert!(
        header(&ok, "x-permissions").contains("parcels:"),
        "{}",
        header(&ok, "x-permissions")
    );
}
