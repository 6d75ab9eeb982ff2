//! The rows the protocol core reads ([`crate::oauth::ports::ClientDirectory`]), from the
//! relational store.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Database, StoreError};
use crate::model::account::{Account, AccountId};
use crate::model::application::{Application, ClientId};
use crate::model::role::{Role, RoleName};
use crate::model::user::{User, UserId};
use crate::oauth::ports::ClientDirectory;

/// Applications, roles, accounts and users as the protocol reads them.
pub struct Directory {
    db: Arc<dyn Database>,
}

impl Directory {
    pub fn new(db: Arc<dyn Database>) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ClientDirectory for Directory {
    async fn find_application(&self, client_id: &ClientId) -> Result<Option<Application>, StoreError> {
        self.db.find_application(client_id).await
    }

    async fn find_role(&self, name: &RoleName) -> Result<Option<Role>, StoreError> {
        self.db.find_role(name).await
    }

    async fn find_account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.db.find_account(id).await
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.db.find_user(id).await
    }
}
