//! The refresh token grant (RFC 6749 §6): rotation with reuse detection (see
//! [`crate::oauth::refresh`]). The new refresh token keeps the original scope; the access token
//! may ask for less (never more).

use super::TokenResponse;
use crate::model::application::{Application, GrantType};
use crate::model::user::{UserId, UserStatus};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::id_token;
use crate::oauth::provider::Provider;
use crate::oauth::refresh;

#[tracing::instrument(skip_all, fields(client.id = %app.client_id))]
pub async fn grant(
    provider: &Provider,
    app: &Application,
    refresh_token: &str,
    wanted: super::Wanted<'_>,
) -> Result<TokenResponse, OAuthError> {
    if !app.allows_grant(GrantType::RefreshToken) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the refresh_token grant",
        ));
    }
    let (record, successor, app) = refresh::rotate(provider, refresh_token, app).await?;
    // What was granted, less what the application may no longer ask for.
    let granted = record.scope.intersection(&app.scopes);
    let scope = super::within(wanted.scope, &granted)?;
    // RFC 8707 §2.2: a refresh may name one resource (one the client may ask for); by default
    // the family's.
    let aud = super::audience(provider, &app, wanted.resource.or(record.resource.as_deref()))?;
    let (access_token, claims) = record
        .subject
        .access_token(provider, &app, &scope, &aud, Some(&record.family))?;
    // OpenID Connect Core §12.2: a new ID token when the grant had `openid`, with the original
    // authentication's `auth_time`, `amr` and `sid`, and no `nonce` (a refresh is no
    // authentication request).
    let id_token = if scope.contains("openid") {
        // The copy the rotation just read under the family's generations (cached, no SQL).
        let user = match UserId::parse(&record.subject.sub) {
            Ok(id) => provider.clients.user(id, record.subject.marks.user).await?,
            Err(_) => None,
        };
        let user = user
            .filter(|cached| cached.value.status == UserStatus::Active)
            .ok_or_else(|| OAuthError::invalid_grant("the user is not active"))?;
        id_token::issue(
            provider,
            &app,
            &user.value,
            &record.subject,
            &scope,
            &access_token,
            id_token::Asked::default(),
        )?
    } else {
        None
    };
    Ok(TokenResponse::new(access_token, &claims, Some(successor), id_token))
}
