//! What every relational store must do, whatever the engine.

use propusk::clock::Clock as _;
use propusk::model::account::{Account, AccountId, AccountStatus, Slug};
use propusk::model::application::{Application, ClientId, ClientSecret, GrantType, SigningAlg};
use propusk::model::permission::Permission;
use propusk::model::redirect_uri::RedirectUri;
use propusk::model::role::{RoleName, RoleScope};
use propusk::model::scope::Scope;
use propusk::model::user::{Email, Phone, User, UserId, UserStatus, Username};
use propusk::store::StoreError;
use time::Duration;

use crate::DbFixture;

fn account(f: &DbFixture, slug: &str) -> Account {
    let now = f.clock.now();
    Account {
        id: AccountId::generate(),
        name: format!("{slug} Ltd"),
        slug: Slug::parse(slug).unwrap(),
        status: AccountStatus::Active,
        mfa_required: false,
        created_at: now,
        updated_at: now,
    }
}

fn user(f: &DbFixture, username: &str, role: &str, client_id: Option<AccountId>) -> User {
    let now = f.clock.now();
    User {
        id: UserId::generate(),
        username: Username::parse(username).unwrap(),
        password_hash: Some("$2b$04$abcdefghijklmnopqrstuu5Yb5hQ0p1R9kHqK4I1mFz8U8n0Jm2iW".into()),
        email: None,
        phone: None,
        role: RoleName::parse(role).unwrap(),
        permissions: Vec::new(),
        status: UserStatus::Active,
        client_id,
        name: None,
        email_verified: false,
        phone_verified: false,
        not_before: None,
        created_at: now,
        updated_at: now,
        profile: Default::default(),
    }
}

fn application(f: &DbFixture) -> Application {
    let now = f.clock.now();
    Application {
        client_id: ClientId::generate(),
        name: "Tracking web".into(),
        secret_hash: Some(ClientSecret::generate().hash()),
        redirect_uris: vec![RedirectUri::parse("https://app.example.com/cb").unwrap()],
        post_logout_redirect_uris: vec![RedirectUri::parse("https://app.example.com/bye").unwrap()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: Scope::parse("openid profile offline_access").unwrap(),
        first_party: true,
        may_introspect: false,
        service_role: None,
        account_id: None,
        id_token_alg: SigningAlg::Rs256,
        access_token_ttl: None,
        refresh_token_ttl: None,
        enabled: true,
        resources: vec!["https://billing.example.com".into()],
        token_permissions: false,
        settings: Default::default(),
        generation: 0,
        created_at: now,
        updated_at: now,
    }
}

fn conflict(result: Result<(), StoreError>) -> String {
    match result {
        Err(StoreError::Conflict { constraint }) => constraint,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

pub async fn builtin_roles_exist_with_their_scopes(f: DbFixture) {
    let roles = f.db.list_roles().await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["admin", "client_admin", "client_user", "operator"]);
    let admin =
        f.db.find_role(&RoleName::parse("admin").unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(admin.scope, RoleScope::Staff);
    assert!(
        admin
            .permissions
            .iter()
            .any(|p| p.covers(&Permission::parse("anything:delete").unwrap()))
    );
    let client_user =
        f.db.find_role(&RoleName::parse("client_user").unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(client_user.scope, RoleScope::Account);
    let perms: Vec<String> = client_user.permissions.iter().map(ToString::to_string).collect();
    assert_eq!(perms, ["parcels:create", "parcels:read"]);
    assert!(
        f.db.find_role(&RoleName::parse("nobody").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn accounts_round_trip(f: DbFixture) {
    let a = account(&f, "acme");
    f.db.insert_account(&a).await.unwrap();
    assert_eq!(f.db.find_account(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(f.db.find_account_by_slug(&a.slug).await.unwrap(), Some(a));
    assert_eq!(f.db.find_account(AccountId::generate()).await.unwrap(), None);
    assert_eq!(
        f.db.find_account_by_slug(&Slug::parse("nope").unwrap()).await.unwrap(),
        None
    );
}

pub async fn account_slugs_are_unique(f: DbFixture) {
    f.db.insert_account(&account(&f, "acme")).await.unwrap();
    assert_eq!(
        conflict(f.db.insert_account(&account(&f, "acme")).await),
        "clients_slug_key"
    );
}

pub async fn users_round_trip(f: DbFixture) {
    let a = account(&f, "acme");
    f.db.insert_account(&a).await.unwrap();
    let mut u = user(&f, "ann", "client_admin", Some(a.id));
    u.email = Some(Email::parse("Ann@Acme.example").unwrap());
    u.phone = Some(Phone::parse("+4915112345678").unwrap());
    u.name = Some("Ann Lee".into());
    u.permissions = vec![
        Permission::parse("invoices:read").unwrap(),
        Permission::parse("labels:*").unwrap(),
    ];
    u.email_verified = true;
    u.not_before = Some(f.clock.now() + Duration::seconds(5));
    u.profile = propusk::model::profile::Profile::default()
        .changed(
            serde_json::json!({"given_name": "Ann", "locale": "ru-RU", "address": {"locality": "Москва"}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    f.db.insert_user(&u, &[]).await.unwrap();
    assert_eq!(f.db.find_user(u.id).await.unwrap(), Some(u.clone()));
    // A profile change is written back whole.
    let mut changed = u.clone();
    changed.profile.family_name = Some("Lee".into());
    changed.profile.address = None;
    changed.updated_at = f.clock.now() + Duration::seconds(1);
    f.db.update_user(&changed, u.updated_at, &[]).await.unwrap();
    assert_eq!(f.db.find_user(u.id).await.unwrap(), Some(changed));
    let staff = user(&f, "olga", "operator", None);
    f.db.insert_user(&staff, &[]).await.unwrap();
    assert_eq!(f.db.find_user(staff.id).await.unwrap(), Some(staff));
    assert_eq!(f.db.find_user(UserId::generate()).await.unwrap(), None);
}

pub async fn a_user_write_from_a_stale_read_changes_nothing(f: DbFixture) {
    let ann = user(&f, "ann", "operator", None);
    f.db.insert_user(&ann, &[]).await.unwrap();
    let read = f.db.find_user(ann.id).await.unwrap().unwrap();
    // An administrator blocks Ann ...
    let mut blocked = read.clone();
    blocked.status = UserStatus::Blocked;
    blocked.updated_at = f.clock.now() + Duration::seconds(1);
    f.db.update_user(&blocked, read.updated_at, &[]).await.unwrap();
    // ... while a profile edit from the row read before is under way: it must not unblock her.
    let mut edit = read.clone();
    edit.name = Some("Ann the Unblocked".into());
    edit.updated_at = f.clock.now() + Duration::seconds(2);
    assert_eq!(
        conflict(f.db.update_user(&edit, read.updated_at, &[]).await),
        "users_changed"
    );
    let now = f.db.find_user(ann.id).await.unwrap().unwrap();
    assert_eq!((now.status, now.name), (UserStatus::Blocked, read.name));
    assert_eq!(
        conflict(
            f.db.update_user(&user(&f, "ghost", "operator", None), read.updated_at, &[])
                .await
        ),
        "users_changed",
        "no such user"
    );
}

pub async fn account_and_application_writes_from_a_stale_read_change_nothing(f: DbFixture) {
    let acme = account(&f, "acme");
    f.db.insert_account(&acme).await.unwrap();
    let read = f.db.find_account(acme.id).await.unwrap().unwrap();
    let mut suspended = read.clone();
    suspended.status = AccountStatus::Suspended;
    suspended.updated_at = f.clock.now() + Duration::seconds(1);
    f.db.update_account(&suspended, read.updated_at).await.unwrap();
    let mut renamed = read.clone();
    renamed.name = "ACME (renamed)".into();
    renamed.updated_at = f.clock.now() + Duration::seconds(2);
    assert_eq!(
        conflict(f.db.update_account(&renamed, read.updated_at).await),
        "clients_changed"
    );
    let now = f.db.find_account(acme.id).await.unwrap().unwrap();
    assert_eq!((now.status, now.name), (AccountStatus::Suspended, read.name));

    let app = application(&f);
    f.db.insert_application(&app).await.unwrap();
    let read = f.db.find_application(&app.client_id).await.unwrap().unwrap();
    let mut disabled = read.clone();
    disabled.enabled = false;
    disabled.updated_at = f.clock.now() + Duration::seconds(1);
    f.db.update_application(&disabled, read.updated_at).await.unwrap();
    let mut renamed = read.clone();
    renamed.name = "Renamed".into();
    renamed.updated_at = f.clock.now() + Duration::seconds(2);
    assert_eq!(
        conflict(f.db.update_application(&renamed, read.updated_at).await),
        "applications_changed"
    );
    let now = f.db.find_application(&app.client_id).await.unwrap().unwrap();
    assert!(!now.enabled, "a stale write does not re-enable the application");
    assert_eq!(now.resources, read.resources, "resources round-trip");
}

pub async fn users_are_found_by_username_or_email_ignoring_case(f: DbFixture) {
    let mut u = user(&f, "ann.lee", "admin", None);
    u.email = Some(Email::parse("Ann.Lee@example.com").unwrap());
    f.db.insert_user(&u, &[]).await.unwrap();
    for login in [
        "ann.lee",
        "ANN.LEE",
        "Ann.Lee@example.com",
        "ann.lee@EXAMPLE.com",
        " ann.lee ",
    ] {
        let found = f.db.find_user_by_login(login).await.unwrap();
        assert_eq!(found.map(|x| x.id), Some(u.id), "{login}");
    }
    assert!(f.db.find_user_by_login("ann").await.unwrap().is_none());
    assert!(f.db.find_user_by_login("").await.unwrap().is_none());
}

pub async fn deleted_users_cannot_be_found_by_login(f: DbFixture) {
    let mut u = user(&f, "gone", "admin", None);
    u.status = UserStatus::Deleted;
    f.db.insert_user(&u, &[]).await.unwrap();
    assert!(f.db.find_user_by_login("gone").await.unwrap().is_none());
    assert_eq!(
        f.db.find_user(u.id).await.unwrap().map(|x| x.status),
        Some(UserStatus::Deleted)
    );
}

pub async fn usernames_and_emails_are_unique(f: DbFixture) {
    let mut first = user(&f, "ann", "admin", None);
    first.email = Some(Email::parse("ann@example.com").unwrap());
    f.db.insert_user(&first, &[]).await.unwrap();
    assert_eq!(
        conflict(f.db.insert_user(&user(&f, "ann", "operator", None), &[]).await),
        "users_username_key"
    );
    let mut other = user(&f, "bob", "admin", None);
    other.email = Some(Email::parse("ANN@example.com").unwrap());
    assert_eq!(conflict(f.db.insert_user(&other, &[]).await), "users_email_key");
    let mut same_id = user(&f, "carl", "admin", None);
    same_id.id = first.id;
    assert_eq!(conflict(f.db.insert_user(&same_id, &[]).await), "users_pkey");
    assert!(
        f.db.find_user_by_login("bob").await.unwrap().is_none(),
        "a refused write leaves nothing"
    );
}

pub async fn references_must_exist(f: DbFixture) {
    assert_eq!(
        conflict(f.db.insert_user(&user(&f, "ann", "no_such_role", None), &[]).await),
        "foreign_key"
    );
    assert_eq!(
        conflict(
            f.db.insert_user(&user(&f, "bob", "client_user", Some(AccountId::generate())), &[])
                .await
        ),
        "foreign_key"
    );
    let mut app = application(&f);
    app.account_id = Some(AccountId::generate());
    assert_eq!(conflict(f.db.insert_application(&app).await), "foreign_key");
}

pub async fn applications_round_trip(f: DbFixture) {
    let a = account(&f, "acme");
    f.db.insert_account(&a).await.unwrap();
    let app = application(&f);
    f.db.insert_application(&app).await.unwrap();
    assert_eq!(f.db.find_application(&app.client_id).await.unwrap(), Some(app));
    let service = Application {
        client_id: ClientId::generate(),
        secret_hash: Some(ClientSecret::generate().hash()),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        scopes: Scope::parse("parcels").unwrap(),
        first_party: false,
        may_introspect: true,
        service_role: Some(RoleName::parse("client_user").unwrap()),
        account_id: Some(a.id),
        id_token_alg: SigningAlg::Es256,
        access_token_ttl: Some(Duration::minutes(5)),
        refresh_token_ttl: Some(Duration::days(1)),
        ..application(&f)
    };
    f.db.insert_application(&service).await.unwrap();
    assert_eq!(f.db.find_application(&service.client_id).await.unwrap(), Some(service));
    let public = Application {
        client_id: ClientId::generate(),
        secret_hash: None,
        ..application(&f)
    };
    f.db.insert_application(&public).await.unwrap();
    assert!(
        f.db.find_application(&public.client_id)
            .await
            .unwrap()
            .unwrap()
            .is_public()
    );
    assert_eq!(
        f.db.find_application(&ClientId::parse("unknown").unwrap())
            .await
            .unwrap(),
        None
    );
}

pub async fn application_ids_are_unique(f: DbFixture) {
    let app = application(&f);
    f.db.insert_application(&app).await.unwrap();
    assert_eq!(conflict(f.db.insert_application(&app).await), "applications_pkey");
}

pub async fn the_database_answers_pings(f: DbFixture) {
    f.db.ping().await.unwrap();
    assert!(["postgres", "sqlite"].contains(&f.db.engine()));
}

pub async fn audit_rows_are_appended_one_at_a_time_in_a_chain(f: DbFixture) {
    use propusk::audit::{AuditRecord, Auditor, RequestContext};
    let auditor = std::sync::Arc::new(Auditor::new(f.db.clone(), &[9; 32], "https://auth.example.com"));
    let at = f.clock.now();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let auditor = auditor.clone();
            tokio::spawn(async move {
                let ctx = RequestContext {
                    ip: Some("10.0.0.1".into()),
                    user_agent: Some("test".into()),
                };
                auditor
                    .record(AuditRecord::login_failed(at, &format!("user{i}"), "login_page", &ctx))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.sort();
    assert_eq!(
        ids,
        (1..=16).collect::<Vec<i64>>(),
        "consecutive ids, no two writers on one slot"
    );
    let check = auditor.verify().await.unwrap();
    assert_eq!((check.rows, check.broken_at), (16, None));
    let page = f.db.audit_page(0, 100).await.unwrap();
    assert_eq!(page.len(), 16);
    assert_eq!(page[0].record.ip.as_deref(), Some("10.0.0.1"));
    assert_eq!(page[0].record.details["via"], "login_page");
    let events = f.db.outbox_unsent(100).await.unwrap();
    assert_eq!(
        events.len(),
        16,
        "each record also went to the outbox, in the same transaction"
    );
    assert!(
        events
            .iter()
            .all(|e| e.topic == "propusk.audit" && e.payload["type"] == "audit.login")
    );
    let other_key = Auditor::new(f.db.clone(), &[8; 32], "https://auth.example.com")
        .verify()
        .await
        .unwrap();
    assert_eq!(
        other_key.broken_at.as_deref(),
        Some("row 1 was altered"),
        "the chain needs the key"
    );
}

pub async fn a_user_and_its_event_are_written_in_one_transaction(f: DbFixture) {
    use propusk::events::UserEvent;
    let ann = user(&f, "ann", "operator", None);
    let event = UserEvent::created("https://auth.example.com", &ann);
    f.db.insert_user(&ann, std::slice::from_ref(&event)).await.unwrap();
    let rows = f.db.outbox_unsent(10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].topic.as_str(), rows[0].key.as_str()),
        ("propusk.user-events", ann.id.to_string().as_str())
    );
    assert_eq!(rows[0].payload, event.payload, "the CloudEvent round-trips");
    assert_eq!(rows[0].payload["type"], "user.created");
    assert_eq!(rows[0].payload["specversion"], "1.0");
    assert_eq!(rows[0].payload["data"]["username"], "ann");

    // A refused write leaves no event behind.
    let again = user(&f, "ann", "admin", None);
    let refused =
        f.db.insert_user(&again, &[UserEvent::created("https://auth.example.com", &again)])
            .await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })));
    assert_eq!(f.db.outbox_unsent(10).await.unwrap().len(), 1);
}

pub async fn outbox_rows_leave_the_queue_in_order_once_marked_sent(f: DbFixture) {
    use propusk::events::UserEvent;
    for name in ["ann", "bob", "cat"] {
        let u = user(&f, name, "operator", None);
        f.db.insert_user(&u, &[UserEvent::created("s", &u)]).await.unwrap();
    }
    let rows = f.db.outbox_unsent(10).await.unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r.payload["data"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "bob", "cat"]);
    f.db.outbox_mark_sent(&[rows[0].id, rows[1].id], f.clock.now())
        .await
        .unwrap();
    let left = f.db.outbox_unsent(10).await.unwrap();
    assert_eq!(left.iter().map(|r| r.id).collect::<Vec<_>>(), [rows[2].id]);
    assert_eq!(f.db.outbox_unsent(0).await.unwrap().len(), 0);
}

pub async fn sent_events_go_after_their_retention_and_the_oldest_wait_is_known(f: DbFixture) {
    use propusk::events::UserEvent;
    assert_eq!(f.db.outbox_oldest_unsent().await.unwrap(), None);
    for name in ["ann", "bob", "cat"] {
        let u = user(&f, name, "operator", None);
        f.db.insert_user(&u, &[UserEvent::created("s", &u)]).await.unwrap();
    }
    let rows = f.db.outbox_unsent(10).await.unwrap();
    let oldest = f.db.outbox_oldest_unsent().await.unwrap().unwrap();
    assert!((oldest - f.clock.now()).abs() < time::Duration::seconds(5));
    let t0 = f.clock.now();
    f.db.outbox_mark_sent(&[rows[0].id], t0).await.unwrap();
    f.db.outbox_mark_sent(&[rows[1].id], t0 + time::Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(
        f.db.outbox_purge_sent(t0).await.unwrap(),
        0,
        "sent at t0 is not before t0"
    );
    assert_eq!(f.db.outbox_purge_sent(t0 + time::Duration::hours(1)).await.unwrap(), 1);
    assert_eq!(f.db.outbox_purge_sent(t0 + time::Duration::days(1)).await.unwrap(), 1);
    let left = f.db.outbox_unsent(10).await.unwrap();
    assert_eq!(
        left.iter().map(|r| r.id).collect::<Vec<_>>(),
        [rows[2].id],
        "unsent rows stay"
    );
    assert_eq!(f.db.outbox_backlog().await.unwrap(), 1);
    assert!(f.db.outbox_oldest_unsent().await.unwrap().is_some());
}

pub async fn factors_confirm_once_accept_each_totp_step_once_and_recovery_codes_once(f: DbFixture) {
    use propusk::model::mfa::{self, FactorKind};
    let u = user(&f, "ann", "operator", None);
    f.db.insert_user(&u, &[]).await.unwrap();
    let now = f.clock.now();
    let (totp, _) = mfa::new_totp(&[1u8; 32], u.id, now).unwrap();
    f.db.insert_factor(&totp).await.unwrap();
    let mut sms = totp.clone();
    sms.id = uuid::Uuid::now_v7();
    sms.kind = FactorKind::Sms;
    sms.secret_enc = None;
    sms.target = Some("+4915112345678".into());
    sms.created_at = now + Duration::seconds(1);
    f.db.insert_factor(&sms).await.unwrap();
    assert_eq!(f.db.list_factors(u.id).await.unwrap(), vec![totp.clone(), sms.clone()]);

    let other = UserId::generate();
    assert!(
        !f.db.confirm_factor(other, totp.id, now, Some(7)).await.unwrap(),
        "not theirs"
    );
    assert!(f.db.confirm_factor(u.id, totp.id, now, Some(7)).await.unwrap());
    assert!(!f.db.confirm_factor(u.id, totp.id, now, Some(8)).await.unwrap(), "once");
    let stored = &f.db.list_factors(u.id).await.unwrap()[0];
    assert!(stored.is_confirmed());
    assert_eq!(stored.last_used_step, Some(7));
    assert!(!f.db.use_totp_step(totp.id, 7).await.unwrap(), "a step is used once");
    assert!(!f.db.use_totp_step(totp.id, 6).await.unwrap(), "nor an earlier one");
    assert!(f.db.use_totp_step(totp.id, 8).await.unwrap());

    let codes = mfa::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|(_, h)| h.clone()).collect();
    f.db.replace_recovery_codes(u.id, &hashes, now).await.unwrap();
    assert_eq!(f.db.recovery_codes_left(u.id).await.unwrap(), 10);
    assert!(f.db.use_recovery_code(u.id, &hashes[3], now).await.unwrap());
    assert!(
        !f.db.use_recovery_code(u.id, &hashes[3], now).await.unwrap(),
        "single use"
    );
    assert!(
        !f.db.use_recovery_code(other, &hashes[4], now).await.unwrap(),
        "not theirs"
    );
    assert_eq!(f.db.recovery_codes_left(u.id).await.unwrap(), 9);

    assert!(!f.db.delete_factor(other, sms.id).await.unwrap());
    assert!(f.db.delete_factor(u.id, sms.id).await.unwrap());
    assert_eq!(f.db.delete_factors(u.id).await.unwrap(), 1);
    assert!(f.db.list_factors(u.id).await.unwrap().is_empty());
    assert_eq!(
        f.db.recovery_codes_left(u.id).await.unwrap(),
        0,
        "recovery codes go with them"
    );
}

pub async fn a_required_factor_goes_only_while_another_confirmed_one_stays(f: DbFixture) {
    use propusk::model::mfa::{Factor, FactorKind};
    use propusk::store::FactorRemoval::{Refused, Removed};
    let u = user(&f, "ann", "operator", None);
    f.db.insert_user(&u, &[]).await.unwrap();
    let now = f.clock.now();
    let factor = |kind: FactorKind, confirmed: bool| Factor {
        id: uuid::Uuid::now_v7(),
        user_id: u.id,
        kind,
        secret_enc: None,
        target: Some("ann@example.com".into()),
        confirmed_at: confirmed.then_some(now),
        last_used_step: None,
        created_at: now,
    };

    // Two removals at once of a user's two factors: one goes, the other is refused.
    for round in 0..5 {
        let (email, sms) = (factor(FactorKind::Email, true), factor(FactorKind::Sms, true));
        f.db.insert_factor(&email).await.unwrap();
        f.db.insert_factor(&sms).await.unwrap();
        let (one, other) = ([email.id], [sms.id]);
        let (first, second) = tokio::join!(
            f.db.delete_factors_keeping(u.id, &one, true),
            f.db.delete_factors_keeping(u.id, &other, true),
        );
        let outcomes = [first.unwrap(), second.unwrap()];
        assert!(
            outcomes.contains(&Removed(1)) && outcomes.contains(&Refused),
            "round {round}: {outcomes:?}"
        );
        let left = f.db.list_factors(u.id).await.unwrap();
        assert_eq!(left.len(), 1, "round {round}: exactly one stays");
        assert_eq!(
            f.db.delete_factors_keeping(u.id, &[left[0].id], true).await.unwrap(),
            Refused,
            "the last confirmed factor stays while one must"
        );
        assert_eq!(
            f.db.delete_factors_keeping(u.id, &[left[0].id], false).await.unwrap(),
            Removed(1),
            "and goes when none must"
        );
        assert!(f.db.list_factors(u.id).await.unwrap().is_empty());
    }

    // Removing several at once is all or nothing.
    let (email, sms, totp) = (
        factor(FactorKind::Email, true),
        factor(FactorKind::Sms, true),
        factor(FactorKind::Totp, false),
    );
    for each in [&email, &sms, &totp] {
        f.db.insert_factor(each).await.unwrap();
    }
    assert_eq!(
        f.db.delete_factors_keeping(u.id, &[email.id, sms.id], true)
            .await
            .unwrap(),
        Refused
    );
    assert_eq!(f.db.list_factors(u.id).await.unwrap().len(), 3, "nothing went");
    assert_eq!(
        f.db.delete_factors_keeping(u.id, &[email.id, totp.id], true)
            .await
            .unwrap(),
        Removed(2),
        "a confirmed one stays"
    );
    assert_eq!(
        f.db.delete_factors_keeping(UserId::generate(), &[sms.id], false)
            .await
            .unwrap(),
        Removed(0),
        "not theirs"
    );
    assert_eq!(
        f.db.delete_factors_keeping(u.id, &[email.id], true).await.unwrap(),
        Removed(0),
        "gone already"
    );
    assert_eq!(f.db.list_factors(u.id).await.unwrap(), vec![sms]);

    // An unconfirmed enrolment goes even when no confirmed factor is left.
    f.db.delete_factors(u.id).await.unwrap();
    let enrolment = factor(FactorKind::Totp, false);
    f.db.insert_factor(&enrolment).await.unwrap();
    assert_eq!(
        f.db.delete_factors_keeping(u.id, &[enrolment.id], true).await.unwrap(),
        Removed(1)
    );
}

pub async fn recovery_codes_replaced_at_once_leave_one_set(f: DbFixture) {
    use propusk::model::mfa;
    let u = user(&f, "ann", "operator", None);
    f.db.insert_user(&u, &[]).await.unwrap();
    let now = f.clock.now();
    let set = || {
        mfa::new_recovery_codes()
            .into_iter()
            .map(|(_, hash)| hash)
            .collect::<Vec<Vec<u8>>>()
    };
    f.db.replace_recovery_codes(u.id, &set(), now).await.unwrap();
    for round in 0..5 {
        let (a, b) = (set(), set());
        let (first, second) = tokio::join!(
            f.db.replace_recovery_codes(u.id, &a, now),
            f.db.replace_recovery_codes(u.id, &b, now),
        );
        first.unwrap();
        second.unwrap();
        assert_eq!(
            f.db.recovery_codes_left(u.id).await.unwrap(),
            i64::try_from(a.len()).unwrap(),
            "round {round}: one set, not both"
        );
        let a_works = f.db.use_recovery_code(u.id, &a[0], now).await.unwrap();
        let b_works = f.db.use_recovery_code(u.id, &b[0], now).await.unwrap();
        assert_ne!(a_works, b_works, "round {round}: the codes of exactly one set work");
    }
}

pub async fn federated_users_and_their_links_are_written_all_or_nothing(f: DbFixture) {
    use propusk::events::UserEvent;
    use propusk::model::idp::{FederatedLink, IdentityProvider};
    let acme = account(&f, "acme");
    f.db.insert_account(&acme).await.unwrap();
    let now = f.clock.now();
    let mut idp = IdentityProvider::new(
        acme.id,
        url::Url::parse("https://login.acme.example").unwrap(),
        "propusk".into(),
        now,
    );
    idp.domains = vec!["acme.example".into()];
    f.db.insert_idp(&idp).await.unwrap();
    let issuer = "https://login.acme.example";
    let link = |subject: &str, user: &User| FederatedLink {
        issuer: issuer.into(),
        subject: subject.into(),
        user_id: user.id,
        idp_id: idp.id,
        created_at: now,
        last_login_at: None,
    };
    let created = |u: &User| vec![UserEvent::created("https://auth.example.com", u)];

    let ann = user(&f, "ann", "client_user", Some(acme.id));
    f.db.insert_federated_user(&ann, &link("sub-1", &ann), &created(&ann))
        .await
        .unwrap();
    let found = f.db.find_link(idp.id, issuer, "sub-1").await.unwrap().unwrap();
    assert_eq!((found.user_id, found.idp_id), (ann.id, idp.id));
    assert!(
        f.db.find_link(idp.id, issuer, "SUB-1").await.unwrap().is_none(),
        "subjects are exact"
    );
    assert!(
        f.db.find_link(idp.id, "https://other.example", "sub-1")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(f.db.outbox_unsent(10).await.unwrap().len(), 1);

    // A user that cannot be written leaves no link or event; a taken link leaves no user.
    let clash = user(&f, "ann", "client_user", Some(acme.id));
    let refused =
        f.db.insert_federated_user(&clash, &link("sub-2", &clash), &created(&clash))
            .await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
    assert!(f.db.find_link(idp.id, issuer, "sub-2").await.unwrap().is_none());
    let bob = user(&f, "bob", "client_user", Some(acme.id));
    let refused =
        f.db.insert_federated_user(&bob, &link("sub-1", &bob), &created(&bob))
            .await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
    assert!(f.db.find_user_by_login("bob").await.unwrap().is_none());
    assert_eq!(f.db.outbox_unsent(10).await.unwrap().len(), 1);

    // Linking an existing user; a second link of the same identity conflicts.
    f.db.insert_link(&link("sub-3", &ann)).await.unwrap();
    conflict(f.db.insert_link(&link("sub-3", &ann)).await);
    let at = now + Duration::minutes(5);
    f.db.touch_link(&link("sub-3", &ann), at).await.unwrap();
    let touched = f.db.find_link(idp.id, issuer, "sub-3").await.unwrap().unwrap();
    assert_eq!(
        touched.last_login_at.map(|t| t.unix_timestamp()),
        Some(at.unix_timestamp())
    );
    assert!(
        f.db.find_link(uuid::Uuid::new_v4(), issuer, "sub-3")
            .await
            .unwrap()
            .is_none(),
        "a link answers only for its own provider"
    );

    // Erasing a user erases its links.
    let mut erased = ann.clone();
    erased.status = UserStatus::Deleted;
    f.db.update_user(&erased, ann.updated_at, &[]).await.unwrap();
    assert!(f.db.find_link(idp.id, issuer, "sub-1").await.unwrap().is_none());
    assert!(f.db.find_link(idp.id, issuer, "sub-3").await.unwrap().is_none());

    // Removing the provider removes its links.
    let cat = user(&f, "cat", "client_user", Some(acme.id));
    f.db.insert_federated_user(&cat, &link("sub-4", &cat), &[])
        .await
        .unwrap();
    assert!(f.db.delete_idp(idp.id).await.unwrap());
    assert!(f.db.find_link(idp.id, issuer, "sub-4").await.unwrap().is_none());
}

pub async fn listings_page_in_order_and_filter(f: DbFixture) {
    use propusk::store::UserFilter;
    let acme = account(&f, "acme");
    let globex = account(&f, "globex");
    for a in [&acme, &globex] {
        f.db.insert_account(a).await.unwrap();
    }
    let first = f.db.list_accounts(None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    let rest = f.db.list_accounts(Some(first[0].id), 10).await.unwrap();
    assert_eq!(rest.len(), 1, "the cursor continues after the first page");
    assert_ne!(rest[0].id, first[0].id);

    let mut ann = user(&f, "ann", "client_admin", Some(acme.id));
    ann.email = Some(Email::parse("ann@acme.example").unwrap());
    let bob = user(&f, "bob", "client_user", Some(acme.id));
    let mut cat = user(&f, "cat", "client_user", Some(globex.id));
    cat.status = UserStatus::Blocked;
    let olga = user(&f, "olga", "operator", None);
    for u in [&ann, &bob, &cat, &olga] {
        f.db.insert_user(u, &[]).await.unwrap();
    }
    let names = |users: Vec<User>| users.iter().map(|u| u.username.as_str().to_owned()).collect::<Vec<_>>();
    let all = f.db.list_users(&UserFilter::default(), 10).await.unwrap();
    assert_eq!(all.len(), 4);
    let of_acme = UserFilter {
        account: Some(acme.id),
        ..Default::default()
    };
    let mut acme_names = names(f.db.list_users(&of_acme, 10).await.unwrap());
    acme_names.sort();
    assert_eq!(acme_names, ["ann", "bob"]);
    let by_role = UserFilter {
        role: Some("client_user".into()),
        status: Some("blocked".into()),
        ..Default::default()
    };
    assert_eq!(names(f.db.list_users(&by_role, 10).await.unwrap()), ["cat"]);
    let by_text = |q: &str| UserFilter {
        query: Some(q.into()),
        ..Default::default()
    };
    let search = |q: &'static str| {
        let filter = by_text(q);
        let db = f.db.clone();
        async move {
            let mut found = names(db.list_users(&filter, 10).await.unwrap());
            found.sort();
            found
        }
    };
    assert_eq!(search("*ACME.EX*").await, ["ann"], "contains, in the email, any case");
    assert_eq!(search("O").await, ["olga"], "starts with, any case");
    assert_eq!(search("ann@").await, ["ann"], "the email's start");
    assert_eq!(search("*.example").await, ["ann"], "ends with");
    assert_eq!(search("\"ann@acme.example\"").await, ["ann"], "exactly");
    assert!(search("\"ann@acme\"").await.is_empty(), "exactly, not a start");
    assert!(search("cme").await.is_empty(), "a start, not a substring");
    assert_eq!(search("").await.len(), 4, "an empty start matches everyone");
    let page = f.db.list_users(&UserFilter::default(), 2).await.unwrap();
    let next = UserFilter {
        after: Some(page[1].id),
        ..Default::default()
    };
    let rest = f.db.list_users(&next, 10).await.unwrap();
    assert_eq!(page.len() + rest.len(), 4, "pages cover everyone once");
    assert!(rest.iter().all(|u| !page.contains(u)));

    let mut apps = vec![application(&f), application(&f), application(&f)];
    for app in &apps {
        f.db.insert_application(app).await.unwrap();
    }
    apps.sort_by(|a, b| a.client_id.as_str().cmp(b.client_id.as_str()));
    let listed = f.db.list_applications(None, 2).await.unwrap();
    assert_eq!(
        listed.iter().map(|a| a.client_id.clone()).collect::<Vec<_>>(),
        [apps[0].client_id.clone(), apps[1].client_id.clone()],
        "in client_id order"
    );
    let rest = f.db.list_applications(Some(&apps[1].client_id), 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].client_id, apps[2].client_id);
}

pub async fn roles_change_and_go_only_while_nobody_holds_them(f: DbFixture) {
    let now = f.clock.now();
    let mut role = propusk::model::role::Role {
        name: RoleName::parse("dispatcher").unwrap(),
        description: "Dispatches parcels".into(),
        scope: RoleScope::Staff,
        permissions: vec![Permission::parse("parcels:*").unwrap()],
        builtin: false,
        created_at: now,
        updated_at: now,
    };
    f.db.insert_role(&role).await.unwrap();
    assert!(!conflict(f.db.insert_role(&role).await).is_empty(), "names are unique");
    role.permissions = vec![Permission::parse("parcels:read").unwrap()];
    role.description = "Reads parcels".into();
    f.db.update_role(&role).await.unwrap();
    let found = f.db.find_role(&role.name).await.unwrap().unwrap();
    assert_eq!(
        (found.permissions, found.description),
        (role.permissions.clone(), role.description.clone())
    );
    assert!(f.db.list_roles().await.unwrap().iter().any(|r| r.name == role.name));
    let holder = user(&f, "dana", "dispatcher", None);
    f.db.insert_user(&holder, &[]).await.unwrap();
    assert_eq!(
        conflict(f.db.delete_role(&role.name).await),
        "foreign_key",
        "held roles stay"
    );
    let mut gone = holder.clone();
    gone.role = RoleName::parse("operator").unwrap();
    gone.updated_at = now + Duration::seconds(1);
    f.db.update_user(&gone, holder.updated_at, &[]).await.unwrap();
    f.db.delete_role(&role.name).await.unwrap();
    assert_eq!(f.db.find_role(&role.name).await.unwrap(), None);
}

pub async fn consent_is_kept_per_user_and_application_and_goes_with_the_application(f: DbFixture) {
    let app = application(&f);
    f.db.insert_application(&app).await.unwrap();
    let ann = user(&f, "ann", "operator", None);
    f.db.insert_user(&ann, &[]).await.unwrap();
    assert_eq!(f.db.find_consent(ann.id, &app.client_id).await.unwrap(), None);
    let first = Scope::parse("openid parcels:read").unwrap();
    f.db.save_consent(ann.id, &app.client_id, &first, f.clock.now())
        .await
        .unwrap();
    assert_eq!(f.db.find_consent(ann.id, &app.client_id).await.unwrap(), Some(first));
    let wider = Scope::parse("openid parcels:read offline_access").unwrap();
    f.db.save_consent(ann.id, &app.client_id, &wider, f.clock.now())
        .await
        .unwrap();
    assert_eq!(f.db.find_consent(ann.id, &app.client_id).await.unwrap(), Some(wider));
    f.db.delete_application(&app.client_id).await.unwrap();
    assert_eq!(f.db.find_consent(ann.id, &app.client_id).await.unwrap(), None);
    assert!(matches!(
        f.db.delete_application(&app.client_id).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn the_audit_head_follows_the_chain_and_search_filters(f: DbFixture) {
    use propusk::audit::{Action, AuditRecord, Auditor, Outcome, RequestContext};
    let acme = account(&f, "acme");
    f.db.insert_account(&acme).await.unwrap();
    assert_eq!(f.db.audit_head().await.unwrap(), None, "no head before the first row");
    let auditor = Auditor::new(f.db.clone(), &[9; 32], "https://auth.example.com");
    let at = f.clock.now();
    let ctx = RequestContext::default();
    auditor
        .record(AuditRecord::login_failed(at, "ann", "login_page", &ctx))
        .await
        .unwrap();
    auditor
        .record(AuditRecord::change(
            at,
            Action::UserBlock,
            "user",
            "u-1",
            Some(acme.id),
            serde_json::json!({}),
        ))
        .await
        .unwrap();
    let last = auditor
        .record(AuditRecord::change(
            at,
            Action::RoleUpdate,
            "role",
            "dispatcher",
            None,
            serde_json::json!({}),
        ))
        .await
        .unwrap();
    let (head, _) = f.db.audit_head().await.unwrap().unwrap();
    assert_eq!(head, last, "the head names the last row");
    let db = &f.db;
    let search = |filter: propusk::store::AuditFilter| async move { db.audit_search(&filter, 10).await.unwrap() };
    let newest_first = search(Default::default()).await;
    assert_eq!(newest_first.iter().map(|r| r.id).collect::<Vec<_>>(), [3, 2, 1]);
    let blocks = search(propusk::store::AuditFilter {
        action: Some("user.block".into()),
        ..Default::default()
    })
    .await;
    assert_eq!((blocks.len(), blocks[0].record.target_id.as_deref()), (1, Some("u-1")));
    let of_acme = search(propusk::store::AuditFilter {
        account: Some(acme.id),
        ..Default::default()
    })
    .await;
    assert_eq!(of_acme.len(), 1);
    let failures = search(propusk::store::AuditFilter {
        outcome: Some(Outcome::Failure.as_str().into()),
        ..Default::default()
    })
    .await;
    assert_eq!(failures.len(), 1);
    let older = search(propusk::store::AuditFilter {
        before: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(older.iter().map(|r| r.id).collect::<Vec<_>>(), [1], "the cursor");
    let by_target = search(propusk::store::AuditFilter {
        target_id: Some("dispatcher".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_target.len(), 1);
}

pub async fn events_without_a_change_queue_and_count_in_the_backlog(f: DbFixture) {
    use propusk::events::UserEvent;
    assert_eq!(f.db.outbox_backlog().await.unwrap(), 0);
    let ann = user(&f, "ann", "operator", None);
    f.db.outbox_enqueue(&[UserEvent::created("s", &ann), UserEvent::created("s", &ann)])
        .await
        .unwrap();
    assert_eq!(f.db.outbox_backlog().await.unwrap(), 2);
    let rows = f.db.outbox_unsent(10).await.unwrap();
    f.db.outbox_mark_sent(&[rows[0].id], f.clock.now()).await.unwrap();
    assert_eq!(f.db.outbox_backlog().await.unwrap(), 1);
    f.db.outbox_enqueue(&[]).await.unwrap();
    assert_eq!(f.db.outbox_backlog().await.unwrap(), 1, "nothing to queue is no error");
}

pub async fn identity_providers_are_found_listed_and_changed(f: DbFixture) {
    use propusk::model::idp::{FederatedLink, IdentityProvider};
    let acme = account(&f, "acme");
    let globex = account(&f, "globex");
    for a in [&acme, &globex] {
        f.db.insert_account(a).await.unwrap();
    }
    let now = f.clock.now();
    let upstream = |account: AccountId, host: &str| {
        IdentityProvider::new(account, url::Url::parse(host).unwrap(), "propusk".into(), now)
    };
    let mut first = upstream(acme.id, "https://login.acme.example");
    let second = upstream(acme.id, "https://sso.acme.example");
    let other = upstream(globex.id, "https://login.globex.example");
    for idp in [&first, &second, &other] {
        f.db.insert_idp(idp).await.unwrap();
    }
    assert_eq!(f.db.find_idp(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(f.db.find_idp(uuid::Uuid::new_v4()).await.unwrap(), None);
    let of_acme = f.db.list_idps(Some(acme.id)).await.unwrap();
    assert_eq!(
        of_acme.iter().map(|i| i.id).collect::<Vec<_>>(),
        [first.id, second.id],
        "oldest first"
    );
    assert_eq!(f.db.list_idps(None).await.unwrap().len(), 3);
    first.sso_required = true;
    first.domains = vec!["acme.example".into()];
    first.updated_at = now + Duration::seconds(1);
    f.db.update_idp(&first).await.unwrap();
    assert_eq!(f.db.find_idp(first.id).await.unwrap(), Some(first.clone()));

    let ann = user(&f, "ann", "client_user", Some(acme.id));
    f.db.insert_user(&ann, &[]).await.unwrap();
    assert!(f.db.links_of(ann.id).await.unwrap().is_empty());
    for (idp, subject) in [(&first, "a-1"), (&second, "a-2")] {
        let link = FederatedLink {
            issuer: idp.issuer.as_str().trim_end_matches('/').into(),
            subject: subject.into(),
            user_id: ann.id,
            idp_id: idp.id,
            created_at: now,
            last_login_at: None,
        };
        f.db.insert_link(&link).await.unwrap();
    }
    let links = f.db.links_of(ann.id).await.unwrap();
    assert_eq!(
        links.iter().map(|l| l.subject.as_str()).collect::<Vec<_>>(),
        ["a-1", "a-2"]
    );
}

/// With the last confirmed factor go the enrolments and the recovery codes — decided in the
/// same turn as the delete, so an authenticator confirmed meanwhile stays with its codes.
pub async fn factors_clear_only_while_none_is_confirmed(f: DbFixture) {
    use propusk::model::mfa::{self, Factor, FactorKind};
    let u = user(&f, "ann", "operator", None);
    f.db.insert_user(&u, &[]).await.unwrap();
    let now = f.clock.now();
    let factor = |confirmed: bool| Factor {
        id: uuid::Uuid::now_v7(),
        user_id: u.id,
        kind: FactorKind::Email,
        secret_enc: None,
        target: Some("ann@example.com".into()),
        confirmed_at: confirmed.then_some(now),
        last_used_step: None,
        created_at: now,
    };
    let codes: Vec<Vec<u8>> = mfa::new_recovery_codes().into_iter().map(|(_, hash)| hash).collect();
    f.db.replace_recovery_codes(u.id, &codes, now).await.unwrap();
    let (confirmed, pending) = (factor(true), factor(false));
    f.db.insert_factor(&confirmed).await.unwrap();
    f.db.insert_factor(&pending).await.unwrap();
    assert!(!f.db.delete_factors_unless_confirmed(u.id).await.unwrap());
    assert_eq!(
        f.db.list_factors(u.id).await.unwrap().len(),
        2,
        "a confirmed factor keeps them all"
    );
    assert_eq!(f.db.recovery_codes_left(u.id).await.unwrap(), 10);
    f.db.delete_factors_keeping(u.id, &[confirmed.id], false).await.unwrap();
    assert!(f.db.delete_factors_unless_confirmed(u.id).await.unwrap());
    assert!(f.db.list_factors(u.id).await.unwrap().is_empty());
    assert_eq!(f.db.recovery_codes_left(u.id).await.unwrap(), 0);
}

/// A confirmation and a clearing at once: either the clearing came first (the confirmation
/// finds nothing) or the confirmed factor stays — never a confirmation reported and its factor
/// gone.
pub async fn a_confirmation_racing_a_clearing_is_never_lost(f: DbFixture) {
    use propusk::model::mfa::{Factor, FactorKind};
    let u = user(&f, "ann", "operator", None);
    f.db.insert_user(&u, &[]).await.unwrap();
    let now = f.clock.now();
    for round in 0..20 {
        let pending = Factor {
            id: uuid::Uuid::now_v7(),
            user_id: u.id,
            kind: FactorKind::Totp,
            secret_enc: None,
            target: None,
            confirmed_at: None,
            last_used_step: None,
            created_at: now,
        };
        f.db.insert_factor(&pending).await.unwrap();
        let (confirmed, _) = tokio::join!(
            f.db.confirm_factor(u.id, pending.id, now, Some(1)),
            f.db.delete_factors_unless_confirmed(u.id),
        );
        let left = f.db.list_factors(u.id).await.unwrap();
        if confirmed.unwrap() {
            assert!(
                left.iter().any(|x| x.id == pending.id),
                "round {round}: a confirmed factor went"
            );
        }
        f.db.delete_factors(u.id).await.unwrap();
    }
}
