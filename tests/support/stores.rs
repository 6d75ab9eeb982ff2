//! Real components: PostgreSQL (a fresh database per test, cloned from a migrated template),
//! Redis (a key prefix per test), and a TCP proxy that can cut a connection mid-test.

use super::*;

/// The PostgreSQL server tests use (no database in the URL).
pub fn pg_server() -> String {
    std::env::var("PROPUSK_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The Redis server tests use.
pub fn redis_url() -> String {
    std::env::var("PROPUSK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("propusk-test-{}", uuid::Uuid::new_v4().simple())
}

/// A hash of the PostgreSQL migrations, naming the template database built from them.
fn migrations_hash() -> u64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        for byte in file
            .file_name()
            .unwrap()
            .as_encoded_bytes()
            .iter()
            .chain(&std::fs::read(&file).unwrap())
        {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// A new, migrated PostgreSQL database of its own; returns its URL. Databases are named
/// `propusk_t_*`; `scripts/test` drops them after the run.
pub async fn fresh_database() -> String {
    let server = pg_server();
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be running at {server} (start it with scripts/test): {e}"));
    let hash = migrations_hash();
    let template = format!("propusk_tpl_{hash:016x}");
    let lock = i64::from_ne_bytes(hash.to_ne_bytes());
    // One process at a time builds the template and clones it (PostgreSQL refuses to copy a
    // database that another session is copying or connected to).
    admin
        .execute(sqlx::query("SELECT pg_advisory_lock($1)").bind(lock))
        .await
        .unwrap();
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&template)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    if !exists {
        let building = format!("{template}_building");
        admin
            .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {building}")))
            .await
            .unwrap();
        let store = propusk::store::postgres::PgStore::connect(&format!("{server}/{building}"), 2)
            .await
            .unwrap();
        propusk::store::Database::close(&store).await;
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE {building} RENAME TO {template}"
            )))
            .await
            .unwrap();
    }
    let name = format!("propusk_t_{}", uuid::Uuid::new_v4().simple());
    let created = admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {template}"
        )))
        .await;
    admin
        .execute(sqlx::query("SELECT pg_advisory_unlock($1)").bind(lock))
        .await
        .unwrap();
    created.unwrap();
    admin.close().await.unwrap();
    format!("{server}/{name}")
}

/// A TCP proxy in front of a real component; `cut` drops every connection and refuses new ones
/// until `restore`.
pub struct TcpProxy {
    pub addr: SocketAddr,
    up: Arc<watch::Sender<bool>>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(watch::Sender::new(true));
        let sender = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !*sender.borrow() {
                    drop(inbound);
                    continue;
                }
                let mut down = sender.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { addr, up }
    }

    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}

/// `host:port` of the PostgreSQL server tests use.
pub fn pg_host_port() -> String {
    let url = url::Url::parse(&pg_server()).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
}

/// The address of the PostgreSQL server tests use.
pub fn pg_addr() -> SocketAddr {
    pg_host_port().parse().unwrap()
}

/// The address of a `redis://host:port` URL.
pub fn redis_addr() -> SocketAddr {
    let url = url::Url::parse(&redis_url()).unwrap();
    let host = url.host_str().unwrap();
    format!("{host}:{}", url.port().unwrap_or(6379)).parse().unwrap()
}
