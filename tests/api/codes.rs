//! One-time codes by email (through a real SMTP server) and SMS (through a local webhook):
//! verification of the address and the phone, sign-in codes, the resend cooldown, expiry, the
//! attempt limit, the daily budget per destination, and webhook retries.

use reqwest::Method;
use serde_json::json;
use time::Duration;

use crate::support::{Backend, Browser, PASSWORD, SmsSink, TestApp, hidden, mails_to, six_digits, with_mail};

/// The body of a stored mail (after the headers).
fn mail_body(mail: &str) -> &str {
    let mail = mail.split_once("\n\n").or_else(|| mail.split_once("\r\n\r\n"));
    mail.map_or("", |(_, body)| body)
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
    let mail = mails_to(&email, 1).await.remove(0);
    assert!(
        mail.contains("Subject: Your code to verify your email address"),
        "{mail}"
    );
    let code = six_digits(mail_body(&mail));
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
    let mail = mails_to(&email, 2).await.pop().unwrap();
    assert!(mail.contains("Your code to sign in"), "{mail}");
    let code = six_digits(mail_body(&mail));
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
