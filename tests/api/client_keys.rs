//! `private_key_jwt` (RFC 7523, OpenID Connect Core §9): applications that authenticate with a
//! JWT signed by their own key, registered as a JWK Set or published at a `jwks_uri`; and every
//! way an assertion is refused.

use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's EC P-256 key.
struct Key {
    pair: EcdsaKeyPair,
    kid: String,
}

impl Key {
    fn new(kid: &str) -> Self {
        Self {
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
            kid: kid.into(),
        }
    }

    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
               "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])})
    }

    /// A compact JWS of `claims` with `header` (alg ES256 and the kid unless the header says
    /// otherwise).
    fn sign(&self, header: Value, claims: &Value) -> String {
        let mut h = json!({"alg": "ES256", "kid": self.kid, "typ": "JWT"});
        for (k, v) in header.as_object().unwrap() {
            h[k] = v.clone();
        }
        let input = format!("{}.{}", B64.encode(h.to_string()), B64.encode(claims.to_string()));
        let sig = self.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", B64.encode(sig.as_ref()))
    }
}

fn claims(app: &TestApp, client_id: &str, aud: &str, exp_in: i64, jti: &str) -> Value {
    let now = propusk::clock::Clock::now(&app.clock).unix_timestamp();
    json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": now + exp_in, "iat": now, "jti": jti})
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let response = app.client.post(app.url("/token")).form(form).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn register(app: &TestApp, admin: &str, keys: Value) -> String {
    let mut body = json!({
        "name": "Partner sync", "grant_types": ["client_credentials"], "service_role": "operator",
        "token_endpoint_auth_method": "private_key_jwt"
    });
    for (k, v) in keys.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, created) = app
        .call(admin, Method::POST, "/admin/v1/applications", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(
        created.get("client_secret").is_none_or(Value::is_null),
        "no secret: {created}"
    );
    assert_eq!(created["token_endpoint_auth_method"], "private_key_jwt");
    created["client_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_client_signs_in_with_its_registered_key_and_every_bad_assertion_is_refused() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        app.user("root", "admin", None).await;
        let console = app.web_app(true).await;
        let admin = app.access_token(&console, "root").await;
        let key = Key::new("k1");
        let id = register(&app, &admin, json!({"jwks": {"keys": [key.jwk()]}})).await;
        let discovery: Value = app.get("/.well-known/openid-configuration").await.json().await.unwrap();
        assert!(
            discovery["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt"))
        );

        let grant = |assertion: String| {
            vec![
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
                ("client_assertion".to_owned(), assertion),
            ]
        };
        let send = |form: Vec<(String, String)>| {
            let app = &app;
            async move {
                let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                token(app, &pairs).await
            }
        };
        // aud: the issuer, or the token endpoint URL.
        for (i, aud) in [app.base.clone(), app.url("/token")].iter().enumerate() {
            let assertion = key.sign(json!({}), &claims(&app, &id, aud, 60, &format!("ok-{i}")));
            let (status, body) = send(grant(assertion)).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                crate::support::claims_of(body["access_token"].as_str().unwrap())["sub"],
                id.as_str()
            );
        }

        // Refusals: each is invalid_client (a 400: the client authenticated in the body, RFC 6749 §5.2) or, for a malformed request, invalid_request.
        let other = Key::new("k1");
        let good = |jti: &str| claims(&app, &id, &app.base, 60, jti);
        let mut replayed = good("once");
        let first = key.sign(json!({}), &replayed);
        assert_eq!(send(grant(first.clone())).await.0, 200);
        let unsigned = format!(
            "{}.{}.",
            B64.encode(json!({"alg": "none"}).to_string()),
            B64.encode(good("none").to_string())
        );
        let hmac = format!(
            "{}.{}.{}",
            B64.encode(json!({"alg": "HS256", "kid": "k1"}).to_string()),
            B64.encode(good("hs").to_string()),
            B64.encode([0u8; 32])
        );
        replayed["jti"] = json!("once");
        let cases: Vec<(&str, String, u16)> = vec![
            ("another key", other.sign(json!({}), &good("other")), 400),
            ("replayed jti", first, 400),
            (
                "wrong aud",
                key.sign(json!({}), &claims(&app, &id, "https://elsewhere.example", 60, "aud")),
                400,
            ),
            (
                "expired",
                key.sign(json!({}), &claims(&app, &id, &app.base, -5, "old")),
                400,
            ),
            (
                "an hour ahead",
                key.sign(json!({}), &claims(&app, &id, &app.base, 3600, "long")),
                400,
            ),
            ("alg none", unsigned, 400),
            (
                "two audiences",
                {
                    let mut c = good("two");
                    c["aud"] = json!([app.base, "https://other.example"]);
                    key.sign(json!({}), &c)
                },
                400,
            ),
            ("HS256", hmac, 400),
            (
                "ES256 claimed as RS256",
                key.sign(json!({"alg": "RS256"}), &good("rs")),
                400,
            ),
            (
                "iss is not sub",
                {
                    let mut c = good("sub");
                    c["sub"] = json!("someone-else");
                    key.sign(json!({}), &c)
                },
                400,
            ),
            (
                "unknown client",
                {
                    let mut c = good("who");
                    c["iss"] = json!("nobody");
                    c["sub"] = json!("nobody");
                    key.sign(json!({}), &c)
                },
                400,
            ),
            ("not a JWT", "garbage".to_owned(), 400),
        ];
        for (case, assertion, want) in cases {
            let (status, body) = send(grant(assertion)).await;
            assert_eq!(status, want, "{case}: {body}");
            assert_eq!(body["error"], "invalid_client", "{case}");
        }
        let mut both = grant(key.sign(json!({}), &good("both")));
        both.push(("client_secret".into(), "x".into()));
        assert_eq!(send(both).await.1["error"], "invalid_request");
        let mut odd = grant(key.sign(json!({}), &good("type")));
        odd[1].1 = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer".into();
        assert_eq!(send(odd).await.1["error"], "invalid_request");
        let mut mismatch = grant(key.sign(json!({}), &good("mismatch")));
        mismatch.push(("client_id".into(), console.client_id.clone()));
        assert_eq!(send(mismatch).await.1["error"], "invalid_request");
        // Its secret cannot be "rotated" into existence: it has none, and its key is its proof.
        let (status, _) = app
            .call(
                &admin,
                Method::POST,
                &format!("/admin/v1/applications/{id}/secret"),
                None,
            )
            .await;
        assert_eq!(status, 400);
        // The application has no secret: basic credentials or its id alone do not pass.
        let (status, _) = token(&app, &[("grant_type", "client_credentials"), ("client_id", &id)]).await;
        assert_eq!(status, 400);

        // Introspection with an assertion too (the same authentication everywhere).
        let bad_jwks = json!({"name": "x", "grant_types": ["client_credentials"], "service_role": "operator",
            "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}});
        let (status, refused) = app
            .call(&admin, Method::POST, "/admin/v1/applications", Some(bad_jwks))
            .await;
        assert_eq!(status, 400, "an HMAC key is no client key: {refused}");
        let neither = json!({"name": "x", "grant_types": ["client_credentials"], "service_role": "operator",
            "token_endpoint_auth_method": "private_key_jwt"});
        let (status, _) = app
            .call(&admin, Method::POST, "/admin/v1/applications", Some(neither))
            .await;
        assert_eq!(status, 400, "keys are required");
        app.stop().await;
    }
}

/// A key set published at a `jwks_uri`: fetched through the outgoing client, cached, and fetched
/// again when the client rotates to a key with a new `kid`.
#[tokio::test]
async fn keys_published_at_a_jwks_uri_are_fetched_and_follow_a_rotation() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("root", "admin", None).await;
    let console = app.web_app(true).await;
    let admin = app.access_token(&console, "root").await;
    let first = Key::new("2026-11");
    let served = Arc::new(Mutex::new(json!({"keys": [first.jwk()]})));
    let fetches = Arc::new(Mutex::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    {
        let (served, fetches) = (served.clone(), fetches.clone());
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                *fetches.lock().unwrap() += 1;
                let body = served.lock().unwrap().to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
    }
    let id = register(
        &app,
        &admin,
        json!({"jwks_uri": format!("http://127.0.0.1:{port}/jwks")}),
    )
    .await;
    let assertion = |key: &Key, jti: &str| {
        let now = propusk::clock::Clock::now(&app.clock).unix_timestamp();
        key.sign(
            json!({}),
            &json!({"iss": id, "sub": id, "aud": app.base, "exp": now + 60, "jti": jti}),
        )
    };
    let form = |a: String| {
        vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_assertion_type", JWT_BEARER.to_owned()),
            ("client_assertion", a),
        ]
    };
    let send = |form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token(app, &pairs).await
        }
    };
    assert_eq!(send(form(assertion(&first, "a"))).await.0, 200);
    assert_eq!(send(form(assertion(&first, "b"))).await.0, 200);
    assert_eq!(*fetches.lock().unwrap(), 1, "cached");

    // The client rotates: its new key is fetched once more (the refetch is at most every 30 s).
    let second = Key::new("2026-12");
    *served.lock().unwrap() = json!({"keys": [second.jwk()]});
    let (status, body) = send(form(assertion(&second, "c"))).await;
    assert_eq!(
        status, 400,
        "within 30 s of the last fetch the set is not fetched again: {body}"
    );
    tokio::time::sleep(std::time::Duration::from_secs(31)).await;
    let (status, body) = send(form(assertion(&second, "d"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(*fetches.lock().unwrap(), 2);
    app.stop().await;
}

/// Runs the openid-client relying party (tests/upstream/rp.mjs; scripts/test installs it).
async fn openid_client(args: &[&str]) -> Value {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/upstream");
    assert!(
        dir.join("node_modules/openid-client").is_dir(),
        "openid-client is not installed: run the tests with scripts/test"
    );
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    // The server runs on this test's runtime: node must not be waited for on it.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("rp.mjs")
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "openid-client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

impl Key {
    /// The private JWK (with `d`), for openid-client.
    fn private_jwk(&self) -> Value {
        let mut jwk = self.jwk();
        use aws_lc_rs::encoding::AsBigEndian as _;
        let d = self.pair.private_key().as_be_bytes().unwrap();
        jwk["d"] = json!(B64.encode(d.as_ref()));
        jwk
    }
}

/// A certified relying-party library, openid-client, authenticates with private_key_jwt at the
/// token endpoint (client_credentials) and at /par, and redeems a pushed request's code — on
/// both backends.
#[tokio::test]
async fn openid_client_authenticates_with_its_key_and_pushes_requests() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        app.user("root", "admin", None).await;
        app.user("ann", "operator", None).await;
        let console = app.web_app(true).await;
        let admin = app.access_token(&console, "root").await;
        let key = Key::new("rp-1");
        let body = json!({
            "name": "Partner portal", "first_party": true, "service_role": "operator",
            "grant_types": ["authorization_code", "client_credentials"],
            "redirect_uris": ["https://client.example.com/cb"],
            "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [key.jwk()]},
            "require_pushed_authorization_requests": true
        });
        let (status, created) = app
            .call(&admin, Method::POST, "/admin/v1/applications", Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["client_id"].as_str().unwrap().to_owned();
        let jwk = key.private_jwk().to_string();

        let tokens = openid_client(&["cc", &app.base, &id, &jwk]).await;
        assert_eq!(
            crate::support::claims_of(tokens["access_token"].as_str().unwrap())["sub"],
            id.as_str()
        );

        let pushed = openid_client(&["par", &app.base, &id, &jwk]).await;
        let url = pushed["url"].as_str().unwrap();
        assert!(
            url.contains("request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A"),
            "{url}"
        );
        let callback = app.sign_in(&crate::support::Browser::default(), url, "ann").await;
        let done = openid_client(&[
            "code",
            &app.base,
            &id,
            &jwk,
            &callback,
            pushed["verifier"].as_str().unwrap(),
        ])
        .await;
        assert_eq!(done["claims"]["aud"], id.as_str());
        assert_eq!(done["claims"]["acr"], "urn:propusk:loa:1");
        app.stop().await;
    }
}
