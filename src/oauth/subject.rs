//! Who a user token speaks for: the user's id, role, B2B account and effective permissions
//! (role permissions plus extra grants, DESIGN.md), and how they authenticated.

use serde::{Deserialize, Serialize};

use super::error::OAuthError;
use super::provider::Provider;
use super::scope::Scope;
use super::token::{self, AccessClaims};
use crate::identity::application::Application;
use crate::identity::user::User;

/// The identity and authorization facts an access token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub sub: String,
    pub role: String,
    pub account_id: Option<String>,
    pub permissions: Vec<String>,
    pub sid: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
}

impl Subject {
    /// The subject for `user`, authenticated at `auth_time` by `amr` in session `sid`.
    pub async fn of(
        provider: &Provider,
        user: &User,
        sid: Option<String>,
        auth_time: i64,
        amr: Vec<String>,
    ) -> Result<Self, OAuthError> {
        let role = provider.clients.role(&user.role).await?;
        let mut permissions: Vec<String> = role
            .iter()
            .flat_map(|r| r.permissions.iter())
            .chain(user.permissions.iter())
            .map(ToString::to_string)
            .collect();
        permissions.sort();
        permissions.dedup();
        Ok(Self {
            sub: user.id.to_string(),
            role: user.role.to_string(),
            account_id: user.client_id.map(|a| a.to_string()),
            permissions,
            sid,
            auth_time,
            amr,
        })
    }

    /// Mints an access token for this subject, issued to `app`, for `scope`.
    pub fn access_token(
        &self,
        provider: &Provider,
        app: &Application,
        scope: &Scope,
    ) -> Result<(String, AccessClaims), OAuthError> {
        let now = provider.clock.now();
        let ttl = app.access_token_ttl.unwrap_or(provider.access_token_ttl);
        let claims = AccessClaims {
            iss: provider.issuer.clone(),
            sub: self.sub.clone(),
            aud: provider.audience.clone(),
            exp: (now + ttl).unix_timestamp(),
            iat: now.unix_timestamp(),
            jti: token::new_jti(),
            client_id: app.client_id.to_string(),
            scope: scope.to_string(),
            sid: self.sid.clone(),
            role: Some(self.role.clone()),
            account_id: self.account_id.clone(),
            permissions: self.permissions.clone(),
            auth_time: Some(self.auth_time),
            amr: Some(self.amr.clone()),
        };
        let jwt = token::mint(&provider.keyring, &claims).map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            OAuthError::server_error()
        })?;
        Ok((jwt, claims))
    }
}
