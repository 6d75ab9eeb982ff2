//! The ports of the protocol core: what it needs from the outside, in its own terms. `crate::store`
//! implements them (hot state in Redis or in process, rows in PostgreSQL or SQLite) and
//! `crate::audit` the audit sink; the core never sees a key, a table or a driver, and its rules
//! are unit-tested against small in-memory fakes (`super::fakes`).

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::authorize::{AuthorizationRequest, Parked};
use super::code::{CodeGrant, Issued};
use super::refresh::RefreshRecord;
use super::revocation::Generation;
use crate::model::StoreError;
use crate::model::account::{Account, AccountId};
use crate::model::application::{Application, ClientId};
use crate::model::audit::AuditRecord;
use crate::model::role::{Role, RoleName};
use crate::model::user::{User, UserId};

/// What a single-use take found; `A` is what a replay reveals (the value, or nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use<T, A = T> {
    /// Absent or expired.
    Missing,
    /// The first take: the value is now marked used (and kept until it expires).
    First(T),
    /// Taken before: a replay.
    Again(A),
}

/// What became of a redeemed authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    /// A replay got there before the first redemption finished.
    Replayed,
    /// What the first redemption issued.
    Issued(Issued),
}

/// Authorization codes (RFC 6749 §4.1.2): single use, kept under a digest of the code.
#[async_trait]
pub trait CodeStore: Send + Sync {
    async fn put_code(&self, code: &str, grant: &CodeGrant, until: OffsetDateTime) -> Result<(), StoreError>;
    /// A replay reveals nothing of the code (its grant is not even read).
    async fn take_code(&self, code: &str) -> Result<Use<CodeGrant, ()>, StoreError>;
    /// Records what became of the code, once: false when an outcome was recorded before.
    async fn settle_code(&self, code: &str, outcome: &CodeOutcome, until: OffsetDateTime) -> Result<bool, StoreError>;
    async fn code_outcome(&self, code: &str) -> Result<Option<CodeOutcome>, StoreError>;
}

/// Refresh tokens, kept under a digest of the token until their record expires, and the
/// families each browser session started.
#[async_trait]
pub trait RefreshStore: Send + Sync {
    async fn put_refresh(&self, token: &str, record: &RefreshRecord) -> Result<(), StoreError>;
    /// Stores only when absent; true when stored.
    async fn put_new_refresh(&self, token: &str, record: &RefreshRecord) -> Result<bool, StoreError>;
    async fn take_refresh(&self, token: &str) -> Result<Use<RefreshRecord>, StoreError>;
    async fn get_refresh(&self, token: &str) -> Result<Option<RefreshRecord>, StoreError>;
    /// In one round trip: the record of `token` when it is stored (and readable) and
    /// `successor` is not.
    async fn unrotated_refresh(&self, token: &str, successor: &str) -> Result<Option<RefreshRecord>, StoreError>;
    async fn add_session_family(&self, sid: &str, family: &str, until: OffsetDateTime) -> Result<(), StoreError>;
    async fn session_families(&self, sid: &str) -> Result<Vec<String>, StoreError>;
}

/// One thing the denylist can hold against tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial<'a> {
    /// One access token.
    Jti(&'a str),
    /// Every token and family of a browser session.
    Session(&'a str),
    /// A refresh family and the access tokens it produced.
    Family(&'a str),
}

/// One entry read from the denylist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    Denied(Denial<'a>),
    Generation(Generation<'a>),
    /// The not-before time (unix seconds) of releases before generations, per `sub`.
    LegacyNotBefore(&'a str),
}

/// Denials and revocation generations (see [`super::revocation`]).
#[async_trait]
pub trait Denylist: Send + Sync {
    /// Every entry in one round trip, in order: a denial as `Some(1)` while in force, a
    /// generation or not-before time as its value; `None` when absent (or unreadable).
    async fn read(&self, entries: &[Entry<'_>]) -> Result<Vec<Option<i64>>, StoreError>;
    async fn deny(&self, what: Denial<'_>, until: OffsetDateTime) -> Result<(), StoreError>;
    /// Moves a generation to one more than it was, and at least `floor`; returns the new value.
    async fn advance(&self, which: Generation<'_>, floor: i64, until: OffsetDateTime) -> Result<i64, StoreError>;
}

/// Authorization requests parked while the user signs in or consents.
#[async_trait]
pub trait RequestStore: Send + Sync {
    async fn park_request(&self, id: &str, parked: &Parked, until: OffsetDateTime) -> Result<(), StoreError>;
    /// The parked request, unless absent, expired or unreadable.
    async fn parked_request(&self, id: &str) -> Result<Option<Parked>, StoreError>;
    async fn unpark_request(&self, id: &str) -> Result<(), StoreError>;
    /// Keeps a pushed authorization request (RFC 9126) under `id` until `until`.
    async fn push_request(
        &self,
        id: &str,
        request: &AuthorizationRequest,
        until: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Takes a pushed request: once only; `None` when absent, expired, used or unreadable.
    async fn take_pushed(&self, id: &str) -> Result<Option<AuthorizationRequest>, StoreError>;
    /// Records that browser session `sid` signed in to `client_id` (for back-channel logout).
    async fn note_session_client(&self, sid: &str, client_id: &str, until: OffsetDateTime) -> Result<(), StoreError>;
    /// Records the `jti` of a client assertion until `until`; false when it was seen before.
    async fn first_assertion(&self, client_id: &str, jti: &str, until: OffsetDateTime) -> Result<bool, StoreError>;
}

/// All of the protocol's short-lived state, as one object.
pub trait ProtocolState: CodeStore + RefreshStore + Denylist + RequestStore {}

impl<T: CodeStore + RefreshStore + Denylist + RequestStore> ProtocolState for T {}

/// The rows the protocol reads: applications, roles, B2B accounts and users.
#[async_trait]
pub trait ClientDirectory: Send + Sync {
    async fn find_application(&self, client_id: &ClientId) -> Result<Option<Application>, StoreError>;
    async fn find_role(&self, name: &RoleName) -> Result<Option<Role>, StoreError>;
    async fn find_account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;
    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError>;
}

/// Where the protocol's audit records go (logins by the password grant, revoked families).
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Appends the record; a failure is logged, never returned (the request it describes
    /// already happened).
    async fn record_or_log(&self, record: AuditRecord);
}

/// The ports of one provider.
#[derive(Clone)]
pub struct Ports {
    pub state: Arc<dyn ProtocolState>,
    pub directory: Arc<dyn ClientDirectory>,
    pub audit: Arc<dyn AuditSink>,
}
