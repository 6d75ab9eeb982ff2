//! The authorization code grant's token request (RFC 6749 §4.1.3, RFC 7636 §4.5, OpenID Connect
//! Core §3.1.3): the code must be fresh, issued to this client for this redirect URI, and match
//! its PKCE challenge. Then: an access token, an ID token for `openid`, and a refresh token when
//! the client may have one (first-party, or `offline_access` granted).

use super::TokenResponse;
use crate::model::application::{Application, GrantType};
use crate::oauth::code::{self, CodeGrant, Issued, Redeemed};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::id_token;
use crate::oauth::provider::Provider;
use crate::oauth::refresh;
use crate::oauth::revocation;
use crate::oauth::subject::{Authenticated, Proof, Subject};

#[tracing::instrument(skip_all, fields(client.id = %app.client_id))]
pub async fn grant(
    provider: &Provider,
    app: &Application,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    if !app.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization_code grant",
        ));
    }
    let grant = match code::redeem(provider, code).await? {
        Redeemed::Fresh(grant) => grant,
        Redeemed::Replayed => {
            return Err(OAuthError::invalid_grant(
                "the code was already used; its tokens are revoked",
            ));
        }
        Redeemed::Unknown => {
            return Err(OAuthError::invalid_grant("the code is invalid or expired"));
        }
    };
    bound_to(&grant, app, redirect_uri, verifier)?;
    let sub = grant.user_id.to_string();
    let ended = revocation::session_revoked(
        provider.state.as_ref(),
        &grant.sid,
        &sub,
        grant.account.as_deref(),
        &grant.session_marks,
        grant.auth_time,
    )
    .await?;
    if ended {
        return Err(OAuthError::invalid_grant("the session has ended"));
    }
    let how = Authenticated {
        sid: Some(grant.sid.clone()),
        auth_time: grant.auth_time,
        amr: grant.amr.clone(),
    };
    let (mut subject, user) = Subject::of_user(
        provider,
        app,
        grant.user_id,
        Proof::Session(grant.session_marks.sessions),
        how,
    )
    .await?;
    subject.userinfo_claims = id_token::requested(grant.claims.as_ref(), id_token::Target::UserInfo);
    let scope = grant.scope.clone();
    let resource = resource_of(&grant, resource)?;
    let aud = super::audience(provider, app, resource)?;
    let (refresh_token, family) = if super::wants_refresh(app, &scope) {
        let (token, record) =
            refresh::start_family(provider, &app.client_id, &scope, resource, subject.clone()).await?;
        (Some(token), Some(record))
    } else {
        (None, None)
    };
    let (access_token, claims) =
        subject.access_token(provider, app, &scope, &aud, family.as_ref().map(|f| f.family.as_str()))?;
    let id_token = id_token::issue(
        provider,
        app,
        &user,
        &subject,
        &scope,
        &access_token,
        id_token::Asked {
            nonce: grant.nonce.clone(),
            claims: grant.claims.as_ref(),
        },
    )?;
    let issued = Issued {
        jti: claims.jti.clone(),
        exp: claims.exp,
        family: family.as_ref().map(|f| f.family.clone()),
        family_created: family.as_ref().map(|f| f.family_created),
    };
    code::record_issued(provider, code, &issued).await?;
    tracing::info!(user.id = %subject.sub, "tokens issued for an authorization code");
    Ok(TokenResponse::new(access_token, &claims, refresh_token, id_token))
}

/// The code was issued to this client, for this redirect URI (when the authorization request
/// named one, RFC 6749 §4.1.3), and the verifier matches its PKCE challenge (RFC 7636 §4.6).
fn bound_to(
    grant: &CodeGrant,
    app: &Application,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    if grant.client_id != app.client_id {
        return Err(OAuthError::invalid_grant("the code was issued to another client"));
    }
    match redirect_uri {
        Some(uri) if !grant.redirect_uri.is(uri) => {
            return Err(OAuthError::invalid_grant("redirect_uri does not match"));
        }
        None if grant.redirect_uri_given => {
            return Err(OAuthError::invalid_grant("redirect_uri is required"));
        }
        _ => {}
    }
    match (&grant.code_challenge, verifier) {
        (Some(challenge), Some(v)) if challenge.verify(v) => {}
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent but no code_challenge was",
            ));
        }
        (None, None) => {}
    }
    Ok(())
}

/// The resource the tokens are for: the token request may repeat the authorized one, not change
/// it (RFC 8707 §2.2).
fn resource_of<'a>(grant: &'a CodeGrant, resource: Option<&'a str>) -> Result<Option<&'a str>, OAuthError> {
    match (grant.resource.as_deref(), resource) {
        (Some(authorized), Some(asked)) if authorized != asked => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "the resource differs from the one authorized",
        )),
        (authorized, asked) => Ok(authorized.or(asked)),
    }
}
