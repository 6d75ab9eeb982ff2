//! One-time codes by email (through a real SMTP server) and SMS (through a local webhook):
//! verification of the address and the phone, sign-in codes, the resend cooldown, expiry, the
//! attempt limit, the daily budget per destination, and webhook retries.

use reqwest::Method;
use serde_json::json;
use time::Duration;

use crate::support::{Backend, Browser, PASSWORD, SmsSink, TestApp, hidden, mails_about, six_digits, with_mail};

/// The body of a stored mail (after the headers), quoted-printable decoded.
fn mail_body(mail: &str) -> String {
    let mail = mail.replace("\r\n", "\n");
    let Some((headers, body)) = mail.split_once("\n\n") else {
        return String::new();
    };
    if !headers.contains("Content-Transfer-Encoding: quoted-printable") {
        return body.to_owned();
    }
    let joined = body.replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A username no other test (sharing the SMTP server) uses.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

#[tokio::test]
async fn an_emailed_code_verifies_the_address_and_then_signs_in() {
    let app = TestApp::spawn_with(Backend::PostgresRedis, with_mail).await;
    let name = unique("mia");
    let email = format!("{name}@example.com");
    app.user(&name, "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, &name).await;

    let (status, body) = app.call(&token, Method::POST, "/account/v1/factors/email", None).await;
    assert_eq!(status, 400, "codes go only to a verified address: {body}");
    let (status, _) = app
        .call(&token, Method::POST, "/account/v1/verification/email", None)
        .await;
    assert_eq!(status, 202);
    let (status, _) = app
        .call(&token, Method::POST, "/account/v1/verification/email", None)
        .await;
    assert_eq!(status, 429, "a second code within 30 s is refused");
    let mail = mails_about(&email, "Subject: Your code to verify", 1).await.remove(0);
    let code = six_digits(&mail_body(&mail));
    let path = "/account/v1/verification/email/confirm";
    let (status, user) = app
        .call(&token, Method::POST, path, Some(json!({ "code": code })))
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["email_verified"], true);
    let (status, _) = app
        .call(&token, Method::POST, path, Some(json!({ "code": code })))
        .await;
    assert_eq!(status, 400, "a code works once");

    let tokens = app.code_tokens(&Browser::default(), &rp, &name, "openid email").await;
    let userinfo: serde_json::Value = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (userinfo["email"].as_str(), userinfo["email_verified"].as_bool()),
        (Some(email.as_str()), Some(true)),
        "userinfo reflects the verification"
    );

    let (status, factor) = app.call(&token, Method::POST, "/account/v1/factors/email", None).await;
    assert_eq!(status, 201, "{factor}");
    assert_eq!(factor["target"], format!("{}***@example.com", &name[..1]));

    // Sign in: the second step offers the address, sends a code, and accepts it.
    let browser = Browser::default();
    assert_eq!(browser.log_in(&app, &name, PASSWORD).await.status(), 303);
    let page = browser.get(&app.url("/login/2fa")).await.text().await.unwrap();
    assert!(page.contains("Send a code to"), "{page}");
    let sent = browser
        .post(
            &app.url("/login/2fa/send"),
            &[("csrf", &hidden(&page, "csrf")), ("method", "email")],
        )
        .await;
    assert_eq!(sent.status(), 200);
    let page = sent.text().await.unwrap();
    assert!(page.contains("Code we sent you"), "{page}");
    let mail = mails_about(&email, "Subject: Your code to sign in", 1).await.remove(0);
    let code = six_digits(&mail_body(&mail));
    let done = browser
        .post(
            &app.url("/login/2fa"),
            &[("csrf", &hidden(&page, "csrf")), ("method", "email"), ("code", &code)],
        )
        .await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("You are signed in."));

    app.stop().await;
}

#[tokio::test]
async fn sms_codes_reach_the_webhook_through_retries_and_are_rationed() {
    let sink = SmsSink::start(1).await;
    let url = sink.url.clone();
    let app = TestApp::spawn_with(Backend::PostgresRedis, move |c| {
        c.sms_webhook_url = Some(url);
        c.access_token_ttl = Duration::hours(1);
    })
    .await;
    let name = unique("sam");
    app.user(&name, "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, &name).await;
    let phone = "+447700900123";
    let (status, _) = app
        .call(
            &token,
            Method::PATCH,
            "/account/v1/profile",
            Some(json!({ "phone": phone })),
        )
        .await;
    assert_eq!(status, 200);

    // The first webhook call fails with 503; the retry delivers.
    let (status, _) = app
        .call(&token, Method::POST, "/account/v1/verification/phone", None)
        .await;
    assert_eq!(status, 202);
    let text = sink.texts_to(phone, 1).await.remove(0);
    assert_eq!(sink.calls.load(std::sync::atomic::Ordering::SeqCst), 2, "one retry");
    let path = "/account/v1/verification/phone/confirm";

    // Five wrong attempts spend the code: the right one is refused after them.
    for _ in 0..5 {
        let (status, _) = app
            .call(&token, Method::POST, path, Some(json!({ "code": "000000" })))
            .await;
        assert_eq!(status, 400);
    }
    let (status, _) = app
        .call(&token, Method::POST, path, Some(json!({ "code": six_digits(&text) })))
        .await;
    assert_eq!(status, 400, "the attempt limit spent the code");

    // A code expires after five minutes.
    app.clock.advance(Duration::seconds(31));
    app.call(&token, Method::POST, "/account/v1/verification/phone", None)
        .await;
    let text = sink.texts_to(phone, 2).await.pop().unwrap();
    app.clock.advance(Duration::minutes(5));
    let (status, _) = app
        .call(&token, Method::POST, path, Some(json!({ "code": six_digits(&text) })))
        .await;
    assert_eq!(status, 400, "expired");

    // A fresh one verifies the phone.
    app.call(&token, Method::POST, "/account/v1/verification/phone", None)
        .await;
    let text = sink.texts_to(phone, 3).await.pop().unwrap();
    let (status, user) = app
        .call(&token, Method::POST, path, Some(json!({ "code": six_digits(&text) })))
        .await;
    assert_eq!((status, user["phone_verified"].as_bool()), (200, Some(true)));
    let (status, _) = app.call(&token, Method::POST, "/account/v1/factors/sms", None).await;
    assert_eq!(status, 201);

    // Sign in with a texted code: amr says sms.
    app.clock.advance(Duration::seconds(31));
    let browser = Browser::default();
    assert_eq!(browser.log_in(&app, &name, PASSWORD).await.status(), 303);
    let page = browser.get(&app.url("/login/2fa")).await.text().await.unwrap();
    let sent = browser
        .post(
            &app.url("/login/2fa/send"),
            &[("csrf", &hidden(&page, "csrf")), ("method", "sms")],
        )
        .await;
    assert_eq!(sent.status(), 200);
    let text = sink.texts_to(phone, 4).await.pop().unwrap();
    assert!(text.contains("sign-in code"), "{text}");
    let done = browser
        .post(
            &app.url("/login/2fa"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("method", "sms"),
                ("code", &six_digits(&text)),
            ],
        )
        .await;
    assert_eq!(done.status(), 200);
    let records = app.audit_of("login").await;
    assert_eq!(records[0].record.details["amr"], json!(["pwd", "sms", "mfa"]));

    // The daily budget per phone number: ten codes, whoever asks.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        app.clock.advance(Duration::seconds(31));
        let (status, _) = app
            .call(&token, Method::POST, "/account/v1/verification/phone", None)
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses, [202, 202, 202, 202, 202, 202, 429], "{statuses:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_mailed_link_resets_the_password_ends_sessions_and_lifts_the_lockout() {
    let app = TestApp::spawn_with(Backend::PostgresRedis, with_mail).await;
    let name = unique("rey");
    let email = format!("{name}@example.com");
    app.user(&name, "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, &name).await;
    mails_about(&email, "New sign-in to your account from a new device", 1).await;

    let attacker = Browser::default();
    for _ in 0..5 {
        attacker.log_in(&app, &name, "not the password").await;
    }
    assert_eq!(attacker.log_in(&app, &name, PASSWORD).await.status(), 429);
    mails_about(&email, "paused after repeated failed attempts", 1).await;

    // The same answer for a real and an unknown account.
    let mut answers = Vec::new();
    for login in [name.as_str(), "nobody-here-at-all"] {
        let browser = Browser::default();
        let page = browser.get(&app.url("/login/reset")).await.text().await.unwrap();
        let response = browser
            .post(
                &app.url("/login/reset"),
                &[("csrf", &hidden(&page, "csrf")), ("login", login)],
            )
            .await;
        answers.push((
            response.status().as_u16(),
            response.text().await.unwrap().replace(&hidden(&page, "csrf"), ""),
        ));
    }
    assert_eq!(answers[0].0, 200);
    assert_eq!(answers[0], answers[1], "no hint whether the account exists");

    let mail = mails_about(&email, "Subject: Reset your password", 1).await.remove(0);
    let link = mail_body(&mail)
        .lines()
        .find(|l| l.contains("/login/reset/confirm?token="))
        .unwrap()
        .trim()
        .to_owned();
    app.clock.advance(Duration::seconds(1));
    let browser = Browser::default();
    let page = browser.get(&link).await.text().await.unwrap();
    let form = |password: &str| {
        vec![
            ("csrf".to_owned(), hidden(&page, "csrf")),
            ("token".to_owned(), hidden(&page, "token")),
            ("password".to_owned(), password.to_owned()),
        ]
    };
    let post = |fields: Vec<(String, String)>| {
        let browser = &browser;
        let url = app.url("/login/reset/confirm");
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            browser.post(&url, &pairs).await
        }
    };
    let weak = post(form("1q2w3e4r5t")).await;
    assert_eq!(weak.status(), 400);
    assert!(weak.text().await.unwrap().contains("commonly used"));
    let done = post(form("a fresh long passphrase")).await;
    assert_eq!(done.status(), 200);
    let again = post(form("another long passphrase")).await;
    assert_eq!(again.status(), 400, "the link works once");

    let (status, _) = app.call(&token, Method::GET, "/account/v1/profile", None).await;
    assert_eq!(status, 401, "every earlier token is dead");
    let response = attacker.log_in(&app, &name, "a fresh long passphrase").await;
    assert_eq!(
        response.status(),
        200,
        "the lockout is lifted and the new password works"
    );
    let events = app.user_events(&name).await;
    assert!(
        events.ends_with(&["user.passwordChanged".to_owned(), "user.unlocked".to_owned()]),
        "{events:?}"
    );
    mails_about(&email, "Your password was reset", 1).await;
    app.stop().await;
}

#[tokio::test]
async fn a_code_proves_only_the_address_it_was_sent_to() {
    let app = TestApp::spawn_with(Backend::Embedded, with_mail).await;
    let name = unique("val");
    app.user(&name, "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, &name).await;
    let (status, _) = app
        .call(&token, Method::POST, "/account/v1/verification/email", None)
        .await;
    assert_eq!(status, 202);
    let mail = mails_about(&format!("{name}@example.com"), "Subject: Your code to verify", 1)
        .await
        .remove(0);
    let code = six_digits(&mail_body(&mail));
    let victim = format!("{name}-victim@corp.example");
    let (status, _) = app
        .call(
            &token,
            Method::PATCH,
            "/account/v1/profile",
            Some(json!({ "email": victim })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .call(
            &token,
            Method::POST,
            "/account/v1/verification/email/confirm",
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(status, 400, "the code went to another address: {body}");
    let (_, me) = app.call(&token, Method::GET, "/account/v1/profile", None).await;
    assert_eq!(me["email_verified"], false);
    app.stop().await;
}

#[tokio::test]
async fn a_new_email_needs_fresh_proof_waits_for_its_code_and_tells_the_old_address() {
    let app = TestApp::spawn_with(Backend::PostgresRedis, |c| {
        with_mail(c);
        c.access_token_ttl = Duration::hours(1);
    })
    .await;
    let name = unique("ned");
    let old = format!("{name}@example.com");
    let new = format!("{name}-new@example.com");
    app.user(&name, "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, &name).await;

    // An hour-long token from a sign-in eleven minutes ago is no proof for a new address.
    app.clock.advance(Duration::minutes(11));
    let change = json!({ "email": new });
    let (status, body) = app
        .call(&token, Method::PATCH, "/account/v1/profile", Some(change))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("insufficient_user_authentication"))
    );
    let (status, body) = app
        .call(
            &token,
            Method::PATCH,
            "/account/v1/profile",
            Some(json!({ "name": "Ned" })),
        )
        .await;
    assert_eq!(status, 200, "a name needs no proof: {body}");
    let with_password = json!({ "email": new, "current_password": PASSWORD });
    let (status, me) = app
        .call(&token, Method::PATCH, "/account/v1/profile", Some(with_password))
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["email"].as_str(), me["pending"]["email"].as_str()),
        (Some(old.as_str()), Some(new.as_str()))
    );

    // Pending, the new address receives no reset link: the link goes to the proven one.
    app.request_reset(&name).await;
    mails_about(&old, "/login/reset/confirm?token=", 1).await;

    let (status, _) = app
        .call(&token, Method::POST, "/account/v1/verification/email", None)
        .await;
    assert_eq!(status, 202);
    let mail = mails_about(&new, "Subject: Your code to verify", 1).await.remove(0);
    let code = six_digits(&mail_body(&mail));
    let (status, me) = app
        .call(
            &token,
            Method::POST,
            "/account/v1/verification/email/confirm",
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some(new.as_str()), Some(true))
    );
    mails_about(&old, "email of your account was changed", 1).await;
    app.stop().await;
}

#[tokio::test]
async fn clearing_the_email_is_told_to_the_address_that_was_on_file() {
    let app = TestApp::spawn_with(Backend::PostgresRedis, with_mail).await;
    let name = unique("ida");
    let old = format!("{name}@example.com");
    app.user(&name, "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, &name).await;
    let (status, me) = app
        .call(
            &token,
            Method::PATCH,
            "/account/v1/profile",
            Some(json!({ "email": "" })),
        )
        .await;
    assert_eq!((status, me["email"].clone()), (200, serde_json::Value::Null));
    mails_about(&old, "email of your account was removed", 1).await;
    app.stop().await;
}

/// The body of a mail, undoing base64 or quoted-printable.
fn decoded_body(mail: &str) -> String {
    use base64::Engine as _;
    let text = mail.replace("\r\n", "\n");
    let (headers, body) = text.split_once("\n\n").unwrap_or_default();
    if headers.contains("Content-Transfer-Encoding: base64") {
        let joined: String = body.split_whitespace().collect();
        return String::from_utf8(base64::engine::general_purpose::STANDARD.decode(joined).unwrap()).unwrap();
    }
    mail_body(mail)
}

/// Mails speak the user's language: their profile's `locale`, else `DEFAULT_LOCALE`.
#[tokio::test]
async fn mails_go_out_in_the_users_language() {
    let app = TestApp::spawn_with(Backend::Embedded, |c| {
        with_mail(c);
        c.default_locale = propusk::i18n::Lang::Ru;
    })
    .await;
    let rp = app.web_app(true).await;
    let (ru, en) = (unique("iva"), unique("eve"));
    app.user(&ru, "operator", None).await;
    app.user(&en, "operator", None).await;
    let token = app.access_token(&rp, &en).await;
    let (status, body) = app
        .call(
            &token,
            reqwest::Method::PATCH,
            "/account/v1/profile",
            Some(serde_json::json!({"profile": {"locale": "en-GB"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for name in [&ru, &en] {
        let browser = Browser::default();
        let page = browser.get(&app.url("/login/reset")).await.text().await.unwrap();
        browser
            .post(
                &app.url("/login/reset"),
                &[("csrf", &hidden(&page, "csrf")), ("login", name)],
            )
            .await;
    }
    let russian = crate::support::mails_to(&format!("{ru}@example.com"), 1).await;
    let reset = russian
        .iter()
        .map(|m| decoded_body(m))
        .find(|b| b.contains("/login/reset/confirm"))
        .unwrap();
    assert!(
        reset.contains("Кто-то (надеемся, вы) попросил сбросить ваш пароль"),
        "{reset}"
    );
    let english = crate::support::mails_to(&format!("{en}@example.com"), 2).await;
    let reset = english
        .iter()
        .map(|m| decoded_body(m))
        .find(|b| b.contains("/login/reset/confirm"))
        .unwrap();
    assert!(
        reset.contains("Someone (hopefully you) asked to reset your password"),
        "{reset}"
    );
    app.stop().await;
}
