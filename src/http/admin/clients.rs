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

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    name: String,
    slug: Option<String>,
}

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

pub async fn read(r: AdminRequest, Path(id): Path<String>) -> Response {
    respond(r.admin().accounts().account(&r.who, &id).await)
}

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

pub async fn add_admin(r: AdminRequest, Path(ids): Path<(String, String)>) -> Response {
    set_admin(r, ids, true).await
}

pub async fn remove_admin(r: AdminRequest, Path(ids): Path<(String, String)>) -> Response {
    set_admin(r, ids, false).await
}
