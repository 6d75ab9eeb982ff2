//! OAuth flows as protocol steps: sign-in through the pages, PKCE, the code exchange.

use super::*;

impl TestApp {
    /// Drives a browser from an authorization URL through login (and consent, when asked) to the
    /// client's callback; returns the callback URL.
    pub async fn sign_in(&self, browser: &Browser, authorize_url: &str, username: &str) -> String {
        self.sign_in_with(browser, authorize_url, username, &|page: &str| {
            panic!("unexpected second-factor step: {page}")
        })
        .await
    }

    /// [`Self::sign_in`] where the second-factor page is answered by `second` (given the page,
    /// it returns the method and the code).
    pub async fn sign_in_with(
        &self,
        browser: &Browser,
        authorize_url: &str,
        username: &str,
        second: &dyn Fn(&str) -> (String, String),
    ) -> String {
        let mut response = browser.get(authorize_url).await;
        let mut to = location(&response, &self.base);
        if to.starts_with(&self.url("/login")) {
            let page = browser.get(&to).await.text().await.unwrap();
            response = browser
                .post(
                    &self.url("/login"),
                    &[
                        ("csrf", &hidden(&page, "csrf")),
                        ("req", &hidden(&page, "req")),
                        ("login", username),
                        ("password", PASSWORD),
                    ],
                )
                .await;
            to = location(&response, &self.base);
        }
        if to == self.url("/login/2fa") {
            let page = browser.get(&to).await.text().await.unwrap();
            let (method, code) = second(&page);
            response = browser
                .post(
                    &self.url("/login/2fa"),
                    &[("csrf", &hidden(&page, "csrf")), ("method", &method), ("code", &code)],
                )
                .await;
            to = location(&response, &self.base);
        }
        if to.starts_with(&self.url("/consent")) {
            let page = browser.get(&to).await.text().await.unwrap();
            response = browser
                .post(
                    &self.url("/consent"),
                    &[
                        ("csrf", &hidden(&page, "csrf")),
                        ("req", &hidden(&page, "req")),
                        ("decision", "allow"),
                    ],
                )
                .await;
            to = location(&response, &self.base);
        }
        to
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    use base64::Engine as _;
    let verifier = format!("v{}", uuid::Uuid::new_v4().simple()).repeat(2);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (
        verifier,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()),
    )
}

impl TestApp {
    /// `/authorize?…` for `client` with `params` (the caller gives everything else).
    pub fn authorize_url(&self, client: &RegisteredApp, params: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        url.query_pairs_mut().append_pair("client_id", &client.client_id);
        for (k, v) in params {
            url.query_pairs_mut().append_pair(k, v);
        }
        url.to_string()
    }

    /// Signs `username` in for `client` (code flow with PKCE, scope `scope`) and redeems the
    /// code; returns the token response.
    pub async fn code_tokens(
        &self,
        browser: &Browser,
        client: &RegisteredApp,
        username: &str,
        scope: &str,
    ) -> serde_json::Value {
        self.code_tokens_with(browser, client, username, scope, &|page: &str| {
            panic!("unexpected second-factor step: {page}")
        })
        .await
    }

    /// [`Self::code_tokens`] answering a second-factor step with `second`.
    pub async fn code_tokens_with(
        &self,
        browser: &Browser,
        client: &RegisteredApp,
        username: &str,
        scope: &str,
        second: &dyn Fn(&str) -> (String, String),
    ) -> serde_json::Value {
        let (verifier, challenge) = pkce();
        let url = self.authorize_url(
            client,
            &[
                ("response_type", "code"),
                ("redirect_uri", "https://client.example.com/cb"),
                ("scope", scope),
                ("state", "s1"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let callback = self.sign_in_with(browser, &url, username, second).await;
        let code = query_param(&callback, "code").unwrap_or_else(|| panic!("no code in {callback}"));
        let response = self
            .post_form(
                "/token",
                Some(client),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", "https://client.example.com/cb"),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}
