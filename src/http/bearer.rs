//! Bearer access tokens at Propusk's own APIs (RFC 6750; DESIGN.md, Token authority). Every
//! endpoint that takes one asks [`authorized`] with the API it serves, which answers:
//! - issued by whom: our signature, `typ: at+jwt` (never an ID token), our issuer, unexpired,
//!   not revoked (blacklist, sessions, families, generations — see `oauth::revocation`);
//! - to which application: one that is registered and enabled now;
//! - for which audience: Propusk's own (`ACCESS_TOKEN_AUDIENCE`) at `/userinfo`, `/account/v1`
//!   and `/admin/v1`; `/authz/check` and `/gateway/check` judge tokens of any audience by their
//!   own permissions (each may name the audience it serves);
//! - with what authority: `/account/v1` takes user tokens of first-party applications,
//!   `/admin/v1` those and `client_credentials` tokens of applications with a service role.
//!
//! Bad, expired and revoked tokens get 401 `invalid_token`; a good token without authority
//! there gets 403 `insufficient_scope`, each with its `WWW-Authenticate` challenge.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::error::json_error;
use super::extract::authorization;
use crate::model::application::{Application, ClientId};
use crate::oauth::provider::Provider;
use crate::oauth::revocation;
use crate::oauth::token::AccessClaims;

/// The API a bearer token is presented to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    UserInfo,
    Account,
    Admin,
    AuthzCheck,
    /// Forward authentication (`/gateway/check`): any of our tokens, judged by its permissions.
    Gateway,
}

/// A token accepted at an API: its claims and the application it was issued to, as it is now.
pub struct Bearer {
    pub claims: Arc<AccessClaims>,
    pub app: Arc<Application>,
}

/// An RFC 6750 §3 error with its `WWW-Authenticate` challenge.
pub fn bearer_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = json_error(status, error, description);
    let challenge = format!("Bearer realm=\"propusk\", error=\"{error}\", error_description=\"{description}\"");
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// The bearer token of the `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = authorization(headers)?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// 401 `invalid_token` (RFC 6750 §3.1).
pub fn invalid_token() -> Response {
    bearer_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the access token is invalid, expired or revoked",
    )
}

/// 403 `insufficient_scope` (RFC 6750 §3.1): a valid token without authority here.
pub fn insufficient_scope(description: &str) -> Response {
    bearer_error(StatusCode::FORBIDDEN, "insufficient_scope", description)
}

fn unavailable() -> Response {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "try again shortly",
    )
}

/// The claims of a valid, unrevoked access token: 401 `invalid_token` for a bad, expired or
/// revoked one, 503 when the revocation state cannot be read.
pub async fn active_claims(provider: &Provider, token: &str) -> Result<Arc<AccessClaims>, Response> {
    let claims = provider.access_claims(token).map_err(|_| invalid_token())?;
    match revocation::is_revoked(provider.state.as_ref(), &claims).await {
        Ok(false) => Ok(claims),
        Ok(true) => Err(invalid_token()),
        Err(_) => Err(unavailable()),
    }
}

/// The request's bearer token, if it may be used at `api` (see the module docs).
pub async fn authorized(provider: &Provider, headers: &HeaderMap, api: Api) -> Result<Bearer, Response> {
    let token = bearer(headers).ok_or_else(invalid_token)?;
    authorized_token(provider, token, api).await
}

/// As [`authorized`], for a token sent another way (the form body of `/userinfo`).
pub async fn authorized_token(provider: &Provider, token: &str, api: Api) -> Result<Bearer, Response> {
    let claims = active_claims(provider, token).await?;
    let app = match ClientId::parse(&claims.client_id) {
        // At least as new as the token: a copy cached before a change the token was issued
        // after (say, the application losing its first-party standing) is read again.
        Ok(id) => provider
            .clients
            .application_at(&id, claims.rev.app)
            .await
            .map_err(|_| unavailable())?,
        Err(_) => None,
    };
    // An application disabled or deleted since: its tokens end with it.
    let app = app.ok_or_else(invalid_token)?;
    if !matches!(api, Api::AuthzCheck | Api::Gateway) && claims.aud != provider.audience {
        return Err(insufficient_scope("the token is meant for another resource"));
    }
    let service = claims.is_service();
    let allowed = match api {
        Api::UserInfo => !service,
        Api::AuthzCheck | Api::Gateway => true,
        Api::Account => !service && app.first_party,
        Api::Admin => (!service && app.first_party) || (service && app.service_role.is_some()),
    };
    if !allowed {
        let why = match api {
            Api::UserInfo => "userinfo takes a user's token",
            Api::Account => "the account API takes user tokens of first-party applications",
            _ => "the admin API takes user tokens of first-party applications or tokens of services with a role",
        };
        return Err(insufficient_scope(why));
    }
    let claims = crate::oauth::subject::with_permissions(provider, claims)
        .await
        .map_err(|_| unavailable())?;
    Ok(Bearer { claims, app })
}
