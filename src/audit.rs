//! The audit trail (`audit_logs`, DESIGN.md): append-only records of logins, logouts, token
//! revocations and, as they arrive, every administrative change. Each row carries an HMAC, under
//! a key derived from the master key, over its own fields and the previous row's HMAC; rows are
//! appended one at a time, so an edited, deleted or reordered row breaks the chain and
//! `propusk audit verify` names it. A sealed head (the last id under the same key), written with
//! each row, shows rows cut from the end; the next row continues after the head, so such a cut
//! stays visible.

use std::sync::Arc;

use aws_lc_rs::hmac;

pub use crate::model::audit::{Action, ActorType, AuditRecord, GENESIS, Outcome, RequestContext, StoredAudit};

use crate::store::{Database, StoreError};

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

    /// The seal of the chain's head at row `id` with HMAC `hmac`.
    fn head_seal(&self, id: i64, hmac: &[u8]) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(b"propusk audit head");
        ctx.update(&id.to_be_bytes());
        ctx.update(hmac);
        ctx.sign().as_ref().to_vec()
    }

    /// The HMAC of row `id` holding `record` after a row with HMAC `prev`, and the head's seal
    /// at that row: what [`Auditor::record`] writes, for tools that write a whole chain at once
    /// (`examples/audit_chain.rs --bulk`, which loads millions of rows for `bench/scale`).
    pub fn chain_link(&self, id: i64, prev: &[u8], record: &AuditRecord) -> (Vec<u8>, Vec<u8>) {
        let hmac = self.seal(id, prev, record);
        let head = self.head_seal(id, &hmac);
        (hmac, head)
    }

    /// Appends `record`; returns its id. Callers await it: an action is not done until it is
    /// on the record.
    pub async fn record(&self, mut record: AuditRecord) -> Result<i64, StoreError> {
        // The stores keep microseconds: a finer time would be sealed as one value and read back
        // as another, and the row would look altered.
        let micros = record.occurred_at.microsecond();
        record.occurred_at = record
            .occurred_at
            .replace_microsecond(micros)
            .unwrap_or(record.occurred_at);
        let seal = |id: i64, prev: &[u8]| {
            let hmac = self.seal(id, prev, &record);
            let head = self.head_seal(id, &hmac);
            (hmac, crate::model::event::audit(&self.source, id, &record), head)
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
                let broken_at = self.check_head(count, &prev).await?;
                return Ok(Verification { rows: count, broken_at });
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

impl Auditor {
    /// Whether the chain ends where its head says: rows cut from the end leave the head ahead.
    async fn check_head(&self, rows: u64, last_hmac: &[u8]) -> Result<Option<String>, StoreError> {
        Ok(match self.db.audit_head().await? {
            None if rows == 0 => None,
            None => Some("the chain's head record is missing".into()),
            Some((last_id, _)) if u64::try_from(last_id).ok() != Some(rows) => Some(format!(
                "the chain ends at row {rows} but its head says {last_id}: rows were cut from the end"
            )),
            Some((last_id, seal)) if !bool_eq(&self.head_seal(last_id, last_hmac), &seal) => {
                Some("the chain's head record was altered".into())
            }
            Some(_) => None,
        })
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

#[async_trait::async_trait]
impl crate::oauth::ports::AuditSink for Auditor {
    async fn record_or_log(&self, record: AuditRecord) {
        Auditor::record_or_log(self, record).await;
    }
}
