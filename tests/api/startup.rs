//! Start-up: database creation, first-start key generation, graceful shutdown.

use std::os::unix::fs::PermissionsExt as _;

use propusk::config::DatabaseConfig;
use secrecy::SecretString;
use sqlx::Connection as _;

use crate::support::{Backend, TestApp, pg_server};

#[tokio::test]
async fn a_missing_postgres_database_is_created_and_migrated() {
    let name = format!("propusk_t_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}/{name}", pg_server());
    let app = TestApp::spawn_with(Backend::PostgresRedis, |c| {
        c.database = DatabaseConfig::Postgres(SecretString::from(url.clone()));
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let mut con = sqlx::PgConnection::connect(&url).await.unwrap();
    let roles: i64 = sqlx::query_scalar("SELECT count(*) FROM roles")
        .fetch_one(&mut con)
        .await
        .unwrap();
    assert_eq!(roles, 4, "migrated, with the built-in roles");
    con.close().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn keys_are_made_on_first_start_private_and_reused_after() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let keys_dir = app.config.keys_dir.clone();
    let mut names: Vec<String> = std::fs::read_dir(&keys_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names[0].starts_with("es256-") && names[1] == "master.key" && names[2].starts_with("rs256-"),
        "{names:?}"
    );
    for name in &names {
        let mode = std::fs::metadata(keys_dir.join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    let mode = std::fs::metadata(&keys_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let config = app.config.clone();
    app.stop().await;

    let again = propusk::app::App::build(config).await.unwrap();
    let keyring = again.state().provider.keyring();
    let kids: Vec<&str> = keyring.published().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids.len(), 2, "one ES256 and one RS256 key: {kids:?}");
    assert_eq!(
        std::fs::read_dir(&keys_dir).unwrap().count(),
        3,
        "no new key on the next start"
    );
}
