//! The audit trail (`audit_logs`, DESIGN.md): append-only records of logins, logouts, token
//! revocations and, as they arrive, every administrative change. Each row carries an HMAC, under
//! a key derived from the master key, over its own fields and the previous row's HMAC; rows are
//! appended one at a time, so an edited, deleted or reordered row breaks the chain and
//! `propusk audit verify` names it.

pub mod record;

use std::sync::Arc;

use aws_lc_rs::hmac;

pub use record::{ActorType, AuditRecord, Outcome, RequestContext, StoredAudit};

use crate::store::{Database, StoreError};

/// The first row's `prev_hmac`.
pub const GENESIS: [u8; 32] = [0; 32];

/// Writes and checks the chain.
pub struct Auditor {
    db: Arc<dyn Database>,
    key: hmac::Key,
    /// The CloudEvents `source` of the records' events (the issuer).
    source: String,
}

impl Auditor {
    pub fn new(db: Arc<dyn Database>, key: &[u8; 32], source: &str) -> Self {
        Self {
            db,
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            source: source.to_owned(),
        }
    }

    /// The HMAC of a row with `id`, chained to `prev`.
    fn seal(&self, id: i64, prev: &[u8], record: &AuditRecord) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(prev);
        ctx.update(&record.canonical(id));
        ctx.sign().as_ref().to_vec()
    }

    /// Appends `record`; returns its id. Callers await it: an action is not done until it is
    /// on the record.
    pub async fn record(&self, record: AuditRecord) -> Result<i64, StoreError> {
        let seal = |id: i64, prev: &[u8]| {
            (
                self.seal(id, prev, &record),
                crate::events::event::audit(&self.source, id, &record),
            )
        };
        let id = self.db.append_audit(&record, &seal).await?;
        let actor = record.actor_id.as_deref().unwrap_or("-");
        tracing::info!(target: "audit", record = id, action = %record.action, outcome = record.outcome.as_str(), actor = actor, "audited");
        Ok(id)
    }

    /// Appends `record`, logging (not returning) a failure: for paths where refusing the user
    /// because the trail is down would be worse (a failed login stays failed either way).
    pub async fn record_or_log(&self, record: AuditRecord) {
        if let Err(e) = self.record(record).await {
            tracing::error!(error = %e, "an audit record could not be written");
        }
    }

    /// Walks the whole chain; the first break found, if any.
    pub async fn verify(&self) -> Result<Verification, StoreError> {
        let mut prev = GENESIS.to_vec();
        let mut expected_id = 1;
        let mut count = 0;
        loop {
            let page = self.db.audit_page(expected_id - 1, 1_000).await?;
            if page.is_empty() {
                return Ok(Verification {
                    rows: count,
                    broken_at: None,
                });
            }
            for row in page {
                let problem = if row.id != expected_id {
                    Some(format!("row {expected_id} is missing (next is {})", row.id))
                } else if row.prev_hmac != prev {
                    Some(format!("row {} does not follow its predecessor", row.id))
                } else if !bool_eq(&self.seal(row.id, &prev, &row.record), &row.hmac) {
                    Some(format!("row {} was altered", row.id))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    return Ok(Verification {
                        rows: count,
                        broken_at: Some(problem),
                    });
                }
                prev = row.hmac;
                expected_id += 1;
                count += 1;
            }
        }
    }
}

fn bool_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The outcome of `propusk audit verify`.
#[derive(Debug, PartialEq, Eq)]
pub struct Verification {
    /// Rows checked and found intact, from the first.
    pub rows: u64,
    /// The first break, described.
    pub broken_at: Option<String>,
}
