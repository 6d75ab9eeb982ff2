//! The PostgreSQL relational store (production). The database named in the URL is created
//! when missing; migrations run under sqlx's advisory lock, so concurrent starts are safe.

use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};

use super::StoreError;
use crate::model::account::{Account, AccountId, Slug};
use crate::model::application::{Application, ClientId};
use crate::model::role::{Role, RoleName};
use crate::model::user::{User, UserId};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Relational data in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// The advisory lock of the outbox relay ("propusk" in ASCII).
const RELAY_LOCK: i64 = 0x0070_726f_7075_736b;

/// How long taking or checking the relay lease may take.
const LEASE_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The relay lease: a connection of its own (out of the pool, so the session lock goes with it
/// when the lease is dropped) holding the advisory lock.
struct PgLease(sqlx::PgConnection);

#[async_trait::async_trait]
impl super::Lease for PgLease {
    /// Asks PostgreSQL whether this connection still holds the lock (an administrator may have
    /// ended it with `pg_advisory_unlock_all`, or the server restarted and a new connection
    /// would hold nothing); a server that does not answer within the bound counts as lost.
    async fn held(&mut self) -> bool {
        let check = sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND pid = pg_backend_pid() AND objsubid = 1 \
             AND classid = ($1 >> 32)::oid AND objid = ($1 & 4294967295)::oid)",
        )
        .bind(RELAY_LOCK)
        .fetch_one(&mut self.0);
        matches!(tokio::time::timeout(LEASE_CHECK_TIMEOUT, check).await, Ok(Ok(true)))
    }
}

impl PgStore {
    /// Takes the relay's advisory lock on a connection of its own, if no other node holds it.
    /// A connection that did not get the lock goes back to the pool; the one that did leaves it.
    async fn lease(&self) -> Result<Option<Box<dyn super::Lease>>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::unavailable)?;
        let attempt = sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *conn);
        let taken = match tokio::time::timeout(LEASE_CHECK_TIMEOUT, attempt).await {
            Ok(result) => result.map_err(StoreError::unavailable)?,
            Err(_) => {
                // The lock may yet be granted on this connection: it must not return to the pool.
                drop(conn.detach());
                return Err(StoreError::Unavailable(
                    "the relay lease could not be tried in time".into(),
                ));
            }
        };
        Ok(taken.then(|| Box::new(PgLease(conn.detach())) as Box<dyn super::Lease>))
    }

    /// Connects (creating the database when missing) and migrates.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(Self::error)?
            .application_name("propusk");
        let pool_options = PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(5));
        // Connect first and create the database only when it is missing: a normal start opens
        // one connection (with TLS, each costs a handshake), not two.
        let pool = match pool_options.clone().connect_with(options.clone()).await {
            Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("3D000") => {
                create_database(&options).await?;
                pool_options.connect_with(options).await.map_err(Self::error)?
            }
            other => other.map_err(Self::error)?,
        };
        MIGRATOR.run(&pool).await.map_err(StoreError::unavailable)?;
        Ok(Self { pool })
    }

    /// Applies pending migrations to an existing pool (tests build template databases so).
    pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
        MIGRATOR.run(pool).await.map_err(StoreError::unavailable)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn error(e: sqlx::Error) -> StoreError {
        if let Some(db) = e.as_database_error() {
            match db.code().as_deref() {
                Some("23505") => {
                    return StoreError::Conflict {
                        constraint: db.constraint().unwrap_or("unique").to_owned(),
                    };
                }
                Some("23503") => {
                    return StoreError::Conflict {
                        constraint: "foreign_key".into(),
                    };
                }
                _ => {}
            }
        }
        super::sql::driver_error(e)
    }
}

/// Creates the database of `options` from the `postgres` maintenance database.
async fn create_database(options: &PgConnectOptions) -> Result<(), StoreError> {
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .map_err(PgStore::error)?;
    // Identifiers cannot be bound as parameters: quote it, doubling any quote inside.
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
        .execute(&mut admin)
        .await
    {
        Ok(_) => tracing::info!(database = %name, "created the PostgreSQL database"),
        // Another node created it first.
        Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("42P04") => {}
        Err(e) => return Err(PgStore::error(e)),
    }
    admin.close().await.map_err(PgStore::error)
}

// Audit rows are appended one at a time: LOCK TABLE audit_logs IN EXCLUSIVE MODE.
super::sql::sql_repositories!(PgStore, sqlx::Postgres, "postgres", begin_audit: "BEGIN", lock_audit: "LOCK TABLE audit_logs IN EXCLUSIVE MODE");
