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

#[tokio::test]
async fn an_unreachable_redis_is_named_with_its_url_but_not_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = propusk::config::Config::embedded_in(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    config.redis = Some(propusk::config::RedisConfig {
        url: secrecy::SecretString::from(format!("redis://user:s3cret@127.0.0.1:{port}/0")),
        pool_size: 1,
    });
    let clock = std::sync::Arc::new(propusk::clock::ManualClock::starting_now());
    let Err(e) = propusk::app::App::build_on(None, config, clock).await else {
        panic!("a node without its Redis must not start");
    };
    let text = e.to_string();
    assert!(
        text.contains("Redis") && text.contains(&format!("127.0.0.1:{port}")),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
}
