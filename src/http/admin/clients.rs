//! `/admin/v1/clients/…`: B2B accounts and their admins.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{AdminRequest, PageQuery, bad_body};
use crate::identity::admin::accounts::AccountChange;
use crate::identity::admin::{AdminError, NewAccount};
use crate::model::account::{Account, AccountId};

fn respond(result: Result<Account, AdminError>) -> Response {
    match result {
        Ok(account) => Json(account).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(get, path = "/admin/v1/clients", tag = "accounts", params(PageQuery), responses((status = 200, description = "A page of B2B accounts", body = crate::http::openapi::AccountPage)))]
pub async fn list(r: AdminRequest, query: Result<Query<PageQuery>, QueryRejection>) -> Response {
    let Ok(Query(q)) = query else {
        return bad_body("body", "expected JSON with cursor and limit");
    };
    let after = match q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(AccountId::parse)
        .transpose()
    {
        Ok(after) => after,
        Err(_) => {
            return bad_body("cursor", "is not a cursor this API returned");
        }
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    match r.admin().accounts().list(&r.who, after, Some(limit)).await {
        Ok(accounts) => {
            let next = (accounts.len() as i64 == limit)
                .then(|| accounts.last().map(|a| a.id.to_string()))
                .flatten();
            Json(serde_json::json!({ "items": accounts, "next_cursor": next })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateBody {
    name: String,
    slug: Option<String>,
}

#[utoipa::path(post, path = "/admin/v1/clients", tag = "accounts", request_body = CreateBody, responses((status = 201, description = "Created", body = crate::model::account::Account)))]
pub async fn create(r: AdminRequest, body: Result<Json<CreateBody>, JsonRejection>) -> Response {
    let Ok(Json(body)) = body else {
        return bad_body("body", "expected JSON with name and an optional slug");
    };
    match r
        .admin()
        .accounts()
        .create_account(
            &r.who,
            NewAccount {
                name: body.name,
                slug: body.slug,
            },
        )
        .await
    {
        Ok(account) => (StatusCode::CREATED, Json(account)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(get, path = "/admin/v1/clients/{id}", tag = "accounts", params(("id" = String, Path, description = "The account's id or slug")), responses((status = 200, description = "The account", body = crate::model::account::Account)))]
pub async fn read(r: AdminRequest, Path(id): Path<String>) -> Response {
    respond(r.admin().accounts().account(&r.who, &id).await)
}

#[utoipa::path(patch, path = "/admin/v1/clients/{id}", tag = "accounts", params(("id" = String, Path, description = "The account's id or slug")), request_body = crate::identity::admin::accounts::AccountChange, responses((status = 200, description = "Changed", body = crate::model::account::Account)))]
pub async fn update(
    r: AdminRequest,
    Path(id): Path<String>,
    body: Result<Json<AccountChange>, JsonRejection>,
) -> Response {
    let Ok(Json(change)) = body else {
        return bad_body("body", "expected JSON with name or status");
    };
    respond(r.admin().accounts().update_account(&r.who, &id, change).await)
}

#[utoipa::path(delete, path = "/admin/v1/clients/{id}", tag = "accounts", params(("id" = String, Path, description = "The account's id or slug")), responses((status = 200, description = "Marked deleted", body = crate::model::account::Account)))]
pub async fn delete(r: AdminRequest, Path(id): Path<String>) -> Response {
    respond(r.admin().accounts().delete_account(&r.who, &id).await)
}

async fn set_admin(r: AdminRequest, ids: (String, String), admin_role: bool) -> Response {
    let (id, user_id) = ids;
    match r
        .admin()
        .accounts()
        .set_account_admin(&r.who, &id, &user_id, admin_role)
        .await
    {
        Ok(user) => Json(user.view()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(put, path = "/admin/v1/clients/{id}/admins/{user_id}", tag = "accounts", params(("id" = String, Path, description = "The account's id or slug"), ("user_id" = String, Path)), responses((status = 200, description = "The user is now an admin of the account", body = crate::model::user::UserView)))]
pub async fn add_admin(r: AdminRequest, Path(ids): Path<(String, String)>) -> Response {
    set_admin(r, ids, true).await
}

#[utoipa::path(delete, path = "/admin/v1/clients/{id}/admins/{user_id}", tag = "accounts", params(("id" = String, Path, description = "The account's id or slug"), ("user_id" = String, Path)), responses((status = 200, description = "The user is no longer an admin of the account", body = crate::model::user::UserView)))]
pub async fn remove_admin(r: AdminRequest, Path(ids): Path<(String, String)>) -> Response {
    set_admin(r, ids, false).await
}
