//! The token endpoint's rules without a database: code exchange (single use, client, redirect URI,
//! PKCE, replay revoking what the first use issued), refresh rotation (grace window, reuse after
//! it, another client's token) and client authentication, over the in-memory ports.

use base64::Engine as _;
use time::Duration;

use super::{Wanted, authorization_code, refresh_token};
use crate::model::application::{Application, ClientSecret};
use crate::model::scope::Scope;
use crate::model::user::User;
use crate::oauth::client_auth::{Accept, Presented, authenticate};
use crate::oauth::code::CodeGrant;
use crate::oauth::error::ErrorCode;
use crate::oauth::fakes::Harness;
use crate::oauth::pkce::CodeChallenge;
use crate::oauth::ports::{CodeStore, Denial};
use crate::oauth::revocation::{self, Marks};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> CodeChallenge {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    CodeChallenge::parse(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())).unwrap()
}

async fn code_for(h: &Harness, app: &Application, user: &User, code: &str) {
    let grant = CodeGrant {
        client_id: app.client_id.clone(),
        redirect_uri: crate::model::redirect_uri::RedirectUri::parse("https://app.example/cb").unwrap(),
        redirect_uri_given: true,
        user_id: user.id,
        scope: Scope::parse("openid profile").unwrap(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some(challenge(VERIFIER)),
        sid: "sid-1".into(),
        auth_time: h.clock_now().unix_timestamp(),
        amr: vec!["pwd".into()],
        claims: None,
        account: None,
        session_marks: Marks::default(),
        resource: None,
    };
    let until = h.clock_now() + Duration::seconds(60);
    h.memory.put_code(code, &grant, until).await.unwrap();
}

async fn exchange(
    h: &Harness,
    app: &Application,
    code: &str,
    verifier: &str,
) -> Result<super::TokenResponse, ErrorCode> {
    authorization_code::grant(
        &h.provider,
        app,
        code,
        Some("https://app.example/cb"),
        Some(verifier),
        None,
    )
    .await
    .map_err(|e| e.code)
}

#[tokio::test]
async fn a_code_is_exchanged_once_and_its_replay_revokes_what_it_issued() {
    let h = Harness::new();
    let (app, _) = h.application("web");
    let user = h.user();
    code_for(&h, &app, &user, "code-1").await;
    let tokens = exchange(&h, &app, "code-1", VERIFIER).await.unwrap();
    assert!(tokens.id_token.is_some() && tokens.refresh_token.is_some());
    let claims = h.provider.access_claims(&tokens.access_token).unwrap();
    assert_eq!(claims.sub, user.id.to_string());
    assert!(
        !revocation::is_revoked(h.provider.state.as_ref(), &claims)
            .await
            .unwrap()
    );

    assert_eq!(
        exchange(&h, &app, "code-1", VERIFIER).await.unwrap_err(),
        ErrorCode::InvalidGrant
    );
    assert!(
        revocation::is_revoked(h.provider.state.as_ref(), &claims)
            .await
            .unwrap()
    );
    assert!(h.memory.is_denied(Denial::Family(claims.family.as_deref().unwrap())));
}

#[tokio::test]
async fn a_code_must_match_its_client_redirect_uri_and_verifier() {
    let h = Harness::new();
    let (app, _) = h.application("web");
    let (other, _) = h.application("other");
    let user = h.user();
    code_for(&h, &app, &user, "c1").await;
    assert_eq!(
        exchange(&h, &other, "c1", VERIFIER).await.unwrap_err(),
        ErrorCode::InvalidGrant
    );
    code_for(&h, &app, &user, "c2").await;
    let wrong = "x".repeat(43);
    assert_eq!(
        exchange(&h, &app, "c2", &wrong).await.unwrap_err(),
        ErrorCode::InvalidGrant
    );
    code_for(&h, &app, &user, "c3").await;
    let e = authorization_code::grant(
        &h.provider,
        &app,
        "c3",
        Some("https://evil.example/cb"),
        Some(VERIFIER),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    assert_eq!(
        exchange(&h, &app, "never-issued", VERIFIER).await.unwrap_err(),
        ErrorCode::InvalidGrant
    );
}

/// The refresh token of a fresh code exchange by `app` for `user`.
async fn first_refresh_token(h: &Harness, app: &Application, user: &User) -> String {
    code_for(h, app, user, "code").await;
    let tokens = exchange(h, app, "code", VERIFIER).await.unwrap();
    tokens.refresh_token.unwrap()
}

async fn refresh(h: &Harness, app: &Application, token: &str) -> Result<super::TokenResponse, ErrorCode> {
    refresh_token::grant(&h.provider, app, token, Wanted::default())
        .await
        .map_err(|e| e.code)
}

#[tokio::test]
async fn refresh_rotates_a_retry_in_the_grace_window_gets_the_same_successor_and_later_reuse_kills_the_family() {
    let h = Harness::new();
    let (app, user) = (h.application("web").0, h.user());
    let first = first_refresh_token(&h, &app, &user).await;

    let second = refresh(&h, &app, &first).await.unwrap().refresh_token.unwrap();
    assert_ne!(second, first);
    h.clock.advance(Duration::seconds(5));
    let retried = refresh(&h, &app, &first).await.unwrap().refresh_token.unwrap();
    assert_eq!(
        retried, second,
        "a retry within the grace window gets the same successor"
    );

    h.clock.advance(Duration::seconds(10));
    assert_eq!(refresh(&h, &app, &first).await.unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(
        refresh(&h, &app, &second).await.unwrap_err(),
        ErrorCode::InvalidGrant,
        "reuse after the grace window revokes the whole family"
    );
    assert_eq!(h.memory.audit.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_refused_and_its_family_revoked() {
    let h = Harness::new();
    let (app, user) = (h.application("web").0, h.user());
    let (thief, _) = h.application("thief");
    let token = first_refresh_token(&h, &app, &user).await;
    assert_eq!(refresh(&h, &thief, &token).await.unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(refresh(&h, &app, &token).await.unwrap_err(), ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn a_blocked_user_gets_no_new_tokens_from_a_refresh() {
    let h = Harness::new();
    let (app, user) = (h.application("web").0, h.user());
    let token = first_refresh_token(&h, &app, &user).await;
    let sub = user.id.to_string();
    let now = h.clock_now();
    revocation::around(
        h.provider.state.as_ref(),
        &revocation::Ends::Everything.of(&sub),
        now,
        async {
            let mut users = h.memory.users.lock().unwrap();
            users.get_mut(&user.id).unwrap().status = crate::model::user::UserStatus::Blocked;
            Ok::<_, crate::model::StoreError>(())
        },
    )
    .await
    .unwrap();
    assert_eq!(refresh(&h, &app, &token).await.unwrap_err(), ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn clients_authenticate_with_their_secret_only() {
    let h = Harness::new();
    let (app, secret) = h.application("web");
    struct NoFetch;
    #[async_trait::async_trait]
    impl crate::oauth::client_assertion::Fetch for NoFetch {
        async fn get(&self, _: &str) -> Result<Vec<u8>, String> {
            Err("no network in unit tests".into())
        }
    }
    let keys = crate::oauth::client_assertion::ClientKeys::new(std::sync::Arc::new(NoFetch));
    let basic = |id: &str, secret: &ClientSecret| Presented::Basic {
        id: id.into(),
        secret: ClientSecret::presented(secret.expose()),
    };
    let found = authenticate(&h.provider, &keys, basic("web", &secret), Accept::Any)
        .await
        .unwrap();
    assert_eq!(found.client_id, app.client_id);
    let wrong = ClientSecret::generate();
    for presented in [
        basic("web", &wrong),
        basic("nobody", &secret),
        Presented::IdOnly { id: "web".into() },
        Presented::Nothing,
        Presented::Assertion {
            id: None,
            assertion: "e30.eyJpc3MiOiJ3ZWIifQ.c2ln".into(),
        },
    ] {
        let e = authenticate(&h.provider, &keys, presented, Accept::Any)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidClient);
    }
}
