//! The pages in English and Russian: the language each preference picks (`ui_locales`, the
//! switch's cookie, `Accept-Language`, `DEFAULT_LOCALE`), and every page driven in a real
//! headless browser (Debian's chromium through playwright-core, tests/upstream/browser.mjs) with
//! axe-core checking accessibility and the keyboard alone signing in.

use propusk::clock::Clock as _;
use propusk::i18n::Lang;

use crate::support::*;

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
    assert!(set.starts_with("propusk_lang=en.") && set.contains("HttpOnly"), "{set}");
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
    let vars = vec![
        ("AUTHORIZE", authorize),
        ("USERNAME", "irina".to_owned()),
        ("PASSWORD", PASSWORD.to_owned()),
        ("NOW", app.clock.now().unix_timestamp().to_string()),
    ];
    let summary = in_chromium(&app, "browser.mjs", lang, vars).await;
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

/// Every value of the form field `name` in a page (one per form).
fn all_hidden(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// `/account`: the profile (a new email waits for the code mailed to it, and needs fresh proof
/// once the sign-in is older than ten minutes), the language of mails, the signed-in browsers
/// with sign-out, the security events, and the password (every session ends).
#[tokio::test]
async fn the_account_page_changes_profile_email_sessions_and_password() {
    let app = TestApp::spawn_with(Backend::PostgresRedis, with_mail).await;
    let id = app.user("vera", "operator", None).await;
    let en = Lang::En.texts();
    let browser = Browser::default();
    assert_eq!(browser.get(&app.url("/account")).await.status(), 401);
    assert_eq!(browser.log_in(&app, "vera", PASSWORD).await.status(), 200);
    let page = browser.get(&app.url("/account")).await.text().await.unwrap();
    assert!(page.contains("<strong>vera</strong>"), "{page}");
    assert!(
        page.contains(&format!("<td>{}</td>", en.ev_login)),
        "the sign-in is listed: {page}"
    );
    let post = |fields: Vec<(&'static str, String)>| {
        let browser = &browser;
        let url = app.url("/account");
        async move {
            let page = browser.get(&url).await.text().await.unwrap();
            let mut pairs: Vec<(&str, String)> = vec![("csrf", hidden(&page, "csrf"))];
            pairs.extend(fields);
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = browser.post(&url, &pairs).await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let forged = browser
        .post(&app.url("/account"), &[("csrf", "forged"), ("action", "profile")])
        .await;
    assert_eq!(forged.status(), 403);

    // A new email, right after signing in: it waits for the code mailed to it.
    let (status, page) = post(vec![
        ("action", "profile".into()),
        ("name", "Vera Petrova".into()),
        ("email", "vera.new@example.com".into()),
        ("locale", "".into()),
    ])
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(en.profile_saved), "{page}");
    assert!(page.contains("vera.new@example.com is waiting for its code"), "{page}");
    let mail = mails_about("vera.new@example.com", "verify", 1).await;
    let code = six_digits(&mail[0]);
    let (status, page) = post(vec![
        ("action", "confirm_code".into()),
        ("channel", "email".into()),
        ("code", "000000".into()),
    ])
    .await;
    assert_eq!(status, 400, "{page}");
    let (status, page) = post(vec![
        ("action", "confirm_code".into()),
        ("channel", "email".into()),
        ("code", code),
    ])
    .await;
    assert_eq!(status, 200, "{page}");
    let user = app
        .state
        .stores
        .db
        .find_user(propusk::model::user::UserId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email.as_ref().map(|e| e.as_str()), Some("vera.new@example.com"));
    assert!(user.email_verified);
    assert_eq!(user.name.as_deref(), Some("Vera Petrova"));

    // The language of mails and SMS.
    let (status, _) = post(vec![("action", "profile".into()), ("locale", "ru".into())]).await;
    assert_eq!(status, 200);
    let user = app.state.stores.db.find_user(user.id).await.unwrap().unwrap();
    assert_eq!(user.profile.language(), Some("ru"));

    // Eleven minutes on, another email needs the password.
    app.clock.advance(time::Duration::minutes(11));
    let change = |proof: &str| {
        vec![
            ("action", "profile".into()),
            ("email", "vera.third@example.com".into()),
            ("current_password", proof.to_owned()),
        ]
    };
    let (status, page) = post(change("")).await;
    assert_eq!(status, 401, "{page}");
    assert!(page.contains(en.step_up_needed), "{page}");
    let (status, page) = post(change(PASSWORD)).await;
    assert_eq!(status, 200, "{page}");

    // Another browser's session, listed and signed out from here.
    let other = Browser::default();
    assert_eq!(other.log_in(&app, "vera", PASSWORD).await.status(), 200);
    let page = browser.get(&app.url("/account")).await.text().await.unwrap();
    let sids = all_hidden(&page, "sid");
    assert_eq!(sids.len(), 2, "{page}");
    assert_eq!(page.matches(en.this_browser).count(), 1);
    let mine = browser.get(&app.url("/account")).await.text().await.unwrap();
    let current_marker = format!("{}</span>", en.this_browser);
    let theirs = sids
        .iter()
        .find(|sid| {
            let at = mine.find(&format!("value=\"{sid}\"")).unwrap();
            !mine[at..].split("</li>").next().unwrap().contains(&current_marker)
        })
        .unwrap()
        .clone();
    let (status, page) = post(vec![("action", "end_session".into()), ("sid", theirs)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(en.session_ended), "{page}");
    assert_eq!(other.get(&app.url("/account")).await.status(), 401);

    // The password: the current one is required, a weak one is refused, then every session ends.
    let password = |current: &str, new: &str| {
        vec![
            ("action", "password".into()),
            ("current_password", current.to_owned()),
            ("new_password", new.to_owned()),
        ]
    };
    let (status, _) = post(password("wrong password", "a much better passphrase")).await;
    assert_eq!(status, 401);
    let (status, page) = post(password(PASSWORD, "short")).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("at least 10 characters"), "{page}");
    let (status, page) = post(password(PASSWORD, "a much better passphrase")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(en.password_changed), "{page}");
    assert_eq!(browser.get(&app.url("/account")).await.status(), 401);
    assert_eq!(
        Browser::default()
            .log_in(&app, "vera", "a much better passphrase")
            .await
            .status(),
        200
    );
    app.stop().await;
}
