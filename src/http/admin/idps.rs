//! `/admin/v1/clients/{id}/identity-providers/…`: a B2B account's upstream OpenID providers.

use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{AdminRequest, bad_body};
use crate::identity::admin::AdminError;
use crate::identity::admin::idps::IdpInput;
use crate::model::idp::IdentityProvider;

fn respond(status: StatusCode, result: Result<IdentityProvider, AdminError>) -> Response {
    match result {
        Ok(provider) => (status, Json(provider.view())).into_response(),
        Err(e) => e.into_response(),
    }
}

fn body(input: Result<Json<IdpInput>, JsonRejection>) -> Result<IdpInput, Box<Response>> {
    input.map(|Json(i)| i).map_err(|e| {
        Box::new(bad_body(
            "body",
            format!("expected a JSON identity provider: {}", e.body_text()),
        ))
    })
}

#[utoipa::path(get, path = "/admin/v1/clients/{id}/identity-providers", tag = "identity-providers", params(("id" = String, Path, description = "The account's id or slug")), responses((status = 200, description = "The account's identity providers", body = crate::http::openapi::IdpList)))]
pub async fn list(r: AdminRequest, Path(account): Path<String>) -> Response {
    match r.admin().idps().list(&r.who, &account).await {
        Ok(items) => {
            let items: Vec<_> = items.iter().map(IdentityProvider::view).collect();
            Json(serde_json::json!({ "items": items })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(get, path = "/admin/v1/clients/{id}/identity-providers/{idp_id}", tag = "identity-providers", params(("id" = String, Path, description = "The account's id or slug"), ("idp_id" = String, Path)), responses((status = 200, description = "The identity provider", body = crate::http::openapi::IdpView)))]
pub async fn read(r: AdminRequest, Path((account, id)): Path<(String, String)>) -> Response {
    respond(StatusCode::OK, r.admin().idps().idp(&r.who, &account, &id).await)
}

#[utoipa::path(post, path = "/admin/v1/clients/{id}/identity-providers", tag = "identity-providers", params(("id" = String, Path, description = "The account's id or slug")), request_body = crate::identity::admin::idps::IdpInput, responses((status = 201, description = "Created (its discovery document is fetched first)", body = crate::http::openapi::IdpView)))]
pub async fn create(
    r: AdminRequest,
    Path(account): Path<String>,
    input: Result<Json<IdpInput>, JsonRejection>,
) -> Response {
    let input = match body(input) {
        Ok(i) => i,
        Err(e) => return *e,
    };
    let key = &r.state.provider.seal_key;
    respond(
        StatusCode::CREATED,
        r.admin().idps().create_idp(&r.who, &account, key, input).await,
    )
}

#[utoipa::path(patch, path = "/admin/v1/clients/{id}/identity-providers/{idp_id}", tag = "identity-providers", params(("id" = String, Path, description = "The account's id or slug"), ("idp_id" = String, Path)), request_body = crate::identity::admin::idps::IdpInput, responses((status = 200, description = "Changed", body = crate::http::openapi::IdpView)))]
pub async fn update(
    r: AdminRequest,
    Path((account, id)): Path<(String, String)>,
    input: Result<Json<IdpInput>, JsonRejection>,
) -> Response {
    let input = match body(input) {
        Ok(i) => i,
        Err(e) => return *e,
    };
    let key = &r.state.provider.seal_key;
    respond(
        StatusCode::OK,
        r.admin().idps().update_idp(&r.who, &account, &id, key, input).await,
    )
}

#[utoipa::path(delete, path = "/admin/v1/clients/{id}/identity-providers/{idp_id}", tag = "identity-providers", params(("id" = String, Path, description = "The account's id or slug"), ("idp_id" = String, Path)), responses((status = 204, description = "Deleted")))]
pub async fn delete(r: AdminRequest, Path((account, id)): Path<(String, String)>) -> Response {
    match r.admin().idps().delete_idp(&r.who, &account, &id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
