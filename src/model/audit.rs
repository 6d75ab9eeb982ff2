//! Audit records (`audit_logs`) and their actions; the chain that seals them is `crate::audit`.

pub mod action;
pub mod record;

pub use action::Action;
pub use record::{ActorType, AuditRecord, Outcome, RequestContext, StoredAudit};

/// The first row's `prev_hmac`.
pub const GENESIS: [u8; 32] = [0; 32];
