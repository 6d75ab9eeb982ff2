//! The admin console (`/console`): signed in through Propusk's own authorization code flow as
//! the first-party application registered at start; the same permission checks, audit records
//! and state-now checks as `/admin/v1`; CSRF on every form; destructive actions ask first. The
//! pages in a real browser are driven in `console_in_browser` (tests/upstream/console.mjs).

use propusk::i18n::Lang;

use crate::support::*;

/// Signs `username` in to the console in `browser`: the console sends it to `/authorize`, the
/// sign-in page, and back to `/console/callback`; returns the console's home page.
pub async fn console_sign_in(app: &TestApp, browser: &Browser, username: &str) -> String {
    let r = browser.get(&app.url("/console/users")).await;
    assert_eq!(r.status(), 303);
    let login = location(&r, &app.base);
    assert!(login.starts_with(&app.url("/console/login?next=")), "{login}");
    let authorize = location(&browser.get(&login).await, &app.base);
    assert!(authorize.contains("client_id=propusk-console"), "{authorize}");
    assert!(authorize.contains("code_challenge_method=S256"), "{authorize}");
    // Not signed in yet: the sign-in page, then back through /authorize.
    let to_login = browser.get(&authorize).await;
    assert_eq!(to_login.status(), 303);
    let page_url = location(&to_login, &app.base);
    let page = browser.get(&page_url).await.text().await.unwrap();
    let r = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("req", &hidden(&page, "req")),
                ("login", username),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let mut next = location(&r, &app.base);
    for _ in 0..5 {
        if next.starts_with(&app.url("/console/users")) {
            break;
        }
        let r = browser.get(&next).await;
        assert_eq!(r.status(), 303, "{next}: {:?}", r.text().await);
        next = location(&r, &app.base);
    }
    assert_eq!(next, app.url("/console/users"));
    browser.get(&app.url("/console")).await.text().await.unwrap()
}

/// The start registers the console's application in the background; opening the console's
/// sign-in registers it at once if it is not yet.
async fn console_registered(app: &TestApp) {
    let r = Browser::default().get(&app.url("/console/login")).await;
    assert_eq!(r.status(), 303);
}

async fn page(browser: &Browser, url: &str) -> (u16, String) {
    let r = browser.get(url).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn an_account_admin_manages_only_their_account_with_confirmations_csrf_and_audit() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme Logistics").await;
    let globex = app.account("Globex").await;
    let (acme_id, globex_id) = (acme.id.to_string(), globex.id.to_string());
    app.user("alla", "client_admin", Some(&acme_id)).await;
    let boris = app.user("boris", "client_user", Some(&globex_id)).await;
    let en = Lang::En.texts();

    let browser = Browser::default();
    let home = console_sign_in(&app, &browser, "alla").await;
    assert!(home.contains("Acme Logistics"), "{home}");
    assert!(
        !home.contains("href=\"/console/applications\""),
        "no applications for an account admin"
    );

    // Create a user in her own account: the form's CSRF token is required.
    let (status, form) = page(&browser, &app.url("/console/users/new")).await;
    assert_eq!(status, 200);
    assert!(!form.contains("value=\"admin\""), "staff roles are not offered: {form}");
    let csrf = hidden(&form, "csrf");
    let fields = [
        ("username", "carl"),
        ("password", "a long enough password"),
        ("role", "client_user"),
        ("email", "carl@acme.example"),
    ];
    let forged = browser.post(&app.url("/console/users"), &fields).await;
    assert_eq!(forged.status(), 403);
    let mut with_csrf = fields.to_vec();
    with_csrf.push(("csrf", &csrf));
    let r = browser.post(&app.url("/console/users"), &with_csrf).await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let carl_page = location(&r, &app.base);
    assert!(carl_page.ends_with("?done=created"), "{carl_page}");
    let carl = app.state.stores.db.find_user_by_login("carl").await.unwrap().unwrap();
    assert_eq!(carl.client_id, Some(acme.id), "created in her account");

    // The list shows her account's users only, and searches.
    let (_, list) = page(&browser, &app.url("/console/users")).await;
    assert!(list.contains(">carl<") && list.contains(">alla<"), "{list}");
    assert!(!list.contains("boris"), "{list}");
    let (_, found) = page(&browser, &app.url("/console/users?q=car")).await;
    assert!(found.contains(">carl<") && !found.contains(">alla<"), "{found}");

    // Blocking asks first; the question changes nothing.
    let carl_url = app.url(&format!("/console/users/{}", carl.id));
    let block = [("csrf", csrf.as_str()), ("action", "block")];
    let ask = browser.post(&carl_url, &block).await;
    assert_eq!(ask.status(), 200);
    let ask = ask.text().await.unwrap();
    assert!(
        ask.contains(en.c_yes) && ask.contains("name=\"confirmed\" value=\"yes\""),
        "{ask}"
    );
    let still = app.state.stores.db.find_user(carl.id).await.unwrap().unwrap();
    assert_eq!(still.status.as_str(), "active");
    let r = browser
        .post(&carl_url, &[("csrf", &csrf), ("action", "block"), ("confirmed", "yes")])
        .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r, &app.base).ends_with("?done=blocked"));
    let blocked = app.state.stores.db.find_user(carl.id).await.unwrap().unwrap();
    assert_eq!(blocked.status.as_str(), "blocked");
    let audit = app.audit_of("user.block").await;
    let record = &audit.last().unwrap().record;
    assert_eq!(record.actor_id.as_deref(), Some(alla_id(&app).await.as_str()));
    assert_eq!(record.target_id.as_deref(), Some(carl.id.to_string().as_str()));
    let (_, shown) = page(&browser, &format!("{carl_url}?done=blocked")).await;
    assert!(shown.contains(en.c_done_blocked), "{shown}");

    // Another account's user, account, filter and audit: out of reach.
    let (status, _) = page(&browser, &app.url(&format!("/console/users/{boris}"))).await;
    assert_eq!(status, 404);
    let r = browser
        .post(
            &app.url(&format!("/console/users/{boris}")),
            &[("csrf", &csrf), ("action", "block"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let (status, _) = page(&browser, &app.url(&format!("/console/users?client_id={globex_id}"))).await;
    assert_eq!(status, 403);
    let (status, _) = page(&browser, &app.url(&format!("/console/accounts/{globex_id}"))).await;
    assert_eq!(status, 404);
    let (status, _) = page(&browser, &app.url(&format!("/console/audit?client_id={globex_id}"))).await;
    assert_eq!(status, 403);
    let (status, _) = page(&browser, &app.url("/console/applications")).await;
    assert_eq!(status, 403);
    // Her own audit trail has her change.
    let (status, trail) = page(&browser, &app.url("/console/audit?action=user.block")).await;
    assert_eq!(status, 200);
    assert!(trail.contains(&carl.id.to_string()), "{trail}");

    // Raising a user to a staff role is refused, with the service's reason, and audited.
    let r = browser
        .post(&carl_url, &[("csrf", &csrf), ("action", "role"), ("role", "admin")])
        .await;
    assert_eq!(r.status(), 403, "{:?}", r.text().await);

    // Her state now: once blocked by staff, her console stops at the next page.
    app.user("sam", "admin", None).await;
    let first_party = app.web_app(true).await;
    let staff = app.access_token(&first_party, "sam").await;
    app.block(&staff, &alla_id(&app).await).await;
    let r = browser.get(&app.url("/console/users")).await;
    assert_eq!(r.status(), 303);
    assert!(location(&r, &app.base).starts_with(&app.url("/console/login")));
    app.stop().await;
}

async fn alla_id(app: &TestApp) -> String {
    let user = app.state.stores.db.find_user_by_login("alla").await.unwrap().unwrap();
    user.id.to_string()
}

#[tokio::test]
async fn staff_create_an_account_and_an_application_whose_secret_is_shown_once() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("sam", "admin", None).await;
    let browser = Browser::default();
    console_sign_in(&app, &browser, "sam").await;
    let (status, accounts) = page(&browser, &app.url("/console/accounts")).await;
    assert_eq!(status, 200);
    let csrf = hidden(&accounts, "csrf");
    let r = browser
        .post(
            &app.url("/console/accounts"),
            &[("csrf", &csrf), ("name", "Initech"), ("slug", "initech")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let account_url = location(&r, &app.base);
    let (_, account) = page(&browser, &account_url).await;
    assert!(account.contains("initech"), "{account}");
    let account_url = account_url.split('?').next().unwrap().to_owned();
    // The second-factor policy.
    let r = browser
        .post(
            &account_url,
            &[
                ("csrf", &csrf),
                ("action", "update"),
                ("name", "Initech"),
                ("mfa_required", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let stored = app
        .state
        .stores
        .db
        .find_account(propusk::model::account::AccountId::parse(account_url.rsplit('/').next().unwrap()).unwrap());
    assert!(stored.await.unwrap().unwrap().mfa_required);

    // A service application: its secret is on the answer page once and works at /token.
    let r = browser
        .post(
            &app.url("/console/applications"),
            &[
                ("csrf", &csrf),
                ("name", "Parcel sorter"),
                ("client_credentials", "on"),
                ("service_role", "operator"),
                ("scopes", "parcels:read"),
            ],
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.headers());
    assert_eq!(r.headers()["cache-control"], "no-store");
    let shown = r.text().await.unwrap();
    let code = |label: &str| -> String {
        let at = shown.find(&format!("<dt>{label}</dt><dd><code")).unwrap();
        let rest = &shown[at..];
        let start = rest.find('>').unwrap();
        let rest = &rest[start + 1..];
        let rest = &rest[rest.find("<code").unwrap()..];
        let rest = &rest[rest.find('>').unwrap() + 1..];
        rest[..rest.find('<').unwrap()].to_owned()
    };
    let (client_id, secret) = (code("client_id"), code("client_secret"));
    assert_eq!(secret.len(), 43, "{shown}");
    let r = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "parcels:read")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The application's page never shows it again; its grants change there.
    let app_url = app.url(&format!("/console/applications/{client_id}"));
    let (_, app_page) = page(&browser, &app_url).await;
    assert!(!app_page.contains(&secret));
    assert!(
        app_page.contains("id=\"g-cc\" name=\"client_credentials\" type=\"checkbox\" checked"),
        "{app_page}"
    );
    let update = [
        ("csrf", csrf.as_str()),
        ("action", "update"),
        ("name", "Parcel sorter"),
        ("scopes", "parcels:read"),
        ("client_credentials", "on"),
        ("password", "on"),
        ("enabled", "on"),
    ];
    let r = browser.post(&app_url, &update).await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let stored = app
        .state
        .stores
        .db
        .find_application(&propusk::model::application::ClientId::parse(&client_id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.grant_types.len(), 2);
    let audit = app.audit_of("application.create").await;
    assert!(!audit.is_empty());

    // A custom role, then deleting it (asked first).
    let role = [
        ("csrf", csrf.as_str()),
        ("action", "create"),
        ("name", "dispatcher"),
        ("description", "Dispatches parcels"),
        ("scope", "account"),
        ("permissions", "parcels:read parcels:update"),
    ];
    assert_eq!(browser.post(&app.url("/console/roles"), &role).await.status(), 303);
    let (_, roles) = page(&browser, &app.url("/console/roles")).await;
    assert!(roles.contains("parcels:read parcels:update"), "{roles}");
    let delete = [("csrf", csrf.as_str()), ("action", "delete"), ("name", "dispatcher")];
    assert_eq!(browser.post(&app.url("/console/roles"), &delete).await.status(), 200);
    let mut confirmed = delete.to_vec();
    confirmed.push(("confirmed", "yes"));
    assert_eq!(browser.post(&app.url("/console/roles"), &confirmed).await.status(), 303);
    let (_, roles) = page(&browser, &app.url("/console/roles")).await;
    assert!(!roles.contains("dispatcher"), "{roles}");

    // The console's own application was registered at start, first-party and public.
    let console = app
        .state
        .stores
        .db
        .find_application(&propusk::model::application::ClientId::parse("propusk-console").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(console.first_party && console.secret_hash.is_none());

    // Signing out forgets the tokens and goes on to the provider's logout.
    let r = browser.post(&app.url("/console/logout"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303);
    assert!(location(&r, &app.base).starts_with(&app.url("/logout?client_id=propusk-console")));
    let r = browser.get(&app.url("/console")).await;
    assert_eq!(r.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn a_sign_in_must_come_back_to_the_browser_that_began_it() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("sam", "admin", None).await;
    let attacker = Browser::default();
    let login = location(&attacker.get(&app.url("/console/login")).await, &app.base);
    let state = query_param(&login, "state").unwrap();
    // The victim's browser (another binding cookie) signs in and the attacker's state is
    // replayed at its callback: refused.
    let victim = Browser::default();
    victim.log_in(&app, "sam", PASSWORD).await;
    let r = victim
        .get(&app.url(&format!("/console/callback?code=x&state={state}")))
        .await;
    assert_eq!(r.status(), 400);
    assert!(!victim.has_cookie("propusk_console"));
    // Unknown states and odd input: a page, never a panic.
    for q in ["", "?state=nope&code=x", "?error=access_denied", "?code=%00&state=%ff"] {
        let r = victim.get(&app.url(&format!("/console/callback{q}"))).await;
        assert!(r.status().is_client_error() || r.status() == 200, "{q}: {}", r.status());
    }
    // `next` stays inside the console.
    let r = victim
        .get(&app.url("/console/login?next=https%3A%2F%2Fevil.example"))
        .await;
    assert_eq!(r.status(), 303);
    app.stop().await;
}

async fn console_in_browser(lang: Lang) {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let acme = app.account("Acme Logistics").await;
    let globex = app.account("Globex").await;
    app.user("alla", "client_admin", Some(&acme.id.to_string())).await;
    app.user("sam", "admin", None).await;
    let foreign = app.user("boris", "client_user", Some(&globex.id.to_string())).await;
    let vars = vec![
        ("PASSWORD", PASSWORD.to_owned()),
        ("ACCOUNT_ADMIN", "alla".to_owned()),
        ("ACCOUNT_NAME", acme.name.clone()),
        ("STAFF", "sam".to_owned()),
        ("FOREIGN_USER", foreign),
    ];
    let summary = in_chromium(&app, "console.mjs", lang, vars).await;
    assert!(summary["pages"].as_array().unwrap().len() >= 15, "{summary}");
    app.stop().await;
}

/// A client admin signs in, creates and blocks a user, cannot see another account's; staff
/// create an account and an application (its secret shown once); in a real browser, in
/// English, with no serious or critical accessibility violation on any page.
#[tokio::test]
async fn the_console_works_in_a_real_browser_in_english() {
    console_in_browser(Lang::En).await;
}

/// The same in Russian.
#[tokio::test]
async fn the_console_works_in_a_real_browser_in_russian() {
    console_in_browser(Lang::Ru).await;
}

/// The console's application is no client of `/token`: a code issued to it through a link
/// someone else made (their PKCE challenge, a state no console sign-in waits for) is used up at
/// the callback and refused at `/token` anyway.
#[tokio::test]
async fn a_code_for_the_console_is_worth_nothing_outside_it() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("sam", "admin", None).await;
    console_registered(&app).await;
    let victim = Browser::default();
    victim.log_in(&app, "sam", PASSWORD).await;
    let (verifier, challenge) = pkce();
    let link = app.url(&format!(
        "/authorize?response_type=code&client_id=propusk-console&redirect_uri={}&scope=openid&state=x&code_challenge={challenge}&code_challenge_method=S256",
        percent_encoding::utf8_percent_encode(&app.url("/console/callback"), percent_encoding::NON_ALPHANUMERIC)
    ));
    let r = victim.get(&link).await;
    assert_eq!(r.status(), 303);
    let landed = location(&r, &app.base);
    assert!(landed.starts_with(&app.url("/console/callback")), "{landed}");
    let code = query_param(&landed, "code").unwrap();
    assert_eq!(victim.get(&landed).await.status(), 400);
    for (code, verifier) in [(code.as_str(), verifier.as_str())] {
        let r = app
            .client
            .post(app.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", "propusk-console"),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", &app.url("/console/callback")),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    app.stop().await;
}

/// The console's application keeps its settings: staff may turn it off (and the console with
/// it), never change what it may do, nor delete it; a customer's admin learns nothing of other
/// customers from the names it tries.
#[tokio::test]
async fn the_consoles_own_application_only_turns_on_and_off() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.user("sam", "admin", None).await;
    console_registered(&app).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, "sam").await;
    let path = "/admin/v1/applications/propusk-console";
    let (status, _) = app
        .call(
            &token,
            reqwest::Method::PATCH,
            path,
            Some(serde_json::json!({"redirect_uris": ["https://evil.example/cb"]})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app.call(&token, reqwest::Method::DELETE, path, None).await;
    assert_eq!(status, 409);
    // Staff turn it off from the console itself (the page's other fields are left alone).
    let staff = Browser::default();
    let home = console_sign_in(&app, &staff, "sam").await;
    let csrf = hidden(&home, "csrf");
    let off = [("csrf", csrf.as_str()), ("action", "update"), ("name", "Renamed")];
    let r = staff
        .post(&app.url("/console/applications/propusk-console"), &off)
        .await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let id = propusk::model::application::ClientId::parse("propusk-console").unwrap();
    let stored = app.state.stores.db.find_application(&id).await.unwrap().unwrap();
    assert!(!stored.enabled && stored.name == "Propusk console");
    let browser = Browser::default();
    assert_eq!(browser.get(&app.url("/console/login")).await.status(), 503);

    let acme = app.account("Acme").await;
    app.account("Globex").await;
    app.user("ann", "client_admin", Some(acme.slug.as_str())).await;
    let ann = app.access_token(&rp, "ann").await;
    for role in ["client_user", "no-such-role"] {
        let mut answers = Vec::new();
        for slug in ["globex", "no-such-company"] {
            let body = serde_json::json!({"username": "x-user", "password": "a long enough password", "role": role, "client_id": slug});
            answers.push(
                app.call(&ann, reqwest::Method::POST, "/admin/v1/users", Some(body))
                    .await,
            );
        }
        assert_eq!(
            answers[0], answers[1],
            "{role}: an existing and a missing account answer alike"
        );
        assert_eq!(answers[0].0, 403);
    }
    app.stop().await;
}
