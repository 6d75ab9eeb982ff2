//! `/admin/v1/roles/…`: roles and their permissions.

use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{AdminRequest, bad_body};
use crate::identity::admin::roles::RoleInput;

#[utoipa::path(get, path = "/admin/v1/roles", tag = "roles", responses((status = 200, description = "The roles the caller may see", body = crate::http::openapi::RoleList)))]
pub async fn list(r: AdminRequest) -> Response {
    match r.admin().roles().list(&r.who).await {
        Ok(roles) => Json(serde_json::json!({ "items": roles })).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(post, path = "/admin/v1/roles", tag = "roles", request_body = crate::identity::admin::roles::RoleInput, responses((status = 201, description = "Created", body = crate::model::role::Role)))]
pub async fn create(r: AdminRequest, body: Result<Json<RoleInput>, JsonRejection>) -> Response {
    let Ok(Json(input)) = body else {
        return bad_body("body", "expected JSON with name, description, scope, permissions");
    };
    match r.admin().roles().create_role(&r.who, input).await {
        Ok(role) => (StatusCode::CREATED, Json(role)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(get, path = "/admin/v1/roles/{name}", tag = "roles", params(("name" = String, Path)), responses((status = 200, description = "The role", body = crate::model::role::Role)))]
pub async fn read(r: AdminRequest, Path(name): Path<String>) -> Response {
    match r.admin().roles().role(&r.who, &name).await {
        Ok(role) => Json(role).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(put, path = "/admin/v1/roles/{name}", tag = "roles", params(("name" = String, Path)), request_body = crate::identity::admin::roles::RoleInput, responses((status = 200, description = "Changed", body = crate::model::role::Role)))]
pub async fn update(
    r: AdminRequest,
    Path(name): Path<String>,
    body: Result<Json<RoleInput>, JsonRejection>,
) -> Response {
    let Ok(Json(input)) = body else {
        return bad_body("body", "expected JSON with name, description, scope, permissions");
    };
    match r.admin().roles().update_role(&r.who, &name, input).await {
        Ok(role) => Json(role).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(delete, path = "/admin/v1/roles/{name}", tag = "roles", params(("name" = String, Path)), responses((status = 204, description = "Deleted")))]
pub async fn delete(r: AdminRequest, Path(name): Path<String>) -> Response {
    match r.admin().roles().delete_role(&r.who, &name).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
