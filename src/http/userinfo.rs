//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3): claims about the token's user, by scope and
//! the `claims` request parameter. Bearer access tokens only (`typ: at+jwt`), RFC 6750 errors.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::bearer::{Api, authorized, bearer, bearer_error, invalid_token};
use super::error::{json_error, no_store};
use crate::http::AppState;
use crate::model::scope::Scope;
use crate::model::user::{UserId, UserStatus};
use crate::oauth::id_token::{Target, user_claims};

pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if bearer(&headers).is_none() {
        // RFC 6750 §3.1: no credentials, no error code — just the challenge.
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"propusk\""),
        );
        return response;
    }
    let provider = &state.provider;
    let (claims, app) = match authorized(provider, &headers, Api::UserInfo).await {
        Ok(bearer) => (bearer.claims, bearer.app),
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
    let mut body = user_claims(&user, &scope, None, Target::UserInfo, app.first_party);
    body.insert("sub".into(), serde_json::Value::String(claims.sub.clone()));
    let mut response = no_store(Json(body).into_response());
    super::cors::allow(&app, &headers, &mut response);
    response
}
