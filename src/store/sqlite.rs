//! The SQLite relational store of the embedded default: one file, WAL journal, foreign keys on.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::StoreError;
use crate::model::account::{Account, AccountId, Slug};
use crate::model::application::{Application, ClientId};
use crate::model::role::{Role, RoleName};
use crate::model::user::{User, UserId};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Relational data in an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// SQLite serves one node: its relay lease always holds.
struct OneNode;

#[async_trait::async_trait]
impl super::Lease for OneNode {
    async fn held(&mut self) -> bool {
        true
    }
}

impl SqliteStore {
    async fn lease(&self) -> Result<Option<Box<dyn super::Lease>>, StoreError> {
        Ok(Some(Box::new(OneNode)))
    }
}

impl SqliteStore {
    /// Opens (creating file and directories when missing) and migrates.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::unavailable)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(Self::error)?;
        MIGRATOR.run(&pool).await.map_err(StoreError::unavailable)?;
        Ok(Self { pool })
    }

    fn error(e: sqlx::Error) -> StoreError {
        if let Some(db) = e.as_database_error() {
            let message = db.message();
            if let Some(what) = message.strip_prefix("UNIQUE constraint failed: ") {
                return StoreError::Conflict {
                    constraint: constraint_name(what),
                };
            }
            if message.starts_with("FOREIGN KEY constraint failed") {
                return StoreError::Conflict {
                    constraint: "foreign_key".into(),
                };
            }
        }
        super::sql::driver_error(e)
    }
}

/// SQLite names the columns (`users.username`) or the index (`index 'users_email_key'`) that
/// refused a write; PostgreSQL names the constraint. This maps SQLite's words onto the
/// PostgreSQL names, so callers see one vocabulary.
fn constraint_name(what: &str) -> String {
    if let Some(index) = what.strip_prefix("index '").and_then(|s| s.strip_suffix('\'')) {
        return index.to_owned();
    }
    let (table, column) = what
        .split(',')
        .next()
        .unwrap_or(what)
        .trim()
        .split_once('.')
        .unwrap_or((what, ""));
    match (table, column) {
        (_, "id") | ("applications", "client_id") => format!("{table}_pkey"),
        _ => format!("{table}_{column}_key"),
    }
}

// Audit rows are appended one at a time, and a user's factors and recovery codes are written by
// one writer at a time: BEGIN IMMEDIATE takes the write lock.
super::sql::sql_repositories!(SqliteStore, sqlx::Sqlite, "sqlite", begin_audit: "BEGIN IMMEDIATE", lock_audit: "SELECT 1");
