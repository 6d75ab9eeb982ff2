//! The pages in English and Russian: the language each preference picks (`ui_locales`, the
//! switch's cookie, `Accept-Language`, `DEFAULT_LOCALE`), and every page driven in a real
//! headless browser (Debian's chromium through playwright-core, tests/upstream/browser.mjs) with
//! axe-core checking accessibility and the keyboard alone signing in.

use propusk::clock::Clock as _;
use propusk::i18n::Lang;
use serde_json::{Value, json};

use crate::support::*;

fn texts(lang: Lang) -> Value {
    let entries = lang.texts().entries();
    Value::Object(entries.into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect())
}

async fn heading(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> String {
    let mut request = app.client.get(app.url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let page = request.send().await.unwrap().text().await.unwrap();
    let start = page.find("<h1>").expect("a heading") + 4;
    let end = page[start..].find("</h1>").unwrap() + start;
    let lang = page
        .split("<html lang=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    format!("{lang}:{}", &page[start..end])
}

/// `ui_locales`, then the switch's cookie, then `Accept-Language`, then `DEFAULT_LOCALE`.
#[tokio::test]
async fn each_preference_picks_the_language_in_its_order() {
    let app = TestApp::spawn_with(Backend::Embedded, |c| c.default_locale = Lang::Ru).await;
    let (en, ru) = (Lang::En.texts(), Lang::Ru.texts());
    assert_eq!(
        heading(&app, "/login/reset", &[]).await,
        format!("ru:{}", ru.reset_title)
    );
    let accept = [("accept-language", "en-GB,en;q=0.9,ru;q=0.5")];
    assert_eq!(
        heading(&app, "/login/reset", &accept).await,
        format!("en:{}", en.reset_title)
    );
    let cookie = [("accept-language", "en"), ("cookie", "propusk_lang=ru")];
    assert_eq!(
        heading(&app, "/login/reset", &cookie).await,
        format!("ru:{}", ru.reset_title)
    );
    assert_eq!(
        heading(&app, "/login/reset?ui_locales=de%20en", &cookie).await,
        format!("en:{}", en.reset_title)
    );

    // The switch sets the cookie and goes back, only to a path of this server.
    let browser = Browser::default();
    let r = browser.get(&app.url("/lang/en?next=%2Flogin%2Freset")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login/reset");
    let set = r.headers()["set-cookie"].to_str().unwrap();
    assert!(set.starts_with("propusk_lang=en;") && set.contains("HttpOnly"), "{set}");
    for evil in [
        "%2F%2Fevil.example%2F",
        "https%3A%2F%2Fevil.example%2F",
        "%2F%5Cevil.example",
    ] {
        let r = browser.get(&app.url(&format!("/lang/ru?next={evil}"))).await;
        assert_eq!(r.headers()["location"], "/login", "{evil}");
    }
    assert_eq!(browser.get(&app.url("/lang/de")).await.status(), 404);
    app.stop().await;
}

/// An application's `ui_locales` carries through its sign-in (login page, errors), and a click
/// on the switch during the sign-in replaces it for the rest of that sign-in.
#[tokio::test]
async fn ui_locales_carries_through_a_sign_in_until_the_user_switches() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("olga", "operator", None).await;
    let client = app.web_app(false).await;
    let (en, ru) = (Lang::En.texts(), Lang::Ru.texts());
    let (_, challenge) = pkce();
    let url = app.authorize_url(
        &client,
        &[
            ("response_type", "code"),
            ("redirect_uri", "https://client.example.com/cb"),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("ui_locales", "ru-RU en"),
        ],
    );
    let browser = Browser::default();
    let login = location(&browser.get(&url).await, &app.base);
    let page = browser.get(&login).await.text().await.unwrap();
    assert!(page.contains(&format!("<h1>{}</h1>", ru.sign_in_title)), "{page}");
    let req = query_param(&login, "req").unwrap();
    let wrong = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("req", &req),
                ("login", "olga"),
                ("password", "wrong password"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(wrong.contains(ru.invalid_credentials), "{wrong}");
    // The switch's link comes back to this request's sign-in, now in English, and the choice
    // holds for the rest of the sign-in.
    let switch = wrong
        .split("<a href=\"")
        .find_map(|rest| rest.split_once("\" lang=\"en\"").map(|(href, _)| href.to_owned()))
        .expect("a link to English");
    let back = location(&browser.get(&app.url(&switch)).await, &app.base);
    assert_eq!(query_param(&back, "req").as_deref(), Some(req.as_str()), "{back}");
    let page = browser.get(&back).await.text().await.unwrap();
    assert!(page.contains(&format!("<h1>{}</h1>", en.sign_in_title)), "{page}");
    let again = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("req", &req),
                ("login", "olga"),
                ("password", "wrong again"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(again.contains(en.invalid_credentials), "{again}");
    app.stop().await;
}

async fn in_browser(lang: Lang) {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("irina", "operator", None).await;
    let client = app.web_app(false).await;
    let (_, challenge) = pkce();
    let authorize = app.authorize_url(
        &client,
        &[
            ("response_type", "code"),
            ("redirect_uri", "https://client.example.com/cb"),
            ("scope", "openid profile"),
            ("state", "s1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
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
    let texts = json!({"en": texts(Lang::En), "ru": texts(Lang::Ru)}).to_string();
    let now = app.clock.now().unix_timestamp().to_string();
    let base = app.base.clone();
    let shots = std::env::var("PROPUSK_SCREENSHOTS").ok();
    let out = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new("node");
        command
            .arg("browser.mjs")
            .current_dir(&dir)
            .env("BASE", base)
            .env("AUTHORIZE", authorize)
            .env("USERNAME", "irina")
            .env("PASSWORD", PASSWORD)
            .env("LANG_UNDER_TEST", lang.as_str())
            .env("NOW", now)
            .env("TEXTS", texts)
            .env("CHROMIUM", chromium);
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
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["pages"].as_array().unwrap().len() >= 10, "{summary}");
    app.stop().await;
}

/// The sign-in by keyboard, the switch, consent, an authenticator enrolment and sign-out in a
/// real browser, in English, with no serious or critical accessibility violation on any page.
#[tokio::test]
async fn the_pages_work_in_a_real_browser_in_english() {
    in_browser(Lang::En).await;
}

/// The same in Russian.
#[tokio::test]
async fn the_pages_work_in_a_real_browser_in_russian() {
    in_browser(Lang::Ru).await;
}
