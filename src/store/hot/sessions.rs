//! Browser sessions in the hot-state store: `session:{sha256(cookie)}` holds the session,
//! `user-sessions:{user}` the ids of a user's live sessions.

use time::OffsetDateTime;

use super::HotState;
use crate::crypto::digest;
use crate::model::StoreError;
use crate::model::user::UserId;
use crate::oauth::session::Session;

fn session_key(cookie: &str) -> String {
    format!("session:{}", digest(cookie))
}

fn user_sessions_key(user: UserId) -> String {
    format!("user-sessions:{user}")
}

impl HotState {
    pub async fn put_session(&self, cookie: &str, session: &Session, until: OffsetDateTime) -> Result<(), StoreError> {
        let value = serde_json::to_vec(session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.hot.put(&session_key(cookie), &value, until).await
    }

    /// The session of this cookie, unless absent, expired or unreadable.
    pub async fn session(&self, cookie: &str) -> Result<Option<Session>, StoreError> {
        Ok(self
            .hot
            .get(&session_key(cookie))
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    pub async fn delete_session(&self, cookie: &str) -> Result<(), StoreError> {
        self.hot.delete(&session_key(cookie)).await.map(|_| ())
    }

    pub async fn add_user_session(&self, user: UserId, sid: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        self.hot.set_add(&user_sessions_key(user), sid, until).await
    }

    pub async fn remove_user_session(&self, user: UserId, sid: &str) -> Result<bool, StoreError> {
        self.hot.set_remove(&user_sessions_key(user), sid).await
    }

    pub async fn has_user_session(&self, user: UserId, sid: &str) -> Result<bool, StoreError> {
        self.hot.set_contains(&user_sessions_key(user), sid).await
    }

    /// The ids (`sid`) of the user's live sessions.
    pub async fn user_sessions(&self, user: UserId) -> Result<Vec<String>, StoreError> {
        self.hot.set_members(&user_sessions_key(user)).await
    }
}
