//! Password login: the user named by username or email, checked with bcrypt. An unknown user
//! costs the same bcrypt as a wrong password (against a dummy hash of the configured cost), and
//! both give the same answer, so neither the message nor the timing tells which it was.

use tokio::sync::OnceCell;

use super::password::Password;
use super::user::{User, UserStatus};
use crate::store::{Database, StoreError};

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, wrong password, or a user who may not sign in: indistinguishable.
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The dummy hash unknown users are checked against, made once at the configured cost.
#[derive(Debug, Default)]
pub struct DummyHash(OnceCell<String>);

impl DummyHash {
    async fn get(&self, cost: u32) -> &str {
        self.0
            .get_or_init(|| async move {
                let random = crate::identity::application::random_token::<16>();
                match Password::presented(&random) {
                    Ok(p) => p.hash(cost).await.unwrap_or_default(),
                    Err(_) => String::new(),
                }
            })
            .await
    }
}

/// Checks `login` (username or email) and `password`.
#[tracing::instrument(skip_all)]
pub async fn verify(
    db: &dyn Database,
    dummy: &DummyHash,
    cost: u32,
    login: &str,
    password: &str,
) -> Result<User, LoginError> {
    let presented = Password::presented(password).map_err(|_| LoginError::InvalidCredentials)?;
    let user = if login.trim().is_empty() || login.len() > 254 {
        None
    } else {
        db.find_user_by_login(login).await?
    };
    let hash = match user.as_ref().and_then(|u| u.password_hash.clone()) {
        Some(hash) => hash,
        None => dummy.get(cost).await.to_owned(),
    };
    let matches = presented.verify(hash).await.unwrap_or(false);
    match user {
        Some(user) if matches && user.status == UserStatus::Active => Ok(user),
        _ => Err(LoginError::InvalidCredentials),
    }
}
