//! The client credentials grant (RFC 6749 §4.4): a confidential application acting as itself.
//! The token's `sub` is its client_id, `role` its service role, `clientId` its owning account,
//! `permissions` the role's (DESIGN.md, Tokens).

use super::TokenResponse;
use crate::model::application::{Application, GrantType};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::provider::Provider;
use crate::oauth::subject::Subject;

/// Issues an access token to `app`, for `requested` scopes (default: all the app may have).
#[tracing::instrument(skip_all, fields(client.id = %app.client_id))]
pub async fn grant(
    provider: &Provider,
    app: &Application,
    wanted: super::Wanted<'_>,
) -> Result<TokenResponse, OAuthError> {
    if app.is_public() || !app.allows_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the client_credentials grant",
        ));
    }
    let scope = super::within(wanted.scope, &app.scopes)?;
    let aud = super::audience(provider, app, wanted.resource)?;
    let subject = Subject::of_application(provider, app).await?;
    let (access_token, claims) = subject.access_token(provider, app, &scope, &aud, None)?;
    Ok(TokenResponse::new(access_token, &claims, None, None))
}
