//! Second factors and recovery codes: rows and the `FactorStore` queries.

#[allow(unused_imports)]
use super::*;

#[derive(sqlx::FromRow)]
pub(in crate::store) struct FactorRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    secret_enc: Option<Vec<u8>>,
    target: Option<String>,
    confirmed_at: Option<OffsetDateTime>,
    last_used_step: Option<i64>,
    created_at: OffsetDateTime,
}

impl TryFrom<FactorRow> for crate::model::mfa::Factor {
    type Error = StoreError;
    fn try_from(r: FactorRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            user_id: UserId::from_uuid(r.user_id),
            kind: crate::model::mfa::FactorKind::parse(&r.kind).map_err(corrupt("mfa_factors.kind"))?,
            secret_enc: r.secret_enc,
            target: r.target,
            confirmed_at: r.confirmed_at,
            last_used_step: r.last_used_step,
            created_at: r.created_at,
        })
    }
}

/// The factors queries for one engine (see [`super::sql_repositories`]).
macro_rules! sql_factors {
    ($store:ty, $db:ty, $engine:literal, $begin:literal, $lock:literal) => {
        impl $store {
            /// Makes the transaction (begun with `BEGIN IMMEDIATE` on SQLite) the one writer of
            /// the user's second factors and recovery codes until it ends. On PostgreSQL it locks
            /// the user's row: a writer that comes second waits, and its next statement reads
            /// what the first one committed (read committed takes a snapshot per statement). The
            /// lock is the one an UPDATE takes (`FOR NO KEY UPDATE`), so rows that merely
            /// reference the user are still written meanwhile. On SQLite `BEGIN IMMEDIATE` took
            /// the database's write lock already.
            async fn lock_factors_of(tx: &mut sqlx::Transaction<'_, $db>, user: UserId) -> Result<(), StoreError> {
                if $engine == "postgres" {
                    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
                        .bind(user.as_uuid())
                        .execute(&mut **tx)
                        .await
                        .map_err(Self::error)?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::FactorStore for $store {
            async fn list_factors(&self, user: UserId) -> Result<Vec<$crate::model::mfa::Factor>, StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::sql::FactorRow>(
                    "SELECT id, user_id, kind, secret_enc, target, confirmed_at, last_used_step, created_at \
                     FROM mfa_factors WHERE user_id = $1 ORDER BY created_at, id",
                )
                .bind(user.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(Self::error)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn insert_factor(&self, f: &$crate::model::mfa::Factor) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO mfa_factors (id, user_id, kind, secret_enc, target, confirmed_at, last_used_step, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(f.id)
                .bind(f.user_id.as_uuid())
                .bind(f.kind.as_str())
                .bind(f.secret_enc.as_deref())
                .bind(f.target.as_deref())
                .bind(f.confirmed_at)
                .bind(f.last_used_step)
                .bind(f.created_at)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(())
            }

            async fn confirm_factor(
                &self,
                user: UserId,
                id: uuid::Uuid,
                at: time::OffsetDateTime,
                step: Option<i64>,
            ) -> Result<bool, StoreError> {
                // In the user's turn, as removals are: a removal that counted no confirmed
                // factor cannot then delete this one as it is confirmed.
                let mut tx = self.pool.begin_with($begin).await.map_err(Self::error)?;
                Self::lock_factors_of(&mut tx, user).await?;
                let done = sqlx::query(
                    "UPDATE mfa_factors SET confirmed_at = $1, last_used_step = $2 \
                     WHERE id = $3 AND user_id = $4 AND confirmed_at IS NULL",
                )
                .bind(at)
                .bind(step)
                .bind(id)
                .bind(user.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(Self::error)?;
                tx.commit().await.map_err(Self::error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn use_totp_step(&self, id: uuid::Uuid, step: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE mfa_factors SET last_used_step = $1 \
                     WHERE id = $2 AND (last_used_step IS NULL OR last_used_step < $1)",
                )
                .bind(step)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_factor(&self, user: UserId, id: uuid::Uuid) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM mfa_factors WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user.as_uuid())
                    .execute(&self.pool)
                    .await
                    .map_err(Self::error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_factors_keeping(
                &self,
                user: UserId,
                ids: &[uuid::Uuid],
                keep_one: bool,
            ) -> Result<$crate::store::FactorRemoval, StoreError> {
                let confirmed = "SELECT count(*) FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL";
                let mut tx = self.pool.begin_with($begin).await.map_err(Self::error)?;
                Self::lock_factors_of(&mut tx, user).await?;
                let had: i64 = sqlx::query_scalar(confirmed)
                    .bind(user.as_uuid())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                let mut removed = 0;
                for id in ids.iter().copied() {
                    removed += sqlx::query("DELETE FROM mfa_factors WHERE id = $1 AND user_id = $2")
                        .bind(id)
                        .bind(user.as_uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::error)?
                        .rows_affected();
                }
                if keep_one && had > 0 {
                    let left: i64 = sqlx::query_scalar(confirmed)
                        .bind(user.as_uuid())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(Self::error)?;
                    if left == 0 {
                        tx.rollback().await.map_err(Self::error)?;
                        return Ok($crate::store::FactorRemoval::Refused);
                    }
                }
                tx.commit().await.map_err(Self::error)?;
                Ok($crate::store::FactorRemoval::Removed(removed))
            }

            async fn delete_factors_unless_confirmed(&self, user: UserId) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(Self::error)?;
                Self::lock_factors_of(&mut tx, user).await?;
                let confirmed: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL",
                )
                .bind(user.as_uuid())
                .fetch_one(&mut *tx)
                .await
                .map_err(Self::error)?;
                if confirmed > 0 {
                    tx.rollback().await.map_err(Self::error)?;
                    return Ok(false);
                }
                for table in ["DELETE FROM mfa_factors WHERE user_id = $1", "DELETE FROM recovery_codes WHERE user_id = $1"] {
                    sqlx::query(table)
                        .bind(user.as_uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::error)?;
                }
                tx.commit().await.map_err(Self::error)?;
                Ok(true)
            }

            async fn delete_factors(&self, user: UserId) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(Self::error)?;
                Self::lock_factors_of(&mut tx, user).await?;
                let done = sqlx::query("DELETE FROM mfa_factors WHERE user_id = $1")
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                tx.commit().await.map_err(Self::error)?;
                Ok(done.rows_affected())
            }

            async fn replace_recovery_codes(
                &self,
                user: UserId,
                hashes: &[Vec<u8>],
                at: time::OffsetDateTime,
            ) -> Result<(), StoreError> {
                // Without the turn, two replacements at once would each delete only the codes
                // committed before they began and both new sets would stay.
                let mut tx = self.pool.begin_with($begin).await.map_err(Self::error)?;
                Self::lock_factors_of(&mut tx, user).await?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::error)?;
                for hash in hashes {
                    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
                        .bind(user.as_uuid())
                        .bind(hash.as_slice())
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::error)?;
                }
                tx.commit().await.map_err(Self::error)?;
                Ok(())
            }

            async fn use_recovery_code(&self, user: UserId, hash: &[u8], at: time::OffsetDateTime) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
                )
                .bind(at)
                .bind(user.as_uuid())
                .bind(hash)
                .execute(&self.pool)
                .await
                .map_err(Self::error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn recovery_codes_left(&self, user: UserId) -> Result<i64, StoreError> {
                sqlx::query_scalar("SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                    .bind(user.as_uuid())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(Self::error)
            }
        }
    };
}
pub(in crate::store) use sql_factors;
