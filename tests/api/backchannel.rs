//! OpenID Connect Back-Channel Logout 1.0: an application that registered a
//! `backchannel_logout_uri` gets a signed logout token whenever a session it signed in to ends
//! (logout, a block, …), without delaying the user; a receiver that is down is retried and the
//! failure audited.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Backend, Browser, RegisteredApp, TestApp, claims_of};

/// A receiver of logout tokens on loopback: the tokens it got, answering `status`.
struct Receiver {
    port: u16,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start(status: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let got = tokens.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 8192];
                // Read until the body (Content-Length) is complete.
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if body.len() >= length {
                            if let Some(token) = url::form_urlencoded::parse(body.as_bytes())
                                .find(|(k, _)| k == "logout_token")
                                .map(|(_, v)| v.into_owned())
                            {
                                got.lock().unwrap().push(token);
                            }
                            break;
                        }
                    }
                }
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        Self { port, tokens }
    }

    fn uri(&self) -> String {
        format!("http://127.0.0.1:{}/backchannel", self.port)
    }

    /// Waits up to `within` for `n` tokens.
    async fn wait_for(&self, n: usize, within: Duration) -> Vec<String> {
        let start = Instant::now();
        loop {
            let tokens = self.tokens.lock().unwrap().clone();
            if tokens.len() >= n || start.elapsed() > within {
                return tokens;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn register(app: &TestApp, admin: &str, uri: &str) -> RegisteredApp {
    let body = json!({
        "name": "Tracking web", "grant_types": ["authorization_code"], "first_party": true,
        "redirect_uris": ["https://client.example.com/cb"], "backchannel_logout_uri": uri
    });
    let (status, created) = app
        .call(admin, Method::POST, "/admin/v1/applications", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["backchannel_logout_uri"], uri);
    RegisteredApp {
        client_id: created["client_id"].as_str().unwrap().to_owned(),
        secret: created["client_secret"].as_str().map(str::to_owned),
    }
}

/// Signs `user` in to `rp` in `browser`; returns the ID token's claims.
async fn signed_in(app: &TestApp, browser: &Browser, rp: &RegisteredApp, user: &str) -> Value {
    let tokens = app.code_tokens(browser, rp, user, "openid").await;
    claims_of(tokens["id_token"].as_str().unwrap())
}

fn header_of(token: &str) -> Value {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

#[tokio::test]
async fn a_logout_and_a_block_send_signed_logout_tokens_to_each_application_signed_in() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        app.user("root", "admin", None).await;
        let ann = app.user("ann", "operator", None).await;
        let console = app.web_app(true).await;
        let admin = app.access_token(&console, "root").await;
        let discovery: Value = app.get("/.well-known/openid-configuration").await.json().await.unwrap();
        assert_eq!(discovery["backchannel_logout_supported"], true);
        assert_eq!(discovery["backchannel_logout_session_supported"], true);
        let receiver = Receiver::start(200).await;
        let rp = register(&app, &admin, &receiver.uri()).await;

        // Signed in to the RP (and the console, which takes no logout tokens); signs out.
        let browser = Browser::default();
        let id = signed_in(&app, &browser, &rp, "ann").await;
        app.code_tokens(&browser, &console, "ann", "openid").await;
        let started = Instant::now();
        app.logout(&browser).await;
        assert!(started.elapsed() < Duration::from_secs(2), "the logout does not wait");
        let tokens = receiver.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(tokens.len(), 1, "one token, for the one application with a URI");
        let header = header_of(&tokens[0]);
        assert_eq!(header["typ"], "logout+jwt");
        assert_eq!(header["alg"], "RS256", "signed like the application's ID tokens");
        let claims = claims_of(&tokens[0]);
        assert_eq!(claims["iss"], app.base.as_str());
        assert_eq!(claims["aud"], rp.client_id.as_str());
        assert_eq!(claims["sub"], ann.as_str());
        assert_eq!(claims["sid"], id["sid"]);
        assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
        assert!(claims.get("nonce").is_none());
        assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

        // Two browsers signed in, then an administrator blocks the user: both sessions end.
        let (first, second) = (Browser::default(), Browser::default());
        let one = signed_in(&app, &first, &rp, "ann").await;
        let two = signed_in(&app, &second, &rp, "ann").await;
        app.block(&admin, &ann).await;
        let tokens = receiver.wait_for(3, Duration::from_secs(5)).await;
        let sids: Vec<Value> = tokens[1..].iter().map(|t| claims_of(t)["sid"].clone()).collect();
        assert_eq!(tokens.len(), 3, "{sids:?}");
        assert!(sids.contains(&one["sid"]) && sids.contains(&two["sid"]), "{sids:?}");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(receiver.tokens.lock().unwrap().len(), 3, "each session told once");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_receiver_that_is_down_is_retried_and_the_failure_audited() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("root", "admin", None).await;
    app.user("ann", "operator", None).await;
    let console = app.web_app(true).await;
    let admin = app.access_token(&console, "root").await;
    let failing = Receiver::start(503).await;
    let rp = register(&app, &admin, &failing.uri()).await;
    let browser = Browser::default();
    signed_in(&app, &browser, &rp, "ann").await;
    let started = Instant::now();
    app.logout(&browser).await;
    assert!(started.elapsed() < Duration::from_secs(2), "the logout does not wait");
    let tokens = failing.wait_for(3, Duration::from_secs(15)).await;
    assert_eq!(tokens.len(), 3, "three attempts");
    let mut audited = Vec::new();
    for _ in 0..50 {
        audited = app.audit_of("backchannel_logout").await;
        if !audited.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(audited.len(), 1);
    let record = &audited[0].record;
    assert_eq!(record.outcome.as_str(), "failure");
    assert_eq!(record.details["client_id"], rp.client_id.as_str());
    assert_eq!(record.details["reason"], "HTTP 503");
    app.stop().await;
}
