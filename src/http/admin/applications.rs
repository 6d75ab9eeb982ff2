//! `/admin/v1/applications/…`: OAuth applications and their secrets.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{AdminRequest, PageQuery, bad_body};
use crate::http::AppState;
use crate::identity::admin::NewApplication;
use crate::identity::admin::applications::ApplicationChange;
use crate::model::application::ClientId;

/// Forgets the cached application on this node (other nodes within the cache lifetime, 30 s).
pub fn forget(state: &AppState, id: &str) {
    if let Ok(client_id) = ClientId::parse(id) {
        state.provider.clients.forget_application(&client_id);
    }
}

#[utoipa::path(get, path = "/admin/v1/applications", tag = "applications", params(PageQuery), responses((status = 200, description = "A page of applications", body = crate::http::openapi::ApplicationPage)))]
pub async fn list(r: AdminRequest, query: Result<Query<PageQuery>, QueryRejection>) -> Response {
    let Ok(Query(q)) = query else {
        return bad_body("body", "expected JSON with cursor and limit");
    };
    let limit = q.limit.unwrap_or(50);
    match r
        .admin()
        .applications()
        .list(&r.who, q.cursor.as_deref().filter(|c| !c.is_empty()), limit)
        .await
    {
        Ok(apps) => {
            let next = (apps.len() as i64 == limit.clamp(1, 200))
                .then(|| apps.last().map(|a| a.client_id.to_string()))
                .flatten();
            let items: Vec<_> = apps.iter().map(|a| a.view()).collect();
            Json(json!({ "items": items, "next_cursor": next })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(post, path = "/admin/v1/applications", tag = "applications", request_body = crate::identity::admin::NewApplication, responses((status = 201, description = "Registered; a confidential application's secret is in the answer, once", body = crate::http::openapi::ApplicationView)))]
pub async fn create(r: AdminRequest, body: Result<Json<NewApplication>, JsonRejection>) -> Response {
    let Ok(Json(input)) = body else {
        return bad_body("body", "expected JSON with name, redirect_uris, grant_types …");
    };
    match r.admin().applications().register(&r.who, input).await {
        Ok((app, secret)) => {
            let mut view = app.view();
            if let Some(secret) = secret {
                view["client_secret"] = json!(secret.expose());
            }
            (StatusCode::CREATED, Json(view)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(get, path = "/admin/v1/applications/{client_id}", tag = "applications", params(("client_id" = String, Path)), responses((status = 200, description = "The application", body = crate::http::openapi::ApplicationView)))]
pub async fn read(r: AdminRequest, Path(id): Path<String>) -> Response {
    match r.admin().applications().application(&r.who, &id).await {
        Ok(app) => Json(app.view()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(patch, path = "/admin/v1/applications/{client_id}", tag = "applications", params(("client_id" = String, Path)), request_body = crate::identity::admin::applications::ApplicationChange, responses((status = 200, description = "Changed", body = crate::http::openapi::ApplicationView)))]
pub async fn update(
    r: AdminRequest,
    Path(id): Path<String>,
    body: Result<Json<ApplicationChange>, JsonRejection>,
) -> Response {
    let Ok(Json(change)) = body else {
        return bad_body("body", "expected JSON with the fields to change");
    };
    let result = r.admin().applications().change_application(&r.who, &id, change).await;
    forget(&r.state, &id);
    match result {
        Ok(app) => Json(app.view()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(delete, path = "/admin/v1/applications/{client_id}", tag = "applications", params(("client_id" = String, Path)), responses((status = 204, description = "Deleted: its tokens end")))]
pub async fn delete(r: AdminRequest, Path(id): Path<String>) -> Response {
    let result = r.admin().applications().delete_application(&r.who, &id).await;
    forget(&r.state, &id);
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(post, path = "/admin/v1/applications/{client_id}/secret", tag = "applications", params(("client_id" = String, Path)), responses((status = 200, description = "A new secret, shown once; the old one stops working", body = crate::http::openapi::NewSecret)))]
pub async fn rotate_secret(r: AdminRequest, Path(id): Path<String>) -> Response {
    let result = r.admin().applications().rotate_secret(&r.who, &id).await;
    forget(&r.state, &id);
    match result {
        Ok((app, secret)) => {
            Json(json!({ "client_id": app.client_id, "client_secret": secret.expose() })).into_response()
        }
        Err(e) => e.into_response(),
    }
}
