//! The client credentials grant (RFC 6749 §4.4): a confidential application acting as itself.
//! The token's `sub` is its client_id, `role` its service role, `clientId` its owning account,
//! `permissions` the role's (DESIGN.md, Tokens).

use super::TokenResponse;
use crate::identity::application::{Application, GrantType};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::token::{self, AccessClaims};

/// Issues an access token to `app`, for `requested` scopes (default: all the app may have).
#[tracing::instrument(skip_all, fields(client.id = %app.client_id))]
pub async fn grant(
    provider: &Provider,
    app: &Application,
    requested: Option<Scope>,
) -> Result<TokenResponse, OAuthError> {
    if app.is_public() || !app.allows_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the client_credentials grant",
        ));
    }
    let scope = match requested {
        Some(scope) if !app.scopes.contains_all(&scope) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "a requested scope is not allowed for this client",
            ));
        }
        Some(scope) => scope,
        None => app.scopes.clone(),
    };
    let (role, permissions) = match &app.service_role {
        Some(name) => {
            let role = provider.clients.role(name).await?.ok_or_else(|| {
                tracing::error!(role = %name, "the service role of an application does not exist");
                OAuthError::server_error()
            })?;
            (
                Some(name.to_string()),
                role.permissions.iter().map(ToString::to_string).collect(),
            )
        }
        None => (None, Vec::new()),
    };
    let now = provider.clock.now();
    let ttl = app.access_token_ttl.unwrap_or(provider.access_token_ttl);
    let claims = AccessClaims {
        iss: provider.issuer.clone(),
        sub: app.client_id.to_string(),
        aud: provider.audience.clone(),
        exp: (now + ttl).unix_timestamp(),
        iat: now.unix_timestamp(),
        jti: token::new_jti(),
        client_id: app.client_id.to_string(),
        scope: scope.to_string(),
        sid: None,
        role,
        account_id: app.account_id.map(|a| a.to_string()),
        permissions,
        auth_time: None,
        amr: None,
    };
    let access_token = token::mint(&provider.keyring, &claims).map_err(|e| {
        tracing::error!(error = %e, "signing an access token failed");
        OAuthError::server_error()
    })?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl.whole_seconds(),
        scope: claims.scope,
        refresh_token: None,
        id_token: None,
    })
}
