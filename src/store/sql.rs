//! What the PostgreSQL and SQLite repositories share: row types, their conversion into domain
//! types, and the queries themselves, written once in SQL both engines accept (`$n`
//! placeholders, uuids bound as `Uuid`, JSON as `Json`) and instantiated per engine by
//! [`sql_repositories!`]. One file per aggregate (`sql/accounts.rs`, `users.rs`, `roles.rs`,
//! `applications.rs`, `consent.rs`, `audit.rs`, `outbox.rs`, `idps.rs`, `factors.rs`, and
//! `common.rs` for what they share), each with its rows and its queries. The contract suite runs
//! every query against both engines.

use sqlx::types::Json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::StoreError;
use crate::model::InvalidValue;
use crate::model::account::{Account, AccountId, AccountStatus, Slug};
use crate::model::application::{Application, ClientId, GrantType, SecretHash, SigningAlg};
use crate::model::audit::{ActorType, AuditRecord, Outcome, StoredAudit};
use crate::model::permission::{self, Permission};
use crate::model::redirect_uri::RedirectUri;
use crate::model::role::{Role, RoleName, RoleScope};
use crate::model::scope::Scope;
use crate::model::user::{Email, Phone, User, UserId, UserStatus, Username};

fn corrupt(what: &str) -> impl Fn(InvalidValue) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

pub(super) fn to_strings<T: ToString>(items: &[T]) -> Json<Vec<String>> {
    Json(items.iter().map(ToString::to_string).collect())
}

pub(in crate::store) mod accounts;
pub(in crate::store) mod applications;
pub(in crate::store) mod audit;
pub(in crate::store) mod common;
pub(in crate::store) mod consent;
pub(in crate::store) mod factors;
pub(in crate::store) mod idps;
pub(in crate::store) mod outbox;
pub(in crate::store) mod roles;
pub(in crate::store) mod users;

pub(in crate::store) use accounts::AccountRow;
pub(in crate::store) use applications::APPLICATION_COLUMNS;
pub(in crate::store) use applications::ApplicationRow;
pub(in crate::store) use audit::AUDIT_INSERT;
pub(in crate::store) use audit::AuditRow;
pub(in crate::store) use factors::FactorRow;
pub(in crate::store) use idps::IDP_COLUMNS;
pub(in crate::store) use idps::IdpRow;
pub(in crate::store) use idps::LinkRow;
pub(in crate::store) use outbox::OUTBOX_INSERT;
pub(in crate::store) use outbox::OutboxDbRow;
pub(in crate::store) use roles::RoleRow;
pub(in crate::store) use users::USER_COLUMNS;
pub(in crate::store) use users::UserRow;

fn parse_permissions(list: &[String], what: &str) -> Result<Vec<Permission>, StoreError> {
    permission::parse_all(list.iter().map(String::as_str)).map_err(corrupt(what))
}

/// What is left of a driver error once each engine has recognised its constraint violations.
pub(in crate::store) fn driver_error(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreError::Corrupt(e.to_string()),
        other => StoreError::unavailable(other),
    }
}

/// Seconds of an optional lifetime, as the `*_ttl_secs` columns hold them.
pub(in crate::store) fn ttl_secs(d: Option<Duration>) -> Option<i32> {
    d.map(|d| i32::try_from(d.whole_seconds()).unwrap_or(i32::MAX))
}

/// An UPDATE or DELETE of one row by its key: `NotFound` when it touched none.
/// A conditional update (`… AND updated_at = read_at`) that matched nothing: the row changed
/// since it was read (or is gone).
pub(in crate::store) fn changed_since(rows_affected: u64, constraint: &str) -> Result<(), StoreError> {
    if rows_affected == 0 {
        return Err(StoreError::Conflict {
            constraint: constraint.to_owned(),
        });
    }
    Ok(())
}

pub(in crate::store) fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Implements the repository traits for a store type with a `pool` field and an
/// `fn error(sqlx::Error) -> StoreError`; the SQL is the same for both engines. One macro per
/// aggregate, each in its file.
macro_rules! sql_repositories {
    ($store:ty, $db:ty, $engine:literal, begin_audit: $begin:literal, lock_audit: $lock:literal) => {
        use $crate::store::sql::{
            AccountRow, ApplicationRow, RoleRow, USER_COLUMNS, UserRow, changed_since, found, to_strings, ttl_secs,
        };

        $crate::store::sql::common::sql_common!($store, $db, $engine, $begin, $lock);
        $crate::store::sql::audit::sql_audit!($store, $db, $engine, $begin, $lock);
        $crate::store::sql::outbox::sql_outbox!($store, $db, $engine, $begin, $lock);
        $crate::store::sql::accounts::sql_accounts!($store, $db, $engine, $begin, $lock);
        $crate::store::sql::users::sql_users!($store, $db, $engine, $begin, $lock);
        $crate::store::sql::roles::sql_roles!($store, $db, $engine, $begin, $lock);
        $crate::store::sql::applications::sql_applications!($store, $db, $engine, $begin, $lock);
        $crate::store::sql::idps::sql_idps!($store, $db, $engine, $begin, $lock);
        $crate::store::sql::factors::sql_factors!($store, $db, $engine, $begin, $lock);
        $crate::store::sql::consent::sql_consent!($store, $db, $engine, $begin, $lock);
    };
}
pub(super) use sql_repositories;
