//! Browser sessions in the hot-state store: [`Key::Session`] holds the session,
//! [`Key::UserSessions`] the ids of a user's live sessions.

use time::OffsetDateTime;

use super::{HotState, Key};
use crate::model::StoreError;
use crate::model::user::UserId;
use crate::oauth::session::Session;

impl HotState {
    pub async fn put_session(&self, cookie: &str, session: &Session, until: OffsetDateTime) -> Result<(), StoreError> {
        self.put_record(Key::Session(cookie), session, until).await
    }

    /// The session of this cookie, unless absent, expired or unreadable.
    pub async fn session(&self, cookie: &str) -> Result<Option<Session>, StoreError> {
        self.record(Key::Session(cookie)).await
    }

    pub async fn delete_session(&self, cookie: &str) -> Result<(), StoreError> {
        self.delete(Key::Session(cookie)).await.map(|_| ())
    }

    pub async fn add_user_session(&self, user: UserId, sid: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        self.set_add(Key::UserSessions(user), sid, until).await
    }

    pub async fn remove_user_session(&self, user: UserId, sid: &str) -> Result<bool, StoreError> {
        self.set_remove(Key::UserSessions(user), sid).await
    }

    pub async fn has_user_session(&self, user: UserId, sid: &str) -> Result<bool, StoreError> {
        self.set_contains(Key::UserSessions(user), sid).await
    }

    /// The ids (`sid`) of the user's live sessions.
    pub async fn user_sessions(&self, user: UserId) -> Result<Vec<String>, StoreError> {
        self.set_members(Key::UserSessions(user)).await
    }
}
