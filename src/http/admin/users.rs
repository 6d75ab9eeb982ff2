//! `/admin/v1/users/…`: read, block, unblock, change role.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Admin;
use crate::app::AppState;
use crate::http::extract::request_context;
use crate::identity::admin::AdminError;
use crate::identity::admin::users::UserAdmin;

fn admin<'a>(state: &'a AppState, peer: SocketAddr, headers: &HeaderMap) -> UserAdmin<'a> {
    UserAdmin {
        db: state.stores.db.as_ref(),
        hot: state.stores.hot.as_ref(),
        clock: state.clock.as_ref(),
        audit: &state.provider.audit,
        source: &state.provider.issuer,
        ctx: request_context(peer, headers),
    }
}

fn respond(result: Result<crate::identity::user::User, AdminError>) -> Response {
    match result {
        Ok(user) => Json(user.view()).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn read(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Response {
    respond(admin(&state, peer, &headers).get(&who, &id).await)
}

pub async fn block(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Response {
    respond(admin(&state, peer, &headers).block(&who, &id).await)
}

pub async fn unblock(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Response {
    respond(admin(&state, peer, &headers).unblock(&who, &id).await)
}

#[derive(Debug, Deserialize)]
pub struct RoleBody {
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
    body: Result<Json<RoleBody>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return AdminError::Invalid {
            field: "role",
            message: "expected a JSON body {\"role\": \"…\"}".into(),
        }
        .into_response();
    };
    respond(admin(&state, peer, &headers).change_role(&who, &id, &body.role).await)
}
