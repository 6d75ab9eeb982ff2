//! Password login: the user named by username or email, checked with bcrypt. An unknown user
//! costs the same bcrypt as a wrong password (against a dummy hash of the configured cost), and
//! both give the same answer, so neither the message nor the timing tells which it was.
//! Lockout and auditing wrap this in [`crate::security::signin`].

use tokio::sync::OnceCell;

use crate::model::password::Password;
use crate::model::user::{User, UserStatus};
use crate::store::{Database, StoreError};

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, wrong password, or a user who may not sign in: indistinguishable to the
    /// caller. `user` is the account the name belongs to, if any (for lockout bookkeeping).
    #[error("invalid username or password")]
    InvalidCredentials { user: Option<Box<User>> },
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
                let random = crate::crypto::random_token::<16>();
                match Password::presented(&random) {
                    Ok(p) => p.hash(cost).await.unwrap_or_default(),
                    Err(_) => String::new(),
                }
            })
            .await
    }
}

/// The user a login name (username or email) belongs to; `None` for names no one could have.
pub async fn find(db: &dyn Database, login: &str) -> Result<Option<User>, StoreError> {
    // A NUL byte cannot be in any name (and PostgreSQL refuses it in a query): no one.
    if login.trim().is_empty() || login.len() > 254 || login.contains('\0') {
        return Ok(None);
    }
    db.find_user_by_login(login).await
}

/// Checks `password` against `user`'s hash, or against the dummy hash when there is no user.
pub async fn check(dummy: &DummyHash, cost: u32, user: Option<User>, password: &str) -> Result<User, LoginError> {
    let Ok(presented) = Password::presented(password) else {
        return Err(LoginError::InvalidCredentials {
            user: user.map(Box::new),
        });
    };
    let hash = match user.as_ref().and_then(|u| u.password_hash.clone()) {
        Some(hash) => hash,
        None => dummy.get(cost).await.to_owned(),
    };
    let matches = presented.verify(hash).await.unwrap_or(false);
    match user {
        Some(user) if matches && user.status == UserStatus::Active => Ok(user),
        user => Err(LoginError::InvalidCredentials {
            user: user.map(Box::new),
        }),
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
    let user = find(db, login).await?;
    check(dummy, cost, user, password).await
}
