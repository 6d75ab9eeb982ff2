//! What the typed hot state (`store::hot::HotState`: the protocol core's ports and browser
//! sessions) must do over each hot-state store, Redis and in process: typed values round-trip
//! under their own keys, single use holds, denials and generations read back in one call, and
//! unreadable stored data is reported (or, for parked requests and sessions, treated as absent).

use propusk::clock::Clock as _;
use propusk::model::StoreError;
use propusk::model::application::ClientId;
use propusk::model::scope::Scope;
use propusk::model::user::UserId;
use propusk::oauth::authorize::{AuthorizationRequest, Parked};
use propusk::oauth::code::{CodeGrant, Issued};
use propusk::oauth::ports::{CodeOutcome, CodeStore, Denial, Denylist, Entry, RefreshStore, RequestStore, Use};
use propusk::oauth::refresh::RefreshRecord;
use propusk::oauth::revocation::{Generation, Marks};
use propusk::oauth::session::Session;
use propusk::oauth::subject::Subject;
use propusk::store::hot::HotState;
use time::Duration;

use crate::HotFixture;

fn state(f: &HotFixture) -> HotState {
    HotState::new(f.hot.clone())
}

fn grant() -> CodeGrant {
    CodeGrant {
        client_id: ClientId::parse("web").unwrap(),
        redirect_uri: propusk::model::redirect_uri::RedirectUri::parse("https://app.example/cb").unwrap(),
        redirect_uri_given: true,
        user_id: UserId::generate(),
        scope: Scope::parse("openid").unwrap(),
        nonce: None,
        code_challenge: None,
        sid: "sid".into(),
        auth_time: 1,
        amr: vec!["pwd".into()],
        claims: None,
        account: None,
        session_marks: Marks::default(),
        resource: None,
    }
}

fn record(f: &HotFixture, family: &str) -> RefreshRecord {
    let now = f.clock.now().unix_timestamp();
    RefreshRecord {
        family: family.into(),
        client_id: ClientId::parse("web").unwrap(),
        scope: Scope::parse("openid").unwrap(),
        subject: Subject {
            sub: UserId::generate().to_string(),
            role: Some("operator".into()),
            account_id: None,
            permissions: vec![],
            sid: Some("sid".into()),
            auth_time: Some(now),
            amr: vec![],
            marks: Marks::default(),
            userinfo_claims: vec!["name".into()],
        },
        family_created: now,
        issued_at: now,
        resource: None,
    }
}

pub async fn codes_are_taken_once_and_settle_once(f: HotFixture) {
    let s = state(&f);
    let until = f.clock.now() + Duration::seconds(60);
    assert_eq!(s.take_code("c").await.unwrap(), Use::Missing);
    s.put_code("c", &grant(), until).await.unwrap();
    let Use::First(first) = s.take_code("c").await.unwrap() else {
        panic!("first take")
    };
    assert_eq!(first.client_id.as_str(), "web");
    assert_eq!(s.take_code("c").await.unwrap(), Use::Again(()));

    assert_eq!(s.code_outcome("c").await.unwrap(), None);
    let issued = Issued {
        jti: "j".into(),
        exp: 5,
        family: Some("fam".into()),
        family_created: Some(1),
    };
    assert!(
        s.settle_code("c", &CodeOutcome::Issued(issued.clone()), until)
            .await
            .unwrap()
    );
    assert!(!s.settle_code("c", &CodeOutcome::Replayed, until).await.unwrap());
    assert_eq!(s.code_outcome("c").await.unwrap(), Some(CodeOutcome::Issued(issued)));
    assert!(s.settle_code("d", &CodeOutcome::Replayed, until).await.unwrap());
    assert_eq!(s.code_outcome("d").await.unwrap(), Some(CodeOutcome::Replayed));

    let corrupt = format!("code:{}", propusk::crypto::digest("bad"));
    f.hot.put(&corrupt, b"{", until).await.unwrap();
    assert!(matches!(s.take_code("bad").await, Err(StoreError::Corrupt(_))));
    assert_eq!(
        s.take_code("bad").await.unwrap(),
        Use::Again(()),
        "a replay is recognised without reading the grant"
    );
    f.clock.advance(Duration::seconds(60));
    assert_eq!(s.take_code("c").await.unwrap(), Use::Missing, "codes expire");
}

pub async fn refresh_tokens_rotate_under_their_own_keys(f: HotFixture) {
    let s = state(&f);
    let r = record(&f, "fam");
    assert_eq!(s.get_refresh("t1").await.unwrap(), None);
    s.put_refresh("t1", &r).await.unwrap();
    assert_eq!(s.get_refresh("t1").await.unwrap(), Some(r.clone()));
    assert_eq!(s.unrotated_refresh("t1", "t2").await.unwrap(), Some(r.clone()));
    assert_eq!(s.take_refresh("t1").await.unwrap(), Use::First(r.clone()));
    assert_eq!(s.take_refresh("t1").await.unwrap(), Use::Again(r.clone()));
    assert!(s.put_new_refresh("t2", &r).await.unwrap());
    assert!(
        !s.put_new_refresh("t2", &record(&f, "other")).await.unwrap(),
        "never re-armed"
    );
    assert_eq!(s.get_refresh("t2").await.unwrap(), Some(r.clone()));
    assert_eq!(s.unrotated_refresh("t1", "t2").await.unwrap(), None, "rotated");
    assert_eq!(s.unrotated_refresh("nothing", "t2").await.unwrap(), None);

    let until = f.clock.now() + Duration::days(30);
    s.add_session_family("sid", "fam", until).await.unwrap();
    s.add_session_family("sid", "fam2", until).await.unwrap();
    assert_eq!(s.session_families("sid").await.unwrap(), vec!["fam", "fam2"]);
    assert!(s.session_families("other").await.unwrap().is_empty());

    f.hot
        .put(&format!("rt:{}", propusk::crypto::digest("bad")), b"{", until)
        .await
        .unwrap();
    assert!(matches!(s.get_refresh("bad").await, Err(StoreError::Corrupt(_))));
    assert!(matches!(s.take_refresh("bad").await, Err(StoreError::Corrupt(_))));
}

pub async fn denials_and_generations_read_back_in_one_call(f: HotFixture) {
    let s = state(&f);
    let now = f.clock.now();
    let entries = [
        Entry::Denied(Denial::Jti("j")),
        Entry::Denied(Denial::Session("s")),
        Entry::Denied(Denial::Family("f")),
        Entry::Generation(Generation::User("u")),
        Entry::Generation(Generation::Role("operator")),
        Entry::LegacyNotBefore("u"),
    ];
    assert_eq!(s.read(&entries).await.unwrap(), vec![None; 6]);
    s.deny(Denial::Session("s"), now + Duration::seconds(30)).await.unwrap();
    let floor = now.unix_timestamp();
    let g = s
        .advance(Generation::User("u"), floor, now + Duration::days(31))
        .await
        .unwrap();
    assert!(g >= floor);
    assert_eq!(
        s.advance(Generation::User("u"), 0, now + Duration::days(31))
            .await
            .unwrap(),
        g + 1
    );
    f.hot
        .put("nbf:user:u", b"1700000000", now + Duration::days(1))
        .await
        .unwrap();
    f.hot
        .put("gen:role:operator", b"garbage", now + Duration::days(1))
        .await
        .unwrap();
    let read = s.read(&entries).await.unwrap();
    assert_eq!(read, vec![None, Some(1), None, Some(g + 1), None, Some(1_700_000_000)]);
    f.clock.advance(Duration::seconds(30));
    assert_eq!(
        s.read(&entries[1..2]).await.unwrap(),
        vec![None],
        "a denial lasts until its time"
    );
    assert_eq!(s.read(&[]).await.unwrap(), Vec::<Option<i64>>::new());
}

pub async fn parked_requests_and_sessions_round_trip_and_bad_data_reads_as_absent(f: HotFixture) {
    let s = state(&f);
    let until = f.clock.now() + Duration::minutes(10);
    let parked = Parked {
        request: AuthorizationRequest {
            response_mode: propusk::oauth::authorize::ResponseMode::FormPost,
            claim_scopes: Scope::parse("profile").unwrap(),
            requires_second_factor: true,
            client_id: ClientId::parse("web").unwrap(),
            redirect_uri: propusk::model::redirect_uri::RedirectUri::parse("https://app.example/cb").unwrap(),
            redirect_uri_given: true,
            scope: Scope::parse("openid").unwrap(),
            state: Some("xyz".into()),
            nonce: None,
            code_challenge: None,
            prompt: Default::default(),
            max_age: None,
            login_hint: None,
            expected_sub: None,
            claims: None,
            login_done: false,
            resource: None,
            ui_locales: Some("ru".into()),
            requested_at: 1_764_600_000,
        },
        browser: "digest".into(),
    };
    assert_eq!(s.parked_request("r").await.unwrap(), None);
    s.park_request("r", &parked, until).await.unwrap();
    assert_eq!(s.parked_request("r").await.unwrap(), Some(parked.clone()));
    s.unpark_request("r").await.unwrap();
    assert_eq!(s.parked_request("r").await.unwrap(), None);
    f.hot.put("authreq:bad", b"not json", until).await.unwrap();
    assert_eq!(s.parked_request("bad").await.unwrap(), None);

    // A pushed request (RFC 9126) is taken once, and not after it expires.
    assert_eq!(s.take_pushed("p").await.unwrap(), None);
    s.push_request("p", &parked.request, until).await.unwrap();
    assert_eq!(s.take_pushed("p").await.unwrap(), Some(parked.request.clone()));
    assert_eq!(s.take_pushed("p").await.unwrap(), None, "once");
    s.push_request("late", &parked.request, f.clock.now() + Duration::seconds(60))
        .await
        .unwrap();
    f.clock.advance(Duration::seconds(61));
    assert_eq!(s.take_pushed("late").await.unwrap(), None, "expired");

    let user = UserId::generate();
    let session = Session {
        sid: "sid-1".into(),
        user_id: user,
        auth_time: 1,
        amr: vec!["pwd".into()],
        created_at: 1,
        account: None,
        marks: Marks::default(),
    };
    s.put_session("cookie", &session, until).await.unwrap();
    assert_eq!(s.session("cookie").await.unwrap(), Some(session));
    s.delete_session("cookie").await.unwrap();
    assert_eq!(s.session("cookie").await.unwrap(), None);
    s.add_user_session(user, "sid-1", until).await.unwrap();
    s.add_user_session(user, "sid-2", until).await.unwrap();
    assert!(s.has_user_session(user, "sid-1").await.unwrap());
    assert_eq!(s.user_sessions(user).await.unwrap(), vec!["sid-1", "sid-2"]);
    assert!(s.remove_user_session(user, "sid-1").await.unwrap());
    assert!(!s.has_user_session(user, "sid-1").await.unwrap());
}
