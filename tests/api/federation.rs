//! Corporate SSO against a real, independent OpenID provider: node oidc-provider, started by
//! scripts/test on loopback ports (tests/upstream/server.mjs) with two hostile issuers in front
//! of it. Each test registers its own client there (dynamic registration) with its own
//! callback, and signs users in through the upstream's interaction endpoints.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Backend, Browser, RegisteredApp, TestApp, claims_of, hidden, location, pkce, query_param};

/// The `n`th upstream issuer scripts/test started (0 and 1 for sign-ins, 2 for key rotation).
fn upstream(n: usize) -> String {
    let all = std::env::var("PROPUSK_TEST_UPSTREAMS")
        .unwrap_or_else(|_| panic!("PROPUSK_TEST_UPSTREAMS is not set: run the tests with scripts/test"));
    all.split(',').nth(n).unwrap().to_owned()
}

/// A hostile issuer in front of upstream 0: `FORGED` (ID tokens re-labelled, signature broken)
/// or `MISLABELLED` (ID tokens of another issuer).
fn hostile(kind: &str) -> String {
    let var = format!("PROPUSK_TEST_UPSTREAM_{kind}");
    std::env::var(&var).unwrap_or_else(|_| panic!("{var} is not set: run the tests with scripts/test"))
}

struct Corp {
    app: TestApp,
    staff: String,
    web: RegisteredApp,
}

impl Corp {
    async fn start(backend: Backend) -> Self {
        let app = TestApp::spawn(backend).await;
        let admin = app.service_app("admin", false).await;
        let staff = app.client_token(&admin).await;
        let web = app.web_app(true).await;
        Self { app, staff, web }
    }

    /// Registers Propusk's callback at `registrar` (dynamic registration) and configures the
    /// account's identity provider at `issuer` with that client; `extra` overrides the body.
    async fn idp(&self, account: &str, issuer: &str, registrar: &str, extra: Value) -> String {
        let registration: Value = reqwest::Client::new()
            .post(format!("{registrar}/reg"))
            .json(&json!({
                "redirect_uris": [self.app.url("/federation/callback")],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut body = json!({
            "issuer": issuer,
            "client_id": registration["client_id"],
            "client_secret": registration["client_secret"],
            "scopes": ["openid", "email", "profile", "groups"],
            "jit": true,
            "default_role": "client_user",
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let path = format!("/admin/v1/clients/{account}/identity-providers");
        let (status, idp) = self.app.call(&self.staff, Method::POST, &path, Some(body)).await;
        assert_eq!(status, 201, "{idp}");
        idp["id"].as_str().unwrap().to_owned()
    }

    async fn patch_idp(&self, account: &str, idp: &str, body: Value) {
        let path = format!("/admin/v1/clients/{account}/identity-providers/{idp}");
        let (status, answer) = self.app.call(&self.staff, Method::PATCH, &path, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
    }

    /// An authorization request of the web app with PKCE (and `extra` parameters); the URL and
    /// the verifier.
    fn authorize(&self, extra: &[(&str, &str)]) -> (String, String) {
        let (verifier, challenge) = pkce();
        let mut params = vec![
            ("response_type", "code"),
            ("redirect_uri", "https://client.example.com/cb"),
            ("scope", "openid profile email"),
            ("state", "s1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        params.extend_from_slice(extra);
        (self.app.authorize_url(&self.web, &params), verifier)
    }

    /// "Sign in with your company" on the login page; the response.
    async fn company(&self, browser: &Browser, company: &str) -> reqwest::Response {
        let page = browser.get(&self.app.url("/login")).await.text().await.unwrap();
        browser
            .post(
                &self.app.url("/login/sso"),
                &[("csrf", &hidden(&page, "csrf")), ("company", company)],
            )
            .await
    }

    /// A whole company sign-in in `browser`: "Sign in with your company" with `email`, `sub`
    /// signing in upstream with `claims`, and the answer to the callback.
    async fn company_sign_in(&self, browser: &Browser, email: &str, sub: &str, claims: Value) -> reqwest::Response {
        let authorization = location(&self.company(browser, email).await, &self.app.base);
        let callback = upstream_sign_in(browser, &authorization, sub, claims, "pwd").await;
        browser.get(&callback).await
    }

    /// Redeems the code of the app's callback; the token response.
    async fn redeem(&self, back: &str, verifier: &str) -> Value {
        let code = query_param(back, "code").unwrap_or_else(|| panic!("no code in {back}"));
        let response = self
            .app
            .post_form(
                "/token",
                Some(&self.web),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", "https://client.example.com/cb"),
                    ("code_verifier", verifier),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn users_of(&self, account: &str) -> Vec<propusk::model::user::User> {
        let filter = propusk::store::UserFilter {
            account: Some(propusk::model::account::AccountId::parse(account).unwrap()),
            ..Default::default()
        };
        self.app.state.stores.db.list_users(&filter, 100).await.unwrap()
    }
}

/// Signs `sub` in at the upstream (from its authorization URL) with `claims` and `amr`; the URL
/// the upstream sends the browser back to.
async fn upstream_sign_in(browser: &Browser, authorization: &str, sub: &str, claims: Value, amr: &str) -> String {
    upstream_interaction(
        browser,
        authorization,
        "login",
        &[("sub", sub), ("claims", &claims.to_string()), ("amr", amr)],
    )
    .await
}

async fn upstream_interaction(browser: &Browser, authorization: &str, action: &str, form: &[(&str, &str)]) -> String {
    let origin = {
        let url = url::Url::parse(authorization).unwrap();
        format!("http://{}:{}", url.host_str().unwrap(), url.port().unwrap())
    };
    let interaction = location(&browser.get(authorization).await, &origin);
    assert!(interaction.contains("/interaction/"), "{interaction}");
    let response = browser.post(&format!("{interaction}/{action}"), form).await;
    if !response.status().is_redirection() {
        panic!(
            "the upstream answered {}: {}",
            response.status(),
            response.text().await.unwrap()
        );
    }
    let resume = location(&response, &origin);
    let response = browser.get(&resume).await;
    if !response.status().is_redirection() {
        panic!(
            "the upstream answered {}: {}",
            response.status(),
            response.text().await.unwrap()
        );
    }
    location(&response, &origin)
}

/// The reasons of the refused federated sign-ins in the audit trail, newest first.
async fn refusals(app: &TestApp) -> Vec<String> {
    app.audit_of("login")
        .await
        .iter()
        .filter(|l| l.record.details["via"] == "federation" && l.record.outcome == propusk::audit::Outcome::Failure)
        .map(|l| l.record.details["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn ann(groups: &[&str], name: &str) -> Value {
    json!({
        "email": "ann@acme.example",
        "email_verified": true,
        "preferred_username": "ann",
        "name": name,
        "groups": groups,
    })
}

/// Replaces (or removes, with `None`) one query parameter of `url`.
fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut pairs = parsed.query_pairs_mut();
        pairs.clear();
        for (k, v) in &kept {
            pairs.append_pair(k, v);
        }
        if let Some(v) = value {
            pairs.append_pair(name, v);
        }
    }
    parsed.to_string()
}

#[tokio::test]
async fn company_staff_sign_in_through_their_idp_and_are_provisioned_just_in_time() {
    let corp = &Corp::start(Backend::PostgresRedis).await;
    let app = &corp.app;
    let acme = app.account("Acme").await.id.to_string();
    let issuer = upstream(0);
    let rules = json!([{ "claim": "groups", "value": "propusk-admins", "role": "client_admin" }]);
    let idp = corp
        .idp(
            &acme,
            &issuer,
            &issuer,
            json!({ "domains": ["acme.example"], "role_rules": rules }),
        )
        .await;

    // The application sends the user to the login page, which offers company sign-in; the work
    // email typed there goes straight to the company's IdP (its password is not looked at).
    let browser = Browser::default();
    let (url, verifier) = corp.authorize(&[]);
    let login = location(&browser.get(&url).await, &app.base);
    let page = browser.get(&login).await.text().await.unwrap();
    assert!(page.contains("Sign in with your company"), "{page}");
    let response = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("req", &hidden(&page, "req")),
                ("login", "Ann@Acme.example"),
                ("password", ""),
            ],
        )
        .await;
    let authorization = location(&response, &app.base);
    assert!(authorization.starts_with(&format!("{issuer}/auth?")), "{authorization}");
    for param in ["state", "nonce", "code_challenge"] {
        assert!(
            query_param(&authorization, param).is_some_and(|v| v.len() >= 43),
            "{param}"
        );
    }
    assert_eq!(
        query_param(&authorization, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&authorization, "login_hint").as_deref(),
        Some("Ann@Acme.example")
    );
    assert_eq!(
        query_param(&authorization, "redirect_uri").as_deref(),
        Some(app.url("/federation/callback").as_str())
    );

    let callback = upstream_sign_in(
        &browser,
        &authorization,
        "ann-0001",
        ann(&["staff", "propusk-admins"], "Ann Lee"),
        "pwd",
    )
    .await;
    assert!(callback.starts_with(&app.url("/federation/callback?")), "{callback}");
    assert_eq!(query_param(&callback, "iss").as_deref(), Some(issuer.as_str()));
    let back = location(&browser.get(&callback).await, &app.base);
    assert!(back.starts_with("https://client.example.com/cb?"), "{back}");
    let tokens = corp.redeem(&back, &verifier).await;
    let first_access = tokens["access_token"].as_str().unwrap().to_owned();

    // A user of Acme, created just in time with the mapped role and attributes.
    let db = app.state.stores.db.as_ref();
    let user = db.find_user_by_login("ann").await.unwrap().unwrap();
    assert_eq!(user.client_id.unwrap().to_string(), acme);
    assert_eq!(user.role.as_str(), "client_admin");
    assert_eq!(user.email.as_ref().unwrap().as_str(), "ann@acme.example");
    assert!(user.email_verified, "verified upstream, inside the IdP's domains");
    assert_eq!(user.name.as_deref(), Some("Ann Lee"));
    assert!(user.password_hash.is_none(), "no password: the IdP is how Ann signs in");
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["sub"], user.id.to_string());
    assert_eq!(access["role"], "client_admin");
    assert_eq!(access["clientId"], acme);
    assert_eq!(claims_of(tokens["id_token"].as_str().unwrap())["amr"], json!(["fed"]));
    assert_eq!(app.user_events("ann").await, ["user.created"]);
    let created = app.audit_of("user.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0].record.actor_id.as_deref(),
        Some(format!("federation:{idp}").as_str())
    );
    let logins = app.audit_of("login").await;
    assert!(logins.iter().any(|l| l.record.details["via"] == "federation"
        && l.record.actor_id.as_deref() == Some(user.id.to_string().as_str())));

    // The callback cannot be used twice.
    let replay = browser.get(&callback).await;
    assert_eq!(replay.status(), 400);
    assert!(replay.text().await.unwrap().contains("already completed"));

    // A second sign-in, in another browser: the application's login_hint alone leads to the
    // IdP (and its prompt=login is passed on); the same user, its attributes brought up to
    // date, and without the admin group the default role.
    // (A second later: revocation by time has whole-second precision.)
    app.clock.advance(time::Duration::seconds(1));
    let browser = Browser::default();
    let (url, verifier) = corp.authorize(&[("login_hint", "ann@acme.example"), ("prompt", "login")]);
    let login = location(&browser.get(&url).await, &app.base);
    let authorization = location(&browser.get(&login).await, &app.base);
    assert!(authorization.starts_with(&format!("{issuer}/auth?")), "{authorization}");
    assert_eq!(query_param(&authorization, "prompt").as_deref(), Some("login"));
    assert_eq!(query_param(&authorization, "max_age").as_deref(), Some("0"));
    let callback = upstream_sign_in(
        &browser,
        &authorization,
        "ann-0001",
        ann(&["staff"], "Ann Lee-Smith"),
        "pwd",
    )
    .await;
    let back = location(&browser.get(&callback).await, &app.base);
    let tokens = corp.redeem(&back, &verifier).await;
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["sub"], user.id.to_string());
    assert_eq!(access["role"], "client_user");
    let again = db.find_user(user.id).await.unwrap().unwrap();
    assert_eq!(again.name.as_deref(), Some("Ann Lee-Smith"));
    assert_eq!(corp.users_of(&acme).await.len(), 1);
    assert_eq!(
        app.user_events("ann").await,
        ["user.created", "user.updated", "user.roleChanged"]
    );
    // The role the mapping took away is gone from earlier tokens too.
    let userinfo = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(&first_access)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);

    // Refused, creating no one: another upstream identity with Ann's address (an address given
    // to someone new), an address the IdP did not verify, and a blocked user's address.
    let bea = app.user("bea", "client_user", Some(&acme)).await;
    let path = format!("/admin/v1/users/{bea}");
    let (status, _) = app
        .call(
            &corp.staff,
            Method::PATCH,
            &path,
            Some(json!({ "email": "bea@acme.example" })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(&corp.staff, Method::POST, &format!("{path}/block"), None)
        .await;
    assert_eq!(status, 200);
    let cases = [
        ("ann-0002", ann(&[], "Ann Again"), "already used"),
        (
            "zed",
            json!({ "email": "zed@acme.example", "email_verified": false, "preferred_username": "zed" }),
            "no access",
        ),
        (
            "bea-upstream",
            json!({ "email": "bea@acme.example", "email_verified": true }),
            "blocked",
        ),
    ];
    for (sub, claims, says) in cases {
        let response = corp
            .company_sign_in(&Browser::default(), "someone@acme.example", sub, claims)
            .await;
        assert_eq!(response.status(), 403, "{sub}");
        assert!(response.text().await.unwrap().contains(says), "{sub}");
    }
    assert_eq!(corp.users_of(&acme).await.len(), 2, "Ann and Bea only");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for line in [
        "propusk_federated_logins_total{outcome=\"success\"} 2",
        "propusk_federated_logins_total{outcome=\"refused\"} 4",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }

    // Ann signs in through her company only: no reset link gives her a local password that
    // would outlive her removal there.
    app.request_reset("ann").await;
    assert!(app.audit_of("password.reset_requested").await.is_empty());
}

#[tokio::test]
async fn answers_that_do_not_belong_to_the_sign_in_are_refused_and_create_nothing() {
    let corp = &Corp::start(Backend::Embedded).await;
    let app = &corp.app;
    let acme = app.account("Acme").await.id.to_string();
    let globex = app.account("Globex").await.id.to_string();
    let (a, b) = (upstream(0), upstream(1));
    corp.idp(&acme, &a, &a, json!({ "domains": ["acme.example"] })).await;
    corp.idp(&globex, &b, &b, json!({ "domains": ["globex.example"] }))
        .await;
    let (acme_, globex_) = (&acme, &globex);
    let nobody = || async move { corp.users_of(acme_).await.len() + corp.users_of(globex_).await.len() };

    // An unknown state.
    let browser = Browser::default();
    let response = browser
        .get(&app.url("/federation/callback?code=abc&state=made-up&iss=x"))
        .await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("Start again"));

    // Mix-up: a sign-in started at Acme's IdP gets the code Globex's IdP issued (with or without
    // Globex's `iss`).
    let to_acme = location(&corp.company(&browser, "ann@acme.example").await, &app.base);
    let acme_state = query_param(&to_acme, "state").unwrap();
    let to_globex = location(&corp.company(&browser, "gus@globex.example").await, &app.base);
    let from_globex = upstream_sign_in(
        &browser,
        &to_globex,
        "gus",
        json!({ "email": "gus@globex.example" }),
        "pwd",
    )
    .await;
    assert_eq!(query_param(&from_globex, "iss").as_deref(), Some(b.as_str()));
    let swapped = with_param(&from_globex, "state", Some(&acme_state));
    let response = browser.get(&swapped).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("did not come from"));
    let to_acme = location(&corp.company(&browser, "ann@acme.example").await, &app.base);
    let acme_state = query_param(&to_acme, "state").unwrap();
    let no_iss = with_param(&with_param(&from_globex, "state", Some(&acme_state)), "iss", None);
    assert_eq!(
        browser.get(&no_iss).await.status(),
        400,
        "iss is required where the IdP supports it"
    );

    // A callback completed in another browser than the one that started the sign-in.
    let to_acme = location(&corp.company(&browser, "ann@acme.example").await, &app.base);
    let from_acme = upstream_sign_in(&browser, &to_acme, "ann", ann(&[], "Ann"), "pwd").await;
    let elsewhere = Browser::default();
    assert_eq!(elsewhere.get(&from_acme).await.status(), 400);

    // A code replayed into a fresh sign-in: the IdP refuses it.
    let to_acme = location(&corp.company(&browser, "ann@acme.example").await, &app.base);
    let done = upstream_sign_in(&browser, &to_acme, "ann", ann(&[], "Ann"), "pwd").await;
    assert!(
        browser.get(&done).await.status().is_success(),
        "a sign-in without an application"
    );
    assert_eq!(nobody().await, 1);
    let to_acme = location(&corp.company(&browser, "ann@acme.example").await, &app.base);
    let replayed = with_param(&done, "state", Some(&query_param(&to_acme, "state").unwrap()));
    let response = browser.get(&replayed).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("did not accept"));

    // The user declines at the IdP.
    let to_globex = location(&corp.company(&browser, "gus@globex.example").await, &app.base);
    let declined = upstream_interaction(&browser, &to_globex, "abort", &[]).await;
    assert_eq!(query_param(&declined, "error").as_deref(), Some("access_denied"));
    let response = browser.get(&declined).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("cancelled"));

    assert_eq!(nobody().await, 1, "only the one completed sign-in created a user");
    let mut reasons = refusals(app).await;
    reasons.reverse();
    let expected = [
        "comes from \"http://127.0.0.1",
        "has no iss",
        "another browser",
        "refused the code: invalid_grant",
        "answered access_denied",
    ];
    assert_eq!(reasons.len(), expected.len(), "{reasons:?}");
    for (reason, want) in reasons.iter().zip(expected) {
        assert!(reason.contains(want), "{reason:?} should say {want:?}");
    }
}

#[tokio::test]
async fn forged_mislabelled_unreachable_and_disabled_idps_sign_no_one_in() {
    let corp = &Corp::start(Backend::Embedded).await;
    let app = &corp.app;
    let a = upstream(0);
    let mut accounts = Vec::new();
    for (name, issuer, domain) in [
        ("Forged", hostile("FORGED"), "forged.example"),
        ("Mislabelled", hostile("MISLABELLED"), "mislabelled.example"),
    ] {
        let account = app.account(name).await.id.to_string();
        corp.idp(&account, &issuer, &a, json!({ "domains": [domain] })).await;
        accounts.push((account, issuer, domain));
    }
    // A hostile issuer's answer carries its own `iss`, so only the ID token can give it away.
    for (account, issuer, domain) in &accounts {
        let browser = Browser::default();
        let authorization = location(&corp.company(&browser, &format!("eve@{domain}")).await, &app.base);
        assert!(authorization.starts_with(&format!("{a}/auth?")), "{authorization}");
        let callback = upstream_sign_in(
            &browser,
            &authorization,
            "eve",
            json!({ "email": format!("eve@{domain}") }),
            "pwd",
        )
        .await;
        let response = browser.get(&with_param(&callback, "iss", Some(issuer))).await;
        assert_eq!(response.status(), 502, "{domain}");
        assert!(response.text().await.unwrap().contains("could not be verified"));
        assert!(corp.users_of(account).await.is_empty(), "{domain}");
    }
    let reasons = refusals(app).await;
    assert!(reasons[0].contains("Invalid issuer"), "{reasons:?}");
    assert!(reasons[1].contains("Signature verification failed"), "{reasons:?}");

    // An IdP that does not answer.
    let down = app.account("Down").await.id.to_string();
    let port = crate::support::free_port();
    let dead = format!("http://127.0.0.1:{port}");
    corp.idp(&down, &dead, &a, json!({ "domains": ["down.example"] })).await;
    let browser = Browser::default();
    let response = corp.company(&browser, "dan@down.example").await;
    assert_eq!(response.status(), 502);
    assert!(response.text().await.unwrap().contains("could not be reached"));

    // An unknown domain or company.
    let response = corp.company(&browser, "zoe@unknown.example").await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("No company sign-in"));
    let page = browser.get(&app.url("/login")).await.text().await.unwrap();
    let typed = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("login", "zoe@unknown.example"),
                ("password", "guess"),
            ],
        )
        .await;
    assert_eq!(typed.status(), 401, "an email of no IdP's domain is a password sign-in");

    // Just-in-time provisioning off: unknown users are refused.
    let closed = app.account("Closed").await.id.to_string();
    corp.idp(&closed, &a, &a, json!({ "domains": ["closed.example"], "jit": false }))
        .await;
    let claims = json!({ "email": "cid@closed.example" });
    let response = corp
        .company_sign_in(&browser, "cid@closed.example", "cid", claims)
        .await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("no access"));
    assert!(corp.users_of(&closed).await.is_empty());

    // A shared issuer: only identities carrying the company's tenant claim belong (staff set it).
    let tenant = app.account("Tenant").await.id.to_string();
    let required = json!([{ "claim": "groups", "value": "tenant-staff" }]);
    corp.idp(
        &tenant,
        &a,
        &a,
        json!({ "domains": ["tenant.example"], "required_claims": required }),
    )
    .await;
    for (groups, status) in [(json!(["other-tenant"]), 403), (json!(["tenant-staff"]), 200)] {
        let claims = json!({ "email": "tia@tenant.example", "email_verified": true, "groups": groups });
        let response = corp
            .company_sign_in(&Browser::default(), "tia@tenant.example", "tia", claims)
            .await;
        assert_eq!(response.status(), status, "{groups}");
    }
    assert_eq!(corp.users_of(&tenant).await.len(), 1);

    // Disabled: no longer offered, and a sign-in started before cannot finish; found again by
    // the company's id once enabled.
    let browser = Browser::default();
    let gated = app.account("Gated").await.id.to_string();
    let idp = corp.idp(&gated, &a, &a, json!({ "domains": ["gated.example"] })).await;
    let authorization = location(&corp.company(&browser, "gil@gated.example").await, &app.base);
    corp.patch_idp(&gated, &idp, json!({ "enabled": false })).await;
    let callback = upstream_sign_in(
        &browser,
        &authorization,
        "gil",
        json!({ "email": "gil@gated.example" }),
        "pwd",
    )
    .await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("turned off"));
    assert_eq!(corp.company(&browser, "gil@gated.example").await.status(), 404);
    assert!(corp.users_of(&gated).await.is_empty());
    corp.patch_idp(&gated, &idp, json!({ "enabled": true })).await;
    let by_slug = location(&corp.company(&browser, "gated").await, &app.base);
    assert!(by_slug.starts_with(&format!("{a}/auth?")));
}

#[tokio::test]
async fn the_account_policy_decides_on_second_factors_and_password_sign_in() {
    let corp = &Corp::start(Backend::PostgresRedis).await;
    let app = &corp.app;
    let acme = app.account("Acme").await.id.to_string();
    let a = upstream(0);
    // example.com: the domain of the test users' addresses (bob@example.com below).
    let idp = corp.idp(&acme, &a, &a, json!({ "domains": ["example.com"] })).await;
    let (status, _) = app
        .call(
            &corp.staff,
            Method::PATCH,
            &format!("/admin/v1/clients/{acme}"),
            Some(json!({ "mfa_required": true })),
        )
        .await;
    assert_eq!(status, 200);
    let sign_in = |amr: &'static str| async move {
        let browser = Browser::default();
        let (url, verifier) = corp.authorize(&[("login_hint", "bob@example.com")]);
        let login = location(&browser.get(&url).await, &app.base);
        let authorization = location(&browser.get(&login).await, &app.base);
        let claims = json!({ "email": "bob@example.com", "email_verified": true, "name": "Bob" });
        let callback = upstream_sign_in(&browser, &authorization, "bob-upstream", claims, amr).await;
        (location(&browser.get(&callback).await, &app.base), verifier)
    };

    // An existing user of the account, linked by the verified address: not created again.
    let bob = app.user("bob", "client_user", Some(&acme)).await;
    // The account requires 2FA and the IdP's word for it is not taken: the second step follows.
    let (next, _) = sign_in("pwd,mfa").await;
    assert_eq!(next, app.url("/login/2fa"));
    let link = app
        .state
        .stores
        .db
        .find_link(uuid::Uuid::parse_str(&idp).unwrap(), &a, "bob-upstream")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.user_id.to_string(), bob);
    let events = app.user_events("bob").await;
    assert_eq!(
        events.iter().filter(|e| *e == "user.created").count(),
        1,
        "linked, not created: {events:?}"
    );
    assert_eq!(app.audit_of("user.federation_link").await.len(), 1);

    // Accepting the upstream's multi-factor sign-in: through, with amr saying so.
    corp.patch_idp(&acme, &idp, json!({ "accept_upstream_mfa": true }))
        .await;
    let (back, verifier) = sign_in("pwd,mfa").await;
    let tokens = corp.redeem(&back, &verifier).await;
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["amr"],
        json!(["fed", "mfa"])
    );
    assert_eq!(claims_of(tokens["access_token"].as_str().unwrap())["sub"], bob);
    // …but a single factor upstream still needs the second step here.
    let (next, _) = sign_in("pwd").await;
    assert_eq!(next, app.url("/login/2fa"));

    // SSO required: Bob's password no longer signs him in, and the answer is that of a wrong
    // password (a distinct one would confirm it); the page offers the company sign-in.
    let bobs_token = tokens["access_token"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::seconds(1));
    corp.patch_idp(&acme, &idp, json!({ "sso_required": true })).await;
    // What the account's password users held ends at once (Bob has a password): all sign in
    // again, through the provider.
    let userinfo = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(&bobs_token)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);
    let ended = app.audit_of("idp.password_sessions_end").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].record.details["users"], 1);
    let browser = Browser::default();
    let response = browser.log_in(app, "bob", crate::support::PASSWORD).await;
    assert_eq!(response.status(), 401);
    let page = response.text().await.unwrap();
    assert!(page.contains("Invalid username or password") && page.contains("Sign in with your company"));
    let response = browser.log_in(app, "bob", "wrong-password-1").await;
    assert_eq!(response.status(), 401);
    assert!(response.text().await.unwrap().contains("Invalid username or password"));
    let sso_refusals = app.audit_of("login").await;
    assert!(
        sso_refusals
            .iter()
            .any(|l| l.record.details["reason"] == "sso_required")
    );
    let legacy = app.password_app().await;
    let response = app
        .post_form(
            "/token",
            Some(&legacy),
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn rotated_upstream_keys_are_fetched_again() {
    let corp = &Corp::start(Backend::Embedded).await;
    let app = &corp.app;
    let acme = app.account("Acme").await.id.to_string();
    let issuer = upstream(2);
    corp.idp(&acme, &issuer, &issuer, json!({ "domains": ["acme.example"] }))
        .await;
    let sign_in = || async move {
        let response = corp
            .company_sign_in(&Browser::default(), "ann@acme.example", "ann", ann(&[], "Ann"))
            .await;
        response.status()
    };
    assert_eq!(sign_in().await, 200);
    let kid = |jwks: Value| jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    let before = kid(reqwest::get(format!("{issuer}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap());
    let rotated = reqwest::Client::new()
        .post(format!("{issuer}/test/rotate-keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 204);
    let after = kid(reqwest::get(format!("{issuer}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap());
    assert_ne!(before, after);
    // The cached key set lacks the new kid: Propusk fetches it again.
    assert_eq!(sign_in().await, 200);
    assert_eq!(corp.users_of(&acme).await.len(), 1);
}
