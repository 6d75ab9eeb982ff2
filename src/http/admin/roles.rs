//! `/admin/v1/roles/…`: roles and their permissions.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Admin;
use super::users::admin;
use crate::app::AppState;
use crate::identity::admin::AdminError;
use crate::identity::admin::roles::RoleInput;

fn body_error() -> Response {
    AdminError::Invalid {
        field: "body",
        message: "expected JSON with name, description, scope, permissions".into(),
    }
    .into_response()
}

pub async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
) -> Response {
    match admin(&state, peer, &headers).roles(&who).await {
        Ok(roles) => Json(serde_json::json!({ "items": roles })).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    body: Result<Json<RoleInput>, JsonRejection>,
) -> Response {
    let Ok(Json(input)) = body else { return body_error() };
    match admin(&state, peer, &headers).create_role(&who, input).await {
        Ok(role) => (StatusCode::CREATED, Json(role)).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn read(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(name): Path<String>,
) -> Response {
    match admin(&state, peer, &headers).role(&who, &name).await {
        Ok(role) => Json(role).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn update(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(name): Path<String>,
    body: Result<Json<RoleInput>, JsonRejection>,
) -> Response {
    let Ok(Json(input)) = body else { return body_error() };
    match admin(&state, peer, &headers).update_role(&who, &name, input).await {
        Ok(role) => Json(role).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(name): Path<String>,
) -> Response {
    match admin(&state, peer, &headers).delete_role(&who, &name).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
