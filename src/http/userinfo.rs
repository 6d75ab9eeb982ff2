//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3): claims about the token's user, by scope and
//! the `claims` request parameter. Bearer access tokens only (`typ: at+jwt`), RFC 6750 errors.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{json_error, no_store};
use super::extract::authorization;
use crate::app::AppState;
use crate::identity::application::ClientId;
use crate::identity::user::{UserId, UserStatus};
use crate::oauth::id_token::{Target, user_claims};
use crate::oauth::provider::Provider;
use crate::oauth::revocation;
use crate::oauth::scope::Scope;
use crate::oauth::token::AccessClaims;
use std::sync::Arc;

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
fn invalid_token() -> Response {
    bearer_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the access token is invalid, expired or revoked",
    )
}

/// The claims of a valid, unrevoked access token: 401 `invalid_token` for a bad, expired or
/// revoked one, 503 when the revocation state cannot be read.
pub async fn active_claims(provider: &Provider, token: &str) -> Result<Arc<AccessClaims>, Response> {
    let claims = provider.access_claims(token).map_err(|_| invalid_token())?;
    match revocation::is_revoked(provider.hot.as_ref(), &claims).await {
        Ok(false) => Ok(claims),
        Ok(true) => Err(invalid_token()),
        Err(_) => Err(json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "try again shortly",
        )),
    }
}

/// [`active_claims`] of the request's bearer token; a missing one is `invalid_token` too.
pub async fn bearer_claims(provider: &Provider, headers: &HeaderMap) -> Result<Arc<AccessClaims>, Response> {
    match bearer(headers) {
        Some(token) => active_claims(provider, token).await,
        None => Err(invalid_token()),
    }
}

pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        // RFC 6750 §3.1: no credentials, no error code — just the challenge.
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"propusk\""),
        );
        return response;
    };
    let provider = &state.provider;
    let claims = match active_claims(provider, token).await {
        Ok(claims) => claims,
        Err(refused) => return refused,
    };
    let scope = Scope::parse(&claims.scope).unwrap_or_default();
    if !scope.contains("openid") {
        return bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the token lacks the openid scope",
        );
    }
    let Ok(user_id) = UserId::parse(&claims.sub) else {
        return invalid_token();
    };
    let user = match state.stores.db.find_user(user_id).await {
        Ok(Some(user)) if user.status == UserStatus::Active => user,
        Ok(_) => return invalid_token(),
        Err(_) => {
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again shortly",
            );
        }
    };
    let mut body = user_claims(&user, &scope, None, Target::UserInfo);
    body.insert("sub".into(), serde_json::Value::String(claims.sub.clone()));
    let mut response = no_store(Json(body).into_response());
    if let Ok(client_id) = ClientId::parse(&claims.client_id)
        && let Ok(Some(app)) = provider.clients.application(&client_id).await
    {
        super::cors::allow(&app, &headers, &mut response);
    }
    response
}
