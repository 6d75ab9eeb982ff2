//! The grants of the token endpoint, one file each, and the response they share.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::model::scope::Scope;
use crate::oauth::error::{ErrorCode, OAuthError};

/// A successful token response (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl TokenResponse {
    pub fn new(
        access_token: String,
        claims: &crate::oauth::token::AccessClaims,
        refresh_token: Option<String>,
        id_token: Option<String>,
    ) -> Self {
        Self {
            access_token,
            token_type: "Bearer",
            expires_in: claims.exp - claims.iat,
            scope: claims.scope.clone(),
            refresh_token,
            id_token,
        }
    }
}

/// What a token request asks for besides its grant: a narrower `scope`, and an RFC 8707
/// `resource`.
#[derive(Debug, Default)]
pub struct Wanted<'a> {
    pub scope: Option<Scope>,
    pub resource: Option<&'a str>,
}

/// The scope of a grant: what was requested, which must lie within `allowed`; by default all
/// of `allowed`.
pub fn within(requested: Option<Scope>, allowed: &Scope) -> Result<Scope, OAuthError> {
    match requested {
        Some(scope) if !allowed.contains_all(&scope) => Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "a requested scope is beyond what was allowed",
        )),
        Some(scope) => Ok(scope),
        None => Ok(allowed.clone()),
    }
}

/// The `aud` of an access token for `app` (DESIGN.md, Token authority: audience): the RFC 8707
/// `resource` it asked for, which must be one the application is allowed, else Propusk's own
/// audience.
pub fn audience(
    provider: &crate::oauth::provider::Provider,
    app: &crate::model::application::Application,
    resource: Option<&str>,
) -> Result<String, OAuthError> {
    match resource {
        None => Ok(provider.audience.clone()),
        Some(r) if app.resources.iter().any(|allowed| allowed == r) => Ok(r.to_owned()),
        Some(_) => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "the resource is not one this client may ask for",
        )),
    }
}

/// A refresh token goes to applications with the refresh_token grant that are first-party or
/// were granted `offline_access` (DESIGN.md, Tokens).
pub fn wants_refresh(app: &crate::model::application::Application, scope: &Scope) -> bool {
    app.allows_grant(crate::model::application::GrantType::RefreshToken)
        && (app.first_party || scope.contains("offline_access"))
}
