//! Three nodes behind a real load balancer (Debian's nginx, round-robin, no stickiness) sharing
//! PostgreSQL and Redis: a browser signs in across nodes, a refresh replay on two nodes at once
//! has one successor, a logout on one node is seen by introspection on the others at once,
//! sign-in lockout counts across nodes, a key rotation reaches every node, and a node killed
//! mid-load loses no acknowledged write.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Backend, Browser, Nginx, PASSWORD, TestApp};

/// nginx in front of `nodes`, round-robin, moving on from a node that refuses connections.
async fn balancer(port: u16, nodes: &[std::net::SocketAddr]) -> Nginx {
    let servers: String = nodes
        .iter()
        .map(|n| format!("server {n} max_fails=1 fail_timeout=2s; "))
        .collect();
    let config = format!(
        r#"
  upstream propusk {{ {servers} }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://propusk;
      proxy_set_header Host $http_host;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 1s;
    }}
  }}"#
    );
    Nginx::start(port, &config).await
}

/// Three nodes on one database and Redis prefix, sharing keys and the balancer's issuer; the
/// first handle's helpers go through the balancer.
async fn cluster() -> (TestApp, TestApp, TestApp, Nginx) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let front = format!("http://127.0.0.1:{port}");
    let issuer = url::Url::parse(&front).unwrap();
    let mut a = TestApp::spawn_with(Backend::PostgresRedis, |c| c.issuer = issuer.clone()).await;
    let like = |first: &TestApp| {
        let c0 = first.config.clone();
        TestApp::spawn_with(Backend::PostgresRedis, move |c| {
            c.database = c0.database;
            c.redis_prefix = c0.redis_prefix;
            c.keys_dir = c0.keys_dir;
            c.issuer = c0.issuer;
        })
    };
    let b = like(&a).await;
    let c = like(&a).await;
    let balancer = balancer(port, &[a.addr, b.addr, c.addr]).await;
    a.set_base(front);
    (a, b, c, balancer)
}

async fn introspect_at(node: &TestApp, gateway: &crate::support::RegisteredApp, token: &str) -> Value {
    node.post_form("/introspect", Some(gateway), &[("token", token)])
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_behind_nginx_act_as_one() {
    let (front, b, c, _balancer) = cluster().await;
    front.user("root", "admin", None).await;
    front.user("ann", "operator", None).await;
    front.user("bob", "operator", None).await;
    let rp = front.web_app(true).await;
    let gateway = front.service_app("admin", true).await;

    // A browser signs in through the balancer: the login page, the form post, the consent-free
    // code and the token request land on different nodes (round-robin, no stickiness).
    let browser = Browser::default();
    let tokens = front.code_tokens(&browser, &rp, "ann", "openid offline_access").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    for node in [&b, &c] {
        assert_eq!(introspect_at(node, &gateway, &access).await["active"], true);
    }

    // A refresh replay on two nodes at once: one successor (the grace window returns the same
    // one to both), and the family stays whole.
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let (one, two) = tokio::join!(
        b.post_form("/token", Some(&rp), &form),
        c.post_form("/token", Some(&rp), &form)
    );
    let (one, two): (Value, Value) = (one.json().await.unwrap(), two.json().await.unwrap());
    let successors: Vec<&str> = [&one, &two]
        .iter()
        .filter_map(|t| t["refresh_token"].as_str())
        .collect();
    assert!(!successors.is_empty(), "{one} {two}");
    assert!(
        successors.windows(2).all(|w| w[0] == w[1]),
        "one successor: {one} {two}"
    );
    let next = front
        .post_form(
            "/token",
            Some(&rp),
            &[("grant_type", "refresh_token"), ("refresh_token", successors[0])],
        )
        .await;
    assert_eq!(next.status(), 200, "the family lives on");

    // A logout through the balancer: every node's introspection sees it at once.
    front.logout(&browser).await;
    for node in [&front, &b, &c] {
        assert_eq!(introspect_at(node, &gateway, &access).await, json!({"active": false}));
    }

    // Lockout counts across nodes: five wrong passwords spread over three nodes lock bob.
    let attacker = Browser::default();
    for _ in 0..5 {
        attacker.log_in(&front, "bob", "not the password").await;
    }
    assert_eq!(attacker.log_in(&front, "bob", PASSWORD).await.status(), 429);

    // A key rotation on the shared keys directory reaches every node at its next reload.
    let added = propusk::keys::keyring::Keyring::rotate(&front.config.keys_dir).unwrap();
    for node in [&front, &b, &c] {
        propusk::app::reload_keyring(&node.state).await;
        let jwks: Value = node
            .client
            .get(format!("http://{}/jwks", node.addr))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        for kid in &added {
            assert!(kids.contains(&kid.as_str()), "{kid} published by {}", node.addr);
        }
    }

    // A node killed mid-load: every acknowledged user creation is in the database afterwards,
    // and the others keep answering.
    let console = front.web_app(true).await;
    let admin = front.access_token(&console, "root").await;
    let mut created = Vec::new();
    let mut refused = 0;
    let mut c = Some(c);
    for i in 0..45 {
        if i == 15 {
            c.take().unwrap().kill();
        }
        let body = json!({"username": format!("load{i}"), "password": PASSWORD, "role": "operator"});
        let (status, user) = front.call(&admin, Method::POST, "/admin/v1/users", Some(body)).await;
        match status {
            201 => created.push(user["id"].as_str().unwrap().to_owned()),
            _ => refused += 1,
        }
    }
    assert!(created.len() >= 40, "{} created, {refused} refused", created.len());
    for id in &created {
        let found = b
            .state
            .stores
            .db
            .find_user(propusk::model::user::UserId::parse(id).unwrap())
            .await
            .unwrap();
        assert!(found.is_some(), "acknowledged user {id} is there");
    }
    b.stop().await;
    front.stop().await;
}
