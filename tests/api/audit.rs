//! The audit trail as the login flow writes it, and the chain check catching an edited row, a
//! deleted row and a reordered one.

use propusk::audit::{ActorType, AuditRecord, Auditor, Outcome};
use propusk::clock::Clock as _;
use propusk::config::DatabaseConfig;
use secrecy::ExposeSecret as _;
use sqlx::Connection as _;

use crate::support::{Backend, Browser, PASSWORD, TestApp, hidden, location};

async fn tamper(app: &TestApp, sql: &str) {
    match &app.config.database {
        DatabaseConfig::Postgres(url) => {
            let mut con = sqlx::PgConnection::connect(url.expose_secret()).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut con)
                .await
                .unwrap();
        }
        DatabaseConfig::Sqlite(path) => {
            let mut con = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut con)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn logins_and_logouts_are_on_the_record_and_tampering_shows() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        let user = app.user("ann", "operator", None).await;
        let rp = app.web_app(true).await;
        let browser = Browser::default();
        let url = app.authorize_url(
            &rp,
            &[
                ("response_type", "code"),
                ("redirect_uri", "https://client.example.com/cb"),
                ("scope", "openid"),
            ],
        );
        let login = location(&browser.get(&url).await, &app.base);
        let page = browser.get(&login).await.text().await.unwrap();
        let form = |password: &'static str| {
            vec![
                ("csrf", hidden(&page, "csrf")),
                ("req", hidden(&page, "req")),
                ("login", "ann".to_owned()),
                ("password", password.to_owned()),
            ]
        };
        let wrong: Vec<(&str, String)> = form("not the password");
        let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(browser.post(&app.url("/login"), &wrong).await.status(), 401);
        let right: Vec<(&str, String)> = form(PASSWORD);
        let right: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(browser.post(&app.url("/login"), &right).await.status(), 303);
        let confirm = browser.get(&app.url("/logout")).await.text().await.unwrap();
        browser
            .post(
                &app.url("/logout"),
                &[("csrf", &hidden(&confirm, "csrf")), ("confirm", "yes")],
            )
            .await;

        let rows = app.state.stores.db.audit_page(0, 100).await.unwrap();
        let summary: Vec<(&str, Outcome, ActorType)> = rows
            .iter()
            .map(|r| (r.record.action.as_str(), r.record.outcome, r.record.actor_type))
            .collect();
        assert_eq!(
            summary,
            [
                ("login", Outcome::Failure, ActorType::Anonymous),
                ("login", Outcome::Success, ActorType::User),
                ("logout", Outcome::Success, ActorType::User)
            ],
            "{backend:?}"
        );
        assert_eq!(rows[0].record.details["login"], "ann");
        assert!(
            !rows[0].record.details.to_string().contains("not the password"),
            "never the password"
        );
        assert_eq!(rows[1].record.actor_id.as_deref(), Some(user.as_str()));
        assert_eq!(rows[1].record.ip.as_deref(), Some("127.0.0.1"));

        let auditor = &app.state.provider.audit;
        assert_eq!(auditor.verify().await.unwrap().broken_at, None);

        tamper(&app, "UPDATE audit_logs SET outcome = 'success' WHERE id = 1").await;
        assert_eq!(
            auditor.verify().await.unwrap().broken_at.as_deref(),
            Some("row 1 was altered"),
            "{backend:?}"
        );
        tamper(&app, "UPDATE audit_logs SET outcome = 'failure' WHERE id = 1").await;
        assert_eq!(auditor.verify().await.unwrap().rows, 3, "restored");

        // Cutting the tail leaves the chain's sealed head ahead of it.
        tamper(&app, "DELETE FROM audit_logs WHERE id = 3").await;
        assert_eq!(
            auditor.verify().await.unwrap().broken_at.as_deref(),
            Some("the chain ends at row 2 but its head says 3: rows were cut from the end"),
            "{backend:?}"
        );
        tamper(&app, "UPDATE audit_head SET last_id = 2").await;
        assert_eq!(
            auditor.verify().await.unwrap().broken_at.as_deref(),
            Some("the chain's head record was altered"),
            "moving the head back needs the key"
        );
        tamper(&app, "UPDATE audit_head SET last_id = 3").await;
        auditor
            .record(AuditRecord::change(
                app.clock.now(),
                propusk::audit::Action::UserUpdate,
                "user",
                &user,
                None,
                serde_json::json!({}),
            ))
            .await
            .unwrap();
        assert_eq!(
            auditor.verify().await.unwrap().broken_at.as_deref(),
            Some("row 3 is missing (next is 4)"),
            "the next record continues after the head, so the cut stays visible"
        );
        tamper(&app, "DELETE FROM audit_head").await;
        assert_eq!(
            auditor.verify().await.unwrap().broken_at.as_deref(),
            Some("row 3 is missing (next is 4)")
        );
        tamper(&app, "UPDATE audit_logs SET id = 3, prev_hmac = prev_hmac WHERE id = 4").await;

        tamper(&app, "DELETE FROM audit_logs WHERE id = 2").await;
        assert_eq!(
            auditor.verify().await.unwrap().broken_at.as_deref(),
            Some("row 2 is missing (next is 3)")
        );
        tamper(&app, "UPDATE audit_logs SET id = 2 WHERE id = 3").await;
        assert_eq!(
            auditor.verify().await.unwrap().broken_at.as_deref(),
            Some("row 2 does not follow its predecessor")
        );
        let _: &Auditor = auditor;
        app.stop().await;
    }
}

/// A record stamped finer than the store keeps (nanoseconds) is sealed as it is stored, so the
/// chain still verifies (the server's clock truncates already; other writers need not).
#[tokio::test]
async fn records_stamped_in_nanoseconds_still_verify() {
    for backend in [Backend::Embedded, Backend::PostgresRedis] {
        let app = TestApp::spawn(backend).await;
        let at = time::OffsetDateTime::now_utc().replace_nanosecond(123_456_789).unwrap();
        let record = propusk::audit::AuditRecord::change(
            at,
            propusk::audit::Action::UserUpdate,
            "user",
            "someone",
            None,
            serde_json::json!({}),
        );
        app.state.provider.audit.record(record).await.unwrap();
        let verified = app.state.provider.audit.verify().await.unwrap();
        assert_eq!(verified.broken_at, None, "{backend:?}");
        app.stop().await;
    }
}
