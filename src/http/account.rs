//! `/account/v1`: the signed-in user's own profile, password and sessions, with the user's
//! bearer access token.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::json_error;
use super::extract::{ClientIp, request_context};
use super::userinfo::{bearer, bearer_error};
use crate::app::AppState;
use crate::identity::account_self::{ProfileChange, SelfService};
use crate::identity::admin::AdminError;
use crate::oauth::revocation;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/v1/profile", get(profile).patch(update_profile))
        .route("/account/v1/password", post(change_password))
        .route("/account/v1/sessions", get(sessions))
        .route("/account/v1/sessions/{sid}", delete(end_session))
}

/// The user behind a valid, unrevoked access token (`sub`, and the session it came from).
pub struct Me {
    sub: String,
    sid: Option<String>,
}

impl FromRequestParts<AppState> for Me {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let invalid = || {
            bearer_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is invalid, expired or revoked",
            )
        };
        let token = bearer(&parts.headers).ok_or_else(invalid)?;
        let claims = state.provider.access_claims(token).map_err(|_| invalid())?;
        match revocation::is_revoked(state.provider.hot.as_ref(), &claims).await {
            Ok(false) => Ok(Self {
                sub: claims.sub.clone(),
                sid: claims.sid.clone(),
            }),
            Ok(true) => Err(invalid()),
            Err(_) => Err(json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again shortly",
            )),
        }
    }
}

fn service<'a>(state: &'a AppState, peer: std::net::IpAddr, headers: &HeaderMap) -> SelfService<'a> {
    SelfService {
        db: state.stores.db.as_ref(),
        hot: state.stores.hot.as_ref(),
        clock: state.clock.as_ref(),
        audit: &state.provider.audit,
        source: &state.provider.issuer,
        ctx: request_context(peer, headers),
    }
}

pub async fn profile(State(state): State<AppState>, ClientIp(peer): ClientIp, headers: HeaderMap, me: Me) -> Response {
    match service(&state, peer, &headers).me(&me.sub).await {
        Ok(user) => Json(user.view()).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn update_profile(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    body: Result<Json<ProfileChange>, JsonRejection>,
) -> Response {
    let Ok(Json(change)) = body else {
        return AdminError::Invalid {
            field: "body",
            message: "expected JSON with name, email or phone".into(),
        }
        .into_response();
    };
    match service(&state, peer, &headers).update_profile(&me.sub, change).await {
        Ok(user) => Json(user.view()).into_response(),
        Err(e) => e.into_response(),
    }
}

/// No `Debug`: passwords.
#[derive(Deserialize)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return AdminError::Invalid {
            field: "body",
            message: "expected JSON with current_password and new_password".into(),
        }
        .into_response();
    };
    let provider = &state.provider;
    let result = service(&state, peer, &headers)
        .change_password(
            &me.sub,
            &body.current_password,
            &body.new_password,
            provider.bcrypt_cost,
            &provider.dummy_hash,
        )
        .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn sessions(State(state): State<AppState>, ClientIp(peer): ClientIp, headers: HeaderMap, me: Me) -> Response {
    match service(&state, peer, &headers).sessions(&me.sub).await {
        Ok(sids) => {
            let items: Vec<_> = sids
                .iter()
                .map(|sid| serde_json::json!({ "sid": sid, "current": me.sid.as_deref() == Some(sid) }))
                .collect();
            Json(serde_json::json!({ "items": items })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

pub async fn end_session(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    Path(sid): Path<String>,
) -> Response {
    match service(&state, peer, &headers).end_session(&me.sub, &sid).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
