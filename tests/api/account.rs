//! Self-service `/account/v1`: profile, password, sessions.

use serde_json::json;
use time::Duration;

use crate::support::{Backend, Browser, PASSWORD, TestApp, location};

#[tokio::test]
async fn a_user_manages_their_profile_password_and_sessions() {
    use reqwest::Method;
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    app.user("ann", "operator", None).await;
    app.user("bob", "operator", None).await;
    let rp = app.web_app(true).await;
    let laptop = Browser::default();
    let phone = Browser::default();
    let token = app.code_tokens(&laptop, &rp, "ann", "openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.code_tokens(&phone, &rp, "ann", "openid").await;

    let (status, me) = app.call(&token, Method::GET, "/account/v1/profile", None).await;
    assert_eq!((status, me["username"].clone()), (200, json!("ann")));
    let (status, me) = app
        .call(
            &token,
            Method::PATCH,
            "/account/v1/profile",
            Some(json!({ "name": "Ann Lee", "phone": "+49 151 1234 5678" })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (me["name"].clone(), me["phone"].clone(), me["pending"]["phone"].clone()),
        (json!("Ann Lee"), json!(null), json!("+4915112345678")),
        "a new phone waits for its code"
    );
    let (status, body) = app
        .call(
            &token,
            Method::PATCH,
            "/account/v1/profile",
            Some(json!({ "email": "bob@example.com" })),
        )
        .await;
    assert_eq!(
        (status, body["error"].clone()),
        (409, json!("conflict")),
        "another user's email"
    );
    let (status, _) = app
        .call(
            &token,
            Method::PATCH,
            "/account/v1/profile",
            Some(json!({ "email": "nope" })),
        )
        .await;
    assert_eq!(status, 400);

    // Two sessions; ending the phone's one leaves the laptop signed in.
    let (_, sessions) = app.call(&token, Method::GET, "/account/v1/sessions", None).await;
    let items = sessions["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let other = items.iter().find(|s| s["current"] == false).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app
        .call(&token, Method::DELETE, &format!("/account/v1/sessions/{other}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .call(&token, Method::DELETE, "/account/v1/sessions/not-mine", None)
        .await;
    assert_eq!(status, 404);
    let url = app.authorize_url(
        &rp,
        &[
            ("response_type", "code"),
            ("redirect_uri", "https://client.example.com/cb"),
            ("scope", "openid"),
        ],
    );
    assert!(
        location(&phone.get(&url).await, &app.base).starts_with(&app.url("/login")),
        "the phone must sign in again"
    );
    assert!(
        location(&laptop.get(&url).await, &app.base).starts_with("https://client.example.com/cb"),
        "the laptop stays"
    );

    // Changing the password needs the current one, and ends every earlier token.
    let change = |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    let (status, _) = app
        .call(
            &token,
            Method::POST,
            "/account/v1/password",
            Some(change("wrong password", "a brand new passphrase")),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .call(
            &token,
            Method::POST,
            "/account/v1/password",
            Some(change(PASSWORD, "short")),
        )
        .await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_request")));
    app.clock.advance(Duration::seconds(1));
    let (status, _) = app
        .call(
            &token,
            Method::POST,
            "/account/v1/password",
            Some(change(PASSWORD, "a brand new passphrase")),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app.call(&token, Method::GET, "/account/v1/profile", None).await;
    assert_eq!(status, 401, "the old token is dead");
    let types: Vec<String> = app
        .state
        .stores
        .db
        .outbox_unsent(1000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.topic == "propusk.user-events" && e.payload["data"]["username"] == "ann")
        .map(|e| e.payload["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["user.created", "user.updated", "user.passwordChanged"]);
    app.stop().await;
}
