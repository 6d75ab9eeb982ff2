//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3): claims about the token's user, by scope and
//! the `claims` request parameter. Bearer access tokens only (`typ: at+jwt`), in the
//! `Authorization` header or, on POST, the form body (RFC 6750 §2.1, §2.2); RFC 6750 errors.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::bearer::{Api, authorized_token, bearer, bearer_error, invalid_token};
use super::error::{json_error, no_store};
use crate::http::AppState;
use crate::model::scope::Scope;
use crate::model::user::{UserId, UserStatus};
use crate::oauth::id_token::{Target, user_claims};

pub async fn userinfo(State(state): State<AppState>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let in_body = match body_token(&method, &headers, &body) {
        Ok(token) => token,
        Err(why) => return bearer_error(StatusCode::BAD_REQUEST, "invalid_request", why),
    };
    let token = match (bearer(&headers), in_body.as_deref()) {
        (Some(_), Some(_)) => {
            // RFC 6750 §2: one method per request.
            return bearer_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the access token was sent both in the header and in the body",
            );
        }
        (Some(token), None) | (None, Some(token)) => token,
        (None, None) => {
            // RFC 6750 §3.1: no credentials, no error code — just the challenge.
            let mut response = StatusCode::UNAUTHORIZED.into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"propusk\""),
            );
            return response;
        }
    };
    let provider = &state.provider;
    let (claims, app) = match authorized_token(provider, token, Api::UserInfo).await {
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
    let mut body = user_claims(&user, &scope, &claims.userinfo_claims, Target::UserInfo, &app);
    body.insert("sub".into(), serde_json::Value::String(claims.sub.clone()));
    let mut response = no_store(Json(body).into_response());
    super::cors::allow(&app, &headers, &mut response);
    response
}

/// The `access_token` of a form-encoded POST body (RFC 6750 §2.2); `None` when the request
/// carries none. A body that names it twice, or is not a form, is refused.
fn body_token(method: &Method, headers: &HeaderMap, body: &[u8]) -> Result<Option<String>, &'static str> {
    if method != Method::POST || body.is_empty() || !super::extract::is_form(headers) {
        return Ok(None);
    }
    let mut found = None;
    for (name, value) in url::form_urlencoded::parse(body) {
        if name == "access_token" {
            if found.is_some() {
                return Err("access_token is given more than once");
            }
            found = Some(value.into_owned());
        }
    }
    Ok(found)
}
