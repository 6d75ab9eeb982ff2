//! Token revocation (RFC 7009). `token_type_hint` is ignored (§2.1 allows it; §2.2 says an
//! invalid one must not change the answer): every kind of token is recognised by its form. An access token goes on the blacklist until it would have
//! expired. Only the client a token was issued to may revoke it; unknown, malformed and
//! expired tokens get a plain success (§2.2: the client cannot act on the difference).

use super::error::{ErrorCode, OAuthError};
use super::provider::Provider;
use super::{refresh, revocation};
use crate::model::application::Application;
use crate::model::audit::AuditRecord;

/// Revokes `token` on behalf of `caller`.
#[tracing::instrument(skip_all, fields(client.id = %caller.client_id))]
pub async fn revoke(provider: &Provider, caller: &Application, token: &str) -> Result<(), OAuthError> {
    let Ok(claims) = provider.access_claims(token) else {
        return revoke_refresh(provider, caller, token).await;
    };
    if claims.client_id != caller.client_id.as_str() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        ));
    }
    revocation::deny_token(provider.state.as_ref(), &claims).await?;
    tracing::info!(token.jti = %claims.jti, "access token revoked");
    Ok(())
}

/// A refresh token takes its whole family with it.
async fn revoke_refresh(provider: &Provider, caller: &Application, token: &str) -> Result<(), OAuthError> {
    let Some(record) = refresh::peek(provider, token).await? else {
        return Ok(());
    };
    if record.client_id != caller.client_id {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        ));
    }
    refresh::revoke_family(provider.state.as_ref(), &record).await?;
    let audit = AuditRecord::refresh_family_revoked(
        provider.clock.now(),
        &record.subject.sub,
        record.client_id.as_str(),
        "revoked by its client",
    );
    provider.audit.record_or_log(audit).await;
    Ok(())
}
