//! The transactional outbox: rows and the `OutboxStore` queries.

#[allow(unused_imports)]
use super::*;

pub(in crate::store) const OUTBOX_INSERT: &str =
    "INSERT INTO outbox (topic, key, payload, created_at) VALUES ($1, $2, $3, $4)";

#[derive(sqlx::FromRow)]
pub(in crate::store) struct OutboxDbRow {
    id: i64,
    topic: String,
    key: String,
    payload: Json<serde_json::Value>,
}

impl From<OutboxDbRow> for crate::model::event::OutboxRow {
    fn from(r: OutboxDbRow) -> Self {
        Self {
            id: r.id,
            topic: r.topic,
            key: r.key,
            payload: r.payload.0,
        }
    }
}

/// The outbox queries for one engine (see [`super::sql_repositories`]).
macro_rules! sql_outbox {
    ($store:ty, $db:ty, $engine:literal, $begin:literal, $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::OutboxStore for $store {
            async fn outbox_unsent(&self, limit: i64) -> Result<Vec<$crate::model::event::OutboxRow>, StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::sql::OutboxDbRow>(
                    "SELECT id, topic, key, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn outbox_backlog(&self) -> Result<i64, StoreError> {
                sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(Self::error)
            }

            async fn outbox_enqueue(&self, events: &[$crate::model::event::OutboxEvent]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                Self::append_events(&mut tx, events).await?;
                tx.commit().await.map_err(Self::error)
            }

            async fn outbox_mark_sent(&self, ids: &[i64], at: time::OffsetDateTime) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(Self::error)?;
                for id in ids {
                    sqlx::query("UPDATE outbox SET sent_at = $1 WHERE id = $2")
                        .bind(at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::error)?;
                }
                tx.commit().await.map_err(Self::error)?;
                Ok(())
            }

            async fn outbox_purge_sent(&self, before: time::OffsetDateTime) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await
                    .map_err(Self::error)?;
                Ok(done.rows_affected())
            }

            async fn outbox_oldest_unsent(&self) -> Result<Option<time::OffsetDateTime>, StoreError> {
                sqlx::query_scalar("SELECT created_at FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(Self::error)
            }
        }
    };
}
pub(in crate::store) use sql_outbox;
