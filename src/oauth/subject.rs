//! Who an access token speaks for: a user (id, role, B2B account, effective permissions — role
//! permissions plus extra grants, DESIGN.md — and how they authenticated), or an application
//! acting as itself (`client_credentials`: its client_id, service role and owning account).

use serde::{Deserialize, Serialize};

use super::error::OAuthError;
use super::provider::Provider;
use super::scope::Scope;
use super::token::{self, AccessClaims};
use crate::identity::application::Application;
use crate::identity::role::RoleName;
use crate::identity::user::User;

/// The identity and authorization facts an access token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub sub: String,
    pub role: Option<String>,
    pub account_id: Option<String>,
    pub permissions: Vec<String>,
    pub sid: Option<String>,
    /// When the user authenticated (unix seconds); `None` for applications.
    pub auth_time: Option<i64>,
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
        let mut permissions = role_permissions(provider, &user.role).await?;
        permissions.extend(user.permissions.iter().map(ToString::to_string));
        permissions.sort();
        permissions.dedup();
        Ok(Self {
            sub: user.id.to_string(),
            role: Some(user.role.to_string()),
            account_id: user.client_id.map(|a| a.to_string()),
            permissions,
            sid,
            auth_time: Some(auth_time),
            amr,
        })
    }

    /// The subject of an application acting as itself (RFC 6749 §4.4).
    pub async fn of_application(provider: &Provider, app: &Application) -> Result<Self, OAuthError> {
        let permissions = match &app.service_role {
            Some(role) => role_permissions(provider, role).await?,
            None => Vec::new(),
        };
        Ok(Self {
            sub: app.client_id.to_string(),
            role: app.service_role.as_ref().map(ToString::to_string),
            account_id: app.account_id.map(|a| a.to_string()),
            permissions,
            sid: None,
            auth_time: None,
            amr: Vec::new(),
        })
    }

    /// Mints an access token for this subject, issued to `app`, for `scope`; `family` names the
    /// refresh-token family it descends from, so revoking the family revokes it too.
    pub fn access_token(
        &self,
        provider: &Provider,
        app: &Application,
        scope: &Scope,
        family: Option<&str>,
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
            role: self.role.clone(),
            account_id: self.account_id.clone(),
            permissions: self.permissions.clone(),
            auth_time: self.auth_time,
            amr: (!self.amr.is_empty()).then(|| self.amr.clone()),
            family: family.map(str::to_owned),
        };
        let jwt = token::mint(&provider.keyring(), &claims).map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            OAuthError::server_error()
        })?;
        Ok((jwt, claims))
    }
}

/// The permissions of a role, as strings; a missing role is a server-side inconsistency.
async fn role_permissions(provider: &Provider, role: &RoleName) -> Result<Vec<String>, OAuthError> {
    let found = provider.clients.role(role).await?.ok_or_else(|| {
        tracing::error!(role = %role, "a role named by a user or application does not exist");
        OAuthError::server_error()
    })?;
    Ok(found.permissions.iter().map(ToString::to_string).collect())
}
