//! The audit chain (`audit_logs`, `audit_head`): rows and the `AuditStore` queries.

#[allow(unused_imports)]
use super::*;

#[derive(sqlx::FromRow)]
pub(in crate::store) struct AuditRow {
    id: i64,
    occurred_at: OffsetDateTime,
    actor_type: String,
    actor_id: Option<String>,
    client_id: Option<Uuid>,
    ip: Option<String>,
    user_agent: Option<String>,
    action: String,
    target_type: Option<String>,
    target_id: Option<String>,
    outcome: String,
    details: Json<serde_json::Value>,
    prev_hmac: Vec<u8>,
    hmac: Vec<u8>,
}

impl TryFrom<AuditRow> for StoredAudit {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("audit_logs.{what} of row {}", r.id));
        Ok(StoredAudit {
            id: r.id,
            record: AuditRecord {
                occurred_at: r.occurred_at,
                actor_type: ActorType::parse(&r.actor_type).ok_or_else(|| bad("actor_type"))?,
                actor_id: r.actor_id,
                client_id: r.client_id.map(AccountId::from_uuid),
                ip: r.ip,
                user_agent: r.user_agent,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                outcome: Outcome::parse(&r.outcome).ok_or_else(|| bad("outcome"))?,
                details: r.details.0,
            },
            prev_hmac: r.prev_hmac,
            hmac: r.hmac,
        })
    }
}

pub(in crate::store) const AUDIT_INSERT: &str = "INSERT INTO audit_logs (id, occurred_at, actor_type, actor_id, client_id, ip, \
    user_agent, action, target_type, target_id, outcome, details, prev_hmac, hmac) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/// The audit queries for one engine (see [`super::sql_repositories`]).
macro_rules! sql_audit {
    ($store:ty, $db:ty, $engine:literal, $begin:literal, $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::AuditStore for $store {
            async fn append_audit(
                &self,
                r: &$crate::model::audit::AuditRecord,
                seal: &$crate::store::AuditSeal<'_>,
            ) -> Result<i64, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(Self::error)?;
                sqlx::query($lock).execute(&mut *tx).await.map_err(Self::error)?;
                let last: Option<(i64, Vec<u8>)> =
                    sqlx::query_as("SELECT id, hmac FROM audit_logs ORDER BY id DESC LIMIT 1")
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(Self::error)?;
                let (id, prev) = match last {
                    Some((id, hmac)) => (id + 1, hmac),
                    None => (1, $crate::model::audit::GENESIS.to_vec()),
                };
                // Continue after the sealed head if rows were cut from the end: the gap stays
                // visible to `audit verify` instead of being papered over by the next row.
                let head: Option<i64> = sqlx::query_scalar("SELECT last_id FROM audit_head WHERE id = 1")
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                let id = id.max(head.map_or(0, |h| h + 1));
                let (hmac, event, head) = seal(id, &prev);
                sqlx::query($crate::store::sql::AUDIT_INSERT)
                    .bind(id)
                    .bind(r.occurred_at)
                    .bind(r.actor_type.as_str())
                    .bind(r.actor_id.as_deref())
                    .bind(r.client_id.map(|c| c.as_uuid()))
                    .bind(r.ip.as_deref())
                    .bind(r.user_agent.as_deref())
                    .bind(&r.action)
                    .bind(r.target_type.as_deref())
                    .bind(r.target_id.as_deref())
                    .bind(r.outcome.as_str())
                    .bind(sqlx::types::Json(&r.details))
                    .bind(prev)
                    .bind(hmac)
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                sqlx::query(
                    "INSERT INTO audit_head (id, last_id, seal) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET last_id = excluded.last_id, seal = excluded.seal",
                )
                .bind(id)
                .bind(head)
                .execute(&mut *tx)
                .await
                .map_err(Self::error)?;
                Self::append_events(&mut tx, std::slice::from_ref(&event)).await?;
                tx.commit().await.map_err(Self::error)?;
                Ok(id)
            }

            async fn audit_head(&self) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
                sqlx::query_as("SELECT last_id, seal FROM audit_head WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(Self::error)
            }

            async fn audit_search(
                &self,
                f: &$crate::store::AuditFilter,
                limit: i64,
            ) -> Result<Vec<$crate::model::audit::StoredAudit>, StoreError> {
                sqlx::query_as::<_, $crate::store::sql::AuditRow>(
                    "SELECT * FROM audit_logs WHERE ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR action = $2) \
                     AND ($3 IS NULL OR actor_id = $3) AND ($4 IS NULL OR target_id = $4) \
                     AND ($5 IS NULL OR outcome = $5) AND ($6 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7",
                )
                .bind(f.account.map(|a| a.as_uuid()))
                .bind(f.action.as_deref())
                .bind(f.actor_id.as_deref())
                .bind(f.target_id.as_deref())
                .bind(f.outcome.as_deref())
                .bind(f.before)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?
                .into_iter()
                .map($crate::model::audit::StoredAudit::try_from)
                .collect()
            }

            async fn audit_page(
                &self,
                after: i64,
                limit: i64,
            ) -> Result<Vec<$crate::model::audit::StoredAudit>, StoreError> {
                sqlx::query_as::<_, $crate::store::sql::AuditRow>(
                    "SELECT * FROM audit_logs WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?
                .into_iter()
                .map($crate::model::audit::StoredAudit::try_from)
                .collect()
            }
        }
    };
}
pub(in crate::store) use sql_audit;
