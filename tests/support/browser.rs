//! A browser that keeps cookies and follows nothing by itself, and what tests read off pages,
//! redirects and tokens.

use super::*;

/// A browser: follows nothing by itself, keeps cookies.
pub struct Browser {
    client: reqwest::Client,
    jar: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl Default for Browser {
    fn default() -> Self {
        propusk::crypto::install_tls_provider();
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: Default::default(),
        }
    }
}

impl Browser {
    /// A browser whose requests arrive through a proxy that says they come from `ip`.
    pub fn forwarded_for(ip: &str) -> Self {
        propusk::crypto::install_tls_provider();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", ip.parse().unwrap());
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
            jar: Default::default(),
        }
    }

    /// Loads the login page and submits it; the response to the POST.
    pub async fn log_in(&self, app: &TestApp, login: &str, password: &str) -> reqwest::Response {
        let page = self.get(&app.url("/login")).await.text().await.unwrap();
        self.post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("login", login),
                ("password", password),
            ],
        )
        .await
    }

    fn cookie_header(&self) -> String {
        self.jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&self, response: &reqwest::Response) {
        let mut jar = self.jar.lock().unwrap();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.jar.lock().unwrap().contains_key(name)
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        let response = self
            .client
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .client
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }
}

/// The `Location` of a redirect, made absolute against `base`.
pub fn location(response: &reqwest::Response, base: &str) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    let to = response.headers()["location"].to_str().unwrap();
    if to.starts_with('/') {
        format!("{base}{to}")
    } else {
        to.to_owned()
    }
}

/// The value of the hidden form field `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The claims of a JWT (unverified: the tests check what was issued).
pub fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// The current TOTP code of a base32 seed at `at` (what an authenticator app shows).
pub fn totp_code(base32: &str, at: time::OffsetDateTime) -> String {
    let secret = totp_rs::Secret::try_from_base32(base32).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    totp.generate(u64::try_from(at.unix_timestamp()).unwrap()).to_string()
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Runs `script` (in tests/upstream) in Debian's chromium through playwright-core, in `lang`,
/// with the pages' texts of both languages (`TEXTS`), the server's address (`BASE`) and `vars`;
/// screenshots go to `PROPUSK_SCREENSHOTS` when set. Fails the test, with the script's reason,
/// unless it succeeds; returns the summary it prints.
pub async fn in_chromium(
    app: &TestApp,
    script: &str,
    lang: propusk::i18n::Lang,
    vars: Vec<(&'static str, String)>,
) -> serde_json::Value {
    use propusk::i18n::Lang;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/upstream");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run the tests with scripts/test"
    );
    let chromium = std::env::var("PROPUSK_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "chromium is not installed: run the tests with scripts/test"
    );
    let texts = |lang: Lang| -> serde_json::Value {
        let entries = lang.texts().entries();
        serde_json::Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), serde_json::json!(v)))
                .collect(),
        )
    };
    let texts = serde_json::json!({"en": texts(Lang::En), "ru": texts(Lang::Ru)}).to_string();
    let base = app.base.clone();
    let script = script.to_owned();
    let shots = std::env::var("PROPUSK_SCREENSHOTS").ok();
    let out = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new("node");
        command
            .arg(script)
            .current_dir(&dir)
            .env("BASE", base)
            .env("LANG_UNDER_TEST", lang.as_str())
            .env("TEXTS", texts)
            .env("CHROMIUM", chromium);
        for (k, v) in vars {
            command.env(k, v);
        }
        if let Some(shots) = shots {
            command.env("SHOTS", shots);
        }
        command.output().expect("node runs")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the browser run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
